/**
 * Chevrotain's recognition errors → diagnostics a person can act on:
 * "expected a port number after the protocol", "unknown statement `schedular`"
 * with a did-you-mean, "expected `}` to close `host lb1 {`" with a note at the
 * opening brace. The wording lives in the tables below, keyed by grammar rule,
 * expected token and the token before the error.
 *
 * Spans: the offending token; when it stands on a later line than the token
 * before it (a value missing at the end of a line), or is the end of the file,
 * the error is anchored just after the previous token, where the value belongs.
 */
import { tokenMatcher, type IToken } from './chevrotain.js';
import { diag, type Diagnostic } from './diagnostics.js';
import type { SyntaxErrorInfo } from './parser.js';
import { hasLineBreak, type SourceFile, type Span } from './source.js';
import { suggest, type ForeignWord } from './suggest.js';
import { Keyword, keywords, keywordText, LBrace, RBrace } from './tokens.js';

/** What is expected, by `rule/expectedToken/previousToken`, `rule/expectedToken`, or `expectedToken`. `$prev` is the previous token's text. */
const EXPECTED: Record<string, string> = {
  'defaults/LBrace': '`{` after `defaults`',
  'host/Word': 'a host name after `host`',
  'host/LBrace': '`{` after the host name',
  'service/Word': 'a service name after `service`',
  'service/LBrace': '`{` after the service name',
  'timeouts/LBrace': '`{` after `timeouts`',
  'fwmark/Word': 'a mark number after `fwmark`',
  'ssh/Word/User': 'a user name after `user`',
  'ssh/String/Key': 'a quoted file name after `key`',
  'ssh/Word/Port': 'a port number after `port`',
  'ssh/Word/Via': 'the name of a jump host after `via`',
  'interface/Word/Interface': 'a device name after `interface`',
  'interface/Word/Segment': 'a segment name after `segment`',
  'interface/Word': 'an address/prefix after the device name',
  'gateway/Word': 'an address after `gateway`',
  'route/Word/Route': 'a destination network or `default` after `route`',
  'route/Via': '`via` after the destination',
  'route/Word/Via': 'a next-hop address after `via`',
  'director/Word/Director': 'a host name after `director`',
  'director/Word/Sync': 'an interface name after `sync`',
  'director/Word/Id': 'a sync id after `id`',
  'timeout/Word': 'a duration after `$prev`',
  'vip/Word/Vip': 'an address after `vip`',
  'vip/Proto': 'a protocol (tcp, udp or sctp) after the address',
  'vip/Word': 'a port number after the protocol',
  'match/Proto': 'a protocol (tcp, udp or sctp) after `match`',
  'match/Word': 'an address after the protocol',
  'match/Ports': '`ports` after the address',
  'list/Word/Ports': 'a port number after `ports`',
  'list/Word/Flags': 'a flag after `flags`',
  'list/Word/Comma': 'another item after `,`',
  'scheduler/Word': 'a scheduler name after `scheduler`',
  'persistence/Word/Netmask': 'a netmask after `netmask`',
  'persistence/Word/Engine': 'an engine name after `engine`',
  'forwardSpec/Word/Forward': 'a forwarding method (nat, dr or tun) after `forward`',
  'forwardSpec/Word/Port': 'a port number after `port`',
  'server/Word/Server': 'a host name after `server`',
  'checkSpec/Word': 'a value after `$prev`',
  'checkSpec/String/Path': 'a quoted path after `path`, e.g. `path "/healthz"`',
  'checkSpec/String/Host': 'a quoted host name after `host`',
  'checkSpec/String/Name': 'a quoted DNS name after `name`',
  'checkSpec/String/Args': 'a quoted argument after `args`',
  'check/Word/Check': 'a check kind (tcp, http, https, dns, exec or none) after `check`',
  'server/Word/Check': 'a check kind (tcp, http, https, dns, exec or none) after `check`',
  'onFailure/Word': 'quiesce or remove after `on-failure`',
  'sorry/Word/Sorry': 'a host name after `sorry`',
  'sorry/Word/Port': 'a port number after `port`',
  'failover/Word/Failover': 'a protocol (vrrp) after `failover`',
  'failover/Word': 'a VRRP router id after the protocol',
  'failover/On': '`on` after the router id',
  'failover/Word/On': 'an interface name after `on`',
  'advert/Word': 'a duration after `advert`',
  'failback/Word/After': 'a duration after `after`',
  'floating/Word/Floating': 'an address/prefix after `floating`',
  'floating/On': '`on` after the address',
  'floating/Word/On': 'an interface name after `on`',
  'directorSync/Word/Sync': 'an interface name after `sync`',
  'directorSync/Word/Id': 'a sync id after `id`',
  'server/Word': 'a number after `$prev`',
  Word: 'a value after `$prev`',
  String: 'a quoted string after `$prev`',
  LBrace: '`{` after `$prev`',
  RBrace: '`}`',
  Proto: 'a protocol (tcp, udp or sctp)',
};

