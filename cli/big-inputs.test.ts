/**
 * The sizes at which lvsc once crashed with `RangeError` (a spread of an
 * unbounded array into a call's arguments: `push(...lines)`), generated here:
 * - a plan of 30,000 destinations (its director's rules file is 60,000 lines
 *   of diff), printed by plan, plan --offline and apply's text view;
 * - 200,000 diagnostics from validate (text and --format json) and fmt.
 */
import test from 'ava';
import { check } from '../compiler/index.js';
import { generateCluster } from '../lab/generate.js';
import { sortDiagnostics } from '../lang/diagnostics.js';
import { diagnosticPieces, renderDiagnostics } from './views/human.js';
import { document, jsonReportPieces, toJson, type JsonReport } from './views/json.js';
import { indexSources } from './views/locate.js';
import { lvsc, tempDir } from './test-support.js';

test('plan --offline of 30,000 destinations prints every step and the rules file', async (t) => {
  const cluster = generateCluster({ services: 30_000, serversPerService: 1 });
  t.is(cluster.destinations, 30_000);
  const r = await lvsc(['plan', '--offline', 'big.lvs'], tempDir({ 'big.lvs': cluster.text }));
  t.is(r.code, 2, r.stderr.slice(-500));
  const lines = r.stdout.split('\n');
  t.is(lines.filter((l) => l.startsWith('  + ipvs server ')).length, 30_000);
  t.is(lines.filter((l) => /^ {2}\+-a -[tu] /.test(l)).length, 30_000, 'each destination in the diff of /etc/ipvsadm.rules');
  t.regex(lines.at(-2)!, /^Plan: \d+ to add, 0 to change, 0 to remove, on \d+ of \d+ hosts\.$/);
});

/** 200,000 lines of `;`, each an unexpected character. */
const MANY_ERRORS = ';\n'.repeat(200_000);

test('validate --format json of a file with 200,000 diagnostics prints them as one JSON document', async (t) => {
  const r = await lvsc(['validate', '--format', 'json', 'many.lvs'], tempDir({ 'many.lvs': MANY_ERRORS }));
  t.is(r.code, 1, r.stderr.slice(0, 500));
  t.is(r.stderr, '');
  const doc = JSON.parse(r.stdout) as JsonReport;
  t.is(doc.diagnostics.length, 200_000);
  t.is(doc.errors, 200_000);
  t.deepEqual(doc.diagnostics.at(-1)!.start, { line: 200_000, column: 1, offset: 399_998 });
});

test('validate and fmt of a file with 200,000 diagnostics print them all, then the tally', async (t) => {
  const dir = tempDir({ 'many.lvs': MANY_ERRORS });
  for (const command of ['validate', 'fmt']) {
    const r = await lvsc([command, 'many.lvs'], dir);
    t.is(r.code, 1, command);
    t.is(r.stdout, '', command);
    t.is(r.stderr.match(/^error\[lex-unexpected-char\]: unexpected character `;`$/gm)?.length, 200_000, command);
    t.true(r.stderr.endsWith('\n200000 errors, 0 warnings\n'), `${command}: ${r.stderr.slice(-100)}`);
  }
});

test('the diagnostics written in pieces are the same bytes as the one document and the one text they replace', (t) => {
  const cases = [
    '',
    'director lb1\n',
    'host a {\n  ssh "\u001b[2J" user \u201cx\u201d\n}\nservice s {\n  vip 10.0.0.1 tcp 99999\n  server b\n}\n\u202e;\n',
  ];
  for (const text of cases) {
    const source = { path: 'p.lvs', text };
    const diagnostics = sortDiagnostics(check([source]).diagnostics);
    const sources = indexSources([source]);
    t.is([...jsonReportPieces(diagnostics, sources)].join(''), document(toJson(diagnostics, sources)), JSON.stringify(text));
    const style = { color: true, width: 60 };
    t.is([...diagnosticPieces(diagnostics, sources, style)].join(''), renderDiagnostics(diagnostics, sources, style));
  }
});
