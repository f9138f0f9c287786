/**
 * The diff as tables (design habit 9): compiler/testdata/diff/<case>.json is
 *
 *   { "about": "why the case exists",
 *     "desired": <cluster>,                      the file as it is now
 *     "live": { "<host>": { "$render"?: true | <cluster>, "<fact>": <output>, ... } },
 *     "steps": [ {host, action, kind, key, drain?, commands?} ]  |  "noop": "why nothing" ,
 *     "warnings"?: { "<host>": ["<fact>: <message>"] } }
 *
 * <cluster> is a path (`examples/web-dr.lvs`), the text as a list of lines, or
 * `{ "file": PATH, "edit": [[FROM, TO], ...] }` where each FROM occurs exactly once.
 *
 * The live side is raw command output read by the real fact parsers
 * (compiler/testdata/diff/outputs.ts says where outputs come from; `$render`
 * is what a host that <cluster> was applied to prints, and the facts named
 * beside it replace its output of those facts). Ownership is the real
 * assembly's: lvsc's manifest among them (a case that gives `files` gives
 * `manifest` too), or, where it is absent, the migration reading of the files. Only the hosts named in `live` are planned and
 * compared, in plan order; a step's `commands`, when given, must match too.
 *
 * In every case, no command anywhere (steps, batches, host scripts) flushes
 * the IPVS table. `npm run test:accept` writes each case's actual steps into
 * its file, for review.
 */
import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hasErrors } from '../lang/diagnostics.js';
import { accepting } from '../test/support/baseline.js';
import { generateCluster } from '../lab/generate.js';
import { commandLine, type Command } from './command.js';
import { compileCluster } from './compile.js';
import type { DesiredHost } from './desired.js';
import { check } from './index.js';
import type { Cluster } from './ir.js';
import { parseIpvsadmSave } from './ipvsadm.js';
import { buildPlan, type LiveHost } from './order.js';
import { PHASES, type Plan, type Step } from './plan.js';
import { renderHostScript } from './script.js';
import { phaseUnits, unitCommands } from './units.js';
import type { HostState } from './state.js';
import { keyed } from '../test/support/table.js';
import { rawOutput, readHost, renderOutputs, thresholdsOutput, type OutputSpec } from './testdata/diff/outputs.js';
import { thresholdsFact, mergeThresholds } from '../agent/facts/thresholds.js';
import type { RawOutput } from '../agent/facts/index.js';

type ClusterSpec = string | string[] | { readonly file: string; readonly edit?: readonly [string, string][] };

type HostSpec = { readonly $render?: true | ClusterSpec } & Readonly<Record<string, OutputSpec>>;

type CommandSpec = string | { readonly run: string; readonly stdin: string };

interface ExpectedStep {
  readonly host: string;
  readonly action: Step['action'];
  readonly kind: Step['kind'];
  readonly key: string;
  readonly drain?: true;
  readonly commands?: readonly CommandSpec[];
}

interface Case {
  readonly about: string;
  readonly desired: ClusterSpec;
  readonly live: Readonly<Record<string, HostSpec>>;
  readonly steps?: readonly ExpectedStep[];
  readonly noop?: string;
  readonly warnings?: Readonly<Record<string, readonly string[]>>;
}

const ROOT = new URL('../', import.meta.url);
const CASES = new URL('./testdata/diff/', import.meta.url);

function clusterText(spec: ClusterSpec): { path: string; text: string } {
  if (Array.isArray(spec)) return { path: '(case)', text: spec.map((l) => `${l}\n`).join('') };
  if (typeof spec === 'string') return { path: spec, text: readFileSync(new URL(spec, ROOT), 'utf8') };
  const s = spec as Exclude<ClusterSpec, string | string[]>;
  let text = readFileSync(new URL(s.file, ROOT), 'utf8');
  for (const [from, to] of s.edit ?? []) {
    const at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`edit of ${s.file}: ${JSON.stringify(from)} must occur exactly once`);
    text = text.slice(0, at) + to + text.slice(at + from.length);
  }
  return { path: `${s.file} (edited)`, text };
}

function compile(spec: ClusterSpec): { cluster: Cluster; desired: DesiredHost[] } {
  const source = clusterText(spec);
  const r = check([source]);
  if (!r.cluster || hasErrors(r.diagnostics)) {
    throw new Error(`${source.path} does not validate: ${r.diagnostics.map((d) => `${d.code} ${d.summary}`).join('; ')}`);
  }
  return { cluster: r.cluster, desired: compileCluster(r.cluster) };
}

const isDirector = (d: DesiredHost) => d.roles.includes('director') || d.roles.includes('backup-director');

function formatCommand(c: Command): CommandSpec {
  return c.stdin === undefined ? commandLine(c) : { run: commandLine(c), stdin: c.stdin };
}

