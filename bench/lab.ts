/**
 * Benchmark section `lab`: lvsc against the real kernel in the lab VM
 * (lab/README.md), with a large table on the director lb1 (default 10,000
 * services, `--lab-services N`, 0 skips). Printed side by side:
 *
 * - `lvsc apply --yes` of the whole table from an empty director, end to end
 *   (parse, compile, connect through the jump host, read the facts, plan,
 *   execute, read back and verify), the CLI in-process as a person runs it;
 * - the same rules restored by ipvsadm on the director itself: `ipvsadm -R`
 *   into an empty table (and Debian's `ipvsadm-restore`, which flushes first),
 *   timed inside the guest, so without any SSH: the VM's own cost of loading
 *   the table, the floor for lvsc. Target: apply ≤ 1.5× that. The VM's speed
 *   varies with what else this machine runs (by a third from one run to the
 *   next), so it is timed before lvsc and after, and lvsc compared with the
 *   mean; reading the table (`-Sn`, `-Ln --thresholds`) is timed likewise;
 * - `lvsc plan` of the unchanged table, and `lvsc apply --yes` of a one-weight
 *   change in it. Target: the weight change under 1 s end to end.
 *
 * Beside each lvsc figure: lvsc's own CPU time (this process) and qemu's (the
 * whole guest: sshd, the shells and programs lvsc's commands run, the kernel),
 * and where the time went, from the progress lines lvsc prints as it goes.
 *
 * The services are DR services of web1 and web2 on VIPs of the servers'
 * segment, 1,000 ports per VIP: every service is a distinct VIP:port, so the
 * director's IPVS table grows with the count, while the rest stays as small
 * as a real DR site's (ten VIPs on the director and on each real server's lo,
 * its ARP sysctls). A VIP per service would measure 10,000 address steps
 * instead of the table; NAT would also change the real servers' default
 * routes, which lvsc cannot put back in the lab's file (no declared gateway).
 * Schedulers, weights and persistence vary as in a real table.
 *
 * Holds the lab (`labExclusive`) for the whole section, boots it when it is
 * down and stops it afterwards only then, refuses a director that already has
 * a table, and leaves the lab as found: the services removed by lvsc (the same
 * hosts, no services), the modules it loaded unloaded. It prints, never asserts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointFor } from '../agent/fleet.js';
import { connectSsh } from '../agent/transport/ssh.js';
import { main } from '../cli/main.js';
import { cmd } from '../compiler/command.js';
import { phaseUnits } from '../compiler/units.js';
import { compileCluster } from '../compiler/compile.js';
import { check } from '../compiler/index.js';
import { buildPlan } from '../compiler/order.js';
import { labDown, labExclusive, labExec, labUp, type LabUp } from '../lab/lab.js';
import { repoRoot } from '../lab/paths.js';
import { assertFreshDirector, loadedModules, sh, unloadModulesSince } from '../lab/remote.js';
import { SERVICES } from '../lab/topology.js';
import { figuresSection } from './section.js';

export const TARGET_APPLY_FACTOR = 1.5;
export const TARGET_WEIGHT_MS = 1000;

const PORTS_PER_VIP = 1000;
const FIRST_PORT = 10_000;
/** The DR VIPs: the servers' segment from .200 up (the lab's own DR VIP is .100, its hosts below .20). */
const FIRST_VIP_HOST = 200;
const MAX_SERVICES = 50 * PORTS_PER_VIP;
/** Schedulers Debian's kernel has, varied per service (each one module). */
const SCHEDULERS = ['wrr', 'wlc', 'rr', 'lc'] as const;
/** The service whose weight the one-weight change edits: half-way through the table. */
const bumpedService = (count: number) => Math.floor(count / 2);

const n = (x: number) => x.toLocaleString('en-US');
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function log(line: string): void {
  process.stderr.write(`bench lab: ${line}\n`);
}

