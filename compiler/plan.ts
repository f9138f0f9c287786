/**
 * A plan is data first (as in Terraform): per-host lists of typed steps, each
 * with the exact quoted commands that perform it, and the cross-host
 * dependencies the ordering rules demand. The human view, the JSON view and
 * the agents' apply all consume this one value.
 */
import type { Command } from './command.js';

export type Action = 'create' | 'update' | 'delete';

export type ResourceKind =
  | 'module'
  | 'sysctl'
  | 'link'
  | 'address'
  | 'route'
  | 'fwmark-rules'
  | 'timeouts'
  | 'sync-daemon'
  | 'ipvs-service'
  | 'ipvs-destination'
  | 'file';

/**
 * Where a step runs within its host's apply, in order. Real servers run
 * prepare before the director's table is programmed; the director's VIP comes
 * last; removals run in reverse (VIP off first, drain, delete, then the real
 * servers' VIPs).
 */
export type Phase =
  | 'prepare' // modules, sysctls, links, routes, real servers' VIPs, files
  | 'table' // IPVS services, destinations, timeouts, sync, fwmark rules
  | 'vip' // the director's VIPs: traffic arrives only when the table is ready
  | 'unvip' // removals: the director's VIPs first
  | 'drain' // destinations to remove: weight 0, wait
  | 'untable' // delete destinations and services
  | 'cleanup'; // real servers' VIPs, routes, links, files no longer wanted

export const PHASES: readonly Phase[] = ['prepare', 'table', 'vip', 'unvip', 'drain', 'untable', 'cleanup'];

export interface Step {
  readonly action: Action;
  readonly kind: ResourceKind;
  /** The resource's identity within its host and kind, e.g. `tcp 10.1.0.100:80`, `lo 10.1.0.100/32`. */
  readonly key: string;
  /** Live value (update/delete) and desired value (create/update), as plain data. */
  readonly before?: unknown;
  readonly after?: unknown;
  /** What changed, for people; never branched on. */
  readonly reason: string;
  readonly phase: Phase;
  /** The commands that perform the step, built from validated values; run through sudo when the host says so. */
  readonly commands: readonly Command[];
  /** A destination removal that is first drained (weight 0, wait `--drain`). */
  readonly drain?: boolean;
}

export interface HostPlan {
  readonly host: string;
  readonly roles: readonly string[];
  readonly steps: readonly Step[];
}

/** "Run phase P on host H only after phase Q on host G": the cross-host order. */
export interface Dependency {
  readonly host: string;
  readonly phase: Phase;
  readonly after: { readonly host: string; readonly phase: Phase };
}

export interface Plan {
  readonly hosts: readonly HostPlan[];
  readonly dependencies: readonly Dependency[];
}

export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly delete: number;
  readonly hostsChanged: number;
  readonly hosts: number;
}

export function summarize(plan: Plan): PlanSummary {
  const s = { create: 0, update: 0, delete: 0, hostsChanged: 0, hosts: plan.hosts.length };
  for (const h of plan.hosts) {
    if (h.steps.length) s.hostsChanged++;
    for (const st of h.steps) s[st.action]++;
  }
  return s;
}

export function isEmpty(plan: Plan): boolean {
  return plan.hosts.every((h) => h.steps.length === 0);
}
