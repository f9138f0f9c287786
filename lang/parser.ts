/**
 * The grammar of the lvsc language as a Chevrotain CstParser: rules only, no
 * semantics (to-ast.ts and values.ts give words their meaning). Recovery is on, so one run
 * reports every syntax error of a file: a bad token inside a block is skipped
 * up to the next statement keyword, a missing `{` or `}` is assumed.
 *
 * Every statement has its own rule so recovery resyncs at statement keywords.
 * Values are `Word`s, labelled by role (`port`, `weight`, ...) so the CST reads
 * like the AST it becomes. cst.ts holds the CST types generated from these
 * rules: after a change here, `npm run gen:cst` (cst.test.ts fails until then),
 * and tsc points at whatever in to-ast.ts no longer fits. The parser is built
 * once and reused.
 *
 * Two binding rules worth knowing, both followed by the formatter:
 * - `port` after `forward` belongs to the forwarding spec (the tunnel's port,
 *   `forward tun gue port 6080`), also on a server line; a server's own port
 *   goes before `forward`.
 * - `forward` at the start of a line is the service's statement, never an
 *   option of the server line above it.
 */
import { CstParser, EOF, tokenMatcher, type IParserErrorMessageProvider, type IToken, type ITokenGrammarPath, type TokenType } from './chevrotain.js';
import type { FileCstNode } from './cst.js';
import { hasLineBreak } from './source.js';
import * as T from './tokens.js';

/** Keywords that may follow an ssh line where they stand (its options, its block's statements, the next item): never a user name. */
/** The keywords that start a top-level item. */
const TOP_LEVEL: ReadonlySet<TokenType> = new Set([T.Defaults, T.Host, T.Director, T.Timeouts, T.Service]);

const NOT_A_USER: ReadonlySet<TokenType> = new Set([
  T.User, T.Key, T.Port, T.Via, T.Sudo,
  T.Ssh, T.Interface, T.Gateway, T.Route,
  T.Defaults, T.Host, T.Director, T.Timeouts, T.Service,
]);

/**
 * What Chevrotain knows about a syntax error, kept as data for
 * syntax-errors.ts to word: the kind of failure, the rule it happened in,
 * the token types that would have been accepted, where the parser stood.
 */
export interface SyntaxErrorInfo {
  readonly kind: 'mismatch' | 'no-alternative' | 'early-exit' | 'redundant-input';
  readonly rule: string;
  /** Token type names that would have been accepted. */
  readonly expected: readonly string[];
  /** The token the parser stopped at (Chevrotain's EOF token at the end of the input). */
  readonly token: IToken;
  /** The rules open at the error, outermost first. */
  readonly ruleStack: readonly string[];
}

type ErrorFacts = Pick<SyntaxErrorInfo, 'kind' | 'rule' | 'expected'>;

function firstTokens(paths: TokenType[][][] | TokenType[][]): string[] {
  const names = new Set<string>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      if (x.length && !Array.isArray(x[0])) {
        const first = x[0] as TokenType | undefined;
        if (first) names.add(first.name);
      } else x.forEach(walk);
    }
  };
  walk(paths);
  return [...names];
}

/**
 * Chevrotain asks an error message provider for each error's message right
 * before it records the error (one call, then one saved exception, in every
 * path of Chevrotain 11: no ERR_MSG is given in this grammar). This provider
 * keeps the facts of each call in that order, so `parseFile` pairs them with
 * `parser.errors` one to one; the message itself is only for a reader.
 */
class ErrorFactsProvider implements IParserErrorMessageProvider {
  facts: ErrorFacts[] = [];

  private record(kind: ErrorFacts['kind'], rule: string, expected: readonly string[]): string {
    this.facts.push({ kind, rule, expected });
    return `${kind} in ${rule}: expected ${expected.join(' or ')}`;
  }

  buildMismatchTokenMessage({ expected, ruleName }: { expected: TokenType; ruleName: string }): string {
    return this.record('mismatch', ruleName, [expected.name]);
  }

  buildNotAllInputParsedMessage({ ruleName }: { ruleName: string }): string {
    return this.record('redundant-input', ruleName, ['EOF']);
  }

