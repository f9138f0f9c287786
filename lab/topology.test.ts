/**
 * The lab's tables and what is generated from them, without a VM: the topology
 * is sound, examples/lab.lvs is generated from it and valid lvsc (and so is
 * its failover-pair variant), the guest's
 * network script, the real servers' pages and DNS servers and the SSH client
 * files say what the topology says.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { check } from '../compiler/index.js';
import { compileCluster } from '../compiler/compile.js';
import { clusterFileText, failoverClusterFileText } from './cluster-file.js';
import { dnsmasqConf, documentRoot, healthFile, networkScript, webPage } from './guest-files.js';
import { JUMP, sshConfigText } from './keys.js';
import { labPaths } from './paths.js';
import { DEFAULT_HOST_PORT, DIRECTOR, DNS_PORT, FAILOVER, HEALTH_NAME, HEALTH_PATH, HOSTS, SEGMENTS, SERVICES, rootVethName, sshAddress, topologyProblems } from './topology.js';

test('the topology is consistent', (t) => {
  t.deepEqual(topologyProblems(), []);
});

test('topologyProblems finds an address outside its segment, an unreachable gateway and a clash', (t) => {
  const web1 = HOSTS.find((h) => h.name === 'web1')!;
  const broken = [...HOSTS.filter((h) => h !== web1), { ...web1, interfaces: [{ dev: 'eth0', segment: 'servers', cidr: '10.30.0.21/24' }], gateway: '10.99.0.1' }];
  t.deepEqual(topologyProblems(SEGMENTS, broken), [
    'web1 eth0: 10.30.0.21/24 is outside segment servers (10.20.0.0/24)',
    '10.30.0.21 is used by both remote1 eth0 and web1 eth0',
    'web1: gateway 10.99.0.1 is on none of its segments',
  ]);
});

test('topologyProblems finds a floating address clashing with a host, and a failover pair without its second director', (t) => {
  const web4 = HOSTS.find((h) => h.name === 'web4')!;
  const hosts = [...HOSTS.filter((h) => h !== web4 && h.name !== 'lb2'), { ...web4, interfaces: [{ dev: 'eth0', segment: 'servers', cidr: FAILOVER.floating.servers }] }];
  t.deepEqual(topologyProblems(SEGMENTS, hosts), ['10.20.0.5 is used by both web4 eth0 and the floating address on servers', 'the failover pair names lb2, which is not a lab director']);
});

test('lb2 is a second director on lb1\'s segments, with the same devices, and examples/lab.lvs leaves it out', (t) => {
  const [lb1, lb2] = FAILOVER.directors.map((n) => HOSTS.find((h) => h.name === n)!);
  t.is(lb1.name, DIRECTOR);
  t.is(lb2.role, 'director');
  t.deepEqual(lb2.interfaces.map((i) => [i.dev, i.segment]), lb1.interfaces.map((i) => [i.dev, i.segment]));
  t.deepEqual([lb2.gateway, lb2.routes], [lb1.gateway, lb1.routes]);
  t.notRegex(clusterFileText(), /lb2 \{|director lb1 lb2/);
  t.regex(clusterFileText(), /^director lb1$/m);
});

test('the failover variant of the lab\'s cluster is valid: one VRRP pair on both directors, both floating addresses, the NAT servers behind the servers\' one', (t) => {
  for (const failback of [{ after: '30s' }, 'never'] as const) {
    const text = failoverClusterFileText(2345, failback);
    const { cluster, diagnostics } = check([{ path: 'failover.lvs', text }]);
    t.deepEqual(diagnostics.map((d) => `${d.severity} ${d.code}: ${d.summary}`), []);
    t.regex(text, /^director lb1 lb2 \{\n {2}failover vrrp 51 on eth0\n {2}advert 1s\n/m);
    t.true(text.includes(`  failback ${failback === 'never' ? 'never' : 'after 30s'}\n  floating 10.10.0.5/24 on eth0\n  floating 10.20.0.5/24 on eth1\n  sync eth1 id 7\n}\n`));
    t.deepEqual(cluster?.services.map((s) => s.name), Object.values(SERVICES).map((s) => `web-${s.method}`));
    const hosts = compileCluster(cluster!);
    for (const name of FAILOVER.directors) {
      const conf = hosts.find((h) => h.name === name)!.state.files['/etc/keepalived/keepalived.conf'];
      t.regex(conf, /virtual_router_id 51/, name);
      for (const a of ['10.10.0.5/32 dev eth0', '10.20.0.5/32 dev eth1', '10.20.0.100/24 dev eth1', '10.10.0.100/24 dev eth0', '10.10.0.110/24 dev eth0']) t.true(conf.includes(a), `${name}: ${a}`);
      t.regex(conf, failback === 'never' ? /nopreempt/ : /preempt_delay 30/, name);
      t.regex(conf, /lvs_sync_daemon eth1 lvsc_eth0 id 7/, name);
    }
    for (const s of SERVICES.nat.servers) t.deepEqual(hosts.find((h) => h.name === s)!.state.routes, [{ dst: 'default', via: '10.20.0.5', dev: 'eth0' }], s);
  }
});

test('examples/lab.lvs is generated from lab/topology.ts (for the port it names)', (t) => {
  const text = readFileSync(labPaths().clusterFile, 'utf8');
  const port = Number(/ssh root@127\.0\.0\.1:(\d+)/.exec(text)?.[1]);
  t.is(port, DEFAULT_HOST_PORT, 'the committed file names the default port (lab up rewrites it only when 2222 is taken)');
  t.is(text, clusterFileText(port));
});

test('examples/lab.lvs is a valid cluster for lvsc', (t) => {
  const { cluster, diagnostics } = check([{ path: 'examples/lab.lvs', text: clusterFileText() }]);
  t.deepEqual(
    diagnostics.map((d) => `${d.severity} ${d.code}: ${d.summary}`),
    [],
  );
  t.deepEqual(cluster?.services.map((s) => s.name), Object.values(SERVICES).map((s) => `web-${s.method}`));
});

test('the network script builds every segment, namespace and leg, and starts every host', (t) => {
  const script = networkScript();
  for (const s of SEGMENTS) t.true(script.includes(`link add ${s.bridge} type bridge\n`), s.name);
  for (const h of HOSTS) {
    t.true(script.includes(`netns add ${h.name}\n`), h.name);
    t.regex(script, new RegExp(`^start ${h.name} ${h.forwarding ? 1 : 0}${h.http.map((p) => ` ${p}`).join('')} <<'EOF'$`, 'm'));
    for (const i of h.interfaces) {
      t.true(script.includes(`link add ${rootVethName(h, i.dev)} type veth peer name ${i.dev} netns ${h.name}\n`));
      t.true(script.includes(`ip addr add ${i.cidr} dev ${i.dev}\n`));
    }
    if (h.gateway) t.true(script.includes(`ip route add default via ${h.gateway}\n`), `${h.name}'s gateway`);
  }
});

test('ssh_config reaches every lab host and alias through the jump host, with the lab key only', (t) => {
  const paths = labPaths('/repo');
  const config = sshConfigText(paths, 2345);
  t.regex(config, new RegExp(`^Host ${JUMP}\\n  HostName 127\\.0\\.0\\.1\\n  Port 2345$`, 'm'));
  for (const h of HOSTS) t.regex(config, new RegExp(`^Host ${[h.name, ...h.aliases].join(' ')}\\n  HostName ${h.interfaces[0].cidr.split('/')[0].replace(/\./g, '\\.')}\\n  ProxyJump ${JUMP}$`, 'm'));
  t.true(config.includes('  IdentityFile "/repo/.lab/id_ed25519"\n  IdentitiesOnly yes\n'));
  t.true(config.includes('  UserKnownHostsFile "/repo/.lab/known_hosts"\n'));
  t.true(config.includes('  StrictHostKeyChecking yes\n'));
});

test('every real server has its page and a health page on each web port, and a DNS server', (t) => {
  const servers = HOSTS.filter((h) => h.role === 'real-server');
  t.deepEqual(servers.map((h) => h.name), ['web1', 'web2', 'web3', 'web4', 'remote1', 'remote2']);
  for (const h of servers) {
    t.true(h.dns, h.name);
    t.deepEqual(h.http, [80, 8080], h.name);
    for (const p of h.http) {
      // What the e2e tests tell the servers apart by.
      t.is(webPage(h.name, p), `${h.name} port ${p}\n`);
      t.deepEqual(healthFile(h.name, p), { path: `/srv/www/${h.name}/${p}${HEALTH_PATH}`, text: `ok ${h.name} port ${p}\n` });
      t.true(healthFile(h.name, p).path.startsWith(`${documentRoot(h.name, p)}/`));
    }
  }
  t.deepEqual(HOSTS.filter((h) => h.dns), servers, 'no other host runs a DNS server');
});

test('a real server\'s dnsmasq listens on its own address only and answers the health name with it', (t) => {
  const web3 = HOSTS.find((h) => h.name === 'web3')!;
  const settings = dnsmasqConf(web3).split('\n').filter((l) => l && !l.startsWith('#'));
  t.is(sshAddress(web3), '10.20.0.13');
  t.deepEqual(settings, [
    'listen-address=10.20.0.13',
    'bind-interfaces',
    `port=${DNS_PORT}`,
    'no-resolv',
    'no-hosts',
    `host-record=${HEALTH_NAME},10.20.0.13`,
    'local=/lab.test/',
    'pid-file=/run/dnsmasq.pid',
    'log-facility=/var/log/dnsmasq.log',
    'user=nobody',
    'group=nogroup',
  ]);
});
