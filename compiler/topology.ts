/**
 * How hosts relate on the network: shared L2 segments, which address of a
 * real server the director uses (its RIP), and whether the director can route
 * to an address. Validation rules and the desired-state builder both ask
 * these questions, so the answers live here once.
 */
import { addressClass, contains, parseCidr, type Cidr } from '../lang/address.js';
import type { Cluster, FloatingAddress, Host, Interface, RealServer, Service } from './ir.js';
import { directorNames, serversAndSorry, serviceFamily, serviceVips } from './ir.js';
import type { Family, Method } from './state.js';

/** The directors' hosts that exist (active first), once per cluster: rules ask per server. */
const directorsCache = new WeakMap<Cluster, readonly Host[]>();
export function directorHosts(cluster: Cluster): readonly Host[] {
  let hosts = directorsCache.get(cluster);
  if (!hosts) {
    hosts = directorNames(cluster)
      .map((n) => cluster.hostsByName.get(n))
      .filter((h): h is Host => h !== undefined);
    directorsCache.set(cluster, hosts);
  }
  return hosts;
}

/** The active director's host, if declared. */
export function activeDirector(cluster: Cluster): Host | undefined {
  return cluster.directors ? cluster.hostsByName.get(cluster.directors.active) : undefined;
}

export interface SegmentLink {
  readonly server: Interface;
  readonly director: Interface;
}

/**
 * The interfaces of a server's host the director may send its traffic to: the
 * one whose address its `address` names (none when the host has no such
 * address: validation reports server-address), else every one.
 */
export function ripInterfaces(host: Host, server: Pick<RealServer, 'address'> | undefined): readonly Interface[] {
  const chosen = server?.address;
  return chosen === undefined ? host.interfaces : host.interfaces.filter((i) => i.address === chosen);
}

/**
 * The first (server interface, director interface) pair on one L2 segment, of
 * one family; with `server`, only among the interfaces its `address` allows.
 */
export function sharedSegment(host: Host, director: Host, family: Family, server?: Pick<RealServer, 'address'>): SegmentLink | undefined {
  for (const si of ripInterfaces(host, server)) {
    if (si.family !== family) continue;
    for (const di of director.interfaces) if (di.family === family && di.segment === si.segment) return { server: si, director: di };
  }
  return undefined;
}

export type RouteKind = 'connected' | 'route' | 'gateway';

/** Parsed networks, once per interface or route (routeKind runs once per destination: 100,000 times). */
const parsedNetworks = new WeakMap<object, Cidr | undefined>();
function networkOfNode(node: { readonly network: string } | { readonly dst: string }): Cidr | undefined {
  if (parsedNetworks.has(node)) return parsedNetworks.get(node);
  const net = parseCidr('network' in node ? node.network : node.dst);
  parsedNetworks.set(node, net);
  return net;
}

/** How `from` reaches `address`: on a connected segment, by an explicit route, or only by its default gateway. */
export function routeKind(from: Host, address: string): RouteKind | undefined {
  for (const i of from.interfaces) {
    const net = networkOfNode(i);
    if (net && contains(net, address)) return 'connected';
  }
  for (const r of from.routes) {
    const net = networkOfNode(r);
    if (net && net.prefix > 0 && contains(net, address)) return 'route';
  }
  for (const r of from.routes) {
    const net = networkOfNode(r);
    if (net && net.prefix === 0 && contains(net, address)) return 'gateway';
  }
  const family = address.includes(':') ? 6 : 4;
  if (from.gateways.some((g) => g.family === family)) return 'gateway';
  return undefined;
}

/** The method a real server is reached by (the service's unless it overrides). */
export function methodOf(server: RealServer): Method | undefined {
  return server.forward?.method;
}

export type RipResolution =
  | { readonly ok: true; readonly address: string; readonly family: Family; readonly iface: Interface; readonly link?: SegmentLink; readonly route?: RouteKind }
  | { readonly ok: false; readonly why: 'no-host' | 'no-director' | 'not-host-address' | 'no-family' | 'no-segment' | 'unroutable' | 'private-via-gateway'; readonly candidates: readonly Interface[] };

