/** The desired state of hosts, for what the golden files do not show on their own. */
import test from 'ava';
import { check } from './index.js';
import { desiredHosts } from './desired.js';

function directorModules(vip: string): string[] {
  const text = `
host lb1 { interface eth0 10.7.0.2/24 }
host web1 { interface eth0 10.7.0.11/24 }
director lb1
service s {
  vip ${vip}
  persistence 300s
  forward nat
  server web1
}
`;
  const r = check([{ path: 'nat.lvs', text }]);
  if (!r.cluster || r.diagnostics.length) throw new Error(r.diagnostics.map((d) => d.summary).join('\n'));
  return [...desiredHosts(r.cluster).find((h) => h.name === 'lb1')!.state.modules];
}

// IPVS binds its FTP helper by each connection's own port (tcp_app_conn_bind keys on cp->vport),
// so FTP reaches the helper through an every-port service as through a port-21 one.
test('a NAT service on every TCP port loads ip_vs_ftp, as one on port 21 does; one on port 80 or UDP does not', (t) => {
  t.true(directorModules('10.7.0.100 tcp 0').includes('ip_vs_ftp'));
  t.true(directorModules('10.7.0.100 tcp 21').includes('ip_vs_ftp'));
  t.false(directorModules('10.7.0.100 tcp 80').includes('ip_vs_ftp'));
  t.false(directorModules('10.7.0.100 udp 0').includes('ip_vs_ftp'));
});

function desired(text: string) {
  const r = check([{ path: 'cluster.lvs', text }]);
  if (!r.cluster || r.diagnostics.some((d) => d.severity === 'error')) throw new Error(r.diagnostics.map((d) => d.summary).join('\n'));
  return { hosts: desiredHosts(r.cluster), codes: r.diagnostics.map((d) => d.code) };
}

const twoSegments = (serverLine: string) => `
host lb1 {
  interface eth0 10.7.0.2/24
  interface eth1 192.168.7.2/24
}
host web1 {
  interface eth0 10.7.0.11/24
  interface eth1 192.168.7.11/24
}
director lb1
service www {
  vip 10.7.0.100 tcp 80
  forward dr
  ${serverLine}
}
`;

test('a DR server line that names its address gets its traffic there: the RIP and the segment interface of its ARP settings follow it', (t) => {
  const named = desired(twoSegments('server web1 address 192.168.7.11'));
  t.deepEqual(named.codes, []);
  const lb1 = named.hosts.find((h) => h.name === 'lb1')!.state;
  t.deepEqual(lb1.ipvs![0].destinations.map((d) => d.address), ['192.168.7.11']);
  const web1 = named.hosts.find((h) => h.name === 'web1')!.state;
  t.is(web1.sysctls['net.ipv4.conf.eth1.arp_ignore'], '1');
  t.false('net.ipv4.conf.eth0.arp_ignore' in web1.sysctls);

  // Unnamed, the first address that fits is taken, and validation warns that there were two.
  const first = desired(twoSegments('server web1'));
  t.deepEqual(first.codes, ['ambiguous-server-address']);
  t.deepEqual(first.hosts.find((h) => h.name === 'lb1')!.state.ipvs![0].destinations.map((d) => d.address), ['10.7.0.11']);
});
