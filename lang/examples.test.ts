/**
 * The example files parse without a single diagnostic and say, in the AST,
 * what their comments say.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import type * as A from './ast.js';
import { parse } from './index.js';

const dir = new URL('../examples/', import.meta.url);

function load(name: string): A.AstFile {
  const text = readFileSync(new URL(name, dir), 'utf8');
  const { file, diagnostics } = parse({ path: `examples/${name}`, text });
  if (diagnostics.length) throw new Error(diagnostics.map((d) => `${d.code}: ${d.summary}`).join('\n'));
  return file;
}

const hosts = (f: A.AstFile) => f.items.filter((i): i is A.HostNode => i.kind === 'host');
const services = (f: A.AstFile) => f.items.filter((i): i is A.ServiceNode => i.kind === 'service');
const hostNamed = (f: A.AstFile, name: string) => hosts(f).find((h) => h.name.value === name)!;
const serviceNamed = (f: A.AstFile, name: string) => services(f).find((s) => s.name.value === name)!;
const stmts = <K extends A.ServiceStmt['kind']>(s: A.ServiceNode, kind: K) => s.body.filter((x) => x.kind === kind) as Extract<A.ServiceStmt, { kind: K }>[];
const director = (f: A.AstFile) => f.items.find((i): i is A.DirectorNode => i.kind === 'director')!;

for (const name of readdirSync(dir).filter((n) => n.endsWith('.lvs')).sort()) {
  test(`${name} parses without diagnostics`, (t) => {
    const text = readFileSync(new URL(name, dir), 'utf8');
    const r = parse({ path: name, text });
    t.deepEqual(
      r.diagnostics.map((d) => `${d.code}: ${d.summary}`),
      [],
    );
    t.true(r.file.items.length > 0);
  });
}

test('web-dr: one director, three weighted servers, one drained, ssh port 2222, timeouts in seconds', (t) => {
  const f = load('web-dr.lvs');
  t.deepEqual(
    director(f).hosts.map((h) => h.value),
    ['lb1'],
  );
  t.deepEqual((hostNamed(f, 'web3').body[0] as A.SshStmt).target?.port?.value, 2222);
  const timeouts = f.items.find((i): i is A.TimeoutsNode => i.kind === 'timeouts')!;
  t.deepEqual(
    timeouts.body.map((s) => [s.which.value, s.duration.value]),
    [
      ['tcp', 900],
      ['tcpfin', 60],
      ['udp', 300],
    ],
  );
  const www = serviceNamed(f, 'www');
  t.deepEqual(
    [stmts(www, 'vip')[0].address.value, stmts(www, 'vip')[0].proto.value, stmts(www, 'vip')[0].port.value],
    ['10.1.0.100', 'tcp', 80],
  );
  t.is(stmts(www, 'scheduler')[0].name.value, 'wlc');
  t.is(stmts(www, 'forward')[0].spec.method.value, 'dr');
  t.deepEqual(
    stmts(www, 'server').map((s) => [s.host.value, s.weight?.value, Boolean(s.drain)]),
    [
      ['web1', 3, false],
      ['web2', 1, false],
      ['web3', undefined, true],
    ],
  );
  const tls = serviceNamed(f, 'www-tls');
  const p = stmts(tls, 'persistence')[0];
  t.deepEqual([p.timeout?.value, p.netmask?.value], [1800, '255.255.255.0']);
  const web2 = stmts(tls, 'server').find((s) => s.host.value === 'web2')!;
  t.deepEqual([web2.upper?.value, web2.lower?.value], [2000, 1500]);
  // The trailing comment about draining stays with its line.
  t.true(f.comments.some((c) => c.text.startsWith('# taken out for maintenance')));
});

test('api-nat: defaults in the multi-line form, jump hosts, port remapping, ops and flags, ftp persistence', (t) => {
  const f = load('api-nat.lvs');
  const defaults = f.items.find((i): i is A.DefaultsNode => i.kind === 'defaults')!;
  t.deepEqual(
    defaults.body.map((s) => [s.user?.value, s.key?.value, Boolean(s.sudo), Boolean(s.bare)]),
    [
      ['deploy', undefined, false, false],
      [undefined, '~/.ssh/lvs_ed25519', false, false],
      [undefined, undefined, true, true],
    ],
  );
  for (const name of ['app1', 'app2']) {
    const ssh = hostNamed(f, name).body[0] as A.SshStmt;
    t.is(ssh.via?.value, 'lb1', `${name} is reached through lb1`);
  }
  const lb1 = hostNamed(f, 'lb1');
  t.deepEqual(
    lb1.body.filter((s): s is A.InterfaceStmt => s.kind === 'interface').map((i) => [i.dev.value, i.cidr.value.address, i.cidr.value.prefix]),
    [
      ['eth0', '198.51.100.2', 24],
      ['eth1', '192.168.10.1', 24],
    ],
  );
  const api = serviceNamed(f, 'api');
  t.is(stmts(api, 'vip')[0].port.value, 443);
  t.deepEqual(
    stmts(api, 'server').map((s) => [s.host.value, s.port?.value, s.weight?.value]),
    [
      ['app1', 8443, 2],
      ['app2', 8443, 1],
    ],
  );
  const dns = serviceNamed(f, 'dns');
  t.deepEqual([stmts(dns, 'vip')[0].proto.value, stmts(dns, 'vip')[0].port.value], ['udp', 53]);
  t.deepEqual(
    stmts(dns, 'scheduler')[0].flags.map((x) => x.value),
    ['sh-port', 'sh-fallback'],
  );
  t.is(stmts(dns, 'ops').length, 1);
  t.is(stmts(serviceNamed(f, 'ftp'), 'persistence')[0].timeout?.value, 600);
});

test('cdn-tun: tunnelling services, the second over GUE on port 6080 with maglev hashing', (t) => {
  const f = load('cdn-tun.lvs');
  t.deepEqual(stmts(serviceNamed(f, 'cdn'), 'forward')[0].spec.method.value, 'tun');
  const gue = serviceNamed(f, 'cdn-gue');
  const spec = stmts(gue, 'forward')[0].spec;
  t.deepEqual([spec.method.value, spec.tunType?.value, spec.tunPort?.value], ['tun', 'gue', 6080]);
  t.deepEqual(
    [stmts(gue, 'scheduler')[0].name.value, stmts(gue, 'scheduler')[0].flags.map((x) => x.value)],
    ['mh', ['mh-port']],
  );
});

test('shop-fwmark: a synced director pair, a fwmark over 80 and 443, and an IPv6 service', (t) => {
  const f = load('shop-fwmark.lvs');
  const d = director(f);
  t.deepEqual(
    [d.hosts.map((h) => h.value), d.sync?.iface.value, d.sync?.id?.value],
    [['lb1', 'lb2'], 'eth1', 7],
  );
  const shop = serviceNamed(f, 'shop');
  const fw = stmts(shop, 'fwmark')[0];
  t.is(fw.mark.value, 10);
  t.deepEqual(
    fw.matches.map((m) => [m.proto.value, m.address.value, m.ports.map((p) => p.value)]),
    [['tcp', '10.2.0.100', [80, 443]]],
  );
  t.is(stmts(shop, 'persistence')[0].timeout?.value, 3600);
  const v6 = stmts(serviceNamed(f, 'shop6'), 'vip')[0];
  t.deepEqual([v6.address.value, v6.address.text, v6.port.value], ['2001:db8:2::100', '[2001:db8:2::100]', 443]);
  const lb1 = hostNamed(f, 'lb1');
  t.deepEqual(
    lb1.body.filter((s): s is A.InterfaceStmt => s.kind === 'interface').map((i) => [i.dev.value, i.cidr.value.family]),
    [
      ['eth0', 4],
      ['eth0', 6],
      ['eth1', 4],
    ],
  );
});
