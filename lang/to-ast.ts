/**
 * CST → AST: a typed walk over the CST types cst.ts declares (generated from
 * the grammar), building one plain node with its span per statement. Values
 * get their meaning in values.ts; here are the statements' shapes: which
 * words a statement needs, settings given twice within one statement, and the
 * few readings the grammar alone cannot decide (a bare `sudo` line in
 * defaults, a `port` after `forward` on a server line). Everything that needs
 * more than one statement to judge is the compiler's.
 *
 * Every child list is read through `Partial<...>` of its generated type: a
 * label the grammar does not make is a type error, and a child the grammar
 * requires may still be missing after error recovery. On a CST with syntax
 * errors this builds what it can: tokens the parser invented while recovering
 * (NaN offsets) count as missing, and a statement missing a required part is
 * left out (the parser has already said why).
 */
import type { CstElement, CstNode, IToken } from './chevrotain.js';
import type * as A from './ast.js';
import type * as C from './cst.js';
import type { Accept } from './diagnostics.js';
import { hasLineBreak, type SourceFile, type Span } from './source.js';
import { DURATIONS, DURATIONS_MS, NUMBERS, Values } from './values.js';

type Tokens = readonly IToken[] | undefined;

const CSUM_WORDS = new Set(['csum', 'nocsum', 'remcsum']);

export function toAst(cst: C.FileCstNode, source: SourceFile, comments: readonly IToken[], accept: Accept): A.AstFile {
  const b = new Builder(source, accept);
  return {
    path: source.path,
    items: b.file(cst),
    comments: comments.map((c) => ({ text: c.image, span: b.values.span(c) })),
  };
}

/** A token the parser really read (not one it invented to recover). */
function real(t: IToken | undefined): IToken | undefined {
  if (!t || t.isInsertedInRecovery || Number.isNaN(t.startOffset)) return undefined;
  return t;
}

/** The first token of a child list, if the parser really read it. */
function first(list: Tokens): IToken | undefined {
  return real(list?.[0]);
}

/** The tokens of a child list the parser really read. */
function all(list: Tokens): IToken[] {
  const out: IToken[] = [];
  if (list) {
    for (const t of list) if (real(t)) out.push(t);
  }
  return out;
}

