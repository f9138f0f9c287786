/** Names and references: duplicates (both occurrences named), unknown hosts (with suggestions), jump-host loops. */
import { diag } from '../../lang/diagnostics.js';
import { suggest } from '../../lang/suggest.js';
import type { Span } from '../../lang/source.js';
import { directorNames, serviceVips, type Cluster, type Host, type Interface } from '../ir.js';
import { serviceKey, type ServiceId } from '../state.js';
import type { ClusterRule, HostRule, RuleContext, ServerRule, ServiceRule } from './context.js';

function unknownHost(ctx: RuleContext, name: string, span: Span, role: string): void {
  const guess = suggest(name, [...ctx.cluster.hostsByName.keys()]);
  ctx.accept(
    diag('unknown-host', {
      summary: `unknown host ${name}`,
      detail: `${guess ? `Did you mean ${guess}? ` : ''}${role} must name a host declared with \`host ${name} { ... }\`.`,
      subject: span,
    }),
  );
}

/**
 * Items grouped by key, in order: one pass, each item appended to its group
 * (a group is never copied, so 10,000 declarations of one name cost 10,000 steps).
 */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Two hosts with one name: both are reported. */
export const duplicateHosts: ClusterRule = (cluster, ctx) => {
  const byName = groupBy(cluster.hosts, (h) => h.name);
  for (const [name, hosts] of byName) {
    if (hosts.length < 2) continue;
    for (const h of hosts) {
      const other = hosts.find((o) => o !== h)!;
      ctx.accept(
        diag('duplicate-host', {
          summary: `host ${name} is declared ${hosts.length} times`,
          detail: 'Host names identify machines; give each host one block (and a unique name).',
          subject: h.nameSpan,
          notes: [{ message: 'also declared here', span: other.nameSpan }],
        }),
      );
    }
  }
};

/** Two services with one name, or with one identity (protocol, VIP and port, or fwmark): both are reported. */
export const duplicateServices: ClusterRule = (cluster, ctx) => {
  const groups = new Map<string, { span: Span; label: string }[]>();
  const add = (key: string, span: Span, label: string) => {
    const group = groups.get(key);
    if (group) group.push({ span, label });
    else groups.set(key, [{ span, label }]);
  };
  for (const s of cluster.services) {
    add(`name ${s.name}`, s.nameSpan, `service name ${s.name}`);
    const a = s.address;
    if (!a) continue;
    const id: ServiceId = a.kind === 'vip' ? { kind: 'addr', proto: a.proto, address: a.address, port: a.port } : { kind: 'fwmark', mark: a.mark, family: a.family };
    if (a.kind === 'fwmark') {
      add(`id ${serviceKey(id)}`, a.origin, serviceKey(id));
      // A marked address/port is an identity too: one packet cannot belong to two services.
      for (const m of a.matches) for (const p of m.ports) add(`port ${m.proto} ${m.address} ${p}`, m.origin, `${m.proto} ${m.address} port ${p}`);
    } else {
      add(`port ${a.proto} ${a.address} ${a.port}`, a.origin, serviceKey(id));
    }
  }
  for (const entries of groups.values()) {
    if (entries.length < 2) continue;
    for (const e of entries) {
      const other = entries.find((o) => o !== e)!;
      ctx.accept(
        diag('duplicate-service', {
          summary: `${e.label} is declared twice`,
          detail: 'Each virtual service needs its own name and its own protocol/VIP/port (or firewall mark); IPVS keeps one entry per identity. Merge the two services or change one.',
          subject: e.span,
          notes: [{ message: 'also declared here', span: other.span }],
        }),
      );
    }
  }
};

/**
 * The same host twice in one service, compared by the port the destination
 * gets (a server without `port` gets the service's): `server web1` and `server
 * web1 port 80` under a port-80 VIP are one destination, which the kernel refuses twice.
 */
