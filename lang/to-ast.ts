/**
 * CST → AST. The grammar hands over words; here each word gets its meaning
 * (address, CIDR, number, duration, name) and a bad one gets a precise message
 * on its exact span: `10.1.0.300` is not an IPv4 or IPv6 address, `weight 70000`
 * is out of range, `300` needs a unit. Settings given twice within one
 * statement are reported here too; everything that needs more than one
 * statement to judge is the compiler's.
 *
 * On a CST with syntax errors this builds what it can: tokens the parser
 * invented while recovering (NaN offsets) count as missing, and a statement
 * missing a required part is left out (the parser has already said why).
 */
import type { CstElement, CstNode, IToken } from 'chevrotain';
import { canonicalAddress, parseCidr } from './address.js';
import type * as A from './ast.js';
import { diag, type Accept, type DiagnosticInit } from './diagnostics.js';
import type { Code } from './codes.js';
import type { SourceFile, Span } from './source.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Children = Record<string, CstElement[] | undefined>;

/** Names of hosts, services and segments. */
const NAME = /^[a-z][a-z0-9_-]*$/;
/** A user name as ssh and Linux accept it. */
const USER = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;
/** A DNS name or ~/.ssh/config alias (an alias may be any lvsc host name, so `_` and a final `-` too). */
const HOSTNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const DIGITS = /^[0-9]+$/;

/** ipvsadm's MAX_TIMEOUT: 31 days, for `-p` and `--set`. */
const MAX_TIMEOUT = 86400 * 31;

interface NumberKind {
  readonly min: number;
  readonly max: number;
  /** `a port`, `a weight`: for "... is out of range for a weight". */
  readonly noun: string;
  /** The rule, said once, for the detail. */
  readonly rule: string;
}

const NUMBERS = {
  port: { min: 1, max: 65535, noun: 'a port', rule: 'A port is a number from 1 to 65535.' },
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
} as const satisfies Record<string, NumberKind>;

