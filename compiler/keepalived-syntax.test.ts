/**
 * What may go into keepalived.conf from a cluster file: each checker of
 * keepalived-syntax.ts on values it must take and values it must refuse, and
 * the writers (`quoted`, `miscPath`) refusing what validation should have
 * stopped. keepalived.test.ts has keepalived itself read the result.
 */
import test from 'ava';
import { dnsNameProblem, dnsType, execPathProblem, execWordProblem, hostNameProblem, httpPathProblem, miscPath, quoted, timer } from './keepalived-syntax.js';

const cases: { name: string; check: (v: string) => string | undefined; ok: string[]; refused: [string, RegExp][] }[] = [
  {
    name: 'HTTP path',
    check: httpPathProblem,
    ok: ['/', '/healthz', '/ready?full=1&x=y', "/a/b;c=d/e:f@g/~h/%20/(i)*+,'!"],
    refused: [
      ['healthz', /does not start with `\/`/],
      ['/a b', /a space/],
      ['/a"b', /`"`/],
      ['/a\\b', /`\\`/],
      ['/$_PWD', /`\$`/],
      ['/a#frag', /`#`/],
      ['/{x}', /`\{`/],
      ['/a\nb', /control character U\+000A/],
      ['/é', /non-ASCII/],
    ],
  },
  {
    name: 'DNS name',
    check: dnsNameProblem,
    ok: ['.', 'health.example.org', 'health.example.org.', '_srv._tcp.example.org', 'a-b.c'],
    refused: [
      ['', /empty/],
      ['a..b', /empty label/],
      ['.a', /empty label/],
      ['a b', /a space/],
      ['a"b', /`"`/],
      [`${'x'.repeat(64)}.org`, /longer than 63/],
    ],
  },
  {
    name: 'HTTP host',
    check: hostNameProblem,
    ok: ['www.example.org', 'www.example.org:8443', '10.3.0.11'],
    refused: [
      ['www.example.org:0', /outside 1\.\.65535/],
      ['www.example.org.', /ends with a dot/],
      ['a$b', /`\$`/],
    ],
  },
  {
    name: 'exec path',
    check: execPathProblem,
    ok: ['/usr/local/lib/lvs/check-app', '/opt/x_y/check+1.sh', '/a=b,c:d@e%f'],
    refused: [
      ['check-app', /not an absolute path/],
      ['/bin/check; rm -rf /', /`;`/],
      ['/bin/check app', /a space/],
      ["/bin/it's", /`'`/],
      ['/bin/$(id)', /`\$`/],
      ['/bin/a`id`', /`\``/],
      ['/bin/a|b', /`\|`/],
      ['/bin/a>b', /`>`/],
      ['/bin/*', /`\*`/],
      ['/bin/~x', /`~`/],
      ['/bin/a!b', /`!`/],
      ['/bin/a#b', /`#`/],
      ['/bin/a\\b', /`\\`/],
      ['/bin/a"b', /`"`/],
      ['/bin/a\tb', /a tab/],
    ],
  },
  {
    name: 'exec argument',
    check: execWordProblem,
    ok: ['--url=http://10.3.0.11:8443/ready', '-v', 'a,b', 'user@host', '50%'],
    refused: [
      ['', /empty/],
      ['two words', /a space/],
      ["'quoted'", /`'`/],
      ['$HOME', /`\$`/],
      ['a&b', /`&`/],
      ['{a,b}', /`\{`/],
      ['a?', /`\?`/],
    ],
  },
];

for (const c of cases) {
  test(`${c.name}: takes what keepalived reads literally`, (t) => {
    for (const v of c.ok) t.is(c.check(v), undefined, JSON.stringify(v));
  });
  test(`${c.name}: refuses the rest, saying which character`, (t) => {
    for (const [v, why] of c.refused) t.regex(c.check(v) ?? 'accepted', why, JSON.stringify(v));
  });
}

test('DNS types are keepalived 2.2.7 DNS_CHECK types, matched in any case', (t) => {
  t.is(dnsType('a'), 'A');
  t.is(dnsType('AAAA'), 'AAAA');
  t.is(dnsType('Soa'), 'SOA');
  t.is(dnsType('SRV'), undefined);
  t.is(dnsType('PTR'), undefined);
});

test('quoted writes one double-quoted word and throws on what keepalived would not keep literal', (t) => {
  t.is(quoted('/healthz'), '"/healthz"');
  for (const bad of ['', 'a"b', 'a\\b', '$_PWD', 'a\nb', 'é']) t.throws(() => quoted(bad), { message: /unvalidated/ }, JSON.stringify(bad));
});

test('miscPath joins the words into one quoted word and throws on an unsafe word or a relative program', (t) => {
  t.is(miscPath(['/usr/local/lib/check-app', '--full', '10.3.0.11', '8443']), '"/usr/local/lib/check-app --full 10.3.0.11 8443"');
  t.throws(() => miscPath(['/bin/check', 'a b']), { message: /unvalidated/ });
  t.throws(() => miscPath(['/bin/check', "it's"]), { message: /unvalidated/ });
  t.throws(() => miscPath(['check', '10.3.0.11']), { message: /not absolute/ });
});

test('timer writes milliseconds as keepalived seconds', (t) => {
  t.is(timer(2000), '2');
  t.is(timer(500), '0.5');
  t.is(timer(1250), '1.25');
  t.is(timer(1), '0.001');
});
