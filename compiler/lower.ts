/**
 * AST → IR: resolve defaults, group statements by kind, normalise addresses
 * and networks. Lowering reports only what it must to build the IR (duplicate
 * singleton settings, a second director statement); every LVS rule lives in
 * validate/ and runs on the IR.
 */
import type * as A from '../lang/ast.js';
import { diag, type Accept, type Diagnostic } from '../lang/diagnostics.js';
import { suggest } from '../lang/suggest.js';
import { cidrText, networkOf, familyOf } from '../lang/address.js';
import type { Span } from '../lang/source.js';
import type {
  Cluster,
  ClusterTimeouts,
  Directors,
  Forward,
  Gateway,
  Host,
  Interface,
  RealServer,
  Route,
  Service,
  ServiceAddress,
  SshEndpoint,
} from './ir.js';
import { DEFAULT_PERSISTENCE, DEFAULT_SCHEDULER, DEFAULT_TUN_CSUM, DEFAULT_TUN_TYPE, isTunType, TUN_CSUMS, TUN_TYPES, type TunCsum, type TunType } from './lvs.js';
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
    directors = lowerDirector(item);
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

function lowerDirector(node: A.DirectorNode): Directors {
  const [a, b] = node.hosts;
  return {
    active: a?.value ?? '',
    activeSpan: a?.span ?? node.span,
    backup: b?.value,
    backupSpan: b?.span,
    sync: node.sync ? { iface: node.sync.iface.value, id: node.sync.id?.value ?? 0, origin: node.sync.span } : undefined,
    failover: undefined,
    advert: undefined,
    failback: undefined,
    floating: [],
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
    accept(unknownWord('unknown-method', 'forwarding method', spec.method, [...METHODS], 'nat (masquerading), dr (direct routing) or tun (IP tunnelling)'));
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

function unknownWord(code: 'unknown-method' | 'tun-options', what: string, word: A.Name, known: string[], choices: string): Diagnostic {
  const guess = suggest(word.value, known);
  return diag(code, {
    summary: `unknown ${what} \`${word.value}\``,
    detail: `${guess ? `Did you mean \`${guess}\`? ` : ''}The ${what} is one of ${choices}.`,
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
  const servers: RealServer[] = node.body
    .filter((s): s is A.ServerStmt => s.kind === 'server')
    .map((s) => ({
      role: 'server' as const,
      host: s.host.value,
      hostSpan: s.host.span,
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
      check: undefined,
      origin: s.span,
    }));

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
    check: undefined,
    onFailure: { mode: 'quiesce', origin: undefined },
    sorry: undefined,
  };
}