/** A step as the tables write it. */
function project(host: string, s: Step, withCommands: boolean): ExpectedStep {
  return {
    host,
    action: s.action,
    kind: s.kind,
    key: s.label,
    ...(s.drain ? { drain: true as const } : {}),
    ...(withCommands && s.commands.length ? { commands: s.commands.map(formatCommand) } : {}),
  };
}

/** `ipvsadm -C` / `--clear` anywhere: in a step's commands, a work unit's (a restore's input), a host script. */
function assertNeverClears(t: ExecutionContext, plan: Plan): void {
  const flushes = (words: readonly string[]) => words.includes('-C') || words.includes('--clear');
  for (const h of plan.hosts) {
    for (const s of h.steps) for (const c of s.commands) t.false(flushes(c.argv), `${h.host}: ${commandLine(c)}`);
    for (const phase of PHASES) {
      for (const c of phaseUnits(h.steps.filter((s) => s.phase === phase)).flatMap(unitCommands)) {
        t.false(flushes(c.argv), `${h.host}: ${commandLine(c)}`);
        if (c.argv[0] === 'ipvsadm') for (const line of (c.stdin ?? '').split('\n')) t.false(flushes(line.split(/\s+/)), `${h.host}: restore line ${line}`);
      }
    }
    t.notRegex(renderHostScript(h), /^ipvsadm.*\s(-C|--clear)(\s|$)/m, `${h.host}: host script`);
  }
}

function runCase(file: string, c: Case): { plan: Plan; actual: ExpectedStep[]; hosts: string[]; warnings: Record<string, string[]> } {
  const { desired } = compile(c.desired);
  const byName = new Map(desired.map((d) => [d.name, d]));
  const renders = new Map<string, ReturnType<typeof compile>>();
  const live = new Map<string, LiveHost>();
  const warnings: Record<string, string[]> = {};
  for (const [host, spec] of Object.entries(c.live)) {
    const want = byName.get(host);
    if (!want) throw new Error(`${file}: live host ${host} is not in the desired cluster`);
    const outputs: Record<string, RawOutput> = {};
    if (spec.$render !== undefined) {
      const key = JSON.stringify(spec.$render);
      if (!renders.has(key)) renders.set(key, spec.$render === true ? compile(c.desired) : compile(spec.$render));
      const old = renders.get(key)!;
      const was = old.desired.find((d) => d.name === host);
      if (!was) throw new Error(`${file}: ${host} is not in the cluster its live side is rendered from`);
      Object.assign(outputs, renderOutputs(was, old.cluster.hostsByName.get(host)));
    }
    // The manifest is a file beside the others: a case that gives the files says what the manifest fact prints too.
    if ('files' in spec && !('manifest' in spec)) throw new Error(`${file}: ${host} gives \`files\` but not \`manifest\` (the manifest fact's output, e.g. {"capture": "absent"})`);
    for (const [fact, output] of Object.entries(spec)) if (fact !== '$render') outputs[fact] = rawOutput(fact, output as OutputSpec);
    const read = readHost(isDirector(want), outputs);
    if (read.errors.length) throw new Error(`${file}: ${host}'s facts did not read: ${read.errors.map((e) => `${e.fact}: ${e.message}`).join('; ')}`);
    if (read.warnings.length) warnings[host] = read.warnings.map((w) => `${w.fact}: ${w.message}`);
    live.set(host, { state: read.state, ownership: read.ownership });
  }
  const plan = buildPlan(desired, live);
  const hosts = Object.keys(c.live);
  const actual = plan.hosts.filter((h) => live.has(h.host)).flatMap((h) => h.steps.map((s) => project(h.host, s, true)));
  return { plan, actual, hosts, warnings };
}

const files = readdirSync(CASES).filter((f) => f.endsWith('.json')).sort();

test('the diff tables are there', (t) => {
  t.true(files.length >= 15, `only ${files.length} cases in compiler/testdata/diff`);
});

for (const file of files) {
  test(`diff ${file}`, (t) => {
    const path = new URL(file, CASES);
    const c = JSON.parse(readFileSync(path, 'utf8')) as Case;
    t.truthy(c.about, 'every case says why it exists');
    if ((c.steps === undefined) === (c.noop === undefined)) return t.fail('a case has either `steps` or a `noop` reason, not both or neither');
    if (c.steps?.length === 0 && !accepting) return t.fail('no steps expected: say why in `noop` instead');
    const { plan, actual, warnings } = runCase(file, c);
    assertNeverClears(t, plan);
    t.deepEqual(warnings, c.warnings ?? {}, 'what the fact parsers warned about');
    if (accepting && actual.length) {
      const { steps: _s, noop: _n, ...rest } = c;
      writeFileSync(path, JSON.stringify({ ...rest, steps: actual }, null, 2) + '\n');
      return;
    }
    if (c.noop !== undefined) {
      t.deepEqual(actual, [], `expected no change: ${c.noop}`);
      return;
    }
    const expected = c.steps!;
    const compared = actual.map((a, i) => (expected[i]?.commands ? a : { ...a, commands: undefined }));
    const normal = (s: ExpectedStep) => JSON.parse(JSON.stringify(s)) as ExpectedStep;
    t.deepEqual(compared.map(normal), expected.map(normal));
  });
}

