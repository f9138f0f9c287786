/**
 * Every construct of the language parses to the AST values it means, with
 * spans on the exact tokens (`<|...|>` marks them in the input).
 */
import test from 'ava';
import type * as A from './ast.js';
import { parse } from './index.js';
import { lex } from './lexer.js';
import { LvsParser, parseTokens } from './parser.js';
import { marked, slice, source } from './test-support.js';

/** Parse a snippet that must be clean; return its items and marked spans. */
function clean(input: string): { file: A.AstFile; marks: A.Lit<unknown>['span'][]; text: string } {
  const { text, marks } = marked(input);
  const { file, diagnostics } = parse(source(text));
  if (diagnostics.length) throw new Error(diagnostics.map((d) => `${d.code}: ${d.summary}`).join('\n'));
  return { file, marks, text };
}

function host(file: A.AstFile, i = 0): A.HostNode {
  const hosts = file.items.filter((x): x is A.HostNode => x.kind === 'host');
  return hosts[i];
}

function service(file: A.AstFile, i = 0): A.ServiceNode {
  return file.items.filter((x): x is A.ServiceNode => x.kind === 'service')[i];
}

function body<K extends A.ServiceStmt['kind']>(s: A.ServiceNode, kind: K): Extract<A.ServiceStmt, { kind: K }>[] {
  return s.body.filter((x) => x.kind === kind) as Extract<A.ServiceStmt, { kind: K }>[];
}

test('an empty file and a comment-only file have no items', (t) => {
  t.deepEqual(parse(source('')).file.items, []);
  const r = parse(source('# only a comment\n   \n# and another'));
  t.deepEqual(r.diagnostics, []);
  t.deepEqual(
    r.file.comments.map((c) => c.text),
    ['# only a comment', '# and another'],
  );
});

test('defaults: the one-line form is one ssh statement with every setting', (t) => {
  const { file, marks } = clean('<|defaults { <|ssh user <|deploy|> key <|"~/.ssh/lvs_ed25519"|> port <|2222|> via <|bastion|> <|sudo|>|> }|>');
  const d = file.items[0] as A.DefaultsNode;
  t.is(d.kind, 'defaults');
  t.deepEqual(d.span, marks[0]);
  t.is(d.body.length, 1);
  const s = d.body[0];
  t.deepEqual(s.span, marks[1]);
  t.is(s.target, undefined);
  t.deepEqual([s.user?.value, s.user?.span], ['deploy', marks[2]]);
  t.deepEqual([s.key?.value, s.key?.text, s.key?.span], ['~/.ssh/lvs_ed25519', '"~/.ssh/lvs_ed25519"', marks[3]]);
  t.deepEqual([s.port?.value, s.port?.span], [2222, marks[4]]);
  t.deepEqual([s.via?.value, s.via?.span], ['bastion', marks[5]]);
  t.deepEqual(s.sudo, marks[6]);
  t.falsy(s.bare);
});

test('defaults: the multi-line form keeps one statement per line, and a sudo on its own line is bare', (t) => {
  const { file, marks } = clean('defaults {\n  <|ssh user deploy|>\n  <|ssh key "k"|>\n  <|sudo|>\n}');
  const d = file.items[0] as A.DefaultsNode;
  t.deepEqual(
    d.body.map((s) => [s.span, s.user?.value, s.key?.value, Boolean(s.sudo), Boolean(s.bare)]),
    [
      [marks[0], 'deploy', undefined, false, false],
      [marks[1], undefined, 'k', false, false],
      [marks[2], undefined, undefined, true, true],
    ],
  );
});

test('strings: escapes are resolved in the value and kept in the text', (t) => {
  const { file } = clean('defaults { ssh key "a \\"quoted\\" \\\\path" }');
  const key = (file.items[0] as A.DefaultsNode).body[0].key!;
  t.is(key.value, 'a "quoted" \\path');
  t.is(key.text, '"a \\"quoted\\" \\\\path"');
});

