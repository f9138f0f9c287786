/**
 * Syntax and value errors, one file per theme under testdata/errors/. Each
 * file names the codes it must produce in its first line (`# expect: ...`);
 * the baseline beside it pins every message, location and hint
 * (rewritten only with LVSC_ACCEPT=1).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBaseline, renderForBaseline } from '../test/support/baseline.js';
import { format } from './format.js';
import type { ServiceNode } from './ast.js';
import { parse } from './index.js';
import { marked, source } from './test-support.js';

const dir = new URL('./testdata/errors/', import.meta.url).pathname;

for (const name of readdirSync(dir).filter((f) => f.endsWith('.lvs')).sort()) {
  test(`errors ${name}`, (t) => {
    const text = readFileSync(join(dir, name), 'utf8');
    const header = /^# expect:(.*)$/m.exec(text);
    if (!header) return t.fail(`${name} has no "# expect:" line`);
    const expected = header[1].trim().split(/\s+/).filter(Boolean).sort();
    const src = source(text, name);
    const { diagnostics } = parse(src);
    t.deepEqual(diagnostics.map((d) => d.code).sort(), expected);
    for (const d of diagnostics) {
      t.truthy(d.subject, `${d.code} "${d.summary}" has a location`);
      t.truthy(d.detail, `${d.code} "${d.summary}" says how to fix it`);
      t.true(d.subject!.start >= 0 && d.subject!.start <= d.subject!.end && d.subject!.end <= text.length, `${d.summary}: span inside the file`);
    }
    // A file with errors is never formatted.
    t.is(format(src).text, undefined);
    assertBaseline(t, join(dir, name.replace(/\.lvs$/, '.diag.txt')), renderForBaseline(diagnostics, [src]));
  });
}

// ---------------------------------------------------------------- pinned by hand

/** Parse marked input; the diagnostics as [code, summary, subject is the mark]. */
function diagnose(input: string) {
  const { text, marks } = marked(input);
  const r = parse(source(text));
  return { ...r, marks, text };
}

test('a missing value is reported just after the token it should follow', (t) => {
  const { diagnostics, marks } = diagnose('service www {\n  vip 10.1.0.100 tcp<||>\n  scheduler wlc\n}');
  t.is(diagnostics.length, 1);
  t.is(diagnostics[0].summary, 'expected a port number after the protocol');
  t.deepEqual(diagnostics[0].subject, marks[0]);
});

test('an unknown statement names the nearest keyword', (t) => {
  const { diagnostics, marks } = diagnose('service www {\n  vip 10.1.0.100 tcp 80\n  <|schedular|> wlc\n  forward dr\n}');
  t.is(diagnostics.length, 1);
  t.is(diagnostics[0].code, 'syntax');
  t.is(diagnostics[0].summary, 'unknown statement `schedular`');
  t.regex(diagnostics[0].detail!, /^Did you mean `scheduler`\?/);
  t.deepEqual(diagnostics[0].subject, marks[0]);
});

test('a bad address is reported on the address alone', (t) => {
  const { diagnostics, marks } = diagnose('host h {\n  gateway <|10.1.0.300|>\n}');
  t.deepEqual(
    diagnostics.map((d) => [d.code, d.summary, d.subject]),
    [['bad-address', '`10.1.0.300` is not an IPv4 or IPv6 address', marks[0]]],
  );
});

test('a bad part of a CIDR is reported on that part', (t) => {
  const { diagnostics, marks } = diagnose('host h {\n  interface eth0 10.0.0.1<|/40|>\n  interface eth1 <|10.0.0.999|>/24\n}');
  t.deepEqual(
    diagnostics.map((d) => d.subject),
    marks,
  );
});

test('a block left open points after its last statement and notes where it opened', (t) => {
  const { diagnostics, marks } = diagnose('<|host lb1 {|>\n  ssh 10.1.0.2<||>\n\ndirector lb1\n');
  t.is(diagnostics.length, 1);
  t.is(diagnostics[0].summary, 'expected `}` to close `host lb1 {`');
  t.deepEqual(diagnostics[0].subject, marks[1]);
  t.deepEqual(
    diagnostics[0].notes?.map((n) => n.span),
    [{ ...marks[0], start: marks[0].end - 1 }],
  );
});

test('every error of a file is reported in one run, in file order, and the rest of the file still parses', (t) => {
  const { diagnostics, file } = diagnose(
    'host lb1 {\n  gatway 10.1.0.1\n}\nhost web1 {\n  interface eth0 10.1.0.11/24\n}\nservice www {\n  vip 10.1.0.100 tcp 99999\n  server web1 weigth 3\n  server web1 weight 3 weight 4\n}\ndirector lb1 lb2 sync eth1 id 300\n',
  );
  t.deepEqual(
    diagnostics.map((d) => d.code),
    ['syntax', 'bad-number', 'syntax', 'duplicate-setting', 'bad-number'],
  );
  // The partial tree keeps what parsed: both hosts, the service and its servers, the director.
  t.deepEqual(
    file.items.map((i) => i.kind),
    ['host', 'host', 'service', 'director'],
  );
  const www = file.items[2] as ServiceNode;
  t.deepEqual(
    www.body.map((s) => s.kind),
    ['server', 'server'],
  );
});

test('a weight out of range, a bare duration and a name in capitals each get their own message and hint', (t) => {
  const { diagnostics } = diagnose('service www {\n  persistence 300\n  server Web1 weight 70000\n}');
  t.deepEqual(
    diagnostics.map((d) => [d.code, d.summary]),
    [
      ['bad-duration', '`300` has no unit'],
      ['bad-name', '`Web1` is not a valid host name'],
      ['bad-number', '`70000` is out of range for a weight'],
    ],
  );
  t.regex(diagnostics[0].detail!, /write `300s`/);
  t.regex(diagnostics[1].detail!, /Did you mean `web1`\?/);
  t.regex(diagnostics[2].detail!, /0 to 65535/);
});
