/**
 * Benchmark section `startup`: how long the installed CLI takes to start, as a
 * user runs it (`node bin/lvsc.js`, on the built dist/), next to a Node.js that
 * does nothing (`node -e 0`): `lvsc --version`, and `lvsc validate` of a 20-line
 * file. Each is run `--startup-runs` times (default 11), the three interleaved so
 * a busy moment slows them alike; the medians of the wall time are printed, with
 * each one's ratio to `node -e 0` (target: at most 2×), and the medians of the
 * CPU time the process used (user + system, from /proc: steadier than the wall
 * time on a busy machine). Figures, not a test.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { figuresSection } from './section.js';

const run = promisify(execFile);
const repo = new URL('..', import.meta.url).pathname;
const TARGET_RATIO = 2;

/** A small cluster of 20 lines: a director, two DR servers, one service. */
export const SMALL_CLUSTER = `defaults { ssh user deploy  sudo }
host lb1 {
  ssh 10.1.0.2
  interface eth0 10.1.0.2/24
}
host web1 {
  ssh 10.1.0.11
  interface eth0 10.1.0.11/24
}
host web2 {
  ssh 10.1.0.12
  interface eth0 10.1.0.12/24
}
director lb1
service www {
  vip 10.1.0.100 tcp 80
  scheduler wlc  forward dr
  server web1 weight 3
  server web2 weight 1
}
`;

interface Probe {
  readonly name: string;
  readonly argv: readonly string[];
}

interface Timing {
  readonly wallMs: number;
  /** User + system CPU of the process (undefined where /proc is not there to say). */
  readonly cpuMs: number | undefined;
}

/** The CPU time of this process's finished children so far (cutime + cstime in /proc/self/stat), in ms. */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command's name: state is field 3, so cutime (16) and cstime (17) are at 13 and 14; clock ticks of 10 ms.
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

async function time(root: string, argv: readonly string[]): Promise<Timing> {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  await run(process.execPath, [...argv], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
  const wallMs = performance.now() - t0;
  const cpu1 = childrenCpuMs();
  return { wallMs, cpuMs: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0 };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface Figure {
  readonly name: string;
  /** Medians over the runs. */
  readonly wallMs: number;
  readonly cpuMs: number | undefined;
}

/** The medians of `runs` interleaved runs of each probe, with bin/lvsc.js of the checkout at `root` (default this one). */
export async function startupFigures(runs: number, root = repo): Promise<Figure[]> {
  const file = `${repo}.bench/startup.lvs`;
  mkdirSync(`${repo}.bench`, { recursive: true });
  writeFileSync(file, SMALL_CLUSTER);
  const probes: Probe[] = [
    { name: 'node -e 0', argv: ['-e', '0'] },
    { name: 'lvsc --version', argv: ['bin/lvsc.js', '--version'] },
    { name: 'lvsc validate (20 lines)', argv: ['bin/lvsc.js', 'validate', file] },
  ];
  for (const p of probes) await time(root, p.argv); // warm the file cache
  const times = probes.map(() => [] as Timing[]);
  for (let i = 0; i < runs; i++) for (const [n, p] of probes.entries()) times[n].push(await time(root, p.argv));
  return probes.map((p, n) => {
    const cpu = times[n].map((t) => t.cpuMs);
    return { name: p.name, wallMs: median(times[n].map((t) => t.wallMs)), cpuMs: cpu.every((c) => c !== undefined) ? median(cpu as number[]) : undefined };
  });
}

/** The figures as lines: wall time, its ratio to `node -e 0` against the target, CPU time. */
export function startupLines(figures: readonly Figure[]): string[] {
  const base = figures[0].wallMs;
  return figures.map(({ name, wallMs, cpuMs }, i) => {
    const ratio = wallMs / base;
    const verdict = i === 0 ? '' : `  ${ratio.toFixed(1)}× node -e 0, target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? 'ok' : 'OVER TARGET'}`;
    const cpu = cpuMs === undefined ? '' : `  (CPU ${Math.round(cpuMs)} ms)`;
    return `    ${name.padEnd(26)} ${`${Math.round(wallMs)} ms`.padStart(7)}${verdict}${cpu}`;
  });
}

export const startupSections = [
  figuresSection<{ startupRuns: number }>('startup', '--startup-runs', (s) => s.startupRuns, async (runs) => {
    if (!existsSync(`${repo}dist/cli/main.js`)) return 'skipped: dist/ is not built (npm run build)';
    return [`bin/lvsc.js on dist/, median of ${runs} runs each:`, ...startupLines(await startupFigures(runs))].join('\n');
  }),
];
