/**
 * A cluster status built by hand (what agent/status.ts makes of live reads),
 * for the tests of its views: a NAT service with traffic, a hand-edited
 * weight on a server keepalived reports down, a destination the file does not
 * declare, a split director whose sync daemon is not the declared one, and a
 * host that could not be read.
 */
import type { ClusterStatus, ServerStatus } from '../../agent/status.js';

export const AT = Date.UTC(2026, 11, 2, 17, 0, 0);
const totals = { conns: 40, inPackets: 300, outPackets: 280, inBytes: 20_000, outBytes: 90_000 };

export function server(name: string, address: string, over: Partial<ServerStatus> = {}): ServerStatus {
  return {
    name,
    role: 'server',
    dest: { address, port: 8080 },
    method: 'nat',
    weight: 2,
    live: { weight: 2, forward: 'nat', active: 3, inactive: 17, totals, rates: { cps: 4, inPps: 30, outPps: 28, inBps: 1536, outBps: 6000 } },
    health: { state: 'up', since: AT / 1000 - 100 },
    drift: [],
    ...over,
  };
}

export function status(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    at: AT,
    hosts: [
      { name: 'lb1', roles: ['director'], ok: true, ms: 300, changes: 1 },
      { name: 'web3', roles: ['real-server'], ok: true, ms: 200, changes: 0 },
      { name: 'web4', roles: ['real-server'], ok: false, error: 'connection refused' },
    ],
    directors: [
      {
        name: 'lb1',
        declared: 'active',
        role: 'split',
        vipsHeld: 1,
        vips: 2,
        keepalived: { installed: true, version: 'Keepalived v2.2.7', running: true, pid: 812 },
        sync: { declared: { state: 'master', mcastInterface: 'eth1', syncid: 7 }, live: [] },
        undeclared: [{ director: 'lb1', id: { kind: 'addr', proto: 'tcp', address: '10.9.9.9', port: 80 }, key: 'tcp 10.9.9.9:80', scheduler: 'rr', destinations: 1 }],
      },
    ],
    services: [
      {
        name: 'web-nat',
        id: { kind: 'addr', proto: 'tcp', address: '10.10.0.100', port: 80 },
        key: 'tcp 10.10.0.100:80',
        scheduler: 'wrr',
        director: 'lb1',
        liveScheduler: 'wrr',
        totals,
        rates: { cps: 8, inPps: 60, outPps: 56, inBps: 3072, outBps: 12_000 },
        servers: [
          server('web3', '10.20.0.13'),
          server('web4', '10.20.0.14', { weight: 1, live: { weight: 5, forward: 'nat', active: 0, inactive: 2, totals, rates: { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 } }, health: { state: 'down', since: AT / 1000 - 125 }, drift: [{ action: 'update', reason: 'weight 5 → 1' }] }),
        ],
        undeclared: [{ dest: { address: '10.20.0.19', port: 8080 }, live: { weight: 1, forward: 'nat', active: 1, inactive: 0, totals: undefined, rates: undefined }, drift: [{ action: 'delete', reason: 'drain, then delete' }] }],
        drift: [],
      },
    ],
    ...over,
  };
}