test('host: ssh targets in every form', (t) => {
  const cases: [string, Partial<Record<'user' | 'host' | 'port', unknown>> & { isAddress: boolean }][] = [
    ['10.1.0.2', { host: '10.1.0.2', isAddress: true }],
    ['root@10.1.0.2', { user: 'root', host: '10.1.0.2', isAddress: true }],
    ['10.1.0.13:2222', { host: '10.1.0.13', port: 2222, isAddress: true }],
    ['deploy@10.1.0.13:22', { user: 'deploy', host: '10.1.0.13', port: 22, isAddress: true }],
    ['[2001:DB8::0:1]:2222', { host: '2001:db8::1', port: 2222, isAddress: true }],
    ['ops@[2001:db8::1]', { user: 'ops', host: '2001:db8::1', isAddress: true }],
    ['2001:db8::1', { host: '2001:db8::1', isAddress: true }],
    ['lb1-alias', { host: 'lb1-alias', isAddress: false }],
    ['lb1.example.com:2200', { host: 'lb1.example.com', port: 2200, isAddress: false }],
  ];
  for (const [target, want] of cases) {
    const { file, text } = clean(`host h {\n  ssh ${target}\n}`);
    const s = host(file).body[0] as A.SshStmt;
    const tg = s.target!;
    t.is(slice(text, tg.span), target, target);
    t.deepEqual(
      { user: tg.user?.value, host: tg.host.value, port: tg.port?.value, isAddress: tg.isAddress },
      { user: undefined, port: undefined, ...want },
      target,
    );
    // Each part's span covers exactly its text.
    if (tg.user) t.is(slice(text, tg.user.span), tg.user.text);
    t.is(slice(text, tg.host.span), tg.host.text);
    if (tg.port) t.is(slice(text, tg.port.span), String(tg.port.value));
  }
});

test('host: ssh options after the target, and a host-level sudo on the next line continues the ssh line', (t) => {
  const { file, marks } = clean('host web1 {\n  <|ssh 192.168.7.11 port <|2222|> via <|lb1|>\n    sudo|>\n}');
  const s = host(file).body[0] as A.SshStmt;
  t.deepEqual(s.span, marks[0]);
  t.deepEqual([s.port?.value, s.port?.span, s.via?.value, s.via?.span, Boolean(s.sudo)], [2222, marks[1], 'lb1', marks[2], true]);
});

test('an ssh user name may be a keyword the ssh line cannot continue with', (t) => {
  const { file, marks } = clean('defaults { ssh user <|ops|> sudo }\nhost a {\n  ssh 10.0.0.1 user <|server|>\n}');
  t.deepEqual([(file.items[0] as A.DefaultsNode).body[0].user?.value, (file.items[0] as A.DefaultsNode).body[0].user?.span], ['ops', marks[0]]);
  const s = host(file).body[0] as A.SshStmt;
  t.deepEqual([s.user?.value, s.user?.span], ['server', marks[1]]);
  // `sudo` could continue the line: it is not taken as the user.
  t.deepEqual(
    parse(source('defaults { ssh user sudo }')).diagnostics.map((d) => d.summary),
    ['expected a user name after `user`, found `sudo`'],
  );
  // On the next line, a keyword is the next statement: the missing user is reported as missing.
  const r = parse(source('host b {\n  ssh user\n  interface eth0 10.0.0.1/24\n}'));
  t.deepEqual(
    r.diagnostics.map((d) => d.summary),
    ['expected a user name after `user`'],
  );
  t.is((host(r.file).body[1] as A.InterfaceStmt).dev.value, 'eth0');
});

test('host: interfaces, segments, gateway and routes', (t) => {
  const { file, marks } = clean(
    'host <|lb1|> {\n' +
      '  <|interface <|eth0|> <|10.1.0.2/24|>|>\n' +
      '  interface eth1 <|2001:DB8:2::2/64|> segment <|backnet|>\n' +
      '  <|gateway <|10.1.0.1|>|>\n' +
      '  <|route <|198.51.100.0/24|> via <|10.1.0.254|>|>\n' +
      '  route <|default|> via <|[fe80::1]|>\n' +
      '}',
  );
  const h = host(file);
  t.deepEqual([h.name.value, h.name.span], ['lb1', marks[0]]);
  const [i0, i1, gw, r0, r1] = h.body as [A.InterfaceStmt, A.InterfaceStmt, A.GatewayStmt, A.RouteStmt, A.RouteStmt];
  t.deepEqual(i0.span, marks[1]);
  t.deepEqual([i0.dev.value, i0.dev.span], ['eth0', marks[2]]);
  t.deepEqual([i0.cidr.value, i0.cidr.span], [{ address: '10.1.0.2', prefix: 24, family: 4 }, marks[3]]);
  t.is(i0.segment, undefined);
  t.deepEqual([i1.cidr.value, i1.cidr.text, i1.cidr.span], [{ address: '2001:db8:2::2', prefix: 64, family: 6 }, '2001:DB8:2::2/64', marks[4]]);
  t.deepEqual([i1.segment?.value, i1.segment?.span], ['backnet', marks[5]]);
  t.deepEqual([gw.span, gw.address.value, gw.address.span], [marks[6], '10.1.0.1', marks[7]]);
  t.deepEqual(r0.span, marks[8]);
  t.deepEqual([r0.dst.value, r0.dst.span], [{ address: '198.51.100.0', prefix: 24, family: 4 }, marks[9]]);
  t.deepEqual([r0.via.value, r0.via.span], ['10.1.0.254', marks[10]]);
  t.deepEqual([r1.dst.value, r1.dst.span, r1.via.value, r1.via.text, r1.via.span], ['default', marks[11], 'fe80::1', '[fe80::1]', marks[12]]);
});

