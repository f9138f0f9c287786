/**
 * AST → IR: resolve defaults, group statements by kind, normalise addresses
 * and networks. Lowering reports only what it must to build the IR (duplicate
 * singleton settings, a second director statement); every LVS rule lives in
 * validate/ and runs on the IR.
 */
import type * as A from '../lang/ast.js';
import { diag, type Accept, type Diagnostic } from '../lang/diagnostics.js';
import { suggestWord, type ForeignWord } from '../lang/suggest.js';
import { cidrText, networkOf, familyOf } from '../lang/address.js';
import type { Span } from '../lang/source.js';
import { CHECK_DEFAULTS } from './ir.js';
import type {
  CheckTiming,
  Cluster,
  ClusterTimeouts,
  Directors,
  Failover,
  FloatingAddress,
  Forward,
  Gateway,
  HealthCheck,
  Host,
  Interface,
  OnFailure,
  RealServer,
  Route,
  Service,
  ServiceAddress,
  SshEndpoint,
} from './ir.js';
import { DEFAULT_PERSISTENCE, DEFAULT_SCHEDULER, FOREIGN_METHODS, DEFAULT_TUN_CSUM, DEFAULT_TUN_TYPE, isTunType, TUN_CSUMS, TUN_TYPES, type TunCsum, type TunType } from './lvs.js';
import type { Family, Method } from './state.js';

interface SshDefaults {
  user?: string;
  key?: string;
  port?: number;
  via?: A.Name;
  sudo: boolean;
}

export function lower(files: readonly A.AstFile[], accept: Accept): Cluster {
  const items = files.flatMap((f) => f.items);
  const defaults = lowerDefaults(items.filter((i): i is A.DefaultsNode => i.kind === 'defaults'), accept);

  const hosts: Host[] = [];
  const hostsByName = new Map<string, Host>();
  for (const item of items) {
    if (item.kind !== 'host') continue;
    const host = lowerHost(item, defaults, accept);
    hosts.push(host);
    if (!hostsByName.has(host.name)) hostsByName.set(host.name, host);
  }

  let directors: Directors | undefined;
  for (const item of items) {
    if (item.kind !== 'director') continue;
    if (directors) {
      accept(
        diag('duplicate-director', {
          summary: 'a second director statement',
          detail: 'A cluster has one `director` statement: `director A` for one director, `director A B` for an active/backup pair. Merge them into one.',
          subject: item.span,
          notes: [{ message: 'the first director statement is here', span: directors.origin }],
        }),
      );
      continue;
    }
    directors = lowerDirector(item, accept);
  }

  let timeouts: ClusterTimeouts | undefined;
  for (const item of items) {
    if (item.kind !== 'timeouts') continue;
    if (timeouts) {
      accept(
        diag('duplicate-setting', {
          summary: 'a second timeouts block',
          detail: 'Connection timeouts are cluster-wide (`ipvsadm --set`); give them in one `timeouts` block.',
          subject: item.span,
          notes: [{ message: 'the first timeouts block is here', span: timeouts.origin }],
        }),
      );
      continue;
    }
    timeouts = lowerTimeouts(item, accept);
  }

  const services = items.filter((i): i is A.ServiceNode => i.kind === 'service').map((s) => lowerService(s, accept));
  return { hosts, hostsByName, directors, timeouts, services };
}

function duplicate(accept: Accept, what: string, second: Span, first: Span): void {
  accept(
    diag('duplicate-setting', {
      summary: `${what} is given twice`,
      detail: `Give \`${what}\` once; the second one would silently win.`,
      subject: second,
      notes: [{ message: 'first given here', span: first }],
    }),
  );
}

