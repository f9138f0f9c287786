/**
 * A plan is data first (as in Terraform): per-host lists of typed steps, each
 * with the exact quoted commands that perform it, and the cross-host
 * dependencies the ordering rules demand. The human view, the JSON view and
 * the agents' apply all consume this one value.
 */
import type { Command } from './command.js';
import {
  destinationKey,
  serviceKey,
  type AddressState,
  type DestinationId,
  type Family,
  type FwmarkRule,
  type IpvsDestination,
  type IpvsService,
  type LinkState,
  type RouteState,
  type ServiceId,
  type SyncDaemon,
  type Timeouts,
} from './state.js';

export type Action = 'create' | 'update' | 'delete';

/** How a plan marks its actions for people (the text view, progress, host scripts): terraform's `+ ~ -`. */
export const ACTION_SYMBOL: Readonly<Record<Action, string>> = { create: '+', update: '~', delete: '-' };

/** A service's own attributes, without its destinations (each destination is a step of its own). */
export type ServiceSettings = Omit<IpvsService, 'destinations'>;

/**
 * What a step can change, by kind: the resource's identity on its host (`id`,
 * what apply and the tests look things up by) and the type of its live and
 * desired values (`before`, `after`). One entry per kind: a new kind of
 * resource is a new line here, and the compiler then asks for its label.
 */
export interface Resources {
  readonly module: { readonly id: { readonly name: string }; readonly value: string };
  /** `name` is the full sysctl name, `net.ipv4.conf.lo.arp_ignore`; values as `sysctl -n` prints them. */
  readonly sysctl: { readonly id: { readonly name: string }; readonly value: string };
  readonly link: { readonly id: { readonly name: string }; readonly value: LinkState };
  readonly address: { readonly id: { readonly dev: string; readonly address: string; readonly prefix: number }; readonly value: AddressState };
  readonly route: { readonly id: { readonly dst: string; readonly family: Family }; readonly value: RouteState };
  /** lvsc's nftables table, replaced as a whole. */
  readonly 'fwmark-rules': { readonly id: { readonly family: string; readonly table: string }; readonly value: readonly FwmarkRule[] };
  /** One per host: `ipvsadm --set`. */
  readonly timeouts: { readonly id: Readonly<Record<never, never>>; readonly value: Timeouts };
  readonly 'sync-daemon': { readonly id: { readonly state: SyncDaemon['state'] }; readonly value: SyncDaemon };
  /** A created service's `after` is the service as described, its destinations included (each is also a step). */
  readonly 'ipvs-service': { readonly id: { readonly service: ServiceId }; readonly value: ServiceSettings };
  readonly 'ipvs-destination': { readonly id: { readonly service: ServiceId; readonly dest: DestinationId }; readonly value: IpvsDestination };
  /** A systemd unit enabled at boot (compiler/boot.ts); the value is the link that enables it. */
  readonly unit: { readonly id: { readonly name: string }; readonly value: string };
  /** A file lvsc renders; its content is the value. */
  readonly file: { readonly id: { readonly path: string }; readonly value: string };
}

export type ResourceKind = keyof Resources;

/**
 * Where a step runs within its host's apply, in order. Real servers run
 * prepare before the director's table is programmed; the director's VIP comes
 * last; removals run in reverse (VIP off first, drain, delete, then the real
 * servers' VIPs).
 */
export type Phase =
  | 'prepare' // modules, sysctls, links, routes, real servers' VIPs, files, units enabled at boot
  | 'table' // IPVS services, destinations, timeouts, sync, fwmark rules
  | 'vip' // the director's VIPs: traffic arrives only when the table is ready
  | 'unvip' // removals: the director's VIPs first
  | 'drain' // destinations to remove: weight 0, wait
  | 'untable' // delete destinations and services
  | 'cleanup'; // real servers' VIPs, routes, links, files no longer wanted

export const PHASES: readonly Phase[] = ['prepare', 'table', 'vip', 'unvip', 'drain', 'untable', 'cleanup'];