  buildNoViableAltMessage({ expectedPathsPerAlt, ruleName }: { expectedPathsPerAlt: TokenType[][][]; ruleName: string }): string {
    return this.record('no-alternative', ruleName, firstTokens(expectedPathsPerAlt));
  }

  buildEarlyExitMessage({ expectedIterationPaths, ruleName }: { expectedIterationPaths: TokenType[][]; ruleName: string }): string {
    return this.record('early-exit', ruleName, firstTokens(expectedIterationPaths));
  }
}

export class LvsParser extends CstParser {
  private readonly errorFacts: ErrorFactsProvider;

  /**
   * `validateGrammar`: Chevrotain's checks of the grammar itself (ambiguities,
   * left recursion, ...), which throw on a broken grammar. They cost about a
   * third of building the parser, at every start of lvsc, and their answer
   * changes only with the grammar: the one instance below skips them, and
   * lang/parser.test.ts builds a parser with them on.
   */
  constructor(errorFacts = new ErrorFactsProvider(), options: { validateGrammar?: boolean } = {}) {
    super(T.allTokens as TokenType[], { recoveryEnabled: true, maxLookahead: 1, errorMessageProvider: errorFacts, skipValidations: !(options.validateGrammar ?? true) });
    this.errorFacts = errorFacts;
    this.iterativeRepetitionRecovery();
    this.rememberedResyncPoints();
    this.performSelfAnalysis();
  }

  /**
   * Before recovering inside a repetition, Chevrotain looks ahead for the
   * first token that would end the enclosing rules (their follow set): in a
   * block whose `}` is far away, that walk crosses the rest of the block for
   * every error, so 8,000 stray words in one service took 33 s. The answer is
   * the same for every error before that token under the same rules, so it is
   * remembered: the next search from a later position under the same follow
   * set finds the same token without walking.
   */
  private rememberedResyncPoints(): void {
    const internals = this as unknown as {
      findReSyncTokenType(): TokenType;
      flattenFollowSet(): TokenType[];
      currIdx: number;
      tokVector: IToken[];
    };
    let found: { tokens: IToken[]; follow: string; from: number; at: number; type: TokenType } | undefined;
    internals.findReSyncTokenType = function (this: LvsParser): TokenType {
      const follow = internals.flattenFollowSet.call(this);
      const key = follow.map((t) => t.tokenTypeIdx).join(' ');
      const here = internals.currIdx;
      if (found && found.tokens === internals.tokVector && found.follow === key && found.from <= here && here < found.at) return found.type;
      // Chevrotain's own walk (EOF, after the last token, is in the follow set of the file).
      for (let k = 1; ; k++) {
        const token = this.LA(k);
        const type = follow.find((t) => tokenMatcher(token, t));
        if (type) {
          found = { tokens: internals.tokVector, follow: key, from: here, at: here + k, type };
          return type;
        }
      }
    };
  }

  /**
   * Chevrotain recovers from a bad token inside a repetition (`MANY`) by
   * skipping it and calling the repetition again from within itself, so each
   * error recovered in one block is a few more stack frames: 1,600 stray
   * words in one service (`server web1 weight 3 4` on every line) overflowed
   * the stack and crashed lvsc. That call is the last thing the repetition
   * does, so it can wait: here the repetition's recovery defers it, and the
   * outermost recovery of that repetition (the same one: the same MANY of the
   * same rule invocation) runs each deferred call in a loop, in the same order,
   * at a constant depth.
   */
  private iterativeRepetitionRecovery(): void {
    type Attempt = (this: LvsParser, prodFunc: (...args: unknown[]) => unknown, args: unknown[], ...rest: unknown[]) => void;
    const internals = this as unknown as {
      attemptInRepetitionRecovery: Attempt;
      getKeyForAutomaticLookahead(dslMethodIdx: unknown, occurrence: unknown): number;
      RULE_STACK_IDX: number;
    };
    const recover = internals.attemptInRepetitionRecovery;
    let running: string | undefined;
    let pending: (() => void) | undefined;
    internals.attemptInRepetitionRecovery = function (this: LvsParser, prodFunc, args, lookahead, dslMethodIdx, prodOccurrence, ...rest) {
      const key = `${internals.getKeyForAutomaticLookahead.call(this, dslMethodIdx, prodOccurrence)}@${internals.RULE_STACK_IDX}`;
      const defer = (...again: unknown[]) => {
        pending = () => prodFunc.apply(this, again);
      };
      if (running === key) {
        // The repetition's own last call: the loop below runs it.
        recover.call(this, defer, args, lookahead, dslMethodIdx, prodOccurrence, ...rest);
        return;
      }
      const outer = running;
      running = key;
      try {
        recover.call(this, defer, args, lookahead, dslMethodIdx, prodOccurrence, ...rest);
        while (pending) {
          const next = pending;
          pending = undefined;
          next();
        }
      } finally {
        running = outer;
        pending = undefined;
      }
    };
  }