/** The lab's cluster file without its services: the hosts, their SSH and interfaces, the director. */
export function labHostsText(clusterText: string): string {
  const text = clusterText.replace(/^(?:#.*\n)*service [\s\S]*?^}\n/gm, '');
  if (/^service /m.test(text)) throw new Error('bug: the lab cluster file still has a service after removing them');
  return text.trimEnd() + '\n';
}

/** `count` DR services on lb1 (web1, web2), each on its own VIP:port; `bump`: this service's web1 weight one higher. */
export function labServicesText(count: number, bump?: number): string {
  if (count > MAX_SERVICES) throw new Error(`at most ${n(MAX_SERVICES)} services (${PORTS_PER_VIP} ports on each of 50 VIPs)`);
  const [first, second] = SERVICES.dr.servers;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const vip = `10.20.0.${FIRST_VIP_HOST + Math.floor(i / PORTS_PER_VIP)}`;
    const port = FIRST_PORT + (i % PORTS_PER_VIP);
    const w1 = 1 + (i % 3) + (i === bump ? 1 : 0);
    const w2 = 1 + ((i + 1) % 3);
    out.push(
      `service s${String(i).padStart(5, '0')} {`,
      `  vip ${vip} tcp ${port}`,
      `  scheduler ${SCHEDULERS[i % SCHEDULERS.length]}`,
      ...(i % 7 === 0 ? ['  persistence 5m'] : []),
      '  forward dr',
      `  server ${first} weight ${w1}`,
      `  server ${second} weight ${w2}`,
      '}',
      '',
    );
  }
  return out.join('\n');
}

/** CPU seconds a process has used so far (utime + stime, all threads), in ms; undefined when unreadable. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // USER_HZ ticks (100 a second)
  } catch {
    return undefined;
  }
}

interface Mark {
  /** ms since the run started. */
  readonly at: number;
  readonly line: string;
}

interface LvscRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** This process's CPU (lvsc itself: parse, compile, SSH crypto, parsing facts, planning, printing). */
  readonly cpuMs: number;
  /** qemu's CPU meanwhile: the guest's sshd, shells, ipvsadm and kernel (TCG emulates them). */
  readonly qemuMs: number | undefined;
  /** Progress lines lvsc wrote on stderr, with when. */
  readonly marks: readonly Mark[];
}

export interface Context {
  readonly lab: LabUp;
  /** An empty HOME and ssh config for lvsc: nothing of the machine's user. */
  readonly home: string;
}

