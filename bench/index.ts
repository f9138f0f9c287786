/**
 * `npm run bench`: how long the phases take on a large generated cluster
 * (default 5,000 services × 20 servers = 100,000 destinations) and how much
 * memory the process needs at its peak, next to the targets. It prints; it does
 * not assert (timings are not tests).
 *
 * Each phase is a named section over one shared state; a later phase (compile,
 * diff, fleet, lab) is one more entry in SECTIONS.
 *
 *   npm run bench -- --services 500 --servers 10
 *   npm run bench -- --fleet-hosts 10     (0: no fleet section, which needs root)
 *   npm run bench -- --lab-services 1000  (0: no lab section, which uses the lab VM)
 *   npm run bench -- --lab-health 5       (0: no lab-health section: detection time and requests lost per server failure, in the lab VM)
 *   npm run bench -- --startup-runs 21    (0: no startup section; npm run bench builds dist/ first)
 *   npm run bench -- --known-hosts-lines 20000  (0: no known_hosts section)
 *   npm run bench -- --versus-runs 5      (0: no versus section: lvsc's commands vs keepalived -t, as processes)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { lower } from '../compiler/lower.js';
import type { Cluster } from '../compiler/ir.js';
import { validate } from '../compiler/validate/index.js';
import type { AstFile } from '../lang/ast.js';
import type { Diagnostic } from '../lang/diagnostics.js';
import { parse } from '../lang/index.js';
import type { SourceFile } from '../lang/source.js';
import { compileSections } from './compile.js';
import { fleetSections } from './fleet.js';
import { knownHostsSections } from './known-hosts.js';
import { generateCluster, type Generated } from '../lab/generate.js';
import { labSections } from './lab.js';
import { labHealthSections } from './lab-health.js';
import { startupSections } from './startup.js';
import { versusSections } from './versus.js';

interface State {
  generated?: Generated;
  sources?: SourceFile[];
  files?: AstFile[];
  cluster?: Cluster;
  diagnostics: Diagnostic[];
}

interface Shape {
  readonly services: number;
  readonly serversPerService: number;
  /** Live hosts for the fleet section (sshd in network namespaces). */
  readonly fleetHosts: number;
  /** Services on the lab VM's director for the lab section. */
  readonly labServices: number;
  /** Server failures the lab-health section measures. */
  readonly labHealth: number;
  /** Runs of each command in the startup section. */
  readonly startupRuns: number;
  /** Lines of the known_hosts file for the known_hosts section. */
  readonly knownHostsLines: number;
  /** Runs of each command in the versus section. */
  readonly versusRuns: number;
}

interface Section {
  readonly name: string;
  /** Counted in the total that is compared with the target (what `lvsc validate` spends). */
  readonly inTotal: boolean;
  readonly note?: string;
  run(state: State, shape: Shape): void | Promise<void>;
}

const TARGET_TOTAL_MS = 2000;
const TARGET_PEAK_MB = 400;