  // The alternatives of each OR are built once, here, not on every call: at
  // 100,000 server lines the per-call closures (named ones under tsx) cost more
  // than the parsing itself.
  private readonly itemAlts = [
    { ALT: () => this.SUBRULE(this.defaults) },
    { ALT: () => this.SUBRULE(this.host) },
    { ALT: () => this.SUBRULE(this.director) },
    { ALT: () => this.SUBRULE(this.timeouts) },
    { ALT: () => this.SUBRULE(this.service) },
  ];

  private readonly defaultsAlts = [{ ALT: () => this.SUBRULE(this.ssh) }, { ALT: () => this.SUBRULE(this.sudo) }];

  /**
   * An ssh user name is a Linux account, not an lvsc name: it may be a word
   * the language uses elsewhere (`ssh user ops`). A keyword is taken as the
   * user when it stands on the same line and could not go on the ssh line or
   * its block: `ssh user sudo` is a missing name, not a user called sudo.
   */
  private userKeyword(): boolean {
    const next = this.LA(1);
    return tokenMatcher(next, T.Keyword) && !NOT_A_USER.has(next.tokenType) && !this.nextStartsLine();
  }

  /**
   * A name is known by its position: any word that fits the name rule names a
   * host, a service or a segment, keywords included (`service ssh`, `host
   * director {`, `server drain`). A keyword in a name position is the name
   * unless a value follows it: a name is never followed by a value there, a
   * keyword that takes one is (`server weight 3` is a missing name, and so is
   * `segment` followed by `gateway 10.1.0.1`). Layout plays no part.
   */
  private keywordName(): boolean {
    if (!tokenMatcher(this.LA(1), T.Keyword)) return false;
    const after = this.LA(2).tokenType;
    return after !== T.Word && after !== T.String;
  }

  /** `NAME {`: a host or service block's name. */
  private blockName(): boolean {
    return tokenMatcher(this.LA(1), T.Keyword) && this.LA(2).tokenType === T.LBrace;
  }

  /**
   * A director's host: more names, `sync IFACE` or `{` may follow it, so a
   * keyword is the name unless it starts what may follow: `sync` with its
   * interface after the first name (`director lb1 sync eth1`), or a top-level
   * item (`director lb1` then `service www {`).
   */
  private directorName(first: boolean): boolean {
    const next = this.LA(1);
    if (!tokenMatcher(next, T.Keyword)) return false;
    const after = this.LA(2).tokenType;
    if (next.tokenType === T.Sync) return first || after !== T.Word;
    if (TOP_LEVEL.has(next.tokenType)) return (after === EOF || after === T.Sync || TOP_LEVEL.has(after)) && !this.startsTopLevel();
    return true;
  }

  /**
   * Whether the tokens from LA(1), a top-level keyword, read as the start of
   * that item: `host NAME {`, `service NAME {`, `defaults {`, `timeouts {`,
   * `director NAME`. Such a keyword after a director's name starts the next
   * item, never names the director's partner (`director a` then `host defaults {`).
   */
  private startsTopLevel(): boolean {
    const k = this.LA(1).tokenType;
    const nameAt = (i: number) => tokenMatcher(this.LA(i), T.Word) || tokenMatcher(this.LA(i), T.Keyword);
    if (k === T.Host || k === T.Service) return nameAt(2) && this.LA(3).tokenType === T.LBrace;
    if (k === T.Defaults || k === T.Timeouts) return this.LA(2).tokenType === T.LBrace;
    return k === T.Director && nameAt(2);
  }

  // The alternatives of each name position: a word, or a keyword where it stands as the name.
  private readonly hostNameAlts = [
    { ALT: () => this.CONSUME(T.Word, { LABEL: 'name' }) },
    { GATE: () => this.blockName(), ALT: () => this.CONSUME(T.Keyword, { LABEL: 'name' }) },
  ];

