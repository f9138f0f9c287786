/**
 * Benchmark section `fleet`: `lvsc plan` against many live hosts (default 50),
 * each a real OpenSSH sshd in its own network namespace (lab/netns-sshd.ts
 * `startLab`): one director and real servers behind it by DR.
 * Printed side by side:
 *
 * - `lvsc plan` of the whole fleet, with `--parallel 10` (the default) and
 *   `--parallel <all hosts>`: the CLI in-process (`main()`: parse, compile,
 *   connect, read, plan, print; Node's start-up not included), median of 3;
 * - the slowest single host: connect + read its facts + plan it, each host on
 *   its own with nothing else running (the sum of them is what one host after
 *   another would take);
 * - a sequential loop of OpenSSH `ssh` calls, one per host, each running the
 *   same fact batch command through `sudo -n`, as lvsc sends it.
 *
 * Target: the fleet plan within 2× the slowest single host. It prints, never
 * asserts. Needs root, `ip netns`, OpenSSH and the test users
 * (scripts/setup-test-host.sh); without them it says what is missing and
 * skips. `--fleet-hosts N` changes the size, 0 skips it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { endpointFor, factRequestFor, readHost } from '../agent/fleet.js';
import { factBatch } from '../agent/facts/index.js';
import { connectSsh } from '../agent/transport/ssh.js';
import { main } from '../cli/main.js';
import { cmd, commandLine } from '../compiler/command.js';
import { compileCluster } from '../compiler/compile.js';
import { check } from '../compiler/index.js';
import { buildPlan } from '../compiler/order.js';
import { assertLabPrerequisites, LAB_USERS, startLab, type Lab } from '../lab/netns-sshd.js';
import { figuresSection } from './section.js';

export const TARGET_FLEET_FACTOR = 2;

const n = (x: number) => x.toLocaleString('en-US');
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const sumOf = (xs: readonly { ms: number }[]) => xs.reduce((sum, x) => sum + x.ms, 0);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The cluster: host 0 directs one DR service to all the others. */
function clusterText(lab: Lab): string {
  const [director, ...servers] = lab.hosts;
  const net = director.address.split('.').slice(0, 3).join('.');
  return [
    `defaults {\n  ssh user ${LAB_USERS.sudo}\n  ssh key "${lab.keyFile}"\n  sudo\n}\n`,
    ...lab.hosts.map((h) => `host ${h.name} {\n  ssh ${h.address}\n  interface eth0 ${h.address}/24\n}\n`),
    `director ${director.name}\n`,
    `service www {\n  vip ${net}.250 tcp 80\n  scheduler wlc\n  forward dr\n${servers.map((h) => `  server ${h.name}\n`).join('')}}\n`,
  ].join('\n');
}

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat), in ticks. */
function machineCpu(): { busy: number; all: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return { busy: f[0] + f[1] + f[2] + f[5] + f[6] + f[7], all: f.slice(0, 8).reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

interface PlanRun {
  ms: number;
  /** This process's CPU time (lvsc's own share: SSH, parsing, planning). */
  cpuMs: number;
  /** How busy the machine's CPUs were meanwhile (the hosts' sshd, sudo and commands run on them too). */
  machineBusy: number | undefined;
  problem?: string;
}

/** `lvsc plan` in-process; its wall time, and what it said when it did not plan every host. */
async function lvscPlan(lab: Lab, file: string, parallel: number): Promise<PlanRun> {
  let stdout = '';
  let stderr = '';
  const m0 = machineCpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const code = await main(['plan', '--parallel', String(parallel), '--known-hosts', lab.knownHostsFile, '--ssh-config', join(lab.homeDir, 'no-config'), file], {
    stdout: { write: (x: string) => (stdout += x), isTTY: false },
    stderr: { write: (x: string) => (stderr += x), isTTY: false },
    env: { HOME: lab.homeDir },
    cwd: process.cwd(),
  });
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const m1 = machineCpu();
  const measured = { ms, cpuMs: (c.user + c.system) / 1000, machineBusy: m0 && m1 && m1.all > m0.all ? (m1.busy - m0.busy) / (m1.all - m0.all) : undefined };
  // 2: changes to make (the hosts are fresh); anything else means some host was not planned.
  return code === 2 ? measured : { ...measured, problem: `exit ${code}: ${(stderr.split('\n').find((l) => l.startsWith('error:')) ?? stderr.trim() ?? stdout).slice(0, 200)}` };
}

function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

async function benchFleet(hosts: number): Promise<string> {
  try {
    assertLabPrerequisites();
  } catch (error) {
    return `skipped: ${(error as Error).message}`;
  }
  const t0 = performance.now();
  const lab = await startLab({ hosts: Array.from({ length: hosts }, (_, i) => ({ name: i === 0 ? 'lb' : `web${i}` })) });
  const setupMs = performance.now() - t0;
  try {
    const text = clusterText(lab);
    mkdirSync('.bench', { recursive: true });
    const file = resolve('.bench/fleet.lvs');
    writeFileSync(file, text);
    const checked = check([{ path: file, text }]);
    if (!checked.cluster) return `the fleet cluster does not validate: ${checked.diagnostics[0]?.summary}`;
    const cluster = checked.cluster;
    const desired = compileCluster(cluster);
    const ssh = lab.sshOptions({ connectTimeoutMs: 20_000, commandTimeoutMs: 60_000 });

    // Each host alone: connect, read, plan (what lvsc plan does per host).
    const single: { host: string; ms: number }[] = [];
    const host0 = lab.hostCpuMs();
    const own0 = process.cpuUsage();
    for (const d of desired) {
      const t = performance.now();
      const transport = await connectSsh(endpointFor(cluster, d.name), ssh);
      try {
        const r = await readHost(cluster, d, transport);
        if (!r.ok) return `${d.name} could not be read: ${r.message}`;
        buildPlan([d], new Map([[d.name, r.live]]));
      } finally {
        await transport.close();
      }
      single.push({ host: d.name, ms: performance.now() - t });
    }
    // CPU the reads took: the hosts' sshd, sudo and commands, and lvsc's own. Here they all share this
    // machine's CPUs, so no schedule reads the fleet in less than `work / CPUs`.
    const own = process.cpuUsage(own0);
    const workMs = lab.hostCpuMs() - host0 + (own.user + own.system) / 1000;
    const cpus = availableParallelism();
    const slowest = single.reduce((a, b) => (b.ms > a.ms ? b : a));
    const sumSingle = sumOf(single);

    // The whole fleet, as a person runs it; a first run warms the code paths up.
    await lvscPlan(lab, file, 10);
    const fleet: Record<number, PlanRun> = {};
    for (const parallel of [10, hosts]) {
      const runs: PlanRun[] = [];
      for (let i = 0; i < 3; i++) runs.push(await lvscPlan(lab, file, parallel));
      const mid = [...runs].sort((a, b) => a.ms - b.ms)[1];
      fleet[parallel] = { ...mid, ...(runs.find((r) => r.problem) ? { problem: runs.find((r) => r.problem)!.problem } : {}) };
    }

    // OpenSSH, one host after another: a new connection each, the same batch command through sudo -n.
    const t1 = performance.now();
    for (const d of desired) {
      const batch = factBatch(factRequestFor(cluster, d));
      const line = commandLine(cmd('sudo', '-n', '--', 'sh', '-c', `exec ${commandLine(batch.command)}`));
      const h = lab.host(d.name);
      const r = await run([
        'ssh', '-F', '/dev/null', '-i', lab.keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${lab.knownHostsFile}`,
        '-o', 'StrictHostKeyChecking=yes', '-p', String(h.port), `${LAB_USERS.sudo}@${h.address}`, line,
      ]);
      const facts = batch.read({ stdout: r.stdout, stderr: r.stderr, status: r.code });
      if (r.code !== 0 || facts.errors.length) return `ssh ${d.name}: exit ${r.code}: ${(facts.errors[0]?.message ?? r.stderr).slice(0, 200)}`;
    }
    const opensshMs = performance.now() - t1;

    const ratio = fleet[10].ms / slowest.ms;
    const busy = (r: PlanRun) => `lvsc's own CPU ${s(r.cpuMs)}${r.machineBusy === undefined ? '' : `, machine CPUs ${Math.round(r.machineBusy * 100)}% busy`}`;
    const lines = [
      `${n(hosts)} hosts (sshd each in its own network namespace, lab up in ${s(setupMs)}); lvsc plan in-process, median of 3:`,
      `    lvsc plan --parallel 10      ${s(fleet[10].ms).padStart(8)}   ${(fleet[10].ms / slowest.ms).toFixed(1)}× the slowest single host; target ≤ ${TARGET_FLEET_FACTOR}×: ${ratio <= TARGET_FLEET_FACTOR ? 'ok' : 'OVER TARGET'}; ${busy(fleet[10])}${fleet[10].problem ? `  (${fleet[10].problem})` : ''}`,
      `    lvsc plan --parallel ${String(hosts).padEnd(7)} ${s(fleet[hosts].ms).padStart(8)}   ${(fleet[hosts].ms / slowest.ms).toFixed(1)}× the slowest single host; ${busy(fleet[hosts])}${fleet[hosts].problem ? `  (${fleet[hosts].problem})` : ''}`,
      `    slowest single host          ${s(slowest.ms).padStart(8)}   (${slowest.host}: connect + read + plan, alone; median host ${s(median(single.map((x) => x.ms)))}, all ${n(hosts)} one after another ${s(sumSingle)})`,
      `    OpenSSH ssh, sequential      ${s(opensshMs).padStart(8)}   (${n(hosts)} × ssh running the same fact batch through sudo -n; ${s(opensshMs / hosts)} per host)`,
      `    CPU floor                    ${s(workMs / cpus).padStart(8)}   (the ${n(hosts)} reads one after another took ${s(workMs)} of CPU: sshd, sudo, commands and lvsc; on ${cpus} CPUs no schedule is faster. lvsc plan --parallel 10 is ${(fleet[10].ms / Math.max(workMs / cpus, slowest.ms)).toFixed(1)}× max(floor, slowest host))`,
      `    every host's sshd, sudo and commands share this machine's ${cpus} CPUs (load average ${loadavg()[0].toFixed(1)} now): on a real fleet each host reads on its own CPUs`,
    ];
    return lines.join('\n');
  } finally {
    await lab.stop();
  }
}

/** The `fleet` section for bench/index.ts: `shape.fleetHosts` hosts, 0 skips it. */
export const fleetSections = [figuresSection('fleet', '--fleet-hosts', (shape: { fleetHosts: number }) => shape.fleetHosts, benchFleet)];
