/**
 * The fleet: one SSH connection per host of a cluster, opened in parallel
 * (at most `parallel` at once) and kept for the whole run; each host's facts
 * read in ONE round trip (`factBatch`); the live state and what lvsc owned
 * there (its manifest, agent/facts/manifest.ts) assembled per host; and the plan
 * against all of it. A host that cannot be reached or read fails alone, with
 * a message, and never holds up the others.
 *
 * Which hosts: every declared host except one used only as a jump host (no
 * role, no interface, named by another host's `via`): that one is connected
 * only as a hop of the hosts behind it. With `targets`, the named hosts plus
 * the hosts whose steps wait for theirs: a host is pulled in when a phase of
 * its own that has steps waits for a targeted phase that has steps (found by
 * reading it, until nothing more is pulled in). One that cannot be read is
 * left out, and said so. Waits on hosts outside the run are not waited for.
 *
 * With `lock` (apply), each host's lvsc lock (agent/lock.ts) is taken as soon
 * as it is connected, BEFORE its facts are read, and held until `close()`: what
 * is planned, applied and verified there is what this run read, never state
 * another run changed in between. A host whose lock cannot be taken fails like
 * one that cannot be read, and nothing of it is read.
 *
 * Nothing here prints: progress goes out as events, views subscribe.
 */
import type { Cluster } from '../compiler/ir.js';
import { compileCluster } from '../compiler/compile.js';
import { isDirectorHost, type DesiredHost } from '../compiler/desired.js';
import { buildPlan, dependencies as planDependencies, type LiveHost } from '../compiler/order.js';
import { DEVICE_SYSCTLS, deviceSysctl, HOST_SYSCTLS, OWNED_DEVICES, type DeviceSysctl } from '../compiler/lvs.js';
import type { Dependency, Plan } from '../compiler/plan.js';
import { isLvscPath, NETWORK_FILE_GLOBS, PATHS } from '../compiler/templates/render.js';
import { factBatch, type FactRequest, type HostFacts } from './facts/index.js';
import { acquireHostLock, localOwner, type HostLock, type LockHolder } from './lock.js';
import { connectSsh, type SshEndpoint, type SshOptions } from './transport/ssh.js';
import type { Transport } from './transport/transport.js';

export type FleetEvent =
  /** The hosts about to be read (jump-only hosts are not among them; --target may pull in more later). */
  | { readonly type: 'hosts'; readonly hosts: readonly string[] }
  | { readonly type: 'connecting'; readonly host: string }
  | { readonly type: 'locking'; readonly host: string }
  /** With `lock.breakStale`: the lock on `host` was broken, its holder (`holder`) being gone or stuck. */
  | { readonly type: 'broke'; readonly host: string; readonly holder: LockHolder }
  | { readonly type: 'reading'; readonly host: string }
  | { readonly type: 'read'; readonly host: string; readonly ms: number }
  | { readonly type: 'failed'; readonly host: string; readonly message: string };

export interface FleetOptions {
  /** Hosts connected and read at once (default 10). */
  readonly parallel?: number;
  readonly ssh?: SshOptions;
  /** Limit the run to these hosts and what depends on them. */
  readonly targets?: readonly string[];
  /** Take each host's lvsc lock before reading it, held until `close()` (apply). */
  readonly lock?: FleetLockOptions;
  readonly onEvent?: (event: FleetEvent) => void;
  /**
   * For `lvsc status`: each director's traffic figures and its keepalived
   * (running or not, its health records) are read too, in the same round trip.
   */
  readonly status?: boolean;
}

export interface FleetLockOptions {
  /** Who holds the lock, for another run's message (default user@machine). */
  readonly owner?: string;
  /** Wait for a held lock and break it when its holder is gone or stuck (`--break-lock`; agent/lock.ts). */
  readonly breakStale?: boolean;
}

/** One host as read: its connection (kept open for apply) and live state, or why not. */
export type HostRead =
  | { readonly host: string; readonly ok: true; readonly transport: Transport; readonly facts: HostFacts; readonly live: LiveHost; readonly ms: number }
  | { readonly host: string; readonly ok: false; readonly message: string; readonly transport?: Transport };

