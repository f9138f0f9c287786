/**
 * Golden files for the plan's two views: for each example, the offline plan as
 * text (cli/views/plan-text.ts) and as JSON (cli/views/plan-json.ts) is
 * committed under cli/testdata/golden/<example>/ and compared. The compiler's
 * own output (host scripts, rendered files) has its golden files in
 * compiler/testdata/golden/. An intended change updates them with one
 * command: `npm run test:accept`.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planCluster } from '../compiler/compile.js';
import { check } from '../compiler/index.js';
import { assertBaseline } from '../test/support/baseline.js';
import { planJson, planJsonPieces } from './views/plan-json.js';
import { renderPlan } from './views/plan-text.js';

const examples = new URL('../examples/', import.meta.url).pathname;
const golden = new URL('./testdata/golden/', import.meta.url).pathname;

for (const name of readdirSync(examples).filter((f) => f.endsWith('.lvs') && f !== 'lab.lvs').sort()) {
  const base = name.replace(/\.lvs$/, '');

  test(`golden plan of ${name}`, (t) => {
    const r = check([{ path: `examples/${name}`, text: readFileSync(join(examples, name), 'utf8') }]);
    if (!r.cluster || r.diagnostics.length) throw new Error(`${name} does not validate`);
    const { plan } = planCluster(r.cluster);
    assertBaseline(t, join(golden, base, 'plan.txt'), renderPlan(plan, { color: false }));
    assertBaseline(t, join(golden, base, 'plan.json'), JSON.stringify(planJson(plan), null, 2) + '\n');
    // What plan --json and compile write: the same document, compact, a line per step.
    const text = [...planJsonPieces(plan, { unreadable: [] })].join('');
    t.deepEqual(JSON.parse(text), { ...planJson(plan), unreadable: [] });
    t.is(text.split('\n').length, plan.hosts.reduce((n, h) => n + 1 + h.steps.length, 0) + 3);
  });
}
