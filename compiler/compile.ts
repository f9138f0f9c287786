/**
 * A validated cluster → each host's desired state with its rendered files,
 * and (offline) the plan that builds it from empty hosts.
 */
import type { Cluster } from './ir.js';
import { desiredHosts, type DesiredHost } from './desired.js';
import { buildPlan, type LiveHost } from './order.js';
import type { Plan } from './plan.js';
import { renderFiles } from './templates/render.js';

export function compileCluster(cluster: Cluster): DesiredHost[] {
  return desiredHosts(cluster).map((h) => ({ ...h, state: { ...h.state, files: renderFiles(h) } }));
}

/** The plan against live states (a host missing from `live` is taken as empty). */
export function planCluster(cluster: Cluster, live?: ReadonlyMap<string, LiveHost>): { desired: DesiredHost[]; plan: Plan } {
  const desired = compileCluster(cluster);
  return { desired, plan: buildPlan(desired, live) };
}
