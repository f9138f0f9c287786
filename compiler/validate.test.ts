/**
 * One broken config per validation rule (compiler/testdata/validate/*.lvs).
 * Each file says in its first line which codes it must produce (`# expect: a b`,
 * empty for a valid file); the baseline beside it pins every message and location.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from './index.js';
import { sortDiagnostics } from '../lang/diagnostics.js';
import { assertBaseline, renderForBaseline } from '../test/support/baseline.js';

const dir = new URL('./testdata/validate/', import.meta.url).pathname;

for (const name of readdirSync(dir).filter((f) => f.endsWith('.lvs')).sort()) {
  test(`validate ${name}`, (t) => {
    const text = readFileSync(join(dir, name), 'utf8');
    const header = /^# expect:(.*)$/m.exec(text);
    if (!header) return t.fail(`${name} has no "# expect:" line`);
    const expected = header[1].trim().split(/\s+/).filter(Boolean).sort();
    const source = { path: name, text };
    const { diagnostics } = check([source]);
    const sorted = sortDiagnostics(diagnostics);
    t.deepEqual(sorted.map((d) => d.code).sort(), expected);
    for (const d of sorted) {
      t.truthy(d.subject, `${d.code} has a location`);
      t.truthy(d.detail, `${d.code} says how to fix it`);
    }
    assertBaseline(t, join(dir, name.replace(/\.lvs$/, '.diag.txt')), renderForBaseline(sorted, [source]));
  });
}

const examples = new URL('../examples/', import.meta.url).pathname;
for (const name of readdirSync(examples).filter((f) => f.endsWith('.lvs')).sort()) {
  test(`example ${name} validates clean`, (t) => {
    const source = { path: name, text: readFileSync(join(examples, name), 'utf8') };
    const { diagnostics, cluster } = check([source]);
    t.deepEqual(diagnostics.map((d) => `${d.code}: ${d.summary}`), []);
    t.truthy(cluster);
  });
}