test('director: one host, a pair, and a pair with sync and id', (t) => {
  const one = clean('<|director <|lb1|>|>');
  const d1 = one.file.items[0] as A.DirectorNode;
  t.deepEqual([d1.span, d1.hosts.map((h) => h.value), d1.hosts[0].span, d1.sync], [one.marks[0], ['lb1'], one.marks[1], undefined]);

  const pair = clean('director lb1 <|lb2|>');
  const d2 = pair.file.items[0] as A.DirectorNode;
  t.deepEqual([d2.hosts.map((h) => h.value), d2.hosts[1].span], [['lb1', 'lb2'], pair.marks[0]]);

  const synced = clean('director lb1 lb2 <|sync <|eth1|> id <|7|>|>');
  const d3 = synced.file.items[0] as A.DirectorNode;
  t.deepEqual(d3.sync?.span, synced.marks[0]);
  t.deepEqual([d3.sync?.iface.value, d3.sync?.iface.span], ['eth1', synced.marks[1]]);
  t.deepEqual([d3.sync?.id?.value, d3.sync?.id?.span], [7, synced.marks[2]]);

  const noId = clean('director lb1 lb2 sync eth1');
  t.is((noId.file.items[0] as A.DirectorNode).sync?.id, undefined);
});

test('director block: failover, advert, failback, floating and sync, with spans; an empty block', (t) => {
  const { file, marks } = clean(`<|director lb1 lb2 {
  <|failover <|vrrp|> <|51|> on <|eth0|> <|unicast|>|>
  <|advert <|1500ms|>|>
  <|failback after <|60s|>|>
  <|floating <|192.168.30.1/24|> on <|eth1|>|>
  <|sync <|eth1|> id <|7|>|>
}|>`);
  const d = file.items[0] as A.DirectorNode;
  t.deepEqual(d.span, marks[0]);
  t.is(d.sync, undefined);
  const [failover, advert, failback, floating, sync] = d.body!;
  t.deepEqual(failover.kind === 'failover' && [failover.span, failover.protocol.value, failover.protocol.span, failover.id.value, failover.id.span, failover.iface.value, failover.iface.span, failover.unicast], [
    marks[1],
    'vrrp',
    marks[2],
    51,
    marks[3],
    'eth0',
    marks[4],
    marks[5],
  ]);
  t.deepEqual(advert.kind === 'advert' && [advert.span, advert.interval.value, advert.interval.span], [marks[6], 1500, marks[7]]);
  t.deepEqual(failback.kind === 'failback' && [failback.span, failback.after?.value, failback.after?.span, failback.never], [marks[8], 60_000, marks[9], undefined]);
  t.deepEqual(floating.kind === 'floating' && [floating.span, floating.cidr.value, floating.cidr.span, floating.iface.value, floating.iface.span], [
    marks[10],
    { address: '192.168.30.1', prefix: 24, family: 4 },
    marks[11],
    'eth1',
    marks[12],
  ]);
  t.deepEqual(sync.kind === 'sync' && [sync.span, sync.iface.value, sync.iface.span, sync.id?.value, sync.id?.span], [marks[13], 'eth1', marks[14], 7, marks[15]]);

  const never = clean('director a b sync eth1 { failback <|never|> }');
  const dn = never.file.items[0] as A.DirectorNode;
  t.deepEqual([dn.sync?.iface.value, dn.body?.map((x) => x.kind), (dn.body![0] as A.FailbackStmt).never], ['eth1', ['failback'], never.marks[0]]);
  t.deepEqual((clean('director a b {}').file.items[0] as A.DirectorNode).body, []);
  t.is((clean('director a b').file.items[0] as A.DirectorNode).body, undefined);
});

