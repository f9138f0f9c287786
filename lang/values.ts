/**
 * The values of the language: what a word means where the grammar expects a
 * name, a number, a duration, an address, an address/prefix or an ssh target
 * (`user@host:port`), and the precise message on its exact span when it means
 * nothing there: `10.1.0.300` is not an IPv4 or IPv6 address, `weight 70000`
 * is out of range, `300` needs a unit. The grammar hands every value over as
 * one `Word` (tokens.ts); to-ast.ts calls these where each role stands.
 *
 * A value that does not read is reported and comes back undefined (names
 * come back as written: the compiler reports them again only by reference).
 */
import { canonicalAddress, maxPrefix, parseCidr, readCidr } from './address.js';
import type * as A from './ast.js';
import type { Code } from './codes.js';
import { diag, type Accept, type DiagnosticInit } from './diagnostics.js';
import { hasLineBreak, type SourceFile, type Span } from './source.js';
import { TERMINATED_STRING } from './tokens.js';

/** A word as the lexer read it: its text and where it starts (a Chevrotain IToken is one). */
export interface Word {
  readonly image: string;
  readonly startOffset: number;
}

/** Names of hosts, services and segments. */
const NAME = /^[a-z][a-z0-9_-]*$/;
/** A user name as ssh and Linux accept it. */
const USER = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;
/** A DNS name or ~/.ssh/config alias (an alias may be any lvsc host name, so `_` and a final `-` too). */
const HOSTNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const DIGITS = /^[0-9]+$/;

/** ipvsadm's MAX_TIMEOUT: 31 days, for `-p` and `--set`. */
const MAX_TIMEOUT = 86400 * 31;

export interface NumberKind {
  readonly min: number;
  readonly max: number;
  /** `a port`, `a weight`: for "... is out of range for a weight". */
  readonly noun: string;
  /** The rule, said once, for the detail. */
  readonly rule: string;
}

export const NUMBERS = {
  port: { min: 1, max: 65535, noun: 'a port', rule: 'A port is a number from 1 to 65535.' },
  /** A VIP's port: 0 is IPVS's every-port service (`ipvsadm -A -t VIP:0 -p`), which validation ties to persistence. */
  vipPort: {
    min: 0,
    max: 65535,
    noun: 'a port',
    rule: 'A service port is a number from 1 to 65535, or 0 for every port (with `persistence`, as `ipvsadm -p` requires).',
  },
  weight: {
    min: 0,
    max: 65535,
    noun: 'a weight',
    rule: 'A weight is a number from 0 to 65535 (ipvsadm -w); 0 sends no new connections (`drain` says so by name).',
  },
  threshold: {
    min: 0,
    max: 2 ** 31 - 1,
    noun: 'a connection threshold',
    rule: 'Connection thresholds (ipvsadm -x/-y) are numbers from 0 to 2147483647; 0 means no limit.',
  },
  syncId: { min: 0, max: 255, noun: 'a sync id', rule: 'A sync id (ipvsadm --syncid) is a number from 0 to 255.' },
  fwmark: {
    min: 1,
    max: 2 ** 32 - 1,
    noun: 'a firewall mark',
    rule: 'A firewall mark is a number from 1 to 4294967295 (0 means "no mark" to the kernel).',
  },
  retries: { min: 0, max: 255, noun: 'a retry count', rule: 'A check retries a failure 0 to 255 times before the server counts as down.' },
  // Validation says which ids VRRP takes (1..255); here only that it is a number.
  vrrpId: { min: 0, max: 2 ** 32 - 1, noun: 'a VRRP router id', rule: 'A VRRP router id is a number from 1 to 255.' },
  // Validation says which statuses exist (100..599); here only that they are three digits or so.
  status: { min: 0, max: 9999, noun: 'an HTTP status', rule: 'An HTTP status is a number from 100 to 599, or a range such as 200-299.' },
} as const satisfies Record<string, NumberKind>;