// ------------------------------------------------------------------ the table's own instruments

test('the thresholds listing the tables print is ipvsadm 1.31\'s, byte for byte', (t) => {
  const table = parseIpvsadmSave(rawOutput('ipvs', { capture: 'ipvsadm-1.31' }).stdout).value;
  const listed = rawOutput('thresholds', { capture: 'ipvsadm-1.31' }).stdout;
  const merged = mergeThresholds(table, thresholdsFact.parse(listed).value);
  t.deepEqual(merged.warnings, []);
  t.is(thresholdsOutput(merged.value), listed);
});

test('a live host rendered from a cluster reads back as that cluster\'s desired state', (t) => {
  for (const example of ['examples/web-dr.lvs', 'examples/api-nat.lvs', 'examples/shop-fwmark.lvs', 'examples/cdn-tun.lvs']) {
    const { cluster, desired } = compile(example);
    for (const d of desired) {
      const read = readHost(isDirector(d), renderOutputs(d, cluster.hostsByName.get(d.name)));
      t.deepEqual(read.errors, [], `${example} ${d.name}`);
      const s = read.state;
      t.deepEqual(keyedOrNull(s.ipvs), keyedOrNull(d.state.ipvs), `${example} ${d.name} ipvs`);
      t.deepEqual(s.sysctls, d.state.sysctls, `${example} ${d.name} sysctls`);
      t.deepEqual(s.files, d.state.files, `${example} ${d.name} files`);
      t.deepEqual(s.fwmarkRules, d.state.fwmarkRules, `${example} ${d.name} fwmark rules`);
      t.deepEqual(s.syncDaemons, d.state.syncDaemons, `${example} ${d.name} sync daemons`);
      for (const m of d.state.modules) t.true(s.modules.includes(m), `${example} ${d.name} module ${m}`);
      for (const a of d.state.addresses) t.true(s.addresses.some((x) => x.dev === a.dev && x.address === a.address && x.label === a.label), `${example} ${d.name} address ${a.address}`);
    }
  }
});

/** A table in a canonical order, or null where the host is no director. */
const keyedOrNull = (ipvs: HostState['ipvs']): HostState['ipvs'] => ipvs && keyed(ipvs);

// ------------------------------------------------------------------ scale, as behaviour

test('10,000 services, one weight changed by hand: exactly one step puts it back', (t) => {
  const cluster = checkText(generateCluster({ services: 10_000, serversPerService: 2 }).text);
  const desired = compileCluster(cluster);
  const lb = desired.find((d) => d.name === 'lb1')!;
  const outputs = renderOutputs(lb, cluster.hostsByName.get('lb1'));
  // The hand edit: `ipvsadm -e` of one destination somewhere in the middle of the table.
  const lines = outputs.ipvs.stdout.split('\n');
  const at = lines.findIndex((l, i) => i > lines.length / 2 && /^-a .* -g -w 2$/.test(l));
  t.true(at > 0, 'found a DR destination of weight 2 to edit');
  lines[at] = lines[at].replace(/-w 2$/, '-w 9');
  outputs.ipvs = { ...outputs.ipvs, stdout: lines.join('\n') };
  const read = readHost(true, outputs);
  t.deepEqual(read.errors, []);
  t.is(read.state.ipvs!.length, 10_000);
  const plan = buildPlan(desired, new Map([['lb1', { state: read.state, ownership: read.ownership }]]));
  const steps = plan.hosts.find((h) => h.host === 'lb1')!.steps;
  t.is(steps.length, 1, steps.slice(0, 5).map((s) => `${s.kind} ${s.label}`).join('; '));
  const [service, server] = [/-t (\S+)/.exec(lines[at])![1], /-r (\S+)/.exec(lines[at])![1]];
  t.like(steps[0], { action: 'update', kind: 'ipvs-destination', label: `${server} → tcp ${service}` });
  t.deepEqual(steps[0].commands.map(commandLine), [`ipvsadm ${lines[at].replace(/^-a /, '-e ').replace(/-w 9$/, '-w 2')}`]);
});

function checkText(text: string): Cluster {
  const r = check([{ path: 'generated.lvs', text }]);
  if (!r.cluster || hasErrors(r.diagnostics)) throw new Error('the generated cluster does not validate');
  return r.cluster;
}