/** How each construct is written, for the detail of an error inside it. */
const FORMS: Record<string, string> = {
  defaults: '`defaults { ssh user NAME key "FILE" port N via HOST sudo }`',
  ssh: '`ssh [user@]ADDRESS[:PORT] [user NAME] [key "FILE"] [port N] [via HOST] [sudo]`',
  host: '`host NAME { ssh ... interface ... gateway ... route ... }`',
  interface: '`interface DEVICE ADDRESS/PREFIX [segment NAME]`, e.g. `interface eth0 10.1.0.2/24`',
  gateway: '`gateway ADDRESS`, e.g. `gateway 10.1.0.1`',
  route: '`route NETWORK/PREFIX via ADDRESS` or `route default via ADDRESS`',
  director: '`director HOST [BACKUP] [sync INTERFACE [id N]] [{ failover ... }]`',
  failover: '`failover vrrp ID on INTERFACE [unicast]`, e.g. `failover vrrp 51 on eth0`',
  advert: '`advert DURATION`, e.g. `advert 1s`',
  failback: '`failback after DURATION` or `failback never`',
  floating: '`floating ADDRESS/PREFIX on INTERFACE`, e.g. `floating 192.168.30.1/24 on eth1`',
  directorSync: '`sync INTERFACE [id N]`',
  timeouts: '`timeouts { tcp 15m tcpfin 2m udp 5m }`',
  timeout: '`timeouts { tcp 15m tcpfin 2m udp 5m }`',
  service: '`service NAME { vip ... scheduler ... forward ... server ... }`',
  vip: '`vip ADDRESS tcp|udp|sctp PORT`, e.g. `vip 10.1.0.100 tcp 80`',
  fwmark: '`fwmark N { match tcp|udp|sctp ADDRESS ports P[,P...] }`',
  match: '`match tcp|udp|sctp ADDRESS ports P[,P...]`, e.g. `match tcp 10.2.0.100 ports 80,443`',
  scheduler: '`scheduler NAME [flags FLAG...]`, e.g. `scheduler sh flags sh-port`',
  persistence: '`persistence [DURATION] [netmask MASK] [engine sip]`, e.g. `persistence 30m netmask 255.255.255.0`',
  forward: '`forward nat|dr|tun [ipip|gue|gre] [port N] [csum|nocsum|remcsum]`',
  forwardSpec: '`forward nat|dr|tun [ipip|gue|gre] [port N] [csum|nocsum|remcsum]`',
  server: '`server HOST [address ADDR] [port N] [weight W] [upper U] [lower L] [drain] [forward ...] [check ...]`',
  check: '`check tcp|http|https|dns|exec|none [OPTIONS] [every D] [timeout D] [retries N]`, e.g. `check http path "/healthz" status 200`',
  checkSpec: '`check tcp|http|https|dns|exec|none [OPTIONS] [every D] [timeout D] [retries N]`, e.g. `check http path "/healthz" status 200`',
  onFailure: '`on-failure quiesce` or `on-failure remove`',
  sorry: '`sorry HOST [address ADDR] [port N]`',
};

/** What each block holds, for "unexpected X in a ... block". */
const BLOCKS: Record<string, { readonly where: string; readonly what: string; readonly holds: readonly string[] }> = {
  file: { where: 'at the top level', what: 'A file', holds: ['defaults', 'host', 'director', 'timeouts', 'service'] },
  defaults: { where: 'in a defaults block', what: 'A defaults block', holds: ['ssh', 'sudo'] },
  host: { where: 'in a host block', what: 'A host block', holds: ['ssh', 'interface', 'gateway', 'route'] },
  timeouts: { where: 'in a timeouts block', what: 'A timeouts block', holds: ['tcp', 'tcpfin', 'udp'] },
  service: {
    where: 'in a service block',
    what: 'A service block',
    holds: ['vip', 'fwmark', 'scheduler', 'persistence', 'ops', 'forward', 'check', 'on-failure', 'sorry', 'server'],
  },
  director: { where: 'in a director block', what: 'A director block', holds: ['failover', 'advert', 'failback', 'floating', 'sync'] },
  fwmark: { where: 'in a fwmark block', what: 'A fwmark block', holds: ['match'] },
};