export const DURATIONS = {
  persistence: {
    min: 1,
    max: MAX_TIMEOUT,
    noun: 'a persistence timeout',
    rule: 'ipvsadm accepts a persistence timeout from 1s to 31 days (744h).',
  },
  timeout: {
    min: 1,
    max: MAX_TIMEOUT,
    noun: 'a connection timeout',
    rule: 'ipvsadm --set accepts 1s to 31 days (744h); 0 would leave the kernel value unchanged, so leave the line out instead.',
  },
} as const satisfies Record<string, NumberKind>;

/** Durations finer than IPVS's seconds (health checks, VRRP), in milliseconds. */
export const DURATIONS_MS = {
  checkEvery: { min: 100, max: 3_600_000, noun: 'a check period', rule: 'A check runs every 100ms to 1h.' },
  checkTimeout: { min: 10, max: 3_600_000, noun: 'a check timeout', rule: 'A check may take 10ms to 1h.' },
  advert: { min: 10, max: 255_000, noun: 'an advert interval', rule: 'VRRP adverts go out every 10ms to 255s.' },
  failback: { min: 0, max: 1_000_000, noun: 'a failback delay', rule: 'keepalived delays a failback by 0s to 1000s (`preempt_delay`).' },
} as const satisfies Record<string, NumberKind>;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Well-known service names people write instead of port numbers. */
const SERVICE_PORTS: Record<string, number> = {
  ftp: 21, ssh: 22, smtp: 25, dns: 53, domain: 53, http: 80, pop3: 110, imap: 143, https: 443, smtps: 465,
  submission: 587, imaps: 993, pop3s: 995, mysql: 3306, postgres: 5432, postgresql: 5432, redis: 6379, sip: 5060,
};

/** Reads values out of the words of one file, reporting each bad one to `accept`. */
export class Values {
  constructor(
    readonly source: SourceFile,
    readonly accept: Accept,
  ) {}

  // ----------------------------------------------------------- positions

  span(t: Word): Span {
    return { file: this.source.path, start: t.startOffset, end: t.startOffset + t.image.length };
  }

  /** The span of `t.image.slice(from, to)`. */
  sub(t: Word, from: number, to: number): Span {
    return { file: this.source.path, start: t.startOffset + from, end: t.startOffset + to };
  }

  lit<T>(value: T, t: Word): A.Lit<T> {
    return { value, text: t.image, span: this.span(t) };
  }

  report(code: Code, init: DiagnosticInit): void {
    this.accept(diag(code, init));
  }

  /** When a value that should follow `after` stands on a later line, it was probably meant as the next statement. */
  nextLineNote(t: Word, after: Word | undefined, role: string): string {
    if (!after) return '';
    return hasLineBreak(this.source.text, after.startOffset + after.image.length, t.startOffset)
      ? ` (\`${t.image}\`, on the next line, was read as ${role}: is the value missing?)`
      : '';
  }

  /** A host, service or segment name: `[a-z][a-z0-9_-]*`. Kept as written even when bad (reported). */
  name(t: Word, what: 'host' | 'service' | 'segment'): A.Name {
    const text = t.image;
    if (!NAME.test(text)) {
      const lower = text.toLowerCase();
      let hint = '';
      if (canonicalAddress(text.replace(/^\[|\]$/g, '')) || parseCidr(text)) {
        hint =
          what === 'host'
            ? ` A ${what} is referred to by the name of its \`host NAME { ... }\` block; its addresses go in that block's \`interface\` lines.`
            : '';
      } else if (NAME.test(lower)) hint = ` Did you mean \`${lower}\`?`;
      this.report('bad-name', {
        summary: `\`${text}\` is not a valid ${what} name`,
        detail: `Names start with a lowercase letter, followed by lowercase letters, digits, \`_\` or \`-\`.${hint}`,
        subject: this.span(t),
      });
    }
    return this.lit(text, t);
  }

