/**
 * From desired and live states to a Plan: one diff per host, plus the
 * cross-host order that language.md demands — real servers prepared before a
 * director programs its table, the director's VIPs last; removals in reverse,
 * real servers cleaned up only after the director stopped sending to them.
 */
import { isDirectorHost, type DesiredHost } from './desired.js';
import { diffHost, NO_OWNERSHIP, serversDown, type Ownership } from './diff.js';
import { KEEPALIVED_CONF, type ServerHealth } from './keepalived.js';
import { PHASES, type Dependency, type HostPlan, type Plan } from './plan.js';
import { emptyHostState, type HostState } from './state.js';

export interface LiveHost {
  readonly state: HostState;
  readonly ownership: Ownership;
  /** keepalived's view of its checked servers on a director that runs it (agent/facts/keepalived.ts). */
  readonly health?: readonly ServerHealth[];
}


/** Plan every desired host against its live state (absent = an empty host: the plan builds it from scratch). */
export function buildPlan(desired: readonly DesiredHost[], live: ReadonlyMap<string, LiveHost> = new Map()): Plan {
  const hosts: HostPlan[] = desired.map((d) => {
    const l = live.get(d.name);
    const steps = diffHost(d.state, l?.state ?? emptyHostState(), { director: isDirectorHost(d), ownership: l?.ownership ?? NO_OWNERSHIP, gateways: d.gateways, ...(l?.health ? { health: l.health } : {}), ...(d.keepalived ? { keepalived: d.keepalived } : {}), ...(d.vrrp ? { vrrp: d.vrrp } : {}) });
    steps.sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase));
    const down = isDirectorHost(d) && l?.health?.length ? serversDown(d.state, l.health) : [];
    return { host: d.name, roles: d.roles, steps, ...(down.length ? { down } : {}) };
  });
  return { hosts, dependencies: dependencies(desired, hosts) };
}

/**
 * The cross-host order among `desired` hosts. By desired roles: a director's
 * table waits for every real server's prepare, and a real server's cleanup
 * for every director's untable. By the planned steps (`hosts`, which may
 * cover only some of `desired`): any other host that has cleanup steps waits
 * for every director's untable too. That is a real server being removed —
 * its role is gone from the file, but the VIP it still has may only leave
 * once no director sends to it any more.
 */
export function dependencies(desired: readonly DesiredHost[], hosts: readonly HostPlan[] = []): Dependency[] {
  const directors = desired.filter(isDirectorHost).map((d) => d.name);
  const servers = desired.filter((d) => d.roles.includes('real-server') && !directors.includes(d.name)).map((d) => d.name);
  const deps: Dependency[] = [];
  for (const dir of directors) {
    for (const rs of servers) {
      // A DR/TUN server has its non-ARP VIP (a NAT server its route) before the director sends it a packet.
      deps.push({ host: dir, phase: 'table', after: { host: rs, phase: 'prepare' } });
      // A server's VIP leaves only after the director stopped sending to it.
      deps.push({ host: rs, phase: 'cleanup', after: { host: dir, phase: 'untable' } });
    }
  }
  for (const h of hosts) {
    if (directors.includes(h.host) || servers.includes(h.host) || !h.steps.some((s) => s.phase === 'cleanup')) continue;
    for (const dir of directors) deps.push({ host: h.host, phase: 'cleanup', after: { host: dir, phase: 'untable' } });
  }
  deps.push(...handoverOrder(directors, hosts));
  return deps;
}

/**
 * A director pair moving its VIPs between lvsc's static addresses and
 * keepalived's VRRP, never leaving them held by neither director:
 * - to VRRP: the director holding static copies has keepalived take them
 *   (its keepalived.conf in table, then each copy removed once keepalived
 *   holds its own: `handover` steps, in unvip); the other director's
 *   keepalived.conf, which would make it a VRRP router too, waits for that
 *   (its table after the first one's unvip), so it finds a master with the
 *   VIPs and stays backup;
 * - back to static: the director that gets static VIPs adds them (vip), and
 *   only then does the other's keepalived, which may be master, let go of
 *   its own (its keepalived.conf in vip, or keepalived's stop in unvip when
 *   nothing else is left for it, after the first one's vip).
 * Only the first director found of each kind orders the other, so the two
 * never wait for each other.
 */
function handoverOrder(directors: readonly string[], hosts: readonly HostPlan[]): Dependency[] {
  const plans = hosts.filter((h) => directors.includes(h.host));
  const deps: Dependency[] = [];
  const toVrrp = plans.find((h) => h.steps.some((s) => s.handover));
  if (toVrrp) for (const other of plans) if (other !== toVrrp) deps.push({ host: other.host, phase: 'table', after: { host: toVrrp.host, phase: 'unvip' } });
  const toStatic = plans.find((h) => h.steps.some((s) => s.kind === 'address' && s.action === 'create' && s.phase === 'vip'));
  if (toStatic)
    for (const other of plans) {
      const release = other.steps.find((s) => s.kind === 'file' && s.id.path === KEEPALIVED_CONF && (s.phase === 'vip' || s.phase === 'unvip'));
      if (other === toStatic || !release) continue;
      deps.push({ host: other.host, phase: release.phase, after: { host: toStatic.host, phase: 'vip' } });
    }
  return deps;
}