export const duplicateServers: ServiceRule = (service, ctx) => {
  const seen = new Map<string, Span>();
  const a = service.address;
  const servicePort = a?.kind === 'vip' ? a.port : 0;
  for (const s of service.servers) {
    // Two lines naming two different addresses of one host are two destinations.
    const key = `${s.host} ${s.address ?? '-'}:${s.port ?? servicePort}`;
    const first = seen.get(key);
    if (first) {
      ctx.accept(
        diag('duplicate-server', {
          summary: `server ${s.host} is listed twice in service ${service.name}`,
          detail: 'IPVS keeps one destination per address and port. Remove one line, give them different `port`s (NAT only), or different `address`es of the host.',
          subject: s.hostSpan,
          notes: [{ message: 'first listed here', span: first }],
        }),
      );
    } else seen.set(key, s.hostSpan);
  }
};

/** Every server names a declared host. */
export const serverHostExists: ServerRule = (server, _service, ctx) => {
  if (!ctx.cluster.hostsByName.has(server.host)) unknownHost(ctx, server.host, server.hostSpan, server.role === 'sorry' ? 'A sorry server' : 'A server');
};

/** A director is not a real server of its own table. */
export const serverIsNotDirector: ServerRule = (server, service, ctx) => {
  if (!directorNames(ctx.cluster).includes(server.host)) return;
  ctx.accept(
    diag('server-is-director', {
      summary: `director ${server.host} is listed as a ${server.role === 'sorry' ? 'sorry' : 'real'} server of ${service.name}`,
      detail: 'lvsc does not configure a director as its own real server (the "local node"). Serve the service from another host, or run it outside LVS.',
      subject: server.hostSpan,
    }),
  );
};

/** The director statement names declared hosts, not one twice, and there is one when there are services. */
export const directorsExist: ClusterRule = (cluster, ctx) => {
  const d = cluster.directors;
  if (!d) {
    const first = cluster.services[0];
    if (first)
      ctx.accept(
        diag('no-director', {
          summary: 'services are declared but no director',
          detail: 'Add `director HOST` (or `director A B` for an active/backup pair) naming the host that runs the IPVS table.',
          subject: first.nameSpan,
        }),
      );
    return;
  }
  if (!cluster.hostsByName.has(d.active)) unknownHost(ctx, d.active, d.activeSpan, 'A director');
  if (d.backup !== undefined && !cluster.hostsByName.has(d.backup)) unknownHost(ctx, d.backup, d.backupSpan!, 'A director');
  if (d.backup === d.active)
    ctx.accept(
      diag('duplicate-director', {
        summary: `director ${d.active} is named twice`,
        detail: 'A director pair is two different hosts: `director ACTIVE BACKUP`.',
        subject: d.backupSpan,
      }),
    );
};

/** Directors have interfaces (their segments and routes are what the checks reason about). */
export const directorsHaveInterfaces: ClusterRule = (cluster, ctx) => {
  for (const name of directorNames(cluster)) {
    const h = cluster.hostsByName.get(name);
    if (!h || h.interfaces.length) continue;
    ctx.accept(
      diag('director-no-interface', {
        summary: `director ${name} has no interfaces`,
        detail: `A director holds the VIPs and reaches the real servers: declare its interfaces, e.g. \`interface eth0 10.1.0.2/24\`, in host ${name}.`,
        subject: name === cluster.directors!.active ? cluster.directors!.activeSpan : cluster.directors!.backupSpan,
        notes: [{ message: `host ${name} is declared here`, span: h.nameSpan }],
      }),
    );
  }
};

/** The sync interface exists on every director. */
export const syncInterface: ClusterRule = (cluster, ctx) => {
  const d = cluster.directors;
  if (!d?.sync) return;
  for (const name of directorNames(cluster)) {
    const h = cluster.hostsByName.get(name);
    if (!h || !h.interfaces.length || h.interfaces.some((i) => i.dev === d.sync!.iface)) continue;
    const guess = suggest(d.sync.iface, [...new Set(h.interfaces.map((i) => i.dev))]);
    ctx.accept(
      diag('sync-interface', {
        summary: `director ${name} has no interface ${d.sync.iface} for connection sync`,
        detail: `${guess ? `Did you mean ${guess}? ` : ''}The sync daemon multicasts on this interface on both directors; declare it in host ${name} or name an interface it has.`,
        subject: d.sync.origin,
      }),
    );
  }
};

