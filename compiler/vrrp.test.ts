/**
 * A director pair that fails over by itself (`director A B { failover vrrp
 * ... }`): keepalived's vrrp_instances on both directors, identical IPVS
 * tables, the VIPs and floating addresses keepalived's (VRRP state, never
 * lvsc's static addresses nor drift), and the ordered move from static VIPs
 * to VRRP and back, so that no moment has neither director holding them.
 * keepalived -t checks the golden keepalived.conf files (keepalived.test.ts
 * runs it over every golden file, these included).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBaseline } from '../test/support/baseline.js';
import { assertPrograms } from '../test/support/host.js';
import { commandLine } from './command.js';
import { compileCluster } from './compile.js';
import type { DesiredHost } from './desired.js';
import { NO_OWNERSHIP, type Ownership } from './diff.js';
import { waitForAddress } from './host-commands.js';
import { check } from './index.js';
import type { Cluster } from './ir.js';
import { KEEPALIVED_CONF, vrrpAddressesFromFile } from './keepalived.js';
import { buildPlan, type LiveHost } from './order.js';
import { isEmpty, type Plan, type Step } from './plan.js';
import type { AddressState, HostState } from './state.js';

const golden = new URL('./testdata/golden/', import.meta.url).pathname;

function load(text: string, path = 'cluster.lvs'): Cluster {
  const r = check([{ path, text }]);
  if (!r.cluster || r.diagnostics.length) throw new Error(r.diagnostics.map((d) => `${d.code}: ${d.summary}`).join('\n'));
  return r.cluster;
}
const file = (url: string) => readFileSync(new URL(url, import.meta.url), 'utf8');
const host = (desired: readonly DesiredHost[], name: string) => desired.find((h) => h.name === name)!;

test('ha-web: both directors run the same VRRP instances, as backup, lb1 preferred; the sync daemon follows the failover instance', (t) => {
  const desired = compileCluster(load(file('../examples/ha-web.lvs'), 'examples/ha-web.lvs'));
  const [lb1, lb2] = [host(desired, 'lb1'), host(desired, 'lb2')];
  for (const [h, priority] of [
    [lb1, 200],
    [lb2, 100],
  ] as const) {
    const v = h.keepalived!.vrrp!;
    t.deepEqual(v.syncGroup, ['lvsc_eth0', 'lvsc_eth1']);
    t.deepEqual(v.syncDaemon, { iface: 'eth1', instance: 'lvsc_eth0', id: 7 });
    t.deepEqual(
      v.instances.map((i) => [i.name, i.iface, i.routerId, i.priority, i.advert, i.preemptDelay, i.nopreempt, i.unicast, i.addresses, i.excluded]),
      [
        ['lvsc_eth0', 'eth0', 51, priority, '1', '60', false, undefined, ['10.3.0.100/24 dev eth0 no_track', '10.3.0.101/24 dev eth0 no_track', '10.3.0.102/24 dev eth0 no_track'], []],
        ['lvsc_eth1', 'eth1', 51, priority, '1', '60', false, undefined, ['192.168.30.1/32 dev eth1 no_track'], []],
      ],
    );
    const text = h.state.files[KEEPALIVED_CONF];
    t.is(text.match(/^ {2}state BACKUP$/gm)?.length, 2, `${h.name}: every instance starts as backup`);
    t.regex(text, /^ {2}lvs_sync_daemon eth1 lvsc_eth0 id 7$/m);
  }
});

test('both directors of a failover pair get one IPVS table; neither gets static VIPs, floating addresses or a sync daemon of lvsc\'s', (t) => {
  const desired = compileCluster(load(file('../examples/ha-web.lvs'), 'examples/ha-web.lvs'));
  const [lb1, lb2] = [host(desired, 'lb1'), host(desired, 'lb2')];
  t.deepEqual(lb1.state.ipvs, lb2.state.ipvs);
  t.is(lb1.state.ipvs!.length, 3);
  for (const h of [lb1, lb2]) {
    t.deepEqual(h.state.addresses, [], `${h.name}: keepalived holds the VIPs`);
    t.deepEqual(h.state.syncDaemons, [], `${h.name}: keepalived starts the sync daemons`);
    t.regex(h.state.files['/etc/default/ipvsadm'], /^DAEMON="none"$/m);
    // wlc and wrr would send a connection the new master has no state for to another server.
    t.false('net.ipv4.vs.sloppy_tcp' in h.state.sysctls);
  }
});

test('a pair by unicast, sub-second adverts, no failback, IPv6 and a routed VIP: the golden keepalived.conf of both directors', (t) => {
  const desired = compileCluster(load(file('./testdata/vrrp/unicast.lvs'), 'compiler/testdata/vrrp/unicast.lvs'));
  for (const name of ['lb1', 'lb2']) assertBaseline(t, join(golden, 'vrrp-unicast', name, 'files', KEEPALIVED_CONF), host(desired, name).state.files[KEEPALIVED_CONF]);
  const [i1, i2] = [host(desired, 'lb1'), host(desired, 'lb2')].map((h) => h.keepalived!.vrrp!.instances[0]);
  t.deepEqual([i1.unicast, i2.unicast], [
    { src: '10.7.0.2', peer: '10.7.0.3' },
    { src: '10.7.0.3', peer: '10.7.0.2' },
  ]);
  t.deepEqual([i1.version3, i1.advert, i1.nopreempt, i1.preemptDelay], [true, '0.5', true, undefined]);
  // The VIP inside the subnet gets its prefix (beside lvsc's old /32), the routed one a host prefix;
  // the IPv6 one moves with the IPv4 instance's state without being announced in its adverts.
  t.deepEqual([i1.addresses, i1.excluded], [['10.7.0.100/24 dev eth0 no_track', '198.51.100.7/32 dev eth0 no_track'], ['2001:db8:7::100/128 dev eth0 no_track']]);
  // Every TCP service hashes the client (sh, mh): a connection the new master has not synced goes on.
  t.is(host(desired, 'lb1').state.sysctls['net.ipv4.vs.sloppy_tcp'], '1');
});

// ------------------------------------------------------------------ VRRP state, not drift

const PAIR = (block: string) => `
host lb1 {
  interface eth0 10.8.0.2/24
  interface eth1 192.168.8.2/24
}
host lb2 {
  interface eth0 10.8.0.3/24
  interface eth1 192.168.8.3/24
}
host web1 { interface eth0 10.8.0.11/24 }
host app1 {
  interface eth0 192.168.8.21/24
  gateway 192.168.8.1
}
${block}
service www {
  vip 10.8.0.100 tcp 80
  forward dr
  check tcp
  server web1
}
`;
const STATIC = PAIR('director lb1 lb2 sync eth1 id 7');
const VRRP = PAIR(`director lb1 lb2 {
  failover vrrp 8 on eth0
  failback after 60s
  floating 192.168.8.1/24 on eth1
  sync eth1 id 7
}`);

/** The host a desired state describes, once applied: its files lvsc's (the manifest lists them). */
function appliedHost(d: DesiredHost, extra: Partial<HostState> = {}): LiveHost {
  const state: HostState = { ...d.state, ...extra };
  const ownership: Ownership = { ...NO_OWNERSHIP, files: new Set(Object.keys(d.state.files)), sysctls: new Set(Object.keys(d.state.sysctls)) };
  return { state, ownership };
}