test('check: every option of every kind, in any order, with spans; durations in milliseconds', (t) => {
  const { file, marks } = clean(`service s {
  <|check <|<|http|> port <|8080|> path <|"/healthz?x=1"|> status <|200-299|> host <|"www.example.org"|> every <|2s|> timeout <|500ms|> retries <|3|>|>|>
  check dns name <|"health.example.org"|> type <|AAAA|>
  check exec <|"/usr/local/bin/check-app"|> <|args <|"--fast"|> <|"-v"|>|>
  check tcp
}`);
  const checks = body(service(file), 'check');
  const http = checks[0];
  t.deepEqual(http.span, marks[0]);
  const c = http.spec;
  t.deepEqual(c.span, marks[1]);
  t.deepEqual([c.kind.value, c.kind.span], ['http', marks[2]]);
  t.deepEqual([c.port?.value, c.port?.span], [8080, marks[3]]);
  t.deepEqual([c.path?.value, c.path?.span], ['/healthz?x=1', marks[4]]);
  t.deepEqual([c.status?.value, c.status?.text, c.status?.span], [{ min: 200, max: 299 }, '200-299', marks[5]]);
  t.deepEqual([c.host?.value, c.host?.span], ['www.example.org', marks[6]]);
  t.deepEqual([c.every?.value, c.every?.span], [2000, marks[7]]);
  t.deepEqual([c.timeout?.value, c.timeout?.span], [500, marks[8]]);
  t.deepEqual([c.retries?.value, c.retries?.span], [3, marks[9]]);
  const dns = checks[1].spec;
  t.deepEqual([dns.kind.value, dns.name?.value, dns.name?.span, dns.type?.value, dns.type?.span], ['dns', 'health.example.org', marks[10], 'AAAA', marks[11]]);
  const exec = checks[2].spec;
  t.deepEqual([exec.kind.value, exec.program?.value, exec.program?.span], ['exec', '/usr/local/bin/check-app', marks[12]]);
  t.deepEqual([exec.args?.span, exec.args?.values.map((a) => a.value), exec.args?.values.map((a) => a.span)], [marks[13], ['--fast', '-v'], [marks[14], marks[15]]]);
  t.deepEqual(
    [checks[3].spec.kind.value, checks[3].spec.port, checks[3].spec.every],
    ['tcp', undefined, undefined],
  );
  const one = body(service(clean('service s { check http status <|404|> }').file), 'check')[0].spec;
  t.deepEqual(one.status?.value, { min: 404, max: 404 });
});

test('on-failure and sorry, as written', (t) => {
  const { file, marks } = clean('service s {\n  <|on-failure <|remove|>|>\n  <|sorry <|sorry1|> port <|8080|>|>\n  sorry x\n}');
  const s = service(file);
  const [of] = body(s, 'on-failure');
  t.deepEqual([of.span, of.mode.value, of.mode.span], [marks[0], 'remove', marks[1]]);
  const [sorry, again] = body(s, 'sorry');
  t.deepEqual([sorry.span, sorry.host.value, sorry.host.span, sorry.port?.value, sorry.port?.span], [marks[2], 'sorry1', marks[3], 8080, marks[4]]);
  t.deepEqual([again.host.value, again.port], ['x', undefined]);
});

test('check at the start of a line is the service statement; on a server line it is the server\'s, and takes what follows', (t) => {
  const { file, marks } = clean('service s {\n  server a port 8443 weight 2 check https <|port 9443|>\n  server b\n  check tcp\n  server c forward dr check none\n}');
  const s = service(file);
  t.deepEqual(
    s.body.map((x) => x.kind),
    ['server', 'server', 'check', 'server'],
  );
  const [a, b, c] = body(s, 'server');
  t.deepEqual([a.port?.value, a.weight?.value, a.check?.kind.value, a.check?.port?.value], [8443, 2, 'https', 9443]);
  t.deepEqual(a.span.end, marks[0].end);
  t.is(b.check, undefined);
  t.deepEqual([c.forward?.method.value, c.check?.kind.value], ['dr', 'none']);
});

test('check values that do not read are reported where they stand', (t) => {
  const codes = (text: string) => parse(source(text)).diagnostics.map((d) => `${d.code} ${d.summary}`);
  t.deepEqual(codes('service s { check http status 2xx }'), ['bad-number `2xx` is not an HTTP status']);
  t.deepEqual(codes('service s { check tcp every 5 }'), ['bad-duration `5` has no unit']);
  t.deepEqual(codes('service s { check tcp every 50ms }'), ['bad-duration `50ms` is out of range for a check period']);
  t.deepEqual(codes('service s { check tcp retries 300 }'), ['bad-number `300` is out of range for a retry count']);
  t.deepEqual(codes('service s { check tcp port 1 port 2 }'), ['duplicate-setting `check port` is given twice']);
  t.deepEqual(codes('service s { check exec "/x" args "a" args "b" }'), ['duplicate-setting `args` is given twice']);
  t.deepEqual(codes('service s { server a check tcp check tcp }'), ['duplicate-setting `check` is given twice']);
  t.deepEqual(codes('director a b { advert 0s }'), ['bad-duration `0s` is out of range for an advert interval']);
});