/**
 * The real server's address the director sends to (its RIP): the one its
 * `address` names, else for dr and nat the address on a segment shared with
 * the active director; for tun the address the director routes to best
 * (connected, then an explicit route, then — public addresses only — the
 * default gateway). The first wins among equals (`ripChoices` says when there
 * were several).
 */
export function resolveRip(cluster: Cluster, service: Service, server: RealServer): RipResolution {
  const host = cluster.hostsByName.get(server.host);
  if (!host) return { ok: false, why: 'no-host', candidates: [] };
  const director = activeDirector(cluster);
  if (!director) return { ok: false, why: 'no-director', candidates: [] };
  const family = serviceFamily(service);
  const method = methodOf(server);
  const allowed = ripInterfaces(host, server);
  if (!allowed.length) return { ok: false, why: 'not-host-address', candidates: host.interfaces };
  const sameFamily = allowed.filter((i) => i.family === family);

  if (method === 'tun') {
    // IPVS tunnels may carry a service to a server of the other family; prefer the same family.
    const candidates = sameFamily.length ? sameFamily : [...allowed];
    if (!candidates.length) return { ok: false, why: 'no-family', candidates };
    const rank: Record<RouteKind, number> = { connected: 0, route: 1, gateway: 2 };
    let best: { iface: Interface; route: RouteKind } | undefined;
    let privateViaGateway = false;
    for (const iface of candidates) {
      const route = routeKind(director, iface.address);
      if (!route) continue;
      if (route === 'gateway' && addressClass(iface.address) !== 'routable') {
        privateViaGateway = true;
        continue;
      }
      if (!best || rank[route] < rank[best.route]) best = { iface, route };
    }
    if (best) return { ok: true, address: best.iface.address, family: best.iface.family, iface: best.iface, route: best.route };
    return { ok: false, why: privateViaGateway ? 'private-via-gateway' : 'unroutable', candidates };
  }

  if (!sameFamily.length) return { ok: false, why: 'no-family', candidates: [...allowed] };
  const link = sharedSegment(host, director, family, server);
  if (!link) return { ok: false, why: 'no-segment', candidates: sameFamily };
  return { ok: true, address: link.server.address, family, iface: link.server, link };
}

/**
 * The addresses that would do as the server's RIP when it names none: for dr
 * and nat every address of the service's family on a segment shared with the
 * active director, for tun every one the director reaches as well as the
 * best. More than one means `resolveRip` chose the first silently.
 */
export function ripChoices(cluster: Cluster, service: Service, server: RealServer): readonly Interface[] {
  if (server.address !== undefined) return [];
  // The answer depends on the host, the service's family and the method only: once each per cluster (100,000 servers ask).
  let byKey = choicesCache.get(cluster);
  if (!byKey) choicesCache.set(cluster, (byKey = new Map()));
  const key = `${server.host} ${serviceFamily(service)} ${methodOf(server) ?? '-'}`;
  let choices = byKey.get(key);
  if (!choices) byKey.set(key, (choices = findRipChoices(cluster, service, server)));
  return choices;
}

const choicesCache = new WeakMap<Cluster, Map<string, readonly Interface[]>>();

function findRipChoices(cluster: Cluster, service: Service, server: RealServer): readonly Interface[] {
  const host = cluster.hostsByName.get(server.host);
  const director = activeDirector(cluster);
  if (!host || !director) return [];
  const r = resolveRip(cluster, service, server);
  if (!r.ok) return [];
  if (methodOf(server) === 'tun') {
    return host.interfaces.filter(
      (i) => i.family === r.family && routeKind(director, i.address) === r.route && (r.route !== 'gateway' || addressClass(i.address) === 'routable'),
    );
  }
  return host.interfaces.filter((i) => i.family === r.family && director.interfaces.some((d) => d.family === i.family && d.segment === i.segment));
}

