/**
 * Executes a Plan across hosts, as a pipeline: each host's steps of a phase
 * become typed work units in one batching pass (compiler/units.ts), the
 * executor runs them (executor.ts) and records each step done, failed,
 * pending or skipped, and what a restore did is checked by the one diff on
 * the table read back (verify.ts).
 *
 * Across hosts: each host runs its phases in order (prepare, table, vip,
 * unvip, drain, untable, cleanup), and a phase that the plan says waits for
 * another host's phase starts only once that one is done — a director's
 * table after every real server's prepare, the real servers' cleanup after
 * the director's untable. Everything else runs at once.
 *
 * Per host: the lvsc lock first, unless the caller took it before it read the
 * host (`locks`: lvsc apply does, and holds it through the verification; a lock
 * lost meanwhile fails the host before its next phase). Otherwise taken here (a
 * busy lock fails the host, naming who holds it), held until its last phase
 * with steps has run (a real server waiting on
 * the director's later phases has nothing left to change, and its lock's
 * holder costs the host a process a second); commands through sudo where the
 * host says so. Never `ipvsadm -C`.
 *
 * Every step ends done, failed, pending (its host stopped before it) or
 * skipped (its host waited for a host that failed). A failure stops its own
 * host and the hosts waiting on it; independent hosts finish.
 */
import { PHASES, type Dependency, type HostPlan, type Phase, type Plan, type Step } from '../compiler/plan.js';
import { phaseUnits } from '../compiler/units.js';
import { checkPrerequisites, errorMessage, runUnit, StepFailure, type HostRun } from './executor.js';
import { acquireHostLock, localOwner, type HostLock } from './lock.js';
import type { Transport } from './transport/transport.js';

export type StepStatus = 'done' | 'failed' | 'pending' | 'skipped';

export interface StepResult {
  readonly step: Step;
  status: StepStatus;
  message?: string;
}

export type HostStatus = 'done' | 'unchanged' | 'failed' | 'skipped';

export interface HostResult {
  readonly host: string;
  status: HostStatus;
  /** Why the host failed or stopped. */
  message?: string;
  readonly steps: StepResult[];
}

export type ApplyEvent =
  | { readonly type: 'host-start'; readonly host: string; readonly steps: number }
  | { readonly type: 'step-start'; readonly host: string; readonly step: Step; readonly index: number; readonly total: number }
  | { readonly type: 'step-done'; readonly host: string; readonly step: Step }
  | { readonly type: 'step-failed'; readonly host: string; readonly step: Step; readonly message: string }
  | { readonly type: 'waiting'; readonly host: string; readonly phase: Phase; readonly on: readonly string[] }
  | { readonly type: 'drain'; readonly host: string; readonly remainingMs: number; readonly active: number | undefined }
  | { readonly type: 'host-done'; readonly host: string; readonly status: HostStatus; readonly message?: string };

export interface ApplyInput {
  readonly plan: Plan;
  /** The cross-host order (the plan's, or the fleet's fuller one). */
  readonly dependencies: readonly Dependency[];
  /** An open connection per host that has steps. */
  readonly transports: ReadonlyMap<string, Transport>;
  /** Hosts of the run that could not be read: they run nothing, and hosts waiting on them are skipped. */
  readonly failed?: ReadonlyMap<string, string>;
  /** Locks the caller took on hosts before reading them: used, checked before each phase, and left to the caller to free. */
  readonly locks?: ReadonlyMap<string, HostLock>;
}

export interface ApplyOptions {
  /** How long drained destinations keep weight 0 before they are deleted (default 0). */
  readonly drainMs?: number;
  /** Who holds the lock, for a second apply's message (default user@machine). */
  readonly owner?: string;
  /** Progress; a returned promise is awaited before the step runs. */
  readonly onEvent?: (event: ApplyEvent) => void | Promise<void>;
}

type Gate = 'done' | 'not-done';

class Deferred<T> {
  resolve!: (value: T) => void;
  readonly promise = new Promise<T>((r) => (this.resolve = r));
}

