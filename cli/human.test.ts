/**
 * The human view, on hand-made diagnostics: exact columns, carets, gutters,
 * wrapping, the construct a diagnostic is in; and on the real pipeline's
 * diagnostics, against baselines (cli/testdata/human/<case>.lvs → <case>.txt;
 * `npm run test:accept` rewrites them).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from '../compiler/index.js';
import { sortDiagnostics, type Diagnostic } from '../lang/diagnostics.js';
import type { SourceFile } from '../lang/source.js';
import { assertBaseline } from '../test/support/baseline.js';
import { renderDiagnostic, renderDiagnostics, tally, wrap } from './views/human.js';
import { indexSources } from './views/locate.js';

const plain = { color: false, width: 100 };

/** A source whose span is marked `<|...|>` in the text (markers removed). */
function marked(path: string, text: string): { source: SourceFile; start: number; end: number } {
  const start = text.indexOf('<|');
  const end = text.indexOf('|>') - 2;
  return { source: { path, text: text.replace('<|', '').replace('|>', '') }, start, end };
}

function render(path: string, text: string, d: Partial<Diagnostic> = {}, style = plain): string {
  const m = marked(path, text);
  const diagnostic: Diagnostic = {
    severity: 'error',
    code: 'dr-segment',
    summary: 'real server web4 is not on the director\'s L2 segment',
    subject: { file: path, start: m.start, end: m.end },
    ...d,
  };
  return renderDiagnostic(diagnostic, indexSources([m.source]), style);
}

const FORTY_LINES = Array.from({ length: 40 }, (_, i) => `# line ${i + 1}`).join('\n');

test('caret under the exact columns, line number in a right-aligned gutter', (t) => {
  const text = `${FORTY_LINES}\nservice www {\n  server <|web4|> weight 2\n}\n`;
  t.is(
    render('clusters/web.lvs', text),
    [
      "error[dr-segment]: real server web4 is not on the director's L2 segment",
      '  --> clusters/web.lvs:42:10',
      '   |',
      '42 |   server web4 weight 2',
      '   |          ^^^^',
      '',
    ].join('\n'),
  );
});

test('detail wrapped to the width, continuation under the label; notes with their location', (t) => {
  const text = 'host lb1 {\n  interface eth0 10.1.0.2/24\n}\nhost web4 {\n  interface eth0 10.1.1.14/24\n}\nservice www {\n  server <|web4|>\n}\n';
  const out = render('web.lvs', text, {
    detail:
      'forward dr rewrites only the MAC address, so web4 (10.1.1.14/24) must share a segment with lb1 (10.1.0.2/24). Put web4 on 10.1.0.0/24, or use `forward tun`.',
    notes: [
      { message: "the director's interface", span: { file: 'web.lvs', start: text.indexOf('eth0'), end: text.indexOf('eth0') + 4 } },
      { message: 'a note without a place' },
    ],
  }, { color: false, width: 60 });
  t.is(
    out,
    [
      "error[dr-segment]: real server web4 is not on the director's L2 segment",
      ' --> web.lvs:8:10',
      '  |',
      '8 |   server web4',
      '  |          ^^^^',
      '  = detail: forward dr rewrites only the MAC address, so',
      '    web4 (10.1.1.14/24) must share a segment with lb1',
      '    (10.1.0.2/24). Put web4 on 10.1.0.0/24, or use `forward',
      '    tun`.',
      "  = note: web.lvs:2:13: the director's interface",
      '  = note: a note without a place',
      '',
    ].join('\n'),
  );
  // The summary stays on one line; prose is wrapped.
  for (const line of out.split('\n').slice(1)) t.true(line.length <= 60, line);
});

test('tabs are expanded and the caret follows them', (t) => {
  const out = render('t.lvs', 'service www {\n\tserver\t<|web4|>\n}\n');
  t.true(out.includes('2 |     server    web4\n  |               ^^^^\n'), out);
});

test('an empty span gets one caret; a multi-line span is underlined to the end of its first line', (t) => {
  t.true(render('e.lvs', 'host lb1 {<||>\n').includes('1 | host lb1 {\n  |           ^\n'));
  const multi = render('m.lvs', 'service <|www {\n  vip 10.0.0.1 tcp 80\n}|>\n');
  t.true(multi.includes('1 | service www {\n  |         ^^^^^\n'), multi);
});

test('a span at the end of a file without a final newline still gets its caret', (t) => {
  const out = render('end.lvs', 'director <|lb9|>');
  t.true(out.includes(' --> end.lvs:1:10\n  |\n1 | director lb9\n  |          ^^^\n'), out);
});

