/**
 * `npm run fuzz [-- --runs N] [--seed S] [--out DIR]`: the fuzz target
 * (cli/fuzz.ts) over N mutants (default 100,000) of the repository's cluster
 * files, from seed S (default 1: a run is reproducible on one checkout). It
 * prints every finding (a crash, a diagnostic outside its file, a snippet out
 * of its window, a format that is no fixpoint), every input that took over
 * 1 s (a hang; with its CPU time, as on a loaded machine the wall time is not
 * all its own), and at the end the counts and the time, and writes each such
 * input to DIR (default .fuzz/) as `SEED-RUN.lvs`, to reproduce it with
 * `lvsc validate`.
 *
 * The inputs run in a worker thread, watched from here: one that has not
 * finished after 30 s is a hang that would never end, so the worker is
 * stopped, the input recorded, and a new worker goes on after it. Exit 1 when
 * anything was found.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { fuzzOne, mutant, rng, seeds, type Finding } from '../cli/fuzz.js';

const ROOT = new URL('..', import.meta.url).pathname;
/** Over this, an input is a hang (reported, the run goes on). */
const SLOW_MS = 1000;
/** Over this, an input is a hang that may never end: its worker is stopped. */
const STUCK_MS = 30_000;

interface Job {
  readonly seed: number;
  readonly from: number;
  readonly to: number;
  /** Two float64s the worker writes and the watcher reads: the run in progress, and when it started (ms since the epoch). */
  readonly progress: SharedArrayBuffer;
}

type Report =
  | { readonly kind: 'finding'; readonly run: number; readonly seed: string; readonly findings: readonly Finding[]; readonly ms: number }
  | { readonly kind: 'slow'; readonly run: number; readonly seed: string; readonly ms: number; readonly cpuMs: number; readonly chars: number }
  | { readonly kind: 'slowest'; readonly run: number; readonly ms: number }
  | { readonly kind: 'done' };

/** The mutants of a run, from the first: run `i` is the same whoever makes it. */
function* mutants(seed: number, to: number) {
  const from = seeds(ROOT);
  const r = rng(seed);
  for (let i = 0; i < to; i++) yield { run: i, ...mutant(r, from) };
}

function work(job: Job): void {
  const progress = new Float64Array(job.progress);
  let slowestMs = 0;
  for (const m of mutants(job.seed, job.to)) {
    if (m.run < job.from) continue;
    progress[0] = m.run;
    progress[1] = performance.timeOrigin + performance.now();
    const start = performance.now();
    // The process's CPU time is this thread's: the watching thread sleeps.
    const cpu = process.cpuUsage();
    const findings = fuzzOne(m.text);
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    // A new slowest as it happens (a few times a run), so a worker stopped later has said it.
    if (ms > slowestMs) {
      slowestMs = ms;
      parentPort!.postMessage({ kind: 'slowest', run: m.run, ms } satisfies Report);
    }
    if (findings.length) parentPort!.postMessage({ kind: 'finding', run: m.run, seed: m.seed, findings, ms } satisfies Report);
    else if (ms > SLOW_MS) parentPort!.postMessage({ kind: 'slow', run: m.run, seed: m.seed, ms, cpuMs, chars: m.text.length } satisfies Report);
  }
  parentPort!.postMessage({ kind: 'done' } satisfies Report);
}

function textOf(seed: number, run: number): string {
  let text = '';
  for (const m of mutants(seed, run + 1)) text = m.text;
  return text;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' }, out: { type: 'string', default: '.fuzz' } } });
  const runs = Number(values.runs);
  const seed = Number(values.seed);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
    console.error('usage: npm run fuzz -- [--runs N] [--seed S] [--out DIR]');
    return 2;
  }
  const out = values.out!;
  const save = (run: number, text: string) => {
    mkdirSync(out, { recursive: true });
    const path = join(out, `${seed}-${run}.lvs`);
    writeFileSync(path, text);
    return path;
  };
  console.log(`fuzzing ${runs} mutants of ${seeds(ROOT).length} files, seed ${seed}`);
  const began = performance.now();
  const counts = { crash: 0, outside: 0, snippet: 0, format: 0, slow: 0, stuck: 0 };
  let slowest = { ms: 0, run: -1 };
  let from = 0;
  while (from < runs) {
    const progress = new SharedArrayBuffer(16);
    const seen = new Float64Array(progress);
    seen[0] = from;
    seen[1] = performance.timeOrigin + performance.now();
    // The worker loads this file as the main thread did, through tsx (a worker does not inherit its loader).
    const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: { seed, from, to: runs, progress } satisfies Job });
    const outcome = await new Promise<{ done: true } | { stuck: number }>((resolve, reject) => {
      const watch = setInterval(() => {
        if (Date.now() - seen[1] > STUCK_MS) {
          clearInterval(watch);
          const run = seen[0];
          void worker.terminate().then(() => resolve({ stuck: run }));
        }
      }, 1000);
      worker.on('message', (m: Report) => {
        if (m.kind === 'done') {
          clearInterval(watch);
          resolve({ done: true });
          return;
        }
        if (m.kind === 'slowest') {
          if (m.ms > slowest.ms) slowest = { ms: m.ms, run: m.run };
          return;
        }
        const path = save(m.run, textOf(seed, m.run));
        if (m.kind === 'slow') {
          counts.slow++;
          console.log(`run ${m.run} (from ${m.seed}, ${m.chars} characters): took ${(m.ms / 1000).toFixed(2)} s (over ${SLOW_MS / 1000} s; ${(m.cpuMs / 1000).toFixed(2)} s of CPU): ${path}`);
          return;
        }
        for (const f of m.findings) {
          counts[f.kind]++;
          console.log(`run ${m.run} (from ${m.seed}): ${f.kind}: ${f.message}\n  input: ${path}`);
        }
      });
      worker.on('error', (e) => {
        clearInterval(watch);
        reject(e);
      });
    });
    if ('done' in outcome) break;
    counts.stuck++;
    console.log(`run ${outcome.stuck}: no answer after ${STUCK_MS / 1000} s, stopped: ${save(outcome.stuck, textOf(seed, outcome.stuck))}`);
    from = outcome.stuck + 1;
  }
  const seconds = (performance.now() - began) / 1000;
  const found = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(
    `${runs} inputs in ${seconds.toFixed(1)} s: ${counts.crash} crashes, ${counts.outside} diagnostics outside the file, ${counts.snippet} snippets out of their window, ${counts.format} format faults, ${counts.slow + counts.stuck} hangs over 1 s (${counts.stuck} stopped); slowest input ${(slowest.ms / 1000).toFixed(2)} s (run ${slowest.run})`,
  );
  return found ? 1 : 0;
}

if (isMainThread) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
} else {
  work(workerData as Job);
}