  /** A Linux network device name: 1 to 15 characters, no `/`, `:`, `%` or whitespace, not `.`, `..`, `all` or `default`. */
  device(t: Word): A.Name {
    const text = t.image;
    let problem: string | undefined;
    if (text.length > 15) problem = `it is ${text.length} characters long; Linux allows at most 15`;
    else if (text === '.' || text === '..') problem = 'Linux does not allow `.` or `..` as a device name';
    else if (text.includes(':'))
      problem = `\`:\` is not allowed (an alias such as \`eth0:1\` is an ifconfig label: give the address its own \`interface ${text.split(':')[0]} ADDR/PREFIX\` line)`;
    else if (text.includes('/')) problem = '`/` is not allowed (is the device name missing before the address?)';
    else if (text.includes('%')) problem = '`%` is not allowed (the kernel reads it as a pattern to number, as in `eth%d`)';
    else if (text === 'all' || text === 'default')
      problem = `\`${text}\` is the kernel's own entry among the per-device settings (\`net.ipv4.conf.${text}\`: ${text === 'all' ? 'every device' : 'the template for new devices'}), so a device of that name could not have settings of its own`;
    if (problem) {
      this.report('bad-name', {
        summary: `\`${text}\` is not a valid interface name`,
        detail: `Interface names follow Linux rules: ${problem}.`,
        subject: this.span(t),
      });
    }
    return this.lit(text, t);
  }

  user(t: Word): A.Name {
    return this.userPart(t, 0, t.image.length);
  }

  private userPart(t: Word, from: number, to: number): A.Name {
    const text = t.image.slice(from, to);
    const span = this.sub(t, from, to);
    if (!USER.test(text) || text.length > 32) {
      this.report('bad-name', {
        summary: text ? `\`${text}\` is not a valid user name` : 'the user name before `@` is empty',
        detail: 'A user name starts with a letter or `_`, followed by letters, digits, `_`, `.` or `-` (at most 32 characters).',
        subject: text ? span : this.sub(t, from, from + 1),
      });
    }
    return { value: text, text, span };
  }

  string(t: Word): A.Lit<string> {
    const image = t.image;
    // A string the lexer already reported (unterminated, typographic quotes) still gets its best value.
    const terminated = TERMINATED_STRING.test(image) || /^[\u201c\u201d\u201e].*[\u201c\u201d]$/.test(image);
    const inner = image.slice(1, terminated ? -1 : undefined);
    return { value: inner.replace(/\\(.)/g, '$1'), text: image, span: this.span(t) };
  }

  number(t: Word, kind: NumberKind, after?: Word): A.Lit<number> | undefined {
    const text = t.image;
    if (!DIGITS.test(text)) {
      let hint = '';
      const known = SERVICE_PORTS[text.toLowerCase()];
      if ((kind === NUMBERS.port || kind === NUMBERS.vipPort) && known !== undefined) hint = ` Write the number: ${text} is ${known}.`;
      else if (/^0x[0-9a-f]+$/i.test(text)) hint = ` Write it in decimal: ${text} is ${parseInt(text, 16)}.`;
      else if (/^-[0-9]+$/.test(text)) hint = ' Negative numbers have no meaning here.';
      this.report('bad-number', {
        summary: `\`${text}\` is not a number`,
        detail: `Expected ${kind.noun} here. ${kind.rule}${hint}${this.nextLineNote(t, after, kind.noun)}`,
        subject: this.span(t),
      });
      return undefined;
    }
    const value = Number(text);
    if (value < kind.min || value > kind.max) {
      this.report('bad-number', {
        summary: `\`${text}\` is out of range for ${kind.noun}`,
        detail: kind.rule,
        subject: this.span(t),
      });
      return undefined;
    }
    return this.lit(value, t);
  }