function lowerDefaults(blocks: A.DefaultsNode[], accept: Accept): SshDefaults {
  const d: SshDefaults = { sudo: false };
  const seen = new Map<string, Span>();
  const once = (what: string, span: Span): boolean => {
    const first = seen.get(what);
    if (first) {
      duplicate(accept, what, span, first);
      return false;
    }
    seen.set(what, span);
    return true;
  };
  for (const block of blocks) {
    for (const stmt of block.body) {
      if (stmt.user && once('ssh user', stmt.user.span)) d.user = stmt.user.value;
      if (stmt.key && once('ssh key', stmt.key.span)) d.key = stmt.key.value;
      if (stmt.port && once('ssh port', stmt.port.span)) d.port = stmt.port.value;
      if (stmt.via && once('ssh via', stmt.via.span)) d.via = stmt.via;
      if (stmt.sudo) d.sudo = true;
    }
  }
  return d;
}

function lowerHost(node: A.HostNode, defaults: SshDefaults, accept: Accept): Host {
  const sshStmts = node.body.filter((s): s is A.SshStmt => s.kind === 'ssh');
  for (const extra of sshStmts.slice(1)) duplicate(accept, 'ssh', extra.span, sshStmts[0].span);
  const s = sshStmts[0];

  // A jump host never jumps through itself: a defaults `via` skips the host it names.
  const defaultVia = defaults.via && defaults.via.value !== node.name.value ? defaults.via : undefined;
  const via = s?.via ?? defaultVia;
  const ssh: SshEndpoint = {
    host: s?.target?.host.value ?? node.name.value,
    isAddress: s?.target?.isAddress ?? false,
    port: s?.target?.port?.value ?? s?.port?.value ?? defaults.port,
    user: s?.target?.user?.value ?? s?.user?.value ?? defaults.user,
    keyFile: s?.key?.value ?? defaults.key,
    sudo: Boolean(s?.sudo) || defaults.sudo,
    via: via?.value,
    viaSpan: via?.span,
    origin: s?.span ?? node.name.span,
  };

  // An L2 segment is a property of the device: an explicit `segment` on one of a
  // device's addresses names the segment of all of them.
  const explicitSegment = new Map<string, string>();
  for (const st of node.body) if (st.kind === 'interface' && st.segment) explicitSegment.set(st.dev.value, st.segment.value);
  const interfaces: Interface[] = [];
  for (const st of node.body) {
    if (st.kind !== 'interface') continue;
    const c = st.cidr.value;
    const network = cidrText(networkOf(c));
    interfaces.push({
      dev: st.dev.value,
      address: c.address,
      prefix: c.prefix,
      family: c.family,
      network,
      segment: explicitSegment.get(st.dev.value) ?? network,
      origin: st.span,
    });
  }

  const gateways: Gateway[] = [];
  for (const st of node.body) {
    if (st.kind !== 'gateway') continue;
    const family = familyOf(st.address.value) as Family;
    const first = gateways.find((g) => g.family === family);
    if (first) {
      accept(
        diag('duplicate-setting', {
          summary: `host ${node.name.value} has two IPv${family} gateways`,
          detail: 'A host has one default route per address family. Keep one `gateway`; add other paths with `route CIDR via ADDR`.',
          subject: st.span,
          notes: [{ message: 'the first gateway is here', span: first.origin }],
        }),
      );
      continue;
    }
    gateways.push({ address: st.address.value, family, origin: st.span });
  }

  const routes: Route[] = [];
  for (const st of node.body) {
    if (st.kind !== 'route') continue;
    const family = familyOf(st.via.value) as Family;
    const dst = st.dst.value;
    if (dst === 'default') {
      routes.push({ dst: family === 4 ? '0.0.0.0/0' : '::/0', dstPrefix: 0, via: st.via.value, family, origin: st.span });
    } else {
      const net = networkOf(dst);
      routes.push({ dst: cidrText(net), dstPrefix: net.prefix, via: st.via.value, family: dst.family, origin: st.span });
    }
  }

  return { name: node.name.value, nameSpan: node.name.span, origin: node.span, ssh, interfaces, gateways, routes };
}

