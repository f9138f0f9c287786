/**
 * IR → the desired LVS-relevant state of every host, in the same types the
 * agents read live state into (compiler/state.ts). Directors get the "director"
 * column of the method table in language.md, real servers the "real server"
 * column for each method they serve, merged per host.
 *
 * Trusts a validated cluster: call only when validation reported no errors.
 */
import type { BootUnit } from './boot.js';
import type { Cluster, Host, RealServer, Service } from './ir.js';
import { isChecked, serversAndSorry, serviceFamily, serviceVips } from './ir.js';
import { keepalivedConfig, virtualServer, vrrpAddresses, vrrpConfig, type KeepalivedConfig, type KeepalivedVirtualServer, type VrrpAddress } from './keepalived.js';
import type {
  AddressState,
  Family,
  FwmarkRule,
  HostState,
  IpvsDestination,
  IpvsService,
  LinkState,
  RouteState,
  ServiceId,
  SyncDaemon,
} from './state.js';
import {
  allOnesNetmask,
  DEFAULT_TUN_CSUM,
  DEFAULT_TUN_TYPE,
  deviceSysctl,
  FOU_MODULE,
  fouLinkName,
  FTP_HELPER_MODULE,
  HOST_SYSCTLS,
  IPVS_MODULE,
  isPersistenceEngine,
  ownLabel,
  persistenceEngineModule,
  schedulerModule,
  TUNNELS,
} from './lvs.js';
import { activeDirector, isFailoverPair, methodOf, natGateway, resolveRip, sharedSegment, vipDevice, type RipResolution } from './topology.js';

export { vipDevice };

/** What a host is in the cluster. */
export type Role = 'director' | 'backup-director' | 'real-server';

export interface DesiredHost {
  readonly name: string;
  readonly roles: readonly Role[];
  /** Desired state without rendered files (templates/render.ts adds `files`). */
  readonly state: HostState;
  /**
   * The host's declared `gateway`s. lvsc changes nothing for them alone; when
   * it removes a default route of its own (a NAT server leaving), it puts the
   * declared one back rather than leave the host without a default route.
   */
  readonly gateways: readonly { readonly address: string; readonly family: 4 | 6 }[];
  /**
   * On a director with checked services: what keepalived runs there
   * (rendered to /etc/keepalived/keepalived.conf). Those services' IPVS
   * entries carry `owner: 'keepalived'` in `state.ipvs`.
   */
  readonly keepalived?: KeepalivedConfig;
  /**
   * A director of a failover pair: the addresses keepalived's VRRP holds on
   * whichever director is master (never lvsc's to add or remove: VRRP state,
   * not drift), and the advert interval (how long an election takes).
   */
  readonly vrrp?: { readonly addresses: readonly VrrpAddress[]; readonly advertMs: number };
}

/** A director of the cluster, active or backup: it holds the IPVS table. */
export function isDirectorHost(d: { readonly roles: readonly string[] }): boolean {
  return d.roles.includes('director') || d.roles.includes('backup-director');
}

class Builder {
  readonly addresses = new Map<string, AddressState>();
  readonly routes = new Map<string, RouteState>();
  readonly sysctls: Record<string, string> = {};
  readonly modules = new Set<string>();
  readonly links = new Map<string, LinkState>();
  readonly fwmarkRules: FwmarkRule[] = [];
  ipvs: IpvsService[] | null = null;
  syncDaemons: SyncDaemon[] = [];
  roles = new Set<Role>();
  /** The device lists arpSysctls already set (a host in many services asks once per service). */
  readonly arpDone = new Set<string>();

  /** An address lvsc adds: a VIP (a host address, /32 or /128), or with `prefix` a floating address of its subnet. */
  address(dev: string, address: string, family: Family, prefix: number = family === 4 ? 32 : 128): void {
    const key = `${dev} ${address}`;
    if (this.addresses.has(key)) return;
    const label = family === 4 ? ownLabel(dev) : undefined;
    this.addresses.set(key, label ? { dev, address, prefix, label } : { dev, address, prefix });
  }

  sysctl(key: string, value: string | number): void {
    this.sysctls[key] = String(value);
  }

