/**
 * The keepalived unit (compiler/units.ts) as apply runs it, against a real
 * sshd in a network namespace (lab/netns-sshd.ts) with the machine's
 * keepalived doing the checking (`keepalived -t`). /etc/keepalived and
 * /usr/local/sbin are private to the lab's hosts; /usr/local/sbin holds a
 * `keepalived` wrapper first on sudo's PATH that records its arguments and
 * runs the real keepalived only for `-t`, so no test ever starts a daemon.
 * The pid file and health directory are the test's own, never /run's.
 * Needs root and `ip netns` (scripts/setup-test-host.sh).
 */
import anyTest, { type TestFn } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check } from '../compiler/index.js';
import { planCluster } from '../compiler/compile.js';
import { KEEPALIVED_CONF } from '../compiler/keepalived.js';
import type { Step, StepOf } from '../compiler/plan.js';
import { removeFile } from '../compiler/host-commands.js';
import { keepalivedInstalled, keepalivedStop, phaseUnits, type WorkUnit } from '../compiler/units.js';
import { startLab, type Lab } from '../lab/netns-sshd.js';
import type { StepResult } from './apply.js';
import { checkPrerequisites, runUnit, StepFailure, type HostRun } from './executor.js';
import { connectSsh } from './transport/ssh.js';
import type { Transport } from './transport/transport.js';

const test = anyTest as TestFn<{ lab: Lab; dir: string; transport: Transport }>;
const WRAPPER = '/usr/local/sbin/keepalived';

test.before(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-keepalived-apply-'));
  const lab = await startLab({ hosts: [{ name: 'lb1' }], privateDirs: ['/etc/keepalived', '/usr/local/sbin'] });
  t.context = { lab, dir, transport: await connectSsh(lab.endpoint('lb1'), lab.sshOptions()) };
  const wrapper = ['#!/bin/sh', `printf '%s\\n' "$*" >> '${join(dir, 'argv')}'`, 'case $1 in -t) exec /usr/sbin/keepalived "$@" ;; esac', 'exit 0', ''].join('\n');
  const r = await lab.exec('lb1', ['sh', '-c', 'cat > "$1" && chmod 755 "$1"', 'sh', WRAPPER], wrapper);
  if (r.code !== 0) throw new Error(`wrapper: ${r.stderr}`);
});

