/**
 * The cluster's live status, by lvsc's names: what `lvsc status` prints and
 * what `/metrics` exposes. Read in one round trip per host by the fleet
 * (`openFleet` with `status: true`: each director's traffic figures and its
 * keepalived are read with the facts plan reads), read-only, no lock.
 *
 * - Per director: the role it plays now, from the VIPs it holds (all: active,
 *   none: backup, some: split), whether keepalived runs there, and its sync
 *   daemons against the declared one.
 * - Per service, from the director that serves it (the one holding its VIPs;
 *   without one, the declared active director): the live scheduler, and per
 *   server (a declared host, by name) the declared and live weight, the
 *   health keepalived recorded (compiler/keepalived.ts's notify records),
 *   connections and the estimator's rates, and drift: the plan's steps on
 *   that service or destination (compiler/diff.ts, as `lvsc plan` shows
 *   them), so a marker here is exactly what plan would change.
 * - Live services and destinations the file does not declare are listed as
 *   such (they are drift too: plan would delete them).
 *
 * Pure (`clusterStatus`) over what the fleet read; `readStatus` rereads over
 * the fleet's open connections for `--watch` and the monitor.
 */
import type { Cluster, RealServer, Service } from '../compiler/ir.js';
import { activeCheck, isChecked, serversAndSorry, serviceVips } from '../compiler/ir.js';
import type { DesiredHost } from '../compiler/desired.js';
import { ipvsService, serviceId } from '../compiler/desired.js';
import type { ServerHealth } from '../compiler/keepalived.js';
import { buildPlan, type LiveHost } from '../compiler/order.js';
import type { Action, HostPlan, Plan, Step } from '../compiler/plan.js';
import { destinationKey, hostPort, serviceKey, type DestinationId, type IpvsService, type Method, type ServiceId, type SyncDaemon } from '../compiler/state.js';
import type { Rates, Totals } from './facts/counters.js';
import type { Forward } from './facts/connections.js';
import type { HostFacts } from './facts/index.js';
import { endpointFor, pool, readHost, type Fleet, type HostRead } from './fleet.js';
import { connectSsh, type SshOptions } from './transport/ssh.js';
import type { Transport } from './transport/transport.js';

/** The version of the status document (`lvsc status --json`, README.md): fields are only ever added under one version. */
export const STATUS_VERSION = 1;

/** A difference between the file and a live entry: what `lvsc plan` would do about it. */
export interface Drift {
  readonly action: Action;
  readonly reason: string;
}

export type Health =
  /** keepalived's check passes (since when it last changed, seconds since the epoch). */
  | { readonly state: 'up'; readonly since: number }
  /** keepalived's check fails: it keeps the server out of the rotation. */
  | { readonly state: 'down'; readonly since: number }
  /** Declared `drain` (weight 0): no new connections, the old ones finish. */
  | { readonly state: 'draining' }
  /** No check is declared, keepalived has recorded nothing for it, or the director could not be read. */
  | { readonly state: 'unknown'; readonly why: 'unchecked' | 'no-record' | 'unread' };

/** A destination as the serving director's table holds it. */
export interface LiveDestination {
  readonly weight: number;
  /** As `-L` names it: a method, or `local` for a real server that is the director itself. */
  readonly forward: Forward;
  readonly active: number;
  readonly inactive: number;
  readonly totals: Totals | undefined;
  readonly rates: Rates | undefined;
}

export interface ServerStatus {
  /** The declared host's name. */
  readonly name: string;
  /** `sorry` for a service's sorry server. */
  readonly role: RealServer['role'];
  readonly dest: DestinationId;
  readonly method: Method;
  readonly weight: number;
  /** null: not in the live table (or the table could not be read: see the service's `director`). */
  readonly live: LiveDestination | null;
  readonly health: Health;
  readonly drift: readonly Drift[];
}

/** A live destination the file does not declare. */
export interface UndeclaredDestination {
  readonly dest: DestinationId;
  readonly live: LiveDestination;
  readonly drift: readonly Drift[];
}