  /** `300s`, `15m`, `1h30m`, `1500ms` → whole seconds. */
  duration(t: Word, kind: NumberKind, after?: Word): A.Lit<number> | undefined {
    const ms = this.milliseconds(t, kind, kind.max, after);
    if (ms === undefined) return undefined;
    const text = t.image;
    if (ms % 1000 !== 0) {
      const lo = Math.floor(ms / 1000);
      const hi = lo + 1;
      return this.badDuration(
        t,
        `\`${text}\` is not a whole number of seconds`,
        `IPVS counts ${kind.noun.replace(/^an? /, '')}s in seconds: write ${lo > 0 ? `\`${lo}s\` or ` : ''}\`${hi}s\`.`,
      );
    }
    const seconds = ms / 1000;
    if (seconds < kind.min || seconds > kind.max) {
      return this.badDuration(t, `\`${text}\` is out of range for ${kind.noun}`, kind.rule);
    }
    return this.lit(seconds, t);
  }

  /** `2s`, `500ms`, `1m30s` → milliseconds, for the timers finer than IPVS's (`kind` in milliseconds: DURATIONS_MS). */
  durationMs(t: Word, kind: NumberKind, after?: Word): A.Lit<number> | undefined {
    const ms = this.milliseconds(t, kind, kind.max / 1000, after);
    if (ms === undefined) return undefined;
    if (ms < kind.min || ms > kind.max) return this.badDuration(t, `\`${t.image}\` is out of range for ${kind.noun}`, kind.rule);
    return this.lit(ms, t);
  }

  /** A duration's milliseconds, or undefined (reported) when the word is not a duration (`maxSeconds` for the hint on days). */
  private milliseconds(t: Word, kind: NumberKind, maxSeconds: number, after?: Word): number | undefined {
    const text = t.image;
    if (DIGITS.test(text)) {
      return this.badDuration(t, `\`${text}\` has no unit`, `Durations take a unit (ms, s, m, h): write \`${text}s\`.`);
    }
    const part = /([0-9]+)(ms|s|m|h)/y;
    let ms = 0;
    let pos = 0;
    while (pos < text.length) {
      part.lastIndex = pos;
      const m = part.exec(text);
      if (!m) {
        const hours = /^[0-9]+d$/.test(text) ? Number(text.slice(0, -1)) * 24 : undefined;
        const dayHint =
          hours === undefined
            ? ''
            : hours * 3600 <= maxSeconds
              ? ` For days, write hours: \`${hours}h\`.`
              : ` For days, write hours (at most \`${maxSeconds / 3600}h\` here).`;
        return this.badDuration(
          t,
          `\`${text}\` is not a duration`,
          `A duration is a number with a unit ms, s, m or h, e.g. \`300s\`, \`15m\`, \`1h30m\`.${dayHint}${this.nextLineNote(t, after, kind.noun)}`,
        );
      }
      ms += Number(m[1]) * UNIT_MS[m[2]];
      pos = part.lastIndex;
    }
    return ms;
  }

  /** An HTTP status `C` or a range `C-C` (inclusive; validation checks which statuses exist). */
  statusRange(t: Word, after?: Word): A.Lit<{ min: number; max: number }> | undefined {
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(t.image);
    const min = m && Number(m[1]);
    const max = m && (m[2] === undefined ? min : Number(m[2]));
    if (!m || min === null || max === null || min > NUMBERS.status.max || max > NUMBERS.status.max) {
      this.report('bad-number', {
        summary: `\`${t.image}\` is not an HTTP status`,
        detail: `${NUMBERS.status.rule}${this.nextLineNote(t, after, NUMBERS.status.noun)}`,
        subject: this.span(t),
      });
      return undefined;
    }
    return this.lit({ min, max }, t);
  }

  private badDuration(t: Word, summary: string, detail: string): undefined {
    this.report('bad-duration', { summary, detail, subject: this.span(t) });
    return undefined;
  }

  /** An IPv4 or IPv6 address, canonicalised; `[v6]` brackets allowed. */
  address(t: Word, role: 'gateway' | 'via' | 'vip' | 'match' | 'server', after?: Word): A.Lit<string> | undefined {
    const text = t.image;
    const inner = text.length > 2 && text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
    const canonical = canonicalAddress(inner);
    if (canonical) return this.lit(canonical, t);
    this.report('bad-address', {
      summary: `\`${text}\` is not an IPv4 or IPv6 address`,
      detail: addressHint(text, role) + this.nextLineNote(t, after, 'the address'),
      subject: this.span(t),
    });
    return undefined;
  }

  /** `ADDR/PREFIX` with the host bits kept (an interface address); errors point at the bad part. */
  cidr(t: Word, after?: Word, role: 'interface' | 'route' = 'interface'): A.Lit<A.CidrValue> | undefined {
    const text = t.image;
    const r = readCidr(text);
    if (r.ok) return this.lit(r.cidr, t);
    if (r.problem === 'no-prefix') {
      const isAddr = canonicalAddress(text);
      this.report('bad-cidr', {
        summary: isAddr ? `\`${text}\` has no prefix length` : `\`${text}\` is not an address/prefix`,
        detail:
          (role === 'interface'
            ? `An interface address carries its prefix length, which defines the interface's subnet: e.g. \`${isAddr ?? '10.1.0.2'}/24\`.`
            : `A route's destination is a network with its prefix length, e.g. \`198.51.100.0/24\`, or \`default\`.`) +
          this.nextLineNote(t, after, 'the address'),
        subject: this.span(t),
      });
    } else if (r.problem === 'address' && /^\[.*\]$/.test(text.slice(0, r.slash)) && canonicalAddress(text.slice(1, r.slash - 1))) {
      const inner = text.slice(1, r.slash - 1);
      this.report('bad-cidr', {
        summary: `an address/prefix takes no brackets: \`${inner}${text.slice(r.slash)}\``,
        detail: `Brackets set an IPv6 address apart from a port that follows it (\`[2001:db8::1]:22\`); an address/prefix has no port, so write \`${inner}${text.slice(r.slash)}\`.`,
        subject: this.sub(t, 0, r.slash),
      });
    } else if (r.problem === 'address') {
      const addrText = text.slice(0, r.slash);
      this.report('bad-cidr', {
        summary: `\`${addrText}\` is not an IPv4 or IPv6 address`,
        detail: addressHint(addrText, 'interface'),
        subject: this.sub(t, 0, r.slash),
      });
    } else {
      this.report('bad-cidr', {
        summary: `\`/${text.slice(r.slash + 1)}\` is not a valid IPv${r.family} prefix length`,
        detail: `An IPv${r.family} prefix length is a number from 0 to ${maxPrefix(r.family)}.`,
        subject: this.sub(t, r.slash, text.length),
      });
    }
    return undefined;
  }

  /** `[user@]addr[:port]`, `[user@][v6][:port]`, a bare IPv6 address, or an ssh-config alias / DNS name. */
  sshTarget(t: Word): A.SshTarget | undefined {
    const text = t.image;
    const target: A.Mutable<A.SshTarget> = { host: undefined as never, isAddress: false, span: this.span(t) };
    let rest = 0;
    const at = text.indexOf('@');
    if (at >= 0) {
      target.user = this.userPart(t, 0, at);
      rest = at + 1;
    }
    let hostFrom = rest;
    let hostTo = text.length;
    let portFrom = -1;
    if (text[rest] === '[') {
      const close = text.indexOf(']', rest);
      if (close < 0) {
        this.report('bad-address', {
          summary: `\`${text.slice(rest)}\` has no closing \`]\``,
          detail: 'An IPv6 address with a port is written `[2001:db8::1]:22`.',
          subject: this.sub(t, rest, text.length),
        });
        return undefined;
      }
      hostFrom = rest + 1;
      hostTo = close;
      if (close + 1 < text.length) {
        if (text[close + 1] !== ':') {
          this.report('bad-address', {
            summary: `unexpected \`${text.slice(close + 1)}\` after \`]\``,
            detail: 'Only a port may follow the bracketed address: `[2001:db8::1]:22`.',
            subject: this.sub(t, close + 1, text.length),
          });
          return undefined;
        }
        portFrom = close + 2;
      }
    } else {
      const first = text.indexOf(':', rest);
      if (first >= 0 && text.indexOf(':', first + 1) < 0) {
        hostTo = first;
        portFrom = first + 1;
      }
    }
    const hostText = text.slice(hostFrom, hostTo);
    const hostSpan = this.sub(t, hostFrom, hostTo);
    const address = canonicalAddress(hostText);
    if (address) {
      target.host = { value: address, text: hostText, span: hostSpan };
      target.isAddress = true;
    } else if (/^[0-9.]+$/.test(hostText) || hostText.includes(':') || hostFrom > rest) {
      this.report('bad-address', {
        summary: `\`${hostText}\` is not an IPv4 or IPv6 address`,
        detail: addressHint(hostText, 'ssh'),
        subject: hostSpan,
      });
      return undefined;
    } else if (HOSTNAME.test(hostText)) {
      target.host = { value: hostText, text: hostText, span: hostSpan };
    } else {
      this.report('bad-address', {
        summary: hostText ? `\`${hostText}\` is neither an address nor a host name` : 'the ssh target has no host',
        detail:
          'After `ssh` comes `[user@]address[:port]` (`[2001:db8::1]:22` for IPv6 with a port), a DNS name, or an alias from ~/.ssh/config.',
        subject: hostText ? hostSpan : this.span(t),
      });
      return undefined;
    }
    if (portFrom >= 0) {
      const portText = text.slice(portFrom);
      const portSpan = this.sub(t, portFrom, text.length);
      const value = Number(portText);
      if (!DIGITS.test(portText) || value < 1 || value > 65535) {
        this.report('bad-number', {
          summary: portText ? `\`${portText}\` is not a port number` : 'the port after `:` is missing',
          detail: NUMBERS.port.rule,
          subject: portText ? portSpan : this.sub(t, portFrom - 1, portFrom),
        });
        return undefined;
      }
      target.port = { value, text: portText, span: portSpan };
    }
    return target;
  }
}