test('timeouts: durations in every unit become whole seconds', (t) => {
  const { file, marks } = clean('<|timeouts { <|<|tcp|> <|15m|>|>  tcpfin 1m30s  udp 5000ms }|>\ntimeouts { tcp 1h tcpfin 45s udp 300s }');
  const [a, b] = file.items as [A.TimeoutsNode, A.TimeoutsNode];
  t.deepEqual(a.span, marks[0]);
  t.deepEqual(a.body[0].span, marks[1]);
  t.deepEqual([a.body[0].which.value, a.body[0].which.span, a.body[0].duration.span], ['tcp', marks[2], marks[3]]);
  t.deepEqual(
    a.body.map((s) => [s.which.value, s.duration.value, s.duration.text]),
    [
      ['tcp', 900, '15m'],
      ['tcpfin', 90, '1m30s'],
      ['udp', 5, '5000ms'],
    ],
  );
  t.deepEqual(
    b.body.map((s) => s.duration.value),
    [3600, 45, 300],
  );
});

test('service: vip with IPv4, bracketed and bare IPv6, every protocol', (t) => {
  const { file, marks } = clean(
    '<|service <|www|> {\n  <|vip <|10.1.0.100|> <|tcp|> <|80|>|>\n}|>\n' +
      'service v6 { vip <|[2001:db8:2::100]|> udp 53 }\n' +
      'service bare { vip <|2001:db8::5|> sctp <|5060|> }',
  );
  const www = service(file);
  t.deepEqual([www.span, www.name.value, www.name.span], [marks[0], 'www', marks[1]]);
  const v = body(www, 'vip')[0];
  t.deepEqual([v.span, v.address.value, v.address.span, v.proto.value, v.proto.span, v.port.value, v.port.span], [
    marks[2],
    '10.1.0.100',
    marks[3],
    'tcp',
    marks[4],
    80,
    marks[5],
  ]);
  const v6 = body(service(file, 1), 'vip')[0];
  t.deepEqual([v6.address.value, v6.address.text, v6.address.span, v6.proto.value], ['2001:db8:2::100', '[2001:db8:2::100]', marks[6], 'udp']);
  const bare = body(service(file, 2), 'vip')[0];
  t.deepEqual([bare.address.value, bare.address.span, bare.proto.value, bare.port.value, bare.port.span], ['2001:db8::5', marks[7], 'sctp', 5060, marks[8]]);
});

test('service: fwmark with matches, port lists with or without spaces, and a bare fwmark', (t) => {
  const { file, marks } = clean(
    'service shop {\n' +
      '  <|fwmark <|10|> {\n' +
      '    <|match <|tcp|> <|10.2.0.100|> ports <|80|>,<|443|>|>\n' +
      '    match udp [2001:db8::1] ports 53 , 5353 8053\n' +
      '  }|>\n' +
      '}\n' +
      'service other { fwmark <|4294967295|> }',
  );
  const fw = body(service(file), 'fwmark')[0];
  t.deepEqual([fw.span, fw.mark.value, fw.mark.span], [marks[0], 10, marks[1]]);
  const [m0, m1] = fw.matches;
  t.deepEqual([m0.span, m0.proto.value, m0.proto.span, m0.address.value, m0.address.span], [marks[2], 'tcp', marks[3], '10.2.0.100', marks[4]]);
  t.deepEqual(
    m0.ports.map((p) => [p.value, p.span]),
    [
      [80, marks[5]],
      [443, marks[6]],
    ],
  );
  t.deepEqual([m1.proto.value, m1.address.value, m1.ports.map((p) => p.value)], ['udp', '2001:db8::1', [53, 5353, 8053]]);
  const bare = body(service(file, 1), 'fwmark')[0];
  t.deepEqual([bare.mark.value, bare.mark.span, bare.matches], [2 ** 32 - 1, marks[7], []]);
});