export interface ServiceStatus {
  readonly name: string;
  readonly id: ServiceId;
  /** `tcp 10.20.0.100:80`, `fwmark 10`: for people, never parsed. */
  readonly key: string;
  readonly scheduler: string;
  /** The director whose table the figures are from; undefined when no director could be read. */
  readonly director: string | undefined;
  /** The live entry's scheduler; null when the director's table lacks the service. */
  readonly liveScheduler: string | null;
  readonly totals: Totals | undefined;
  readonly rates: Rates | undefined;
  readonly servers: readonly ServerStatus[];
  readonly undeclared: readonly UndeclaredDestination[];
  readonly drift: readonly Drift[];
}

/** A live service on a director that no declared service is. */
export interface UndeclaredService {
  readonly director: string;
  readonly id: ServiceId;
  readonly key: string;
  readonly scheduler: string;
  readonly destinations: number;
}

export type DirectorRole = 'active' | 'backup' | 'split' | 'unknown';

export interface DirectorStatus {
  readonly name: string;
  /** What the file says it is. */
  readonly declared: 'active' | 'backup';
  /** What it is now, from the VIPs it holds; unknown when it could not be read. */
  readonly role: DirectorRole;
  readonly vipsHeld: number;
  readonly vips: number;
  /** undefined when it could not be read. */
  readonly keepalived: { readonly installed: boolean; readonly version: string | undefined; readonly running: boolean; readonly pid: number | undefined } | undefined;
  readonly sync: { readonly declared: SyncDaemon | undefined; readonly live: readonly SyncDaemon[] | undefined };
  readonly undeclared: readonly UndeclaredService[];
}

export interface HostStatus {
  readonly name: string;
  readonly roles: readonly string[];
  readonly ok: boolean;
  /** Why it could not be read. */
  readonly error?: string;
  /** How long connecting and reading took, in milliseconds (the first read over a new connection includes connecting). */
  readonly ms?: number;
  /** Steps `lvsc plan` would run on it (its drift, services and others). */
  readonly changes?: number;
}

export interface ClusterStatus {
  /** When the reads finished, in milliseconds since the epoch. */
  readonly at: number;
  readonly hosts: readonly HostStatus[];
  readonly directors: readonly DirectorStatus[];
  readonly services: readonly ServiceStatus[];
}

/** What the status is built from: the cluster, its desired hosts, each host's read, and the plan of those read. */
export interface StatusInput extends Pick<Fleet, 'cluster' | 'desired' | 'hosts' | 'reads' | 'plan'> {
  readonly at: number;
}

const EMPTY: readonly Drift[] = [];

function driftOf(steps: readonly Step[]): Drift[] {
  return steps.map((s) => ({ action: s.action, reason: s.reason }));
}

/** A host plan's IPVS steps by service, and by service and destination. */
class TableSteps {
  private readonly services = new Map<string, Step[]>();
  private readonly destinations = new Map<string, Step[]>();

  constructor(plan: HostPlan | undefined) {
    for (const s of plan?.steps ?? []) {
      if (s.kind === 'ipvs-service') push(this.services, serviceKey(s.id.service), s);
      else if (s.kind === 'ipvs-destination') push(this.destinations, `${serviceKey(s.id.service)} ${destinationKey(s.id.dest)}`, s);
    }
  }

  service(id: ServiceId): readonly Step[] {
    return this.services.get(serviceKey(id)) ?? [];
  }

