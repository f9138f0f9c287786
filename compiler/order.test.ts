/**
 * The cross-host order of a plan (compiler/order.ts): by desired roles, and by
 * the live states — a host that is no longer a real server in the file but
 * still carries lvsc's VIP cleans it up only after every director untabled.
 */
import test from 'ava';
import { compileCluster } from './compile.js';
import type { DesiredHost } from './desired.js';
import { NO_OWNERSHIP } from './diff.js';
import { check } from './index.js';
import { buildPlan, dependencies, type LiveHost } from './order.js';
import type { Dependency } from './plan.js';
import { emptyHostState } from './state.js';

const HOSTS = ['lb1', 'lb2', 'web1', 'web2', 'jump']
  .map((name, i) => (name === 'jump' ? `host jump {\n  ssh 10.1.0.9\n}\n` : `host ${name} {\n  ssh 10.1.0.${i + 2}\n  interface eth0 10.1.0.${i + 2}/24\n}\n`))
  .join('\n');

/** lb1/lb2 a director pair; www served by web1 only: web2 was its second server and is no longer in the file. */
function desiredHosts(): DesiredHost[] {
  const text = `${HOSTS}
director lb1 lb2 sync eth0 id 7

service www {
  vip 10.1.0.100 tcp 80
  scheduler wlc
  forward dr
  server web1
}
`;
  const r = check([{ path: 'order.lvs', text }]);
  if (!r.cluster) throw new Error(r.diagnostics.map((d) => d.summary).join('; '));
  return compileCluster(r.cluster);
}

/** Every host live as desired (nothing to do), except web2, which still has lvsc's VIP of www. */
function liveWithLeftover(desired: readonly DesiredHost[]): Map<string, LiveHost> {
  const live = new Map<string, LiveHost>(desired.map((d) => [d.name, { state: d.state, ownership: NO_OWNERSHIP }]));
  live.set('web2', { state: { ...emptyHostState(), addresses: [{ dev: 'lo', address: '10.1.0.100', prefix: 32, label: 'lo:lvs' }] }, ownership: NO_OWNERSHIP });
  return live;
}

const show = (deps: readonly Dependency[]) => deps.map((d) => `${d.host} ${d.phase} after ${d.after.host} ${d.after.phase}`).sort();

test('by roles: each director\'s table waits for each real server\'s prepare, the server\'s cleanup for each director\'s untable', (t) => {
  const desired = desiredHosts();
  t.deepEqual(show(dependencies(desired)), [
    'lb1 table after web1 prepare',
    'lb2 table after web1 prepare',
    'web1 cleanup after lb1 untable',
    'web1 cleanup after lb2 untable',
  ]);
});

test('a host removed from every service still has the VIP: its cleanup waits for every director\'s untable', (t) => {
  const desired = desiredHosts();
  t.deepEqual(desired.find((d) => d.name === 'web2')?.roles, [], 'web2 has no role in the file any more');
  const plan = buildPlan(desired, liveWithLeftover(desired));
  const web2 = plan.hosts.find((h) => h.host === 'web2')!;
  t.deepEqual(
    web2.steps.map((s) => `${s.phase} ${s.action} ${s.kind} ${s.label}`),
    ['cleanup delete address lo 10.1.0.100/32'],
  );
  t.deepEqual(show(plan.dependencies), [
    'lb1 table after web1 prepare',
    'lb2 table after web1 prepare',
    'web1 cleanup after lb1 untable',
    'web1 cleanup after lb2 untable',
    'web2 cleanup after lb1 untable',
    'web2 cleanup after lb2 untable',
  ]);
});

test('hosts without cleanup steps, and directors, get no wait from the live state; no wait is listed twice', (t) => {
  const desired = desiredHosts();
  const live = liveWithLeftover(desired);
  // lb2 has a file lvsc no longer renders: a director's cleanup does not wait for the other director.
  const stale = '/etc/systemd/network/50-lvsc-tunl0.network';
  const lb2 = live.get('lb2')!.state;
  live.set('lb2', { state: { ...lb2, files: { ...lb2.files, [stale]: '# Rendered by lvsc\n' } }, ownership: { ...NO_OWNERSHIP, files: new Set([stale]) } });
  // web1 (a real server) cleans up too: its waits come from its role, once.
  const web1 = live.get('web1')!.state;
  live.set('web1', { state: { ...web1, addresses: [...web1.addresses, { dev: 'lo', address: '10.1.0.201', prefix: 32, label: 'lo:lvs' }] }, ownership: NO_OWNERSHIP });
  const plan = buildPlan(desired, live);
  t.deepEqual(
    plan.hosts.find((h) => h.host === 'lb2')!.steps.map((s) => `${s.phase} ${s.action} ${s.kind} ${s.label}`),
    [`cleanup delete file ${stale}`],
  );
  t.true(plan.hosts.find((h) => h.host === 'web1')!.steps.some((s) => s.phase === 'cleanup'));
  const shown = show(plan.dependencies);
  t.deepEqual(shown, [...new Set(shown)]);
  t.deepEqual(
    shown.filter((d) => /^lb\d /.test(d)),
    ['lb1 table after web1 prepare', 'lb2 table after web1 prepare'],
  );
  t.false(shown.some((d) => d.startsWith('jump ')), 'the jump host has nothing to clean up');
  t.deepEqual(shown.filter((d) => d.startsWith('web1 cleanup')), ['web1 cleanup after lb1 untable', 'web1 cleanup after lb2 untable']);
});

test('with only some hosts planned (a --target run), the waits still name the directors of the whole cluster', (t) => {
  const desired = desiredHosts();
  const plan = buildPlan(desired.filter((d) => d.name === 'web2'), liveWithLeftover(desired));
  t.deepEqual(show(plan.dependencies), [], 'the plan alone knows no director');
  t.deepEqual(show(dependencies(desired, plan.hosts)).filter((d) => d.startsWith('web2')), ['web2 cleanup after lb1 untable', 'web2 cleanup after lb2 untable']);
});
