/** The commands a plan runs, as argv: the host commands (host-commands.ts) and ipvsadm's (ipvsadm.ts). */
import test from 'ava';
import { isRestoreLine } from './units.js';
import { commandLine } from './command.js';
import {
  addAddress,
  addFouPort,
  deleteAddress,
  deleteFouPort,
  deleteRoute,
  loadModule,
  removeFile,
  replaceNftTable,
  replaceRoute,
  setLinkUp,
  setSysctl,
} from './host-commands.js';
import {
  addDestination,
  addService,
  deleteDestination,
  deleteService,
  editDestination,
  editService,
  setTimeouts,
  startSyncDaemon,
  stopSyncDaemon,
} from './ipvsadm.js';
import type { IpvsDestination, IpvsService } from './state.js';

test('addresses: IPv4 with lvsc\'s label; IPv6 with -6 and nodad; deletion by address, prefix and device', (t) => {
  t.deepEqual(addAddress({ dev: 'lo', address: '10.1.0.100', prefix: 32, label: 'lo:lvs' }).argv, ['ip', 'addr', 'add', '10.1.0.100/32', 'dev', 'lo', 'label', 'lo:lvs']);
  t.deepEqual(addAddress({ dev: 'eth0', address: '10.1.0.100', prefix: 32 }).argv, ['ip', 'addr', 'add', '10.1.0.100/32', 'dev', 'eth0']);
  t.deepEqual(addAddress({ dev: 'lo', address: '2001:db8::100', prefix: 128 }).argv, ['ip', '-6', 'addr', 'add', '2001:db8::100/128', 'dev', 'lo', 'nodad']);
  t.deepEqual(deleteAddress({ dev: 'tunl0', address: '10.1.0.100', prefix: 32, label: 'tunl0:lvs' }).argv, ['ip', 'addr', 'del', '10.1.0.100/32', 'dev', 'tunl0']);
  t.deepEqual(deleteAddress({ dev: 'lo', address: '2001:db8::100', prefix: 128 }).argv, ['ip', 'addr', 'del', '2001:db8::100/128', 'dev', 'lo']);
});

test('routes: lvsc\'s carry its protocol, per family; a gateway handed back carries none; deletion only of that protocol', (t) => {
  t.deepEqual(replaceRoute(4, { dst: 'default', via: '192.168.10.1', dev: 'eth0' }, '76').argv, ['ip', 'route', 'replace', 'default', 'via', '192.168.10.1', 'dev', 'eth0', 'proto', '76']);
  t.deepEqual(replaceRoute(6, { dst: 'default', via: 'fd00::1' }, '76').argv, ['ip', '-6', 'route', 'replace', 'default', 'via', 'fd00::1', 'proto', '76']);
  t.deepEqual(replaceRoute(4, { dst: 'default', via: '192.168.10.254' }).argv, ['ip', 'route', 'replace', 'default', 'via', '192.168.10.254']);
  t.deepEqual(deleteRoute(4, '10.5.0.0/16', '76').argv, ['ip', 'route', 'del', '10.5.0.0/16', 'proto', '76']);
  t.deepEqual(deleteRoute(6, 'default', '76').argv, ['ip', '-6', 'route', 'del', 'default', 'proto', '76']);
});

test('links, fou ports, sysctls, modules and files', (t) => {
  t.deepEqual(setLinkUp('gre0').argv, ['ip', 'link', 'set', 'gre0', 'up']);
  t.deepEqual(addFouPort(6080).argv, ['ip', 'fou', 'add', 'port', '6080', 'gue']);
  t.deepEqual(deleteFouPort(6080).argv, ['ip', 'fou', 'del', 'port', '6080']);
  t.deepEqual(setSysctl('net.ipv4.conf.lo.arp_ignore', '1').argv, ['sysctl', '-q', '-w', 'net.ipv4.conf.lo.arp_ignore=1']);
  t.deepEqual(loadModule('ip_vs_wlc').argv, ['modprobe', 'ip_vs_wlc']);
  t.deepEqual(removeFile('/etc/sysctl.d/90-lvsc.conf').argv, ['rm', '-f', '--', '/etc/sysctl.d/90-lvsc.conf']);
  for (const c of [setLinkUp('gre0'), addFouPort(6080), setSysctl('a.b', '1'), loadModule('ipip'), removeFile('/x')]) t.is(c.stdin, undefined, commandLine(c));
});