/** keepalived's addresses on a director that is VRRP master, as keepalived adds them (no label). */
function keepalivedHolds(d: DesiredHost): AddressState[] {
  return d.vrrp!.addresses.map((a) => ({ dev: a.dev, address: a.address, prefix: a.prefix }));
}

const described = (plan: Plan, name: string) => plan.hosts.find((h) => h.host === name)!.steps.map((s) => `${s.action} ${s.kind} ${s.label} (${s.phase})`);

test('VRRP state is not drift: whichever director holds the VIPs, with the sync daemon in either role, the plan is empty', (t) => {
  const desired = compileCluster(load(VRRP));
  const [lb1, lb2] = [host(desired, 'lb1'), host(desired, 'lb2')];
  const master = (d: DesiredHost) => ({ addresses: keepalivedHolds(d), syncDaemons: [{ state: 'master' as const, mcastInterface: 'eth1', syncid: 7 }] });
  const backup = { addresses: [], syncDaemons: [{ state: 'backup' as const, mcastInterface: 'eth1', syncid: 7 }] };
  for (const [one, two] of [
    [master(lb1), backup],
    [backup, master(lb2)],
  ]) {
    const live = new Map([
      ['lb1', appliedHost(lb1, one)],
      ['lb2', appliedHost(lb2, two)],
    ]);
    const plan = buildPlan(desired.filter((d) => d.name === 'lb1' || d.name === 'lb2'), live);
    t.true(isEmpty(plan), JSON.stringify([described(plan, 'lb1'), described(plan, 'lb2')]));
  }
});

