/**
 * Benchmark section `versus`: lvsc on the bench's whole cluster (default
 * 100,000 destinations), as processes, next to keepalived 2.2.7's
 * `keepalived -t` (its configuration check) on an equivalent keepalived.conf
 * (lab/generate.ts: the same services, servers, weights, schedulers and
 * persistence):
 *
 * - `lvsc validate` against `keepalived -t`: target ≤ 1.5× its wall time, ≤ 3× its peak RSS;
 * - `lvsc plan --offline`, `plan --offline --json` and `compile --out`
 *   against `lvsc validate`: target ≤ 2× its wall time and peak RSS each.
 *
 * Each command runs `--versus-runs` times (default 3), interleaved so a busy
 * moment slows them alike; the medians are printed (wall, user + system CPU,
 * peak RSS, from GNU time), with each ratio. keepalived and GNU time are
 * installed with apt-get when missing, as the lab installs its packages.
 * Figures, not a test.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { ensureInstalled } from '../lab/install.js';
import { generateCluster, generateKeepalivedConf, type Shape } from '../lab/generate.js';

const repo = new URL('..', import.meta.url).pathname;
const dir = `${repo}.bench`;
const GNU_TIME = '/usr/bin/time';

interface Probe {
  readonly name: string;
  readonly argv: readonly string[];
  /** The exit status it must end with (plan: 2 = changes to make). */
  readonly status: number;
  /** What it is compared with, and the targets for the ratios of wall time and of peak RSS. */
  readonly against?: { readonly name: string; readonly time: number; readonly memory: number };
}

interface Run {
  readonly wallS: number;
  readonly cpuS: number;
  readonly rssMb: number;
  readonly outBytes: number;
}

/** Runs `argv` under GNU time, its stdout to a file (its size is reported), and reads time's figures. */
function measure(argv: readonly string[], status: number): Promise<Run> {
  const out = `${dir}/versus.out`;
  const timing = `${dir}/versus.time`;
  const fd = openSync(out, 'w');
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-o', timing, '-f', '%e %U %S %M', ...argv], { cwd: repo, stdio: ['ignore', fd, 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      closeSync(fd);
      if (code !== status) return reject(new Error(`${argv.join(' ')} exited ${code}, not ${status}: ${err.slice(-2000)}`));
      const [wall, user, sys, rssKb] = readFileSync(timing, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
      resolve({ wallS: wall, cpuS: user + sys, rssMb: rssKb / 1024, outBytes: statSync(out).size });
    });
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const n = (x: number) => x.toLocaleString('en-US');
const verdict = (ok: boolean) => (ok ? 'ok' : 'OVER TARGET');

export async function versusFigures(shape: Shape, runs: number): Promise<string> {
  await ensureInstalled(['keepalived', 'time'], `${dir}/apt.log`, (line) => console.error(line), 'the bench');
  mkdirSync(dir, { recursive: true });
  const lvs = `${dir}/versus.lvs`;
  const conf = `${dir}/versus.conf`;
  const outDir = `${dir}/versus-compiled`;
  const g = generateCluster(shape);
  writeFileSync(lvs, g.text);
  writeFileSync(conf, generateKeepalivedConf(shape));
  const lvsc = (...args: string[]) => [process.execPath, 'bin/lvsc.js', ...args];
  const vsValidate = { name: 'lvsc validate', time: 2, memory: 2 };
  const probes: Probe[] = [
    { name: 'keepalived -t', argv: ['keepalived', '-t', '-f', conf], status: 0 },
    { name: 'lvsc validate', argv: lvsc('validate', lvs), status: 0, against: { name: 'keepalived -t', time: 1.5, memory: 3 } },
    { name: 'lvsc plan --offline', argv: lvsc('plan', '--offline', lvs), status: 2, against: vsValidate },
    { name: 'lvsc plan --offline --json', argv: lvsc('plan', '--offline', '--json', lvs), status: 2, against: vsValidate },
    { name: 'lvsc compile --out', argv: lvsc('compile', '--out', outDir, lvs), status: 0, against: vsValidate },
  ];
  const results = probes.map(() => [] as Run[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, p] of probes.entries()) {
      rmSync(outDir, { recursive: true, force: true });
      results[k].push(await measure(p.argv, p.status));
    }
  }
  rmSync(outDir, { recursive: true, force: true });
  const med = probes.map((_, k) => ({
    wallS: median(results[k].map((r) => r.wallS)),
    cpuS: median(results[k].map((r) => r.cpuS)),
    rssMb: median(results[k].map((r) => r.rssMb)),
    outBytes: median(results[k].map((r) => r.outBytes)),
  }));
  const lines = [`${n(g.destinations)} destinations (${lvs}, ${conf}), median of ${runs} interleaved runs each (wall, user + system CPU, peak RSS):`];
  for (const [k, p] of probes.entries()) {
    const m = med[k];
    let line = `    ${p.name.padEnd(27)} ${`${m.wallS.toFixed(2)} s`.padStart(8)}  CPU ${`${m.cpuS.toFixed(2)} s`.padStart(7)}  ${`${n(Math.round(m.rssMb))} MB`.padStart(8)}`;
    if (m.outBytes >= 1e5) line += `  stdout ${n(Math.round(m.outBytes / 1e5) / 10)} MB`;
    if (p.against) {
      const base = med[probes.findIndex((q) => q.name === p.against!.name)];
      const t = m.wallS / base.wallS;
      const r = m.rssMb / base.rssMb;
      line +=
        `\n      vs ${p.against.name}: ${t.toFixed(2)}× time (target ≤ ${p.against.time}×: ${verdict(t <= p.against.time)}, CPU ${(m.cpuS / base.cpuS).toFixed(2)}×), ` +
        `${r.toFixed(2)}× memory (target ≤ ${p.against.memory}×: ${verdict(r <= p.against.memory)})`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

let note = '';
export const versusSections = [
  {
    name: 'versus',
    inTotal: false,
    get note() {
      return note;
    },
    async run(_state: unknown, shape: Shape & { versusRuns: number }): Promise<void> {
      if (shape.versusRuns <= 0) note = 'skipped (--versus-runs 0)';
      else if (!statSync(`${repo}dist/cli/main.js`, { throwIfNoEntry: false })) note = 'skipped: dist/ is not built (npm run build)';
      else note = await versusFigures(shape, shape.versusRuns);
    },
  },
] as const;