/** Statements of several kinds, merged back into source order (the CST groups children by kind). */
function inSourceOrder<T extends { readonly span: Span }>(list: T[]): T[] {
  for (let i = 1; i < list.length; i++) {
    if (list[i - 1].span.start > list[i].span.start) return list.sort((x, y) => x.span.start - y.span.start);
  }
  return list;
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

class Builder {
  readonly values: Values;

  constructor(
    readonly source: SourceFile,
    accept: Accept,
  ) {
    this.values = new Values(source, accept);
  }

  // ----------------------------------------------------------- positions

  cover(a: IToken, b: IToken): Span {
    return { file: this.source.path, start: a.startOffset, end: b.startOffset + b.image.length };
  }

  /**
   * A block rule's span when the parser really read both its keyword (its
   * first token) and its closing brace (its last): what `extent` finds, without
   * walking the block (extent of every service cost 0.17 s at 100,000
   * destinations). Undefined otherwise: ask `extent`.
   */
  blockSpan(keyword: Tokens, close: Tokens): Span | undefined {
    const a = first(keyword);
    const b = close?.length === 1 ? real(close[0]) : undefined;
    return a && b ? this.cover(a, b) : undefined;
  }

  /** The span from the first to the last real token under a node, or undefined if it has none. */
  extent(node: CstNode): Span | undefined {
    const range = { start: Infinity, end: -Infinity };
    extendRange(node, range);
    return range.start === Infinity ? undefined : { file: this.source.path, start: range.start, end: range.end };
  }

  /** Build each node of one kind into `out`, leaving out those that come back undefined. */
  each<N, T>(out: T[], nodes: readonly N[] | undefined, build: (this: Builder, n: N) => T | undefined): void {
    if (!nodes) return;
    for (let i = 0; i < nodes.length; i++) {
      const stmt = build.call(this, nodes[i]);
      if (stmt) out.push(stmt);
    }
  }

  // ----------------------------------------------------------- items and blocks

  file(n: C.FileCstNode): A.Item[] {
    const c: Partial<C.FileCstChildren> = n.children;
    const items: A.Item[] = [];
    this.each(items, c.defaults, this.defaults);
    this.each(items, c.host, this.host);
    this.each(items, c.director, this.director);
    this.each(items, c.timeouts, this.timeouts);
    this.each(items, c.service, this.service);
    return inSourceOrder(items);
  }

  defaults(n: C.DefaultsCstNode): A.DefaultsNode | undefined {
    const c: Partial<C.DefaultsCstChildren> = n.children;
    const span = this.extent(n);
    if (!span) return undefined;
    // ssh statements in defaults have no target (reported); convert them with that in mind.
    const body: A.SshStmt[] = [];
    for (const s of c.ssh ?? []) {
      const stmt = this.ssh(s, true);
      if (stmt) body.push(...this.splitBareSudo(s, stmt));
    }
    this.each(body, c.sudo, this.sudo);
    body.sort((x, y) => x.span.start - y.span.start);
    return { kind: 'defaults', span, body };
  }

  /** A bare `sudo` in defaults. */
  sudo(n: C.SudoCstNode): A.SshStmt | undefined {
    const sp = this.extent(n);
    return sp && { kind: 'ssh', span: sp, sudo: sp, bare: true };
  }

  /**
   * In defaults, `sudo` starting a line after `ssh ...` is the bare `sudo`
   * statement, not the last option of that ssh line (the grammar alone would
   * read `ssh key "K"` newline `sudo` as one statement).
   */
  splitBareSudo(n: C.SshCstNode, stmt: A.SshStmt): A.SshStmt[] {
    const sudos = n.children.sudo;
    const sudoTok = first(sudos);
    if (!stmt.sudo || !sudoTok || !sudos) return [stmt];
    let before = -1;
    // Every other token of the statement, whatever its label: does any follow the sudo?
    const children = (n as CstNode).children;
    for (const key in children) {
      for (const e of children[key]) {
        if (sudos.includes(e as IToken)) continue;
        const t = 'children' in e ? undefined : real(e);
        if (t && t.startOffset < sudoTok.startOffset) before = Math.max(before, t.startOffset + t.image.length);
        else if (t) return [stmt]; // something follows sudo: it is an option
      }
    }
    if (before < 0 || !hasLineBreak(this.source.text, before, sudoTok.startOffset)) return [stmt];
    const { sudo: _, ...rest } = stmt;
    const sudo = this.values.span(sudoTok);
    return [
      { ...rest, span: { ...stmt.span, end: before } },
      { kind: 'ssh', span: sudo, sudo, bare: true },
    ];
  }

  host(n: C.HostCstNode): A.HostNode | undefined {
    const c: Partial<C.HostCstChildren> = n.children;
    const span = this.extent(n);
    const nameTok = first(c.name);
    if (!span || !nameTok) return undefined;
    const body: A.HostStmt[] = [];
    this.each(body, c.ssh, this.hostSsh);
    this.each(body, c.interface, this.interface);
    this.each(body, c.gateway, this.gateway);
    this.each(body, c.route, this.route);
    return { kind: 'host', span, name: this.values.name(nameTok, 'host'), body: inSourceOrder(body) };
  }

  director(n: C.DirectorCstNode): A.DirectorNode | undefined {
    const c: Partial<C.DirectorCstChildren> = n.children;
    const span = this.extent(n);
    const hostToks = all(c.host);
    if (!span || hostToks.length === 0) return undefined;
    if (hostToks.length > 2) {
      this.values.report('syntax', {
        summary: `a director statement names at most two hosts, not ${hostToks.length}`,
        detail:
          'Write `director A` for one director, or `director A B` for an active/backup pair (A holds the VIPs, B is the warm standby).',
        subject: this.cover(hostToks[2], hostToks[hostToks.length - 1]),
        context: span,
      });
    }
    const node: A.Mutable<A.DirectorNode> = {
      kind: 'director',
      span,
      hosts: hostToks.slice(0, 2).map((t) => this.values.name(t, 'host')),
    };
    const syncTok = first(c.Sync);
    const ifaceTok = first(c.iface);
    if (syncTok && ifaceTok) {
      const idTok = first(c.id);
      const sync: A.Mutable<NonNullable<A.DirectorNode['sync']>> = {
        span: this.cover(syncTok, idTok ?? ifaceTok),
        iface: this.values.device(ifaceTok),
      };
      if (idTok) {
        const id = this.values.number(idTok, NUMBERS.syncId, first(c.Id));
        if (id) sync.id = id;
      }
      node.sync = sync;
    }
    if (first(c.LBrace)) {
      const body: A.DirectorStmt[] = [];
      this.each(body, c.failover, this.failover);
      this.each(body, c.advert, this.advert);
      this.each(body, c.failback, this.failback);
      this.each(body, c.floating, this.floating);
      this.each(body, c.directorSync, this.directorSync);
      node.body = inSourceOrder(body);
    }
    return node;
  }

  failover(n: C.FailoverCstNode): A.FailoverStmt | undefined {
    const c: Partial<C.FailoverCstChildren> = n.children;
    const span = this.extent(n);
    const protocolTok = first(c.protocol);
    const idTok = first(c.id);
    const ifaceTok = first(c.iface);
    if (!span || !protocolTok || !idTok || !ifaceTok) return undefined;
    const id = this.values.number(idTok, NUMBERS.vrrpId, protocolTok);
    if (!id) return undefined;
    const stmt: A.Mutable<A.FailoverStmt> = { kind: 'failover', span, protocol: this.values.lit(protocolTok.image, protocolTok), id, iface: this.values.device(ifaceTok) };
    const unicast = first(c.unicast);
    if (unicast) stmt.unicast = this.values.span(unicast);
    return stmt;
  }

  advert(n: C.AdvertCstNode): A.AdvertStmt | undefined {
    const c: Partial<C.AdvertCstChildren> = n.children;
    const span = this.extent(n);
    const tok = first(c.interval);
    if (!span || !tok) return undefined;
    const interval = this.values.durationMs(tok, DURATIONS_MS.advert, first(c.Advert));
    return interval && { kind: 'advert', span, interval };
  }

  failback(n: C.FailbackCstNode): A.FailbackStmt | undefined {
    const c: Partial<C.FailbackCstChildren> = n.children;
    const span = this.extent(n);
    if (!span) return undefined;
    const never = first(c.never);
    if (never) return { kind: 'failback', span, never: this.values.span(never) };
    const tok = first(c.delay);
    if (!tok) return undefined;
    const after = this.values.durationMs(tok, DURATIONS_MS.failback, first(c.After));
    return after && { kind: 'failback', span, after };
  }

  floating(n: C.FloatingCstNode): A.FloatingStmt | undefined {
    const c: Partial<C.FloatingCstChildren> = n.children;
    const span = this.extent(n);
    const cidrTok = first(c.cidr);
    const ifaceTok = first(c.iface);
    if (!span || !cidrTok || !ifaceTok) return undefined;
    const cidr = this.values.cidr(cidrTok, first(c.Floating));
    return cidr && { kind: 'floating', span, cidr, iface: this.values.device(ifaceTok) };
  }

  directorSync(n: C.DirectorSyncCstNode): A.DirectorSyncStmt | undefined {
    const c: Partial<C.DirectorSyncCstChildren> = n.children;
    const span = this.extent(n);
    const ifaceTok = first(c.iface);
    if (!span || !ifaceTok) return undefined;
    const stmt: A.Mutable<A.DirectorSyncStmt> = { kind: 'sync', span, iface: this.values.device(ifaceTok) };
    const idTok = first(c.id);
    if (idTok) {
      const id = this.values.number(idTok, NUMBERS.syncId, first(c.Id));
      if (id) stmt.id = id;
    }
    return stmt;
  }

  timeouts(n: C.TimeoutsCstNode): A.TimeoutsNode | undefined {
    const span = this.extent(n);
    if (!span) return undefined;
    const body: A.TimeoutStmt[] = [];
    this.each(body, n.children.timeout, this.timeout);
    return { kind: 'timeouts', span, body: inSourceOrder(body) };
  }

  timeout(n: C.TimeoutCstNode): A.TimeoutStmt | undefined {
    const c: Partial<C.TimeoutCstChildren> = n.children;
    const span = this.extent(n);
    const whichTok = first(c.which);
    const durTok = first(c.duration);
    if (!span || !whichTok || !durTok) return undefined;
    const duration = this.values.duration(durTok, DURATIONS.timeout, whichTok);
    if (!duration) return undefined;
    return { kind: 'timeout', span, which: this.values.lit(whichTok.image as 'tcp' | 'tcpfin' | 'udp', whichTok), duration };
  }

  service(n: C.ServiceCstNode): A.ServiceNode | undefined {
    const c: Partial<C.ServiceCstChildren> = n.children;
    const span = this.blockSpan(c.Service, c.RBrace) ?? this.extent(n);
    const nameTok = first(c.name);
    if (!span || !nameTok) return undefined;
    const body: A.ServiceStmt[] = [];
    this.each(body, c.vip, this.vip);
    this.each(body, c.fwmark, this.fwmark);
    this.each(body, c.scheduler, this.scheduler);
    this.each(body, c.persistence, this.persistence);
    this.each(body, c.ops, this.ops);
    this.each(body, c.forward, this.forward);
    this.each(body, c.check, this.check);
    this.each(body, c.onFailure, this.onFailure);
    this.each(body, c.sorry, this.sorry);
    this.each(body, c.server, this.server);
    return { kind: 'service', span, name: this.values.name(nameTok, 'service'), body: inSourceOrder(body) };
  }

  // ----------------------------------------------------------- statements

  hostSsh(n: C.SshCstNode): A.SshStmt | undefined {
    return this.ssh(n, false);
  }

  ssh(n: C.SshCstNode, inDefaults: boolean): A.SshStmt | undefined {
    const c: Partial<C.SshCstChildren> = n.children;
    const span = this.extent(n);
    if (!span) return undefined;
    const v = this.values;
    const stmt: A.Mutable<A.SshStmt> = { kind: 'ssh', span };
    const targetTok = first(c.target);
    if (targetTok) {
      if (inDefaults) {
        v.report('misplaced-setting', {
          summary: 'defaults cannot give an ssh address',
          detail: `Defaults hold what every host shares (user, key, port, via, sudo); give \`${targetTok.image}\` in the host's own \`ssh\` line: \`host NAME { ssh ${targetTok.image} }\`.`,
          subject: v.span(targetTok),
        });
      } else {
        const target = v.sshTarget(targetTok);
        if (target) stmt.target = target;
      }
    }
    const userTok = this.once(c.User, c.user, 'ssh user', stmt.target?.user?.span);
    if (userTok) stmt.user = v.user(userTok);
    const keyTok = this.once(c.Key, c.key, 'ssh key');
    if (keyTok) stmt.key = v.string(keyTok);
    const portTok = this.once(c.Port, c.port, 'ssh port', stmt.target?.port?.span);
    if (portTok) {
      const port = v.number(portTok, NUMBERS.port, first(c.Port));
      if (port) stmt.port = port;
    }
    const viaTok = this.once(c.Via, c.via, 'ssh via');
    if (viaTok) stmt.via = v.name(viaTok, 'host');
    const sudoTok = this.once(c.sudo, c.sudo, 'sudo');
    if (sudoTok) stmt.sudo = v.span(sudoTok);
    return stmt;
  }

  interface(n: C.InterfaceCstNode): A.InterfaceStmt | undefined {
    const c: Partial<C.InterfaceCstChildren> = n.children;
    const span = this.extent(n);
    const devTok = first(c.dev);
    const cidrTok = first(c.cidr);
    if (!span || !devTok || !cidrTok) return undefined;
    const dev = this.values.device(devTok);
    const cidr = this.values.cidr(cidrTok, devTok);
    if (!cidr) return undefined;
    const stmt: A.Mutable<A.InterfaceStmt> = { kind: 'interface', span, dev, cidr };
    const segTok = first(c.segment);
    if (segTok) stmt.segment = this.values.name(segTok, 'segment');
    return stmt;
  }

  gateway(n: C.GatewayCstNode): A.GatewayStmt | undefined {
    const c: Partial<C.GatewayCstChildren> = n.children;
    const span = this.extent(n);
    const addrTok = first(c.address);
    if (!span || !addrTok) return undefined;
    const address = this.values.address(addrTok, 'gateway', first(c.Gateway));
    return address && { kind: 'gateway', span, address };
  }

  route(n: C.RouteCstNode): A.RouteStmt | undefined {
    const c: Partial<C.RouteCstChildren> = n.children;
    const span = this.extent(n);
    const dstTok = first(c.dst);
    const viaTok = first(c.via);
    if (!span || !dstTok || !viaTok) return undefined;
    const dst: A.Lit<A.CidrValue | 'default'> | undefined =
      dstTok.image === 'default' ? this.values.lit('default' as const, dstTok) : this.values.cidr(dstTok, first(c.Route), 'route');
    const via = this.values.address(viaTok, 'via', first(c.Via));
    if (!dst || !via) return undefined;
    return { kind: 'route', span, dst, via };
  }

  vip(n: C.VipCstNode): A.VipStmt | undefined {
    const c: Partial<C.VipCstChildren> = n.children;
    const span = this.extent(n);
    const addrTok = first(c.address);
    const protoTok = first(c.proto);
    const portTok = first(c.port);
    if (!span || !addrTok || !protoTok || !portTok) return undefined;
    const address = this.values.address(addrTok, 'vip', first(c.Vip));
    const port = this.values.number(portTok, NUMBERS.vipPort, protoTok);
    if (!address || !port) return undefined;
    return { kind: 'vip', span, address, proto: this.values.lit(protoTok.image as A.Proto, protoTok), port };
  }

  fwmark(n: C.FwmarkCstNode): A.FwmarkStmt | undefined {
    const c: Partial<C.FwmarkCstChildren> = n.children;
    const span = this.extent(n);
    const markTok = first(c.mark);
    if (!span || !markTok) return undefined;
    const mark = this.values.number(markTok, NUMBERS.fwmark, first(c.Fwmark));
    const matches: A.MatchStmt[] = [];
    this.each(matches, c.match, this.match);
    return mark && { kind: 'fwmark', span, mark, matches: inSourceOrder(matches) };
  }

  match(n: C.MatchCstNode): A.MatchStmt | undefined {
    const c: Partial<C.MatchCstChildren> = n.children;
    const span = this.extent(n);
    const protoTok = first(c.proto);
    const addrTok = first(c.address);
    const list = c.ports?.[0];
    if (!span || !protoTok || !addrTok || !list) return undefined;
    const address = this.values.address(addrTok, 'match', protoTok);
    const ports: A.Lit<number>[] = [];
    const seen = new Map<number, IToken>();
    let ok = true;
    for (const t of this.items(list)) {
      const port = this.values.number(t, NUMBERS.port);
      if (!port) {
        ok = false;
        continue;
      }
      const earlier = seen.get(port.value);
      if (earlier) {
        this.duplicate(`port ${port.value}`, port.span, this.values.span(earlier));
        continue;
      }
      seen.set(port.value, t);
      ports.push(port);
    }
    if (!address || !ok || ports.length === 0) return undefined;
    return { kind: 'match', span, proto: this.values.lit(protoTok.image as A.Proto, protoTok), address, ports };
  }

  /** The words of a list (`80,443`, `sh-port sh-fallback`). */
  items(list: C.ListCstNode): IToken[] {
    const c: Partial<C.ListCstChildren> = list.children;
    return all(c.item);
  }

  scheduler(n: C.SchedulerCstNode): A.SchedulerStmt | undefined {
    const c: Partial<C.SchedulerCstChildren> = n.children;
    const span = this.extent(n);
    const nameTok = first(c.name);
    if (!span || !nameTok) return undefined;
    const list = c.flags?.[0];
    const flags: A.Name[] = [];
    const seen = new Map<string, IToken>();
    for (const t of list ? this.items(list) : []) {
      const earlier = seen.get(t.image);
      if (earlier) {
        this.duplicate(`flag ${t.image}`, this.values.span(t), this.values.span(earlier));
        continue;
      }
      seen.set(t.image, t);
      flags.push(this.values.lit(t.image, t));
    }
    return { kind: 'scheduler', span, name: this.values.lit(nameTok.image, nameTok), flags };
  }

  persistence(n: C.PersistenceCstNode): A.PersistenceStmt | undefined {
    const c: Partial<C.PersistenceCstChildren> = n.children;
    const span = this.extent(n);
    if (!span) return undefined;
    const v = this.values;
    const stmt: A.Mutable<A.PersistenceStmt> = { kind: 'persistence', span };
    const timeoutTok = this.once(c.timeout, c.timeout, 'persistence timeout');
    if (timeoutTok) {
      const timeout = v.duration(timeoutTok, DURATIONS.persistence, first(c.Persistence));
      if (timeout) stmt.timeout = timeout;
    }
    const maskTok = this.once(c.Netmask, c.netmask, 'persistence netmask');
    if (maskTok) stmt.netmask = v.lit(maskTok.image, maskTok);
    const engineTok = this.once(c.Engine, c.engine, 'persistence engine');
    if (engineTok) stmt.engine = v.lit(engineTok.image, engineTok);
    return stmt;
  }

  ops(n: C.OpsCstNode): A.OpsStmt | undefined {
    const sp = this.extent(n);
    return sp && { kind: 'ops', span: sp };
  }

  forward(n: C.ForwardCstNode): A.ForwardStmt | undefined {
    const span = this.extent(n);
    const specNode = n.children.spec?.[0];
    const spec = specNode && this.forwardSpec(specNode);
    return span && spec && { kind: 'forward', span, spec };
  }

  /**
   * `METHOD [TUNTYPE] [port N] [CSUM]`: a checksum word goes to `csum`, any
   * other word to `tunType`. The span covers these words (the method on), not
   * the `forward` keyword.
   */
  forwardSpec(n: C.ForwardSpecCstNode): A.ForwardSpec | undefined {
    const c: Partial<C.ForwardSpecCstChildren> = n.children;
    const span = this.extent(n);
    const methodTok = first(c.method);
    if (!span || !methodTok) return undefined;
    const v = this.values;
    const spec: A.Mutable<A.ForwardSpec> = { span, method: v.lit(methodTok.image, methodTok) };
    for (const t of all(c.word)) {
      const slot = CSUM_WORDS.has(t.image) ? 'csum' : 'tunType';
      const earlier = spec[slot];
      if (earlier) {
        v.report('duplicate-setting', {
          summary: slot === 'csum' ? `a second checksum option \`${t.image}\`` : `a second tunnel type \`${t.image}\``,
          detail:
            slot === 'csum'
              ? 'Give one of csum, nocsum or remcsum.'
              : `\`forward ${methodTok.image}\` takes one tunnel type (ipip, gue or gre) and optionally one checksum option (csum, nocsum, remcsum); \`${earlier.text}\` is already the tunnel type.`,
          subject: v.span(t),
          notes: [{ message: 'the first one is here', span: earlier.span }],
        });
        continue;
      }
      spec[slot] = v.lit(t.image, t);
    }
    const portTok = this.once(c.Port, c.port, 'tunnel port');
    if (portTok) {
      const port = v.number(portTok, NUMBERS.port, first(c.Port));
      if (port) spec.tunPort = port;
    }
    return spec;
  }

  check(n: C.CheckCstNode): A.CheckStmt | undefined {
    const span = this.extent(n);
    const specNode = n.children.spec?.[0];
    const spec = specNode && this.checkSpec(specNode);
    return span && spec && { kind: 'check', span, spec };
  }

  /** `KIND ["PROGRAM"] options...`: each option once; the span covers the kind on (not the `check` keyword). */
  checkSpec(n: C.CheckSpecCstNode): A.CheckSpec | undefined {
    const c: Partial<C.CheckSpecCstChildren> = n.children;
    const span = this.extent(n);
    const kindTok = first(c.kind);
    if (!span || !kindTok) return undefined;
    const v = this.values;
    const spec: A.Mutable<A.CheckSpec> = { span, kind: v.lit(kindTok.image, kindTok) };
    const programTok = first(c.program);
    if (programTok) spec.program = v.string(programTok);
    const portTok = this.once(c.Port, c.port, 'check port');
    if (portTok) {
      const port = v.number(portTok, NUMBERS.port, first(c.Port));
      if (port) spec.port = port;
    }
    const pathTok = this.once(c.Path, c.path, 'path');
    if (pathTok) spec.path = v.string(pathTok);
    const statusTok = this.once(c.Status, c.status, 'status');
    if (statusTok) {
      const status = v.statusRange(statusTok, first(c.Status));
      if (status) spec.status = status;
    }
    const hostTok = this.once(c.Host, c.host, 'host');
    if (hostTok) spec.host = v.string(hostTok);
    const nameTok = this.once(c.Name, c.name, 'name');
    if (nameTok) spec.name = v.string(nameTok);
    const typeTok = this.once(c.Type, c.type, 'type');
    if (typeTok) spec.type = v.lit(typeTok.image, typeTok);
    const argsKeywords = all(c.Args);
    if (argsKeywords.length) {
      // All `args` strings share one label: those after a second `args` are that duplicate's.
      const second = argsKeywords[1];
      const strings = all(c.arg);
      const mine = second ? strings.filter((t) => t.startOffset < second.startOffset) : strings;
      if (second) {
        const theirs = strings.filter((t) => t.startOffset > second.startOffset);
        this.duplicate('args', this.cover(second, theirs.at(-1) ?? second), this.cover(argsKeywords[0], mine.at(-1) ?? argsKeywords[0]));
      }
      if (mine.length) spec.args = { span: this.cover(argsKeywords[0], mine[mine.length - 1]), values: mine.map((t) => v.string(t)) };
    }
    const everyTok = this.once(c.Every, c.every, 'every');
    if (everyTok) {
      const every = v.durationMs(everyTok, DURATIONS_MS.checkEvery, first(c.Every));
      if (every) spec.every = every;
    }
    const timeoutTok = this.once(c.Timeout, c.timeout, 'timeout');
    if (timeoutTok) {
      const timeout = v.durationMs(timeoutTok, DURATIONS_MS.checkTimeout, first(c.Timeout));
      if (timeout) spec.timeout = timeout;
    }
    const retriesTok = this.once(c.Retries, c.retries, 'retries');
    if (retriesTok) {
      const retries = v.number(retriesTok, NUMBERS.retries, first(c.Retries));
      if (retries) spec.retries = retries;
    }
    return spec;
  }

  onFailure(n: C.OnFailureCstNode): A.OnFailureStmt | undefined {
    const c: Partial<C.OnFailureCstChildren> = n.children;
    const span = this.extent(n);
    const modeTok = first(c.mode);
    if (!span || !modeTok) return undefined;
    return { kind: 'on-failure', span, mode: this.values.lit(modeTok.image, modeTok) };
  }

  sorry(n: C.SorryCstNode): A.SorryStmt | undefined {
    const c: Partial<C.SorryCstChildren> = n.children;
    const span = this.extent(n);
    const hostTok = first(c.host);
    if (!span || !hostTok) return undefined;
    const stmt: A.Mutable<A.SorryStmt> = { kind: 'sorry', span, host: this.values.name(hostTok, 'host') };
    const addressTok = this.once(c.Address, c.address, 'address');
    if (addressTok) {
      const address = this.values.address(addressTok, 'server', first(c.Address));
      if (address) stmt.address = address;
    }
    const portTok = this.once(c.Port, c.port, 'port');
    if (portTok) {
      const port = this.values.number(portTok, NUMBERS.port, first(c.Port));
      if (port) stmt.port = port;
    }
    return stmt;
  }

  server(n: C.ServerCstNode): A.ServerStmt | undefined {
    const c: Partial<C.ServerCstChildren> = n.children;
    const span = this.serverSpan(c) ?? this.extent(n);
    const hostTok = first(c.host);
    if (!span || !hostTok) return undefined;
    const v = this.values;
    const stmt: A.Mutable<A.ServerStmt> = { kind: 'server', span, host: v.name(hostTok, 'host') };
    if (c.address) {
      const t = this.once(c.Address, c.address, 'address');
      const value = t && v.address(t, 'server', first(c.Address));
      if (value) stmt.address = value;
    }
    if (c.port) {
      const t = this.once(c.Port, c.port, 'port');
      const value = t && v.number(t, NUMBERS.port, first(c.Port));
      if (value) stmt.port = value;
    }
    if (c.weight) {
      const t = this.once(c.Weight, c.weight, 'weight');
      const value = t && v.number(t, NUMBERS.weight, first(c.Weight));
      if (value) stmt.weight = value;
    }
    if (c.upper) {
      const t = this.once(c.Upper, c.upper, 'upper');
      const value = t && v.number(t, NUMBERS.threshold, first(c.Upper));
      if (value) stmt.upper = value;
    }
    if (c.lower) {
      const t = this.once(c.Lower, c.lower, 'lower');
      const value = t && v.number(t, NUMBERS.threshold, first(c.Lower));
      if (value) stmt.lower = value;
    }
    if (c.drain) {
      const t = this.once(c.drain, c.drain, 'drain');
      if (t) stmt.drain = v.span(t);
    }
    if (c.forward) {
      const specs = c.forward;
      const fwdKeywords = c.Forward ?? [];
      const spec = specs[0] && this.forwardSpec(specs[0]);
      for (let i = 1; i < specs.length; i++) {
        const again = this.forwardSpec(specs[i]);
        const keyword = real(fwdKeywords[i]);
        if (again && spec) this.duplicate('forward', keyword ? { ...again.span, start: keyword.startOffset } : again.span, spec.span);
      }
      if (spec) {
        if (spec.tunPort && spec.method.value !== 'tun') {
          v.report('misplaced-setting', {
            summary: `\`port ${spec.tunPort.text}\` after \`forward ${spec.method.text}\` is read as a tunnel port`,
            detail: `A \`port\` after \`forward\` belongs to the forwarding method (the GUE port of \`forward tun gue port N\`). For the real server's own port, put it before \`forward\`: \`server ${hostTok.image} port ${spec.tunPort.text} forward ${spec.method.text}\`.`,
            subject: spec.tunPort.span,
          });
        } else stmt.forward = spec;
      }
    }
    if (c.check) {
      const specs = c.check;
      const checkKeywords = c.Check ?? [];
      const spec = specs[0] && this.checkSpec(specs[0]);
      for (let i = 1; i < specs.length; i++) {
        const again = this.checkSpec(specs[i]);
        const keyword = real(checkKeywords[i]);
        if (again && spec) this.duplicate('check', keyword ? { ...again.span, start: keyword.startOffset } : again.span, spec.span);
      }
      if (spec) stmt.check = spec;
    }
    return stmt;
  }

  /**
   * The span of a server statement without walking it: from `server` to the
   * last value of any of its options (a file can hold 100,000 server lines).
   * Undefined when recovery invented its keyword, for the general walk.
   */
  serverSpan(c: Partial<C.ServerCstChildren>): Span | undefined {
    const keyword = first(c.Server);
    if (!keyword) return undefined;
    let end = keyword.startOffset + keyword.image.length;
    end = this.lastEnd(c.host, end);
    end = this.lastEnd(c.address, end);
    end = this.lastEnd(c.port, end);
    end = this.lastEnd(c.weight, end);
    end = this.lastEnd(c.upper, end);
    end = this.lastEnd(c.lower, end);
    end = this.lastEnd(c.drain, end);
    end = this.lastEnd(c.forward, end);
    end = this.lastEnd(c.check, end);
    return { file: this.source.path, start: keyword.startOffset, end };
  }

  /** The larger of `end` and the end of the last real element of `list`. */
  lastEnd(list: readonly CstElement[] | undefined, end: number): number {
    if (!list) return end;
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i];
      let stop: number;
      if ('children' in e) {
        const inner = this.extent(e);
        if (!inner) continue;
        stop = inner.end;
      } else {
        if (e.isInsertedInRecovery || Number.isNaN(e.startOffset)) continue;
        stop = e.startOffset + e.image.length;
      }
      return stop > end ? stop : end;
    }
    return end;
  }

  // ----------------------------------------------------------- settings given once

  /**
   * The first value of an option within one statement; later ones are
   * reported as duplicates. `keywords` are the option's keyword tokens so the
   * report covers `weight 3`, not just `3` (the values themselves for a
   * keyword that is its own value, `sudo`); `earlier` is a value given another
   * way (`ssh 10.0.0.1:2222 port 22`).
   */
  once(keywords: Tokens, raw: Tokens, label: string, earlier?: Span): IToken | undefined {
    if (!raw) return undefined;
    if (raw.length === 1 && !earlier) return real(raw[0]);
    const values = all(raw);
    if (values.length === 0) return undefined;
    if (values.length === 1 && !earlier) return values[0];
    const keywordToks = all(keywords);
    const firstSpan = earlier ?? this.optionSpan(keywordToks[0], values[0]);
    for (let i = earlier ? 0 : 1; i < values.length; i++) this.duplicate(label, this.optionSpan(keywordToks[i], values[i]), firstSpan);
    return earlier ? undefined : values[0];
  }

  /** `weight 3` when the keyword stands before its value, else the value alone. */
  optionSpan(keyword: IToken | undefined, value: IToken): Span {
    return keyword && keyword !== value && keyword.startOffset < value.startOffset ? this.cover(keyword, value) : this.values.span(value);
  }

  duplicate(label: string, second: Span, first: Span): void {
    this.values.report('duplicate-setting', {
      summary: `\`${label}\` is given twice`,
      detail: `Give \`${label}\` once in this statement.`,
      subject: second,
      notes: [{ message: 'first given here', span: first }],
    });
  }
}