test('leaving VRRP with no checked service left: keepalived is stopped and takes its sync daemons with it, so no stop-daemon of lvsc\'s follows (ipvsadm would fail: no daemon is running)', (t) => {
  const vrrp = compileCluster(load(VRRP));
  const [v1, v2] = [host(vrrp, 'lb1'), host(vrrp, 'lb2')];
  const desired = compileCluster(load(PAIR('director lb1 lb2').replace('  check tcp\n', ''))).filter((d) => d.name === 'lb1' || d.name === 'lb2');
  const live = new Map([
    ['lb1', appliedHost(v1, { addresses: keepalivedHolds(v1), syncDaemons: [{ state: 'master' as const, mcastInterface: 'eth1', syncid: 7 }] })],
    ['lb2', appliedHost(v2, { syncDaemons: [{ state: 'backup' as const, mcastInterface: 'eth1', syncid: 7 }] })],
  ]);
  const plan = buildPlan(desired, live);
  for (const name of ['lb1', 'lb2']) {
    const steps = described(plan, name);
    t.true(steps.some((s) => s.startsWith(`delete file ${KEEPALIVED_CONF}`)), steps.join('\n'));
    t.false(steps.some((s) => s.includes('sync-daemon')), steps.join('\n'));
  }
});

// ------------------------------------------------------------------ static VIPs → VRRP → static

/** A static pair as lvsc left it: lb1 with the VIP /32 and (as an lvsc before VRRP did) the floating /24, labelled; lvsc's sync daemons. */
function staticPair() {
  const before = compileCluster(load(STATIC));
  const lb1 = host(before, 'lb1');
  const floating: AddressState = { dev: 'eth1', address: '192.168.8.1', prefix: 24, label: 'eth1:lvs' };
  return new Map([
    ['lb1', appliedHost(lb1, { addresses: [...lb1.state.addresses, floating] })],
    ['lb2', appliedHost(host(before, 'lb2'))],
  ]);
}

