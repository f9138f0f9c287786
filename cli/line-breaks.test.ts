/**
 * Files with old Mac line breaks (a lone `\r`), or with none at all, through
 * the CLI: `lvsc validate` shows each diagnostic with its own line (a 200 KB
 * CR-only file once counted as one line, printed once per diagnostic, ran out
 * of memory), a line too long to show is shown as a window around the subject,
 * and `lvsc fmt -w` keeps every comment of a CR-only file (it once dropped them).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lex } from '../lang/lexer.js';
import { renderDiagnostic, SNIPPET_WIDTH } from './views/human.js';
import { indexSources } from './views/locate.js';
import { lvsc, tempDir } from './test-support.js';

const UNCLOSED = 'service a {';
/** 200 KB of unclosed blocks, one per line with the given break (or none), and how many. */
function unclosedBlocks(lineBreak: string): { text: string; blocks: number } {
  const blocks = Math.ceil(200_000 / (UNCLOSED.length + Math.max(1, lineBreak.length)));
  return { text: Array.from({ length: blocks }, () => UNCLOSED).join(lineBreak || ' ') + (lineBreak || ''), blocks };
}

/** The longest line a diagnostic of these files may print: the gutter, the snippet window and its two `…`. */
const LONGEST_LINE = SNIPPET_WIDTH + 20;

test('validate of a 200 KB file with lone-CR line breaks shows each diagnostic on its own line', async (t) => {
  const { text, blocks } = unclosedBlocks('\r');
  const r = await lvsc(['validate', 'cr.lvs'], tempDir({ 'cr.lvs': text }));
  t.is(r.code, 1);
  t.true(r.stderr.endsWith(`\n${blocks} errors, 0 warnings\n`), r.stderr.slice(-200));
  const arrows = [...r.stderr.matchAll(/--> cr\.lvs:(\d+):(\d+)\n/g)].map((m) => `${m[1]}:${m[2]}`);
  t.is(arrows.length, blocks);
  t.deepEqual([arrows[0], arrows[1], arrows.at(-1)], ['1:12', '2:12', `${blocks}:12`]);
  t.true(r.stderr.length < blocks * 400, `${r.stderr.length} characters for ${blocks} diagnostics`);
});

test('validate of a 200 KB file without a line break shows each subject in a window of its line', async (t) => {
  const { text, blocks } = unclosedBlocks('');
  const r = await lvsc(['validate', 'one-line.lvs'], tempDir({ 'one-line.lvs': text }));
  t.is(r.code, 1);
  t.true(r.stderr.endsWith(`\n${blocks} errors, 0 warnings\n`), r.stderr.slice(-200));
  const longest = r.stderr.split('\n').reduce((max, line) => Math.max(max, line.length), 0);
  t.true(longest <= LONGEST_LINE, `the longest line printed has ${longest} characters`);
  t.true(r.stderr.length < blocks * 1000, `${r.stderr.length} characters for ${blocks} diagnostics`);
});

test('a long line is shown around the subject, with `…` where it goes on, the carets under the subject', (t) => {
  const text = `${'x'.repeat(1000)} bad ${'y'.repeat(1000)}\n`;
  const start = text.indexOf('bad');
  const out = renderDiagnostic(
    { severity: 'error', code: 'syntax', summary: 's', subject: { file: 'l.lvs', start, end: start + 3 } },
    indexSources([{ path: 'l.lvs', text }]),
    { color: false, width: 100 },
  );
  const shown = `…${'x'.repeat(39)} bad ${'y'.repeat(SNIPPET_WIDTH - 44)}…`;
  t.is(out, ['error[syntax]: s', ' --> l.lvs:1:1002', '  |', `1 | ${shown}`, `  | ${' '.repeat(shown.indexOf('bad'))}^^^`, ''].join('\n'));
  // Near the start of the line, nothing is cut before it.
  const early = renderDiagnostic(
    { severity: 'error', code: 'syntax', summary: 's', subject: { file: 'l.lvs', start: 3, end: 4 } },
    indexSources([{ path: 'l.lvs', text }]),
    { color: false, width: 100 },
  );
  t.true(early.includes(`\n1 | ${'x'.repeat(SNIPPET_WIDTH)}…\n  |    ^\n`), early);
});

test('the construct a diagnostic is in is named whichever the line breaks (`= in service www`)', async (t) => {
  // A DR server off the director's segment: the diagnostic's context is the service around it.
  const lines = [
    'host lb1 {', '  interface eth0 10.1.0.2/24', '}',
    'host web4 {', '  interface eth0 10.1.1.14/24', '  gateway 10.1.1.1', '}',
    'director lb1',
    'service www {', '  vip 10.1.0.100 tcp 80', '  forward dr', '  server web4', '}', '',
  ];
  for (const [name, br] of Object.entries({ LF: '\n', CRLF: '\r\n', CR: '\r' })) {
    const r = await lvsc(['validate', 'w.lvs'], tempDir({ 'w.lvs': lines.join(br) }));
    t.regex(r.stderr, /--> w\.lvs:12:10\n {3}\|\n12 \| {3}server web4\n {3}\| {10}\^{4}\n {3}= in service www\n/, name);
  }
});

test('fmt -w of a file with lone-CR line breaks keeps every comment, where it was', async (t) => {
  const lines = [
    '# the cluster',
    'host lb1 {  # the director',
    '  # its address',
    '  ssh 10.1.0.2',
    '  interface eth0 10.1.0.2/24  # front',
    '',
    '  # before the brace',
    '}',
    'director lb1  # one',
    'host a#',
    '{}',
    '# at the end',
  ];
  const dir = tempDir({ 'cr.lvs': lines.join('\r') + '\r', 'lf.lvs': lines.join('\n') + '\n' });
  const r = await lvsc(['fmt', '-w', 'cr.lvs', 'lf.lvs'], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'cr.lvs\nlf.lvs\n');
  const cr = readFileSync(join(dir, 'cr.lvs'), 'utf8');
  t.is(cr, readFileSync(join(dir, 'lf.lvs'), 'utf8'), 'the same file as with LF line breaks');
  const comments = (text: string) => lex({ path: 'x.lvs', text }).comments.map((c) => c.image);
  t.deepEqual(comments(cr), ['# the cluster', '# the director', '# its address', '# front', '# before the brace', '# one', '#', '# at the end']);
});
