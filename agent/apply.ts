/**
 * Executes a Plan across hosts: each host runs its phases in order
 * (prepare, table, vip, unvip, drain, untable, cleanup), and a phase that the
 * plan says waits for another host's phase starts only once that one is done
 * — a director's table after every real server's prepare, the real servers'
 * cleanup after the director's untable. Everything else runs at once.
 *
 * Per host: the lvsc lock first (a busy lock fails the host, naming who holds
 * it), held until its last phase with steps has run (a real server waiting on
 * the director's later phases has nothing left to change, and its lock's
 * holder costs the host a process a second); commands through sudo where the host says so; runs of steps that are
 * plain commands (modules, sysctls, addresses, routes, links) sent as one
 * script that stops at the first failure and says which one (one SSH command,
 * one sudo, instead of one per step); files written by the transport's put();
 * runs of IPVS edits sent as one `ipvsadm -R` and then read
 * back, because -R reports only its last line; drained destinations set to
 * weight 0 together (one restore), then a wait (`drainMs`, showing the active
 * connections), then deleted (one restore). Never `ipvsadm -C`.
 *
 * Every step ends done, failed, pending (its host stopped before it) or
 * skipped (its host waited for a host that failed). A failure stops its own
 * host and the hosts waiting on it; independent hosts finish.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { batchSteps, isRestoreLine, restoreCommand } from '../compiler/batch.js';
import { commandLine, cmd, type Command } from '../compiler/command.js';
import { PHASES, type Dependency, type HostPlan, type Phase, type Plan, type Step } from '../compiler/plan.js';
import { serviceKey, destinationKey, type DestinationId, type IpvsDestination, type IpvsService, type ServiceId } from '../compiler/state.js';
import { ConnectionIndex, connectionsFact } from './facts/connections.js';
import { firstLines, ipvsTableBatch, readFact } from './facts/index.js';
import { acquireHostLock, localOwner, type HostLock } from './lock.js';
import type { RunResult, Transport } from './transport/transport.js';

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

class StepFailure extends Error {}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What a command that exited non-zero on a host means, for the step's message. */
function commandFailure(host: string, c: Command, r: RunResult): string {
  if (r.code === 127 && /not found/.test(r.stderr)) return `${c.argv[0]} is not installed on ${host} (not found on PATH)`;
  const err = firstLines(r.stderr) || firstLines(r.stdout) || 'no output';
  return `\`${commandLine(c)}\` failed on ${host} (exit ${r.code}): ${err}`;
}

/** Runs one command; a non-zero exit becomes a StepFailure that says what failed. */
async function runCommand(t: Transport, c: Command): Promise<string> {
  const r = await t.run(c, { sudo: true });
  if (r.code === 0) return r.stdout;
  throw new StepFailure(commandFailure(t.host, c, r));
}

/** A step whose commands can run in a shell script with others: commands without input (not a file's put, not a drain). */
function scriptable(step: Step): boolean {
  return !step.drain && (step.kind !== 'file' || step.action === 'delete') && step.commands.length > 0 && step.commands.every((c) => c.stdin === undefined);
}

/**
 * Commands run one after another in one shell on the host, each with its
 * output kept (stdout and stderr together, stdin /dev/null): the first that
 * fails ends the script with its exit status and output. Each line of the
 * script's own output starts with MARK (random per run, so no command's
 * output can forge it): `MARK ok` after each command, `MARK failed STATUS`
 * then the output, `MARK done` at the end.
 */
export function commandScript(commands: readonly Command[], mark: string): Command {
  const lines = [
    `lvsc_m='${mark}'`,
    'lvsc_run() {',
    '  lvsc_out=$("$@" 2>&1 </dev/null)',
    '  lvsc_s=$?',
    `  if [ "$lvsc_s" -ne 0 ]; then printf '%s failed %s\\n%s\\n' "$lvsc_m" "$lvsc_s" "$lvsc_out"; exit 0; fi`,
    `  printf '%s ok\\n' "$lvsc_m"`,
    '}',
    ...commands.map((c) => `lvsc_run ${commandLine(c)}`),
    `printf '%s done\\n' "$lvsc_m"`,
  ];
  return cmd('sh', '-c', lines.join('\n'));
}