/** Executes the plan; resolves when every host has finished, failed or been skipped. */
export async function applyPlan(input: ApplyInput, options: ApplyOptions = {}): Promise<HostResult[]> {
  const emit = async (e: ApplyEvent) => {
    await options.onEvent?.(e);
  };
  const owner = options.owner ?? localOwner();
  const failed = input.failed ?? new Map<string, string>();
  const gates = new Map<string, Deferred<Gate>>();
  const gate = (host: string, phase: Phase) => {
    const key = `${host} ${phase}`;
    let g = gates.get(key);
    if (!g) gates.set(key, (g = new Deferred<Gate>()));
    return g;
  };
  const planned = new Set(input.plan.hosts.map((h) => h.host));
  // Hosts that could not be read complete no phase.
  for (const [host] of failed) for (const p of PHASES) gate(host, p).resolve('not-done');
  // A dependency on a host outside the run (not planned, not failed) is not waited for.
  const deps = input.dependencies.filter((d) => planned.has(d.after.host) || failed.has(d.after.host));

  const runHost = async (hp: HostPlan): Promise<HostResult> => {
    const result: HostResult = { host: hp.host, status: hp.steps.length ? 'done' : 'unchanged', steps: hp.steps.map((step) => ({ step, status: 'pending' as StepStatus })) };
    const t = input.transports.get(hp.host);
    let stopped: string | undefined;
    const taken = input.locks?.get(hp.host);
    let lock: HostLock | undefined;
    let prerequisites = false;
    const results = new Map(result.steps.map((r) => [r.step, r]));
    const run: HostRun | undefined = t && { host: hp.host, transport: t, results, emit, drainMs: options.drainMs ?? 0, total: hp.steps.length, started: 0 };

    if (hp.steps.length) await emit({ type: 'host-start', host: hp.host, steps: hp.steps.length });
    const lastPhase = PHASES.filter((p) => hp.steps.some((s) => s.phase === p)).pop();
    for (const phase of PHASES) {
      const waits = deps.filter((d) => d.host === hp.host && d.phase === phase);
      const mine = result.steps.filter((r) => r.step.phase === phase);
      if (waits.length && mine.length && !stopped) await emit({ type: 'waiting', host: hp.host, phase, on: [...new Set(waits.map((d) => d.after.host))] });
      const outcomes = await Promise.all(waits.map((d) => gate(d.after.host, d.after.phase).promise));
      const blocked = waits.filter((_, i) => outcomes[i] !== 'done');
      let blockedHere = false;
      if (!stopped && blocked.length) {
        blockedHere = true;
        const left = result.steps.filter((r) => r.status === 'pending' && PHASES.indexOf(r.step.phase) >= PHASES.indexOf(phase));
        if (left.length) {
          const b = blocked[0];
          stopped = `not touched from its ${phase} phase on: it waits for ${b.after.host}'s ${b.after.phase}, which did not complete${failed.has(b.after.host) ? ` (${failed.get(b.after.host)})` : ''}`;
          for (const r of left) r.status = 'skipped';
          result.status = result.steps.some((r) => r.status === 'done') ? 'failed' : 'skipped';
          result.message = stopped;
        }
      }
      if (!stopped && mine.length) {
        try {
          if (!run) throw new StepFailure(`no connection to ${hp.host}`);
          if (!lock) {
            lock = taken ?? (await acquireHostLock(run.transport, owner));
            // What the host's steps need there (keepalived), before its first change.
            if (!prerequisites) await checkPrerequisites(run, hp.steps);
            prerequisites = true;
          }
          // Planned under a lock this run no longer holds: another run may have changed the host since.
          if (!lock.held) throw new StepFailure(`${lock.lost ?? `the lvsc lock on ${hp.host} is gone`}; nothing more is changed on ${hp.host}`);
          // The phase's steps as work units, in order; the first failure stops the host.
          for (const unit of phaseUnits(mine.map((r) => r.step))) await runUnit(run, unit);
        } catch (error) {
          stopped = errorMessage(error);
          result.status = 'failed';
          result.message = stopped;
        }
      }
      gate(hp.host, phase).resolve(stopped || blockedHere ? 'not-done' : 'done');
      if (lock && lock !== taken && phase === lastPhase) {
        await lock.release().catch(() => undefined);
        lock = undefined;
      }
    }
    if (lock && lock !== taken) await lock.release().catch(() => undefined);
    await emit({ type: 'host-done', host: hp.host, status: result.status, ...(result.message ? { message: result.message } : {}) });
    return result;
  };

  return Promise.all(input.plan.hosts.map(runHost));
}
