/**
 * A failover pair's keepalived.conf, as lvsc renders it, run by the real
 * keepalived 2.2.7 (VRRP only: this machine has no IPVS) in two network
 * namespaces joined by veth pairs, one per interface of the directors: lb1
 * becomes master and holds the VIP and the floating address, plan reads that
 * (the real address and keepalived facts) as VRRP state, not drift; when
 * lb1's keepalived stops, lb2 takes every address (the measured time is
 * logged) and plan names lb1's stopped keepalived as a fault; and a move from
 * static VIPs keeps the address on lb1 throughout: keepalived's start leaves
 * lvsc's static copies alone, and the plan's handover removes them once
 * keepalived's are on.
 *
 * Needs root, `ip netns` and keepalived; fails (does not skip) without them.
 * Each test deletes the namespaces and stops the keepalived processes it made.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressesFact } from '../agent/facts/addresses.js';
import { keepalivedFact } from '../agent/facts/keepalived.js';
import { readFact } from '../agent/facts/fact.js';
import { execIn, execLocal } from '../lab/netns-sshd.js';
import { assertPrograms } from '../test/support/host.js';
import { commandLine } from './command.js';
import { compileCluster } from './compile.js';
import type { DesiredHost } from './desired.js';
import { NO_OWNERSHIP } from './diff.js';
import { check } from './index.js';
import { KEEPALIVED_CONF } from './keepalived.js';
import { buildPlan, type LiveHost } from './order.js';
import { isEmpty } from './plan.js';
import type { AddressState } from './state.js';

const KEEPALIVED = '/usr/sbin/keepalived';

const CLUSTER = `
host lb1 {
  interface eth0 10.9.0.2/24
  interface eth1 192.168.9.2/24
}
host lb2 {
  interface eth0 10.9.0.3/24
  interface eth1 192.168.9.3/24
}
host web1 { interface eth0 10.9.0.11/24 }
host app1 {
  interface eth0 192.168.9.21/24
  gateway 192.168.9.1
}
director lb1 lb2 {
  failover vrrp 9 on eth0
  advert 200ms
  failback after 30s
  floating 192.168.9.1/24 on eth1
}
service www {
  vip 10.9.0.100 tcp 80
  forward dr
  server web1
}
service api {
  vip 10.9.0.101 tcp 443
  forward nat
  server app1
}
`;

function compiled(): DesiredHost[] {
  // Without sync (this machine has no IPVS for keepalived's sync daemon): only that warning.
  const r = check([{ path: 'pair.lvs', text: CLUSTER }]);
  if (!r.cluster || r.diagnostics.some((d) => d.code !== 'failback-resync')) throw new Error(r.diagnostics.map((d) => `${d.code}: ${d.summary}`).join('\n'));
  return compileCluster(r.cluster).filter((d) => d.name === 'lb1' || d.name === 'lb2');
}

async function run(argv: string[]): Promise<string> {
  const r = await execLocal(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Two namespaces, `PREFIX-lb1` and `PREFIX-lb2`, each with eth0 and eth1, joined device to device, addressed as the cluster says. */
