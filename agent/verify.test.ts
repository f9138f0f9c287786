/**
 * A restore's steps are checked against the table read back by the one diff
 * (verify.ts over compiler/diff.ts): a step holds exactly when the diff of its
 * resource, what the unit was to make of it against what was read, is empty.
 * So every attribute the diff compares counts (flags, persistence netmask,
 * thresholds, tunnels), and nothing outside the unit's resources does.
 */
import test from 'ava';
import { NO_OWNERSHIP } from '../compiler/diff.js';
import { parseIpvsadmSave } from '../compiler/ipvsadm.js';
import { buildPlan } from '../compiler/order.js';
import type { Step } from '../compiler/plan.js';
import { emptyHostState, type IpvsService } from '../compiler/state.js';
import { needsThresholds, stepsNotHeld } from './verify.js';

const table = (...lines: string[]): IpvsService[] => {
  const r = parseIpvsadmSave(lines.join('\n'));
  if (r.warnings.length) throw new Error(r.warnings.join('; '));
  return r.value;
};

/** The director's steps from `live` to `want`, as the planner makes them. */
function steps(live: readonly IpvsService[], want: readonly IpvsService[]): Step[] {
  const plan = buildPlan([{ name: 'lb', roles: ['director'], state: { ...emptyHostState(), ipvs: [...want] }, gateways: [] }], new Map([['lb', { state: { ...emptyHostState(), ipvs: [...live] }, ownership: NO_OWNERSHIP }]]));
  return [...plan.hosts[0].steps];
}

const labels = (s: ReadonlySet<Step>) => [...s].map((x) => `${x.action} ${x.label}`).sort();

const WANT = table(
  '-A -t 10.0.0.100:80 -s sh -b sh-fallback,sh-port -p 300 -M 255.255.255.0',
  '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 2 -x 100 -y 50',
  '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -g -w 1',
  '-A -t 10.0.0.100:443 -s wrr',
  '-a -t 10.0.0.100:443 -r 10.0.0.3:443 -i -w 1 --tun-type gue --tun-port 6080',
);

test('a table that is what the steps describe: every step holds', (t) => {
  const s = steps([], WANT);
  t.is(s.length, 5);
  t.deepEqual(labels(stepsNotHeld(s, 'done', WANT)), []);
});

test('what the old check (scheduler, persistence timeout, weight, method) missed fails the step: flags, netmask, thresholds, tunnel', (t) => {
  const s = steps([], WANT);
  const read = table(
    '-A -t 10.0.0.100:80 -s sh -b sh-fallback -p 300 -M 255.255.255.0', // flag sh-port missing
    '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 2 -x 100 -y 0', // lower threshold missing
    '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -g -w 1',
    '-A -t 10.0.0.100:443 -s wrr',
    '-a -t 10.0.0.100:443 -r 10.0.0.3:443 -i -w 1 --tun-type ipip', // not GUE
  );
  t.deepEqual(labels(stepsNotHeld(s, 'done', read)), ['create 10.0.0.3:443 → tcp 10.0.0.100:443', 'create 10.0.0.3:80 → tcp 10.0.0.100:80', 'create tcp 10.0.0.100:80']);
});

test('a missing service fails it and its destinations; what the unit did not touch is not looked at', (t) => {
  const s = steps([], WANT).filter((x) => x.label.includes(':443'));
  // Port 80 is not in this unit: whatever it looks like, it does not count.
  const read = table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.9:80 -m -w 7');
  t.deepEqual(labels(stepsNotHeld(s, 'done', read)), ['create 10.0.0.3:443 → tcp 10.0.0.100:443', 'create tcp 10.0.0.100:443']);
  // A destination added to a service that is there, read with the service's other destinations as they are: holds.
  const one = steps(table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.9:80 -m -w 7'), table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.9:80 -m -w 7', '-a -t 10.0.0.100:80 -r 10.0.0.8:80 -m -w 1'));
  t.deepEqual(one.map((x) => `${x.action} ${x.label}`), ['create 10.0.0.8:80 → tcp 10.0.0.100:80']);
  t.deepEqual(labels(stepsNotHeld(one, 'done', table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.8:80 -m -w 1', '-a -t 10.0.0.100:80 -r 10.0.0.9:80 -m -w 7'))), []);
  t.deepEqual(labels(stepsNotHeld(one, 'done', table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.9:80 -m -w 7'))), ['create 10.0.0.8:80 → tcp 10.0.0.100:80']);
});

test('deletions hold when the resource is gone; a drained destination first holds at weight 0, the rest as it was', (t) => {
  const s = steps(WANT, []);
  const drained = s.filter((x) => x.drain);
  const services = s.filter((x) => x.kind === 'ipvs-service');
  t.is(drained.length, 3);
  // Weight 0, everything else as it was (thresholds too): holds. A weight left alone does not.
  const zero = table(
    '-A -t 10.0.0.100:80 -s sh -b sh-fallback,sh-port -p 300 -M 255.255.255.0',
    '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 0 -x 100 -y 50',
    '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -g -w 1',
    '-A -t 10.0.0.100:443 -s wrr',
    '-a -t 10.0.0.100:443 -r 10.0.0.3:443 -i -w 0 --tun-type gue --tun-port 6080',
  );
  t.deepEqual(labels(stepsNotHeld(drained, 'weight-zero', zero)), ['delete 10.0.0.4:80 → tcp 10.0.0.100:80']);
  // Deleted: the destinations gone (the services' own deletion is another unit), then the services.
  t.deepEqual(labels(stepsNotHeld(drained, 'done', table('-A -t 10.0.0.100:80 -s rr', '-A -t 10.0.0.100:443 -s wrr'))), []);
  t.deepEqual(labels(stepsNotHeld(drained, 'done', zero)), drained.map((x) => `delete ${x.label}`).sort());
  t.deepEqual(labels(stepsNotHeld(services, 'done', [])), []);
  t.deepEqual(labels(stepsNotHeld(services, 'done', table('-A -t 10.0.0.100:443 -s wrr'))), ['delete tcp 10.0.0.100:443']);
});

test('thresholds are read back only where they are part of the check', (t) => {
  const withThresholds = steps([], WANT);
  t.true(needsThresholds(withThresholds, 'done'), 'a destination is to have thresholds');
  t.false(needsThresholds(withThresholds.filter((x) => !x.label.startsWith('10.0.0.3:80')), 'done'));
  const removed = steps(WANT, []).filter((x) => x.drain);
  t.true(needsThresholds(removed, 'weight-zero'), 'at weight 0 it keeps its thresholds');
  t.false(needsThresholds(removed, 'done'), 'deleted, it has none to check');
  const cleared = steps(WANT, table(...['-A -t 10.0.0.100:80 -s sh -b sh-fallback,sh-port -p 300 -M 255.255.255.0', '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 2', '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -g -w 1', '-A -t 10.0.0.100:443 -s wrr', '-a -t 10.0.0.100:443 -r 10.0.0.3:443 -i -w 1 --tun-type gue --tun-port 6080']));
  t.deepEqual(cleared.map((x) => `${x.action} ${x.label}`), ['update 10.0.0.3:80 → tcp 10.0.0.100:80']);
  t.true(needsThresholds(cleared, 'done'), 'thresholds taken back to 0 must show as 0');
});
