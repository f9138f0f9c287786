/**
 * Token definitions of the lvsc language (Chevrotain `createToken` only).
 *
 * Values are lexed as one generic `Word` (addresses, CIDRs, numbers, durations,
 * names, `user@host:port`): values.ts reads each word where the grammar
 * expects it, so a bad value gets a precise message on its exact span instead
 * of a vague "unexpected token". Keywords are words with a meaning of their own;
 * `longer_alt: Word` keeps `hosts` or `weights` a Word. A keyword may still be
 * a name where a name stands (`host gateway { }`): parser.ts takes it as the name
 * unless a value follows it, so a missing name does not swallow the next option.
 *
 * lexer.ts runs Chevrotain's Lexer over the non-keyword tokens and gives a
 * Word that spells a keyword the keyword's type (what `longer_alt` means);
 * lexer.test.ts checks that it agrees with a Lexer over `allTokens`.
 */
import { createToken, Lexer, type TokenType } from './chevrotain.js';
import { LINE_BREAK_CLASS } from './source.js';

/** Every keyword (for "did you mean" and for gates that stop at the next statement). */
export const Keyword = createToken({ name: 'Keyword', pattern: Lexer.NA });
/** The protocol keywords `tcp udp sctp`. */
export const Proto = createToken({ name: 'Proto', pattern: Lexer.NA });

export const Word = createToken({
  name: 'Word',
  pattern: /[A-Za-z0-9_.:/@[\]%-]+/,
});

function keyword(word: string, categories: TokenType[] = []): TokenType {
  // `on-failure` → OnFailure: token names are identifiers (cst.ts labels children by them).
  const name = word.replace(/(^|-)([a-z])/g, (_, _dash: string, ch: string) => ch.toUpperCase());
  return createToken({
    name,
    pattern: word,
    longer_alt: Word,
    categories: [Keyword, ...categories],
  });
}

// Top-level items.
export const Defaults = keyword('defaults');
export const Host = keyword('host');
export const Director = keyword('director');
export const Timeouts = keyword('timeouts');
export const Service = keyword('service');
// ssh and hosts.
export const Ssh = keyword('ssh');
export const User = keyword('user');
export const Key = keyword('key');
// `ports` before `port`: a keyword's own pattern would otherwise take the prefix of the longer one.
export const Ports = keyword('ports');
export const Port = keyword('port');
export const Via = keyword('via');
export const Sudo = keyword('sudo');
export const Interface = keyword('interface');
export const Segment = keyword('segment');
export const Gateway = keyword('gateway');
export const Route = keyword('route');
// director and timeouts.
export const Sync = keyword('sync');
export const Id = keyword('id');
export const Tcpfin = keyword('tcpfin');
export const Tcp = keyword('tcp', [Proto]);
export const Udp = keyword('udp', [Proto]);
export const Sctp = keyword('sctp', [Proto]);
// services.
export const Vip = keyword('vip');
export const Fwmark = keyword('fwmark');
export const Match = keyword('match');
export const Scheduler = keyword('scheduler');
export const Flags = keyword('flags');
export const Persistence = keyword('persistence');
export const Netmask = keyword('netmask');
export const Engine = keyword('engine');
export const Ops = keyword('ops');
export const Forward = keyword('forward');
export const Server = keyword('server');
export const Weight = keyword('weight');
export const Upper = keyword('upper');
export const Lower = keyword('lower');
export const Drain = keyword('drain');
export const Address = keyword('address');
// health checks.
export const Check = keyword('check');
export const Path = keyword('path');
export const Status = keyword('status');
export const Name = keyword('name');
export const Type = keyword('type');
export const Args = keyword('args');
export const Every = keyword('every');
export const Timeout = keyword('timeout');
export const Retries = keyword('retries');
export const OnFailure = keyword('on-failure');
export const Sorry = keyword('sorry');
// a director pair that fails over by itself.
export const Failover = keyword('failover');
export const On = keyword('on');
export const Unicast = keyword('unicast');
export const Advert = keyword('advert');
export const Failback = keyword('failback');
export const After = keyword('after');
export const Never = keyword('never');
export const Floating = keyword('floating');

// Strings and comments end at a line break, as source.ts defines it (LINE_BREAK_CLASS).
const EOL = LINE_BREAK_CLASS;
/** The body of a string: any character but a quote, a backslash or a line break, or a backslash escaping one but a line break. */
const STRING_BODY = `(?:[^"\\\\${EOL}]|\\\\[^${EOL}])*`;
/** The whole of a well-terminated string, for to-ast's value of a string the lexer reported. */
export const TERMINATED_STRING = new RegExp(`^"${STRING_BODY}"$`);

export const String = createToken({ name: 'String', pattern: new RegExp(`"${STRING_BODY}"`) });
/** A string that reaches the end of its line: lexer.ts reports it and hands the parser a String. */
export const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: new RegExp(`"${STRING_BODY}\\\\?`) });
/** A string in typographic quotes (pasted from a document): lexer.ts reports it and hands the parser a String. */
export const TypographicString = createToken({
  name: 'TypographicString',
  pattern: new RegExp(`[\\u201c\\u201d\\u201e][^\\u201c\\u201d"${EOL}]*[\\u201c\\u201d]`),
});
export const LBrace = createToken({ name: 'LBrace', pattern: '{' });
export const RBrace = createToken({ name: 'RBrace', pattern: '}' });
export const Comma = createToken({ name: 'Comma', pattern: ',' });
/** `#` to the end of the line (lex() drops trailing blanks from the comment's text). */
export const Comment = createToken({ name: 'Comment', pattern: new RegExp(`#[^${EOL}]*`), group: 'comments' });
export const Whitespace = createToken({ name: 'Whitespace', pattern: new RegExp(`[ \\t${EOL}]+`), group: Lexer.SKIPPED });

export const keywords: readonly TokenType[] = [
  Defaults, Host, Director, Timeouts, Service,
  Ssh, User, Key, Ports, Port, Via, Sudo, Interface, Segment, Gateway, Route,
  Sync, Id, Tcpfin, Tcp, Udp, Sctp,
  Vip, Fwmark, Match, Scheduler, Flags, Persistence, Netmask, Engine, Ops, Forward, Server, Weight, Upper, Lower, Drain, Address,
  Check, Path, Status, Name, Type, Args, Every, Timeout, Retries, OnFailure, Sorry,
  Failover, On, Unicast, Advert, Failback, After, Never, Floating,
];

/** The lexer's token list, in matching order. */
export const allTokens: readonly TokenType[] = [
  Whitespace,
  Comment,
  String,
  UnterminatedString,
  TypographicString,
  LBrace,
  RBrace,
  Comma,
  ...keywords,
  Word,
  // Categories last: they match nothing themselves.
  Keyword,
  Proto,
];

/** The spelling of each keyword (`Tcpfin` → `tcpfin`, `OnFailure` → `on-failure`): its pattern. */
export function keywordText(type: TokenType): string {
  return typeof type.PATTERN === 'string' ? type.PATTERN : type.name.toLowerCase();
}

/** Keyword token types by spelling. */
export const keywordByText: ReadonlyMap<string, TokenType> = new Map(keywords.map((k) => [keywordText(k), k]));
