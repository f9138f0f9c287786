/**
 * The formatter: golden files (testdata/format/<case>.in.lvs → <case>.out.lvs,
 * rewritten only with LVSC_ACCEPT=1), and the properties every output has:
 * it is a fixpoint, it parses to the same tree as its input (spans aside),
 * and it keeps every comment, in order.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBaseline } from '../test/support/baseline.js';
import type { AstFile } from './ast.js';
import { format } from './format.js';
import { parse } from './index.js';
import { source, withoutSpans } from './test-support.js';

const dir = new URL('./testdata/format/', import.meta.url).pathname;
const examples = new URL('../examples/', import.meta.url).pathname;

/** What a file means: its items and its comments' texts, without positions. */
function meaning(file: AstFile): unknown {
  return { items: withoutSpans(file.items), comments: file.comments.map((c) => c.text) };
}

function formatted(text: string, path = 'test.lvs'): string {
  const r = format(source(text, path));
  if (r.text === undefined) throw new Error(`${path} does not format: ${r.diagnostics.map((d) => d.summary).join('; ')}`);
  return r.text;
}

for (const name of readdirSync(dir).filter((f) => f.endsWith('.in.lvs')).sort()) {
  const base = name.slice(0, -'.in.lvs'.length);
  test(`format ${base}: golden output, a fixpoint, the same tree`, (t) => {
    const input = readFileSync(join(dir, name), 'utf8');
    const output = formatted(input, name);
    assertBaseline(t, join(dir, `${base}.out.lvs`), output);
    t.is(formatted(output), output, 'formatting the output again changes nothing');
    t.deepEqual(meaning(parse(source(output)).file), meaning(parse(source(input)).file));
  });
}

for (const name of readdirSync(examples).filter((f) => f.endsWith('.lvs')).sort()) {
  test(`format examples/${name}: a fixpoint with the same tree`, (t) => {
    const input = readFileSync(join(examples, name), 'utf8');
    const output = formatted(input, name);
    t.is(formatted(output), output);
    t.deepEqual(meaning(parse(source(output)).file), meaning(parse(source(input)).file));
  });
}

test('a canonical file comes back unchanged (what fmt --check relies on)', (t) => {
  const canonical = 'host lb1 {\n  ssh 10.1.0.2  # the director\n  interface eth0 10.1.0.2/24\n}\n\ndirector lb1\n';
  t.is(formatted(canonical), canonical);
  t.not(formatted(canonical.replace('ssh 10.1.0.2', 'ssh  10.1.0.2')), canonical.replace('ssh 10.1.0.2', 'ssh  10.1.0.2'));
});

test('a file with errors is not formatted, and says why', (t) => {
  const r = format(source('service www {\n  vip 10.1.0.300 tcp 80\n'));
  t.is(r.text, undefined);
  t.deepEqual(
    r.diagnostics.map((d) => d.code),
    ['bad-address', 'syntax'],
  );
});

test('option order is canonical and literals are printed as written', (t) => {
  t.is(
    formatted('service s { server web1 forward tun gue port 6080 drain upper 10 weight 0x0 }'.replace('0x0', '007')),
    'service s {\n  server web1 weight 007 upper 10 drain forward tun gue port 6080\n}\n',
  );
  t.is(formatted('service s { server web1 port 80 address 10.1.0.21 weight 2 }'), 'service s {\n  server web1 address 10.1.0.21 port 80 weight 2\n}\n');
  t.is(formatted('service s { sorry x port 80 address [2001:db8::9] }'), 'service s {\n  sorry x address [2001:db8::9] port 80\n}\n');
  t.is(formatted('host h { ssh sudo via j port 22 key "k" user u }'), 'host h {\n  ssh user u key "k" port 22 via j sudo\n}\n');
  t.is(formatted('timeouts { tcp 1h30m tcpfin 90s udp 300000ms }'), 'timeouts {\n  tcp 1h30m\n  tcpfin 90s\n  udp 300000ms\n}\n');
  t.is(formatted('service s { vip [2001:DB8::1] tcp 80 }'), 'service s {\n  vip [2001:DB8::1] tcp 80\n}\n');
});

test('a comment in a multi-line statement moves before it; the last trailing one stays on the line', (t) => {
  t.is(formatted('service s {\n  server a  # one\n    weight 2  # two\n}\n'), 'service s {\n  # one\n  server a weight 2  # two\n}\n');
});

test('comments are never lost or reordered', (t) => {
  const input = readFileSync(join(dir, 'comments.in.lvs'), 'utf8');
  const texts = (text: string) => parse(source(text)).file.comments.map((c) => c.text);
  t.deepEqual(texts(formatted(input)), texts(input));
  t.is(texts(input).length, 17);
});