function lowerDirector(node: A.DirectorNode, accept: Accept): Directors {
  const [a, b] = node.hosts;
  const body = node.body ?? [];
  const once = <K extends A.DirectorStmt['kind']>(kind: K, label: string): Extract<A.DirectorStmt, { kind: K }> | undefined => {
    let found: Extract<A.DirectorStmt, { kind: K }> | undefined;
    for (const st of body) {
      if (st.kind !== kind) continue;
      if (found) duplicate(accept, label, st.span, found.span);
      else found = st as Extract<A.DirectorStmt, { kind: K }>;
    }
    return found;
  };
  const failoverStmt = once('failover', 'failover');
  const advert = once('advert', 'advert');
  const failback = once('failback', 'failback');
  const blockSync = once('sync', 'sync');
  if (blockSync && node.sync) duplicate(accept, 'sync', blockSync.span, node.sync.span);
  const syncStmt = node.sync ?? blockSync;

  let failover: Failover | undefined;
  if (failoverStmt) {
    if (failoverStmt.protocol.value === 'vrrp') {
      failover = {
        protocol: 'vrrp',
        id: failoverStmt.id.value,
        idSpan: failoverStmt.id.span,
        iface: failoverStmt.iface.value,
        ifaceSpan: failoverStmt.iface.span,
        unicast: failoverStmt.unicast !== undefined,
        origin: failoverStmt.span,
      };
    } else accept(unknownWord('unknown-word', 'failover protocol', failoverStmt.protocol, ['vrrp'], 'vrrp (the only one keepalived speaks)'));
  }
  const floating: FloatingAddress[] = body
    .filter((st): st is A.FloatingStmt => st.kind === 'floating')
    .map((st) => ({
      address: st.cidr.value.address,
      prefix: st.cidr.value.prefix,
      family: st.cidr.value.family,
      iface: st.iface.value,
      addressSpan: st.cidr.span,
      ifaceSpan: st.iface.span,
      origin: st.span,
    }));

  return {
    active: a?.value ?? '',
    activeSpan: a?.span ?? node.span,
    backup: b?.value,
    backupSpan: b?.span,
    sync: syncStmt ? { iface: syncStmt.iface.value, id: syncStmt.id?.value ?? 0, origin: syncStmt.span } : undefined,
    failover,
    advert: advert ? { ms: advert.interval.value, origin: advert.span } : undefined,
    failback: failback ? (failback.after ? { mode: 'after', delayMs: failback.after.value, origin: failback.span } : { mode: 'never', origin: failback.span }) : undefined,
    floating,
    origin: node.span,
  };
}

function lowerTimeouts(node: A.TimeoutsNode, accept: Accept): ClusterTimeouts {
  const t = { tcp: 0, tcpfin: 0, udp: 0 };
  const seen = new Map<string, Span>();
  for (const st of node.body) {
    const first = seen.get(st.which.value);
    if (first) {
      duplicate(accept, `timeout ${st.which.value}`, st.span, first);
      continue;
    }
    seen.set(st.which.value, st.span);
    t[st.which.value] = st.duration.value;
  }
  return { ...t, origin: node.span };
}

const METHODS = new Set<Method>(['nat', 'dr', 'tun']);

/** Lower a forward spec; words outside the closed vocabulary are reported with a suggestion. */
export function lowerForward(spec: A.ForwardSpec, accept: Accept): Forward | undefined {
  const method = spec.method.value as Method;
  if (!METHODS.has(method)) {
    accept(unknownWord('unknown-method', 'forwarding method', spec.method, [...METHODS], 'nat (masquerading), dr (direct routing) or tun (IP tunnelling)', FOREIGN_METHODS));
    return undefined;
  }
  let tunType: TunType | undefined;
  if (spec.tunType) {
    if (isTunType(spec.tunType.value)) tunType = spec.tunType.value;
    else accept(unknownWord('tun-options', 'tunnel type', spec.tunType, [...TUN_TYPES], choices(TUN_TYPES, DEFAULT_TUN_TYPE)));
  } else if (method === 'tun') {
    tunType = DEFAULT_TUN_TYPE;
  }
  let tunCsum: Forward['tunCsum'];
  if (spec.csum) {
    if ((TUN_CSUMS as readonly string[]).includes(spec.csum.value)) tunCsum = spec.csum.value as TunCsum;
    else accept(unknownWord('tun-options', 'tunnel checksum option', spec.csum, [...TUN_CSUMS], choices(TUN_CSUMS, DEFAULT_TUN_CSUM)));
  }
  return { method, tunType, tunPort: spec.tunPort?.value, tunCsum, origin: spec.span };
}

