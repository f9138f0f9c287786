/**
 * Benchmark sections for the compiler's back half, on the cluster the earlier
 * sections validated (bench/index.ts registers them):
 *
 * - `compile`: `compileCluster` (desired state and rendered files of every
 *   host) + `buildPlan` against empty hosts. Target < 2 s.
 * - `live`: a live state equal to the desired one except one weight on the
 *   director, as a hand edit would leave it (setup, not lvsc).
 * - `diff`: `buildPlan` against that live state. Target < 200 ms and exactly
 *   one step.
 * - `read`: parsing the director's live table as `ipvsadm -Sn` prints it
 *   (`parseIpvsadmSave`) and merging its thresholds (`mergeThresholds`), next
 *   to the diff: target at most the diff's CPU time again. Medians of 5 runs
 *   of each, in process CPU time.
 *
 * Each section's note carries its figures next to its target; nothing is
 * asserted (the one-step behaviour is a test: compiler/diff.test.ts).
 */
import { readFileSync } from 'node:fs';
import { compileCluster } from '../compiler/compile.js';
import type { DesiredHost } from '../compiler/desired.js';
import { NO_OWNERSHIP } from '../compiler/diff.js';
import type { Cluster } from '../compiler/ir.js';
import { buildPlan, type LiveHost } from '../compiler/order.js';
import { parseIpvsadmSave, saveLine } from '../compiler/ipvsadm.js';
import type { Plan } from '../compiler/plan.js';
import { mergeThresholds, type ServiceThresholds } from '../agent/facts/thresholds.js';

export const TARGET_COMPILE_MS = 2000;
export const TARGET_DIFF_MS = 200;

interface CompileState {
  cluster?: Cluster;
}

const n = (x: number) => x.toLocaleString('en-US');
/**
 * CPU time of the main thread so far, in ms (Linux /proc, 10 ms ticks), or
 * undefined elsewhere. On a busy machine wall time includes other processes'
 * share of the CPUs; this is what the work itself costs (without the GC's
 * helper threads).
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in USER_HZ (100) ticks
  } catch {
    return undefined;
  }
}

/** `, main thread CPU N ms` since `start`, when it can be read. */
function cpuSince(start: number | undefined): string {
  const now = mainThreadCpuMs();
  return start === undefined || now === undefined ? '' : `, main thread CPU ${n(now - start)} ms`;
}
const verdict = (ok: boolean) => (ok ? 'ok' : 'OVER TARGET');
const stepCount = (plan: Plan) => plan.hosts.reduce((sum, h) => sum + h.steps.length, 0);

let desired: DesiredHost[] = [];
let live = new Map<string, LiveHost>();
let compileFigures = '';
let liveFigures = '';
let diffFigures = '';
let readFigures = '';

/** The median of `runs` runs of `f`, in ms of this process's CPU time (user + system). */
function cpuMedianMs(runs: number, f: () => void): number {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const u0 = process.cpuUsage();
    f();
    const u = process.cpuUsage(u0);
    xs.push((u.user + u.system) / 1000);
  }
  return xs.sort((a, b) => a - b)[runs >> 1];
}

/** The live state: every host as desired, except one destination's weight on the director (half-way through its table). */
function oneWeightChanged(hosts: readonly DesiredHost[]): { live: Map<string, LiveHost>; changed: string } {
  const out = new Map<string, LiveHost>();
  let changed = 'nothing (no director with a destination)';
  for (const h of hosts) {
    let state = h.state;
    const ipvs = state.ipvs;
    if (ipvs?.length && changed.startsWith('nothing')) {
      const i = Math.floor(ipvs.length / 2);
      const svc = ipvs[i];
      if (svc.destinations.length) {
        const [d, ...rest] = svc.destinations;
        const edited = { ...svc, destinations: [{ ...d, weight: d.weight + 1 }, ...rest] };
        state = { ...state, ipvs: [...ipvs.slice(0, i), edited, ...ipvs.slice(i + 1)] };
        changed = `weight of ${d.address}:${d.port} in service ${i + 1} of ${n(ipvs.length)} on ${h.name}`;
      }
    }
    out.set(h.name, { state, ownership: NO_OWNERSHIP });
  }
  return { live: out, changed };
}

