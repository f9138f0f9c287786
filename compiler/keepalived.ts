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
import type { ActiveCheck, Cluster, Host, RealServer, Service } from './ir.js';
import { activeCheck, isChecked } from './ir.js';
import { dnsType, miscPath, quoted, timer } from './keepalived-syntax.js';
import { DEFAULT_TUN_CSUM, DEFAULT_TUN_TYPE, SCHEDULER_FLAG_BIT, TUNNELS } from './lvs.js';
import { hostPort, serviceKey, type HostState, type IpvsDestination, type IpvsService, type ServiceId } from './state.js';

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

export function keepalivedConfig(director: Host, virtualServers: readonly KeepalivedVirtualServer[]): KeepalivedConfig {
  return {
    director: director.name,
    scripts: virtualServers.some((v) => v.realServers.some((r) => r.checker?.keyword === 'MISC_CHECK' || r.notify)),
    execChecks: virtualServers.some((v) => v.realServers.some((r) => r.checker?.keyword === 'MISC_CHECK')),
    virtualServers,
  };
}

/**
 * The IPVS services a keepalived.conf rendered by lvsc makes keepalived
 * program, by `serviceKey` (`tcp 10.3.0.100:80`, `fwmark 10 ipv6`), each with
 * its real servers (`hostPort`: `10.3.0.11:80`, port 0 for a fwmark
 * service's): how lvsc knows, from the file on a director, which entries are
 * not its own to write (also after they left the cluster file: keepalived
 * removes them on reload), and which servers keepalived believes in.
 */
export function keepalivedServersFromFile(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const blocks = text.split(/^(?=virtual_server )/m).slice(1);
  for (const block of blocks) {
    const head = /^virtual_server (?:fwmark (\d+)|(\S+) (\d+)) \{$/m.exec(block);
    if (!head) continue;
    const servers = new Set([...block.matchAll(/^\s*real_server (\S+)(?: (\d+))? \{$/gm)].map((m) => hostPort(m[1], Number(m[2] ?? 0))));
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