async function pairOfNamespaces(t: ExecutionContext, desired: readonly DesiredHost[], prefix: string): Promise<Record<string, string>> {
  assertPrograms('compiler/vrrp-keepalived.test.ts', ['ip', KEEPALIVED]);
  const ns = { lb1: `${prefix}-lb1`, lb2: `${prefix}-lb2` };
  for (const n of Object.values(ns)) {
    await execLocal(['ip', 'netns', 'del', n]);
    await run(['ip', 'netns', 'add', n]);
    t.teardown(() => execLocal(['ip', 'netns', 'del', n]).then(() => undefined));
    await run(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  }
  const addrs: Record<string, Record<string, string>> = {
    lb1: { eth0: '10.9.0.2/24', eth1: '192.168.9.2/24' },
    lb2: { eth0: '10.9.0.3/24', eth1: '192.168.9.3/24' },
  };
  for (const dev of ['eth0', 'eth1']) {
    await run(['ip', 'link', 'add', dev, 'netns', ns.lb1, 'type', 'veth', 'peer', 'name', dev, 'netns', ns.lb2]);
    for (const h of ['lb1', 'lb2'] as const) {
      await run(['ip', '-n', ns[h], 'addr', 'add', addrs[h][dev], 'dev', dev]);
      await run(['ip', '-n', ns[h], 'link', 'set', dev, 'up']);
    }
  }
  t.is(desired.length, 2);
  return ns;
}

/** keepalived for one director, VRRP only, in the foreground, with its files in `dir`; stopped at the end of the test. */
function startKeepalived(t: ExecutionContext, ns: string, dir: string, name: string, conf: string): { child: ChildProcess; pidFile: string; stop: () => Promise<void> } {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  const pidFile = join(dir, `${name}.pid`);
  const child = spawn('ip', ['netns', 'exec', ns, KEEPALIVED, '-n', '-l', '-D', '--vrrp', '-f', file, '-p', pidFile, '-r', join(dir, `${name}.vrrp.pid`)], { stdio: ['ignore', 'ignore', process.env.LVSC_KEEPALIVED_LOG ? 'inherit' : 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  t.teardown(stop);
  return { child, pidFile, stop };
}

/** The addresses of a namespace, read by lvsc's own address fact. */
async function addresses(ns: string): Promise<AddressState[]> {
  const r = await execIn(ns, ['ip', '-j', 'addr', 'show']);
  const f = readFact(addressesFact, { stdout: r.stdout, stderr: r.stderr, status: r.code });
  if (!f.ok) throw new Error(`addresses of ${ns}: ${f.error.message}`);
  return f.value;
}

/** Whether keepalived runs by its pid file, read by lvsc's keepalived fact. */
async function keepalivedRunning(pidFile: string, dir: string): Promise<boolean> {
  const fact = keepalivedFact(join(dir, 'health'), pidFile);
  const c = fact.command();
  const r = await execLocal([...c.argv]);
  const f = readFact(fact, { stdout: r.stdout, stderr: r.stderr, status: r.code });
  if (!f.ok) throw new Error(`keepalived fact: ${f.error.message}`);
  return f.value.running !== null;
}

/**
 * A loop in the namespace that writes `gone ADDRESS` for each time it finds
 * one of the cluster's VIPs or its floating address absent (any prefix);
 * `stop` ends it and returns what it wrote.
 */
function watchAddresses(t: ExecutionContext, ns: string, dir: string): { stop: () => Promise<string> } {
  const watch = join(dir, 'watch');
  const stopFile = join(dir, 'stop-watching');
  const watcher = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', `while [ ! -e "$1" ]; do a=$(ip -o addr show); for x in 10.9.0.100 10.9.0.101 192.168.9.1; do case $a in *" $x/"*) ;; *) echo "gone $x" ;; esac; done; done > "$2"`, 'sh', stopFile, watch], { stdio: 'ignore' });
  const watched = new Promise<void>((resolve) => watcher.once('exit', () => resolve()));
  const stop = async () => {
    writeFileSync(stopFile, '');
    await watched;
    return readFileSync(watch, 'utf8');
  };
  t.teardown(async () => {
    await stop();
  });
  return { stop };
}

const holds = (live: readonly AddressState[], d: DesiredHost) => d.vrrp!.addresses.filter((a) => live.some((l) => l.dev === a.dev && l.address === a.address && l.prefix === a.prefix)).length;

/** Polls `check` every 20 ms until it holds; fails after `boundMs` (a bound for a loaded machine, not a timing under test). */
async function until(what: string, check: () => Promise<boolean>, boundMs = 60_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > boundMs) throw new Error(`not within ${boundMs / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The live hosts a plan reads: the desired state as applied, with the addresses and keepalived state as read. */
function liveOf(d: DesiredHost, addressesRead: readonly AddressState[], running: boolean): LiveHost {
  const ownership = { ...NO_OWNERSHIP, files: new Set(Object.keys(d.state.files)), sysctls: new Set(Object.keys(d.state.sysctls)) };
  // Only lvsc's own addresses and keepalived's count: the namespace's own interface addresses are the operator's.
  return { state: { ...d.state, addresses: addressesRead.filter((a) => a.dev !== 'lo') }, ownership, keepalivedRunning: running };
}

test.serial('real keepalived: lb1 becomes master with every address, plan calls it VRRP state; lb1 stops, lb2 takes them all, plan names the fault', async (t) => {
  const desired = compiled();
  const [lb1, lb2] = desired;
  const ns = await pairOfNamespaces(t, desired, 'lvsc-vr');
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-vrrp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const k1 = startKeepalived(t, ns.lb1, dir, 'lb1', lb1.state.files[KEEPALIVED_CONF]);
  await until('lb1 holds every VRRP address', async () => holds(await addresses(ns.lb1), lb1) === lb1.vrrp!.addresses.length);
  const k2 = startKeepalived(t, ns.lb2, dir, 'lb2', lb2.state.files[KEEPALIVED_CONF]);
  await until('keepalived runs on lb2', () => keepalivedRunning(k2.pidFile, dir));

  const plan = async (running1: boolean, running2: boolean) =>
    buildPlan(
      desired,
      new Map([
        ['lb1', liveOf(lb1, await addresses(ns.lb1), running1)],
        ['lb2', liveOf(lb2, await addresses(ns.lb2), running2)],
      ]),
    );
  const before = await plan(await keepalivedRunning(k1.pidFile, dir), await keepalivedRunning(k2.pidFile, dir));
  t.true(isEmpty(before), JSON.stringify(before.hosts.map((h) => h.steps.map((s) => s.label))));
  t.deepEqual(before.hosts.map((h) => [h.host, h.vrrp?.role, h.vrrp?.keepalived]), [
    ['lb1', 'master', true],
    ['lb2', 'backup', true],
  ]);
  t.is(before.faults, undefined);

  // lb1's keepalived stops: it lets go of the addresses, and lb2 takes every one of them.
  const stopped = Date.now();
  await k1.stop();
  const taken = await until('lb2 holds every VRRP address', async () => holds(await addresses(ns.lb2), lb2) === lb2.vrrp!.addresses.length);
  t.log(`failover: lb2 held every address ${Date.now() - stopped} ms after lb1's keepalived was told to stop (advert 200ms), polled ${taken} ms`);
  t.is(holds(await addresses(ns.lb1), lb1), 0, 'lb1 no longer holds any');
  const after = await plan(await keepalivedRunning(k1.pidFile, dir), true);
  t.deepEqual(after.hosts.map((h) => [h.host, h.vrrp?.role, h.vrrp?.keepalived]), [
    ['lb1', 'backup', false],
    ['lb2', 'master', true],
  ]);
  t.deepEqual(after.faults?.map((f) => f.hosts), [['lb1']]);
  t.true(after.hosts.every((h) => h.steps.length === 0), 'a failover is no change');
});

test.serial('real keepalived: from static VIPs, keepalived starts beside lvsc\'s copies, and the handover removes them only once keepalived holds its own; the address is never gone', async (t) => {
  const desired = compiled();
  const [lb1] = desired;
  const ns = await pairOfNamespaces(t, desired, 'lvsc-vh');
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-vrrp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // lb1 as a static pair left it: the VIPs /32 and the floating address /24, labelled as lvsc's.
  const statics: AddressState[] = [
    { dev: 'eth0', address: '10.9.0.100', prefix: 32, label: 'eth0:lvs' },
    { dev: 'eth0', address: '10.9.0.101', prefix: 32, label: 'eth0:lvs' },
    { dev: 'eth1', address: '192.168.9.1', prefix: 24, label: 'eth1:lvs' },
  ];
  for (const a of statics) await run(['ip', '-n', ns.lb1, 'addr', 'add', `${a.address}/${a.prefix}`, 'dev', a.dev, 'label', a.label!]);
  // A watcher in lb1's namespace, from before keepalived starts: a line for each moment an address is gone.
  const watcher = watchAddresses(t, ns.lb1, dir);

  // The plan from that state (its handover steps), against the addresses as read.
  const live = new Map([['lb1', { ...liveOf(lb1, await addresses(ns.lb1), false), state: { ...lb1.state, files: {}, addresses: await addresses(ns.lb1) } }]]);
  const steps = buildPlan([lb1], live).hosts[0].steps.filter((s) => s.handover);
  t.deepEqual(steps.map((s) => s.label).sort(), ['eth0 10.9.0.100/32', 'eth0 10.9.0.101/32', 'eth1 192.168.9.1/24']);

  startKeepalived(t, ns.lb1, dir, 'lb1', lb1.state.files[KEEPALIVED_CONF]);
  // Run as apply's script unit would: each step's commands in order (the wait, then the removal).
  const script = steps.flatMap((s) => s.commands.map((c) => commandLine(c))).join(' &&\n');
  const r = await execIn(ns.lb1, ['sh', '-c', script]);
  t.is(r.code, 0, r.stderr);
  const after = await addresses(ns.lb1);
  t.is(holds(after, lb1), lb1.vrrp!.addresses.length, `keepalived holds its copies: ${JSON.stringify(after)}`);
  t.false(after.some((a) => a.label?.endsWith(':lvs')), 'lvsc\'s static copies are gone');
  t.is(await watcher.stop(), '', 'no moment without the address');
});

test.serial('real keepalived: back to static VIPs, lvsc\'s copies go on while keepalived is master, then keepalived stops; the address is never gone', async (t) => {
  const desired = compiled();
  const [lb1] = desired;
  const ns = await pairOfNamespaces(t, desired, 'lvsc-vs');
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-vrrp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const k1 = startKeepalived(t, ns.lb1, dir, 'lb1', lb1.state.files[KEEPALIVED_CONF]);
  await until('lb1 holds every VRRP address', async () => holds(await addresses(ns.lb1), lb1) === lb1.vrrp!.addresses.length);
  const watcher = watchAddresses(t, ns.lb1, dir);

  // The pair without `failover`: lb1 holds the VIPs (and, as a warm standby pair cannot have a floating address, no gateway for app1).
  const staticText = CLUSTER.replace(/director lb1 lb2 \{[^}]*\}/, 'director lb1 lb2').replace(/service api \{[^}]*\}/, '');
  const r0 = check([{ path: 'static.lvs', text: staticText }]);
  if (!r0.cluster || r0.diagnostics.length) throw new Error(r0.diagnostics.map((d) => `${d.code}: ${d.summary}`).join('\n'));
  const target = compileCluster(r0.cluster).find((d) => d.name === 'lb1')!;
  const live = liveOf(lb1, await addresses(ns.lb1), true);
  const plan = buildPlan([target], new Map([['lb1', live]]));
  const steps = plan.hosts[0].steps;
  const adds = steps.filter((s) => s.kind === 'address' && s.action === 'create');
  t.deepEqual(adds.map((s) => [s.label, s.phase]), [['eth0 10.9.0.100/32', 'vip']]);
  t.true(steps.some((s) => s.kind === 'file' && s.id.path === KEEPALIVED_CONF && s.phase === 'unvip'), 'keepalived stops after the vip phase');
  // As apply runs them: the vip phase's addresses, then (unvip) keepalived's stop, which releases its own.
  const r = await execIn(ns.lb1, ['sh', '-c', adds.flatMap((s) => s.commands.map((c) => commandLine(c))).join(' &&\n')]);
  t.is(r.code, 0, r.stderr);
  await k1.stop();
  const after = await addresses(ns.lb1);
  t.deepEqual(after.filter((a) => a.address === '10.9.0.100').map((a) => `${a.address}/${a.prefix} ${a.label}`), ['10.9.0.100/32 eth0:lvs']);
  const gone = await watcher.stop();
  // 10.9.0.101 and 192.168.9.1 left the file with the api service: keepalived's stop takes them, as it should.
  t.deepEqual(gone.split('\n').filter((l) => l.includes('10.9.0.100')), [], 'the VIP that stays is never gone');
});
