/**
 * keepalived as the runtime engine of checked services:
 * - keepalived 2.2.7 itself (`keepalived -t`, its config test) accepts every
 *   keepalived.conf lvsc renders (the golden files), and splits an exec
 *   check's command line into exactly the words lvsc meant;
 * - the services keepalived runs are marked in the desired state and read
 *   back from the rendered file, and lvsc's ipvsadm diff never writes them,
 *   while services without checks on the same director stay lvsc's.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { assertPrograms } from '../test/support/host.js';
import { compileCluster } from './compile.js';
import { check } from './index.js';
import type { Cluster } from './ir.js';
import { KEEPALIVED_CONF, keepalivedServicesFromFile, type ServerHealth } from './keepalived.js';
import { buildPlan } from './order.js';
import { NO_OWNERSHIP, type Ownership } from './diff.js';
import type { Step, StepOf } from './plan.js';
import { serviceKey, type HostState, type IpvsService } from './state.js';
import { phaseUnits } from './units.js';

const KEEPALIVED = '/usr/sbin/keepalived';
const golden = new URL('./testdata/golden/', import.meta.url).pathname;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

const goldenConfigs = walk(golden)
  .filter((p) => p.endsWith(`/files${KEEPALIVED_CONF}`))
  .sort();

/** The network devices a keepalived.conf names (`interface D`, `dev D`, `lvs_sync_daemon D`): keepalived -t checks that they exist. */
function devices(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/^\s*(?:interface|lvs_sync_daemon) (\S+)|\sdev (\S+)$/gm)) out.add(m[1] ?? m[2]);
  return [...out].sort();
}

/**
 * `keepalived -t -f FILE`: its exit status and what it said (it reports on
 * stderr, or stdout with -l). In a network namespace of its own (`unshare
 * -n`, root needed) holding the devices the file names (veth pairs), as a
 * director has them.
 */