test('a diagnostic without a location has no arrow and no snippet', (t) => {
  const out = renderDiagnostic({ severity: 'warning', code: 'nat-scale', summary: 'too many', detail: 'why' }, new Map(), plain);
  t.is(out, 'warning[nat-scale]: too many\n  = detail: why\n');
});

test('colours: severity, gutter and bold summary as ANSI sequences', (t) => {
  const out = render('c.lvs', 'director <|lb9|>\n', { severity: 'warning', code: 'no-servers' }, { color: true, width: 100 });
  t.true(out.startsWith('\x1b[1;33mwarning[no-servers]\x1b[0m\x1b[1m: '), JSON.stringify(out));
  t.true(out.includes('\x1b[1;34m-->\x1b[0m c.lvs:1:10'));
  t.true(out.includes('\x1b[1;33m^^^\x1b[0m'));
});

test('the list: a blank line between diagnostics, then the tally', (t) => {
  const source = { path: 'a.lvs', text: 'director lb1\n' };
  const d = (severity: 'error' | 'warning', start: number): Diagnostic => ({
    severity,
    code: 'internal',
    summary: `at ${start}`,
    subject: { file: 'a.lvs', start, end: start + 1 },
  });
  const out = renderDiagnostics([d('error', 0), d('warning', 9)], indexSources([source]), plain);
  t.regex(out, /\^\n\nwarning\[internal\]: at 9\n/);
  t.true(out.endsWith('^\n\n1 error, 1 warning\n'));
  t.is(renderDiagnostics([], indexSources([source]), plain), '');
  t.is(tally([d('warning', 0), d('warning', 1)]), '0 errors, 2 warnings');
});

test('wrap keeps words whole, gives an overlong word its own line, keeps newlines', (t) => {
  t.deepEqual(wrap('aa bb cc', 5, 5), ['aa bb', 'cc']);
  t.deepEqual(wrap('a verylongword b', 4, 4), ['a', 'verylongword', 'b']);
  t.deepEqual(wrap('one\ntwo three', 20, 3), ['one', 'two', 'three']);
  t.deepEqual(wrap('abc de', 3, 10), ['abc', 'de']);
});

test('the construct around the subject, as HCL says it: "in service www" under the snippet', (t) => {
  const text = 'service www {\n  vip 10.1.0.100 tcp 80\n  server <|web4|> weight 2\n}\n';
  const whole = { file: 'w.lvs', start: 0, end: text.length - 5 };
  t.is(
    render('w.lvs', text, { context: whole, detail: 'why' }),
    ["error[dr-segment]: real server web4 is not on the director's L2 segment", ' --> w.lvs:3:10', '  |', '3 |   server web4 weight 2', '  |          ^^^^', '  = in service www', '  = detail: why', ''].join('\n'),
  );
});

test('no context line where it would say nothing: on the subject\'s own line, not around the subject, a bare `{`, no offsets', (t) => {
  const text = 'host web4 {\n  gateway 10.1.0.2\n}\nservice www {\n  server <|web4|> port 8080\n}\n';
  const clean = text.replace('<|', '').replace('|>', '');
  const at = (s: string) => {
    if (!clean.includes(s)) throw new Error(`no ${s} in the case`);
    return { file: 'c.lvs', start: clean.indexOf(s), end: clean.indexOf(s) + s.length };
  };
  for (const context of [at('server web4 port 8080'), at('host web4 {\n  gateway 10.1.0.2\n}'), at('{\n  server web4 port 8080\n}'), { file: 'c.lvs', start: NaN, end: NaN }, { file: 'other.lvs', start: 0, end: 99 }]) {
    const out = render('c.lvs', text, { context });
    t.false(out.includes(' = in '), `${JSON.stringify(context)}: ${out}`);
  }
  t.true(render('c.lvs', text, { context: at('service www {\n  server web4 port 8080\n}') }).includes('\n  = in service www\n'));
});

const cases = new URL('./testdata/human/', import.meta.url).pathname;
for (const name of readdirSync(cases).filter((f) => f.endsWith('.lvs')).sort()) {
  test(`baseline: the human view of testdata/human/${name}`, (t) => {
    const source = { path: `cli/testdata/human/${name}`, text: readFileSync(join(cases, name), 'utf8') };
    const { diagnostics } = check([source]);
    t.true(diagnostics.length > 0, 'a case shows diagnostics');
    assertBaseline(t, join(cases, name.replace(/\.lvs$/, '.txt')), renderDiagnostics(sortDiagnostics(diagnostics), indexSources([source]), plain));
  });
}