/** The phases of compiler/index.ts `check()`, timed one by one. */
const SECTIONS: readonly Section[] = [
  // lvsc --version and lvsc validate of a small file, as processes, next to node -e 0 (bench/startup.ts).
  ...startupSections,
  // lvsc validate, plan --offline and compile --out of the whole cluster, as processes, next to keepalived -t (bench/versus.ts).
  ...versusSections,
  {
    name: 'generate',
    inTotal: false,
    note: 'building the .lvs text (not lvsc)',
    run(state, shape) {
      state.generated = generateCluster(shape);
      state.sources = [{ path: '.bench/cluster.lvs', text: state.generated.text }];
    },
  },
  {
    name: 'parse',
    inTotal: true,
    note: 'lex + parse + AST',
    run(state) {
      state.files = state.sources!.map((source) => {
        const r = parse(source);
        for (const d of r.diagnostics) state.diagnostics.push(d);
        return r.file;
      });
    },
  },
  {
    name: 'lower',
    inTotal: true,
    note: 'AST → IR: names, defaults, addresses',
    run(state) {
      state.cluster = lower(state.files!, (d) => state.diagnostics.push(d));
    },
  },
  {
    name: 'rules',
    inTotal: true,
    note: 'every validation rule',
    run(state) {
      validate(state.cluster!, (d) => state.diagnostics.push(d));
    },
  },
  // compile + plan against empty hosts, and the one-weight diff (bench/compile.ts).
  ...compileSections,
  // lvsc plan against live hosts over SSH, next to one host alone and to OpenSSH (bench/fleet.ts).
  ...fleetSections,
  // Checking a host key against a 5,000-line known_hosts, per connection, before and now (bench/known-hosts.ts).
  ...knownHostsSections,
  // lvsc apply of a large table in the lab VM, next to ipvsadm -R on the director itself (bench/lab.ts).
  ...labSections,
  // What a real server's failure costs with health checks: detection time, requests lost (bench/lab-health.ts).
  ...labHealthSections,
];

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '5000' },
    servers: { type: 'string', default: '20' },
    'fleet-hosts': { type: 'string', default: '50' },
    'lab-services': { type: 'string', default: '10000' },
    'lab-health': { type: 'string', default: '3' },
    'startup-runs': { type: 'string', default: '11' },
    'known-hosts-lines': { type: 'string', default: '5000' },
    'versus-runs': { type: 'string', default: '3' },
  },
  strict: true,
});
const shape: Shape = {
  services: Number(values.services),
  serversPerService: Number(values.servers),
  fleetHosts: Number(values['fleet-hosts']),
  labServices: Number(values['lab-services']),
  labHealth: Number(values['lab-health']),
  startupRuns: Number(values['startup-runs']),
  knownHostsLines: Number(values['known-hosts-lines']),
  versusRuns: Number(values['versus-runs']),
};

const gc = (globalThis as { gc?: () => void }).gc;
const state: State = { diagnostics: [] };
const timings: { section: Section; ms: number }[] = [];
// The memory target is for what `lvsc validate` does (parse + lower + rules): its
// peak is read when the last of those sections ends, before compile and diff grow it.
let validatePeakMb = 0;
for (const section of SECTIONS) {
  gc?.();
  const t0 = performance.now();
  await section.run(state, shape);
  timings.push({ section, ms: performance.now() - t0 });
  if (section.inTotal) validatePeakMb = process.resourceUsage().maxRSS / 1024;
}
const peakMb = process.resourceUsage().maxRSS / 1024;

const g = state.generated!;
mkdirSync('.bench', { recursive: true });
writeFileSync(state.sources![0].path, g.text);

const n = (x: number) => x.toLocaleString('en-US');
const ms = (x: number) => `${n(Math.round(x))} ms`.padStart(9);
console.log(
  `lvsc benchmark: ${n(g.services)} services × ${shape.serversPerService} servers = ${n(g.destinations)} destinations, ` +
    `${g.hosts} hosts, ${(g.text.length / 1e6).toFixed(1)} MB of source (${state.sources![0].path})`,
);
// Timings are of one cold run, as a user's `lvsc validate` is; a busy machine (load average) slows them.
console.log(
  `node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg()[0].toFixed(1)}` +
    (gc ? '' : ', run without --expose-gc'),
);
console.log('');
for (const { section, ms: t } of timings) console.log(`  ${section.name.padEnd(10)} ${ms(t)}   ${section.note ?? ''}`);
const total = timings.filter((x) => x.section.inTotal).reduce((sum, x) => sum + x.ms, 0);
const verdict = (ok: boolean) => (ok ? 'ok' : 'OVER TARGET');
console.log(`  ${'total'.padEnd(10)} ${ms(total)}   target < ${n(TARGET_TOTAL_MS)} ms: ${verdict(total < TARGET_TOTAL_MS)}  (parse + lower + rules)`);
console.log(`  ${'peak RSS'.padEnd(10)} ${`${n(Math.round(validatePeakMb))} MB`.padStart(9)}   target < ${TARGET_PEAK_MB} MB: ${verdict(validatePeakMb < TARGET_PEAK_MB)}  (parse + lower + rules, as lvsc validate)`);
console.log(`  ${'peak RSS'.padEnd(10)} ${`${n(Math.round(peakMb))} MB`.padStart(9)}   (whole benchmark process, compile and diff included)`);

if (state.diagnostics.length) {
  // The figures above are only meaningful for a config that validates clean.
  console.log(`\nthe generated cluster is not clean: ${state.diagnostics.length} diagnostics, first: ${state.diagnostics[0].code}: ${state.diagnostics[0].summary}`);
  process.exitCode = 1;
}