/** How far a `commandScript` got: commands that succeeded, and the one that failed (or the script's end, cut short). */
export function readCommandScript(output: RunResult, mark: string): { ok: number; failed?: RunResult; done: boolean } {
  let ok = 0;
  const lines = output.stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === `${mark} ok`) ok++;
    else if (line === `${mark} done`) return { ok, done: true };
    else if (line.startsWith(`${mark} failed `)) {
      const code = Number(line.slice(mark.length + 8));
      // The command's output (stdout and stderr together) is what follows, up to the script's final newline.
      const text = lines.slice(i + 1).join('\n').replace(/\n$/, '');
      return { ok, done: false, failed: { code: Number.isInteger(code) ? code : 1, stdout: '', stderr: text } };
    }
  }
  return { ok, done: false };
}

/** Active connections of the drained steps' destinations, from the connections fact's listing, by each step's typed id. */
function activeOf(listing: ConnectionIndex, steps: readonly Step[]): number {
  let active = 0;
  for (const s of steps) if (s.kind === 'ipvs-destination') active += listing.get(s.id.service, s.id.dest)?.active ?? 0;
  return active;
}

/**
 * The IPVS table read back after a restore, looked up by the steps' keys:
 * services keyed once, a service's destinations keyed when first asked for.
 * (Searching the list per step was quadratic: minutes for a 10,000-service restore.)
 */
class TableIndex {
  private readonly services = new Map<string, IpvsService>();
  private readonly destinations = new Map<IpvsService, Map<string, IpvsDestination>>();

  constructor(table: readonly IpvsService[]) {
    // The first of a key wins, as a search would find it.
    for (const s of table) {
      const key = serviceKey(s.id);
      if (!this.services.has(key)) this.services.set(key, s);
    }
  }

  service(id: ServiceId): IpvsService | undefined {
    return this.services.get(serviceKey(id));
  }

  /** A destination of a service, by identity. */
  destination(service: ServiceId, dest: DestinationId): IpvsDestination | undefined {
    const s = this.service(service);
    if (!s) return undefined;
    let byKey = this.destinations.get(s);
    if (!byKey) {
      byKey = new Map();
      for (const d of s.destinations) if (!byKey.has(destinationKey(d))) byKey.set(destinationKey(d), d);
      this.destinations.set(s, byKey);
    }
    return byKey.get(destinationKey(dest));
  }
}

/** Whether a step's effect shows in the IPVS table read back after a restore. */
function ipvsStepHolds(step: Step, table: TableIndex): boolean {
  if (step.kind === 'ipvs-service') {
    const s = table.service(step.id.service);
    if (step.action === 'delete') return !s;
    const want = step.after;
    return Boolean(s && want && s.scheduler === want.scheduler && (s.persistence?.timeout ?? 0) === (want.persistence?.timeout ?? 0));
  }
  if (step.kind === 'ipvs-destination') {
    const d = table.destination(step.id.service, step.id.dest);
    if (step.action === 'delete') return !d;
    const want = step.after;
    return Boolean(d && want && d.weight === want.weight && d.method === want.method);
  }
  return true;
}