  destination(id: ServiceId, dest: DestinationId): readonly Step[] {
    return this.destinations.get(`${serviceKey(id)} ${destinationKey(dest)}`) ?? [];
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** A director's live table with its figures, by identity. */
class LiveTable {
  readonly services = new Map<string, IpvsService>();
  private readonly figures = new Map<string, { active: number; inactive: number; forward: Forward; totals?: Totals; rates?: Rates }>();
  private readonly serviceTotals = new Map<string, Totals>();
  private readonly serviceRates = new Map<string, Rates>();

  constructor(facts: HostFacts) {
    for (const s of facts.state.ipvs ?? []) this.services.set(serviceKey(s.id), s);
    const c = facts.counters;
    for (const s of c?.connections ?? []) {
      const key = serviceKey(s.service);
      for (const d of s.destinations) this.figures.set(`${key} ${hostPort(d.address, d.port)}`, { active: d.active, inactive: d.inactive, forward: d.forward });
    }
    for (const s of c?.totals ?? []) {
      const key = serviceKey(s.service);
      if (s.columns) this.serviceTotals.set(key, s.columns);
      for (const d of s.destinations) {
        const f = this.figures.get(`${key} ${hostPort(d.address, d.port)}`);
        if (f) f.totals = { conns: d.conns, inPackets: d.inPackets, outPackets: d.outPackets, inBytes: d.inBytes, outBytes: d.outBytes };
      }
    }
    for (const s of c?.rates ?? []) {
      const key = serviceKey(s.service);
      if (s.columns) this.serviceRates.set(key, s.columns);
      for (const d of s.destinations) {
        const f = this.figures.get(`${key} ${hostPort(d.address, d.port)}`);
        if (f) f.rates = { cps: d.cps, inPps: d.inPps, outPps: d.outPps, inBps: d.inBps, outBps: d.outBps };
      }
    }
  }

  destination(service: IpvsService, dest: DestinationId): LiveDestination | null {
    const d = service.destinations.find((x) => x.address === dest.address && x.port === dest.port);
    if (!d) return null;
    const f = this.figures.get(`${serviceKey(service.id)} ${hostPort(d.address, d.port)}`);
    return { weight: d.weight, forward: f?.forward ?? d.method, active: f?.active ?? 0, inactive: f?.inactive ?? 0, totals: f?.totals, rates: f?.rates };
  }

  totals(id: ServiceId): Totals | undefined {
    return this.serviceTotals.get(serviceKey(id));
  }

  rates(id: ServiceId): Rates | undefined {
    return this.serviceRates.get(serviceKey(id));
  }
}

function healthKey(id: ServiceId, dest: DestinationId): string {
  return `${serviceKey(id)} ${destinationKey(dest)}`;
}

/** keepalived's record counts only for a server it checks (a record left from an earlier file says nothing). */
function healthOf(server: RealServer, service: Service, record: ServerHealth | undefined, read: boolean): Health {
  const checked = server.role === 'server' ? activeCheck(server) !== undefined : isChecked(service);
  if (checked && record?.state === 'down') return { state: 'down', since: record.since };
  if (server.drain) return { state: 'draining' };
  if (!checked) return { state: 'unknown', why: 'unchecked' };
  if (record) return { state: 'up', since: record.since };
  return { state: 'unknown', why: read ? 'no-record' : 'unread' };
}

/** The declared VIPs (and floating addresses) a director holds when it is the active one. */
function clusterVips(cluster: Cluster): Set<string> {
  const out = new Set<string>();
  for (const s of cluster.services) for (const v of serviceVips(s)) out.add(v.address);
  return out;
}

function directorStatus(cluster: Cluster, name: string, declared: 'active' | 'backup', read: HostRead | undefined, plan: HostPlan | undefined, vips: ReadonlySet<string>): DirectorStatus {
  const d = cluster.directors!;
  const sync: SyncDaemon | undefined = d.sync ? { state: declared === 'active' ? 'master' : 'backup', mcastInterface: d.sync.iface, syncid: d.sync.id } : undefined;
  if (!read?.ok) return { name, declared, role: 'unknown', vipsHeld: 0, vips: vips.size, keepalived: undefined, sync: { declared: sync, live: undefined }, undeclared: [] };
  const held = new Set(read.facts.state.addresses.map((a) => a.address).filter((a) => vips.has(a)));
  const role: DirectorRole = vips.size === 0 ? (declared === 'active' ? 'active' : 'backup') : held.size === vips.size ? 'active' : held.size === 0 ? 'backup' : 'split';
  const k = read.facts.keepalived;
  const declaredIds = new Set(cluster.services.filter((s) => s.address).map((s) => serviceKey(serviceId(s))));
  const steps = new TableSteps(plan);
  const undeclared: UndeclaredService[] = [];
  for (const s of read.facts.state.ipvs ?? []) {
    const key = serviceKey(s.id);
    if (declaredIds.has(key)) continue;
    if (!steps.service(s.id).length) continue;
    undeclared.push({ director: name, id: s.id, key, scheduler: s.scheduler, destinations: s.destinations.length });
  }
  return {
    name,
    declared,
    role,
    vipsHeld: held.size,
    vips: vips.size,
    keepalived: k ? { installed: k.installed !== null, version: k.installed?.version, running: k.running !== null, pid: k.running?.pid } : undefined,
    sync: { declared: sync, live: read.facts.state.syncDaemons },
    undeclared,
  };
}

/** The status of the cluster from what was read. Pure. */
export function clusterStatus(input: StatusInput): ClusterStatus {
  const { cluster, desired, reads, plan } = input;
  const plans = new Map(plan.hosts.map((h) => [h.host, h]));
  const vips = clusterVips(cluster);
  const directors: DirectorStatus[] = [];
  const d = cluster.directors;
  if (d) {
    directors.push(directorStatus(cluster, d.active, 'active', reads.get(d.active), plans.get(d.active), vips));
    if (d.backup) directors.push(directorStatus(cluster, d.backup, 'backup', reads.get(d.backup), plans.get(d.backup), vips));
  }
  // The serving director: the one that holds the VIPs, else the declared active one if it was read, else any read one.
  const serving = directors.find((x) => x.role === 'active') ?? directors.find((x) => x.declared === 'active' && x.role !== 'unknown') ?? directors.find((x) => x.role !== 'unknown');
  const servingRead = serving ? reads.get(serving.name) : undefined;
  const facts = servingRead?.ok ? servingRead.facts : undefined;
  const table = facts ? new LiveTable(facts) : undefined;
  const steps = new TableSteps(serving ? plans.get(serving.name) : undefined);
  const health = new Map((facts?.keepalived?.health ?? []).map((h) => [healthKey(h.service, h.dest), h]));

  const services: ServiceStatus[] = [];
  for (const service of cluster.services) {
    if (!service.address) continue;
    services.push(serviceStatus(cluster, service, serving?.name, table, steps, health));
  }
  const hosts: HostStatus[] = input.hosts.map((name) => {
    const r = reads.get(name);
    const roles = desired.find((x) => x.name === name)?.roles ?? [];
    if (!r) return { name, roles, ok: false, error: 'not read' };
    if (!r.ok) return { name, roles, ok: false, error: r.message };
    return { name, roles, ok: true, ms: r.ms, changes: plans.get(name)?.steps.length ?? 0 };
  });
  return { at: input.at, hosts, directors, services };
}

function serviceStatus(
  cluster: Cluster,
  service: Service,
  director: string | undefined,
  table: LiveTable | undefined,
  steps: TableSteps,
  health: ReadonlyMap<string, ServerHealth>,
): ServiceStatus {
  const want = ipvsService(cluster, service);
  const id = want.id;
  const live = table?.services.get(serviceKey(id));
  const members = serversAndSorry(service);
  const servers: ServerStatus[] = members.map((server, i) => {
    // ipvsService lists the servers' destinations in order; the sorry server's is not among them.
    const dest = server.role === 'server' ? want.destinations[i] : undefined;
    return serverStatus(cluster, service, server, dest, id, live, table, steps, health);
  });
  const declared = new Set(servers.map((s) => destinationKey(s.dest)));
  const undeclared: UndeclaredDestination[] = [];
  for (const d of live?.destinations ?? []) {
    const dest = { address: d.address, port: d.port };
    if (declared.has(destinationKey(dest))) continue;
    undeclared.push({ dest, live: table!.destination(live!, dest)!, drift: driftOf(steps.destination(id, dest)) });
  }
  return {
    name: service.name,
    id,
    key: serviceKey(id),
    scheduler: want.scheduler,
    director,
    liveScheduler: live ? live.scheduler : null,
    totals: table?.totals(id),
    rates: table?.rates(id),
    servers,
    undeclared,
    drift: table ? driftOf(steps.service(id)) : [...EMPTY],
  };
}

function serverStatus(
  cluster: Cluster,
  service: Service,
  server: RealServer,
  declared: IpvsService['destinations'][number] | undefined,
  id: ServiceId,
  live: IpvsService | undefined,
  table: LiveTable | undefined,
  steps: TableSteps,
  health: ReadonlyMap<string, ServerHealth>,
): ServerStatus {
  const dest: DestinationId = declared ? { address: declared.address, port: declared.port } : sorryDestination(cluster, service, server);
  const record = health.get(healthKey(id, dest));
  return {
    name: server.host,
    role: server.role,
    dest,
    method: declared?.method ?? server.forward!.method,
    weight: declared?.weight ?? server.weight,
    live: live && table ? table.destination(live, dest) : null,
    health: healthOf(server, service, record, table !== undefined),
    drift: table ? driftOf(steps.destination(id, dest)) : [...EMPTY],
  };
}

/** A sorry server's destination, as keepalived programs it (compiler/desired.ts builds it the same way). */
function sorryDestination(cluster: Cluster, service: Service, server: RealServer): DestinationId {
  // A one-server service of the same shape gives the sorry server's destination as ipvsService builds any.
  const d = ipvsService(cluster, { ...service, servers: [server] }).destinations[0];
  return { address: d.address, port: d.port };
}

/**
 * Reads the fleet's hosts again and again (`lvsc status --watch`, the
 * monitor), each over its open connection, at most `parallel` at once, and
 * plans them: the status now. A host whose read fails (its connection
 * dropped, a command timed out) has that connection closed, and a host
 * without one (it could not be reached before) is connected afresh on the
 * next read: one that comes back is shown again without restarting lvsc.
 */
export class StatusReader {
  /** Connections that replace the fleet's: null when the host has none now. */
  private readonly own = new Map<string, Transport | null>();
  private closed = false;

  constructor(
    private readonly fleet: Fleet,
    private readonly options: { readonly parallel?: number; readonly ssh?: SshOptions } = {},
  ) {}

  private transport(name: string): Transport | undefined {
    return this.own.has(name) ? (this.own.get(name) ?? undefined) : this.fleet.reads.get(name)?.transport;
  }

  private drop(name: string, t: Transport): void {
    this.own.set(name, null);
    void t.close().catch(() => {});
  }

  async read(): Promise<ClusterStatus> {
    const { fleet } = this;
    const byName = new Map(fleet.desired.map((d) => [d.name, d]));
    const reads = new Map<string, HostRead>();
    const timeoutMs = this.options.ssh?.commandTimeoutMs;
    await pool(fleet.hosts, this.options.parallel ?? 10, async (name) => {
      const started = Date.now();
      let transport = this.transport(name);
      if (!transport) {
        try {
          transport = await connectSsh(endpointFor(fleet.cluster, name), this.options.ssh);
        } catch (error) {
          reads.set(name, { host: name, ok: false, message: error instanceof Error ? error.message : String(error) });
          return;
        }
        if (this.closed) {
          void transport.close().catch(() => {});
          return;
        }
        this.own.set(name, transport);
      }
      const r = await readHost(fleet.cluster, byName.get(name)!, transport, timeoutMs, true);
      if (r.ok) reads.set(name, { host: name, ok: true, transport, facts: r.facts, live: r.live, ms: Date.now() - started });
      else {
        reads.set(name, { host: name, ok: false, message: r.message });
        this.drop(name, transport);
      }
    });
    const live = new Map<string, LiveHost>();
    for (const [name, r] of reads) if (r.ok) live.set(name, r.live);
    const plan = buildPlan(fleet.desired.filter((d) => live.has(d.name)), live);
    return clusterStatus({ cluster: fleet.cluster, desired: fleet.desired, hosts: fleet.hosts, reads, plan, at: Date.now() });
  }

  /** Closes the connections it opened (the fleet's own are the fleet's to close). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.own.values()].map((t) => t?.close().catch(() => {})));
  }
}

/** The status from the fleet's first read (openFleet with `status: true`). */
export function fleetStatus(fleet: Fleet, at: number = Date.now()): ClusterStatus {
  return clusterStatus({ cluster: fleet.cluster, desired: fleet.desired, hosts: fleet.hosts, reads: fleet.reads, plan: fleet.plan, at });
}