  private readonly serviceNameAlts = [
    { ALT: () => this.CONSUME(T.Word, { LABEL: 'name' }) },
    { GATE: () => this.blockName(), ALT: () => this.CONSUME(T.Keyword, { LABEL: 'name' }) },
  ];

  private readonly segmentNameAlts = [
    { ALT: () => this.CONSUME2(T.Word, { LABEL: 'segment' }) },
    { GATE: () => this.keywordName(), ALT: () => this.CONSUME(T.Keyword, { LABEL: 'segment' }) },
  ];

  private readonly viaNameAlts = [
    { ALT: () => this.CONSUME3(T.Word, { LABEL: 'via' }) },
    { GATE: () => this.keywordName(), ALT: () => this.CONSUME2(T.Keyword, { LABEL: 'via' }) },
  ];

  private readonly directorNameAlts = [
    { ALT: () => this.CONSUME(T.Word, { LABEL: 'host' }) },
    { GATE: () => this.directorName(true), ALT: () => this.CONSUME(T.Keyword, { LABEL: 'host' }) },
  ];

  private readonly moreDirectorNameAlts = [
    { ALT: () => this.CONSUME1(T.Word, { LABEL: 'host' }) },
    { GATE: () => this.directorName(false), ALT: () => this.CONSUME1(T.Keyword, { LABEL: 'host' }) },
  ];

  /** Another director name: a word, or a keyword that stands as one. */
  private readonly moreDirectorNames = {
    GATE: () => tokenMatcher(this.LA(1), T.Word) || this.directorName(false),
    DEF: () => this.OR2(this.moreDirectorNameAlts),
  };

  private readonly sorryNameAlts = [
    { ALT: () => this.CONSUME(T.Word, { LABEL: 'host' }) },
    { GATE: () => this.keywordName(), ALT: () => this.CONSUME(T.Keyword, { LABEL: 'host' }) },
  ];

  private readonly serverHostAlts = [
    { ALT: () => this.CONSUME(T.Word, { LABEL: 'host' }) },
    { GATE: () => this.keywordName(), ALT: () => this.CONSUME(T.Keyword, { LABEL: 'host' }) },
  ];


  private readonly userValueAlts = [
    { ALT: () => this.CONSUME1(T.Word, { LABEL: 'user' }) },
    { GATE: () => this.userKeyword(), ALT: () => this.CONSUME1(T.Keyword, { LABEL: 'user' }) },
  ];

