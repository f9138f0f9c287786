/**
 * keepalived as a director's runtime engine: which services it runs, and the
 * model of /etc/keepalived/keepalived.conf that templates/keepalived.conf.hbs
 * renders. A service with checks is keepalived's on every director (it
 * programs the service's IPVS entries and keeps them in line with the health
 * of the servers); lvsc's ipvsadm writes the other services, as before. One
 * writer per entry: see README, "Health checks and what runs where".
 *
 * The model holds keepalived's words only, already formatted: addresses and
 * numbers come from the validated IR, and every string from the file goes
 * through keepalived-syntax.ts (`quoted`, `miscPath`), which refuses anything
 * it could not carry literally.
 */
import { contains, parseCidr } from '../lang/address.js';
import type { ActiveCheck, Cluster, Host, RealServer, Service } from './ir.js';
import { activeCheck, isChecked, serviceVips } from './ir.js';
import { dnsType, miscPath, quoted, timer } from './keepalived-syntax.js';
import { DEFAULT_TUN_CSUM, DEFAULT_TUN_TYPE, SCHEDULER_FLAG_BIT, TUNNELS } from './lvs.js';
import { hostPort, serviceKey, type HostState, type IpvsDestination, type IpvsService, type ServiceId } from './state.js';
import { isFailoverPair, vipDevice, vrrpInterfaces } from './topology.js';

/** Where lvsc renders keepalived's configuration on a director. */
export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';

/**
 * The script keepalived runs when a checked server goes up or down
 * (templates/keepalived-notify.sh.hbs), and the root-owned directory where it
 * records each server's state for lvsc's keepalived fact to read
 * (agent/facts/keepalived.ts): health is keepalived's view, never drift.
 */
export const KEEPALIVED_NOTIFY = '/usr/local/lib/lvsc/keepalived-notify';
export const HEALTH_DIR = '/run/lvsc/health';
/** keepalived's own pid file (its built-in default; the parent process, which SIGHUP reloads). */
export const KEEPALIVED_PID = '/run/keepalived.pid';

/** keepalived's view of one checked server, as the notify script recorded it. */
export interface ServerHealth {
  readonly state: 'up' | 'down';
  readonly service: ServiceId;
  readonly dest: { readonly address: string; readonly port: number };
  /** When keepalived saw it change, in seconds since the epoch. */
  readonly since: number;
}

export interface KeepalivedConfig {
  readonly director: string;
  /** Some check runs a program (the notify scripts always run): keepalived then refuses scripts a non-root user could change. */
  readonly scripts: boolean;
  /** Some check is an `exec` one. */
  readonly execChecks: boolean;
  readonly virtualServers: readonly KeepalivedVirtualServer[];
  /** A failover pair: its VRRP instances on this director. */
  readonly vrrp?: KeepalivedVrrp;
}

export interface KeepalivedVirtualServer {
  /** The lvsc service, for a comment. */
  readonly service: string;
  /** The IPVS service it programs (`serviceKey`: `tcp 10.3.0.100:80`). */
  readonly key: string;
  /** `10.3.0.100 80`, `2001:db8::1 443` or `fwmark 10`. */
  readonly address: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP' | undefined;
  /** fwmark services only: the family keepalived cannot tell from a mark. */
  readonly ipFamily: 'inet' | 'inet6' | undefined;
  readonly scheduler: string;
  /** keepalived's keywords for `-b` flags and `-o`: `sh-port`, `ops`, ... (after `lvs_sched`: keepalived checks them against it). */
  readonly flags: readonly string[];
  readonly method: string;
  readonly persistence: { readonly timeout: number; readonly granularity: string | undefined; readonly engine: string | undefined } | undefined;
  readonly inhibitOnFailure: boolean;
  readonly sorry: { readonly address: string; readonly method: string } | undefined;
  readonly realServers: readonly KeepalivedRealServer[];
}