/** Every (service, server) pair that names a host (sorry servers included), indexed once per cluster. */
const usesCache = new WeakMap<Cluster, Map<string, { service: Service; server: RealServer }[]>>();
export function serverUses(cluster: Cluster, host: string): readonly { service: Service; server: RealServer }[] {
  let index = usesCache.get(cluster);
  if (!index) {
    index = new Map();
    for (const service of cluster.services) {
      for (const server of serversAndSorry(service)) {
        let list = index.get(server.host);
        if (!list) index.set(server.host, (list = []));
        list.push({ service, server });
      }
    }
    usesCache.set(cluster, index);
  }
  return index.get(host) ?? [];
}

/** A compact description of a host's addresses for messages: `web4 (10.1.1.14/24)`. */
export function describeAddresses(interfaces: readonly Interface[]): string {
  return interfaces.map((i) => `${i.address}/${i.prefix}${i.segment !== i.network ? ` segment ${i.segment}` : ''}`).join(', ');
}

/** The director interface a VIP goes on: the one whose subnet holds it, else the DR segment's, else the one towards the default gateway, else the first. */
export function vipDevice(director: Host, vip: string, family: Family, service: Service, cluster: Cluster): string {
  const sameFamily = director.interfaces.filter((i) => i.family === family);
  const holding = sameFamily.find((i) => contains(parseCidr(i.network)!, vip));
  if (holding) return holding.dev;
  if (service.servers.some((s) => s.forward?.method === 'dr')) {
    for (const s of service.servers) {
      const host = cluster.hostsByName.get(s.host);
      const link = host && sharedSegment(host, director, family, s);
      if (link) return link.director.dev;
    }
  }
  const gw = director.gateways.find((g) => g.family === family);
  const towardsGateway = gw && sameFamily.find((i) => contains(parseCidr(i.network)!, gw.address));
  if (towardsGateway) return towardsGateway.dev;
  return (sameFamily[0] ?? director.interfaces[0]).dev;
}

/** Whether the directors are a pair that fails over by itself (`failover` in a `director A B { ... }` block). */
export function isFailoverPair(cluster: Cluster): boolean {
  const d = cluster.directors;
  return d?.failover !== undefined && d.backup !== undefined;
}

/** A floating address of the failover pair that `director` holds on `segment` (by the interface it names), if any. */
export function floatingOnSegment(cluster: Cluster, director: Host, segment: string, family: Family): FloatingAddress | undefined {
  if (!isFailoverPair(cluster)) return undefined;
  return cluster.directors!.floating.find((f) => f.family === family && director.interfaces.some((i) => i.dev === f.iface && i.segment === segment));
}

/**
 * Where a NAT real server's default route must go: the director's own address
 * on their shared segment or, behind a failover pair, the pair's floating
 * address there (the one that moves with the VIPs). Undefined behind a
 * failover pair with no floating address on that segment.
 */
export function natGateway(cluster: Cluster, director: Host, link: SegmentLink, family: Family): string | undefined {
  if (!isFailoverPair(cluster)) return link.director.address;
  return floatingOnSegment(cluster, director, link.director.segment, family)?.address;
}

/**
 * The interfaces of `director` that a failover pair's VRRP instances run on,
 * with why: the `failover` interface, each floating address's interface and
 * each VIP's interface (one instance per interface, grouped when several).
 * Interfaces the director does not have are left out (other rules say so).
 */
export function vrrpInterfaces(cluster: Cluster, director: Host): Map<string, { readonly segment: string; readonly why: string }> {
  const out = new Map<string, { segment: string; why: string }>();
  const add = (dev: string, why: string) => {
    if (out.has(dev)) return;
    const i = director.interfaces.find((x) => x.dev === dev);
    if (i) out.set(dev, { segment: i.segment, why });
  };
  const d = cluster.directors;
  if (!d?.failover || !director.interfaces.length) return out;
  add(d.failover.iface, 'the failover interface');
  for (const f of d.floating) add(f.iface, `floating ${f.address}`);
  for (const service of cluster.services) {
    if (!service.address) continue;
    for (const vip of serviceVips(service)) add(vipDevice(director, vip.address, vip.family, service, cluster), `VIP ${vip.address}`);
  }
  return out;
}