test('service: scheduler with flags space- or comma-separated, kept as written', (t) => {
  const { file, marks } = clean(
    'service a { <|scheduler <|sh|> flags <|sh-port|> <|sh-fallback|>|> }\nservice b { scheduler mh flags mh-port,mh-fallback }\nservice c { scheduler wlc }',
  );
  const s = body(service(file), 'scheduler')[0];
  t.deepEqual([s.span, s.name.value, s.name.span], [marks[0], 'sh', marks[1]]);
  t.deepEqual(
    s.flags.map((f) => [f.value, f.span]),
    [
      ['sh-port', marks[2]],
      ['sh-fallback', marks[3]],
    ],
  );
  t.deepEqual(
    body(service(file, 1), 'scheduler')[0].flags.map((f) => f.value),
    ['mh-port', 'mh-fallback'],
  );
  t.deepEqual(body(service(file, 2), 'scheduler')[0].flags, []);
});

test('service: persistence with and without a timeout, options in any order', (t) => {
  const { file, marks } = clean(
    'service a { <|persistence <|30m|> netmask <|255.255.255.0|> engine <|sip|>|> }\n' +
      'service b { persistence }\n' +
      'service c { persistence engine sip 1h netmask 64 }',
  );
  const p = body(service(file), 'persistence')[0];
  t.deepEqual([p.span, p.timeout?.value, p.timeout?.span, p.netmask?.value, p.netmask?.span, p.engine?.value, p.engine?.span], [
    marks[0],
    1800,
    marks[1],
    '255.255.255.0',
    marks[2],
    'sip',
    marks[3],
  ]);
  const bare = body(service(file, 1), 'persistence')[0];
  t.deepEqual([bare.timeout, bare.netmask, bare.engine], [undefined, undefined, undefined]);
  const c = body(service(file, 2), 'persistence')[0];
  t.deepEqual([c.timeout?.value, c.netmask?.value, c.engine?.value], [3600, '64', 'sip']);
});

test('service: ops and forward specs, tunnel words sorted by what they are', (t) => {
  const { file, marks } = clean(
    'service a {\n  <|ops|>\n  <|forward <|<|tun|> <|gue|> port <|6080|> <|remcsum|>|>|>\n}\n' +
      'service b { forward dr }\nservice c { forward tun nocsum gre }\nservice d { forward tun port 6081 gue }',
  );
  const a = service(file);
  t.deepEqual(body(a, 'ops')[0].span, marks[0]);
  const f = body(a, 'forward')[0];
  // The statement spans `forward ...`; the spec, as on a server line, its words from the method on.
  t.deepEqual([f.span, f.spec.span], [marks[1], marks[2]]);
  t.deepEqual(
    [f.spec.method.value, f.spec.method.span, f.spec.tunType?.value, f.spec.tunType?.span, f.spec.tunPort?.value, f.spec.tunPort?.span, f.spec.csum?.value, f.spec.csum?.span],
    ['tun', marks[3], 'gue', marks[4], 6080, marks[5], 'remcsum', marks[6]],
  );
  const dr = body(service(file, 1), 'forward')[0].spec;
  t.deepEqual([dr.method.value, dr.tunType, dr.tunPort, dr.csum], ['dr', undefined, undefined, undefined]);
  const gre = body(service(file, 2), 'forward')[0].spec;
  t.deepEqual([gre.tunType?.value, gre.csum?.value], ['gre', 'nocsum']);
  const d = body(service(file, 3), 'forward')[0].spec;
  t.deepEqual([d.tunType?.value, d.tunPort?.value], ['gue', 6081]);
});

test('service: forward words are kept as written for validation to judge', (t) => {
  const { file } = clean('service a { forward dsr }');
  t.is(body(service(file), 'forward')[0].spec.method.value, 'dsr');
});

test('server: every option, in any order, with spans', (t) => {
  const { file, marks } = clean(
    'service www {\n' +
      '  <|server <|web1|> weight <|3|>|>\n' +
      '  server web2 lower <|800|> upper <|1000|> weight 1 port <|8080|>\n' +
      '  server web3 <|drain|>\n' +
      '  server web4 drain weight 0 forward <|tun gue port 6080|>\n' +
      '  server web5\n' +
      '}',
  );
  const servers = body(service(file), 'server');
  const [s1, s2, s3, s4, s5] = servers;
  t.deepEqual([s1.span, s1.host.value, s1.host.span, s1.weight?.value, s1.weight?.span], [marks[0], 'web1', marks[1], 3, marks[2]]);
  t.deepEqual([s2.lower?.value, s2.lower?.span, s2.upper?.value, s2.upper?.span, s2.weight?.value, s2.port?.value, s2.port?.span], [
    800,
    marks[3],
    1000,
    marks[4],
    1,
    8080,
    marks[5],
  ]);
  t.deepEqual([s3.drain, s3.weight], [marks[6], undefined]);
  t.deepEqual([Boolean(s4.drain), s4.weight?.value, s4.forward?.span, s4.forward?.method.value, s4.forward?.tunType?.value, s4.forward?.tunPort?.value], [
    true,
    0,
    marks[7],
    'tun',
    'gue',
    6080,
  ]);
  t.is(s4.port, undefined, 'a port after forward belongs to the forwarding spec');
  t.deepEqual([s5.port, s5.weight, s5.upper, s5.lower, s5.drain, s5.forward], [undefined, undefined, undefined, undefined, undefined, undefined]);
});