const DURATIONS = {
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

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Well-known service names people write instead of port numbers. */
const SERVICE_PORTS: Record<string, number> = {
  ftp: 21, ssh: 22, smtp: 25, dns: 53, domain: 53, http: 80, pop3: 110, imap: 143, https: 443, smtps: 465,
  submission: 587, imaps: 993, pop3s: 995, mysql: 3306, postgres: 5432, postgresql: 5432, redis: 6379, sip: 5060,
};

const CSUM_WORDS = new Set(['csum', 'nocsum', 'remcsum']);

/** The CST children of a server statement that can hold its last token. */
const SERVER_LAST_KEYS = ['host', 'port', 'weight', 'upper', 'lower', 'drain', 'forward'];

/** The CST rules that make up each block's body. */
const ITEM_RULES = ['defaults', 'host', 'director', 'timeouts', 'service'];
const HOST_RULES = ['ssh', 'interface', 'gateway', 'route'];
const TIMEOUT_RULES = ['timeout'];
const SERVICE_RULES = ['vip', 'fwmark', 'scheduler', 'persistence', 'ops', 'forward', 'server'];
const FWMARK_RULES = ['match'];

export function toAst(cst: CstNode, source: SourceFile, comments: readonly IToken[], accept: Accept): A.AstFile {
  const b = new Builder(source, accept);
  return {
    path: source.path,
    items: b.items(cst),
    comments: comments.map((c) => ({ text: c.image, span: b.span(c) })),
  };
}

function isToken(e: CstElement): e is IToken {
  return (e as IToken).image !== undefined;
}

/** A token the parser really read (not one it invented to recover). */
function real(e: CstElement | undefined): IToken | undefined {
  if (!e || !isToken(e) || e.isInsertedInRecovery || Number.isNaN(e.startOffset)) return undefined;
  return e;
}

function tok(c: Children, key: string, i = 0): IToken | undefined {
  return real(c[key]?.[i]);
}

function toks(c: Children, key: string): IToken[] {
  const out: IToken[] = [];
  for (const e of c[key] ?? []) {
    const t = real(e);
    if (t) out.push(t);
  }
  return out;
}

/**
 * Widen `range` to the real tokens under `node`. Each child array is in
 * source order, so only its first and last real elements can move the edges
 * (this runs for every statement: no closure, no full walk).
 */
function extendRange(node: CstNode, range: { start: number; end: number }): void {
  const c = node.children;
  const keys = Object.keys(c);
  for (let k = 0; k < keys.length; k++) {
    const list = c[keys[k]];
    const n = list.length;
    for (let i = 0; i < n; i++) if (extendBy(list[i], range)) break;
    for (let i = n - 1; i >= 0; i--) if (extendBy(list[i], range)) break;
  }
}

/** Widen `range` by one element; false for a token invented in recovery (look at the next one). */
function extendBy(e: CstElement, range: { start: number; end: number }): boolean {
  if ('children' in e) {
    extendRange(e, range);
    return true;
  }
  if (e.isInsertedInRecovery || Number.isNaN(e.startOffset)) return false;
  if (e.startOffset < range.start) range.start = e.startOffset;
  const stop = e.startOffset + e.image.length;
  if (stop > range.end) range.end = stop;
  return true;
}

function nodes(c: Children, key: string): CstNode[] {
  return (c[key] ?? []) as CstNode[];
}

class Builder {
  constructor(
    readonly source: SourceFile,
    readonly accept: Accept,
  ) {}

  // ----------------------------------------------------------- positions

  span(t: IToken): Span {
    return { file: this.source.path, start: t.startOffset, end: t.startOffset + t.image.length };
  }

  sub(t: IToken, from: number, to: number): Span {
    return { file: this.source.path, start: t.startOffset + from, end: t.startOffset + to };
  }

  cover(a: IToken, b: IToken): Span {
    return { file: this.source.path, start: a.startOffset, end: b.startOffset + b.image.length };
  }

  /** The span from the first to the last real token under a node, or undefined if it has none. */
  extent(node: CstNode): Span | undefined {
    const range = { start: Infinity, end: -Infinity };
    extendRange(node, range);
    return range.start === Infinity ? undefined : { file: this.source.path, start: range.start, end: range.end };
  }

  lit<T>(value: T, t: IToken): A.Lit<T> {
    return { value, text: t.image, span: this.span(t) };
  }

  report(code: Code, init: DiagnosticInit): void {
    this.accept(diag(code, init));
  }

  /** When a value that should follow `after` stands on a later line, it was probably meant as the next statement. */
  nextLineNote(t: IToken, after: IToken | undefined, role: string): string {
    if (!after) return '';
    const between = this.source.text.slice(after.startOffset + after.image.length, t.startOffset);
    return between.includes('\n') ? ` (\`${t.image}\`, on the next line, was read as ${role}: is the value missing?)` : '';
  }

  // ----------------------------------------------------------- items and blocks

  /** The statements of a block in source order (the CST groups children by kind, so they are merged back). */
  ordered<T extends { readonly span: Span }>(c: Children, kinds: readonly string[]): T[] {
    const out: T[] = [];
    let sorted = true;
    for (const kind of kinds) {
      const list = c[kind];
      if (!list) continue;
      for (const n of list as CstNode[]) {
        const stmt = this.statement(n) as T | undefined;
        if (!stmt) continue;
        if (out.length && out[out.length - 1].span.start > stmt.span.start) sorted = false;
        out.push(stmt);
      }
    }
    if (!sorted) out.sort((x, y) => x.span.start - y.span.start);
    return out;
  }

  /** One item or statement, by the rule that parsed it. */
  statement(n: CstNode): A.Item | A.HostStmt | A.ServiceStmt | A.TimeoutStmt | A.MatchStmt | undefined {
    switch (n.name) {
      case 'defaults':
        return this.defaults(n);
      case 'host':
        return this.host(n);
      case 'director':
        return this.director(n);
      case 'timeouts':
        return this.timeouts(n);
      case 'service':
        return this.service(n);
      case 'ssh':
        return this.ssh(n, false);
      case 'sudo': {
        const sp = this.extent(n);
        return sp && { kind: 'ssh', span: sp, sudo: sp, bare: true };
      }
      case 'interface':
        return this.interface(n);
      case 'gateway':
        return this.gateway(n);
      case 'route':
        return this.route(n);
      case 'timeout':
        return this.timeout(n);
      case 'vip':
        return this.vip(n);
      case 'fwmark':
        return this.fwmark(n);
      case 'match':
        return this.match(n);
      case 'scheduler':
        return this.scheduler(n);
      case 'persistence':
        return this.persistence(n);
      case 'ops': {
        const sp = this.extent(n);
        return sp && { kind: 'ops', span: sp };
      }
      case 'forward':
        return this.forward(n);
      case 'server':
        return this.server(n);
      default:
        throw new Error(`to-ast: no conversion for CST rule ${n.name}`);
    }
  }

  items(cst: CstNode): A.Item[] {
    return this.ordered<A.Item>(cst.children, ITEM_RULES);
  }

  defaults(n: CstNode): A.DefaultsNode | undefined {
    const span = this.extent(n);
    if (!span) return undefined;
    // ssh statements in defaults have no target (reported); convert them with that in mind.
    const body: A.SshStmt[] = [];
    for (const s of nodes(n.children, 'ssh')) {
      const stmt = this.ssh(s, true);
      if (stmt) body.push(...this.splitBareSudo(s, stmt));
    }
    for (const s of nodes(n.children, 'sudo')) {
      const stmt = this.statement(s) as A.SshStmt | undefined;
      if (stmt) body.push(stmt);
    }
    body.sort((x, y) => x.span.start - y.span.start);
    return { kind: 'defaults', span, body };
  }

  /**
   * In defaults, `sudo` starting a line after `ssh ...` is the bare `sudo`
   * statement, not the last option of that ssh line (the grammar alone would
   * read `ssh key "K"` newline `sudo` as one statement).
   */
  splitBareSudo(n: CstNode, stmt: A.SshStmt): A.SshStmt[] {
    const sudoTok = tok(n.children, 'sudo');
    if (!stmt.sudo || !sudoTok) return [stmt];
    let before = -1;
    for (const key in n.children) {
      if (key === 'sudo') continue;
      for (const e of n.children[key]) {
        const t = real(e);
        if (t && t.startOffset < sudoTok.startOffset) before = Math.max(before, t.startOffset + t.image.length);
        else if (t) return [stmt]; // something follows sudo: it is an option
      }
    }
    if (before < 0 || !this.source.text.slice(before, sudoTok.startOffset).includes('\n')) return [stmt];
    const { sudo: _, ...rest } = stmt;
    const sudo = this.span(sudoTok);
    return [
      { ...rest, span: { ...stmt.span, end: before } },
      { kind: 'ssh', span: sudo, sudo, bare: true },
    ];
  }

  host(n: CstNode): A.HostNode | undefined {
    const c = n.children;
    const span = this.extent(n);
    const nameTok = tok(c, 'name');
    if (!span || !nameTok) return undefined;
    const body = this.ordered<A.HostStmt>(c, HOST_RULES);
    return { kind: 'host', span, name: this.name(nameTok, 'host'), body };
  }

  director(n: CstNode): A.DirectorNode | undefined {
    const c = n.children;
    const span = this.extent(n);
    const hostToks = toks(c, 'host');
    if (!span || hostToks.length === 0) return undefined;
    if (hostToks.length > 2) {
      this.report('syntax', {
        summary: `a director statement names at most two hosts, not ${hostToks.length}`,
        detail:
          'Write `director A` for one director, or `director A B` for an active/backup pair (A holds the VIPs, B is the warm standby).',
        subject: this.cover(hostToks[2], hostToks[hostToks.length - 1]),
        context: span,
      });
    }
    const node: Mutable<A.DirectorNode> = {
      kind: 'director',
      span,
      hosts: hostToks.slice(0, 2).map((t) => this.name(t, 'host')),
    };
    const syncTok = tok(c, 'Sync');
    const ifaceTok = tok(c, 'iface');
    if (syncTok && ifaceTok) {
      const last = tok(c, 'id') ?? ifaceTok;
      const sync: Mutable<NonNullable<A.DirectorNode['sync']>> = { span: this.cover(syncTok, last), iface: this.device(ifaceTok) };
      const idTok = tok(c, 'id');
      if (idTok) {
        const id = this.number(idTok, NUMBERS.syncId, tok(c, 'Id'));
        if (id) sync.id = id;
      }
      node.sync = sync;
    }
    return node;
  }

  timeouts(n: CstNode): A.TimeoutsNode | undefined {
    const span = this.extent(n);
    if (!span) return undefined;
    const body = this.ordered<A.TimeoutStmt>(n.children, TIMEOUT_RULES);
    return { kind: 'timeouts', span, body };
  }

  timeout(n: CstNode): A.TimeoutStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    const whichTok = tok(c, 'which');
    const durTok = tok(c, 'duration');
    if (!span || !whichTok || !durTok) return undefined;
    const duration = this.duration(durTok, DURATIONS.timeout, whichTok);
    if (!duration) return undefined;
    return { kind: 'timeout', span, which: this.lit(whichTok.image as 'tcp' | 'tcpfin' | 'udp', whichTok), duration };
  }

  service(n: CstNode): A.ServiceNode | undefined {
    const c = n.children;
    const span = this.extent(n);
    const nameTok = tok(c, 'name');
    if (!span || !nameTok) return undefined;
    const body = this.ordered<A.ServiceStmt>(c, SERVICE_RULES);
    return { kind: 'service', span, name: this.name(nameTok, 'service'), body };
  }

  // ----------------------------------------------------------- statements

  ssh(n: CstNode, inDefaults: boolean): A.SshStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    if (!span) return undefined;
    const stmt: Mutable<A.SshStmt> = { kind: 'ssh', span };
    const targetTok = tok(c, 'target');
    if (targetTok) {
      if (inDefaults) {
        this.report('misplaced-setting', {
          summary: 'defaults cannot give an ssh address',
          detail: `Defaults hold what every host shares (user, key, port, via, sudo); give \`${targetTok.image}\` in the host's own \`ssh\` line: \`host NAME { ssh ${targetTok.image} }\`.`,
          subject: this.span(targetTok),
        });
      } else {
        const target = this.sshTarget(targetTok);
        if (target) stmt.target = target;
      }
    }
    const userTok = this.once(c, 'User', 'user', 'ssh user', stmt.target?.user?.span);
    if (userTok) stmt.user = this.user(userTok);
    const keyTok = this.once(c, 'Key', 'key', 'ssh key');
    if (keyTok) stmt.key = this.string(keyTok);
    const portTok = this.once(c, 'Port', 'port', 'ssh port', stmt.target?.port?.span);
    if (portTok) {
      const port = this.number(portTok, NUMBERS.port, tok(c, 'Port'));
      if (port) stmt.port = port;
    }
    const viaTok = this.once(c, 'Via', 'via', 'ssh via');
    if (viaTok) stmt.via = this.name(viaTok, 'host');
    const sudoTok = this.once(c, 'sudo', 'sudo', 'sudo');
    if (sudoTok) stmt.sudo = this.span(sudoTok);
    return stmt;
  }

  interface(n: CstNode): A.InterfaceStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    const devTok = tok(c, 'dev');
    const cidrTok = tok(c, 'cidr');
    if (!span || !devTok || !cidrTok) return undefined;
    const dev = this.device(devTok);
    const cidr = this.cidr(cidrTok, devTok);
    if (!cidr) return undefined;
    const stmt: Mutable<A.InterfaceStmt> = { kind: 'interface', span, dev, cidr };
    const segTok = tok(c, 'segment');
    if (segTok) stmt.segment = this.name(segTok, 'segment');
    return stmt;
  }

  gateway(n: CstNode): A.GatewayStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    const addrTok = tok(c, 'address');
    if (!span || !addrTok) return undefined;
    const address = this.address(addrTok, 'gateway', tok(c, 'Gateway'));
    return address && { kind: 'gateway', span, address };
  }

  route(n: CstNode): A.RouteStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    const dstTok = tok(c, 'dst');
    const viaTok = tok(c, 'via');
    if (!span || !dstTok || !viaTok) return undefined;
    const dst: A.Lit<A.CidrValue | 'default'> | undefined =
      dstTok.image === 'default' ? this.lit('default' as const, dstTok) : this.cidr(dstTok, tok(c, 'Route'), 'route');
    const via = this.address(viaTok, 'via', tok(c, 'Via'));
    if (!dst || !via) return undefined;
    return { kind: 'route', span, dst, via };
  }

  vip(n: CstNode): A.VipStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    const addrTok = tok(c, 'address');
    const protoTok = tok(c, 'proto');
    const portTok = tok(c, 'port');
    if (!span || !addrTok || !protoTok || !portTok) return undefined;
    const address = this.address(addrTok, 'vip', tok(c, 'Vip'));
    const port = this.number(portTok, NUMBERS.port, protoTok);
    if (!address || !port) return undefined;
    return { kind: 'vip', span, address, proto: this.lit(protoTok.image as A.Proto, protoTok), port };
  }

  fwmark(n: CstNode): A.FwmarkStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    const markTok = tok(c, 'mark');
    if (!span || !markTok) return undefined;
    const mark = this.number(markTok, NUMBERS.fwmark, tok(c, 'Fwmark'));
    const matches = this.ordered<A.MatchStmt>(c, FWMARK_RULES);
    return mark && { kind: 'fwmark', span, mark, matches };
  }

  match(n: CstNode): A.MatchStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    const protoTok = tok(c, 'proto');
    const addrTok = tok(c, 'address');
    const list = nodes(c, 'ports')[0];
    if (!span || !protoTok || !addrTok || !list) return undefined;
    const address = this.address(addrTok, 'match', protoTok);
    const ports: A.Lit<number>[] = [];
    const seen = new Map<number, IToken>();
    let ok = true;
    for (const t of toks(list.children, 'item')) {
      const port = this.number(t, NUMBERS.port);
      if (!port) {
        ok = false;
        continue;
      }
      const first = seen.get(port.value);
      if (first) {
        this.duplicate(`port ${port.value}`, port.span, this.span(first));
        continue;
      }
      seen.set(port.value, t);
      ports.push(port);
    }
    if (!address || !ok || ports.length === 0) return undefined;
    return { kind: 'match', span, proto: this.lit(protoTok.image as A.Proto, protoTok), address, ports };
  }

  scheduler(n: CstNode): A.SchedulerStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    const nameTok = tok(c, 'name');
    if (!span || !nameTok) return undefined;
    const list = nodes(c, 'flags')[0];
    const flags: A.Name[] = [];
    const seen = new Map<string, IToken>();
    for (const t of list ? toks(list.children, 'item') : []) {
      const first = seen.get(t.image);
      if (first) {
        this.duplicate(`flag ${t.image}`, this.span(t), this.span(first));
        continue;
      }
      seen.set(t.image, t);
      flags.push(this.lit(t.image, t));
    }
    return { kind: 'scheduler', span, name: this.lit(nameTok.image, nameTok), flags };
  }

  persistence(n: CstNode): A.PersistenceStmt | undefined {
    const c = n.children;
    const span = this.extent(n);
    if (!span) return undefined;
    const stmt: Mutable<A.PersistenceStmt> = { kind: 'persistence', span };
    const timeoutTok = this.once(c, 'timeout', 'timeout', 'persistence timeout');
    if (timeoutTok) {
      const timeout = this.duration(timeoutTok, DURATIONS.persistence, tok(c, 'Persistence'));
      if (timeout) stmt.timeout = timeout;
    }
    const maskTok = this.once(c, 'Netmask', 'netmask', 'persistence netmask');
    if (maskTok) stmt.netmask = this.lit(maskTok.image, maskTok);
    const engineTok = this.once(c, 'Engine', 'engine', 'persistence engine');
    if (engineTok) stmt.engine = this.lit(engineTok.image, engineTok);
    return stmt;
  }

  forward(n: CstNode): A.ForwardStmt | undefined {
    const span = this.extent(n);
    const specNode = nodes(n.children, 'spec')[0];
    const spec = specNode && this.forwardSpec(specNode);
    return span && spec && { kind: 'forward', span, spec };
  }

  /**
   * `METHOD [TUNTYPE] [port N] [CSUM]`: a checksum word goes to `csum`, any
   * other word to `tunType`. The span covers these words (the method on), not
   * the `forward` keyword.
   */
  forwardSpec(n: CstNode): A.ForwardSpec | undefined {
    const c = n.children;
    const span = this.extent(n);
    const methodTok = tok(c, 'method');
    if (!span || !methodTok) return undefined;
    const spec: Mutable<A.ForwardSpec> = { span, method: this.lit(methodTok.image, methodTok) };
    for (const t of toks(c, 'word')) {
      const slot = CSUM_WORDS.has(t.image) ? 'csum' : 'tunType';
      const first = spec[slot];
      if (first) {
        this.report('duplicate-setting', {
          summary: slot === 'csum' ? `a second checksum option \`${t.image}\`` : `a second tunnel type \`${t.image}\``,
          detail:
            slot === 'csum'
              ? 'Give one of csum, nocsum or remcsum.'
              : `\`forward ${methodTok.image}\` takes one tunnel type (ipip, gue or gre) and optionally one checksum option (csum, nocsum, remcsum); \`${first.text}\` is already the tunnel type.`,
          subject: this.span(t),
          notes: [{ message: 'the first one is here', span: first.span }],
        });
        continue;
      }
      spec[slot] = this.lit(t.image, t);
    }
    const portTok = this.once(c, 'Port', 'port', 'tunnel port');
    if (portTok) {
      const port = this.number(portTok, NUMBERS.port, tok(c, 'Port'));
      if (port) spec.tunPort = port;
    }
    return spec;
  }

  server(n: CstNode): A.ServerStmt | undefined {
    const c = n.children;
    const span = this.serverSpan(c) ?? this.extent(n);
    const hostTok = tok(c, 'host');
    if (!span || !hostTok) return undefined;
    const stmt: Mutable<A.ServerStmt> = { kind: 'server', span, host: this.name(hostTok, 'host') };
    if (c.port) {
      const t = this.once(c, 'Port', 'port', 'port');
      const v = t && this.number(t, NUMBERS.port, tok(c, 'Port'));
      if (v) stmt.port = v;
    }
    if (c.weight) {
      const t = this.once(c, 'Weight', 'weight', 'weight');
      const v = t && this.number(t, NUMBERS.weight, tok(c, 'Weight'));
      if (v) stmt.weight = v;
    }
    if (c.upper) {
      const t = this.once(c, 'Upper', 'upper', 'upper');
      const v = t && this.number(t, NUMBERS.threshold, tok(c, 'Upper'));
      if (v) stmt.upper = v;
    }
    if (c.lower) {
      const t = this.once(c, 'Lower', 'lower', 'lower');
      const v = t && this.number(t, NUMBERS.threshold, tok(c, 'Lower'));
      if (v) stmt.lower = v;
    }
    if (c.drain) {
      const t = this.once(c, 'drain', 'drain', 'drain');
      if (t) stmt.drain = this.span(t);
    }
    if (c.forward) {
      const specs = nodes(c, 'forward');
      const fwdKeywords = c.Forward ?? [];
      const spec = specs[0] && this.forwardSpec(specs[0]);
      for (let i = 1; i < specs.length; i++) {
        const again = this.forwardSpec(specs[i]);
        const keyword = real(fwdKeywords[i]);
        if (again && spec) this.duplicate('forward', keyword ? { ...again.span, start: keyword.startOffset } : again.span, spec.span);
      }
      if (spec) {
        if (spec.tunPort && spec.method.value !== 'tun') {
          this.report('misplaced-setting', {
            summary: `\`port ${spec.tunPort.text}\` after \`forward ${spec.method.text}\` is read as a tunnel port`,
            detail: `A \`port\` after \`forward\` belongs to the forwarding method (the GUE port of \`forward tun gue port N\`). For the real server's own port, put it before \`forward\`: \`server ${hostTok.image} port ${spec.tunPort.text} forward ${spec.method.text}\`.`,
            subject: spec.tunPort.span,
          });
        } else stmt.forward = spec;
      }
    }
    return stmt;
  }

  /**
   * The span of a server statement without walking it: from `server` to the
   * last value of any of its options (a file can hold 100,000 server lines).
   * Undefined when recovery invented its keyword, for the general walk.
   */
  serverSpan(c: Children): Span | undefined {
    const keyword = tok(c, 'Server');
    if (!keyword) return undefined;
    let end = keyword.startOffset + keyword.image.length;
    for (let k = 0; k < SERVER_LAST_KEYS.length; k++) {
      const list = c[SERVER_LAST_KEYS[k]];
      if (!list) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        const e = list[i];
        if ('children' in e) {
          const inner = this.extent(e);
          if (!inner) continue;
          if (inner.end > end) end = inner.end;
        } else {
          if (e.isInsertedInRecovery || Number.isNaN(e.startOffset)) continue;
          const stop = e.startOffset + e.image.length;
          if (stop > end) end = stop;
        }
        break;
      }
    }
    return { file: this.source.path, start: keyword.startOffset, end };
  }

  // ----------------------------------------------------------- settings given once

  /**
   * The first value of an option within one statement; later ones are
   * reported as duplicates. `keywordKey` names the option's keyword tokens so
   * the report covers `weight 3`, not just `3`; `earlier` is a value given
   * another way (`ssh 10.0.0.1:2222 port 22`).
   */
  once(c: Children, keywordKey: string, valueKey: string, label: string, earlier?: Span): IToken | undefined {
    const raw = c[valueKey];
    if (!raw) return undefined;
    if (raw.length === 1 && !earlier) return real(raw[0]);
    const values = toks(c, valueKey);
    if (values.length === 0) return undefined;
    if (values.length === 1 && !earlier) return values[0];
    const keywordToks = toks(c, keywordKey);
    const firstSpan = earlier ?? this.optionSpan(keywordToks[0], values[0]);
    for (let i = earlier ? 0 : 1; i < values.length; i++) this.duplicate(label, this.optionSpan(keywordToks[i], values[i]), firstSpan);
    return earlier ? undefined : values[0];
  }

  /** `weight 3` when the keyword stands before its value, else the value alone. */
  optionSpan(keyword: IToken | undefined, value: IToken): Span {
    return keyword && keyword !== value && keyword.startOffset < value.startOffset ? this.cover(keyword, value) : this.span(value);
  }

  duplicate(label: string, second: Span, first: Span): void {
    this.report('duplicate-setting', {
      summary: `\`${label}\` is given twice`,
      detail: `Give \`${label}\` once in this statement.`,
      subject: second,
      notes: [{ message: 'first given here', span: first }],
    });
  }

  // ----------------------------------------------------------- values

  /** A host, service or segment name: `[a-z][a-z0-9_-]*`. Kept as written even when bad (reported). */
  name(t: IToken, what: 'host' | 'service' | 'segment'): A.Name {
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

  /** A Linux network device name: 1 to 15 characters, no `/`, `:` or whitespace, not `.` or `..`. */
  device(t: IToken): A.Name {
    const text = t.image;
    let problem: string | undefined;
    if (text.length > 15) problem = `it is ${text.length} characters long; Linux allows at most 15`;
    else if (text === '.' || text === '..') problem = 'Linux does not allow `.` or `..` as a device name';
    else if (text.includes(':'))
      problem = `\`:\` is not allowed (an alias such as \`eth0:1\` is an ifconfig label: give the address its own \`interface ${text.split(':')[0]} ADDR/PREFIX\` line)`;
    else if (text.includes('/')) problem = '`/` is not allowed (is the device name missing before the address?)';
    if (problem) {
      this.report('bad-name', {
        summary: `\`${text}\` is not a valid interface name`,
        detail: `Interface names follow Linux rules: ${problem}.`,
        subject: this.span(t),
      });
    }
    return this.lit(text, t);
  }

  user(t: IToken): A.Name {
    return this.userPart(t, 0, t.image.length);
  }

  userPart(t: IToken, from: number, to: number): A.Name {
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

  string(t: IToken): A.Lit<string> {
    const image = t.image;
    // A string the lexer already reported (unterminated, typographic quotes) still gets its best value.
    const terminated = /^"(?:[^"\\\n\r]|\\[^\n\r])*"$/.test(image) || /^[\u201c\u201d\u201e].*[\u201c\u201d]$/.test(image);
    const inner = image.slice(1, terminated ? -1 : undefined);
    return { value: inner.replace(/\\(.)/g, '$1'), text: image, span: this.span(t) };
  }

  number(t: IToken, kind: NumberKind, after?: IToken): A.Lit<number> | undefined {
    const text = t.image;
    if (!DIGITS.test(text)) {
      let hint = '';
      const known = SERVICE_PORTS[text.toLowerCase()];
      if (kind === NUMBERS.port && known !== undefined) hint = ` Write the number: ${text} is ${known}.`;
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
  duration(t: IToken, kind: NumberKind, after?: IToken): A.Lit<number> | undefined {
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
            : hours * 3600 <= kind.max
              ? ` For days, write hours: \`${hours}h\`.`
              : ` For days, write hours (at most \`${kind.max / 3600}h\` here).`;
        return this.badDuration(
          t,
          `\`${text}\` is not a duration`,
          `A duration is a number with a unit ms, s, m or h, e.g. \`300s\`, \`15m\`, \`1h30m\`.${dayHint}${this.nextLineNote(t, after, kind.noun)}`,
        );
      }
      ms += Number(m[1]) * UNIT_MS[m[2]];
      pos = part.lastIndex;
    }
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

  badDuration(t: IToken, summary: string, detail: string): undefined {
    this.report('bad-duration', { summary, detail, subject: this.span(t) });
    return undefined;
  }

  /** An IPv4 or IPv6 address, canonicalised; `[v6]` brackets allowed. */
  address(t: IToken, role: 'gateway' | 'via' | 'vip' | 'match', after?: IToken): A.Lit<string> | undefined {
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
  cidr(t: IToken, after?: IToken, role: 'interface' | 'route' = 'interface'): A.Lit<A.CidrValue> | undefined {
    const text = t.image;
    const slash = text.lastIndexOf('/');
    if (slash < 0) {
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
      return undefined;
    }
    const addrText = text.slice(0, slash);
    const prefixText = text.slice(slash + 1);
    const address = canonicalAddress(addrText);
    if (!address) {
      this.report('bad-cidr', {
        summary: `\`${addrText}\` is not an IPv4 or IPv6 address`,
        detail: addressHint(addrText, 'interface'),
        subject: this.sub(t, 0, slash),
      });
      return undefined;
    }
    const family = address.includes(':') ? 6 : 4;
    const max = family === 4 ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      this.report('bad-cidr', {
        summary: `\`/${prefixText}\` is not a valid IPv${family} prefix length`,
        detail: `An IPv${family} prefix length is a number from 0 to ${max}.`,
        subject: this.sub(t, slash, text.length),
      });
      return undefined;
    }
    return this.lit({ address, prefix: Number(prefixText), family }, t);
  }

  /** `[user@]addr[:port]`, `[user@][v6][:port]`, a bare IPv6 address, or an ssh-config alias / DNS name. */
  sshTarget(t: IToken): A.SshTarget | undefined {
    const text = t.image;
    const target: Mutable<A.SshTarget> = { host: undefined as never, isAddress: false, span: this.span(t) };
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

function addressHint(text: string, role: 'gateway' | 'via' | 'vip' | 'match' | 'interface' | 'ssh'): string {
  if (text.includes('%')) return 'Zone indices (`%eth0`) have no place in a cluster file: write the address alone.';
  if (role !== 'interface' && text.includes('/')) {
    return `\`${role}\` takes a plain address: remove \`${text.slice(text.indexOf('/'))}\` (prefix lengths belong on \`interface\` lines).`;
  }
  if (/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$/.test(text) || /^\[.*\]:[0-9]+$/.test(text)) {
    return role === 'vip'
      ? 'The port goes after the protocol: `vip 10.1.0.100 tcp 80`.'
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