/** Where a keyword does belong, for a keyword found in the wrong place. */
const HOME: Record<string, string> = {
  defaults: 'at the top level',
  host: 'at the top level',
  director: 'at the top level',
  timeouts: 'at the top level',
  service: 'at the top level',
  ssh: 'in a host or defaults block',
  sudo: 'on an `ssh` line, or alone in a defaults block',
  interface: 'in a host block',
  gateway: 'in a host block',
  route: 'in a host block',
  vip: 'in a service block',
  fwmark: 'in a service block',
  scheduler: 'in a service block',
  persistence: 'in a service block',
  ops: 'in a service block',
  forward: 'in a service block or on a `server` line',
  server: 'in a service block',
  match: 'in a fwmark block',
  tcp: 'in a timeouts block, or after a `vip`/`match` address',
  tcpfin: 'in a timeouts block',
  udp: 'in a timeouts block, or after a `vip`/`match` address',
  sctp: 'after a `vip` or `match` address (ipvsadm has no sctp timeout)',
  user: 'on an `ssh` line',
  key: 'on an `ssh` line',
  via: 'on an `ssh` or `route` line',
  port: 'on an `ssh`, `server` or `forward` line',
  segment: 'on an `interface` line',
  sync: 'on the `director` line, or in its block',
  id: 'on the `director` line, after `sync IFACE`',
  ports: 'on a `match` line',
  flags: 'on a `scheduler` line',
  netmask: 'on a `persistence` line',
  engine: 'on a `persistence` line',
  weight: 'on a `server` line',
  upper: 'on a `server` line',
  lower: 'on a `server` line',
  drain: 'on a `server` line',
  check: 'in a service block or on a `server` line',
  path: 'on a `check http` or `check https` line',
  status: 'on a `check http` or `check https` line',
  name: 'on a `check dns` line',
  type: 'on a `check dns` line',
  args: 'on a `check exec` line',
  every: 'on a `check` line',
  timeout: 'on a `check` line',
  retries: 'on a `check` line',
  'on-failure': 'in a service block',
  sorry: 'in a service block',
  failover: 'in a director block',
  on: 'on a `failover` or `floating` line',
  unicast: 'on a `failover` line',
  advert: 'in a director block',
  failback: 'in a director block',
  after: 'on a `failback` line',
  never: 'on a `failback` line',
  floating: 'in a director block',
};

const ALL_KEYWORDS = keywords.map(keywordText);
/** keepalived.conf's words for lvsc's statements, which operators bring along. */
const FOREIGN_STATEMENTS: Readonly<Record<string, ForeignWord>> = {
  virtual_server: { word: 'service', whose: "keepalived's word" },
  real_server: { word: 'server', whose: "keepalived's word" },
  lb_algo: { word: 'scheduler', whose: "keepalived's word" },
  lb_kind: { word: 'forward', whose: "keepalived's word; lvsc's methods are nat, dr and tun" },
  persistence_timeout: { word: 'persistence', whose: "keepalived's word" },
  sorry_server: { word: 'sorry', whose: "keepalived's word" },
  vrrp_instance: { word: 'failover', whose: "keepalived's word" },
};
/** The blocks whose header is their keyword and a name. */
const NAMED_BLOCKS = new Set(['Host', 'Service']);
/** Where a name stands (`rule/previous token`): a keyword may be the name there (parser.ts, keywordName). */
const NAME_POSITIONS = new Set(['host/Host', 'service/Service', 'server/Server', 'sorry/Sorry', 'interface/Segment', 'ssh/Via']);
const TOP_LEVEL = new Set(BLOCKS.file.holds);