test('server and sorry: `address` names the address to send to, canonical, in any place among the options', (t) => {
  const { file, marks } = clean(
    'service www {\n' +
      '  server web1 weight 2 address <|10.1.0.21|> port 8080\n' +
      '  server web2 address <|[2001:DB8::12]|>\n' +
      '  sorry sorry1 port 8080 address <|10.1.0.19|>\n' +
      '  server address\n' +
      '}',
  );
  const [s1, s2, s3] = body(service(file), 'server');
  t.deepEqual([s1.address?.value, s1.address?.span, s1.weight?.value, s1.port?.value], ['10.1.0.21', marks[0], 2, 8080]);
  t.deepEqual([s2.address?.value, s2.address?.text, s2.address?.span], ['2001:db8::12', '[2001:DB8::12]', marks[1]]);
  const [sorry] = body(service(file), 'sorry');
  t.deepEqual([sorry.address?.value, sorry.address?.span, sorry.port?.value], ['10.1.0.19', marks[2], 8080]);
  t.deepEqual([s3.host.value, s3.address], ['address', undefined], 'a host may be called address');
});

test('server address: a bad address or a second one is reported where it stands', (t) => {
  const r = parse(source('service www {\n  server web1 address 10.1.0.21:80\n  server web2 address 10.1.0.22 address 10.1.0.23\n}'));
  t.deepEqual(
    r.diagnostics.map((d) => [d.code, d.summary]),
    [
      ['bad-address', '`10.1.0.21:80` is not an IPv4 or IPv6 address'],
      ['duplicate-setting', r.diagnostics[1]?.summary],
    ],
  );
  t.regex(r.diagnostics[0].detail ?? '', /server web1 address 10\.1\.0\.11 port 8080/);
  t.regex(r.diagnostics[1].summary, /address/);
});

test('forward at the start of a line is the service statement, on the server line it is the server option', (t) => {
  const { file } = clean('service s {\n  server a forward nat\n  server b\n  forward dr\n}');
  const s = service(file);
  t.deepEqual(
    s.body.map((x) => x.kind),
    ['server', 'server', 'forward'],
  );
  const [a, b] = body(s, 'server');
  t.is(a.forward?.method.value, 'nat');
  t.is(b.forward, undefined);
});

test('statements keep their source order across kinds', (t) => {
  const { file } = clean('service s {\n  server a\n  vip 10.0.0.1 tcp 80\n  server b\n  forward dr\n  ops\n  scheduler rr\n}');
  t.deepEqual(
    service(file).body.map((s) => s.kind),
    ['server', 'vip', 'server', 'forward', 'ops', 'scheduler'],
  );
  const items = clean('service s {}\nhost h {}\ndirector h\ndefaults {}\ntimeouts {}\nhost g {}').file.items;
  t.deepEqual(
    items.map((i) => i.kind),
    ['service', 'host', 'director', 'defaults', 'timeouts', 'host'],
  );
});

test('whitespace and newlines separate tokens anywhere; keywords are words only on their own', (t) => {
  const { file } = clean('service\nwww\n{\n\tvip\n10.1.0.100\ttcp\n80 server\nweb1\nweight\n2\n}');
  const s = service(file);
  t.deepEqual(
    s.body.map((x) => x.kind),
    ['vip', 'server'],
  );
  t.is((s.body[1] as A.ServerStmt).weight?.value, 2);
  // A word that only starts with a keyword is a word.
  const names = clean('host hosts { ssh servers }\nservice weights { server hosts }');
  t.is(host(names.file).name.value, 'hosts');
  t.is((host(names.file).body[0] as A.SshStmt).target?.host.value, 'servers');
  t.is(service(names.file).name.value, 'weights');
});

