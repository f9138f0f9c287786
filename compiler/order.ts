/**
 * From desired and live states to a Plan: one diff per host, plus the
 * cross-host order that language.md demands — real servers prepared before a
 * director programs its table, the director's VIPs last; removals in reverse,
 * real servers cleaned up only after the director stopped sending to them.
 */
import { isDirectorHost, type DesiredHost } from './desired.js';
import { diffHost, NO_OWNERSHIP, serversDown, type Ownership } from './diff.js';
import { KEEPALIVED_CONF, vrrpAddressLine, type ServerHealth } from './keepalived.js';
import { PHASES, type Dependency, type HostPlan, type Plan, type PlanFault, type Step, type VrrpRole } from './plan.js';
import { emptyHostState, type HostState } from './state.js';

export interface LiveHost {
  readonly state: HostState;
  readonly ownership: Ownership;
  /** keepalived's view of its checked servers on a director that runs it (agent/facts/keepalived.ts). */
  readonly health?: readonly ServerHealth[];
  /** Whether keepalived runs there (agent/facts/keepalived.ts), on a director where it was read. */
  readonly keepalivedRunning?: boolean;
}


/** Plan every desired host against its live state (absent = an empty host: the plan builds it from scratch). */
export function buildPlan(desired: readonly DesiredHost[], live: ReadonlyMap<string, LiveHost> = new Map()): Plan {
  const hosts: HostPlan[] = desired.map((d) => {
    const l = live.get(d.name);
    const steps = diffHost(d.state, l?.state ?? emptyHostState(), { director: isDirectorHost(d), ownership: l?.ownership ?? NO_OWNERSHIP, gateways: d.gateways, ...(l?.health ? { health: l.health } : {}), ...(d.keepalived ? { keepalived: d.keepalived } : {}), ...(d.vrrp ? { vrrp: d.vrrp } : {}) });
    steps.sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase));
    const down = isDirectorHost(d) && l?.health?.length ? serversDown(d.state, l.health) : [];
    const vrrp = d.vrrp && l?.keepalivedRunning !== undefined ? vrrpRole(d, l.state, l.keepalivedRunning) : undefined;
    return { host: d.name, roles: d.roles, steps, ...(down.length ? { down } : {}), ...(vrrp ? { vrrp } : {}) };
  });
  const faults = vrrpFaults(hosts);
  return { hosts, dependencies: dependencies(desired, hosts), ...(faults.length ? { faults } : {}) };
}

/** Which of keepalived's VRRP addresses a director holds (by kernel identity: device, address, prefix). */
function vrrpRole(d: DesiredHost, live: HostState, keepalived: boolean): VrrpRole {
  const have = new Set(live.addresses.map((a) => `${a.dev} ${a.address}/${a.prefix}`));
  const all = d.vrrp!.addresses;
  const holds = all.filter((a) => have.has(`${a.dev} ${a.address}/${a.prefix}`)).map(vrrpAddressLine);
  return { role: holds.length === 0 ? 'backup' : holds.length === all.length ? 'master' : 'partial', holds, keepalived };
}

/** Whether a host's plan installs keepalived.conf, whose unit starts keepalived when it is not running. */
const startsKeepalived = (steps: readonly Step[]) => steps.some((s) => s.kind === 'file' && s.id.path === KEEPALIVED_CONF && s.action !== 'delete');

/**
 * What is wrong with a failover pair as read, that no step of the plan puts
 * right: a director whose keepalived is not running (and that the plan does
 * not start), the VIPs on both directors (split brain), or, with keepalived
 * running on both and nothing to apply, on neither (or split between them).
 */
function vrrpFaults(hosts: readonly HostPlan[]): PlanFault[] {
  const pair = hosts.filter((h) => h.vrrp);
  const faults: PlanFault[] = [];
  for (const h of pair) {
    if (h.vrrp!.keepalived || startsKeepalived(h.steps)) continue;
    faults.push({ hosts: [h.host], message: `keepalived is not running on ${h.host}: it cannot take the VIPs if the other director fails${h.vrrp!.holds.length ? ', and the addresses it holds stay without it' : ''}. Start it (systemctl start keepalived) and see its log (journalctl -u keepalived)` });
  }
  if (pair.length !== 2) return faults;
  const [a, b] = pair;
  const both = a.vrrp!.holds.filter((x) => b.vrrp!.holds.includes(x));
  if (both.length) faults.push({ hosts: [a.host, b.host], message: `both directors hold ${both.join(', ')} (split brain: each answers ARP for it). Check that their VRRP adverts reach each other (router id, interface, a firewall dropping protocol 112)` });
  const settled = pair.every((h) => h.vrrp!.keepalived && !h.steps.length);
  if (settled && !both.length && a.vrrp!.role !== 'master' && b.vrrp!.role !== 'master') {
    const held = [...a.vrrp!.holds, ...b.vrrp!.holds];
    faults.push({ hosts: [a.host, b.host], message: held.length ? `the VIPs are split between the directors (${a.host} holds ${a.vrrp!.holds.join(', ') || 'none'}, ${b.host} ${b.vrrp!.holds.join(', ') || 'none'}): keepalived's sync group should move them together` : `neither director holds the VIPs, though keepalived runs on both: see their keepalived logs (journalctl -u keepalived; FAULT state, an interface down)` });
  }
  return faults;
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