export interface Fleet {
  readonly cluster: Cluster;
  readonly desired: readonly DesiredHost[];
  /** Hosts in this run, in declaration order. */
  readonly hosts: readonly string[];
  readonly reads: ReadonlyMap<string, HostRead>;
  /** The plan for the hosts that were read. */
  readonly plan: Plan;
  /** The cross-host order among the hosts of the run (also those that could not be read). */
  readonly dependencies: readonly Dependency[];
  /** Hosts of the run that could not be reached or read, with why. */
  readonly failed: ReadonlyMap<string, string>;
  /**
   * With targets: hosts that wait for a targeted host's phase but could not
   * be read, so whether they have steps there is unknown; they are left out
   * of the run (and said so), and nothing of theirs runs.
   */
  readonly leftOut: ReadonlyMap<string, string>;
  /** With `lock`: the lock of every host that was read (and of those whose read failed after it was taken). */
  readonly locks: ReadonlyMap<string, HostLock>;
  /** Frees every lock, then closes every connection (safe to call twice). */
  close(): Promise<void>;
}

export class FleetError extends Error {
  override readonly name = 'FleetError';
}


/** The host's SSH endpoint with its jump chain resolved from the IR (hosts named by `via`). */
export function endpointFor(cluster: Cluster, name: string, seen: readonly string[] = []): SshEndpoint {
  const host = cluster.hostsByName.get(name);
  if (!host) throw new FleetError(`no host ${name} in the cluster`);
  if (seen.includes(name)) throw new FleetError(`jump hosts form a loop: ${[...seen, name].join(' → ')}`);
  const s = host.ssh;
  return {
    name,
    host: s.host,
    ...(s.port !== undefined ? { port: s.port } : {}),
    ...(s.user !== undefined ? { user: s.user } : {}),
    ...(s.keyFile !== undefined ? { keyFile: s.keyFile } : {}),
    sudo: s.sudo,
    ...(s.via !== undefined ? { via: endpointFor(cluster, s.via, [...seen, name]) } : {}),
  };
}

/** Hosts that exist only to be jumped through: no role, no interface, named by someone's `via`. */
export function jumpOnlyHosts(cluster: Cluster, desired: readonly DesiredHost[]): Set<string> {
  const vias = new Set(cluster.hosts.map((h) => h.ssh.via).filter((v): v is string => v !== undefined));
  const out = new Set<string>();
  for (const d of desired) {
    const host = cluster.hostsByName.get(d.name);
    if (vias.has(d.name) && !d.roles.length && !host?.interfaces.length) out.add(d.name);
  }
  return out;
}


/**
 * What to read on a host: the sysctls and files lvsc wants now, and those it
 * may have set or rendered before (so it can put them back), and its
 * manifest (what it owns there): the per-device
 * ARP/rp_filter/redirect keys on all, lo, the tunnel devices and the host's
 * interfaces; lvsc's fixed file paths; and its networkd files by name
 * pattern, found on the host whatever device or port they are for.
 */
