/** The examples mean what their comments say, once lowered to the IR. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { check } from './index.js';
import type { Cluster } from './ir.js';
import { resolveRip } from './topology.js';

function load(...names: string[]): Cluster {
  const sources = names.map((n) => ({ path: `examples/${n}`, text: readFileSync(new URL(`../examples/${n}`, import.meta.url), 'utf8') }));
  const r = check(sources);
  if (!r.cluster || r.diagnostics.length) throw new Error(r.diagnostics.map((d) => d.summary).join('\n'));
  return r.cluster;
}

test('web-dr: weights, drain, persistence, thresholds, ssh port, timeouts', (t) => {
  const c = load('web-dr.lvs');
  t.is(c.directors?.active, 'lb1');
  t.deepEqual({ tcp: c.timeouts?.tcp, tcpfin: c.timeouts?.tcpfin, udp: c.timeouts?.udp }, { tcp: 900, tcpfin: 60, udp: 300 });
  const www = c.services.find((s) => s.name === 'www')!;
  t.is(www.scheduler, 'wlc');
  t.deepEqual(
    www.servers.map((s) => [s.host, s.weight, s.drain, s.forward?.method]),
    [
      ['web1', 3, false, 'dr'],
      ['web2', 1, false, 'dr'],
      ['web3', 0, true, 'dr'],
    ],
  );
  const tls = c.services.find((s) => s.name === 'www-tls')!;
  t.is(tls.persistence?.timeout, 1800);
  t.is(tls.persistence?.netmask, '255.255.255.0');
  const web2 = tls.servers.find((s) => s.host === 'web2')!;
  t.deepEqual([web2.upper, web2.lower], [2000, 1500]);
  const web3 = c.hostsByName.get('web3')!;
  t.deepEqual([web3.ssh.host, web3.ssh.port, web3.ssh.user], ['10.1.0.13', 2222, 'root']);
  t.deepEqual(www.servers.map((s) => (resolveRip(c, www, s) as { address: string }).address), ['10.1.0.11', '10.1.0.12', '10.1.0.13']);
});

test('api-nat: defaults inherited, jump host, port remap, ops and flags, ftp persistence', (t) => {
  const c = load('api-nat.lvs');
  const app1 = c.hostsByName.get('app1')!;
  t.deepEqual([app1.ssh.user, app1.ssh.keyFile, app1.ssh.sudo, app1.ssh.via], ['deploy', '~/.ssh/lvs_ed25519', true, 'lb1']);
  t.is(c.hostsByName.get('lb1')!.ssh.via, undefined);
  const api = c.services.find((s) => s.name === 'api')!;
  t.deepEqual(api.servers.map((s) => [s.host, s.port, s.weight]), [
    ['app1', 8443, 2],
    ['app2', 8443, 1],
  ]);
  const dns = c.services.find((s) => s.name === 'dns')!;
  t.truthy(dns.ops);
  t.deepEqual(dns.flags.map((f) => f.name), ['sh-port', 'sh-fallback']);
  t.is(dns.address?.kind === 'vip' && dns.address.proto, 'udp');
  const ftp = c.services.find((s) => s.name === 'ftp')!;
  t.is(ftp.persistence?.timeout, 600);
  t.is(ftp.scheduler, 'lc');
});

test('cdn-tun: ipip by default, gue with its port, RIPs routed by the default gateway', (t) => {
  const c = load('cdn-tun.lvs');
  const cdn = c.services.find((s) => s.name === 'cdn')!;
  t.deepEqual(cdn.servers.map((s) => [s.forward?.method, s.forward?.tunType]), [
    ['tun', 'ipip'],
    ['tun', 'ipip'],
  ]);
  const gue = c.services.find((s) => s.name === 'cdn-gue')!;
  t.deepEqual([gue.forward?.tunType, gue.forward?.tunPort, gue.scheduler], ['gue', 6080, 'mh']);
  const rip = resolveRip(c, cdn, cdn.servers[0]);
  t.deepEqual(rip.ok && [rip.address, rip.route], ['198.51.100.20', 'gateway']);
});

test('shop-fwmark: director pair with sync, fwmark matches, IPv6 service', (t) => {
  const c = load('shop-fwmark.lvs');
  t.deepEqual([c.directors?.active, c.directors?.backup, c.directors?.sync?.iface, c.directors?.sync?.id], ['lb1', 'lb2', 'eth1', 7]);
  const shop = c.services.find((s) => s.name === 'shop')!;
  t.like(shop.address, { kind: 'fwmark', mark: 10, family: 4 });
  t.deepEqual(shop.address?.kind === 'fwmark' && shop.address.matches.map((m) => [m.proto, m.address, m.ports]), [['tcp', '10.2.0.100', [80, 443]]]);
  t.is(shop.persistence?.timeout, 3600);
  const shop6 = c.services.find((s) => s.name === 'shop6')!;
  t.like(shop6.address, { kind: 'vip', address: '2001:db8:2::100', family: 6, port: 443 });
  const rip = resolveRip(c, shop6, shop6.servers[0]);
  t.deepEqual(rip.ok && rip.address, '2001:db8:2::21');
  // eth0 carries two subnets: each address keeps its own (implicit) segment.
  t.deepEqual(c.hostsByName.get('lb1')!.interfaces.map((i) => i.segment), ['10.2.0.0/24', '2001:db8:2::/64', '10.9.0.0/30']);
});

test('several files form one cluster', (t) => {
  const base = readFileSync(new URL('../examples/web-dr.lvs', import.meta.url), 'utf8');
  const hostsPart = base.slice(0, base.indexOf('director lb1'));
  const rest = base.slice(base.indexOf('director lb1'));
  const r = check([
    { path: 'hosts.lvs', text: hostsPart },
    { path: 'services.lvs', text: rest },
  ]);
  t.deepEqual(r.diagnostics, []);
  t.is(r.cluster?.services.length, 2);
  t.is(r.cluster?.hosts.length, 4);
});