export function syntaxDiagnostics(errors: readonly SyntaxErrorInfo[], tokens: readonly IToken[], source: SourceFile): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  const guesses = new Map<string, string | undefined>();
  const braces = new Braces(tokens);
  for (const e of errors) {
    const d = describe(e, tokens, source, guesses, braces);
    const key = `${d.subject?.start}:${d.summary}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

function isReal(t: IToken | undefined): t is IToken {
  return t !== undefined && !Number.isNaN(t.startOffset) && !t.isInsertedInRecovery;
}

/** Index of the first token at or after `offset` (tokens.length at the end). */
function indexAt(tokens: readonly IToken[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].startOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function end(t: IToken): number {
  return t.startOffset + t.image.length;
}

function describe(
  info: SyntaxErrorInfo,
  tokens: readonly IToken[],
  source: SourceFile,
  guesses: Map<string, string | undefined>,
  braces: Braces,
): Diagnostic {
  const file = source.path;
  const token = info.token;
  const actual = isReal(token) && token.tokenType.name !== 'EOF' ? token : undefined;
  const index = actual ? indexAt(tokens, actual.startOffset) : tokens.length;
  const prev = index > 0 ? tokens[index - 1] : undefined;
  const afterPrev: Span = prev ? { file, start: end(prev), end: end(prev) } : { file, start: 0, end: 0 };
  const onLaterLine = actual && prev ? hasLineBreak(source.text, end(prev), actual.startOffset) : false;
  const actualSpan: Span = actual ? { file, start: actual.startOffset, end: end(actual) } : afterPrev;
  const expected = info.expected[0] ?? '';
  const rule = info.rule;

  // Something that starts no statement where a statement (or the end of a block) should be.
  if (info.kind === 'redundant-input' || (info.kind === 'mismatch' && (expected === 'EOF' || expected === 'RBrace'))) {
    const blockRule = expected === 'RBrace' ? info.rule : 'file';
    const closesBlock = !actual || (expected === 'RBrace' && TOP_LEVEL.has(actual.image) && isKeyword(actual));
    if (expected === 'RBrace' && closesBlock) return unclosed(tokens, braces.openBefore(index), afterPrev, prev, file);
    if (actual) return stray(actual, actualSpan, blockRule, prev, onLaterLine, guesses);
  }

  const prevName = prev?.tokenType.name ?? '';
  const what =
    EXPECTED[`${rule}/${expected}/${prevName}`] ??
    EXPECTED[`${rule}/${expected}`] ??
    EXPECTED[expected] ??
    `one of ${info.expected.map((x) => `\`${x.toLowerCase()}\``).join(', ')}`;
  const described = what.replace('$prev', prev?.image ?? '');
  const subject = !actual || onLaterLine ? afterPrev : actualSpan;
  const found = actual ? (onLaterLine ? '' : `, found ${shown(actual)}`) : ', found the end of the file';
  const form = formOf(info.ruleStack);
  const keywordNote =
    actual && !onLaterLine && expected === 'Word' && isKeyword(actual)
      ? NAME_POSITIONS.has(`${rule}/${prevName}`) || rule === 'director'
        ? ` \`${actual.image}\` is read as its keyword here, because a value follows it; a keyword names something only where no value follows it.`
        : ` \`${actual.image}\` is a keyword, so it cannot be used as a value here.`
      : '';
  return diag('syntax', {
    summary: `expected ${described}${found}`,
    detail: `${form ? `Write it as ${form}.` : ''}${keywordNote}`.trim() || undefined,
    subject,
  });
}

/** The form of the innermost construct around the error (the helper rule `list` has none of its own). */
function formOf(stack: readonly string[]): string | undefined {
  for (let i = stack.length - 1; i >= 0; i--) if (FORMS[stack[i]]) return FORMS[stack[i]];
  return undefined;
}

function isKeyword(t: IToken): boolean {
  return tokenMatcher(t, Keyword);
}

function shown(t: IToken): string {
  if (t.tokenType.name === 'String') return 'a string';
  return `\`${t.image}\``;
}

