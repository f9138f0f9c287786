/**
 * Runs a host's work units (compiler/units.ts) over its transport and records
 * each step's outcome: `done`, `failed` (with why), or left `pending` when the
 * host stops before it. A failure throws `StepFailure`, which stops the host.
 *
 * - `commands`: each command in turn; the first non-zero exit fails the step.
 * - `put`: the file's directory made (`mkdir -p`), then the transport's put().
 * - `keepalived`: keepalived.conf (keepalived's presence was checked before
 *   the host's first unit, `checkPrerequisites`); the candidate is put beside the live file and
 *   checked by `keepalived -t` (a refused one is removed, the live file left
 *   as it was, and the host fails with keepalived's own message); a good one
 *   is moved into place (atomic), then keepalived reloaded (SIGHUP to the
 *   live keepalived of the pid file) or started (units.ts `keepalivedCommands`).
 * - `script`: the steps' commands as one shell script (`commandScript`) that
 *   stops at the first failure and says which one: the steps before it are
 *   done, its step failed, the rest pending. When the outcome is unknown (the
 *   connection dropped, the output was cut), each step not confirmed done fails.
 * - `restore`: one `ipvsadm -R`, then the table read back (`-Sn`, and the
 *   thresholds when they matter), because -R reports only its last line; each
 *   step holds or fails by the one diff (verify.ts).
 * - `weight-zero`: the drained destinations to weight 0 (a checked restore, or
 *   each first command); their steps stay pending until their deletion.
 * - `wait`: `--drain` long, the drained destinations' active connections
 *   reported about once a second (the connections fact, `ipvsadm -Ln`).
 *
 * Progress events and messages are the same whatever the unit: a step starts
 * (`step-start`, counted), then is done or failed.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { cmd, commandLine, type Command } from '../compiler/command.js';
import type { Step } from '../compiler/plan.js';
import type { IpvsService } from '../compiler/state.js';
import { keepalivedCommands, keepalivedInstalled, keepalivedMissing, needsKeepalived, type WorkUnit } from '../compiler/units.js';
import { printable } from '../lang/printable.js';
import type { ApplyEvent, StepResult } from './apply.js';
import { ConnectionIndex, connectionsFact } from './facts/connections.js';
import { firstLines, ipvsTableBatch, readFact } from './facts/index.js';
import type { RunResult, Transport } from './transport/transport.js';
import { needsThresholds, stepsNotHeld, type Expectation } from './verify.js';

/** A step failed: the host stops. */
export class StepFailure extends Error {}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One host's run: where its units go and where their outcomes are recorded. */
export interface HostRun {
  readonly host: string;
  readonly transport: Transport;
  /** Each step's result (from `applyPlan`), updated as the units run. */
  readonly results: ReadonlyMap<Step, StepResult>;
  readonly emit: (event: ApplyEvent) => Promise<void>;
  /** How long drained destinations keep weight 0 before they are deleted. */
  readonly drainMs: number;
  /** All the host's steps, and how many have started (the progress counter). */
  readonly total: number;
  started: number;
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

function result(run: HostRun, step: Step): StepResult {
  const r = run.results.get(step);
  if (!r) throw new Error(`bug: step ${step.kind} ${step.label} is not among ${run.host}'s`);
  return r;
}

async function start(run: HostRun, step: Step): Promise<void> {
  await run.emit({ type: 'step-start', host: run.host, step, index: ++run.started, total: run.total });
}

async function done(run: HostRun, step: Step): Promise<void> {
  result(run, step).status = 'done';
  await run.emit({ type: 'step-done', host: run.host, step });
}

async function fail(run: HostRun, step: Step, message: string): Promise<void> {
  const r = result(run, step);
  r.status = 'failed';
  r.message = message;
  await run.emit({ type: 'step-failed', host: run.host, step, message });
}

const stop = (step: Step, message: string) => new StepFailure(`${step.kind} ${step.label}: ${message}`);

/** One step on its own: started, `fn` run, done; or failed, which stops the host. */
async function alone(run: HostRun, step: Step, fn: () => Promise<void>): Promise<void> {
  await start(run, step);
  try {
    await fn();
  } catch (error) {
    const message = errorMessage(error);
    await fail(run, step, message);
    throw stop(step, message);
  }
  await done(run, step);
}

async function script(run: HostRun, steps: readonly Step[]): Promise<void> {
  for (const s of steps) await start(run, s);
  const commands = steps.flatMap((s) => s.commands.map((c) => ({ s, c })));
  const mark = `:::lvsc-run ${randomBytes(12).toString('hex')}`;
  let ran: ReturnType<typeof readCommandScript> | undefined;
  let unknown: string | undefined;
  try {
    const out = await run.transport.run(commandScript(commands.map((x) => x.c), mark), { sudo: true });
    ran = readCommandScript(out, mark);
    if (!ran.done && !ran.failed) unknown = `the commands' script stopped after ${ran.ok} of ${commands.length} commands (exit ${out.code}): ${firstLines(out.stderr) || 'no output'}`;
  } catch (error) {
    unknown = errorMessage(error);
  }
  const ok = ran?.ok ?? 0;
  const failedAt = ran?.failed ? commands[ok] : undefined;
  let first: { step: Step; message: string } | undefined;
  let next = 0;
  for (const s of steps) {
    const mine = commands.filter((x) => x.s === s).length;
    const end = next + mine;
    next = end;
    if (end <= ok) await done(run, s);
    else if (failedAt?.s === s || (unknown !== undefined && !failedAt)) {
      const message = failedAt ? commandFailure(run.transport.host, failedAt.c, ran!.failed!) : unknown!;
      first ??= { step: s, message };
      await fail(run, s, message);
    }
  }
  if (first) throw stop(first.step, first.message);
}

/** The table read back after a restore: the services, or why they could not be read. */
async function readTable(t: Transport, thresholds: boolean): Promise<{ table: readonly IpvsService[] } | { error: string }> {
  const check = ipvsTableBatch({ thresholds });
  try {
    const out = await t.run(check.command, { sudo: true });
    const facts = check.read({ stdout: out.stdout, stderr: out.stderr, status: out.code });
    const errors = facts.errors.filter((e) => e.fact === 'ipvs' || e.fact === 'thresholds' || e.fact === 'batch');
    if (errors.length) return { error: errors.map((e) => e.message).join('; ') };
    return { table: facts.state.ipvs ?? [] };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

/**
 * One `ipvsadm -R`, then the table read back: each step that holds there
 * (verify.ts) is done, unless `more` (weight 0: its deletion is still to
 * come), the others fail; the first failure stops the host.
 */
async function restoreChecked(run: HostRun, steps: readonly Step[], restore: Command, expect: Expectation, more?: string): Promise<void> {
  let restoreError: string | undefined;
  try {
    await runCommand(run.transport, restore);
  } catch (error) {
    restoreError = errorMessage(error);
  }
  const read = await readTable(run.transport, needsThresholds(steps, expect));
  const notHeld = 'table' in read ? stepsNotHeld(steps, expect, read.table) : undefined;
  let first: { step: Step; message: string } | undefined;
  for (const s of steps) {
    if (notHeld && !notHeld.has(s)) {
      if (!more) await done(run, s);
      continue;
    }
    const why = 'error' in read ? `the table could not be read back after ipvsadm -R: ${read.error}` : `not in the table after ipvsadm -R${restoreError ? ` (${restoreError})` : ''}`;
    const message = more ? `${more}: ${why}` : why;
    first ??= { step: s, message };
    await fail(run, s, message);
  }
  if (first) throw stop(first.step, first.message);
}

async function weightZero(run: HostRun, steps: readonly Step[], restore: Command | undefined): Promise<void> {
  // They drain together: all start at once, and stay pending until their deletion.
  for (const s of steps) await run.emit({ type: 'step-start', host: run.host, step: s, index: run.started + 1, total: run.total });
  if (restore) return restoreChecked(run, steps, restore, 'weight-zero', 'setting weight 0');
  for (const s of steps) {
    try {
      await runCommand(run.transport, s.commands[0]);
    } catch (error) {
      const message = `setting weight 0: ${errorMessage(error)}`;
      await fail(run, s, message);
      throw stop(s, message);
    }
  }
}

/** The drain: until `drainMs` has passed, the drained destinations' active connections, about once a second. */
async function wait(run: HostRun, steps: readonly Step[]): Promise<void> {
  const until = Date.now() + run.drainMs;
  while (steps.length && Date.now() < until) {
    let active: number | undefined;
    const out = await run.transport.run(connectionsFact.command(), { sudo: true }).catch(() => undefined);
    const listing = out && readFact(connectionsFact, { stdout: out.stdout, stderr: out.stderr, status: out.code });
    if (listing?.ok) {
      const index = new ConnectionIndex(listing.value);
      active = 0;
      for (const s of steps) if (s.kind === 'ipvs-destination') active += index.get(s.id.service, s.id.dest)?.active ?? 0;
    }
    await run.emit({ type: 'drain', host: run.host, remainingMs: Math.max(0, until - Date.now()), active });
    await new Promise((res) => setTimeout(res, Math.min(1_000, Math.max(0, until - Date.now()))));
  }
}

/**
 * What a host's steps need there before any of them runs: keepalived, when
 * they install keepalived.conf. Missing, the host fails with nothing changed.
 */
export async function checkPrerequisites(run: HostRun, steps: readonly Step[]): Promise<void> {
  if (!needsKeepalived(steps)) return;
  const r = await run.transport.run(keepalivedInstalled(run.host), { sudo: true });
  if (r.code !== 0) throw new StepFailure(r.code === 1 && r.stderr.trim() === keepalivedMissing(run.host) ? keepalivedMissing(run.host) : `could not tell whether keepalived is installed on ${run.host} (exit ${r.code}): ${printable(firstLines(r.stderr) || 'no output')}`);
}

/** keepalived.conf: checked by keepalived before it replaces the live one, then keepalived reloaded or started. */
async function keepalived(run: HostRun, unit: Extract<WorkUnit, { kind: 'keepalived' }>): Promise<void> {
  const t = run.transport;
  const k = keepalivedCommands(unit);
  await runCommand(t, k.mkdir);
  await t.put(k.candidate, unit.step.after ?? '', 0o644);
  const tested = await t.run(k.test, { sudo: true });
  if (tested.code !== 0) {
    const said = firstLines(tested.stderr, 10) || firstLines(tested.stdout, 10) || 'no output';
    throw new StepFailure(`keepalived refused the new configuration on ${run.host} (keepalived -t, exit ${tested.code}); ${k.live} is unchanged: ${printable(said)}`);
  }
  await runCommand(t, k.move);
  await runCommand(t, k.reload);
}

/** Runs one unit; a failure has been recorded and is thrown as StepFailure. */
export async function runUnit(run: HostRun, unit: WorkUnit): Promise<void> {
  const t = run.transport;
  switch (unit.kind) {
    case 'commands':
      return alone(run, unit.step, async () => {
        for (const c of unit.commands) await runCommand(t, c);
      });
    case 'put': {
      const { path } = unit.step.id;
      return alone(run, unit.step, async () => {
        // networkd drop-ins live in a directory (eth0.network.d) that may not exist yet.
        await runCommand(t, cmd('mkdir', '-p', '--', posix.dirname(path)));
        await t.put(path, unit.step.after ?? '', 0o644);
      });
    }
    case 'keepalived':
      return alone(run, unit.step, () => keepalived(run, unit));
    case 'script':
      return script(run, unit.steps);
    case 'restore':
      for (const s of unit.steps) await start(run, s);
      return restoreChecked(run, unit.steps, unit.command, 'done');
    case 'weight-zero':
      return weightZero(run, unit.steps, unit.restore);
    case 'wait':
      return wait(run, unit.steps);
    case 'keepalived-stop':
      return alone(run, unit.step, async () => {
        for (const c of unit.commands) await runCommand(t, c);
      });
    case 'settled':
      return settled(run, unit.steps, unit.expect);
  }
}

/** How long keepalived may take to carry out a reload before its steps fail. */
export const SETTLE_MS = 60_000;

/**
 * Steps keepalived carries out after a reload (it rereads its configuration
 * on its own time): the table read back, about every 200 ms, until each holds
 * (verify.ts) — at weight 0 (`weight-zero`: they start, their deletion still
 * to come) or done — or SETTLE_MS has passed, when those that do not hold fail.
 */
async function settled(run: HostRun, steps: readonly Step[], expect: Expectation, settleMs: number = SETTLE_MS): Promise<void> {
  if (expect === 'weight-zero') for (const s of steps) await run.emit({ type: 'step-start', host: run.host, step: s, index: run.started + 1, total: run.total });
  const until = Date.now() + settleMs;
  let notHeld: ReadonlySet<Step> = new Set(steps);
  let error: string | undefined;
  for (;;) {
    const read = await readTable(run.transport, needsThresholds(steps, expect));
    if ('table' in read) {
      notHeld = stepsNotHeld(steps, expect, read.table);
      error = undefined;
    } else error = read.error;
    if (!notHeld.size || Date.now() >= until) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  let first: { step: Step; message: string } | undefined;
  for (const s of steps) {
    if (!notHeld.has(s)) {
      if (expect === 'done') await done(run, s);
      continue;
    }
    const why = error ? `the table could not be read: ${error}` : expect === 'weight-zero' ? 'keepalived did not take it to weight 0' : 'keepalived did not take it out of the table';
    const message = `${why} within ${settleMs / 1000} s of its reload`;
    first ??= { step: s, message };
    await fail(run, s, message);
  }
  if (first) throw stop(first.step, first.message);
}