/** A step on one kind of resource. */
export interface StepOf<K extends ResourceKind> {
  readonly action: Action;
  readonly kind: K;
  /** The resource's identity within its host and kind, as data: what code looks things up by. */
  readonly id: Resources[K]['id'];
  /** The identity for people (`tcp 10.1.0.100:80`, `lo 10.1.0.100/32`), from `resourceLabel`; never parsed. */
  readonly label: string;
  /** Live value (update/delete) and desired value (create/update). */
  readonly before?: Resources[K]['value'];
  readonly after?: Resources[K]['value'];
  /** What changed, for people; never branched on. */
  readonly reason: string;
  readonly phase: Phase;
  /** The commands that perform the step, built from validated values; run through sudo when the host says so. */
  readonly commands: readonly Command[];
  /** A destination removal that is first drained (weight 0, wait `--drain`). */
  readonly drain?: boolean;
  /**
   * `keepalived`: keepalived makes the change, through keepalived.conf and a
   * reload (the step has no commands of its own): a checked server drained
   * and removed; apply reads the table until it shows the change.
   */
  readonly writer?: 'keepalived';
  /** A static copy of an address a failover pair's keepalived now holds: removed once keepalived holds its own (its first command waits for that). */
  readonly handover?: boolean;
}

/** One step of a plan: a union discriminated by `kind`, so that `id`, `before` and `after` have their kind's types. */
export type Step = { [K in ResourceKind]: StepOf<K> }[ResourceKind];

/** A destination's label within a service whose label (`serviceKey`) the caller already has. */
export function destinationLabel(dest: DestinationId, serviceLabel: string): string {
  return `${destinationKey(dest)} → ${serviceLabel}`;
}

/** The label of a resource, as the plan shows it: `10.1.0.12:80 → tcp 10.1.0.100:80`, `default (IPv6)`. */
export function resourceLabel<K extends ResourceKind>(kind: K, id: Resources[K]['id']): string {
  const r = { kind, id } as { [K in ResourceKind]: { kind: K; id: Resources[K]['id'] } }[ResourceKind];
  switch (r.kind) {
    case 'module':
    case 'link':
    case 'sysctl':
    case 'unit':
      return r.id.name;
    case 'address':
      return `${r.id.dev} ${r.id.address}/${r.id.prefix}`;
    case 'route':
      return `${r.id.dst}${r.id.family === 6 ? ' (IPv6)' : ''}`;
    case 'fwmark-rules':
      return `table ${r.id.family} ${r.id.table}`;
    case 'timeouts':
      return 'tcp tcpfin udp';
    case 'sync-daemon':
      return r.id.state;
    case 'ipvs-service':
      return serviceKey(r.id.service);
    case 'ipvs-destination':
      return destinationLabel(r.id.dest, serviceKey(r.id.service));
    case 'file':
      return r.id.path;
  }
}

/**
 * A checked server keepalived reports down on a director: keepalived keeps it
 * out of the rotation (quiesced or removed) until its check passes again.
 * Health, never a change: the plan shows it and proposes nothing for it.
 */
export interface ServerDown {
  readonly service: ServiceId;
  readonly dest: DestinationId;
  /** `10.3.0.11:80 → tcp 10.3.0.100:80`, as the destination's steps are labelled. */
  readonly label: string;
  /** When keepalived saw it fail, in seconds since the epoch. */
  readonly since: number;
}

/**
 * Where a failover pair's VRRP addresses are, on one director, as read from
 * its addresses: VRRP state, never a change (whichever director holds them
 * is fine). `master`: it holds every address keepalived's VRRP holds;
 * `backup`: none; `partial`: some (an election under way, or a fault).
 */
export interface VrrpRole {
  readonly role: 'master' | 'backup' | 'partial';
  /** The addresses it holds, as keepalived's instances list them (`10.3.0.100/24 dev eth0`). */
  readonly holds: readonly string[];
  /** Whether keepalived runs there. */
  readonly keepalived: boolean;
}

export interface HostPlan {
  readonly host: string;
  readonly roles: readonly string[];
  readonly steps: readonly Step[];
  /** Declared servers of keepalived's services that it reports down (absent or empty: none, or no report read). */
  readonly down?: readonly ServerDown[];
  /** A director of a failover pair, read live: whether it holds the VIPs. */
  readonly vrrp?: VrrpRole;
}

/** A fault of the live fleet that no step fixes, which fails the plan: a failover director whose keepalived is not running, VIPs held by both directors or by neither. */
export interface PlanFault {
  /** The director, or both directors of the pair. */
  readonly hosts: readonly string[];
  readonly message: string;
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
  /** Absent or empty: none. */
  readonly faults?: readonly PlanFault[];
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
