/**
 * The layering rule (scripts/layers.ts): the checkout keeps it, and the checker
 * finds each kind of wrong-way import, naming the file, the line and the import.
 */
import test from 'ava';
import { formatViolation, importsOf, ROOT, sourceFiles, violations } from './layers.js';

test('every import in the checkout goes downward', (t) => {
  const files = sourceFiles(ROOT);
  t.true(files.some((f) => f.path === 'cli/main.ts') && files.some((f) => f.path === 'lang/lexer.test.ts'), 'the checker sees the checkout');
  t.deepEqual(violations(files).map(formatViolation), []);
});

const wrong = (path: string, text: string) => violations([{ path, text }]).map(formatViolation);

test('a library importing one above it, or a test, is named with file, line and import', (t) => {
  t.deepEqual(wrong('lab/cli.ts', "import { spawn } from 'node:child_process';\nimport { main } from '../cli/main.js';\n"), [
    "lab/cli.ts:2: import '../cli/main.js' goes the wrong way: lab/ imports only lang, compiler, agent, lab (the libraries below it), never their tests, test/, bench/ or scripts/; cli/main.ts is in cli/",
  ]);
  t.is(wrong('lang/format.ts', "import type { Plan } from '../compiler/plan.js';").length, 1, 'type-only imports count');
  t.is(wrong('compiler/diff.ts', "export { x } from '../agent/facts/index.js';").length, 1, 're-exports count');
  t.is(wrong('agent/fleet.ts', "const m = await import('../cli/views/progress.js');").length, 1, 'dynamic imports count');
  t.is(wrong('compiler/plan.ts', "import { keyed } from '../test/support/table.js';").length, 1, 'product code never imports test helpers');
  t.is(wrong('cli/main.ts', "import { generateCluster } from '../bench/generate.js';").length, 1);
  t.is(wrong('cli/views/human.ts', "import { renderForBaseline } from '../../lang/testdata/render.js';").length, 1, "nor a library's testdata");
  t.deepEqual(wrong('cli/commands/plan.ts', "import { openFleet } from '../../agent/fleet.js';\nimport { usageLine } from '../views/human.js';\nimport { check } from '../../compiler/index.js';"), []);
});

test('tests: the libraries below cli/ and test/support/; cli/ only from its own tests; bench/ from nowhere', (t) => {
  t.deepEqual(wrong('compiler/diff.test.ts', "import { thresholdsFact } from '../agent/facts/thresholds.js';\nimport { startLab } from '../lab/netns-sshd.js';\nimport { keyed } from '../test/support/table.js';"), []);
  t.deepEqual(wrong('compiler/testdata/diff/outputs.ts', "import { readFact } from '../../../agent/facts/index.js';"), []);
  t.is(wrong('compiler/golden.test.ts', "import { renderPlan } from '../cli/views/plan-text.js';").length, 1);
  t.is(wrong('agent/apply.test.ts', "import { main } from '../cli/main.js';").length, 1);
  t.is(wrong('compiler/diff.test.ts', "import { generateCluster } from '../bench/generate.js';").length, 1);
  t.deepEqual(wrong('cli/main.test.ts', "import { main } from './main.js';\nimport { format } from '../lang/format.js';"), []);
  t.is(wrong('test/support/table.ts', "import { main } from '../../cli/main.js';").length, 1);
  t.deepEqual(wrong('test/e2e/support.ts', "import { main } from '../../cli/main.js';\nimport { keyed } from '../support/table.js';"), []);
});

test('bench/ and scripts/ use the libraries, never test/', (t) => {
  t.is(wrong('bench/fleet.ts', "import { startLab } from '../test/support/netns-sshd.js';").length, 1);
  t.deepEqual(wrong('bench/fleet.ts', "import { main } from '../cli/main.js';\nimport { startLab } from '../lab/netns-sshd.js';\nimport { section } from './section.js';"), []);
  t.deepEqual(wrong('scripts/lab.ts', "import { main } from '../cli/main.js';\nimport { labCapture } from '../lab/capture.js';"), []);
});

test("only lang/chevrotain.ts imports the chevrotain package", (t) => {
  t.deepEqual(wrong('lang/parser.ts', "import { CstParser } from 'chevrotain';"), [
    "lang/parser.ts:1: import 'chevrotain' goes the wrong way: take Chevrotain from lang/chevrotain.ts (its single-file build), not from the package's 700-file module tree",
  ]);
  t.deepEqual(wrong('lang/chevrotain.ts', "export type { IToken } from 'chevrotain';\nconst c = await import('chevrotain');"), []);
  t.deepEqual(wrong('lang/parser.ts', "import { CstParser } from './chevrotain.js';\nimport fc from 'fast-check';"), []);
  t.deepEqual(wrong('lang/cst.ts', 'import type { CstNode, IToken } from "chevrotain";'), [], 'types load nothing');
});

test('imports are read from code only: multi-line, side-effect, dynamic; not from comments or template text', (t) => {
  const text = [
    "import {", // 1
    "  a,",
    "  type B,",
    "} from './multi.js';", // 4
    "import './side.js';", // 5
    "// import { x } from '../cli/commented.js';",
    "/* import { y } from '../cli/block.js'; */",
    "const sample = `import { z } from '../cli/template.js'`;",
    "const quoted = \"import { q } from '../cli/quoted.js'; await import('../cli/quoted.js')\";",
    "export * from './again.js'; const later = await import('./lazy.js');", // 10
    "const notLiteral = await import(`${dir}/x.js`);",
  ].join('\n');
  t.deepEqual(importsOf(text), [
    { line: 4, specifier: './multi.js', typeOnly: false },
    { line: 5, specifier: './side.js', typeOnly: false },
    { line: 10, specifier: './again.js', typeOnly: false },
    { line: 10, specifier: './lazy.js', typeOnly: false },
  ]);
  t.deepEqual(importsOf("import type { A } from './a.js';\nexport type { B } from './b.js';"), [
    { line: 1, specifier: './a.js', typeOnly: true },
    { line: 2, specifier: './b.js', typeOnly: true },
  ]);
});