function configTest(text: string): { status: number | null; output: string } {
  assertPrograms('compiler/keepalived.test.ts', [KEEPALIVED, 'unshare']);
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-keepalived-'));
  try {
    const file = join(dir, 'keepalived.conf');
    writeFileSync(file, text);
    const script = 'k=$1 f=$2; shift 2; i=0; for d; do i=$((i+1)); ip link add "$d" type veth peer name "lvscpeer$i" || exit 99; done; exec "$k" -t -f "$f"';
    const r = spawnSync('unshare', ['-n', 'sh', '-c', script, 'sh', KEEPALIVED, file, ...devices(text)], { encoding: 'utf8' });
    if (r.status === 99) throw new Error(`could not make the devices ${devices(text).join(' ')} in a namespace: ${r.stderr}`);
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function load(text: string, path = 'cluster.lvs'): Cluster {
  const r = check([{ path, text }]);
  if (!r.cluster || r.diagnostics.length) throw new Error(r.diagnostics.map((d) => `${d.code}: ${d.summary}`).join('\n'));
  return r.cluster;
}

const example = (name: string) => load(readFileSync(new URL(`../examples/${name}`, import.meta.url), 'utf8'), `examples/${name}`);

test('the golden files hold keepalived.conf for ha-web (both directors), health-checks and the unicast failover pair (compiler/vrrp.test.ts)', (t) => {
  t.deepEqual(
    goldenConfigs.map((p) => relative(golden, p)),
    [
      'ha-web/lb1/files/etc/keepalived/keepalived.conf',
      'ha-web/lb2/files/etc/keepalived/keepalived.conf',
      'health-checks/lb1/files/etc/keepalived/keepalived.conf',
      'vrrp-unicast/lb1/files/etc/keepalived/keepalived.conf',
      'vrrp-unicast/lb2/files/etc/keepalived/keepalived.conf',
    ],
  );
});

for (const path of goldenConfigs) {
  test(`keepalived -t accepts ${relative(golden, path)}`, (t) => {
    const r = configTest(readFileSync(path, 'utf8'));
    t.is(r.status, 0, r.output);
    t.is(r.output.trim(), '', 'keepalived said nothing about the file');
  });
}

test('keepalived -t fails a file it cannot read as lvsc meant (the test can fail)', (t) => {
  const text = readFileSync(goldenConfigs[0], 'utf8').replace('lvs_sched wlc', 'lvs_schedd wlc');
  const r = configTest(text);
  t.not(r.status, 0);
  t.regex(r.output, /Unknown keyword 'lvs_schedd'/);
});

/**
 * keepalived prints a MISC_CHECK's command as it split it (each word in single
 * quotes) when the check names a user that does not exist: the words it would
 * execve.
 */
function miscCommands(conf: string): string[][] {
  const text = conf.replace(/^(\s*)(misc_path .*)$/gm, '$1$2\n$1user lvsc-no-such-user');
  const r = configTest(text);
  return [...r.output.matchAll(/Failed to set uid\/gid for misc checker script (.*) - removing/g)].map((m) => [...m[1].matchAll(/'([^']*)'/g)].map((w) => w[1]));
}

test('keepalived splits the exec check of health-checks into its program, its args and the server address and port', (t) => {
  const conf = readFileSync(join(golden, 'health-checks/lb1/files/etc/keepalived/keepalived.conf'), 'utf8');
  t.deepEqual(miscCommands(conf), [['/usr/local/lib/lvs-checks/smtp-ready', '--helo', 'lb1.example.org', '203.0.113.31', '25']]);
});

test('every character an exec check may hold reaches the program as written, one word per argument', (t) => {
  const args = ['--url=http://10.5.0.11:8080/a/b,c', 'user@host', '50%', '+x', 'a:b', '_', '-', '.', '/'];
  const c = load(`
host lb1 { interface eth0 10.5.0.2/24 }
host web1 { interface eth0 10.5.0.11/24 }
director lb1
service www {
  vip 10.5.0.100 tcp 80
  forward dr
  check exec "/opt/lvs_checks/check-web.v2+1" args ${args.map((a) => `"${a}"`).join(' ')}
  server web1
}
`);
  const lb1 = compileCluster(c).find((h) => h.name === 'lb1')!;
  t.deepEqual(miscCommands(lb1.state.files[KEEPALIVED_CONF]), [['/opt/lvs_checks/check-web.v2+1', ...args, '10.5.0.11', '80']]);
});

test('the services a rendered keepalived.conf names are exactly those the desired state gives keepalived', (t) => {
  for (const name of ['ha-web.lvs', 'health-checks.lvs']) {
    for (const h of compileCluster(example(name))) {
      const owned = (h.state.ipvs ?? []).filter((s) => s.owner === 'keepalived').map((s) => serviceKey(s.id));
      const file: string | undefined = h.state.files[KEEPALIVED_CONF];
      if (!owned.length || file === undefined) {
        t.deepEqual([owned, file], [[], undefined], `${name} ${h.name}: keepalived.conf exactly when keepalived runs a service`);
        continue;
      }
      t.deepEqual([...keepalivedServicesFromFile(file)].sort(), owned.sort(), `${name} ${h.name}`);
    }
  }
});

test('ha-web: a www server failing /healthz gets weight 0 about 5 s later, sorry1 stands by, api servers leave the table', (t) => {
  const lb1 = compileCluster(example('ha-web.lvs')).find((h) => h.name === 'lb1')!;
  const vs = (name: string) => lb1.keepalived!.virtualServers.find((v) => v.service === name)!;
  const www = vs('www');
  t.true(www.inhibitOnFailure);
  t.deepEqual(www.sorry, { address: '10.3.0.19 80', method: 'DR' });
  for (const rs of www.realServers) {
    const c = rs.checker!;
    t.deepEqual([c.keyword, c.url, c.connect], ['HTTP_GET', { path: '"/healthz"', status: '200', virtualhost: undefined }, { port: 80, timeout: '1' }]);
    // The first failing check comes on average half a period after the failure, then `retry` more, a period apart.
    const seconds = Number(c.delayLoop) / 2 + c.retry * Number(c.delayBeforeRetry);
    t.is(seconds, 5);
  }
  t.deepEqual(www.realServers.map((r) => [r.host, r.weight]), [
    ['web1', 3],
    ['web2', 1],
  ]);
  const api = vs('api');
  t.false(api.inhibitOnFailure);
  t.deepEqual(api.realServers.map((r) => [r.host, r.address, r.method, r.checker?.keyword, r.checker?.connect?.port]), [
    ['app1', '192.168.30.21 8443', 'NAT', 'TCP_CHECK', 8443],
    ['app2', '192.168.30.22 8443', 'NAT', 'SSL_GET', 8443],
  ]);
  const dns = vs('dns');
  t.deepEqual([dns.protocol, dns.flags, dns.realServers.map((r) => r.checker?.dns)], ['UDP', ['ops'], [{ type: 'A', name: '"health.example.org"' }, { type: 'A', name: '"health.example.org"' }]]);
  // The NAT servers route through the floating gateway, which the active director holds.
  const app1 = compileCluster(example('ha-web.lvs')).find((h) => h.name === 'app1')!;
  t.deepEqual(app1.state.routes.map((r) => [r.dst, r.via]), [['default', '192.168.30.1']]);
  // keepalived holds it (VRRP), as a host address beside lb1's own 192.168.30.2/24; lvsc puts no static copy there.
  t.deepEqual(lb1.vrrp?.addresses.find((a) => a.address === '192.168.30.1'), { dev: 'eth1', address: '192.168.30.1', prefix: 32, family: 4, staticPrefix: 24 });
  t.false(lb1.state.addresses.some((a) => a.address === '192.168.30.1'));
});

// ------------------------------------------------------------------ one writer per entry

/** lb1 with a checked service (www) and an unchecked one (mail). */
const MIXED = `
host lb1 { interface eth0 10.6.0.2/24 }
host web1 { interface eth0 10.6.0.11/24 }
host web2 { interface eth0 10.6.0.12/24 }
host sorry1 { interface eth0 10.6.0.19/24 }
director lb1
service www {
  vip 10.6.0.100 tcp 80
  forward dr
  check tcp
  sorry sorry1
  server web1 weight 3
  server web2
}
service mail {
  vip 10.6.0.101 tcp 25
  forward dr
  server web1
}
`;

function mixed() {
  const desired = compileCluster(load(MIXED));
  const lb1 = desired.find((h) => h.name === 'lb1')!;
  const entry = (vip: string) => lb1.state.ipvs!.find((s) => s.id.kind === 'addr' && s.id.address === vip)!;
  return { desired, lb1, www: entry('10.6.0.100'), mail: entry('10.6.0.101') };
}

/** lvsc's keepalived.conf on the host: what keepalived runs there. */
const LVSC_FILE: Ownership = { ...NO_OWNERSHIP, files: new Set([KEEPALIVED_CONF]) };

function lb1Plan(desired: ReturnType<typeof mixed>['desired'], live: HostState, ownership: Ownership = NO_OWNERSHIP, health?: readonly ServerHealth[]) {
  return buildPlan(
    desired.filter((h) => h.name === 'lb1'),
    new Map([['lb1', { state: live, ownership, ...(health ? { health } : {}) }]]),
  ).hosts[0].steps;
}

function lb1Steps(desired: ReturnType<typeof mixed>['desired'], live: HostState, ownership: Ownership = NO_OWNERSHIP, health?: readonly ServerHealth[]) {
  return lb1Plan(desired, live, ownership, health).map((s) => `${s.action} ${s.kind} ${s.label}`);
}

test('a checked service is keepalived\'s, an unchecked one on the same director stays lvsc\'s', (t) => {
  const { lb1, www, mail } = mixed();
  t.is(www.owner, 'keepalived');
  t.is(mail.owner, undefined);
  // The rules file that ipvsadm restores at boot holds lvsc's service only; keepalived.conf keepalived's.
  t.notRegex(lb1.state.files['/etc/ipvsadm.rules'], /10\.6\.0\.100/);
  t.regex(lb1.state.files['/etc/ipvsadm.rules'], /-A -t 10\.6\.0\.101:25 -s wlc/);
  t.deepEqual([...keepalivedServicesFromFile(lb1.state.files[KEEPALIVED_CONF])], ['tcp 10.6.0.100:80']);
  t.regex(lb1.state.files['/etc/default/keepalived'], /^DAEMON_ARGS="--dont-release-ipvs"$/m);
});

test('from an empty director, ipvsadm creates only the unchecked service; keepalived.conf is rendered', (t) => {
  const { desired, lb1 } = mixed();
  const steps = lb1Steps(desired, { ...lb1.state, ipvs: [], files: {} });
  t.true(steps.includes('create ipvs-service tcp 10.6.0.101:25'), steps.join('\n'));
  t.deepEqual(
    steps.filter((s) => s.includes('10.6.0.100:80') && s.includes('ipvs')),
    [],
  );
  t.true(steps.includes(`create file ${KEEPALIVED_CONF}`));
});

test('what keepalived made of a checked service (a server quiesced, the sorry server in) is no change for lvsc', (t) => {
  const { desired, lb1, www } = mixed();
  const asKeepalivedLeftIt: IpvsService = {
    ...www,
    destinations: [{ ...www.destinations[0], weight: 0 }, { address: '10.6.0.19', port: 80, method: 'dr', weight: 1, upper: 0, lower: 0 }],
  };
  const live = { ...lb1.state, ipvs: lb1.state.ipvs!.map((s) => (s === www ? asKeepalivedLeftIt : s)) };
  t.deepEqual(lb1Steps(desired, live), []);
});


const shown = (steps: readonly Step[]) => steps.map((s) => `${s.phase}: ${s.action} ${s.kind} ${s.label}${s.writer ? ` (${s.writer})` : ''}${s.commands.length ? `: ${s.commands.map((c) => c.argv.slice(0, 2).join(' ')).join(', ')}` : ''}`);

test('a checked service gone from the file leaves with keepalived.conf at once (keepalived -t refuses a service whose servers all have weight 0)', (t) => {
  const { desired, lb1, www } = mixed();
  const gone: IpvsService = { ...www, id: { kind: 'addr', proto: 'tcp', address: '10.6.0.200', port: 80 } };
  const oldConf = lb1.state.files[KEEPALIVED_CONF].replace('virtual_server 10.6.0.100 80 {', 'virtual_server 10.6.0.200 80 {');
  const live: HostState = { ...lb1.state, ipvs: [...lb1.state.ipvs!, gone], files: { ...lb1.state.files, [KEEPALIVED_CONF]: oldConf } };
  t.deepEqual(shown(lb1Plan(desired, live, LVSC_FILE)), [`table: update file ${KEEPALIVED_CONF}`]);
  // Why it cannot drain there: keepalived's config test fails a service of weight-0 servers.
  const zero = 'global_defs {\n  router_id lb1\n}\nvirtual_server 10.6.0.200 80 {\n  protocol TCP\n  lvs_sched wlc\n  lvs_method DR\n  real_server 10.6.0.11 80 {\n    weight 0\n  }\n}\n';
  const tested = configTest(zero);
  t.not(tested.status, 0);
  t.regex(tested.output, /quorum 1 for \[10\.6\.0\.200\]:tcp:80 exceeds total weight of real servers 0/);
  // The same entry with no keepalived.conf of lvsc's naming it is an IPVS entry like any other on a director: lvsc removes it.
  const unowned = lb1Steps(desired, live, NO_OWNERSHIP);
  t.true(unowned.includes('delete ipvs-service tcp 10.6.0.200:80'), unowned.join('\n'));
});

test('a server removed from a checked service drains through keepalived; the sorry server keepalived added is not drained', (t) => {
  const { desired, lb1, www } = mixed();
  const web3 = { ...www.destinations[1], address: '10.6.0.13' };
  const sorry = { ...www.destinations[1], address: '10.6.0.19' };
  const withWeb3 = lb1.state.files[KEEPALIVED_CONF].replace('\n  # web2\n', '\n  # web3\n  real_server 10.6.0.13 80 {\n    weight 1\n  }\n\n  # web2\n');
  const live: HostState = { ...lb1.state, ipvs: lb1.state.ipvs!.map((s) => (s === www ? { ...www, destinations: [...www.destinations, web3, sorry] } : s)), files: { ...lb1.state.files, [KEEPALIVED_CONF]: withWeb3 } };
  const steps = lb1Plan(desired, live, LVSC_FILE);
  t.deepEqual(shown(steps), [`table: update file ${KEEPALIVED_CONF}`, 'drain: delete ipvs-destination 10.6.0.13:80 → tcp 10.6.0.100:80 (keepalived)', `drain: update file ${KEEPALIVED_CONF}`]);
  const draining = (steps[0] as StepOf<'file'>).after!;
  const www80 = draining.slice(draining.indexOf('virtual_server 10.6.0.100 80'), draining.indexOf('virtual_server 10.6.0.101'));
  t.regex(www80, /# draining: no longer in the cluster file[^\n]*\n {2}real_server 10\.6\.0\.13 80 \{\n {4}weight 0\n/);
  t.regex(www80, /sorry_server 10\.6\.0\.19 80/);
  t.is(configTest(draining).status, 0, configTest(draining).output);
  // Apply: keepalived.conf reloaded last in the table phase; in the drain phase the table read until keepalived has it at weight 0,
  // the wait, keepalived.conf without it reloaded, and the table read until it is gone.
  t.is(phaseUnits(steps.filter((s) => s.phase === 'table')).at(-1)?.kind, 'keepalived');
  t.deepEqual(
    phaseUnits(steps.filter((s) => s.phase === 'drain')).map((u) => (u.kind === 'settled' ? `settled ${u.expect}` : u.kind)),
    ['settled weight-zero', 'wait', 'keepalived', 'settled done'],
  );
  // Once it is gone from the table (drained and removed), nothing is left to do.
  const after: HostState = { ...lb1.state, ipvs: lb1.state.ipvs!.map((s) => (s === www ? { ...www, destinations: [...www.destinations, sorry] } : s)) };
  t.deepEqual(lb1Steps(desired, after, LVSC_FILE), []);
});

test('a server keepalived believes in that the kernel lost is put back with ipvsadm -a as keepalived has it: up at its weight, down at 0 (quiesce)', (t) => {
  const { desired, lb1, www } = mixed();
  const lost: HostState = { ...lb1.state, ipvs: lb1.state.ipvs!.map((s) => (s === www ? { ...www, destinations: www.destinations.slice(1) } : s)) };
  const restore = (health: ServerHealth[]) => shown(lb1Plan(desired, lost, LVSC_FILE, health));
  t.deepEqual(restore([wwwHealth(www, 0, 'up')]), ['table: create ipvs-destination 10.6.0.11:80 → tcp 10.6.0.100:80: ipvsadm -a']);
  t.deepEqual(lb1Plan(desired, lost, LVSC_FILE, [wwwHealth(www, 0, 'up')])[0].commands[0].argv, ['ipvsadm', '-a', '-t', '10.6.0.100:80', '-r', '10.6.0.11:80', '-g', '-w', '3']);
  // Down in a quiesce service: keepalived keeps it at weight 0, and will raise it there when it passes again.
  t.deepEqual(lb1Plan(desired, lost, LVSC_FILE, [wwwHealth(www, 0, 'down')])[0].commands[0].argv, ['ipvsadm', '-a', '-t', '10.6.0.100:80', '-r', '10.6.0.11:80', '-g', '-w', '0']);
  // Down with on-failure remove: keepalived took it out itself.
  const removing = compileCluster(load(MIXED.replace('  check tcp\n', '  check tcp\n  on-failure remove\n')));
  t.deepEqual(lb1Steps(removing, lost, LVSC_FILE, [wwwHealth(www, 0, 'down')]).filter((s) => s.includes('ipvs')), []);
  // No record yet (not checked once since keepalived started), or a keepalived.conf that does not name it (added in this run): keepalived's to add.
  t.deepEqual(restore([]), []);
  t.deepEqual(lb1Steps(desired, lost, NO_OWNERSHIP, [wwwHealth(www, 0, 'up')]), []);
  // The whole service lost: put back, then its servers keepalived has.
  const gone: HostState = { ...lb1.state, ipvs: lb1.state.ipvs!.filter((s) => s !== www) };
  t.deepEqual(shown(lb1Plan(desired, gone, LVSC_FILE, [wwwHealth(www, 0, 'up'), wwwHealth(www, 1, 'down')])), [
    'table: create ipvs-service tcp 10.6.0.100:80: ipvsadm -A',
    'table: create ipvs-destination 10.6.0.11:80 → tcp 10.6.0.100:80: ipvsadm -a',
    'table: create ipvs-destination 10.6.0.12:80 → tcp 10.6.0.100:80: ipvsadm -a',
  ]);
});

test('no checked service left: keepalived is stopped (its entries stay), keepalived.conf removed, and lvsc\'s ipvsadm takes the entries over after the stop', (t) => {
  const { lb1, www } = mixed();
  const unchecked = compileCluster(load(MIXED.replace('  check tcp\n  sorry sorry1\n', '')));
  const sorry = { ...www.destinations[1], address: '10.6.0.19' };
  // As keepalived left it: web1 quiesced, the sorry server in.
  const live: HostState = { ...lb1.state, ipvs: lb1.state.ipvs!.map((s) => (s === www ? { ...www, destinations: [{ ...www.destinations[0], weight: 0 }, www.destinations[1], sorry] } : s)) };
  const steps = lb1Plan(unchecked, live, { ...NO_OWNERSHIP, files: new Set(Object.keys(lb1.state.files)) });
  t.deepEqual(
    shown(steps.filter((s) => s.kind !== 'file' || s.id.path === KEEPALIVED_CONF)),
    [
      'table: update ipvs-destination 10.6.0.11:80 → tcp 10.6.0.100:80: ipvsadm -e',
      `table: delete file ${KEEPALIVED_CONF}: sh -c, rm -f`,
      'drain: delete ipvs-destination 10.6.0.19:80 → tcp 10.6.0.100:80: ipvsadm -e, ipvsadm -d',
    ],
  );
  const units = phaseUnits(steps.filter((s) => s.phase === 'table'));
  t.is(units[0].kind, 'keepalived-stop', 'keepalived stopped before any edit of the table');
  t.true(units.slice(1).every((u) => u.kind !== 'keepalived-stop'));
  t.regex(steps.find((s) => s.kind === 'file' && s.id.path === KEEPALIVED_CONF)!.commands[0].argv[2], /--dont-release-ipvs/);
  t.notRegex(steps.flatMap((s) => s.commands.map((c) => c.argv.join(' '))).join('\n'), /restart|ipvsadm -C|lvs_flush/);
});

test('drift in an unchecked service beside a checked one is still lvsc\'s to put back', (t) => {
  const { desired, lb1, mail } = mixed();
  const drifted: IpvsService = { ...mail, destinations: [{ ...mail.destinations[0], weight: 7 }] };
  const live = { ...lb1.state, ipvs: lb1.state.ipvs!.map((s) => (s === mail ? drifted : s)) };
  t.deepEqual(lb1Steps(desired, live), ['update ipvs-destination 10.6.0.11:25 → tcp 10.6.0.101:25']);
});

/** keepalived's record of one www server (10.6.0.100:80). */
function wwwHealth(www: IpvsService, dest: number, state: ServerHealth['state']): ServerHealth {
  const d = www.destinations[dest];
  return { state, service: www.id, dest: { address: d.address, port: d.port }, since: 1_700_000_000 };
}

test('health is not drift: a checked server keepalived reports down, quiesced or gone from the table, is no step', (t) => {
  const { desired, lb1, www } = mixed();
  const quiesced: IpvsService = { ...www, destinations: [{ ...www.destinations[0], weight: 0 }, ...www.destinations.slice(1)] };
  const removed: IpvsService = { ...www, destinations: www.destinations.slice(1) };
  for (const entry of [quiesced, removed]) {
    const live = { ...lb1.state, ipvs: lb1.state.ipvs!.map((s) => (s === www ? entry : s)) };
    t.deepEqual(lb1Steps(desired, live, NO_OWNERSHIP, [wwwHealth(www, 0, 'down')]), []);
  }
});

test('a hand edit of the weight of a server keepalived reports up is drift, put back with ipvsadm -e to the declared weight', (t) => {
  const { desired, lb1, www } = mixed();
  const declared = www.destinations[0];
  const edited: IpvsService = { ...www, destinations: [{ ...declared, weight: declared.weight + 4 }, ...www.destinations.slice(1)] };
  const live = { ...lb1.state, ipvs: lb1.state.ipvs!.map((s) => (s === www ? edited : s)) };
  const steps = lb1Plan(desired, live, LVSC_FILE, [wwwHealth(www, 0, 'up')]);
  t.deepEqual(
    steps.map((s) => ({ action: s.action, kind: s.kind, label: s.label, reason: s.reason, argv: s.commands.map((c) => c.argv.join(' ')) })),
    [
      {
        action: 'update',
        kind: 'ipvs-destination',
        label: `${declared.address}:${declared.port} → tcp 10.6.0.100:80`,
        reason: `weight ${declared.weight + 4} → ${declared.weight} (keepalived reports it up: changed by hand)`,
        // ipvsadm -e restates the attributes: DR, the declared weight, no thresholds.
        argv: ['ipvsadm -e -t 10.6.0.100:80 -r 10.6.0.11:80 -g -w 3'],
      },
    ],
  );
  // The same weight with keepalived saying the server is down (or saying nothing yet) is keepalived's business.
  t.deepEqual(lb1Steps(desired, live, LVSC_FILE, [wwwHealth(www, 0, 'down')]), []);
  t.deepEqual(lb1Steps(desired, live, LVSC_FILE, []), []);
  // Another server's record says nothing about this one.
  t.deepEqual(lb1Steps(desired, live, LVSC_FILE, [wwwHealth(www, 1, 'up')]), []);
  // A weight the file changes: keepalived.conf on the host still has the old one, and keepalived's reload sets the new one.
  const oldConf = live.files[KEEPALIVED_CONF].replace(`real_server ${declared.address} 80 {\n    weight ${declared.weight}\n`, `real_server ${declared.address} 80 {\n    weight ${declared.weight + 4}\n`);
  t.not(oldConf, live.files[KEEPALIVED_CONF]);
  t.deepEqual(lb1Steps(desired, { ...live, files: { ...live.files, [KEEPALIVED_CONF]: oldConf } }, LVSC_FILE, [wwwHealth(www, 0, 'up')]), [`update file ${KEEPALIVED_CONF}`]);
});

test('a checked server keepalived reports down is listed under its director as health, with no step; up ones and unchecked services are not', (t) => {
  const { desired, lb1, www, mail } = mixed();
  const quiesced: IpvsService = { ...www, destinations: [{ ...www.destinations[0], weight: 0 }, ...www.destinations.slice(1)] };
  const live = { ...lb1.state, ipvs: lb1.state.ipvs!.map((s) => (s === www ? quiesced : s)) };
  const mailDown: ServerHealth = { state: 'down', service: mail.id, dest: { address: mail.destinations[0].address, port: 25 }, since: 1_700_000_000 };
  const plan = buildPlan(
    desired.filter((h) => h.name === 'lb1'),
    new Map([['lb1', { state: live, ownership: NO_OWNERSHIP, health: [wwwHealth(www, 0, 'down'), wwwHealth(www, 1, 'up'), mailDown] }]]),
  );
  t.deepEqual(plan.hosts[0].steps, []);
  t.deepEqual(plan.hosts[0].down, [{ service: www.id, dest: { address: '10.6.0.11', port: 80 }, label: '10.6.0.11:80 → tcp 10.6.0.100:80', since: 1_700_000_000 }]);
  // No report, or only up ones: nothing listed.
  t.is(buildPlan(desired.filter((h) => h.name === 'lb1'), new Map([['lb1', { state: live, ownership: NO_OWNERSHIP, health: [wwwHealth(www, 1, 'up')] }]])).hosts[0].down, undefined);
});
