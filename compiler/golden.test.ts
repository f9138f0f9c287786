/**
 * Golden files for the compiler's output: for each example, each host's script
 * and each rendered file are committed under compiler/testdata/golden/<example>/
 * and compared (the plan's text and JSON views have theirs in
 * cli/testdata/golden/). An intended change updates them with one command:
 * `npm run test:accept`.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from './index.js';
import { planCluster } from './compile.js';
import { renderHostScript } from './script.js';
import { assertBaseline } from '../test/support/baseline.js';
import { buildPlan } from './order.js';
import { isEmpty } from './plan.js';

const examples = new URL('../examples/', import.meta.url).pathname;
const golden = new URL('./testdata/golden/', import.meta.url).pathname;

for (const name of readdirSync(examples).filter((f) => f.endsWith('.lvs') && f !== 'lab.lvs').sort()) {
  const base = name.replace(/\.lvs$/, '');
  const load = () => {
    const r = check([{ path: `examples/${name}`, text: readFileSync(join(examples, name), 'utf8') }]);
    if (!r.cluster || r.diagnostics.length) throw new Error(`${name} does not validate`);
    return planCluster(r.cluster);
  };

  test(`golden host scripts and files of ${name}`, (t) => {
    const { plan, desired } = load();
    for (const h of plan.hosts) {
      assertBaseline(t, join(golden, base, h.host, 'plan.sh'), renderHostScript(h));
      for (const [path, content] of Object.entries(desired.find((d) => d.name === h.host)!.state.files)) {
        assertBaseline(t, join(golden, base, h.host, 'files', path), content);
      }
    }
  });

  test(`${name}: planning against the desired state itself is empty`, (t) => {
    const { desired } = load();
    const live = new Map(desired.map((d) => [d.name, { state: d.state, ownership: { addresses: new Set<string>(), sysctls: new Set<string>(), fouPorts: new Set<number>(), files: new Set<string>() } }]));
    const plan = buildPlan(desired, live);
    t.true(isEmpty(plan), JSON.stringify(plan.hosts.flatMap((h) => h.steps.map((s) => `${h.host} ${s.action} ${s.kind} ${s.label}`))));
  });
}