export interface KeepalivedRealServer {
  readonly host: string;
  /** `10.3.0.11 80` (the port left out for a fwmark service's port 0). */
  readonly address: string;
  readonly weight: number;
  readonly upper: number;
  readonly lower: number;
  readonly method: string;
  readonly checker: KeepalivedChecker | undefined;
  /** `notify_up` and `notify_down`: the notify script with the service and this server (validated addresses and numbers only). */
  readonly notify: { readonly up: string; readonly down: string } | undefined;
}

export interface KeepalivedChecker {
  readonly keyword: 'TCP_CHECK' | 'HTTP_GET' | 'SSL_GET' | 'DNS_CHECK' | 'MISC_CHECK';
  readonly url: { readonly path: string; readonly status: string; readonly virtualhost: string | undefined } | undefined;
  readonly sni: boolean;
  readonly dns: { readonly type: string; readonly name: string } | undefined;
  readonly misc: { readonly path: string; readonly timeout: number } | undefined;
  /** `connect_port` and `connect_timeout` (not for MISC_CHECK, which has `misc_timeout`). */
  readonly connect: { readonly port: number; readonly timeout: string } | undefined;
  readonly retry: number;
  readonly delayBeforeRetry: string;
  readonly delayLoop: string;
}

/** The services keepalived runs (those with checks), in file order. */
export function keepalivedServices(cluster: Cluster): Service[] {
  return cluster.services.filter(isChecked);
}

/** ipvsadm's method as keepalived's `lvs_method` value: `NAT`, `DR`, `TUN`, `TUN type gue port 6080 csum`. */
export function lvsMethod(d: Pick<IpvsDestination, 'method' | 'tunType' | 'tunPort' | 'tunCsum'>): string {
  if (d.method !== 'tun') return d.method.toUpperCase();
  const tun = d.tunType ?? DEFAULT_TUN_TYPE;
  // keepalived's own default is ipip with no checksum option: say only what differs.
  if (tun === DEFAULT_TUN_TYPE) return 'TUN';
  const words = ['TUN', 'type', tun];
  if (TUNNELS[tun].udpPort) words.push('port', String(d.tunPort));
  if (TUNNELS[tun].checksum && d.tunCsum && d.tunCsum !== DEFAULT_TUN_CSUM) words.push(d.tunCsum);
  return words.join(' ');
}

function endpoint(address: string, port: number): string {
  return port ? `${address} ${port}` : address;
}

/** The port a check connects to: its own `port`, else the server's (the destination port). */
function checkPort(check: ActiveCheck, dest: IpvsDestination): number {
  const port = 'port' in check && check.port !== undefined ? check.port : dest.port;
  if (!port) throw new Error('bug: a check without a port reached keepalived.conf (validation reports check-port)');
  return port;
}

function checker(check: ActiveCheck, dest: IpvsDestination): KeepalivedChecker {
  const t = check.timing;
  const timing = {
    retry: t.retries,
    // `every` is the period of the checks and of the retries of a failing one,
    // so a server goes down about `every/2 + retries × every` after it fails.
    delayBeforeRetry: timer(t.everyMs),
    delayLoop: timer(t.everyMs),
  };
  const none = { url: undefined, sni: false, dns: undefined, misc: undefined };
  switch (check.kind) {
    case 'tcp':
      return { keyword: 'TCP_CHECK', ...none, connect: { port: checkPort(check, dest), timeout: timer(t.timeoutMs) }, ...timing };
    case 'http':
    case 'https': {
      const status = check.status.min === check.status.max ? String(check.status.min) : `${check.status.min}-${check.status.max}`;
      return {
        keyword: check.kind === 'http' ? 'HTTP_GET' : 'SSL_GET',
        ...none,
        url: { path: quoted(check.path), status, virtualhost: check.host === undefined ? undefined : quoted(check.host) },
        // Over TLS the Host name is also the server name the handshake asks for.
        sni: check.kind === 'https' && check.host !== undefined,
        connect: { port: checkPort(check, dest), timeout: timer(t.timeoutMs) },
        ...timing,
      };
    }
    case 'dns': {
      const type = dnsType(check.type);
      if (!type) throw new Error(`bug: DNS type ${check.type} reached keepalived.conf unvalidated`);
      return { keyword: 'DNS_CHECK', ...none, dns: { type, name: quoted(check.name) }, connect: { port: checkPort(check, dest), timeout: timer(t.timeoutMs) }, ...timing };
    }
    case 'exec':
      return {
        keyword: 'MISC_CHECK',
        ...none,
        // The program gets the server's address and port as its last two arguments.
        // misc_timeout is whole seconds: a shorter timeout is rounded up.
        misc: { path: miscPath([check.path, ...check.args.map((a) => a.value), dest.address, String(dest.port)]), timeout: Math.max(1, Math.ceil(t.timeoutMs / 1000)) },
        connect: undefined,
        ...timing,
      };
  }
}

