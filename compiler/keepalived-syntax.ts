/**
 * What text from a cluster file may go into keepalived.conf, and how it is
 * written there. Validation (validate/health.ts) reports anything outside
 * these sets at its place in the file; the renderer (keepalived.ts) asserts
 * them again, so nothing unvalidated reaches keepalived or, through a
 * MISC_CHECK, a program's argument list.
 *
 * How keepalived 2.2.7 reads a line (lib/parser.c, the version Debian 12 ships):
 * - `read_line` strips leading blanks and `decomment`s the line: `#` and `!`
 *   outside double quotes start a comment, a `\` escapes the next character
 *   and a trailing `\` joins the next line;
 * - then, because the pre-defined definitions (`${_PWD}`, `${_INSTANCE}`,
 *   `${_RANDOM}`, `${_HASH}`, `${_BANG}`) always exist, every `$` anywhere on
 *   the line (quoted or not) is looked up as a parameter and may be replaced;
 * - a `{` or `}` outside double quotes splits the line;
 * - `alloc_strvec_r` splits it into words at blanks; a `"..."` is one word
 *   (no escapes inside).
 * So a value keepalived takes as one word is written in double quotes and
 * must not contain `"`, `\`, `$`, control characters or non-ASCII; the sets
 * below are narrower still.
 */

/** DNS query types keepalived 2.2.7's DNS_CHECK knows (check_dns.c `DNS_TYPE`), matched case-insensitively. */
export const DNS_TYPES: readonly string[] = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA', 'RRSIG', 'DNSKEY'];

/** The canonical (upper-case) DNS type, or undefined when keepalived does not know it. */
export function dnsType(written: string): string | undefined {
  const upper = written.toUpperCase();
  return DNS_TYPES.includes(upper) ? upper : undefined;
}

/**
 * A URL path and query (RFC 3986 `path-abempty [ "?" query ]`): unreserved
 * characters, %-escapes, and the sub-delimiters but `$` (keepalived would
 * take it for a parameter), starting with `/`. No `#`: a fragment is never
 * sent to the server.
 */
const HTTP_PATH = /^\/[A-Za-z0-9\-._~%!&'()*+,;=:@/?]*$/;

export function httpPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'it does not start with `/`';
  if (HTTP_PATH.test(path)) return undefined;
  const bad = [...path].find((ch) => !/[A-Za-z0-9\-._~%!&'()*+,;=:@/?]/.test(ch))!;
  return `${describeChar(bad)} is not allowed in a URL path here (write it %-escaped)`;
}

/** A DNS name: labels of letters, digits, `-` and `_`, 1..63 characters each, dots between, an optional final dot; or `.` alone. */
export function dnsNameProblem(name: string): string | undefined {
  if (name === '.') return undefined;
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (!bare.length) return 'it is empty';
  if (bare.length > 253) return 'it is longer than 253 characters';
  for (const label of bare.split('.')) {
    if (!label.length) return 'it has an empty label (two dots in a row, or a leading dot)';
    if (label.length > 63) return `label \`${label.slice(0, 20)}...\` is longer than 63 characters`;
    const bad = [...label].find((ch) => !/[A-Za-z0-9_-]/.test(ch));
    if (bad !== undefined) return `${describeChar(bad)} is not allowed in a DNS name`;
  }
  return undefined;
}

/** An HTTP Host: a DNS name (or dotted IPv4 address), optionally `:PORT`. */
export function hostNameProblem(host: string): string | undefined {
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(host)!;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return `port ${m[2]} is outside 1..65535`;
  if (m[1].endsWith('.')) return 'it ends with a dot';
  return dnsNameProblem(m[1]);
}

/**
 * One word of a MISC_CHECK command line (the program's path or one of its
 * arguments): letters, digits and `_ @ % + = : , . / -`. No blanks, quotes,
 * backslashes, `$`, `#`, `!`, braces or any other character a shell or
 * keepalived's parser gives a meaning to (see `miscPath`).
 */
const EXEC_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function execPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'it is not an absolute path (keepalived would search $PATH for it)';
  return execWordProblem(path);
}

export function execWordProblem(word: string): string | undefined {
  if (!word.length) return 'it is empty';
  if (EXEC_WORD.test(word)) return undefined;
  const bad = [...word].find((ch) => !/[A-Za-z0-9_@%+=:,./-]/.test(ch))!;
  return `${describeChar(bad)} is shell syntax or a separator here`;
}

function describeChar(ch: string): string {
  if (ch === ' ') return 'a space';
  if (ch === '\t') return 'a tab';
  const code = ch.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return `control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code > 0x7e) return `\`${ch}\` (non-ASCII)`;
  return `\`${ch}\``;
}

/** Every character keepalived could treat specially in a double-quoted word. */
const UNQUOTABLE = /["\\$\u0000-\u001f\u007f-\uffff]/;

/** A value as one keepalived word, in double quotes; throws (a bug: validation rejects it first) on anything that would not stay one literal word. */
export function quoted(value: string): string {
  if (!value.length || UNQUOTABLE.test(value)) throw new Error(`bug: ${JSON.stringify(value)} reached keepalived.conf unvalidated`);
  return `"${value}"`;
}

/**
 * The `misc_path` value of a MISC_CHECK: the program and its arguments as one
 * double-quoted word.
 *
 * Why this is safe (keepalived 2.2.7, check_misc.c `misc_path_handler` and
 * lib/notify.c): keepalived re-splits the line with
 * `alloc_strvec_quoted_escaped` (quotes and `\` escapes, like a shell's
 * word split but nothing else: no globbing, no expansion), takes the one word
 * after `misc_path` and splits it again the same way into argv. It then runs
 * argv[0] with execve(2), without a shell, when libmagic calls the file an
 * executable (a binary, or a script with a `#!` line). Otherwise it falls back
 * to system(3), i.e. `/bin/sh -c`, with every word wrapped in single quotes
 * (`cmd_str_r`), which the shell takes literally as long as no word holds a
 * `'`. Every word here is checked against EXEC_WORD, which has no blank,
 * quote, backslash, `$`, `#`, `!` or brace, so: the double-quoted word
 * survives read_line unchanged (no comment, parameter or block split), both
 * splits yield exactly these words, and even the system(3) fallback passes
 * exactly these words to the program.
 */
export function miscPath(words: readonly string[]): string {
  for (const w of words) if (execWordProblem(w)) throw new Error(`bug: exec word ${JSON.stringify(w)} reached keepalived.conf unvalidated`);
  if (!words[0]?.startsWith('/')) throw new Error(`bug: exec path ${JSON.stringify(words[0])} is not absolute`);
  return `"${words.join(' ')}"`;
}

/** A duration in milliseconds as a keepalived TIMER: seconds, fractions allowed (`0.5`, `2`). */
export function timer(ms: number): string {
  return String(Math.round(ms) / 1000);
}