test('literal text and spans agree everywhere in the examples', (t) => {
  const { text, marks } = marked('server <|web1|>');
  t.is(slice(text, marks[0]), 'web1');
  // Every Lit in a parsed file: text === the source it spans.
  const input = 'host h {\n ssh u@[2001:db8::1]:22 key "k"\n interface eth0 10.0.0.1/8 segment s\n}\nservice s { vip [::1] tcp 1 persistence 1h30m netmask 255.0.0.0 server h port 2 weight 3 upper 4 lower 5 forward tun gue port 6 csum }';
  const { file } = parse(source(input));
  let count = 0;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ('text' in o && 'span' in o && 'value' in o) {
        count++;
        t.is(slice(input, o.span as A.Lit<unknown>['span']), o.text as string);
      }
      Object.values(o).forEach(visit);
    }
  };
  visit(file.items);
  t.true(count > 20);
});

test('syntax errors come out of the parser as data: kind, rule, expected tokens, the token, the open rules', (t) => {
  const text = 'service s {\n  vip 10.1.0.1 tcp\n}\nhost h\n';
  const { errors } = parseTokens(lex(source(text)).tokens, text);
  t.deepEqual(
    errors.map((e) => [e.kind, e.rule, e.expected, e.token.image, e.ruleStack]),
    [
      ['mismatch', 'vip', ['Word'], '}', ['file', 'service', 'vip']],
      ['mismatch', 'host', ['LBrace'], '', ['file', 'host']],
    ],
  );
  t.is(errors[1].token.tokenType.name, 'EOF');
});

test('a name is known by its position: keywords name hosts, services, segments, servers, jump hosts and directors', (t) => {
  const { file } = clean(
    [
      'host director { ssh 10.1.0.2 via check  interface eth0 10.1.0.2/24 segment gateway }',
      'host check { ssh 10.1.0.3 }',
      'director gateway lb2 sync eth0',
      'director sync ssh',
      'service ssh {',
      '  vip 10.1.0.100 tcp 22',
      '  server drain',
      '  server weight weight 2 drain',
      '  sorry port port 22',
      '}',
    ].join('\n'),
  );
  const h = host(file);
  t.is(h.name.value, 'director');
  const ssh = h.body.find((s): s is A.SshStmt => s.kind === 'ssh');
  t.is(ssh?.via?.value, 'check');
  const iface = h.body.find((s): s is A.InterfaceStmt => s.kind === 'interface');
  t.is(iface?.segment?.value, 'gateway');
  t.is(host(file, 1).name.value, 'check');
  const directors = file.items.filter((x): x is A.DirectorNode => x.kind === 'director');
  t.deepEqual(directors.map((d) => d.hosts.map((n) => n.value)), [['gateway', 'lb2'], ['sync', 'ssh']]);
  t.is(directors[0].sync?.iface.value, 'eth0');
  const s = service(file);
  t.is(s.name.value, 'ssh');
  t.deepEqual(body(s, 'server').map((x) => [x.host.value, x.weight?.value, x.drain !== undefined]), [
    ['drain', undefined, false],
    ['weight', 2, true],
  ]);
  t.deepEqual(body(s, 'sorry').map((x) => [x.host.value, x.port?.value]), [['port', 22]]);
});

test('a top-level keyword after a director name names the partner only when it does not start the next item', (t) => {
  // fast-check found `director a` then `host defaults { ... }` read as `director a host` and a defaults block.
  const directors = (text: string) => {
    const { file } = clean(text);
    return file.items.map((x) => (x.kind === 'director' ? `director ${x.hosts.map((n) => n.value).join(' ')}` : x.kind === 'host' || x.kind === 'service' ? `${x.kind} ${x.name.value}` : x.kind));
  };
  t.deepEqual(directors('director a host defaults { ssh 10.1.0.2 }'), ['director a', 'host defaults']);
  t.deepEqual(directors('director a service timeouts { vip 10.1.0.100 tcp 80 server b }'), ['director a', 'service timeouts']);
  t.deepEqual(directors('director a director b'), ['director a', 'director b']);
  t.deepEqual(directors('director a timeouts { tcp 1m }'), ['director a', 'timeouts']);
  // Where nothing follows that could start an item, the keyword is the partner's name.
  t.deepEqual(directors('director a host'), ['director a host']);
  t.deepEqual(directors('director a host host b { ssh 10.1.0.3 }'), ['director a host', 'host b']);
  t.deepEqual(directors('director a host service www { vip 10.1.0.100 tcp 80 server b }'), ['director a host', 'service www']);
});

test("the grammar passes Chevrotain's own checks (lvsc's parser skips them at start-up)", (t) => {
  // A grammar error makes Chevrotain throw here, listing definitionErrors.
  let checked: LvsParser | undefined;
  t.notThrows(() => (checked = new LvsParser(undefined, { validateGrammar: true })));
  t.deepEqual((checked as unknown as { definitionErrors: unknown[] }).definitionErrors, []);
});