test('a value is one argument whatever it holds, and reaches a shell only quoted', (t) => {
  const odd = "/etc/systemd/network/a b;$(id)'.network";
  const rm = removeFile(odd);
  t.deepEqual(rm.argv, ['rm', '-f', '--', odd]);
  t.is(commandLine(rm), `rm -f -- '/etc/systemd/network/a b;$(id)'\\''.network'`);
  t.deepEqual(setSysctl('net.ipv4.conf.eth0.rp_filter', '0 1').argv.slice(3), ['net.ipv4.conf.eth0.rp_filter=0 1']);
});

test('nftables: the whole table replaced from standard input in one transaction; no rules, no table', (t) => {
  const c = replaceNftTable([{ family: 4, proto: 'tcp', address: '10.2.0.100', ports: [443, 80], mark: 10 }]);
  t.deepEqual(c.argv, ['nft', '-f', '-']);
  t.is(
    c.stdin,
    'table inet lvsc\ndelete table inet lvsc\ntable inet lvsc {\n\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n\t\tip daddr 10.2.0.100 tcp dport { 80, 443 } meta mark set 10\n\t}\n}\n',
  );
  t.is(replaceNftTable([]).stdin, 'table inet lvsc\ndelete table inet lvsc\n');
});

const web: IpvsService = { id: { kind: 'addr', proto: 'tcp', address: '10.1.0.100', port: 443 }, scheduler: 'wrr', flags: [], persistence: { timeout: 1800, netmask: '255.255.255.0' }, ops: false, destinations: [] };
const web2: IpvsDestination = { address: '10.1.0.12', port: 443, method: 'dr', weight: 2, upper: 2000, lower: 1500 };

test('ipvsadm: every attribute restated on add and edit; identity alone on delete; the drain is an edit to weight 0', (t) => {
  t.deepEqual(addService(web).argv, ['ipvsadm', '-A', '-t', '10.1.0.100:443', '-s', 'wrr', '-p', '1800', '-M', '255.255.255.0']);
  t.deepEqual(editService({ ...web, scheduler: 'sh', flags: ['sh-port'] }).argv, ['ipvsadm', '-E', '-t', '10.1.0.100:443', '-s', 'sh', '-p', '1800', '-M', '255.255.255.0', '-b', 'sh-port']);
  t.deepEqual(deleteService({ kind: 'fwmark', mark: 11, family: 6 }).argv, ['ipvsadm', '-D', '-f', '11', '-6']);
  t.deepEqual(addDestination(web.id, web2).argv, ['ipvsadm', '-a', '-t', '10.1.0.100:443', '-r', '10.1.0.12:443', '-g', '-w', '2', '-x', '2000', '-y', '1500']);
  t.deepEqual(editDestination(web.id, { ...web2, weight: 0 }).argv, ['ipvsadm', '-e', '-t', '10.1.0.100:443', '-r', '10.1.0.12:443', '-g', '-w', '0', '-x', '2000', '-y', '1500']);
  t.deepEqual(deleteDestination(web.id, web2).argv, ['ipvsadm', '-d', '-t', '10.1.0.100:443', '-r', '10.1.0.12:443']);
  t.deepEqual(setTimeouts({ tcp: 900, tcpfin: 60, udp: 0 }).argv, ['ipvsadm', '--set', '900', '60', '0']);
  t.deepEqual(startSyncDaemon({ state: 'master', mcastInterface: 'eth1', syncid: 7 }).argv, ['ipvsadm', '--start-daemon', 'master', '--mcast-interface', 'eth1', '--syncid', '7']);
  t.deepEqual(stopSyncDaemon('backup').argv, ['ipvsadm', '--stop-daemon', 'backup']);
});

test('ipvsadm: the table edits are restore lines (batched into one -R), timeouts and the sync daemon are not', (t) => {
  for (const c of [addService(web), editService(web), deleteService(web.id), addDestination(web.id, web2), editDestination(web.id, web2), deleteDestination(web.id, web2)]) t.true(isRestoreLine(c), commandLine(c));
  for (const c of [setTimeouts({ tcp: 900, tcpfin: 60, udp: 300 }), startSyncDaemon({ state: 'backup', mcastInterface: 'eth1', syncid: 7 }), stopSyncDaemon('master')]) t.false(isRestoreLine(c), commandLine(c));
});