/** `ipip (the default), gue or gre`: the words a setting takes, its default first. */
function choices(words: readonly string[], def: string): string {
  const rest = words.filter((w) => w !== def);
  return `${def} (the default), ${rest.slice(0, -1).join(', ')}${rest.length > 1 ? ' or ' : ''}${rest[rest.length - 1] ?? ''}`;
}

function unknownWord(
  code: 'unknown-method' | 'tun-options' | 'unknown-word',
  what: string,
  word: A.Name,
  known: string[],
  choices: string,
  aliases: Readonly<Record<string, ForeignWord>> = {},
): Diagnostic {
  const guess = suggestWord(word.value, known, aliases);
  return diag(code, {
    summary: `unknown ${what} \`${word.value}\``,
    detail: `${guess ? `Did you mean \`${guess.word}\`?${guess.why ? ` (${guess.why}.)` : ''} ` : ''}The ${what} is one of ${choices}.`,
    subject: word.span,
  });
}

function lowerService(node: A.ServiceNode, accept: Accept): Service {
  const firstOf = new Map<string, Span>();
  const single = <T extends A.ServiceStmt>(kind: T['kind'], label: string): T | undefined => {
    let found: T | undefined;
    for (const st of node.body) {
      if (st.kind !== kind) continue;
      if (found) duplicate(accept, label, st.span, found.span);
      else found = st as T;
    }
    if (found) firstOf.set(kind, found.span);
    return found;
  };
  const vip = single<A.VipStmt>('vip', 'vip');
  const fwmark = single<A.FwmarkStmt>('fwmark', 'fwmark');
  const sched = single<A.SchedulerStmt>('scheduler', 'scheduler');
  const pers = single<A.PersistenceStmt>('persistence', 'persistence');
  const ops = single<A.OpsStmt>('ops', 'ops');
  const fwd = single<A.ForwardStmt>('forward', 'forward');
  const checkStmt = single<A.CheckStmt>('check', 'check');
  const onFailureStmt = single<A.OnFailureStmt>('on-failure', 'on-failure');
  const sorryStmt = single<A.SorryStmt>('sorry', 'sorry');

  if (vip && fwmark) {
    accept(
      diag('conflicting-setting', {
        summary: `service ${node.name.value} has both a vip and a fwmark`,
        detail: 'A virtual service is either one address/protocol/port (`vip`) or a firewall mark (`fwmark N { match ... }`) that groups several. Keep one; split the service if you need both.',
        subject: fwmark.span,
        notes: [{ message: 'the vip is here', span: vip.span }],
      }),
    );
  }

  let address: ServiceAddress | undefined;
  if (vip) {
    address = {
      kind: 'vip',
      proto: vip.proto.value,
      address: vip.address.value,
      family: familyOf(vip.address.value) as Family,
      port: vip.port.value,
      origin: vip.span,
      addressSpan: vip.address.span,
      protoSpan: vip.proto.span,
      portSpan: vip.port.span,
    };
  } else if (fwmark) {
    const matches = fwmark.matches.map((m) => ({
      proto: m.proto.value,
      address: m.address.value,
      family: familyOf(m.address.value) as Family,
      ports: m.ports.map((p) => p.value),
      origin: m.span,
    }));
    address = { kind: 'fwmark', mark: fwmark.mark.value, family: matches[0]?.family ?? 4, matches, origin: fwmark.span };
  }

  const forward = fwd ? lowerForward(fwd.spec, accept) : undefined;
  const check = checkStmt ? lowerCheck(checkStmt.spec, accept) : undefined;
  const servers: RealServer[] = node.body
    .filter((s): s is A.ServerStmt => s.kind === 'server')
    .map((s) => ({
      role: 'server' as const,
      host: s.host.value,
      hostSpan: s.host.span,
      address: s.address?.value,
      addressSpan: s.address?.span,
      port: s.port?.value,
      portSpan: s.port?.span,
      weight: s.drain ? 0 : (s.weight?.value ?? 1),
      weightGiven: s.weight !== undefined,
      upper: s.upper?.value ?? 0,
      lower: s.lower?.value ?? 0,
      thresholdSpan: s.lower?.span ?? s.upper?.span,
      drain: s.drain !== undefined,
      forward: s.forward ? lowerForward(s.forward, accept) : forward,
      forwardWritten: s.forward !== undefined || fwd !== undefined,
      // A server's own check replaces the service's (timing included).
      check: s.check ? lowerCheck(s.check, accept) : check,
      origin: s.span,
    }));

  let onFailure: OnFailure = { mode: 'quiesce', origin: undefined };
  if (onFailureStmt) {
    const mode = onFailureStmt.mode.value;
    if (mode === 'quiesce' || mode === 'remove') onFailure = { mode, origin: onFailureStmt.span };
    else accept(unknownWord('unknown-word', 'on-failure mode', onFailureStmt.mode, ['quiesce', 'remove'], 'quiesce (weight 0: its connections finish; the default) or remove (it leaves the table)'));
  }
  // The sorry server is reached like the servers: by the service's forward.
  const sorry: RealServer | undefined = sorryStmt && {
    role: 'sorry',
    host: sorryStmt.host.value,
    hostSpan: sorryStmt.host.span,
    address: sorryStmt.address?.value,
    addressSpan: sorryStmt.address?.span,
    port: sorryStmt.port?.value,
    portSpan: sorryStmt.port?.span,
    weight: 1,
    weightGiven: false,
    upper: 0,
    lower: 0,
    thresholdSpan: undefined,
    drain: false,
    forward,
    forwardWritten: fwd !== undefined,
    check: undefined,
    origin: sorryStmt.span,
  };

  return {
    name: node.name.value,
    nameSpan: node.name.span,
    origin: node.span,
    address,
    scheduler: sched?.name.value ?? DEFAULT_SCHEDULER,
    schedulerSpan: sched?.name.span,
    flags: (sched?.flags ?? []).map((f) => ({ name: f.value, span: f.span })),
    persistence: pers
      ? {
          // `-p` alone means ipvsadm's default timeout.
          timeout: pers.timeout?.value ?? DEFAULT_PERSISTENCE,
          netmask: pers.netmask?.value,
          netmaskSpan: pers.netmask?.span,
          engine: pers.engine?.value,
          engineSpan: pers.engine?.span,
          origin: pers.span,
        }
      : undefined,
    ops: ops?.span,
    forward,
    servers,
    check,
    onFailure,
    sorry,
  };
}

const CHECK_KINDS = ['tcp', 'http', 'https', 'dns', 'exec', 'none'] as const;
type CheckKind = (typeof CHECK_KINDS)[number];

/** The options each kind of check takes (beyond the timing every kind but `none` takes). */
const CHECK_OPTIONS: Record<CheckKind, readonly (keyof A.CheckSpec)[]> = {
  tcp: ['port'],
  http: ['port', 'path', 'status', 'host'],
  https: ['port', 'path', 'status', 'host'],
  dns: ['port', 'name', 'type'],
  exec: ['program', 'args'],
  none: [],
};
const TIMING: readonly (keyof A.CheckSpec)[] = ['every', 'timeout', 'retries'];
const OPTION_WORDS: Partial<Record<keyof A.CheckSpec, string>> = { program: 'a program', args: '`args`' };
/** What a kind of check cannot do without. */
const REQUIRED: Partial<Record<CheckKind, { readonly option: keyof A.CheckSpec; readonly what: string; readonly example: string }>> = {
  dns: { option: 'name', what: 'a DNS name to ask for', example: 'check dns name "health.example.org"' },
  exec: { option: 'program', what: 'the program to run', example: 'check exec "/usr/local/lib/lvs/check-app"' },
};

/** Lower a check; an unknown kind, an option that does not fit the kind, or a missing name or program is reported. */
export function lowerCheck(spec: A.CheckSpec, accept: Accept): HealthCheck | undefined {
  const kind = spec.kind.value as CheckKind;
  if (!(CHECK_KINDS as readonly string[]).includes(kind)) {
    accept(unknownWord('unknown-word', 'check kind', spec.kind, [...CHECK_KINDS], 'tcp, http, https, dns, exec or none'));
    return undefined;
  }
  const allowed = new Set([...CHECK_OPTIONS[kind], ...(kind === 'none' ? [] : TIMING)]);
  let ok = true;
  for (const key of ['program', 'port', 'path', 'status', 'host', 'name', 'type', 'args', 'every', 'timeout', 'retries'] as const) {
    const given = spec[key];
    if (!given || allowed.has(key)) continue;
    ok = false;
    accept(
      diag('misplaced-setting', {
        summary: `${OPTION_WORDS[key] ?? `\`${key}\``} does not apply to a ${kind} check`,
        detail: checkForms(kind),
        subject: given.span,
        context: spec.span,
      }),
    );
  }
  const required = REQUIRED[kind];
  if (required && !spec[required.option]) {
    ok = false;
    accept(diag('missing-setting', { summary: `a ${kind} check needs ${required.what}`, detail: `Give ${required.what}: \`${required.example}\`.`, subject: spec.kind.span, context: spec.span }));
  }
  if (!ok) return undefined;
  if (kind === 'none') return { kind: 'none', origin: spec.span };
  const timing: CheckTiming = {
    everyMs: spec.every?.value ?? CHECK_DEFAULTS.everyMs,
    timeoutMs: spec.timeout?.value ?? CHECK_DEFAULTS.timeoutMs,
    retries: spec.retries?.value ?? CHECK_DEFAULTS.retries,
    everySpan: spec.every?.span,
    timeoutSpan: spec.timeout?.span,
    retriesSpan: spec.retries?.span,
  };
  const base = { origin: spec.span, timing };
  switch (kind) {
    case 'tcp':
      return { kind, ...base, port: spec.port?.value, portSpan: spec.port?.span };
    case 'http':
    case 'https':
      return {
        kind,
        ...base,
        port: spec.port?.value,
        portSpan: spec.port?.span,
        path: spec.path?.value ?? '/',
        pathSpan: spec.path?.span,
        status: spec.status?.value ?? { min: 200, max: 200 },
        statusSpan: spec.status?.span,
        host: spec.host?.value,
        hostSpan: spec.host?.span,
      };
    case 'dns':
      return { kind, ...base, port: spec.port?.value, portSpan: spec.port?.span, name: spec.name!.value, nameSpan: spec.name!.span, type: spec.type?.value ?? 'A', typeSpan: spec.type?.span };
    case 'exec':
      return { kind, ...base, path: spec.program!.value, pathSpan: spec.program!.span, args: (spec.args?.values ?? []).map((a) => ({ value: a.value, span: a.span })) };
  }
}

function checkForms(kind: CheckKind): string {
  const forms: Record<CheckKind, string> = {
    tcp: '`check tcp [port N]`',
    http: '`check http [port N] [path "P"] [status C|C-C] [host "NAME"]`',
    https: '`check https [port N] [path "P"] [status C|C-C] [host "NAME"]`',
    dns: '`check dns name "N" [type T] [port N]`',
    exec: '`check exec "/ABSOLUTE/PATH" [args "A"...]`',
    none: '`check none` (on a server line: this server is not checked)',
  };
  return `A ${kind} check is written ${forms[kind]}${kind === 'none' ? '' : ', then optionally `every D timeout D retries N`'}.`;
}
