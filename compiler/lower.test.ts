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

test('ha-web: a failover pair with a floating gateway, checks, on-failure, sorry, a server with its own check', (t) => {
  const c = load('ha-web.lvs');
  const d = c.directors!;
  // lb1 is preferred (named first); VRRP id 51 on eth0; adverts every second; lb1 takes the VIPs back after 60 s.
  t.deepEqual([d.active, d.backup], ['lb1', 'lb2']);
  t.deepEqual(d.failover && { protocol: d.failover.protocol, id: d.failover.id, iface: d.failover.iface, unicast: d.failover.unicast }, { protocol: 'vrrp', id: 51, iface: 'eth0', unicast: false });
  t.is(d.advert?.ms, 1000);
  t.deepEqual(d.failback && { mode: d.failback.mode, delayMs: d.failback.mode === 'after' ? d.failback.delayMs : undefined }, { mode: 'after', delayMs: 60_000 });
  t.deepEqual(d.floating.map((f) => [f.address, f.prefix, f.iface]), [['192.168.30.1', 24, 'eth1']]);
  t.deepEqual(d.sync && [d.sync.iface, d.sync.id], ['eth1', 7]);

  // www: every server checked by GET /healthz expecting 200, every 2 s, 1 s timeout, 2 retries;
  // a failing server gets weight 0; sorry1 (by DR, like the servers) while none passes.
  const www = c.services.find((s) => s.name === 'www')!;
  const wwwCheck = www.check!;
  t.is(wwwCheck.kind, 'http');
  if (wwwCheck.kind !== 'http') return;
  t.deepEqual([wwwCheck.path, wwwCheck.status, wwwCheck.port, wwwCheck.host], ['/healthz', { min: 200, max: 200 }, undefined, undefined]);
  t.deepEqual([wwwCheck.timing.everyMs, wwwCheck.timing.timeoutMs, wwwCheck.timing.retries], [2000, 1000, 2]);
  t.is(www.onFailure.mode, 'quiesce');
  t.deepEqual(www.servers.map((s) => [s.host, s.weight, s.check === wwwCheck]), [
    ['web1', 3, true],
    ['web2', 1, true],
  ]);
  t.deepEqual(www.sorry && [www.sorry.role, www.sorry.host, www.sorry.port, www.sorry.forward?.method], ['sorry', 'sorry1', undefined, 'dr']);

  // api: a TCP check every 1 s with a 500 ms timeout (retries by default 1) for app1, failing servers leave
  // the table; app2 replaces it with its own HTTPS check of /ready, at the default timing.
  const api = c.services.find((s) => s.name === 'api')!;
  t.is(api.onFailure.mode, 'remove');
  const [app1, app2] = api.servers;
  t.is(app1.check, api.check);
  t.deepEqual(app1.check?.kind === 'tcp' && [app1.check.timing.everyMs, app1.check.timing.timeoutMs, app1.check.timing.retries], [1000, 500, 1]);
  t.is(app2.check?.kind, 'https');
  if (app2.check?.kind !== 'https') return;
  t.deepEqual([app2.check.path, app2.check.status, app2.check.timing.everyMs, app2.check.timing.timeoutMs, app2.check.timing.retries], ['/ready', { min: 200, max: 200 }, 2000, 1000, 1]);

  // dns: an A query for health.example.org every 5 s, 2 s timeout.
  const dns = c.services.find((s) => s.name === 'dns')!;
  t.deepEqual(dns.check?.kind === 'dns' && [dns.check.name, dns.check.type, dns.check.timing.everyMs, dns.check.timing.timeoutMs], ['health.example.org', 'A', 5000, 2000]);
  t.truthy(dns.ops);

  // The NAT servers' gateway is the floating address (validation accepts it: the cluster loaded clean).
  t.deepEqual(['app1', 'app2'].map((h) => c.hostsByName.get(h)!.gateways[0].address), ['192.168.30.1', '192.168.30.1']);
});

test('health-checks: every check kind, a server exempted, a fwmark check with its own port', (t) => {
  const c = load('health-checks.lvs');
  const svc = (name: string) => c.services.find((s) => s.name === name)!;
  const www = svc('www');
  t.deepEqual(www.check?.kind === 'http' && [www.check.port, www.check.path, www.check.status, www.check.host, www.check.timing.everyMs, www.check.timing.timeoutMs, www.check.timing.retries], [
    8080,
    '/healthz?full=1',
    { min: 200, max: 299 },
    'www.example.org',
    3000,
    2000,
    2,
  ]);
  t.deepEqual(www.servers.map((s) => [s.host, s.check?.kind, s.check === www.check]), [
    ['web1', 'http', true],
    ['web2', 'none', false],
    ['web3', 'tcp', false],
  ]);
  t.deepEqual(svc('api').check?.kind === 'https' && [svc('api').check!.kind, (svc('api').check as { host?: string }).host], ['https', 'api.example.org']);
  const dns = svc('dns').check!;
  t.deepEqual(dns.kind === 'dns' && [dns.type, dns.timing.retries], ['aaaa', 0]);
  const mail = svc('mail').check!;
  t.deepEqual(mail.kind === 'exec' && [mail.path, mail.args.map((a) => a.value), mail.timing.everyMs, mail.timing.timeoutMs], ['/usr/local/lib/lvs-checks/smtp-ready', ['--helo', 'lb1.example.org'], 10_000, 3000]);
  t.is(svc('mail').onFailure.mode, 'quiesce');
  t.deepEqual(svc('shop').check?.kind === 'tcp' && [svc('shop').check!.kind, (svc('shop').check as { port?: number }).port], ['tcp', 443]);
});
