/**
 * The fuzz target in the test suite: a bounded number of mutants of the
 * repository's cluster files, with a fixed seed (`npm run fuzz` runs 100,000
 * and times them). And the target's own detectors, which must see what they
 * look for.
 */
import test from 'ava';
import { diag, type Diagnostic } from '../lang/diagnostics.js';
import { diagnosticFindings, fuzzOne, mutant, rng, seeds } from './fuzz.js';

const ROOT = new URL('..', import.meta.url).pathname;
const RUNS = 300;
const SEED = 20261202;

test(`${RUNS} mutants of the examples and test files (seed ${SEED}): no crash, every diagnostic inside its file, snippets in their window, format a fixpoint`, (t) => {
  const from = seeds(ROOT);
  t.true(from.some((s) => s.name.startsWith('examples/')) && from.length > 20, `seeds: ${from.map((s) => s.name).join(' ')}`);
  const r = rng(SEED);
  const found: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const m = mutant(r, from);
    for (const f of fuzzOne(m.text)) found.push(`run ${i} (from ${m.seed}, ${m.text.length} characters): ${f.kind}: ${f.message}`);
  }
  t.deepEqual(found, []);
});

test('a seed makes the same mutants every time, another seed others', (t) => {
  const from = seeds(ROOT);
  const run = (seed: number) => {
    const r = rng(seed);
    return Array.from({ length: 20 }, () => mutant(r, from).text);
  };
  t.deepEqual(run(7), run(7));
  t.notDeepEqual(run(7), run(8));
});

const source = { path: 'fuzz.lvs', text: 'host a {\n  ' + 'x'.repeat(5000) + '\n}\n' };
const at = (start: number, end: number) => ({ file: 'fuzz.lvs', start, end });

test('the detectors see a diagnostic without a location, one outside the file, one of another file, a crashed rule', (t) => {
  const bad: Diagnostic[] = [
    diag('syntax', { summary: 'nowhere', detail: 'd' }),
    diag('syntax', { summary: 'past the end', detail: 'd', subject: at(10, source.text.length + 1) }),
    diag('syntax', { summary: 'backwards', detail: 'd', subject: at(12, 11) }),
    diag('syntax', { summary: 'a bad context', detail: 'd', subject: at(0, 4), context: at(Number.NaN, 4) }),
    diag('syntax', { summary: 'a bad note', detail: 'd', subject: at(0, 4), notes: [{ message: 'n', span: { file: 'other.lvs', start: 0, end: 1 } }] }),
    diag('internal', { summary: 'validation rule x crashed', detail: 'boom', subject: at(0, 4) }),
  ];
  t.deepEqual(
    diagnosticFindings(bad, source).map((f) => `${f.kind} ${f.message.replace(/^\S+ "([^"]*)".*$/, '$1')}`),
    ['outside nowhere', 'outside past the end', 'outside backwards', 'outside a bad context', 'outside a bad note', 'crash validation rule x crashed'],
  );
  t.deepEqual(diagnosticFindings([diag('syntax', { summary: 'fine', detail: 'd', subject: at(11, 20), context: at(0, source.text.length) })], source), []);
});

test('the detectors see a snippet printed whole instead of in its window', (t) => {
  const d = diag('syntax', { summary: 'on a long line', detail: 'd', subject: at(2000, 2004) });
  t.deepEqual(diagnosticFindings([d], source), [], 'the human view cuts the line');
  const whole = () => `error[syntax]: on a long line\n  |\n2 | ${source.text.split('\n')[1]}\n`;
  t.deepEqual(diagnosticFindings([d], source, whole).map((f) => f.kind), ['snippet']);
});