test.after.always(async (t) => {
  await t.context.transport?.close();
  await t.context.lab?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

/** lb1's keepalived.conf step of the health-checks example, with this content. */
function confStep(content: string): StepOf<'file'> {
  const text = readFileSync(new URL('../examples/health-checks.lvs', import.meta.url), 'utf8');
  const r = check([{ path: 'examples/health-checks.lvs', text }]);
  const step = planCluster(r.cluster!).plan.hosts.find((h) => h.host === 'lb1')!.steps.find((s) => s.kind === 'file' && s.id.path === KEEPALIVED_CONF) as StepOf<'file'>;
  return { ...step, after: content };
}

const GOOD = readFileSync(new URL('../compiler/testdata/golden/health-checks/lb1/files/etc/keepalived/keepalived.conf', import.meta.url), 'utf8');

async function apply(t: { context: { lab: Lab; dir: string; transport: Transport } }, step: Step, pidFile: string, healthDir: string) {
  const results = new Map<Step, StepResult>([[step, { step, status: 'pending' }]]);
  const run: HostRun = { host: 'lb1', transport: t.context.transport, results, emit: async () => undefined, drainMs: 0, total: 1, started: 0 };
  const units = phaseUnits([step], { keepalivedPidFile: pidFile, healthDir });
  const unit = units[0] as Extract<WorkUnit, { kind: 'keepalived' }>;
  let thrown: unknown;
  try {
    // As apply does: keepalived's presence before the host's first unit.
    await checkPrerequisites(run, [step]);
    await runUnit(run, unit);
  } catch (error) {
    thrown = error;
  }
  return { units, result: results.get(step)!, thrown };
}

const onHost = async (lab: Lab, script: string, ...args: string[]) => (await lab.exec('lb1', ['sh', '-c', script, 'sh', ...args])).stdout;
const argvLog = (dir: string) => (existsSync(join(dir, 'argv')) ? readFileSync(join(dir, 'argv'), 'utf8') : '');

test.serial('a candidate keepalived -t refuses fails the host with its message; the live file is untouched, no candidate is left', async (t) => {
  const { lab, dir } = t.context;
  const live = '# the live configuration\nglobal_defs {\n  router_id lb1\n}\n';
  await lab.exec('lb1', ['sh', '-c', 'cat > "$1"', 'sh', KEEPALIVED_CONF], live);
  rmSync(join(dir, 'argv'), { force: true });
  const bad = 'virtual_server 10.4.0.100 80 {\n  bogus_keyword 3\n}\n';
  const { units, result, thrown } = await apply(t, confStep(bad), join(dir, 'none.pid'), join(dir, 'health'));
  t.deepEqual(units.map((u) => u.kind), ['keepalived']);
  t.true(thrown instanceof StepFailure);
  t.is(result.status, 'failed');
  t.regex(result.message ?? '', /^keepalived refused the new configuration on lb1 \(keepalived -t, exit 5\); \/etc\/keepalived\/keepalived\.conf is unchanged: /);
  t.true(result.message!.includes(`(${KEEPALIVED_CONF}.lvsc-new: Line 2) Unknown keyword 'bogus_keyword'`), result.message);
  t.is(await onHost(lab, 'cat "$1"', KEEPALIVED_CONF), live);
  t.is(await onHost(lab, 'ls -A "$1"', '/etc/keepalived'), 'keepalived.conf\n');
  // Only the check ran: nothing was reloaded or started.
  t.is(argvLog(dir), `-t -f ${KEEPALIVED_CONF}.lvsc-new\n`);
});

test.serial('a good candidate is moved into place; with no keepalived running, the old health records go and keepalived is started', async (t) => {
  const { lab, dir } = t.context;
  rmSync(join(dir, 'argv'), { force: true });
  const health = join(dir, 'health');
  mkdirSync(health, { recursive: true });
  writeFileSync(join(health, 'tcp_10.4.0.100_80_10.4.0.11_80'), 'down tcp 10.4.0.100 80 10.4.0.11 80 1700000000\n');
  // A pid file whose process is gone (this test's own, ended).
  const gone = spawn('true');
  await new Promise((res) => gone.on('exit', res));
  const pidFile = join(dir, 'keepalived.pid');
  writeFileSync(pidFile, `${gone.pid}\n`);
  const { result, thrown } = await apply(t, confStep(GOOD), pidFile, health);
  t.is(thrown, undefined);
  t.is(result.status, 'done');
  t.is(await onHost(lab, 'cat "$1"', KEEPALIVED_CONF), GOOD);
  t.is(await onHost(lab, 'ls -A "$1"', '/etc/keepalived'), 'keepalived.conf\n');
  t.deepEqual(readdirSync(health), []);
  t.is(argvLog(dir), `-t -f ${KEEPALIVED_CONF}.lvsc-new\n--pid ${pidFile} --dont-release-ipvs\n`);
});

test.serial('a good candidate with keepalived running: the pid file\'s keepalived gets SIGHUP, nothing is started, health records stay', async (t) => {
  const { lab, dir } = t.context;
  rmSync(join(dir, 'argv'), { force: true });
  const health = join(dir, 'health-live');
  mkdirSync(health, { recursive: true });
  writeFileSync(join(health, 'tcp_10.4.0.100_80_10.4.0.11_80'), 'up tcp 10.4.0.100 80 10.4.0.11 80 1700000000\n');
  // A process this test starts whose /proc/PID/comm is keepalived: a copy of sleep by that name.
  const fake = join(dir, 'bin', 'keepalived');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/bin/sleep', fake);
  const daemon = spawn(fake, ['60'], { stdio: 'ignore' });
  const ended = new Promise<NodeJS.Signals | null>((res) => daemon.on('exit', (_code, signal) => res(signal)));
  try {
    const pidFile = join(dir, 'running.pid');
    writeFileSync(pidFile, `${daemon.pid}\n`);
    const { result, thrown } = await apply(t, confStep(GOOD.replace('# Rendered', '# Reloaded. Rendered')), pidFile, health);
    t.is(thrown, undefined);
    t.is(result.status, 'done');
    t.is(await ended, 'SIGHUP');
    t.is(argvLog(dir), `-t -f ${KEEPALIVED_CONF}.lvsc-new\n`);
    t.deepEqual(readdirSync(health), ['tcp_10.4.0.100_80_10.4.0.11_80']);
    t.true((await onHost(lab, 'cat "$1"', KEEPALIVED_CONF)).startsWith('# Reloaded. Rendered'));
  } finally {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill();
  }
});

/** The step of a plan whose director has no checked service left (compiler/diff.ts diffKeepalivedConf). */
const STOP_STEP: StepOf<'file'> = { action: 'delete', kind: 'file', id: { path: KEEPALIVED_CONF }, label: KEEPALIVED_CONF, before: 'x', reason: 'no checked service left', phase: 'table', commands: [keepalivedStop(), removeFile(KEEPALIVED_CONF)] };

/**
 * Starts the real keepalived on lb1 (this machine's, without IPVS: a
 * configuration with no virtual server and no VRRP instance, so it sends
 * nothing and programs nothing) with `options`; resolves with its PID once its
 * pid file names it. (The machine's PID 1 is not systemd: the stop is a SIGTERM.)
 */
async function startRealKeepalived(lab: Lab, dir: string, pidFile: string, options: readonly string[]): Promise<number> {
  const conf = join(dir, 'idle.conf');
  writeFileSync(conf, 'global_defs {\n  router_id lb1\n}\n');
  const wait = 'p=$1; shift; /usr/sbin/keepalived "$@" </dev/null >/dev/null 2>&1; for i in $(seq 300); do [ -s "$p" ] && exec cat "$p"; sleep 0.1; done; exit 1';
  const r = await lab.exec('lb1', ['sh', '-c', wait, 'sh', pidFile, ...options, '--pid', pidFile, '-f', conf]);
  if (r.code !== 0) throw new Error(`keepalived did not start: ${r.stderr}`);
  return Number(r.stdout.trim());
}

test.serial('no checked service left: the stop unit stops a real keepalived running with --dont-release-ipvs, then its health records and keepalived.conf go', async (t) => {
  const { lab, dir } = t.context;
  const pidFile = join(dir, 'stop.pid');
  const health = join(dir, 'health-stop');
  mkdirSync(health, { recursive: true });
  writeFileSync(join(health, 'tcp_10.4.0.100_80_10.4.0.11_80'), 'up tcp 10.4.0.100 80 10.4.0.11 80 1700000000\n');
  await lab.exec('lb1', ['sh', '-c', 'cat > "$1"', 'sh', KEEPALIVED_CONF], '# lvsc\'s\n');
  const pid = await startRealKeepalived(lab, dir, pidFile, ['--dont-release-ipvs']);
  t.is(readFileSync(`/proc/${pid}/comm`, 'utf8'), 'keepalived\n');
  const units = phaseUnits([STOP_STEP], { keepalivedPidFile: pidFile, healthDir: health });
  t.deepEqual(units.map((u) => u.kind), ['keepalived-stop']);
  const results = new Map<Step, StepResult>([[STOP_STEP, { step: STOP_STEP, status: 'pending' }]]);
  const run: HostRun = { host: 'lb1', transport: t.context.transport, results, emit: async () => undefined, drainMs: 0, total: 1, started: 0 };
  await runUnit(run, units[0]);
  t.is(results.get(STOP_STEP)!.status, 'done');
  t.false(existsSync(`/proc/${pid}/comm`) && readFileSync(`/proc/${pid}/comm`, 'utf8') === 'keepalived\n', 'keepalived has exited');
  t.deepEqual(readdirSync(health), []);
  t.is(await onHost(lab, 'ls -A "$1"', '/etc/keepalived'), '');
});

test.serial('the stop unit refuses a keepalived running without --dont-release-ipvs (stopping it would empty its services from the table): it keeps running, nothing is removed', async (t) => {
  const { lab, dir } = t.context;
  const pidFile = join(dir, 'unsafe.pid');
  await lab.exec('lb1', ['sh', '-c', 'cat > "$1"', 'sh', KEEPALIVED_CONF], '# lvsc\'s\n');
  const pid = await startRealKeepalived(lab, dir, pidFile, []);
  try {
    const units = phaseUnits([STOP_STEP], { keepalivedPidFile: pidFile, healthDir: join(dir, 'health-unsafe') });
    const results = new Map<Step, StepResult>([[STOP_STEP, { step: STOP_STEP, status: 'pending' }]]);
    const run: HostRun = { host: 'lb1', transport: t.context.transport, results, emit: async () => undefined, drainMs: 0, total: 1, started: 0 };
    await t.throwsAsync(runUnit(run, units[0]), { instanceOf: StepFailure });
    t.is(results.get(STOP_STEP)!.status, 'failed');
    t.regex(results.get(STOP_STEP)!.message ?? '', new RegExp(`keepalived \\(PID ${pid}\\) runs without --dont-release-ipvs: stopping it would take its services out of the IPVS table`));
    t.is(readFileSync(`/proc/${pid}/comm`, 'utf8'), 'keepalived\n', 'still running');
    t.is(await onHost(lab, 'cat "$1"', KEEPALIVED_CONF), '# lvsc\'s\n');
  } finally {
    process.kill(pid, 'SIGTERM');
  }
});

test('keepalived not on PATH: the check apply runs before a host\'s first change says so and exits non-zero; with it, the check passes', (t) => {
  const installed = keepalivedInstalled('lb1');
  const run = (path: string) => spawnSync('/bin/sh', installed.argv.slice(1), { encoding: 'utf8', env: { PATH: path } });
  const empty = mkdtempSync(join(tmpdir(), 'lvsc-nopath-'));
  try {
    const missing = run(empty);
    t.is(missing.status, 1);
    t.is(missing.stderr, 'keepalived is not installed on lb1: install the Debian package keepalived\n');
    t.is(run('/usr/sbin:/usr/bin:/bin').status, 0);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