/** The words after `up|down` in a notify line: the service (`tcp VIP PORT`, `fwmark MARK 4|6`) and the server. */
export function notifyWords(id: ServiceId, dest: { readonly address: string; readonly port: number }): string[] {
  const service = id.kind === 'fwmark' ? ['fwmark', String(id.mark), String(id.family)] : [id.proto, id.address, String(id.port)];
  return [...service, dest.address, String(dest.port)];
}

function notify(id: ServiceId, dest: IpvsDestination): KeepalivedRealServer['notify'] {
  const words = notifyWords(id, dest);
  // miscPath asserts every word is one keepalived takes literally (addresses and numbers are).
  return { up: miscPath(['/bin/sh', KEEPALIVED_NOTIFY, 'up', ...words]), down: miscPath(['/bin/sh', KEEPALIVED_NOTIFY, 'down', ...words]) };
}

function realServer(server: RealServer, dest: IpvsDestination, id: ServiceId): KeepalivedRealServer {
  const check = activeCheck(server);
  return {
    host: server.host,
    address: endpoint(dest.address, dest.port),
    weight: dest.weight,
    upper: dest.upper,
    lower: dest.lower,
    method: lvsMethod(dest),
    checker: check ? checker(check, dest) : undefined,
    // Only a checked server changes state (an unchecked one is always up).
    notify: check ? notify(id, dest) : undefined,
  };
}

/**
 * One service as keepalived's virtual_server, from the IPVS entry lvsc wants
 * for it (`ipvs`, the same one the diff and /etc/ipvsadm.rules use) and the
 * service's checks; `sorry` is the sorry server's destination.
 */
export function virtualServer(service: Service, ipvs: IpvsService, sorry: IpvsDestination | undefined): KeepalivedVirtualServer {
  const id = ipvs.id;
  const flags = ipvs.flags.map((f) => {
    // keepalived's keywords for the flags are ipvsadm's names for them.
    if (!SCHEDULER_FLAG_BIT.has(f)) throw new Error(`bug: scheduler flag ${f} has no keepalived keyword`);
    return f;
  });
  if (ipvs.ops) flags.push('ops');
  const servers = service.servers;
  if (servers.length !== ipvs.destinations.length) throw new Error('bug: the IPVS entry of a service does not list its servers');
  const first = servers[0]?.forward ?? service.forward;
  const method = service.forward ? lvsMethod({ method: service.forward.method, tunType: service.forward.tunType, tunPort: service.forward.tunPort, tunCsum: service.forward.tunCsum }) : first ? lvsMethod(first) : 'NAT';
  return {
    service: service.name,
    key: serviceKey(id),
    address: id.kind === 'addr' ? `${id.address} ${id.port}` : `fwmark ${id.mark}`,
    protocol: id.kind === 'addr' ? (id.proto.toUpperCase() as 'TCP' | 'UDP' | 'SCTP') : undefined,
    ipFamily: id.kind === 'fwmark' ? (id.family === 6 ? 'inet6' : 'inet') : undefined,
    scheduler: ipvs.scheduler,
    flags,
    method,
    persistence: ipvs.persistence ? { timeout: ipvs.persistence.timeout, granularity: ipvs.persistence.netmask, engine: ipvs.pe } : undefined,
    inhibitOnFailure: service.onFailure.mode === 'quiesce',
    sorry: sorry ? { address: endpoint(sorry.address, sorry.port), method: lvsMethod(sorry) } : undefined,
    realServers: servers.map((s, i) => realServer(s, ipvs.destinations[i], id)),
  };
}