/** A token that starts no statement of the block it stands in. */
function stray(
  actual: IToken,
  subject: Span,
  blockRule: string,
  prev: IToken | undefined,
  onLaterLine: boolean,
  guesses: Map<string, string | undefined>,
): Diagnostic {
  const block = BLOCKS[blockRule] ?? BLOCKS.file;
  const holds = `${block.what} holds ${listOf(block.holds)}.`;
  const word = actual.image;
  const name = actual.tokenType.name;
  if (name === 'RBrace') {
    return diag('syntax', {
      summary: 'unexpected `}`',
      detail:
        blockRule === 'file'
          ? 'No block is open here: remove this `}`, or look above for a block closed twice.'
          : `${holds} Is a statement before this \`}\` incomplete?`,
      subject,
    });
  }
  if (name === 'LBrace') {
    return diag('syntax', {
      summary: 'unexpected `{`',
      detail: `Only \`defaults\`, \`host NAME\`, \`director A [B]\`, \`timeouts\`, \`service NAME\` and \`fwmark N\` open a block. ${holds}`,
      subject,
    });
  }
  if (name === 'String') {
    return diag('syntax', {
      summary: 'unexpected string',
      detail: `Only \`key\` (on an \`ssh\` line) and a \`check\`'s program, \`path\`, \`host\`, \`name\` and \`args\` take quoted strings. ${holds}`,
      subject,
    });
  }
  if (name === 'Comma') {
    return diag('syntax', {
      summary: 'unexpected `,`',
      detail: 'Commas separate the ports of a `match` (`ports 80,443`) or the flags of a `scheduler`.',
      subject,
    });
  }
  if (isKeyword(actual)) {
    return diag('syntax', {
      summary: `\`${word}\` does not belong ${block.where}`,
      detail: `\`${word}\` goes ${HOME[word] ?? 'elsewhere'}. ${holds}`,
      subject,
    });
  }
  const foreign = Object.hasOwn(FOREIGN_STATEMENTS, word) ? FOREIGN_STATEMENTS[word] : undefined;
  if (foreign && block.holds.includes(foreign.word)) {
    return diag('syntax', {
      summary: `unknown statement \`${word}\``,
      detail: `Did you mean \`${foreign.word}\`? (\`${word}\` is ${foreign.whose}.) ${holds}`,
      subject,
    });
  }
  // A misspelling tends to repeat through a file: work each one out once.
  const key = `${blockRule} ${word}`;
  if (!guesses.has(key)) guesses.set(key, suggest(word, block.holds) ?? suggest(word, ALL_KEYWORDS));
  const guess = guesses.get(key);
  if (guess) {
    const here = block.holds.includes(guess);
    return diag('syntax', {
      summary: `unknown ${here ? 'statement' : 'word'} \`${word}\``,
      detail: `Did you mean \`${guess}\`? ${here ? holds : `\`${guess}\` goes ${HOME[guess] ?? 'elsewhere'}.`}`,
      subject,
    });
  }
  if (word.startsWith('//')) {
    return diag('syntax', { summary: `unexpected \`${word}\``, detail: 'Comments start with `#`.', subject });
  }
  const sameLine = prev && !onLaterLine;
  return diag('syntax', {
    summary: sameLine ? `unexpected \`${word}\` after \`${prev.image}\`` : `unknown statement \`${word}\``,
    detail: sameLine ? `Each option takes one value. ${holds}` : `Each statement starts with its keyword. ${holds}`,
    subject,
  });
}

/** A block that reaches the end of the file, or the next top-level item, without its `}`. */
function unclosed(tokens: readonly IToken[], open: number | undefined, subject: Span, prev: IToken | undefined, file: string): Diagnostic {
  const header = open !== undefined ? headerOf(tokens, open) : undefined;
  const openSpan: Span | undefined = open !== undefined ? { file, start: tokens[open].startOffset, end: end(tokens[open]) } : undefined;
  return diag('syntax', {
    summary: header ? `expected \`}\` to close \`${header}\`` : 'expected `}`',
    detail: `Every \`{\` needs its \`}\`: close the block after its last statement${prev ? ` (after \`${prev.image}\` here)` : ''}.`,
    subject,
    context: openSpan,
    notes: openSpan ? [{ message: 'the block opens here', span: openSpan }] : undefined,
  });
}

/** Which `{` is open before each token: worked out once per file, on the first unclosed block. */
class Braces {
  private innermost: Int32Array | undefined;

  constructor(private readonly tokens: readonly IToken[]) {}

  /** The index of the innermost `{` still open before token `index`, if any. */
  openBefore(index: number): number | undefined {
    if (!this.innermost) {
      const n = this.tokens.length;
      const innermost = new Int32Array(n + 1);
      const stack: number[] = [];
      for (let i = 0; i <= n; i++) {
        innermost[i] = stack.length ? stack[stack.length - 1] : -1;
        const type = this.tokens[i]?.tokenType;
        if (type === LBrace) stack.push(i);
        else if (type === RBrace) stack.pop();
      }
      this.innermost = innermost;
    }
    const open = this.innermost[Math.min(index, this.tokens.length)];
    return open >= 0 ? open : undefined;
  }
}

/** `host lb1 {`: the block's keyword and name before its brace. */
function headerOf(tokens: readonly IToken[], open: number): string {
  // `host NAME {` and `service NAME {`: the name may itself be a keyword (`host director {`).
  const named = open >= 2 && NAMED_BLOCKS.has(tokens[open - 2].tokenType.name);
  let from = named ? open - 2 : open;
  while (!named && from > 0 && open - from < 2 && !isKeyword(tokens[from])) from--;
  return tokens
    .slice(from, open + 1)
    .map((t) => t.image)
    .join(' ');
}

function listOf(words: readonly string[]): string {
  const q = words.map((w) => `\`${w}\``);
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} and ${q[q.length - 1]}`;
}