test('to VRRP: lb1 starts keepalived with the VIPs first (table), removes each static copy only once keepalived holds its own (unvip), then lb2 joins', (t) => {
  const desired = compileCluster(load(VRRP)).filter((d) => d.name === 'lb1' || d.name === 'lb2');
  const plan = buildPlan(desired, staticPair());
  const lb1 = plan.hosts.find((h) => h.host === 'lb1')!;
  const conf = lb1.steps.find((s) => s.kind === 'file' && s.id.path === KEEPALIVED_CONF)!;
  t.is(conf.phase, 'table');
  const handovers = lb1.steps.filter((s) => s.handover);
  t.deepEqual(
    handovers.map((s) => [s.action, s.label, s.phase]),
    [
      ['delete', 'eth0 10.8.0.100/32', 'unvip'],
      ['delete', 'eth1 192.168.8.1/24', 'unvip'],
    ],
  );
  // Each removal first waits for keepalived's own copy, a different kernel address (another prefix).
  t.deepEqual(
    handovers.map((s) => s.commands.map((c) => c.argv.slice(0, 1).concat(c.argv[0] === 'sh' ? c.argv.slice(4, 6) : c.argv.slice(1)))),
    [
      [['sh', 'eth0', '10.8.0.100/24'], ['ip', 'addr', 'del', '10.8.0.100/32', 'dev', 'eth0']],
      [['sh', 'eth1', '192.168.8.1/32'], ['ip', 'addr', 'del', '192.168.8.1/24', 'dev', 'eth1']],
    ],
  );
  t.is(PHASE_INDEX(conf) < PHASE_INDEX(handovers[0]), true);
  // The sync daemons lvsc started are left running: keepalived's lvs_sync_daemon takes them over.
  t.false(plan.hosts.some((h) => h.steps.some((s) => s.kind === 'sync-daemon')));
  // lb2 becomes a VRRP router only once lb1 is master with the VIPs: it joins as backup.
  t.true(plan.dependencies.some((d) => d.host === 'lb2' && d.phase === 'table' && d.after.host === 'lb1' && d.after.phase === 'unvip'));
  t.false(plan.dependencies.some((d) => d.host === 'lb1' && d.after.host === 'lb2'));
});

const PHASE_INDEX = (s: Step) => ['prepare', 'table', 'vip', 'unvip', 'drain', 'untable', 'cleanup'].indexOf(s.phase);

test('back to static VIPs: lb1 adds its static copies before any keepalived lets go of its own; keepalived\'s are never lvsc\'s to remove', (t) => {
  const vrrp = compileCluster(load(VRRP));
  const [v1, v2] = [host(vrrp, 'lb1'), host(vrrp, 'lb2')];
  const desired = compileCluster(load(STATIC)).filter((d) => d.name === 'lb1' || d.name === 'lb2');
  // After a failover: lb2 is master and holds keepalived's copies.
  for (const masterName of ['lb1', 'lb2']) {
    const live = new Map([
      ['lb1', appliedHost(v1, masterName === 'lb1' ? { addresses: keepalivedHolds(v1) } : {})],
      ['lb2', appliedHost(v2, masterName === 'lb2' ? { addresses: keepalivedHolds(v2) } : {})],
    ]);
    const plan = buildPlan(desired, live);
    const lb1 = plan.hosts.find((h) => h.host === 'lb1')!;
    const steps = described(plan, 'lb1');
    t.true(steps.includes('create address eth0 10.8.0.100/32 (vip)'), steps.join('\n'));
    t.false(steps.some((s) => s.startsWith('delete address')), steps.join('\n'));
    const conf = lb1.steps.find((s) => s.kind === 'file' && s.id.path === KEEPALIVED_CONF)!;
    t.is(conf.phase, 'vip', 'keepalived lets go after the static VIP is on (the keepalived unit runs last in its phase)');
    t.is(described(plan, 'lb2').find((s) => s.includes(KEEPALIVED_CONF)), `update file ${KEEPALIVED_CONF} (vip)`);
    t.true(plan.dependencies.some((d) => d.host === 'lb2' && d.phase === 'vip' && d.after.host === 'lb1' && d.after.phase === 'vip'));
    t.deepEqual([...vrrpAddressesFromFile(v1.state.files[KEEPALIVED_CONF])].sort(), ['eth0 10.8.0.100/24', 'eth1 192.168.8.1/32']);
  }
});

// ------------------------------------------------------------------ the handover in a real kernel

