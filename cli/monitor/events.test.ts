/**
 * The monitor's event list from two reads (test/support/cluster-status.ts's
 * status, changed as a failover, a host lost and drift would change it), and
 * the --listen addresses the monitor takes as loopback.
 */
import test from 'ava';
import { status } from '../../test/support/cluster-status.js';
import { isLoopback, parseListen } from '../commands/monitor.js';
import { statusEvents } from './events.js';

test('the first read has no events; a change of health, role, drift or reachability has one each', (t) => {
  const before = status();
  t.deepEqual(statusEvents(undefined, before), []);
  t.deepEqual(statusEvents(before, before), []);
  const svc = before.services[0];
  const after = {
    ...before,
    at: before.at + 2000,
    hosts: before.hosts.map((h) => (h.name === 'web4' ? { ...h, ok: true, error: undefined } : h.name === 'web3' ? { ...h, ok: false, error: 'timed out' } : h)),
    directors: [{ ...before.directors[0], role: 'active' as const, vipsHeld: 2 }],
    services: [{ ...svc, drift: [{ action: 'update' as const, reason: 'scheduler wrr → rr' }], servers: [svc.servers[0], { ...svc.servers[1], health: { state: 'up' as const, since: 1 }, drift: [] }] }],
  };
  t.deepEqual(
    statusEvents(before, after).map((e) => [e.kind, e.level, e.text]),
    [
      ['host', 'bad', 'web3 cannot be read: timed out'],
      ['host', 'good', 'web4 can be read again'],
      ['role', 'info', 'lb1: split → active (holds 2 of 2 VIPs)'],
      ['drift', 'bad', 'web-nat: the live service differs from the files'],
      ['health', 'good', 'web4 in web-nat: back (up)'],
      ['drift', 'good', 'web4 in web-nat: matches the files again'],
    ],
  );
  t.true(statusEvents(before, after).every((e) => e.at === after.at));
});

test('--listen: loopback addresses, IPv6 in brackets, a bare port; names and bad ports refused', (t) => {
  t.deepEqual(parseListen('127.0.0.1:9847'), { host: '127.0.0.1', port: 9847 });
  t.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  t.deepEqual(parseListen('9000'), { host: '127.0.0.1', port: 9000 });
  t.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  t.regex(parseListen('monitor.example:80') as string, /give an IP address/);
  t.regex(parseListen('127.0.0.1:70000') as string, /0 to 65535/);
  t.regex(parseListen('127.0.0.1:') as string, /give HOST:PORT/);
  t.deepEqual(['127.0.0.1', '127.8.9.1', '::1', 'localhost', '::ffff:127.0.0.1', '0.0.0.0', '10.0.0.1', '::'].map(isLoopback), [true, true, true, true, true, false, false, false]);
});