/** A `via` names a declared host, and following `via` never comes back to a host. */
export const viaChain: HostRule = (host, ctx) => {
  const via = host.ssh.via;
  if (via === undefined) return;
  if (!ctx.cluster.hostsByName.has(via)) {
    unknownHost(ctx, via, host.ssh.viaSpan!, 'A jump host (`via`)');
    return;
  }
  const loop = viaLoopFrom(host, ctx.cluster);
  if (loop)
    ctx.accept(
      diag('via-loop', {
        summary: `the jump host chain of ${host.name} loops`,
        detail: `Following \`via\` goes ${chainText(loop)}. A jump host must be reachable without itself; break the loop by giving one host a direct \`ssh\`.`,
        subject: host.ssh.viaSpan,
      }),
    );
};

/** A path of hosts, by position (a loop of 10,000 hosts is not copied for each of them). */
interface Path {
  readonly length: number;
  at(i: number): string;
}

/**
 * The loop `via` leads a host back to itself through, host to host
 * (`a, b, a`), or undefined. The `via` links form a graph where each host
 * points to at most one other, so every loop is found in one walk of the
 * whole cluster (not one walk per host, which made a chain of 4,000 hosts
 * take 80 s); a host declared twice (an error of its own) walks from its
 * own `via` as before.
 */
function viaLoopFrom(host: Host, cluster: Cluster): Path | undefined {
  if (cluster.hostsByName.get(host.name) !== host) {
    const path = walkViaLoop(host, cluster);
    return path && { length: path.length, at: (i) => path[i] };
  }
  const onLoop = viaLoops(cluster).get(host.name);
  if (!onLoop) return undefined;
  const { cycle, index } = onLoop;
  return { length: cycle.length + 1, at: (i) => cycle[(index + i) % cycle.length] };
}

interface OnLoop {
  readonly cycle: readonly string[];
  readonly index: number;
}

const viaLoopsCache = new WeakMap<Cluster, Map<string, OnLoop>>();

/** Every host on a `via` loop, with its loop (one walk over all hosts: each is visited once). */
function viaLoops(cluster: Cluster): Map<string, OnLoop> {
  let loops = viaLoopsCache.get(cluster);
  if (loops) return loops;
  loops = new Map();
  const done = new Set<string>();
  for (const start of cluster.hostsByName.keys()) {
    if (done.has(start)) continue;
    // Follow `via` until a host seen before: on this walk (a loop closes) or an earlier one.
    const walk: string[] = [];
    const position = new Map<string, number>();
    let cur: string | undefined = start;
    while (cur !== undefined && !done.has(cur) && !position.has(cur)) {
      position.set(cur, walk.length);
      walk.push(cur);
      cur = cluster.hostsByName.get(cur)?.ssh.via;
    }
    if (cur !== undefined && position.has(cur)) {
      const cycle = walk.slice(position.get(cur)!);
      cycle.forEach((name, index) => loops!.set(name, { cycle, index }));
    }
    for (const name of walk) done.add(name);
  }
  viaLoopsCache.set(cluster, loops);
  return loops;
}

/** The walk from one host's own `via` (for a host declared twice, whose name leads to its first declaration). */
function walkViaLoop(host: Host, cluster: Cluster): string[] | undefined {
  const path = [host.name];
  const seen = new Set(path);
  let cur: string | undefined = host.ssh.via;
  while (cur !== undefined) {
    if (seen.has(cur)) return cur === host.name ? [...path, cur] : undefined;
    path.push(cur);
    seen.add(cur);
    cur = cluster.hostsByName.get(cur)?.ssh.via;
  }
  return undefined;
}

/** `a → b → a`; a long loop by its first and last hosts (one message per host of a loop of 10,000, each naming all, would be 10^8 names). */
function chainText(path: Path): string {
  const SHOWN = 8;
  const names: string[] = [];
  if (path.length <= SHOWN + 2) for (let i = 0; i < path.length; i++) names.push(path.at(i));
  else {
    for (let i = 0; i < SHOWN; i++) names.push(path.at(i));
    names.push(`… (${path.length - SHOWN - 2} more)`, path.at(path.length - 2), path.at(path.length - 1));
  }
  return names.join(' → ');
}