export const compileSections = [
  {
    name: 'compile',
    inTotal: false,
    get note() {
      return compileFigures;
    },
    run(state: CompileState): void {
      const cpu = mainThreadCpuMs();
      const t0 = performance.now();
      desired = compileCluster(state.cluster!);
      const t1 = performance.now();
      const plan = buildPlan(desired);
      const t2 = performance.now();
      const total = t2 - t0;
      compileFigures =
        `compileCluster ${n(Math.round(t1 - t0))} ms + buildPlan vs empty hosts ${n(Math.round(t2 - t1))} ms${cpuSince(cpu)}: ` +
        `${n(stepCount(plan))} steps on ${n(plan.hosts.length)} hosts; target < ${n(TARGET_COMPILE_MS)} ms: ${verdict(total < TARGET_COMPILE_MS)}`;
    },
  },
  {
    name: 'live',
    inTotal: false,
    get note() {
      return liveFigures;
    },
    run(): void {
      const r = oneWeightChanged(desired);
      live = r.live;
      liveFigures = `live = desired but one ${r.changed} (setup, not lvsc)`;
    },
  },
  {
    name: 'diff',
    inTotal: false,
    get note() {
      return diffFigures;
    },
    run(): void {
      const cpu = mainThreadCpuMs();
      const t0 = performance.now();
      const plan = buildPlan(desired, live);
      const ms = performance.now() - t0;
      const steps = stepCount(plan);
      diffFigures =
        `buildPlan vs that live state${cpuSince(cpu)}: ${n(steps)} step${steps === 1 ? '' : 's'} (target exactly 1: ${verdict(steps === 1)}); ` +
        `target < ${n(TARGET_DIFF_MS)} ms: ${verdict(ms < TARGET_DIFF_MS)}`;
    },
  },
  {
    name: 'read',
    inTotal: false,
    get note() {
      return readFigures;
    },
    run(): void {
      const director = [...live.entries()].find(([, h]) => h.state.ipvs?.length);
      if (!director) {
        readFigures = 'no director with a table';
        return;
      }
      const table = director[1].state.ipvs!;
      const lines: string[] = [];
      for (const svc of table) {
        lines.push(saveLine(svc));
        for (const d of svc.destinations) lines.push(saveLine(svc, d));
      }
      const text = lines.join('\n') + '\n';
      const thresholds: ServiceThresholds[] = table.map((svc) => ({ service: svc.id, destinations: svc.destinations.map((d) => ({ address: d.address, port: d.port, upper: d.upper, lower: d.lower })) }));
      let parsed = parseIpvsadmSave(text);
      const parseMs = cpuMedianMs(5, () => void (parsed = parseIpvsadmSave(text)));
      const mergeMs = cpuMedianMs(5, () => void mergeThresholds(parsed.value, thresholds));
      const diffMs = cpuMedianMs(5, () => void buildPlan(desired, live));
      const read = parseMs + mergeMs;
      readFigures =
        `${director[0]}'s table as ipvsadm -Sn prints it (${n(lines.length)} lines): parseIpvsadmSave ${n(Math.round(parseMs))} ms + mergeThresholds ${n(Math.round(mergeMs))} ms of CPU, ` +
        `the one-weight diff ${n(Math.round(diffMs))} ms (medians of 5); read ${(read / diffMs).toFixed(2)}× the diff, target ≤ 1×: ${verdict(read <= diffMs)}` +
        (parsed.warnings.length ? `; ${parsed.warnings.length} warnings, first: ${parsed.warnings[0]}` : '');
    },
  },
];