/** A drained destination's first command (weight 0) shows in the table read back. */
function weightZeroHolds(step: Step, table: TableIndex): boolean {
  return step.kind === 'ipvs-destination' && table.destination(step.id.service, step.id.dest)?.weight === 0;
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
    let lock: HostLock | undefined;
    const total = hp.steps.length;
    let index = 0;

    const runStep = async (r: StepResult, fn: () => Promise<void>) => {
      await emit({ type: 'step-start', host: hp.host, step: r.step, index: ++index, total });
      try {
        await fn();
        r.status = 'done';
        await emit({ type: 'step-done', host: hp.host, step: r.step });
      } catch (error) {
        r.status = 'failed';
        r.message = errorMessage(error);
        await emit({ type: 'step-failed', host: hp.host, step: r.step, message: r.message });
        throw new StepFailure(`${r.step.kind} ${r.step.label}: ${r.message}`);
      }
    };

    /**
     * The commands of several steps as one script (`commandScript`): the
     * steps before the failing command are done, its step failed, the rest
     * pending. When the script's outcome is unknown (the connection dropped,
     * the output was cut), every step not confirmed done fails with why.
     */
    const scriptSteps = async (transport: Transport, rs: StepResult[]) => {
      for (const r of rs) await emit({ type: 'step-start', host: hp.host, step: r.step, index: ++index, total });
      const commands = rs.flatMap((r) => r.step.commands.map((c) => ({ r, c })));
      const mark = `:::lvsc-run ${randomBytes(12).toString('hex')}`;
      let ran: ReturnType<typeof readCommandScript> | undefined;
      let unknown: string | undefined;
      try {
        const out = await transport.run(commandScript(commands.map((x) => x.c), mark), { sudo: true });
        ran = readCommandScript(out, mark);
        if (!ran.done && !ran.failed) unknown = `the commands' script stopped after ${ran.ok} of ${commands.length} commands (exit ${out.code}): ${firstLines(out.stderr) || 'no output'}`;
      } catch (error) {
        unknown = errorMessage(error);
      }
      const ok = ran?.ok ?? 0;
      const failedAt = ran?.failed ? commands[ok] : undefined;
      let firstFailed: StepResult | undefined;
      for (const r of rs) {
        const mine = commands.filter((x) => x.r === r);
        if (mine.every((x) => commands.indexOf(x) < ok)) {
          r.status = 'done';
          await emit({ type: 'step-done', host: hp.host, step: r.step });
        } else if (failedAt?.r === r || (unknown !== undefined && !failedAt)) {
          r.status = 'failed';
          r.message = failedAt ? commandFailure(transport.host, failedAt.c, ran!.failed!) : unknown;
          firstFailed ??= r;
          await emit({ type: 'step-failed', host: hp.host, step: r.step, message: r.message! });
        }
      }
      if (firstFailed) throw new StepFailure(`${firstFailed.step.kind} ${firstFailed.step.label}: ${firstFailed.message}`);
    };

    const plainStep = async (transport: Transport, r: StepResult) =>
      runStep(r, async () => {
        const s = r.step;
        if (s.kind === 'file' && s.action !== 'delete') {
          // networkd drop-ins live in a directory (eth0.network.d) that may not exist yet.
          await runCommand(transport, cmd('mkdir', '-p', '--', posix.dirname(s.id.path)));
          await transport.put(s.id.path, s.after ?? '', 0o644);
          return;
        }
        for (const c of s.commands) await runCommand(transport, c);
      });

    /**
     * One `ipvsadm -R` (`restore`) for the edits of `rs`, then the table read
     * back, because -R reports only its last line: each step whose effect
     * `holds` in the table passes (and is done, unless `more`: it has
     * commands left to run), the others fail; the first failure is thrown.
     */
    const restoreChecked = async (transport: Transport, rs: StepResult[], restore: Command, holds: (step: Step, table: TableIndex) => boolean, more?: string) => {
      let restoreError: string | undefined;
      try {
        await runCommand(transport, restore);
      } catch (error) {
        restoreError = errorMessage(error);
      }
      const check = ipvsTableBatch();
      let table: TableIndex | undefined;
      let readError: string | undefined;
      try {
        const out = await transport.run(check.command, { sudo: true });
        const facts = check.read({ stdout: out.stdout, stderr: out.stderr, status: out.code });
        const ipvsErrors = facts.errors.filter((e) => e.fact === 'ipvs' || e.fact === 'batch');
        if (ipvsErrors.length) readError = ipvsErrors.map((e) => e.message).join('; ');
        else table = new TableIndex(facts.state.ipvs ?? []);
      } catch (error) {
        readError = errorMessage(error);
      }
      let failedHere: StepResult | undefined;
      for (const r of rs) {
        if (table && holds(r.step, table)) {
          if (more) continue;
          r.status = 'done';
          await emit({ type: 'step-done', host: hp.host, step: r.step });
        } else {
          r.status = 'failed';
          const why = readError ? `the table could not be read back after ipvsadm -R: ${readError}` : `not in the table after ipvsadm -R${restoreError ? ` (${restoreError})` : ''}`;
          r.message = more ? `${more}: ${why}` : why;
          failedHere ??= r;
          await emit({ type: 'step-failed', host: hp.host, step: r.step, message: r.message });
        }
      }
      if (failedHere) throw new StepFailure(`${failedHere.step.kind} ${failedHere.step.label}: ${failedHere.message}`);
    };

    const runPhase = async (transport: Transport, phase: Phase, steps: StepResult[]) => {
      if (phase === 'drain') {
        const drained = steps.filter((r) => r.step.drain);
        // Weight 0 for all of them first, so they drain together: one restore when there are several.
        for (const r of drained) await emit({ type: 'step-start', host: hp.host, step: r.step, index: index + 1, total });
        if (drained.length > 1 && drained.every((r) => isRestoreLine(r.step.commands[0]))) {
          await restoreChecked(transport, drained, restoreCommand(drained.map((r) => r.step.commands[0])), weightZeroHolds, 'setting weight 0');
        } else {
          for (const r of drained) {
            try {
              await runCommand(transport, r.step.commands[0]);
            } catch (error) {
              r.status = 'failed';
              r.message = `setting weight 0: ${errorMessage(error)}`;
              await emit({ type: 'step-failed', host: hp.host, step: r.step, message: r.message });
              throw new StepFailure(`${r.step.kind} ${r.step.label}: ${r.message}`);
            }
          }
        }
        const drainMs = options.drainMs ?? 0;
        const until = Date.now() + drainMs;
        while (drained.length && Date.now() < until) {
          let active: number | undefined;
          const out = await transport.run(connectionsFact.command(), { sudo: true }).catch(() => undefined);
          const listing = out && readFact(connectionsFact, { stdout: out.stdout, stderr: out.stderr, status: out.code });
          if (listing?.ok) active = activeOf(new ConnectionIndex(listing.value), drained.map((r) => r.step));
          await emit({ type: 'drain', host: hp.host, remainingMs: Math.max(0, until - Date.now()), active });
          await new Promise((res) => setTimeout(res, Math.min(1_000, Math.max(0, until - Date.now()))));
        }
        // Then the deletions: runs of plain IPVS edits as one restore each, anything else on its own.
        const rest = (r: StepResult) => (r.step.drain ? r.step.commands.slice(1) : r.step.commands);
        const restorable = (r: StepResult) => rest(r).length > 0 && rest(r).every(isRestoreLine);
        for (let i = 0; i < steps.length; ) {
          let j = i;
          while (j < steps.length && restorable(steps[j])) j++;
          if (j - i > 1) {
            const run = steps.slice(i, j);
            for (const r of run) await emit({ type: 'step-start', host: hp.host, step: r.step, index: ++index, total });
            await restoreChecked(transport, run, restoreCommand(run.flatMap(rest)), ipvsStepHolds);
            i = j;
            continue;
          }
          const r = steps[i++];
          await runStep(r, async () => {
            for (const c of rest(r)) await runCommand(transport, c);
          });
        }
        return;
      }
      const byStep = new Map(steps.map((r) => [r.step, r]));
      const batches = batchSteps(steps.map((r) => r.step));
      for (let i = 0; i < batches.length; ) {
        // A run of steps that are plain commands: one script.
        let j = i;
        while (j < batches.length && batches[j].steps.length === 1 && scriptable(batches[j].steps[0])) j++;
        if (j - i > 1) {
          await scriptSteps(transport, batches.slice(i, j).map((b) => byStep.get(b.steps[0])!));
          i = j;
          continue;
        }
        const batch = batches[i++];
        if (batch.steps.length === 1) {
          await plainStep(transport, byStep.get(batch.steps[0])!);
          continue;
        }
        // One `ipvsadm -R` for the run of edits, then the table read back: -R reports only its last line.
        const rs = batch.steps.map((s) => byStep.get(s)!);
        for (const r of rs) await emit({ type: 'step-start', host: hp.host, step: r.step, index: ++index, total });
        await restoreChecked(transport, rs, batch.commands[0], ipvsStepHolds);
      }
    };

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
          if (!t) throw new StepFailure(`no connection to ${hp.host}`);
          if (!lock) lock = await acquireHostLock(t, owner);
          await runPhase(t, phase, mine);
        } catch (error) {
          stopped = errorMessage(error);
          result.status = 'failed';
          result.message = stopped;
        }
      }
      gate(hp.host, phase).resolve(stopped || blockedHere ? 'not-done' : 'done');
      if (lock && phase === lastPhase) {
        await lock.release().catch(() => undefined);
        lock = undefined;
      }
    }
    if (lock) await lock.release().catch(() => undefined);
    await emit({ type: 'host-done', host: hp.host, status: result.status, ...(result.message ? { message: result.message } : {}) });
    return result;
  };

  return Promise.all(input.plan.hosts.map(runHost));
}