/** A VIP is not some host's own interface address. */
export const vipNotHostAddress: ServiceRule = (service, ctx) => {
  const byAddress = interfacesByAddress(ctx.cluster);
  for (const vip of serviceVips(service)) {
    for (const { host, iface } of byAddress.get(vip.address) ?? []) {
      ctx.accept(
        diag('vip-is-host-address', {
          summary: `VIP ${vip.address} is also an interface address of host ${host.name}`,
          detail: 'A VIP is a service address that lvsc adds to the director (and, for DR/TUN, to the real servers without ARP); it cannot be a host\'s own address. Pick an unused address on the segment.',
          subject: vip.origin,
          notes: [{ message: `${host.name}'s interface`, span: iface.origin }],
        }),
      );
    }
  }
};

const interfacesByAddressCache = new WeakMap<Cluster, Map<string, { host: Host; iface: Interface }[]>>();

/** Each interface address with its hosts, in host order, each host's first interface with it (built once per cluster, not once per service). */
function interfacesByAddress(cluster: Cluster): Map<string, { host: Host; iface: Interface }[]> {
  let index = interfacesByAddressCache.get(cluster);
  if (index) return index;
  index = new Map();
  for (const host of cluster.hosts) {
    const seen = new Set<string>();
    for (const iface of host.interfaces) {
      if (seen.has(iface.address)) continue;
      seen.add(iface.address);
      const entries = index.get(iface.address);
      if (entries) entries.push({ host, iface });
      else index.set(iface.address, [{ host, iface }]);
    }
  }
  interfacesByAddressCache.set(cluster, index);
  return index;
}

/** An interface whose L2 segment is named with `segment` (else the segment is its subnet, which names are never). */
function namedSegment(i: Interface): boolean {
  return i.segment !== i.network;
}

/**
 * One address on two interfaces (of any hosts) is a conflict on the wire,
 * unless both sit on explicitly named, different segments: those are separate
 * networks (every VirtualBox NAT guest has 10.0.2.15 on its own).
 */
export const uniqueInterfaceAddresses: ClusterRule = (cluster, ctx) => {
  const seen = new Map<string, { host: string; iface: Interface }[]>();
  for (const h of cluster.hosts) {
    for (const i of h.interfaces) {
      const before = seen.get(i.address) ?? [];
      const first = before.find((b) => !(namedSegment(b.iface) && namedSegment(i) && b.iface.segment !== i.segment));
      if (first) {
        ctx.accept(
          diag('duplicate-interface-address', {
            summary: `address ${i.address} is on ${first.host} and ${h.name}`,
            detail: `Two interfaces with one address break ARP and routing. Give each interface its own address${namedSegment(i) || namedSegment(first.iface) ? '' : ', or, if they are on separate networks, name each one\'s `segment`'}.`,
            subject: i.origin,
            notes: [{ message: 'first used here', span: first.iface.origin }],
          }),
        );
      } else seen.set(i.address, [...before, { host: h.name, iface: i }]);
    }
  }
};

/**
 * Two hosts reached at one SSH endpoint (address or alias, port, and jump
 * host) are one machine described twice: their plans would overwrite each
 * other. The user is left out (root@ and deploy@ reach the same machine);
 * the jump host is not, since one address behind two jump hosts is two
 * machines (every VirtualBox NAT guest is 10.0.2.15).
 */
export const distinctSshEndpoints: ClusterRule = (cluster, ctx) => {
  const seen = new Map<string, Host>();
  for (const h of cluster.hosts) {
    const key = `${h.ssh.host.toLowerCase()} ${h.ssh.port ?? 22} ${h.ssh.via ?? ''}`;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, h);
      continue;
    }
    ctx.accept(
      diag('duplicate-ssh', {
        summary: `hosts ${first.name} and ${h.name} are both reached at ${h.ssh.host}${h.ssh.port ? ` port ${h.ssh.port}` : ''}${h.ssh.via ? ` via ${h.ssh.via}` : ''}`,
        detail: `One SSH endpoint is one machine: lvsc would read and write it as ${first.name} and again as ${h.name}, each plan undoing the other. Give each host its own \`ssh\` address, or merge the two hosts into one.`,
        subject: h.ssh.origin,
        notes: [{ message: `${first.name} is reached here`, span: first.ssh.origin }],
      }),
    );
  }
};