export function factRequestFor(cluster: Cluster, desired: DesiredHost, status = false): FactRequest {
  const host = cluster.hostsByName.get(desired.name);
  const devices = new Set(['all', ...OWNED_DEVICES, ...(host?.interfaces.map((i) => i.dev) ?? []), ...desired.state.addresses.map((a) => a.dev)]);
  const sysctlKeys = new Set(Object.keys(desired.state.sysctls));
  for (const dev of devices) for (const k of Object.keys(DEVICE_SYSCTLS) as DeviceSysctl[]) sysctlKeys.add(deviceSysctl(dev, k));
  for (const k of Object.values(HOST_SYSCTLS)) sysctlKeys.add(k.key);
  const files = new Set(Object.keys(desired.state.files));
  for (const p of Object.values(PATHS)) if (isLvscPath(p)) files.add(p);
  // The manifest has a fact of its own (which puts its text among the files).
  files.delete(PATHS.manifest);
  return {
    director: isDirectorHost(desired),
    needsNft: desired.state.fwmarkRules.length > 0,
    sysctlKeys: [...sysctlKeys],
    files: [...files].filter(isLvscPath),
    fileGlobs: NETWORK_FILE_GLOBS,
    manifest: PATHS.manifest,
    ...(desired.keepalived || status ? { keepalived: true } : {}),
    ...(desired.state.enabledUnits.length ? { units: desired.state.enabledUnits } : {}),
    ...(status ? { counters: true } : {}),
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads one host's facts over an open transport: the live state, or why it cannot be planned. */
export async function readHost(
  cluster: Cluster,
  desired: DesiredHost,
  transport: Transport,
  timeoutMs?: number,
  status = false,
): Promise<{ ok: true; facts: HostFacts; live: LiveHost } | { ok: false; message: string }> {
  const batch = factBatch(factRequestFor(cluster, desired, status));
  let result;
  try {
    result = await transport.run(batch.command, { sudo: true, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  } catch (error) {
    return { ok: false, message: `reading facts failed: ${errorMessage(error)}` };
  }
  let facts;
  try {
    facts = batch.read({ stdout: result.stdout, stderr: result.stderr, status: result.code });
  } catch (error) {
    // Whatever the host printed, it fails this host alone, never the run.
    return { ok: false, message: `reading facts failed: ${errorMessage(error)}` };
  }
  if (facts.errors.length) {
    // Planning against a fact that could not be read would "create" what is already there.
    return { ok: false, message: facts.errors.map((e) => (e.fact === 'batch' ? e.message : `${e.fact}: ${e.message}`)).join('; ') };
  }
  return { ok: true, facts, live: { state: facts.state, ownership: facts.ownership, ...(facts.keepalived ? { health: facts.keepalived.health, keepalivedRunning: facts.keepalived.running !== null } : {}) } };
}

/** Runs `fn` over `items`, at most `limit` at once. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** Connects to and reads the hosts of a run, then plans it. Connections stay open until `close()`. */
export async function openFleet(cluster: Cluster, options: FleetOptions = {}): Promise<Fleet> {
  const opened: Transport[] = [];
  try {
    return await open(cluster, options, opened);
  } catch (error) {
    // Nothing may keep a connection open once the run has failed: the process would never end.
    await Promise.all(opened.map((t) => t.close().catch(() => {})));
    throw error;
  }
}

async function open(cluster: Cluster, options: FleetOptions, opened: Transport[]): Promise<Fleet> {
  const desired = compileCluster(cluster);
  const byName = new Map(desired.map((d) => [d.name, d]));
  const jumpOnly = jumpOnlyHosts(cluster, desired);
  const emit = options.onEvent ?? (() => {});
  const parallel = options.parallel ?? 10;
  const reads = new Map<string, HostRead>();
  const locks = new Map<string, HostLock>();

  for (const t of options.targets ?? []) if (!byName.has(t)) throw new FleetError(`--target ${t}: no such host in the cluster`);

  const readAll = async (names: readonly string[]) => {
    await pool(names, parallel, async (name) => {
      const started = Date.now();
      emit({ type: 'connecting', host: name });
      let transport: Transport;
      try {
        transport = await connectSsh(endpointFor(cluster, name), options.ssh);
        opened.push(transport);
      } catch (error) {
        const message = errorMessage(error);
        reads.set(name, { host: name, ok: false, message });
        emit({ type: 'failed', host: name, message });
        return;
      }
      if (options.lock) {
        emit({ type: 'locking', host: name });
        try {
          const lock = await acquireHostLock(transport, options.lock.owner ?? localOwner(), { breakStale: options.lock.breakStale === true });
          locks.set(name, lock);
          if (lock.broke) emit({ type: 'broke', host: name, holder: lock.broke });
        } catch (error) {
          const message = errorMessage(error);
          reads.set(name, { host: name, ok: false, message, transport });
          emit({ type: 'failed', host: name, message });
          return;
        }
      }
      emit({ type: 'reading', host: name });
      const r = await readHost(cluster, byName.get(name)!, transport, options.ssh?.commandTimeoutMs, options.status);
      if (!r.ok) {
        reads.set(name, { host: name, ok: false, message: r.message, transport });
        emit({ type: 'failed', host: name, message: r.message });
        return;
      }
      const ms = Date.now() - started;
      reads.set(name, { host: name, ok: true, transport, facts: r.facts, live: r.live, ms });
      emit({ type: 'read', host: name, ms });
    });
  };

  const declared = desired.map((d) => d.name).filter((n) => !jumpOnly.has(n) || options.targets?.includes(n));
  let scope = new Set(options.targets?.length ? options.targets : declared);
  const leftOut = new Map<string, string>();
  emit({ type: 'hosts', hosts: [...scope] });
  await readAll([...scope]);
  let plan = planFor(desired, scope, reads);
  if (options.targets?.length) {
    // Pull in the hosts whose steps wait for a phase that has steps in the run, until none is added.
    const tried = new Set(scope);
    for (;;) {
      const deps = planDependencies(desired, planFor(desired, new Set([...scope, ...tried]), reads).hosts);
      const stepsIn = (host: string, phase: string) => plan.hosts.find((h) => h.host === host)?.steps.some((s) => s.phase === phase) ?? false;
      const candidates = new Map<string, string>();
      for (const d of deps) {
        if (scope.has(d.host) || !scope.has(d.after.host) || !stepsIn(d.after.host, d.after.phase)) continue;
        if (!candidates.has(d.host)) candidates.set(d.host, `its ${d.phase} waits for ${d.after.host}'s ${d.after.phase}`);
      }
      const fresh = [...candidates.keys()].filter((h) => !tried.has(h));
      for (const h of fresh) tried.add(h);
      await readAll(fresh);
      const whole = planFor(desired, tried, reads);
      const pulled: string[] = [];
      for (const [host, why] of candidates) {
        const r = reads.get(host);
        if (!r?.ok) {
          leftOut.set(host, `left out of this --target run (${why}) because it could not be read: ${r?.message ?? 'not connected'}`);
          continue;
        }
        const waiting = deps.filter((d) => d.host === host && scope.has(d.after.host) && stepsIn(d.after.host, d.after.phase)).map((d) => d.phase);
        if (whole.hosts.find((h) => h.host === host)?.steps.some((s) => waiting.includes(s.phase))) pulled.push(host);
      }
      if (!pulled.length) break;
      scope = new Set([...scope, ...pulled]);
      plan = planFor(desired, scope, reads);
    }
  }
  const hosts = desired.map((d) => d.name).filter((n) => scope.has(n));
  const failed = new Map<string, string>();
  for (const n of hosts) {
    const r = reads.get(n)!;
    if (!r.ok) failed.set(n, r.message);
  }
  // The order over the whole cluster (the plan's own covers only the hosts read), limited to the run.
  const dependencies = planDependencies(desired, plan.hosts).filter((d) => scope.has(d.host) && scope.has(d.after.host));
  let closed = false;
  return {
    cluster,
    desired,
    hosts,
    reads,
    plan,
    dependencies,
    failed,
    leftOut,
    locks,
    async close() {
      if (closed) return;
      closed = true;
      // A lock that cannot be released is freed by its connection's end.
      await Promise.all([...locks.values()].map((lock) => lock.release().catch(() => {})));
      await Promise.all([...reads.values()].map((r) => r.transport?.close().catch(() => {})));
    },
  };
}

function planFor(desired: readonly DesiredHost[], scope: ReadonlySet<string>, reads: ReadonlyMap<string, HostRead>): Plan {
  const live = new Map<string, LiveHost>();
  const ok = desired.filter((d) => {
    const r = reads.get(d.name);
    if (!scope.has(d.name) || !r?.ok) return false;
    live.set(d.name, r.live);
    return true;
  });
  const plan = buildPlan(ok, live);
  return { hosts: plan.hosts, dependencies: plan.dependencies, ...(plan.faults ? { faults: plan.faults } : {}) };
}

/** Reads the fleet's hosts again over their open connections and plans them: what still differs. */
export async function replan(fleet: Fleet, hosts: readonly string[], parallel = 10, timeoutMs?: number): Promise<{ plan: Plan; failed: Map<string, string> }> {
  const byName = new Map(fleet.desired.map((d) => [d.name, d]));
  const live = new Map<string, LiveHost>();
  const failed = new Map<string, string>();
  await pool(hosts, parallel, async (name) => {
    const read = fleet.reads.get(name);
    if (!read?.ok) {
      failed.set(name, read ? read.message : 'not connected');
      return;
    }
    const r = await readHost(fleet.cluster, byName.get(name)!, read.transport, timeoutMs);
    if (r.ok) live.set(name, r.live);
    else failed.set(name, r.message);
  });
  return { plan: buildPlan(fleet.desired.filter((d) => live.has(d.name)), live), failed };
}
