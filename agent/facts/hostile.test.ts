/**
 * Fact parsers on hostile output, a host's bytes fed straight to the pure
 * parsers: they never throw and never take long, whatever a host prints.
 * (cli/hostile-facts.test.ts runs the same through a real sshd.)
 */
import test from 'ava';
import { addressesFact } from './addresses.js';
import { preview, readFact, type Fact } from './fact.js';
import { fouFact, linksFact } from './links.js';
import { parseManifest } from './manifest.js';
import { modulesFact } from './modules.js';
import { nftFact } from './nft.js';
import { routes6Fact, routesFact } from './routes.js';

const DEPTH = 20_000;
/** A list whose one entry is a list nested DEPTH deep. */
const deepList = `[${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}]`;
/** A list whose one entry is an object nested DEPTH deep. */
const deepObjects = `[${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}]`;

const facts: Fact<unknown>[] = [linksFact, fouFact, addressesFact, routesFact, routes6Fact];

for (const fact of facts) {
  for (const [what, output] of [
    ['lists', deepList],
    ['objects', deepObjects],
  ] as const) {
    test(`${fact.name}: an entry of ${what} nested ${DEPTH} deep is skipped with a short warning, not a RangeError`, (t) => {
      const result = readFact(fact, { stdout: output, stderr: '', status: 0 });
      t.true(result.ok);
      if (!result.ok) return;
      t.deepEqual(result.value, []);
      t.is(result.warnings.length, 1);
      t.regex(result.warnings[0], what === 'lists' ? /: \[\[\[\[\[\[\[\[\[…\]\]\]\]\]\]\]\]\]$/ : /: \{"a":\{"a":\{"a":/);
      t.true(result.warnings[0].length < 250, result.warnings[0]);
    });
  }
}

test('nft: a rule expression nested deep is skipped with a short warning', (t) => {
  const chain = { family: 'ip', table: 'lvsc', name: 'prerouting', type: 'filter', hook: 'prerouting', prio: -150, policy: 'accept' };
  const stdout = `{"nftables":[{"chain":${JSON.stringify(chain)}},{"rule":{"chain":"prerouting","handle":4,"expr":[${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}]}}]}`;
  const result = readFact(nftFact, { stdout, stderr: '', status: 0 });
  t.true(result.ok);
  if (!result.ok) return;
  t.deepEqual(result.value, []);
  t.is(result.warnings.length, 1);
  t.regex(result.warnings[0], /^skipped rule 4 in chain prerouting .*: expression \[\[\[/);
});

test('manifest: a format nested deep is refused with a short reason', (t) => {
  const parsed = parseManifest(`{"format":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`);
  t.false(parsed.ok);
  if (!parsed.ok) t.regex(parsed.reason, /^format is \[\[\[\[\[\[\[\[\[…\]\]\]\]\]\]\]\]\], not "/);
});

test('preview: what JSON.stringify prints, cut at max, for values it can print', (t) => {
  for (const v of [null, 1, -2.5, true, 'a"b\n', [], {}, [1, [2, 'x']], { a: 1, 'b"': [null, { c: 'd' }] }]) t.is(preview(v), JSON.stringify(v));
  const long = { ifname: 'x'.repeat(300), flags: ['UP'] };
  t.is(preview(long), JSON.stringify(long).slice(0, 120));
  t.is(preview([[[1]]], 120, 2), '[[[…]]]');
});

test('a parser that throws fails its fact with the reason, never the caller', (t) => {
  const throwing: Fact<string[]> = {
    name: 'bad',
    tool: 'true',
    command: () => ({ argv: ['true'] }) as never,
    parse: () => {
      throw new RangeError('Maximum call stack size exceeded');
    },
  };
  const result = readFact(throwing, { stdout: 'x', stderr: '', status: 0 });
  t.false(result.ok);
  if (!result.ok) {
    t.is(result.error.kind, 'failed');
    t.is(result.error.message, 'its output could not be read (RangeError: Maximum call stack size exceeded)');
  }
});

test('modules: a 200 KB modules.builtin line is read in linear time (it took minutes)', (t) => {
  const long = 'a'.repeat(200_000);
  const stdout = [
    '--- lvsc-modules proc',
    '--- lvsc-modules end proc 0',
    '--- lvsc-modules builtin',
    long,
    `kernel/${long}/ip_vs_rr.ko`,
    'kernel/net/netfilter/ipvs/ip_vs_wlc.ko.xz',
    '--- lvsc-modules end builtin 0',
    '--- lvsc-modules sysfs',
    '--- lvsc-modules end sysfs 0',
  ].join('\n');
  const started = performance.now();
  const result = readFact(modulesFact, { stdout, stderr: '', status: 0 });
  const ms = performance.now() - started;
  t.true(result.ok);
  if (!result.ok) return;
  t.deepEqual(result.value, ['ip_vs_rr', 'ip_vs_wlc']);
  t.is(result.warnings.length, 1);
  t.is(result.warnings[0], `skipped \`${'a'.repeat(120)}…\` in modules.builtin`);
  // Linear: a few milliseconds on any machine; the quadratic match took about 135 s.
  t.true(ms < 2_000, `${ms} ms`);
});