/**
 * A server leaving keepalived's configuration, while it drains: weight 0 and
 * no check (so keepalived keeps it in the table, at weight 0, whatever its
 * health), from the destination as it is live.
 */
function drainingServer(d: IpvsDestination): KeepalivedRealServer {
  return { host: 'draining: no longer in the cluster file, at weight 0 until its connections finish', address: endpoint(d.address, d.port), weight: 0, upper: d.upper, lower: d.lower, method: lvsMethod(d), checker: undefined, notify: undefined };
}

/**
 * keepalived.conf while servers removed from the file drain (drain before
 * delete): the desired configuration, plus each drained destination at
 * weight 0 in its service (`drained`: the live services, by key, holding only
 * the destinations to drain). Rendered and reloaded first; once the drain is
 * waited out, the desired configuration takes them out.
 */
export function drainingConfig(config: KeepalivedConfig, drained: ReadonlyMap<string, IpvsService>): KeepalivedConfig {
  const virtualServers = config.virtualServers.map((v) => {
    const d = drained.get(v.key);
    return d ? { ...v, realServers: [...v.realServers, ...d.destinations.map(drainingServer)] } : v;
  });
  return { ...config, virtualServers };
}

export function keepalivedConfig(director: Host, virtualServers: readonly KeepalivedVirtualServer[], vrrp?: KeepalivedVrrp): KeepalivedConfig {
  return {
    director: director.name,
    ...(vrrp ? { vrrp } : {}),
    scripts: virtualServers.some((v) => v.realServers.some((r) => r.checker?.keyword === 'MISC_CHECK' || r.notify)),
    execChecks: virtualServers.some((v) => v.realServers.some((r) => r.checker?.keyword === 'MISC_CHECK')),
    virtualServers,
  };
}

/**
 * The IPVS services a keepalived.conf rendered by lvsc makes keepalived
 * program, by `serviceKey` (`tcp 10.3.0.100:80`, `fwmark 10 ipv6`), each with
 * its real servers (`hostPort`: `10.3.0.11:80`, port 0 for a fwmark
 * service's) and the weight it gives each: how lvsc knows, from the file on a director, which entries are
 * not its own to write (also after they left the cluster file: keepalived
 * removes them on reload), and which servers keepalived believes in, at what weight.
 */