/** Runs a shell script in a network namespace of its own with a device eth0 (root and unshare needed). */
function inNamespace(script: string): { status: number | null; stdout: string; stderr: string } {
  assertPrograms('compiler/vrrp.test.ts', ['unshare', 'ip']);
  const r = spawnSync('unshare', ['-n', 'sh', '-c', `ip link add eth0 type veth peer name lvscpeer || exit 99\nip link set eth0 up\n${script}`], { encoding: 'utf8' });
  if (r.status === 99) throw new Error(`could not make eth0 in a namespace: ${r.stderr}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('in a real kernel, keepalived\'s copy and lvsc\'s static copy are two addresses; the static one goes only once keepalived\'s is there', (t) => {
  const desired = compileCluster(load(VRRP)).filter((d) => d.name === 'lb1' || d.name === 'lb2');
  const step = buildPlan(desired, staticPair()).hosts.find((h) => h.host === 'lb1')!.steps.find((s) => s.handover && s.kind === 'address' && s.id.dev === 'eth0')!;
  const [wait, del] = step.commands.map((c) => commandLine(c));
  // The handover waits in the background while "keepalived" (here: the test) adds its copy.
  const r = inNamespace(
    [
      'ip addr add 10.8.0.100/32 dev eth0 label eth0:lvs',
      `( ${wait} && ${del} ) & pid=$!`,
      'ip addr add 10.8.0.100/24 dev eth0',
      'wait "$pid" || exit 3',
      "ip -o -4 addr show dev eth0 | awk '{print $4}'",
    ].join('\n'),
  );
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['10.8.0.100/24']);
});

test('in a real kernel, without keepalived\'s copy the wait gives up after its bound and the static copy stays', (t) => {
  const wait = commandLine(waitForAddress({ dev: 'eth0', address: '10.8.0.100', prefix: 24 }, 1, 'keepalived did not take 10.8.0.100/24'));
  const r = inNamespace(['ip addr add 10.8.0.100/32 dev eth0 label eth0:lvs', `${wait} && ip addr del 10.8.0.100/32 dev eth0`, 'echo "status $?"', "ip -o -4 addr show dev eth0 | awk '{print $4}'"].join('\n'));
  t.deepEqual(r.stdout.trim().split('\n'), ['status 1', '10.8.0.100/32']);
  t.regex(r.stderr, /keepalived did not take 10\.8\.0\.100\/24/);
});

// ------------------------------------------------------------------ which director holds the VIPs, and faults

function pairPlan(one: Partial<HostState>, two: Partial<HostState>, running: [boolean, boolean], withFiles = true) {
  const desired = compileCluster(load(VRRP)).filter((d) => d.name === 'lb1' || d.name === 'lb2');
  const [lb1, lb2] = [host(desired, 'lb1'), host(desired, 'lb2')];
  const live = (d: DesiredHost, extra: Partial<HostState>, keepalivedRunning: boolean): LiveHost => {
    const applied = appliedHost(d, extra);
    return withFiles ? { ...applied, keepalivedRunning } : { ...applied, state: { ...applied.state, files: {} }, ownership: NO_OWNERSHIP, keepalivedRunning };
  };
  const master = (d: DesiredHost) => ({ addresses: keepalivedHolds(d) });
  return {
    plan: buildPlan(
      desired,
      new Map([
        ['lb1', live(lb1, one, running[0])],
        ['lb2', live(lb2, two, running[1])],
      ]),
    ),
    master,
    lb1,
    lb2,
  };
}

test('plan shows which director holds the VIPs, as VRRP state: no step, no fault', (t) => {
  const desired = compileCluster(load(VRRP));
  const lb2 = host(desired, 'lb2');
  const { plan } = pairPlan({}, { addresses: keepalivedHolds(lb2) }, [true, true]);
  t.true(isEmpty(plan));
  t.deepEqual(
    plan.hosts.map((h) => [h.host, h.vrrp]),
    [
      ['lb1', { role: 'backup', holds: [], keepalived: true }],
      ['lb2', { role: 'master', holds: ['192.168.8.1/32 dev eth1', '10.8.0.100/24 dev eth0'], keepalived: true }],
    ],
  );
  t.is(plan.faults, undefined);
});

test('a director whose keepalived is not running is a fault of the plan, unless the plan starts it', (t) => {
  const desired = compileCluster(load(VRRP));
  const { plan } = pairPlan({ addresses: keepalivedHolds(host(desired, 'lb1')) }, {}, [true, false]);
  t.deepEqual(plan.faults?.map((f) => f.hosts), [['lb2']]);
  t.regex(plan.faults![0].message, /^keepalived is not running on lb2: it cannot take the VIPs if the other director fails/);
  // A first apply installs keepalived.conf, whose unit starts keepalived: no fault then.
  const fresh = pairPlan({}, {}, [false, false], false).plan;
  t.true(fresh.hosts.every((h) => h.steps.some((s) => s.kind === 'file' && s.id.path === KEEPALIVED_CONF)));
  t.is(fresh.faults, undefined);
});

test('the VIPs on both directors (split brain), or on neither while keepalived runs on both, are faults', (t) => {
  const desired = compileCluster(load(VRRP));
  const [h1, h2] = [host(desired, 'lb1'), host(desired, 'lb2')];
  const both = pairPlan({ addresses: keepalivedHolds(h1) }, { addresses: keepalivedHolds(h2) }, [true, true]).plan;
  t.deepEqual(both.faults?.map((f) => f.hosts), [['lb1', 'lb2']]);
  t.regex(both.faults![0].message, /^both directors hold 192\.168\.8\.1\/32 dev eth1, 10\.8\.0\.100\/24 dev eth0 \(split brain/);
  const neither = pairPlan({}, {}, [true, true]).plan;
  t.true(isEmpty(neither));
  t.regex(neither.faults?.[0].message ?? '', /^neither director holds the VIPs, though keepalived runs on both/);
  const split = pairPlan({ addresses: keepalivedHolds(h1).slice(0, 1) }, { addresses: keepalivedHolds(h2).slice(1) }, [true, true]).plan;
  t.deepEqual(split.hosts.map((h) => h.vrrp?.role), ['partial', 'partial']);
  t.regex(split.faults?.[0].message ?? '', /^the VIPs are split between the directors/);
});

test('back to static VIPs where keepalived held the very kernel address (IPv6, a routed VIP): put back as lvsc\'s once keepalived lets go of it', (t) => {
  const vrrpText = file('./testdata/vrrp/unicast.lvs');
  const staticText = vrrpText.replace(/director lb1 lb2 \{[^}]*\}/, 'director lb1 lb2 sync eth0 id 9');
  const v1 = host(compileCluster(load(vrrpText)), 'lb1');
  const desired = compileCluster(load(staticText)).filter((d) => d.name === 'lb1');
  const plan = buildPlan(desired, new Map([['lb1', appliedHost(v1, { addresses: keepalivedHolds(v1) })]]));
  const lb1 = plan.hosts[0];
  t.deepEqual(
    described(plan, 'lb1').filter((s) => s.includes(' address ')),
    ['create address eth0 10.7.0.100/32 (vip)', 'update address eth0 2001:db8:7::100/128 (unvip)', 'update address eth0 198.51.100.7/32 (unvip)'],
  );
  const putBack = lb1.steps.find((s) => s.kind === 'address' && s.label === 'eth0 198.51.100.7/32')!;
  t.deepEqual(putBack.commands.map((c) => (c.argv[0] === 'sh' ? [...c.argv.slice(4, 6), c.argv[8]] : c.argv)), [
    ['eth0', '198.51.100.7/32', 'gone'],
    ['ip', 'addr', 'add', '198.51.100.7/32', 'dev', 'eth0', 'label', 'eth0:lvs'],
  ]);
  // keepalived lets go first: its stop (nothing else left for it) or its new keepalived.conf comes before, in the same or an earlier phase.
  const conf = lb1.steps.find((s) => s.kind === 'file' && s.id.path === KEEPALIVED_CONF)!;
  t.true(PHASE_INDEX(conf) <= PHASE_INDEX(putBack));
});