  private readonly sshAlts = [
    {
      ALT: () => {
        this.CONSUME(T.User);
        this.OR1(this.userValueAlts);
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Key);
        this.CONSUME(T.String, { LABEL: 'key' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Port);
        this.CONSUME2(T.Word, { LABEL: 'port' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Via);
        this.OR2(this.viaNameAlts);
      },
    },
    { ALT: () => this.CONSUME(T.Sudo, { LABEL: 'sudo' }) },
  ];

  private readonly hostAlts = [
    { ALT: () => this.SUBRULE(this.ssh) },
    { ALT: () => this.SUBRULE(this.interface) },
    { ALT: () => this.SUBRULE(this.gateway) },
    { ALT: () => this.SUBRULE(this.route) },
  ];

  private readonly timeoutAlts = [
    { ALT: () => this.CONSUME(T.Tcp, { LABEL: 'which' }) },
    { ALT: () => this.CONSUME(T.Tcpfin, { LABEL: 'which' }) },
    { ALT: () => this.CONSUME(T.Udp, { LABEL: 'which' }) },
  ];

  private readonly serviceAlts = [
    { ALT: () => this.SUBRULE(this.vip) },
    { ALT: () => this.SUBRULE(this.fwmark) },
    { ALT: () => this.SUBRULE(this.scheduler) },
    { ALT: () => this.SUBRULE(this.persistence) },
    { ALT: () => this.SUBRULE(this.ops) },
    { ALT: () => this.SUBRULE(this.forward) },
    { ALT: () => this.SUBRULE(this.check) },
    { ALT: () => this.SUBRULE(this.onFailure) },
    { ALT: () => this.SUBRULE(this.sorry) },
    { ALT: () => this.SUBRULE(this.server) },
  ];

  private readonly checkKindAlts = [
    // `tcp` is a keyword (the timeouts block's); the other kinds are words, read by lowering.
    { ALT: () => this.CONSUME(T.Tcp, { LABEL: 'kind' }) },
    { ALT: () => this.CONSUME(T.Word, { LABEL: 'kind' }) },
  ];

  private readonly checkOptionAlts = [
    {
      ALT: () => {
        this.CONSUME(T.Port);
        this.CONSUME1(T.Word, { LABEL: 'port' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Path);
        this.CONSUME1(T.String, { LABEL: 'path' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Status);
        this.CONSUME2(T.Word, { LABEL: 'status' });
      },
    },
    {
      // `host` starts a host block at the top level: it is the check's only with its string.
      GATE: () => this.LA(2).tokenType === T.String,
      ALT: () => {
        this.CONSUME(T.Host);
        this.CONSUME2(T.String, { LABEL: 'host' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Name);
        this.CONSUME3(T.String, { LABEL: 'name' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Type);
        this.CONSUME3(T.Word, { LABEL: 'type' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Args);
        this.AT_LEAST_ONE(() => this.CONSUME4(T.String, { LABEL: 'arg' }));
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Every);
        this.CONSUME4(T.Word, { LABEL: 'every' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Timeout);
        this.CONSUME5(T.Word, { LABEL: 'timeout' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Retries);
        this.CONSUME6(T.Word, { LABEL: 'retries' });
      },
    },
  ];

  private readonly directorAlts = [
    { ALT: () => this.SUBRULE(this.failover) },
    { ALT: () => this.SUBRULE(this.advert) },
    { ALT: () => this.SUBRULE(this.failback) },
    { ALT: () => this.SUBRULE(this.floating) },
    { ALT: () => this.SUBRULE(this.directorSync) },
  ];

  private readonly failbackAlts = [
    {
      ALT: () => {
        this.CONSUME(T.After);
        this.CONSUME(T.Word, { LABEL: 'delay' });
      },
    },
    { ALT: () => this.CONSUME(T.Never, { LABEL: 'never' }) },
  ];

  private readonly persistenceAlts = [
    { ALT: () => this.CONSUME(T.Word, { LABEL: 'timeout' }) },
    {
      ALT: () => {
        this.CONSUME(T.Netmask);
        this.CONSUME1(T.Word, { LABEL: 'netmask' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Engine);
        this.CONSUME2(T.Word, { LABEL: 'engine' });
      },
    },
  ];

  private readonly forwardSpecAlts = [
    { ALT: () => this.CONSUME1(T.Word, { LABEL: 'word' }) },
    {
      ALT: () => {
        this.CONSUME(T.Port);
        this.CONSUME2(T.Word, { LABEL: 'port' });
      },
    },
  ];

  private readonly serverAlts = [
    {
      ALT: () => {
        this.CONSUME(T.Port);
        this.CONSUME1(T.Word, { LABEL: 'port' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Weight);
        this.CONSUME2(T.Word, { LABEL: 'weight' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Upper);
        this.CONSUME3(T.Word, { LABEL: 'upper' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Lower);
        this.CONSUME4(T.Word, { LABEL: 'lower' });
      },
    },
    { ALT: () => this.CONSUME(T.Drain, { LABEL: 'drain' }) },
    {
      ALT: () => {
        this.CONSUME(T.Address);
        this.CONSUME5(T.Word, { LABEL: 'address' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Forward);
        this.SUBRULE(this.forwardSpec, { LABEL: 'forward' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Check);
        this.SUBRULE(this.checkSpec, { LABEL: 'check' });
      },
    },
  ];

  /**
   * The tokens that may follow a grammar position, for error recovery, by
   * position. Chevrotain works them out by walking the grammar from the top
   * rule at every syntax error it tries to recover from (80% of the time of a
   * file of unclosed blocks: about 60 µs an error, 3 CPU-seconds for 50,000);
   * the answer depends on the position only, and a grammar without recursion
   * has few positions, so each is walked once per parser.
   */
  private readonly followsByPosition = new Map<string, TokenType[]>();

  protected override getNextPossibleTokenTypes(path: ITokenGrammarPath): TokenType[] {
    const key = `${path.ruleStack.join(' ')}|${path.occurrenceStack.join(' ')}|${path.lastTok.name}|${path.lastTokOccurrence}`;
    let follows = this.followsByPosition.get(key);
    if (follows === undefined) this.followsByPosition.set(key, (follows = super.getNextPossibleTokenTypes(path)));
    return follows;
  }

  /** The text being parsed, for the one layout rule of the grammar (see `serverOptions`). */
  private text = '';

  /** Whether a line break separates the next token from the one before it. */
  private nextStartsLine(): boolean {
    const prev = this.LA(0);
    const next = this.LA(1);
    if (!prev || Number.isNaN(prev.startOffset) || Number.isNaN(next.startOffset)) return false;
    return hasLineBreak(this.text, prev.startOffset + prev.image.length, next.startOffset);
  }

  /**
   * A server's options. `forward` and `check` are both server options and
   * service statements; one that begins a line is the service's (`server web1`
   * newline `forward dr` sets the method of the whole service), as it reads.
   */
  private readonly serverOptions = {
    GATE: () => (this.LA(1).tokenType !== T.Forward && this.LA(1).tokenType !== T.Check) || !this.nextStartsLine(),
    DEF: () => this.OR(this.serverAlts),
  };

  /** Parse a token vector of `text`; the CST and the recognition errors. */
  parseFile(tokens: IToken[], text: string): ParseOutput {
    this.text = text;
    this.errorFacts.facts = [];
    this.input = tokens;
    // Chevrotain signals and recovers from each syntax error with an exception;
    // capturing a stack trace for each made a file with thousands of errors take
    // seconds. Nothing here needs those traces: the errors become diagnostics.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      // The CST of `file`, as cst.ts (generated from these rules) describes it.
      const cst = this.file() as FileCstNode;
      return { cst, errors: this.syntaxErrors() };
    } finally {
      Error.stackTraceLimit = limit;
      this.text = '';
    }
  }

  /** Each recorded error with the facts its message was built from (see ErrorFactsProvider). */
  private syntaxErrors(): SyntaxErrorInfo[] {
    const errors = this.errors;
    const facts = this.errorFacts.facts;
    if (facts.length !== errors.length) {
      throw new Error(`parser: ${errors.length} syntax errors but ${facts.length} error messages built; the pairing of the two no longer holds`);
    }
    return errors.map((e, i) => ({ ...facts[i], token: e.token, ruleStack: e.context?.ruleStack ?? [] }));
  }

  readonly file = this.RULE('file', () => {
    this.MANY(() => this.OR(this.itemAlts));
  });

  // ------------------------------------------------------------- defaults, ssh

  readonly defaults = this.RULE('defaults', () => {
    this.CONSUME(T.Defaults);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.OR(this.defaultsAlts));
    this.CONSUME(T.RBrace);
  });

  /** `ssh [target] (user U | key "K" | port N | via HOST | sudo)*` */
  readonly ssh = this.RULE('ssh', () => {
    this.CONSUME(T.Ssh);
    this.OPTION(() => this.CONSUME(T.Word, { LABEL: 'target' }));
    this.MANY(() => this.OR(this.sshAlts));
  });

  /** A bare `sudo` in a defaults block. */
  readonly sudo = this.RULE('sudo', () => {
    this.CONSUME(T.Sudo);
  });

  // ------------------------------------------------------------- hosts

  readonly host = this.RULE('host', () => {
    this.CONSUME(T.Host);
    this.OR1(this.hostNameAlts);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.OR(this.hostAlts));
    this.CONSUME(T.RBrace);
  });

  /** `interface DEV CIDR [segment NAME]` */
  readonly interface = this.RULE('interface', () => {
    this.CONSUME(T.Interface);
    this.CONSUME(T.Word, { LABEL: 'dev' });
    this.CONSUME1(T.Word, { LABEL: 'cidr' });
    this.OPTION(() => {
      this.CONSUME(T.Segment);
      this.OR(this.segmentNameAlts);
    });
  });

  /** `gateway ADDR` */
  readonly gateway = this.RULE('gateway', () => {
    this.CONSUME(T.Gateway);
    this.CONSUME(T.Word, { LABEL: 'address' });
  });

  /** `route CIDR|default via ADDR` */
  readonly route = this.RULE('route', () => {
    this.CONSUME(T.Route);
    this.CONSUME(T.Word, { LABEL: 'dst' });
    this.CONSUME(T.Via);
    this.CONSUME1(T.Word, { LABEL: 'via' });
  });

  // ------------------------------------------------------------- director, timeouts

  /**
   * `director A [B] [sync IFACE [id N]] [{ ... }]` (more than two names parse;
   * to-ast reports them). The block holds how a pair fails over by itself.
   */
  readonly director = this.RULE('director', () => {
    this.CONSUME(T.Director);
    this.OR1(this.directorNameAlts);
    this.MANY(this.moreDirectorNames);
    this.OPTION(() => {
      this.CONSUME(T.Sync);
      this.CONSUME2(T.Word, { LABEL: 'iface' });
      this.OPTION1(() => {
        this.CONSUME(T.Id);
        this.CONSUME3(T.Word, { LABEL: 'id' });
      });
    });
    this.OPTION2(() => {
      this.CONSUME(T.LBrace);
      this.MANY1(() => this.OR(this.directorAlts));
      this.CONSUME(T.RBrace);
    });
  });

  /** `failover PROTOCOL ID on IFACE [unicast]` (the protocol is a word: `vrrp`). */
  readonly failover = this.RULE('failover', () => {
    this.CONSUME(T.Failover);
    this.CONSUME(T.Word, { LABEL: 'protocol' });
    this.CONSUME1(T.Word, { LABEL: 'id' });
    this.CONSUME(T.On);
    this.CONSUME2(T.Word, { LABEL: 'iface' });
    this.OPTION(() => this.CONSUME(T.Unicast, { LABEL: 'unicast' }));
  });

  /** `advert D` */
  readonly advert = this.RULE('advert', () => {
    this.CONSUME(T.Advert);
    this.CONSUME(T.Word, { LABEL: 'interval' });
  });

  /** `failback after D` | `failback never` */
  readonly failback = this.RULE('failback', () => {
    this.CONSUME(T.Failback);
    this.OR(this.failbackAlts);
  });

  /** `floating ADDR/LEN on IFACE` */
  readonly floating = this.RULE('floating', () => {
    this.CONSUME(T.Floating);
    this.CONSUME(T.Word, { LABEL: 'cidr' });
    this.CONSUME(T.On);
    this.CONSUME1(T.Word, { LABEL: 'iface' });
  });

  /** `sync IFACE [id N]` in a director block. */
  readonly directorSync = this.RULE('directorSync', () => {
    this.CONSUME(T.Sync);
    this.CONSUME(T.Word, { LABEL: 'iface' });
    this.OPTION(() => {
      this.CONSUME(T.Id);
      this.CONSUME1(T.Word, { LABEL: 'id' });
    });
  });

  readonly timeouts = this.RULE('timeouts', () => {
    this.CONSUME(T.Timeouts);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.timeout));
    this.CONSUME(T.RBrace);
  });

  /** `tcp D` | `tcpfin D` | `udp D` */
  readonly timeout = this.RULE('timeout', () => {
    this.OR(this.timeoutAlts);
    this.CONSUME(T.Word, { LABEL: 'duration' });
  });

  // ------------------------------------------------------------- services

  readonly service = this.RULE('service', () => {
    this.CONSUME(T.Service);
    this.OR1(this.serviceNameAlts);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.OR(this.serviceAlts));
    this.CONSUME(T.RBrace);
  });

  /** `vip ADDR PROTO PORT` */
  readonly vip = this.RULE('vip', () => {
    this.CONSUME(T.Vip);
    this.CONSUME(T.Word, { LABEL: 'address' });
    this.CONSUME(T.Proto, { LABEL: 'proto' });
    this.CONSUME1(T.Word, { LABEL: 'port' });
  });

  /** `fwmark N [{ match ... }]` */
  readonly fwmark = this.RULE('fwmark', () => {
    this.CONSUME(T.Fwmark);
    this.CONSUME(T.Word, { LABEL: 'mark' });
    this.OPTION(() => {
      this.CONSUME(T.LBrace);
      this.MANY(() => this.SUBRULE(this.match));
      this.CONSUME(T.RBrace);
    });
  });

  /** `match PROTO ADDR ports P[,P...]` */
  readonly match = this.RULE('match', () => {
    this.CONSUME(T.Match);
    this.CONSUME(T.Proto, { LABEL: 'proto' });
    this.CONSUME(T.Word, { LABEL: 'address' });
    this.CONSUME(T.Ports);
    this.SUBRULE(this.list, { LABEL: 'ports' });
  });

  /** `W[,W...]` or `W W ...`: ports of a match, flags of a scheduler. */
  readonly list = this.RULE('list', () => {
    this.CONSUME(T.Word, { LABEL: 'item' });
    this.MANY(() => {
      this.OPTION(() => this.CONSUME(T.Comma));
      this.CONSUME1(T.Word, { LABEL: 'item' });
    });
  });

  /** `scheduler S [flags F...]` */
  readonly scheduler = this.RULE('scheduler', () => {
    this.CONSUME(T.Scheduler);
    this.CONSUME(T.Word, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(T.Flags);
      this.SUBRULE(this.list, { LABEL: 'flags' });
    });
  });

  /** `persistence [D] [netmask M] [engine E]`, in any order. */
  readonly persistence = this.RULE('persistence', () => {
    this.CONSUME(T.Persistence);
    this.MANY(() => this.OR(this.persistenceAlts));
  });

  readonly ops = this.RULE('ops', () => {
    this.CONSUME(T.Ops);
  });

  readonly forward = this.RULE('forward', () => {
    this.CONSUME(T.Forward);
    this.SUBRULE(this.forwardSpec, { LABEL: 'spec' });
  });

  /** `METHOD [TUNTYPE] [port N] [CSUM]`, any order after the method; to-ast sorts the words out. */
  readonly forwardSpec = this.RULE('forwardSpec', () => {
    this.CONSUME(T.Word, { LABEL: 'method' });
    this.MANY(() => this.OR(this.forwardSpecAlts));
  });

  /** `check KIND ...` in a service: every server's check unless it has its own. */
  readonly check = this.RULE('check', () => {
    this.CONSUME(T.Check);
    this.SUBRULE(this.checkSpec, { LABEL: 'spec' });
  });

  /**
   * `KIND ["PROGRAM"] [port N] [path "P"] [status C|C-C] [host "H"] [name "N"]
   * [type T] [args "A"...] [every D] [timeout D] [retries N]`, options in any
   * order; lowering says which fit the kind.
   */
  readonly checkSpec = this.RULE('checkSpec', () => {
    this.OR(this.checkKindAlts);
    this.OPTION(() => this.CONSUME(T.String, { LABEL: 'program' }));
    this.MANY(() => this.OR1(this.checkOptionAlts));
  });

  /** `on-failure quiesce|remove` (the mode is a word, read by lowering). */
  readonly onFailure = this.RULE('onFailure', () => {
    this.CONSUME(T.OnFailure);
    this.CONSUME(T.Word, { LABEL: 'mode' });
  });

  private readonly sorryAlts = [
    {
      ALT: () => {
        this.CONSUME(T.Port);
        this.CONSUME1(T.Word, { LABEL: 'port' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Address);
        this.CONSUME2(T.Word, { LABEL: 'address' });
      },
    },
  ];

  /** `sorry HOST [address ADDR] [port N]`, options in any order. */
  readonly sorry = this.RULE('sorry', () => {
    this.CONSUME(T.Sorry);
    this.OR(this.sorryNameAlts);
    this.MANY(() => this.OR1(this.sorryAlts));
  });

  /** `server HOST [address ADDR] [port N] [weight W] [upper U] [lower L] [drain] [forward ...] [check ...]`, options in any order. */
  readonly server = this.RULE('server', () => {
    this.CONSUME(T.Server);
    this.OR1(this.serverHostAlts);
    this.MANY(this.serverOptions);
  });
}

/** The one parser instance (Chevrotain parsers are built once and fed new input), without the grammar checks (the tests run them). */
export const parser = new LvsParser(undefined, { validateGrammar: false });

export interface ParseOutput {
  readonly cst: FileCstNode;
  readonly errors: readonly SyntaxErrorInfo[];
}

export function parseTokens(tokens: IToken[], text: string): ParseOutput {
  return parser.parseFile(tokens, text);
}

export { EOF };