export function keepalivedServersFromFile(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  const blocks = text.split(/^(?=virtual_server )/m).slice(1);
  for (const block of blocks) {
    const head = /^virtual_server (?:fwmark (\d+)|(\S+) (\d+)) \{$/m.exec(block);
    if (!head) continue;
    const servers = new Map([...block.matchAll(/^\s*real_server (\S+)(?: (\d+))? \{\n\s*weight (\d+)$/gm)].map((m) => [hostPort(m[1], Number(m[2] ?? 0)), Number(m[3])] as const));
    if (head[1] !== undefined) {
      out.set(serviceKey({ kind: 'fwmark', mark: Number(head[1]), family: /^\s*ip_family inet6$/m.test(block) ? 6 : 4 }), servers);
      continue;
    }
    const proto = /^\s*protocol (TCP|UDP|SCTP)$/m.exec(block)?.[1].toLowerCase() as 'tcp' | 'udp' | 'sctp' | undefined;
    if (proto) out.set(serviceKey({ kind: 'addr', proto, address: head[2], port: Number(head[3]) }), servers);
  }
  return out;
}

/** The services of `keepalivedServersFromFile`, by key. */
export function keepalivedServicesFromFile(text: string): Set<string> {
  return new Set(keepalivedServersFromFile(text).keys());
}

// ------------------------------------------------------------------ a failover pair's VRRP

/** The VRRP priorities of a failover pair, from the order of the names: the first is preferred. */
export const VRRP_PRIORITY = { preferred: 200, other: 100 } as const;

/**
 * A failover pair's VRRP, on one director: one `vrrp_instance` per interface
 * that moves addresses (the failover interface, the floating addresses', the
 * VIPs'), all with the block's router id, grouped in one `vrrp_sync_group`
 * when there are several (they change state together: a link failing on one
 * moves all of them), and `lvs_sync_daemon` bound to the failover interface's
 * instance, so that the connection-sync role follows the VRRP role.
 */
export interface KeepalivedVrrp {
  /** The instances' names when there are several (one sync group), else undefined. */
  readonly syncGroup: readonly string[] | undefined;
  readonly instances: readonly KeepalivedVrrpInstance[];
  /** `lvs_sync_daemon IFACE INSTANCE id N`. */
  readonly syncDaemon: { readonly iface: string; readonly instance: string; readonly id: number } | undefined;
}

export interface KeepalivedVrrpInstance {
  /** `lvsc_DEV`. */
  readonly name: string;
  readonly iface: string;
  readonly routerId: number;
  readonly priority: number;
  /** `advert_int`, seconds. */
  readonly advert: string;
  /** VRRP version 3 when the interval is not whole seconds (VRRPv2 adverts carry whole seconds only). */
  readonly version3: boolean;
  /** `preempt_delay` seconds, or `nopreempt`; neither: keepalived preempts at once. */
  readonly preemptDelay: string | undefined;
  readonly nopreempt: boolean;
  /** The instance's family is IPv6 (its interface has no IPv4 address): `native_ipv6`. */
  readonly ipv6: boolean;
  readonly unicast: { readonly src: string; readonly peer: string } | undefined;
  /** `ADDR/LEN dev DEV`: the instance's own family (announced in its adverts). */
  readonly addresses: readonly string[];
  /** The other family's addresses (`virtual_ipaddress_excluded`: they move with the state, not announced). */
  readonly excluded: readonly string[];
}

/**
 * One address keepalived holds on the active director of a failover pair: a
 * VIP or a floating address, as the kernel address keepalived adds. Its
 * identity (device, address, prefix) differs from the static copy lvsc put
 * there before the pair failed over by itself, where the kernel allows it
 * (IPv4: a VIP inside a subnet of the director gets that subnet's prefix, not
 * lvsc's /32; a floating address /32, not its written length), so that both
 * can be there while the pair moves from static VIPs to VRRP: keepalived's
 * first, then lvsc removes its own (README, "A director pair that fails over").
 */
export interface VrrpAddress {
  readonly dev: string;
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
  /** The static copy lvsc holds of the same address when the pair does not fail over: its VIP (/32, /128) or floating address (written length). */
  readonly staticPrefix: number;
}

/** `10.3.0.100/24 dev eth0`: how plan names an address keepalived's VRRP holds. */
export function vrrpAddressLine(a: Pick<VrrpAddress, 'dev' | 'address' | 'prefix'>): string {
  return `${a.address}/${a.prefix} dev ${a.dev}`;
}

/**
 * The address as `virtual_ipaddress` lists it, `no_track`: keepalived 2.2.7
 * takes the removal of ANY address with a VIP's IP on its device for the
 * removal of its VIP, and gives up mastership (priority 0, every VIP of the
 * sync group removed). lvsc's static copy of a VIP has that IP, and the move
 * from static VIPs removes it while keepalived is master (seen with the real
 * keepalived, compiler/vrrp-keepalived.test.ts). A VIP removed by hand is
 * then not noticed by keepalived; plan reports the director as `partial`.
 */
export function vrrpConfLine(a: Pick<VrrpAddress, 'dev' | 'address' | 'prefix'>): string {
  return `${vrrpAddressLine(a)} no_track`;
}

/** keepalived's name for the VRRP instance on a device. */
export function vrrpInstanceName(dev: string): string {
  return `lvsc_${dev}`;
}

/**
 * The addresses keepalived holds on a failover pair's active director, in
 * the order of the file (floating addresses first, then each service's
 * VIPs), each once. Empty when the directors are not a failover pair.
 */
export function vrrpAddresses(cluster: Cluster, director: Host): VrrpAddress[] {
  if (!isFailoverPair(cluster)) return [];
  const out: VrrpAddress[] = [];
  const seen = new Set<string>();
  const add = (a: VrrpAddress) => {
    const key = `${a.dev} ${a.address}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(a);
  };
  for (const f of cluster.directors!.floating) {
    // IPv4: a host address, the subnet's route comes with the director's own address there.
    // IPv6 cannot hold one address twice on a device whatever the prefix: the written one.
    add({ dev: f.iface, address: f.address, prefix: f.family === 4 && f.prefix !== 32 ? 32 : f.prefix, family: f.family, staticPrefix: f.prefix });
  }
  for (const service of cluster.services) {
    if (!service.address) continue;
    for (const vip of serviceVips(service)) {
      const dev = vipDevice(director, vip.address, vip.family, service, cluster);
      const host = vip.family === 4 ? 32 : 128;
      const subnet = vip.family === 4 ? director.interfaces.find((i) => i.dev === dev && i.family === 4 && i.prefix < 32 && contains(parseCidr(i.network)!, vip.address)) : undefined;
      add({ dev, address: vip.address, prefix: subnet ? subnet.prefix : host, family: vip.family, staticPrefix: host });
    }
  }
  return out;
}

/** The VRRP part of a failover pair's keepalived.conf on `director` (`peer`: the other director); undefined when not a failover pair. */
export function vrrpConfig(cluster: Cluster, director: Host, peer: Host): KeepalivedVrrp | undefined {
  const d = cluster.directors;
  if (!d?.failover || !isFailoverPair(cluster)) return undefined;
  const f = d.failover;
  const addresses = vrrpAddresses(cluster, director);
  const preferred = d.active === director.name;
  const advertMs = d.advert?.ms ?? 1000;
  const instances: KeepalivedVrrpInstance[] = [];
  for (const dev of vrrpInterfaces(cluster, director).keys()) {
    const own = director.interfaces.filter((i) => i.dev === dev);
    const family = own.some((i) => i.family === 4) ? 4 : 6;
    const src = own.find((i) => i.family === family)!;
    const other = peer.interfaces.find((i) => i.dev === dev && i.family === family);
    const here = addresses.filter((a) => a.dev === dev);
    instances.push({
      name: vrrpInstanceName(dev),
      iface: dev,
      routerId: f.id,
      priority: preferred ? VRRP_PRIORITY.preferred : VRRP_PRIORITY.other,
      advert: timer(advertMs),
      version3: advertMs % 1000 !== 0,
      preemptDelay: d.failback?.mode === 'after' ? timer(d.failback.delayMs) : undefined,
      nopreempt: d.failback?.mode === 'never',
      ipv6: family === 6,
      unicast: f.unicast && other ? { src: src.address, peer: other.address } : undefined,
      addresses: here.filter((a) => a.family === family).map(vrrpConfLine),
      excluded: here.filter((a) => a.family !== family).map(vrrpConfLine),
    });
  }
  return {
    syncGroup: instances.length > 1 ? instances.map((i) => i.name) : undefined,
    instances,
    syncDaemon: d.sync ? { iface: d.sync.iface, instance: vrrpInstanceName(f.iface), id: d.sync.id } : undefined,
  };
}

/**
 * The addresses a keepalived.conf rendered by lvsc has VRRP hold, as
 * `DEV ADDRESS/PREFIX` (the `ADDR/LEN dev DEV` lines of its
 * `virtual_ipaddress` and `virtual_ipaddress_excluded` blocks): on a
 * director, those addresses are keepalived's (also after they left the
 * cluster file: keepalived removes them on reload), never lvsc's static VIPs.
 */
/** Whether a keepalived.conf lvsc rendered starts IPVS sync daemons (`lvs_sync_daemon`, a failover pair's): keepalived stops them when it stops. */
export function keepalivedStartsSync(text: string): boolean {
  return /^\s*lvs_sync_daemon\s/m.test(text);
}

export function vrrpAddressesFromFile(text: string): Set<string> {
  const out = new Set<string>();
  let inside = false;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (/^virtual_ipaddress(_excluded)? \{$/.test(t)) inside = true;
    else if (t === '}') inside = false;
    else if (inside) {
      const m = /^(\S+)\/(\d+) dev (\S+)(?: no_track)?$/.exec(t);
      if (m) out.add(`${m[3]} ${m[1]}/${m[2]}`);
    }
  }
  return out;
}