  build(timeouts: HostState['timeouts']): HostState {
    return {
      ipvs: this.ipvs,
      timeouts: this.ipvs ? timeouts : null,
      syncDaemons: this.syncDaemons,
      addresses: [...this.addresses.values()],
      routes: [...this.routes.values()],
      sysctls: Object.fromEntries(Object.entries(this.sysctls).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      modules: [...this.modules].sort(),
      links: [...this.links.values()],
      fwmarkRules: this.fwmarkRules,
      enabledUnits: [],
      files: {},
    };
  }
}

/**
 * `resolveRip`, once per (server host and `address`, service family, method) of a cluster:
 * the answer depends on nothing else, and the director's table and the real
 * servers' setup both ask it for every destination (100,000 times in a large
 * cluster). The IR is not changed after validation, so the cache lives as
 * long as the cluster object.
 */
const ripCache = new WeakMap<Cluster, Map<string, RipResolution>>();
function ripOf(cluster: Cluster, service: Service, server: RealServer): RipResolution {
  let byKey = ripCache.get(cluster);
  if (!byKey) ripCache.set(cluster, (byKey = new Map()));
  const key = `${server.host} ${server.address ?? '-'} ${serviceFamily(service)} ${methodOf(server) ?? '-'}`;
  let rip = byKey.get(key);
  if (!rip) byKey.set(key, (rip = resolveRip(cluster, service, server)));
  return rip;
}

export function serviceId(service: Service): ServiceId {
  const a = service.address!;
  return a.kind === 'vip' ? { kind: 'addr', proto: a.proto, address: a.address, port: a.port } : { kind: 'fwmark', mark: a.mark, family: a.family };
}

/** The IPVS service entry a director holds for a service. */
export function ipvsService(cluster: Cluster, service: Service): IpvsService {
  const family = serviceFamily(service);
  const p = service.persistence;
  let netmask = p?.netmask;
  // The kernel's default is all ones; ipvsadm -Sn prints -M only when it differs.
  if (netmask === allOnesNetmask(family)) netmask = undefined;
  const a = service.address!;
  const destinations: IpvsDestination[] = service.servers.map((server) => destination(cluster, service, server, a.kind === 'vip' ? a.port : 0));
  return {
    id: serviceId(service),
    scheduler: service.scheduler,
    flags: [...new Set(service.flags.map((f) => f.name))].sort(),
    ...(p ? { persistence: netmask ? { timeout: p.timeout, netmask } : { timeout: p.timeout } } : {}),
    ...(p?.engine && isPersistenceEngine(p.engine) ? { pe: p.engine } : {}),
    ops: service.ops !== undefined,
    destinations,
    // A checked service's entries are programmed by keepalived, never by lvsc's ipvsadm.
    ...(isChecked(service) ? { owner: 'keepalived' as const } : {}),
  };
}

function destination(cluster: Cluster, service: Service, server: RealServer, vport: number): IpvsDestination {
  const rip = ripOf(cluster, service, server);
  if (!rip.ok) throw new Error(`bug: desired state built for an unvalidated cluster (no RIP for ${server.host})`);
  const f = server.forward!;
  // DR and TUN cannot remap ports (validated); NAT uses the server's port when given.
  const port = f.method === 'nat' ? (server.port ?? vport) : vport;
  const d: IpvsDestination = { address: rip.address, port, method: f.method, weight: server.weight, upper: server.upper, lower: server.lower };
  if (f.method !== 'tun') return d;
  const tun = f.tunType ?? DEFAULT_TUN_TYPE;
  const tunnel = TUNNELS[tun];
  // ipvsadm prints the checksum option of the tunnels that have one, the kernel's default included.
  return { ...d, tunType: tun, ...(tunnel.udpPort ? { tunPort: f.tunPort } : {}), ...(tunnel.checksum ? { tunCsum: f.tunCsum ?? DEFAULT_TUN_CSUM } : {}) };
}


function buildDirector(cluster: Cluster, b: Builder, director: Host, active: boolean, peer: Host | undefined): KeepalivedConfig | undefined {
  b.roles.add(active ? 'director' : 'backup-director');
  b.ipvs = [];
  b.modules.add(IPVS_MODULE);
  // Stale connections and persistence templates to removed or drained servers expire
  // instead of feeding them (what kube-proxy and Seesaw set).
  b.sysctl(HOST_SYSCTLS.expireNodestConn.key, 1);
  b.sysctl(HOST_SYSCTLS.expireQuiescentTemplate.key, 1);
  const d = cluster.directors!;
  const failover = isFailoverPair(cluster);
  // In a failover pair keepalived starts the sync daemons (`lvs_sync_daemon`): master on the VRRP master.
  if (d.sync && !failover) b.syncDaemons = [{ state: active ? 'master' : 'backup', mcastInterface: d.sync.iface, syncid: d.sync.id }];

  const virtualServers: KeepalivedVirtualServer[] = [];
  for (const service of cluster.services) {
    let entry = ipvsService(cluster, service);
    if (entry.owner === 'keepalived') {
      const a = service.address!;
      const sorry = service.sorry && destination(cluster, service, service.sorry, a.kind === 'vip' ? a.port : 0);
      virtualServers.push(virtualServer(service, entry, sorry));
      entry = { ...entry, keepalived: { quiesce: service.onFailure.mode === 'quiesce', ...(sorry ? { sorry } : {}) } };
    }
    b.ipvs.push(entry);
    b.modules.add(schedulerModule(service.scheduler));
    const engine = service.persistence?.engine;
    if (engine && isPersistenceEngine(engine)) b.modules.add(persistenceEngineModule(engine));
    const family = serviceFamily(service);
    const a = service.address!;
    const nat = service.servers.filter((s) => s.forward?.method === 'nat');
    if (nat.length) {
      if (family === 4) b.sysctl(HOST_SYSCTLS.ipv4Forwarding.key, 1);
      else b.sysctl(HOST_SYSCTLS.ipv6Forwarding.key, 1);
      // FTP carries addresses in its payload: NAT rewrites them only with the helper,
      // which IPVS binds by each connection's own port, so an every-port service (0) needs it too.
      const ports = a.kind === 'vip' ? (a.proto === 'tcp' ? [a.port] : []) : a.matches.filter((m) => m.proto === 'tcp').flatMap((m) => m.ports);
      if (ports.includes(21) || ports.includes(0)) b.modules.add(FTP_HELPER_MODULE);
      // One-armed NAT (clients and servers on one segment): no ICMP redirects around the director.
      if (family === 4) {
        b.sysctl(deviceSysctl('all', 'send_redirects'), 0);
        for (const s of nat) {
          const host = cluster.hostsByName.get(s.host)!;
          const link = sharedSegment(host, director, 4, s);
          if (link) b.sysctl(deviceSysctl(link.director.dev, 'send_redirects'), 0);
        }
      }
    }
    if (a.kind === 'fwmark') {
      for (const m of a.matches) b.fwmarkRules.push({ family: m.family, proto: m.proto, address: m.address, ports: [...m.ports], mark: a.mark });
    }
    // The standby gets the same table but never the VIPs: a pair must not both answer ARP.
    // A failover pair's VIPs are keepalived's (VRRP), on whichever director is master.
    if (active && !failover) for (const vip of serviceVips(service)) b.address(vipDevice(director, vip.address, vip.family, service, cluster), vip.address, vip.family);
  }
  if (failover && statelessFailover(cluster)) b.sysctl(HOST_SYSCTLS.sloppyTcp.key, 1);
  const vrrp = failover && peer ? vrrpConfig(cluster, director, peer) : undefined;
  return virtualServers.length || vrrp ? keepalivedConfig(director, virtualServers, vrrp) : undefined;
}

/**
 * Whether a failover pair's TCP connections can survive a failover without
 * connection sync: every TCP service's scheduler is a hash of the client
 * (`sh`, `mh`), so that both directors, with one table, pick the same server
 * for a connection the new master has no state for. Then the directors get
 * `net.ipv4.vs.sloppy_tcp=1` (IPVS makes a connection from any packet, not
 * only a SYN); with any other scheduler such a packet would go to a random
 * server, which resets it, and the director's own reset is as good.
 */
function statelessFailover(cluster: Cluster): boolean {
  const tcp = cluster.services.filter((s) => s.address && (s.address.kind === 'vip' ? s.address.proto === 'tcp' : s.address.matches.some((m) => m.proto === 'tcp')));
  return tcp.length > 0 && tcp.every((s) => s.scheduler === 'sh' || s.scheduler === 'mh');
}

function arpSysctls(b: Builder, devs: readonly string[]): void {
  const key = devs.join(' ');
  if (b.arpDone.has(key)) return;
  b.arpDone.add(key);
  // Set before the VIP goes on lo: the effective value is the larger of `all` and the interface's.
  for (const dev of ['all', 'lo', ...devs]) {
    b.sysctl(deviceSysctl(dev, 'arp_ignore'), 1);
    b.sysctl(deviceSysctl(dev, 'arp_announce'), 2);
  }
}

function buildRealServer(cluster: Cluster, b: Builder, host: Host, service: Service, vips: ReturnType<typeof serviceVips>, server: RealServer): void {
  b.roles.add('real-server');
  const director = activeDirector(cluster)!;
  const rip = ripOf(cluster, service, server);
  if (!rip.ok) throw new Error(`bug: desired state built for an unvalidated cluster (no RIP for ${server.host})`);
  const f = server.forward!;
  const segmentDevs = [rip.iface.dev];

  if (f.method === 'dr') {
    if (vips.some((v) => v.family === 4)) arpSysctls(b, segmentDevs);
    for (const v of vips) b.address('lo', v.address, v.family);
    return;
  }

  if (f.method === 'tun') {
    // The VIP could be ARPed on the server's own segment: never answer for it.
    if (vips.some((v) => v.family === 4)) arpSysctls(b, segmentDevs);
    const outer: Family = rip.family;
    const tunnel = TUNNELS[f.tunType ?? DEFAULT_TUN_TYPE];
    const device = tunnel.devices[outer];
    const dev = device.name;
    b.modules.add(device.module);
    b.links.set(dev, { name: dev, kind: device.kind, up: true });
    if (tunnel.udpPort) {
      b.modules.add(FOU_MODULE);
      const fou = fouLinkName(f.tunPort!);
      b.links.set(fou, { name: fou, kind: 'fou', up: true, port: f.tunPort });
    }
    // Decapsulated packets arrive on the tunnel with the client's source: no reverse-path filter there.
    b.sysctl(deviceSysctl(dev, 'rp_filter'), 0);
    b.sysctl(deviceSysctl('all', 'rp_filter'), 0);
    for (const v of vips) b.address(dev, v.address, v.family);
    return;
  }

  // NAT: replies go back through the director, so the default route is its DIP on the shared
  // segment (behind a failover pair, the floating address there, which moves with the VIPs).
  const link = rip.link ?? sharedSegment(host, director, rip.family, server);
  if (!link) throw new Error(`bug: NAT server ${host.name} without a shared segment`);
  const via = natGateway(cluster, director, link, rip.family);
  if (!via) throw new Error(`bug: NAT server ${host.name} behind a failover pair without a floating gateway`);
  b.routes.set(`${rip.family} default`, { dst: 'default', via, dev: link.server.dev });
}

/** The desired state of every declared host (hosts with no LVS role get an empty state). */
export function desiredHosts(cluster: Cluster): DesiredHost[] {
  const builders = new Map<string, Builder>(cluster.hosts.map((h) => [h.name, new Builder()]));
  const d = cluster.directors;
  const keepalived = new Map<string, KeepalivedConfig>();
  const vrrp = new Map<string, NonNullable<DesiredHost['vrrp']>>();
  if (d) {
    const active = cluster.hostsByName.get(d.active)!;
    const backup = d.backup ? cluster.hostsByName.get(d.backup)! : undefined;
    const ka = buildDirector(cluster, builders.get(active.name)!, active, true, backup);
    if (ka) keepalived.set(active.name, ka);
    if (backup) {
      const kb = buildDirector(cluster, builders.get(backup.name)!, backup, false, active);
      if (kb) keepalived.set(backup.name, kb);
    }
    if (backup && isFailoverPair(cluster)) for (const h of [active, backup]) vrrp.set(h.name, { addresses: vrrpAddresses(cluster, h), advertMs: d.advert?.ms ?? 1000 });
  }
  for (const service of cluster.services) {
    const vips = serviceVips(service);
    // A sorry server is set up like the servers: it takes their traffic, by the same method.
    for (const server of serversAndSorry(service)) {
      const host = cluster.hostsByName.get(server.host)!;
      buildRealServer(cluster, builders.get(host.name)!, host, service, vips, server);
    }
  }
  const timeouts = cluster.timeouts ? { tcp: cluster.timeouts.tcp, tcpfin: cluster.timeouts.tcpfin, udp: cluster.timeouts.udp } : null;
  const seen = new Set<string>();
  const out: DesiredHost[] = [];
  for (const h of cluster.hosts) {
    if (seen.has(h.name)) continue;
    seen.add(h.name);
    const b = builders.get(h.name)!;
    const ka = keepalived.get(h.name);
    const v = vrrp.get(h.name);
    const built = b.build(timeouts);
    // keepalived starts at boot with the configuration lvsc renders.
    const state: HostState = ka ? { ...built, enabledUnits: ['keepalived.service' satisfies BootUnit] } : built;
    out.push({ name: h.name, roles: [...b.roles], state, gateways: h.gateways.map((g) => ({ address: g.address, family: g.family })), ...(ka ? { keepalived: ka } : {}), ...(v ? { vrrp: v } : {}) });
  }
  return out;
}