function addressHint(text: string, role: 'gateway' | 'via' | 'vip' | 'match' | 'server' | 'interface' | 'ssh'): string {
  if (text.includes('%')) return 'Zone indices (`%eth0`) have no place in a cluster file: write the address alone.';
  if (role !== 'interface' && text.includes('/')) {
    return `\`${role}\` takes a plain address: remove \`${text.slice(text.indexOf('/'))}\` (prefix lengths belong on \`interface\` lines).`;
  }
  if (/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$/.test(text) || /^\[.*\]:[0-9]+$/.test(text)) {
    return role === 'vip'
      ? 'The port goes after the protocol: `vip 10.1.0.100 tcp 80`.'
      : role === 'server'
        ? 'Write the address alone; the server\'s port is its own option: `server web1 address 10.1.0.11 port 8080`.'
        : 'Write the address alone, without a port.';
  }
  const parts = text.split('.');
  if (parts.length === 4 && parts.every((p) => /^[0-9]+$/.test(p))) {
    if (parts.some((p) => Number(p) > 255)) return 'Each of the four parts of an IPv4 address is a number from 0 to 255.';
    if (parts.some((p) => p.length > 1 && p.startsWith('0'))) return 'Leading zeros are not allowed (some tools read them as octal): write each part plainly.';
  }
  if (/^[0-9.]+$/.test(text)) return 'An IPv4 address has four parts, each from 0 to 255: `10.1.0.100`.';
  if (role === 'ssh') return 'An IPv6 address with a port is written `[2001:db8::1]:22`; without a port, brackets are optional.';
  return 'An address is IPv4 (`10.1.0.100`) or IPv6 (`2001:db8::1`; in brackets where a port follows).';
}