/** `lvsc ARGV FILE` in-process, as test/e2e runs it: from the repository (the key path is relative), trusting the lab's known_hosts. */
export async function lvsc(ctx: Context, argv: readonly string[], file: string): Promise<LvscRun> {
  let stdout = '';
  let stderr = '';
  const marks: Mark[] = [];
  const q0 = processCpuMs(ctx.lab.pid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const code = await main([...argv, '--known-hosts', ctx.lab.knownHosts, '--ssh-config', join(ctx.home, 'no-ssh-config'), '--timeout', '10m', file], {
    stdout: { write: (x: string) => (stdout += x), isTTY: false },
    stderr: {
      write: (x: string) => {
        stderr += x;
        const at = performance.now() - t0;
        for (const line of x.split('\n')) if (line) marks.push({ at, line });
      },
      isTTY: false,
    },
    env: { HOME: ctx.home, PATH: process.env.PATH },
    cwd: repoRoot(),
  });
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const q1 = processCpuMs(ctx.lab.pid);
  return { code, stdout, stderr, ms, cpuMs: (c.user + c.system) / 1000, qemuMs: q0 !== undefined && q1 !== undefined ? q1 - q0 : undefined, marks };
}

export function failed(what: string, r: LvscRun): Error {
  const text = (r.stderr + r.stdout).split('\n').filter((l) => /error|fail|differ/i.test(l)).slice(0, 5).join('\n') || r.stderr.slice(-2000);
  return new Error(`${what} exited ${r.code}:\n${text}`);
}

/**
 * Where an lvsc run's time went, from its progress lines (cli/views/progress.ts,
 * one plain line per event without a terminal): load + compile until it starts
 * reading, the read of every host, the plan until apply starts, the apply, and
 * the re-read, verification and summary after it. Empty when a line is missing.
 */
function phases(r: LvscRun): string {
  const at = (re: RegExp, from = 0) => r.marks.find((m) => m.at >= from && re.test(m.line))?.at;
  const readStart = at(/^Reading live state: \d+ host/);
  const readEnd = at(/^Reading live state: finished/);
  if (readStart === undefined || readEnd === undefined) return '';
  const parts = [`compile ${s(readStart)}`, `connect + read ${s(readEnd - readStart)}`];
  const director = r.marks.find((m) => /^lb1: read \(/.test(m.line))?.line.replace(/^lb1: read \((.*)\)$/, '$1');
  if (director) parts[1] += ` (lb1 ${director})`;
  const applyStart = at(/^Applying: \d+ host/, readEnd);
  const applyEnd = at(/^Applying: finished/, readEnd);
  if (applyStart === undefined || applyEnd === undefined) return [...parts, `plan + print ${s(r.ms - readEnd)}`].join(', ');
  parts.push(`plan + print ${s(applyStart - readEnd)}`);
  // The table's restore: its steps all start at once, and are done once the table is read back.
  const tableStart = at(/^lb1: \+ ipvs|^lb1: ~ ipvs/, applyStart);
  const tableEnd = tableStart === undefined ? undefined : at(/^lb1: +done/, tableStart);
  const table = tableStart !== undefined && tableEnd !== undefined ? ` (lb1's ipvsadm -R + read back ${s(tableEnd - tableStart)})` : '';
  parts.push(`apply ${s(applyEnd - applyStart)}${table}`, `re-read + verify + summary ${s(r.ms - applyEnd)}`);
  return parts.join(', ');
}

/** One line of the figures: what, how long, and the rest. */
function row(what: string, value: string, rest: string): string {
  return `    ${what.padEnd(28)} ${value.padStart(9)}   ${rest}`;
}

function cpu(r: LvscRun): string {
  return `lvsc's CPU ${s(r.cpuMs)}${r.qemuMs === undefined ? '' : `, qemu's CPU ${s(r.qemuMs)}`}`;
}

/** A bash function that runs a command and prints `NAME START END` (`$EPOCHREALTIME`: no process for the clock) on fd 3. */
const TIMED = `exec 3>&1
timed() { local name=$1 t0; shift; t0=$EPOCHREALTIME; "$@"; echo "$name $t0 $EPOCHREALTIME" >&3; }`;

/** Seconds between two `$EPOCHREALTIME` values printed as `NAME START END`, as ms by name. */
function guestTimes(out: string): Map<string, number> {
  const times = new Map<string, number>();
  for (const line of out.split('\n')) {
    const m = /^(\S+) (\d+)[.,](\d+) (\d+)[.,](\d+)$/.exec(line.trim());
    if (m) times.set(m[1], (Number(m[4]) - Number(m[2])) * 1000 + (Number(`0.${m[5]}`) - Number(`0.${m[3]}`)) * 1000);
  }
  return times;
}

/** The `ipvsadm -R` input lvsc sends to an empty director for this cluster file. */
function restoreInput(file: string): string {
  const checked = check([{ path: file, text: readFileSync(file, 'utf8') }]);
  if (!checked.cluster) throw new Error(`${file} does not validate: ${checked.diagnostics[0]?.summary}`);
  const lb1 = compileCluster(checked.cluster).find((h) => h.name === 'lb1')!;
  const restore = phaseUnits(buildPlan([lb1]).hosts[0].steps.filter((s) => s.phase === 'table')).find((u) => u.kind === 'restore');
  if (restore?.kind !== 'restore' || !restore.command.stdin) throw new Error('bug: no ipvsadm -R unit in the plan against an empty director');
  return restore.command.stdin;
}

/**
 * The table restored on the director by ipvsadm itself, timed in the guest's
 * bash (`$EPOCHREALTIME`, no process started for the clock): `ipvsadm -R`
 * into an empty table, reading it as lvsc's facts do (`-Sn`, and `-Ln
 * --thresholds`), and Debian's `ipvsadm-restore` (a script: `ipvsadm -C`,
 * then `-R`). The rules: `input` (the director's table must then be empty,
 * and is left empty), else the table as it is now (left as it was).
 */
async function localRestore(services: number, input?: string): Promise<Map<string, number>> {
  const rules = '/tmp/lvsc-bench.rules';
  if (input !== undefined) {
    const w = await labExec('lb1', `cat > ${rules}`, { input, timeoutMs: 180_000 });
    if (w.code !== 0) throw new Error(`could not write ${rules} on lb1: ${w.stderr}`);
  }
  const script = `
rules=${rules}
${input === undefined ? 'ipvsadm -Sn > "$rules"' : ''}
${TIMED}
ipvsadm -C
timed restore ipvsadm -R < "$rules"
timed save ipvsadm -Sn > /dev/null
timed thresholds ipvsadm -Ln --thresholds > /dev/null
if command -v ipvsadm-restore > /dev/null; then ipvsadm -C; timed restore-script ipvsadm-restore < "$rules"; fi
echo "services $(grep -c '^-A' "$rules") $(ipvsadm -Sn | grep -c '^-A')"
${input === undefined ? '' : 'ipvsadm -C'}
rm -f "$rules"`;
  const out = await sh('lb1', script);
  const counts = /^services (\d+) (\d+)$/m.exec(out);
  if (!counts || Number(counts[1]) !== services || Number(counts[2]) !== services) {
    throw new Error(`the director's table is not the ${n(services)} services after the local restore: ${counts?.[0] ?? out.slice(-500)}`);
  }
  return guestTimes(out);
}

/**
 * How much slower the guest is than this machine, for programs started (20 ×
 * /bin/true: fork, exec, dynamic linking) and for plain computing (a shell
 * loop), both timed in bash the same way here and on lb1: a rough factor to
 * read the VM's figures as a real director's.
 */
async function slowdown(): Promise<{ start: number; compute: number }> {
  const script = `${TIMED}
timed start bash -c 'for i in $(seq 20); do /bin/true; done'
timed compute bash -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'`;
  const guest = guestTimes(await sh('lb1', script));
  const here = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  const local = guestTimes(here.stdout);
  return { start: guest.get('start')! / local.get('start')!, compute: guest.get('compute')! / local.get('compute')! };
}

/** lvsc's own SSH transport to lb1 through the jump host: connecting, and a command that does nothing (median of 5). */
async function roundTrip(ctx: Context, file: string): Promise<{ connectMs: number; execMs: number }> {
  const checked = check([{ path: file, text: readFileSync(file, 'utf8') }]);
  if (!checked.cluster) throw new Error(`${file} does not validate: ${checked.diagnostics[0]?.summary}`);
  const t0 = performance.now();
  const transport = await connectSsh(endpointFor(checked.cluster, 'lb1'), {
    knownHostsFile: ctx.lab.knownHosts,
    sshConfigFile: join(ctx.home, 'no-ssh-config'),
    homeDir: ctx.home,
    agentSocket: '',
  });
  const connectMs = performance.now() - t0;
  try {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const r = await transport.run(cmd('true'));
      if (r.code !== 0) throw new Error(`\`true\` on lb1 exited ${r.code}: ${r.stderr}`);
      times.push(performance.now() - t);
    }
    return { connectMs, execMs: times.sort((a, b) => a - b)[2] };
  } finally {
    await transport.close();
  }
}

/** Takes the lab, boots it if it is down, measures, and leaves it as found (stopped again if this run booted it). */
async function benchLab(services: number): Promise<string> {
  const waitFrom = performance.now();
  const release = await labExclusive({ log });
  const waitedMs = performance.now() - waitFrom;
  let lab: LabUp | undefined;
  try {
    lab = await labUp({ log });
    log(lab.reused ? `reusing the running lab (qemu ${lab.pid}, port ${lab.port})` : `booted ${lab.kernel} in ${s(lab.bootMs)}`);
    const about = `lab ${lab.reused ? 'reused' : `booted in ${s(lab.bootMs)}`}${waitedMs > 1000 ? ` after waiting ${s(waitedMs)} for it` : ''}`;
    return await measureLab(lab, services, about);
  } catch (error) {
    return `FAILED: ${(error as Error).message}`;
  } finally {
    try {
      if (lab && !lab.reused) {
        const { stopped } = await labDown({ log });
        if (stopped !== lab.pid) log(`lab down stopped ${stopped}, not the qemu this run started (${lab.pid})`);
      }
    } finally {
      release();
    }
  }
}

/**
 * The measurements, on a lab that is up and held (`labExclusive`): refuses a
 * director that is not as the lab booted it; afterwards removes the services
 * with lvsc and unloads the modules the run loaded, also when it failed.
 */
export async function measureLab(lab: LabUp, services: number, about = ''): Promise<string> {
  try {
    await assertFreshDirector();
  } catch (error) {
    return `skipped: ${(error as Error).message.split('\n')[0]}`;
  }
  const modulesBefore = await loadedModules();
  const home = mkdtempSync(join(tmpdir(), 'lvsc-bench-lab-'));
  const ctx: Context = { lab, home };
  const hosts = labHostsText(readFileSync(lab.clusterFile, 'utf8'));
  const dir = join(repoRoot(), '.bench');
  mkdirSync(dir, { recursive: true });
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const cleanupFile = write('lab-no-services.lvs', hosts);
  let applied = false;
  const lines: string[] = [];
  try {
    const file = write('lab.lvs', `${hosts}\n${labServicesText(services)}`);
    const bumpedFile = write('lab-weight.lvs', `${hosts}\n${labServicesText(services, bumpedService(services))}`);
    const trip = await roundTrip(ctx, cleanupFile);
    const slow = await slowdown();

    // The VM's speed varies with what else runs on this machine: ipvsadm -R is timed before lvsc (then the modules it
    // loaded are unloaded again, so that lvsc starts from scratch) and after it, and lvsc is compared with their mean.
    log('ipvsadm -R of the table on the director itself, before lvsc');
    const before = await localRestore(services, restoreInput(file));
    await unloadModulesSince(modulesBefore);

    log(`lvsc apply of ${n(services)} services (${n(services * 2)} destinations) to an empty director`);
    applied = true;
    const apply = await lvsc(ctx, ['apply', '--yes'], file);
    if (apply.code !== 0 || !/verified: the applied hosts match the cluster/.test(apply.stdout)) throw failed('lvsc apply of the table', apply);
    const steps = /Apply complete: (\d+) step/.exec(apply.stdout)?.[1];

    log('lvsc plan of the unchanged table');
    const plan = await lvsc(ctx, ['plan'], file);
    if (plan.code !== 0) throw failed('lvsc plan of the applied table (expected no changes)', plan);

    log('lvsc apply of a one-weight change');
    const weight = await lvsc(ctx, ['apply', '--yes'], bumpedFile);
    if (weight.code !== 0 || !/verified/.test(weight.stdout)) throw failed('lvsc apply of the weight change', weight);
    const weightSteps = /Apply complete: (\d+) step/.exec(weight.stdout)?.[1];

    log('ipvsadm -R of the same table on the director itself, after lvsc');
    const after = await localRestore(services);
    const mean = (name: string) => (before.get(name)! + after.get(name)!) / 2;
    const local = (label: string, name: string, what: string) => row(label, s(mean(name)), `${what} (${s(before.get(name)!)} before lvsc, ${s(after.get(name)!)} after)`);
    const restore = mean('restore');
    const ratio = apply.ms / restore;
    lines.push(
      `${n(services)} DR services (${n(services * 2)} destinations) on lb1 (${lab.kernel}, qemu TCG, 1 vCPU${about ? `; ${about}` : ''}); lvsc in-process:`,
      row('lvsc apply, empty director', s(apply.ms), `${ratio.toFixed(1)}× ipvsadm -R on the director; target ≤ ${TARGET_APPLY_FACTOR}×: ${ratio <= TARGET_APPLY_FACTOR ? 'ok' : 'OVER TARGET'}; ${steps ?? '?'} steps; ${cpu(apply)}`),
      `        ${phases(apply)}`,
      local('ipvsadm -R on lb1', 'restore', "the same rules into an empty table, timed in the guest, no SSH: the VM's own cost"),
      ...(after.has('restore-script') ? [local('ipvsadm-restore on lb1', 'restore-script', "Debian's script (ipvsadm -C, then -R)")] : []),
      local('ipvsadm -Sn on lb1', 'save', "one read of the table, as lvsc's facts and its check after -R make it"),
      local('ipvsadm -Ln --thresholds', 'thresholds', "the facts' second read (-Sn has no thresholds)"),
      row('lvsc plan, unchanged', s(plan.ms), cpu(plan)),
      `        ${phases(plan)}`,
      row('lvsc apply, one weight', s(weight.ms), `target < ${s(TARGET_WEIGHT_MS)}: ${weight.ms < TARGET_WEIGHT_MS ? 'ok' : 'OVER TARGET'}; ${weightSteps ?? '?'} steps; ${cpu(weight)}`),
      `        ${phases(weight)}`,
      row('SSH to lb1 via the jump', s(trip.connectMs), `to connect (lvsc's transport); ${s(trip.execMs)} for one command that does nothing (sshd's session, bash)`),
      row('the guest vs this machine', `${slow.start.toFixed(0)}×`, `slower to start a program, ${slow.compute.toFixed(0)}× to compute (bash, timed in both): qemu TCG's cost`),
    );

    log('removing the services with lvsc');
    const cleanup = await lvsc(ctx, ['apply', '--yes'], cleanupFile);
    if (cleanup.code !== 0) throw failed('lvsc apply of the hosts without services', cleanup);
    applied = false;
    lines.push(row('lvsc apply, removing them', s(cleanup.ms), `(cleanup) ${cpu(cleanup)}`), `        ${phases(cleanup)}`);
    await assertFreshDirector();
    return lines.join('\n');
  } catch (error) {
    return [...lines, `FAILED: ${(error as Error).message}`].join('\n');
  } finally {
    // What a failed run left: the services removed by lvsc; a failure here is said, not hidden.
    if (applied) {
      const r = await lvsc(ctx, ['apply', '--yes'], cleanupFile);
      if (r.code !== 0) log(`could not remove the services: ${failed('lvsc apply of the hosts without services', r).message}`);
    }
    await unloadModulesSince(modulesBefore).catch((e: Error) => log(`could not unload the modules: ${e.message}`));
    rmSync(home, { recursive: true, force: true });
  }
}

/** The `lab` section for bench/index.ts: `shape.labServices` services, 0 skips it. */
export const labSections = [figuresSection('lab', '--lab-services', (shape: { labServices: number }) => shape.labServices, benchLab)];
