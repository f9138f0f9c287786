/**
 * diff(desired, live) → the steps that make a host match its description, and
 * nothing else. Pure and linear: both sides are keyed by identity (never by
 * position), so one weight change in 10,000 services is one `ipvsadm -e` step.
 *
 * Ownership: lvsc removes only what it owns — IPv4 addresses with its `:lvs`
 * label, IPv6 addresses and fou ports listed in its rendered files, routes it
 * tagged with its route protocol, its own nftables table, its rendered files,
 * and IPVS entries on declared directors, except those keepalived programs
 * (services with health checks: keepalived.ts). It never runs `ipvsadm -C`.
 */
import {
  addAddress,
  addFouPort,
  deleteAddress,
  deleteFouPort,
  deleteRoute,
  enableUnit,
  loadModule,
  removeFile,
  replaceNftTable,
  replaceRoute,
  setLinkUp,
  setSysctl,
  waitForAddress,
} from './host-commands.js';
import {
  addDestination,
  addService,
  deleteDestination,
  deleteService,
  editDestination,
  editService,
  setTimeouts,
  startSyncDaemon,
  stopSyncDaemon,
} from './ipvsadm.js';
import { isBootUnit, wantsLink } from './boot.js';
import { DEFAULT_TUN_CSUM, OWN_LABEL_SUFFIX, OWNED_DEVICES, ROUTE_PROTO, sysctlDefault } from './lvs.js';
import { drainingConfig, KEEPALIVED_CONF, keepalivedServersFromFile, keepalivedStartsSync, type KeepalivedConfig, type ServerHealth, vrrpAddressesFromFile, vrrpAddressLine, type VrrpAddress } from './keepalived.js';
import { renderKeepalivedConf } from './templates/render.js';
import { keepalivedStop } from './units.js';
import { NFT_FAMILY, NFT_TABLE } from './nft.js';
import { destinationLabel, resourceLabel, type Phase, type ServerDown, type ResourceKind, type ServiceSettings, type Step, type StepOf } from './plan.js';
import {
  hostPort,
  serviceKey,
  type AddressState,
  type HostState,
  type IpvsDestination,
  type IpvsService,
  type LinkState,
  type RouteState,
} from './state.js';

/** What lvsc owned on the host before this run, as recorded in its rendered files on the host. */
export interface Ownership {
  /** `dev address/prefix` of IPv6 addresses lvsc added (IPv4 ones carry its label). */
  readonly addresses: ReadonlySet<string>;
  /** sysctl keys lvsc set. */
  readonly sysctls: ReadonlySet<string>;
  /** fou ports lvsc opened. */
  readonly fouPorts: ReadonlySet<number>;
  /** Paths of files lvsc rendered. */
  readonly files: ReadonlySet<string>;
}

export const NO_OWNERSHIP: Ownership = { addresses: new Set(), sysctls: new Set(), fouPorts: new Set(), files: new Set() };

export interface DiffOptions {
  /** Whether this host is a declared director (its IPVS table is lvsc's). */
  readonly director: boolean;
  readonly ownership: Ownership;
  /** The host's declared gateways: where a default route goes back to when lvsc removes its own. */
  readonly gateways?: readonly { readonly address: string; readonly family: 4 | 6 }[];
  /**
   * keepalived's view of its checked servers (a director that runs it). A
   * destination keepalived reports up whose live weight is not the declared
   * one was changed by hand: an update back to the declared weight (the one
   * exception to keepalived being the only writer of its services). A server
   * it reports down (weight 0, or gone from the table) is health, not drift.
   */
  readonly health?: readonly ServerHealth[];
  /**
   * The director's desired keepalived configuration (its model, which
   * keepalived.conf renders): while servers leaving it drain, it is rendered
   * once more with them at weight 0.
   */
  readonly keepalived?: KeepalivedConfig;
  /**
   * A director of a failover pair: the addresses keepalived's VRRP holds
   * (on whichever director is master) and its advert interval. Those are
   * VRRP state, never created or removed by lvsc; a static copy lvsc holds
   * of one (from before the pair failed over by itself) is removed only once
   * keepalived holds its own.
   */
  readonly vrrp?: { readonly addresses: readonly VrrpAddress[]; readonly advertMs: number };
}

/** How long a move from a static VIP to VRRP waits for keepalived to hold the address: its start and an election (3 adverts and a skew), with room; within a command's default time limit. */
export function handoverSeconds(advertMs: number): number {
  return Math.min(50, Math.ceil(10 + (4 * advertMs) / 1000));
}

/** What the address diff knows of keepalived's VRRP addresses on a director. */
interface VrrpHeld {
  /** `dev address/prefix` of every address keepalived holds or may hold: the desired ones and those the live keepalived.conf names. */
  readonly held: ReadonlySet<string>;
  /** The desired ones by `dev address`. */
  readonly wanted: ReadonlyMap<string, VrrpAddress>;
  /** Those the live keepalived.conf names and the desired one does not: keepalived lets go of them in this run. */
  readonly releasing: ReadonlySet<string>;
  readonly waitSeconds: number;
}

function vrrpHeld(live: HostState, options: DiffOptions): VrrpHeld | undefined {
  const file = options.ownership.files.has(KEEPALIVED_CONF) ? live.files[KEEPALIVED_CONF] : undefined;
  const fromFile = file !== undefined ? vrrpAddressesFromFile(file) : new Set<string>();
  const wanted = options.vrrp?.addresses ?? [];
  if (!wanted.length && !fromFile.size) return undefined;
  const held = new Set(fromFile);
  for (const a of wanted) held.add(`${a.dev} ${a.address}/${a.prefix}`);
  const releasing = new Set([...fromFile].filter((k) => !wanted.some((a) => `${a.dev} ${a.address}/${a.prefix}` === k)));
  return { held, wanted: new Map(wanted.map((a) => [`${a.dev} ${a.address}`, a])), releasing, waitSeconds: handoverSeconds(options.vrrp?.advertMs ?? 1000) };
}

/** `serviceKey destination`: how a health record finds its destination. */
function healthKey(service: string, dest: { readonly address: string; readonly port: number }): string {
  return `${service} ${hostPort(dest.address, dest.port)}`;
}

/**
 * The declared servers of keepalived's services that keepalived reports down:
 * what the plan shows under the host as health (`down (check failing since
 * T)`), beside the steps and never as one. In the order of the description.
 */
export function serversDown(desired: HostState, health: readonly ServerHealth[]): ServerDown[] {
  const down = new Map<string, ServerHealth>();
  for (const h of health) if (h.state === 'down') down.set(healthKey(serviceKey(h.service), h.dest), h);
  if (!down.size) return [];
  const out: ServerDown[] = [];
  for (const s of desired.ipvs ?? []) {
    if (s.owner !== 'keepalived') continue;
    const key = serviceKey(s.id);
    for (const d of s.destinations) {
      const h = down.get(healthKey(key, d));
      if (h) out.push({ service: s.id, dest: { address: d.address, port: d.port }, label: destinationLabel(d, key), since: h.since });
    }
  }
  return out;
}

/**
 * A step with its label, computed once here from its identity (or given, where
 * the caller has it cheaper). `s` is the caller's fresh literal, labelled in
 * place: copying each one made a plan of 100,000 destinations from scratch
 * about 1.6 times slower.
 */
function step<K extends ResourceKind>(s: Omit<StepOf<K>, 'label'>, label: string = resourceLabel(s.kind, s.id)): StepOf<K> {
  (s as { label?: string }).label = label;
  return s as StepOf<K>;
}

function byKey<T>(items: readonly T[], key: (t: T) => string): Map<string, T> {
  const m = new Map<string, T>();
  for (const i of items) m.set(key(i), i);
  return m;
}

/**
 * Destinations by address and port, their identity within a service (what
 * `destinationKey` spells), like `byKey` but without building a key string per
 * destination: at 100,000 destinations the concatenations and their hashing
 * were most of the diff's time, while the address is a string the state
 * already holds (its hash is computed once and kept). One destination per
 * address is the common case; several ports of one address get a map by port.
 * A later destination with the same identity replaces an earlier one, as in `byKey`.
 */
class DestinationIndex {
  private readonly byAddress = new Map<string, IpvsDestination | Map<number, IpvsDestination>>();

  constructor(dests: readonly IpvsDestination[]) {
    for (const d of dests) {
      const e = this.byAddress.get(d.address);
      if (e === undefined || (!(e instanceof Map) && e.port === d.port)) this.byAddress.set(d.address, d);
      else if (e instanceof Map) e.set(d.port, d);
      else this.byAddress.set(d.address, new Map([[e.port, e], [d.port, d]]));
    }
  }

  get(d: { readonly address: string; readonly port: number }): IpvsDestination | undefined {
    const e = this.byAddress.get(d.address);
    if (e === undefined) return undefined;
    if (e instanceof Map) return e.get(d.port);
    return e.port === d.port ? e : undefined;
  }
}

/** Addresses by device, then address (the same whatever the prefix or label); a later one replaces an earlier one, as in `byKey`. */
function byDevAddress(items: readonly AddressState[]): Map<string, Map<string, AddressState>> {
  const m = new Map<string, Map<string, AddressState>>();
  for (const a of items) {
    let dev = m.get(a.dev);
    if (!dev) m.set(a.dev, (dev = new Map()));
    dev.set(a.address, a);
  }
  return m;
}

// ------------------------------------------------------------------ IPVS

function sameService(a: IpvsService, b: IpvsService): boolean {
  return (
    a.scheduler === b.scheduler &&
    a.flags.join(',') === b.flags.join(',') &&
    a.persistence?.timeout === b.persistence?.timeout &&
    a.persistence?.netmask === b.persistence?.netmask &&
    a.pe === b.pe &&
    a.ops === b.ops
  );
}

function sameDestination(a: IpvsDestination, b: IpvsDestination): boolean {
  return (
    a.method === b.method &&
    a.weight === b.weight &&
    a.upper === b.upper &&
    a.lower === b.lower &&
    a.tunType === b.tunType &&
    a.tunPort === b.tunPort &&
    (a.tunCsum ?? DEFAULT_TUN_CSUM) === (b.tunCsum ?? DEFAULT_TUN_CSUM)
  );
}

function describeService(s: IpvsService): string {
  const parts = [`scheduler ${s.scheduler}`];
  if (s.flags.length) parts.push(`flags ${s.flags.join(',')}`);
  if (s.persistence) parts.push(`persistence ${s.persistence.timeout}s${s.persistence.netmask ? `/${s.persistence.netmask}` : ''}`);
  if (s.pe) parts.push(`pe ${s.pe}`);
  if (s.ops) parts.push('ops');
  return parts.join('  ');
}

function changes(fields: [string, unknown, unknown][]): string {
  return fields
    .filter(([, a, b]) => a !== b)
    .map(([name, a, b]) => `${name} ${a ?? '-'} → ${b ?? '-'}`)
    .join(', ');
}

/**
 * Who writes a director's keepalived services: `owned`, the services
 * keepalived programs (by key: those the description gives it, and those the
 * keepalived.conf lvsc rendered there still names) — lvsc's ipvsadm leaves
 * them alone, whatever the table says, except to put back what keepalived
 * believes (`believed`: the services of the live keepalived.conf, which
 * keepalived runs) when the kernel lost it.
 */
interface KeepalivedView {
  readonly owned: ReadonlySet<string>;
  /** Services by key, each with its servers by `hostPort` and the weight keepalived.conf gives them. */
  readonly believed: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly health: readonly ServerHealth[];
}

/**
 * The IPVS diff. Returns the destinations of keepalived's services to drain
 * (live services by key, holding only those destinations): servers that
 * left the file, which keepalived is to keep at weight 0 for the drain before
 * it takes them out (diffKeepalivedConf).
 */
function diffIpvs(desired: readonly IpvsService[], live: readonly IpvsService[], view: KeepalivedView, out: Step[]): Map<string, IpvsService> {
  const drained = new Map<string, IpvsService>();
  const health = new Map(view.health.map((h) => [healthKey(serviceKey(h.service), h.dest), h.state]));
  const liveByKey = byKey(live, (s) => serviceKey(s.id));
  const desiredKeys = new Set<string>();
  // Live entries some desired entry found: when that is all of them, nothing is left to delete
  // and no key needs computing twice (the common case: a table that is mostly as described).
  const matched = new Set<IpvsService>();
  for (const want of desired) {
    const key = serviceKey(want.id);
    desiredKeys.add(key);
    const have = liveByKey.get(key);
    if (view.owned.has(key)) {
      if (have) matched.add(have);
      if (want.owner === 'keepalived') keepalivedService(want, have, key, view.believed.get(key), health, drained, out);
      continue;
    }
    if (!have) {
      out.push(step({ action: 'create', kind: 'ipvs-service', id: { service: want.id }, after: want, reason: describeService(want), phase: 'table', commands: [addService(want)] }, key));
      for (const d of want.destinations) out.push(createDestinationStep(want, key, d));
      continue;
    }
    matched.add(have);
    if (!sameService(want, have)) {
      const reason = changes([
        ['scheduler', have.scheduler, want.scheduler],
        ['flags', have.flags.join(',') || undefined, want.flags.join(',') || undefined],
        ['persistence', have.persistence?.timeout, want.persistence?.timeout],
        ['netmask', have.persistence?.netmask, want.persistence?.netmask],
        ['pe', have.pe, want.pe],
        ['ops', have.ops, want.ops],
      ]);
      // -E replaces every attribute: editService restates them all.
      out.push(step({ action: 'update', kind: 'ipvs-service', id: { service: want.id }, before: stripDestinations(have), after: stripDestinations(want), reason, phase: 'table', commands: [editService(want)] }, key));
    }
    const liveDests = new DestinationIndex(have.destinations);
    // IPVS holds one destination per address and port, so counting matches tells
    // whether any live destination is left over (no per-destination set needed).
    let matchedDests = 0;
    for (const d of want.destinations) {
      const hd = liveDests.get(d);
      if (!hd) {
        out.push(createDestinationStep(want, key, d));
        continue;
      }
      matchedDests++;
      if (sameDestination(d, hd)) continue;
      const reason = changes([
        ['method', hd.method, d.method],
        ['weight', hd.weight, d.weight],
        ['upper', hd.upper, d.upper],
        ['lower', hd.lower, d.lower],
        ['tunnel', hd.tunType, d.tunType],
        ['tunnel port', hd.tunPort, d.tunPort],
        ['checksum', hd.tunCsum, d.tunCsum],
      ]);
      // A change of method cannot be edited in place by every kernel; -e restates all attributes.
      out.push(step({ action: 'update', kind: 'ipvs-destination', id: { service: want.id, dest: { address: d.address, port: d.port } }, before: hd, after: d, reason, phase: 'table', commands: [editDestination(want.id, d)] }, destinationLabel(d, key)));
    }
    if (matchedDests !== have.destinations.length) {
      const wanted = new DestinationIndex(want.destinations);
      for (const hd of have.destinations) if (!wanted.get(hd)) out.push(deleteDestinationStep(have, hd));
    }
  }
  if (matched.size === live.length) return drained;
  for (const have of live) {
    const key = serviceKey(have.id);
    if (desiredKeys.has(key)) continue;
    // A checked service gone from the file leaves with keepalived.conf, at once: keepalived -t refuses a
    // service whose servers all have weight 0 ("quorum 1 exceeds total weight"), so it cannot drain there.
    // Its VIPs leave the director first (the unvip phase), as for any service.
    if (view.owned.has(key)) continue;
    for (const hd of have.destinations) out.push(deleteDestinationStep(have, hd));
    out.push(step({ action: 'delete', kind: 'ipvs-service', id: { service: have.id }, before: stripDestinations(have), reason: 'not in the cluster file', phase: 'untable', commands: [deleteService(have.id)] }, key));
  }
  return drained;
}

/**
 * One of keepalived's services, which lvsc's ipvsadm does not write, except
 * to put back what keepalived believes when the kernel has drifted from it:
 * - a destination keepalived reports up whose live weight is not the
 *   declared one, which keepalived.conf already has (a hand edit): `ipvsadm
 *   -e` back to it (a weight the file changes, keepalived's reload sets);
 * - a destination keepalived believes in that the table lost (someone ran
 *   `ipvsadm -d`; a reload does not make keepalived add it again): `ipvsadm
 *   -a` as keepalived has it — at its keepalived.conf weight when it reports it up,
 *   at weight 0 when it reports it down in a `quiesce` service;
 * - the service itself, lost from the table while the keepalived.conf
 *   keepalived runs (`believed`) names it: `ipvsadm -A`, then those destinations.
 * Servers keepalived says nothing of yet (not checked once since it started)
 * are its business, as are those it has down, quiesced or removed.
 * Destinations in the table that the file no longer has (nor is the sorry
 * server) are drained through keepalived.conf (`drained`).
 */
function keepalivedService(want: IpvsService, have: IpvsService | undefined, key: string, believed: ReadonlyMap<string, number> | undefined, health: ReadonlyMap<string, 'up' | 'down'>, drained: Map<string, IpvsService>, out: Step[]): void {
  if (!have && !believed) return;
  const put = (d: IpvsDestination) => {
    // A server keepalived.conf does not name yet (added in this run) keepalived adds once its check passes.
    const weight = believed?.get(hostPort(d.address, d.port));
    if (weight === undefined) return undefined;
    const state = health.get(healthKey(key, d));
    if (state === 'up') return { ...d, weight };
    if (state === 'down' && want.keepalived?.quiesce) return { ...d, weight: 0 };
    return undefined;
  };
  if (!have) {
    const dests = want.destinations.map(put).filter((d): d is IpvsDestination => d !== undefined);
    out.push(step({ action: 'create', kind: 'ipvs-service', id: { service: want.id }, after: stripDestinations(want), reason: `${describeService(want)} (keepalived runs it: the kernel lost it, put back)`, phase: 'table', commands: [addService(want)] }, key));
    for (const d of dests) out.push(restoreDestinationStep(want, key, d));
    return;
  }
  const liveDests = new DestinationIndex(have.destinations);
  let matchedDests = 0;
  for (const d of want.destinations) {
    const hd = liveDests.get(d);
    if (!hd) {
      const back = put(d);
      if (back) out.push(restoreDestinationStep(want, key, back));
      continue;
    }
    matchedDests++;
    // A weight the file changes is keepalived's to set, on its reload; one keepalived.conf already has, edited by hand, is drift.
    if (hd.weight === d.weight || health.get(healthKey(key, d)) !== 'up' || believed?.get(hostPort(d.address, d.port)) !== d.weight) continue;
    out.push(
      step(
        { action: 'update', kind: 'ipvs-destination', id: { service: want.id, dest: { address: d.address, port: d.port } }, before: hd, after: { ...hd, weight: d.weight }, reason: `weight ${hd.weight} → ${d.weight} (keepalived reports it up: changed by hand)`, phase: 'table', commands: [editDestination(want.id, { ...hd, weight: d.weight })] },
        destinationLabel(d, key),
      ),
    );
  }
  if (matchedDests === have.destinations.length) return;
  const wanted = new DestinationIndex(want.keepalived?.sorry ? [...want.destinations, want.keepalived.sorry] : want.destinations);
  const leaving = have.destinations.filter((hd) => !wanted.get(hd));
  if (!leaving.length) return;
  drained.set(key, { ...have, destinations: leaving });
  for (const hd of leaving) out.push(deleteDestinationStep(have, hd, 'keepalived'));
}

/** A destination of keepalived's that the kernel lost, put back as keepalived has it. */
function restoreDestinationStep(svc: IpvsService, key: string, d: IpvsDestination): Step {
  return step(
    { action: 'create', kind: 'ipvs-destination', id: { service: svc.id, dest: { address: d.address, port: d.port } }, after: d, reason: `weight ${d.weight} (keepalived has it ${d.weight ? 'up' : 'down, quiesced'}: the kernel lost it, put back)`, phase: 'table', commands: [addDestination(svc.id, d)] },
    destinationLabel(d, key),
  );
}

function stripDestinations(s: IpvsService): ServiceSettings {
  const { destinations: _d, ...rest } = s;
  return rest;
}

/** `svcKey` is `serviceKey(svc.id)`, which the caller has already worked out. */
function createDestinationStep(svc: IpvsService, svcKey: string, d: IpvsDestination): Step {
  // The one step there are 100,000 of: built whole, label included.
  return {
    action: 'create',
    kind: 'ipvs-destination',
    id: { service: svc.id, dest: { address: d.address, port: d.port } },
    label: destinationLabel(d, svcKey),
    after: d,
    reason: `${d.method}${d.tunType ? ` ${d.tunType}` : ''} weight ${d.weight}`,
    phase: 'table',
    commands: [addDestination(svc.id, d)],
  };
}

/**
 * A destination to remove, drained first: weight 0 stops new connections
 * while established ones finish. `keepalived`: a server leaving one of
 * keepalived's services — keepalived.conf first holds it at weight 0
 * (reloaded), the drain is waited out, then keepalived.conf without it
 * (reloaded) takes it out; no command of lvsc's.
 */
function deleteDestinationStep(svc: IpvsService, d: IpvsDestination, writer?: 'keepalived'): Step {
  return step({
    action: 'delete',
    kind: 'ipvs-destination',
    id: { service: svc.id, dest: { address: d.address, port: d.port } },
    before: d,
    phase: 'drain',
    drain: true,
    ...(writer
      ? { reason: 'drain, then delete (weight 0 in keepalived.conf, then out of it)', writer, commands: [] }
      : { reason: 'drain, then delete', commands: [editDestination(svc.id, { ...d, weight: 0 }), deleteDestination(svc.id, d)] }),
  });
}

// ------------------------------------------------------------------ host networking

/** `dev address/prefix`, as lvsc's files record the IPv6 addresses it owns. */
function addressKey(a: AddressState): string {
  return `${a.dev} ${a.address}/${a.prefix}`;
}

function addressId(a: AddressState): StepOf<'address'>['id'] {
  return { dev: a.dev, address: a.address, prefix: a.prefix };
}

function ownsAddress(a: AddressState, ownership: Ownership): boolean {
  return a.label?.endsWith(OWN_LABEL_SUFFIX) === true || ownership.addresses.has(addressKey(a));
}

function isDirectorVipDev(dev: string): boolean {
  return !OWNED_DEVICES.has(dev);
}

function diffAddresses(desired: readonly AddressState[], live: readonly AddressState[], ownership: Ownership, director: boolean, vrrp: VrrpHeld | undefined, out: Step[]): void {
  // An address is the same whatever its prefix or label: an operator's hand-added VIP is left as it is.
  // One keepalived holds by VRRP is not lvsc's static copy (unless the kernel cannot tell them apart:
  // the same prefix), so a pair leaving VRRP gets its static VIPs before keepalived lets go of its own.
  const desiredKeys = vrrp ? new Set(desired.map(addressKey)) : undefined;
  const liveByDevAddr = byDevAddress(vrrp ? live.filter((a) => !vrrp.held.has(addressKey(a)) || desiredKeys!.has(addressKey(a))) : live);
  const matched = new Set<AddressState>();
  for (const want of desired) {
    const have = liveByDevAddr.get(want.dev)?.get(want.address);
    if (have && vrrp?.releasing.has(addressKey(have))) {
      // keepalived holds it as the very kernel address lvsc wants (IPv6, a host prefix) and lets go
      // of it in this run (keepalived.conf in vip, or its stop): lvsc puts it back as its own at once.
      matched.add(have);
      const message = `keepalived did not let go of ${have.address}/${have.prefix} on ${have.dev} within ${vrrp.waitSeconds} s (was it reloaded?): lvsc did not put its own copy back`;
      out.push(step({ action: 'update', kind: 'address', id: addressId(want), before: have, after: want, reason: 'keepalived lets go of it (no VRRP any more): lvsc\'s again, put back as soon as keepalived has removed it', phase: 'unvip', commands: [waitForAddress(want, vrrp.waitSeconds, message, true), addAddress(want)] }));
      continue;
    }
    if (have) {
      matched.add(have);
      continue;
    }
    const phase: Phase = director && isDirectorVipDev(want.dev) ? 'vip' : 'prepare';
    out.push(step({ action: 'create', kind: 'address', id: addressId(want), after: want, reason: want.label ? `label ${want.label}` : 'owned by lvsc', phase, commands: [addAddress(want)] }));
  }
  if (matched.size === live.length) return;
  const wanted = byDevAddress(desired);
  for (const have of live) {
    if (matched.has(have) || wanted.get(have.dev)?.has(have.address) || !ownsAddress(have, ownership)) continue;
    // keepalived's own (VRRP state, on whichever director is master): never lvsc's to remove.
    if (vrrp?.held.has(addressKey(have))) continue;
    const phase: Phase = director && isDirectorVipDev(have.dev) ? 'unvip' : 'cleanup';
    const handover = vrrp?.wanted.get(`${have.dev} ${have.address}`);
    if (handover) {
      // The static copy goes only once keepalived holds its own: never a moment with neither.
      const message = `keepalived did not take ${vrrpAddressLine(handover)} within ${vrrp!.waitSeconds} s (is it running, and master here?): lvsc's static copy ${have.address}/${have.prefix} stays`;
      out.push(
        step({
          action: 'delete',
          kind: 'address',
          id: addressId(have),
          before: have,
          reason: `keepalived holds it now (VRRP, as ${handover.address}/${handover.prefix}): removed once it does`,
          phase,
          handover: true,
          commands: [waitForAddress(handover, vrrp!.waitSeconds, message), deleteAddress(have)],
        }),
      );
      continue;
    }
    out.push(step({ action: 'delete', kind: 'address', id: addressId(have), before: have, reason: 'not in the cluster file', phase, commands: [deleteAddress(have)] }));
  }
}

function diffRoutes(desired: readonly RouteState[], live: readonly RouteState[], gateways: NonNullable<DiffOptions['gateways']>, out: Step[]): void {
  const fam = (r: RouteState) => (r.via?.includes(':') || r.dst.includes(':') ? 6 : 4);
  const liveByDst = new Map<string, RouteState[]>();
  for (const r of live) liveByDst.set(`${fam(r)} ${r.dst}`, [...(liveByDst.get(`${fam(r)} ${r.dst}`) ?? []), r]);
  const wanted = new Set<string>();
  for (const want of desired) {
    const k = `${fam(want)} ${want.dst}`;
    wanted.add(k);
    const have = liveByDst.get(k) ?? [];
    if (have.some((h) => h.via === want.via && (!want.dev || h.dev === want.dev))) continue;
    out.push(
      step({
        action: have.length ? 'update' : 'create',
        kind: 'route',
        id: { dst: want.dst, family: fam(want) },
        before: have[0],
        after: want,
        reason: have.length ? `via ${have[0].via ?? '-'} → ${want.via}` : `via ${want.via}`,
        phase: 'prepare',
        commands: [replaceRoute(fam(want), { dst: want.dst, via: want.via!, dev: want.dev }, ROUTE_PROTO)],
      }),
    );
  }
  for (const have of live) {
    if (have.proto !== ROUTE_PROTO || wanted.has(`${fam(have)} ${have.dst}`)) continue;
    const id = { dst: have.dst, family: fam(have) } as const;
    // `ip route replace` took the host's own default route when lvsc set its own: put the declared one back.
    const gateway = have.dst === 'default' ? gateways.find((g) => g.family === fam(have)) : undefined;
    if (gateway) {
      const after: RouteState = { dst: 'default', via: gateway.address };
      out.push(step({ action: 'update', kind: 'route', id, before: have, after, reason: `no longer lvsc's: back to the declared gateway ${gateway.address}`, phase: 'cleanup', commands: [replaceRoute(fam(have), { dst: 'default', via: gateway.address })] }));
      continue;
    }
    const reason = have.dst === 'default' ? 'not in the cluster file; the host declares no gateway to put back, so it is left without a default route' : 'not in the cluster file';
    out.push(step({ action: 'delete', kind: 'route', id, before: have, reason, phase: 'cleanup', commands: [deleteRoute(fam(have), have.dst, ROUTE_PROTO)] }));
  }
}

function diffSysctls(desired: Readonly<Record<string, string>>, live: Readonly<Record<string, string>>, out: Step[]): void {
  for (const [key, value] of Object.entries(desired)) {
    const have = live[key];
    if (have === value) continue;
    out.push(
      step({
        action: have === undefined ? 'create' : 'update',
        kind: 'sysctl',
        id: { name: key },
        before: have,
        after: value,
        reason: `${have ?? '(unset)'} → ${value}`,
        phase: 'prepare',
        commands: [setSysctl(key, value)],
      }),
    );
  }
}

/**
 * Sysctls lvsc set and no longer wants go back to the kernel defaults. Called
 * after the addresses are diffed, so that within the cleanup phase a real
 * server's VIP leaves lo (or tunl0) before arp_ignore/arp_announce (or
 * rp_filter) return to their defaults: the reverse of the order they were set
 * in. The other way round the host would answer ARP for a VIP it still holds.
 */
function resetSysctls(desired: Readonly<Record<string, string>>, live: Readonly<Record<string, string>>, ownership: Ownership, out: Step[]): void {
  for (const key of ownership.sysctls) {
    if (key in desired) continue;
    const def = sysctlDefault(key);
    if (def === undefined || live[key] === undefined || live[key] === def) continue;
    out.push(step({ action: 'delete', kind: 'sysctl', id: { name: key }, before: live[key], after: def, reason: `no longer needed: back to the kernel default ${def}`, phase: 'cleanup', commands: [setSysctl(key, def)] }));
  }
}

function diffModules(desired: readonly string[], live: readonly string[], out: Step[]): void {
  const loaded = new Set(live);
  // Modules are never unloaded: removing ip_vs would flush the table and every live connection.
  for (const m of desired) {
    if (loaded.has(m)) continue;
    out.push(step({ action: 'create', kind: 'module', id: { name: m }, after: m, reason: 'load', phase: 'prepare', commands: [loadModule(m)] }));
  }
}

function diffLinks(desired: readonly LinkState[], live: readonly LinkState[], ownership: Ownership, out: Step[]): void {
  const liveByName = byKey(live, (l) => l.name);
  for (const want of desired) {
    const have = liveByName.get(want.name);
    if (want.kind === 'fou') {
      if (have) continue;
      out.push(step({ action: 'create', kind: 'link', id: { name: want.name }, after: want, reason: `GUE decapsulation on UDP port ${want.port}`, phase: 'prepare', commands: [addFouPort(want.port!)] }));
      continue;
    }
    if (have?.up) continue;
    out.push(step({ action: have ? 'update' : 'create', kind: 'link', id: { name: want.name }, before: have, after: want, reason: 'up', phase: 'prepare', commands: [setLinkUp(want.name)] }));
  }
  for (const have of live) {
    if (have.kind !== 'fou' || desired.some((d) => d.name === have.name) || !ownership.fouPorts.has(have.port!)) continue;
    out.push(step({ action: 'delete', kind: 'link', id: { name: have.name }, before: have, reason: 'not in the cluster file', phase: 'cleanup', commands: [deleteFouPort(have.port!)] }));
  }
}

function diffFwmarkRules(desired: HostState['fwmarkRules'], live: HostState['fwmarkRules'], out: Step[]): void {
  const key = (r: HostState['fwmarkRules'][number]) => `${r.family} ${r.proto} ${r.address} ${[...r.ports].sort((a, b) => a - b).join(',')} ${r.mark}`;
  const a = desired.map(key).sort().join('\n');
  const b = live.map(key).sort().join('\n');
  if (a === b) return;
  // lvsc's nftables table is replaced in one transaction: no moment without marks.
  const action = !live.length ? 'create' : !desired.length ? 'delete' : 'update';
  out.push(
    step({
      action,
      kind: 'fwmark-rules',
      id: { family: NFT_FAMILY, table: NFT_TABLE },
      before: live,
      after: desired,
      reason: `${desired.length} mark rule(s)`,
      phase: action === 'delete' ? 'untable' : 'table',
      commands: [replaceNftTable(desired)],
    }),
  );
}

// ------------------------------------------------------------------ the one diff

export function diffHost(desired: HostState, live: HostState, options: DiffOptions): Step[] {
  const out: Step[] = [];
  diffModules(desired.modules, live.modules, out);
  diffSysctls(desired.sysctls, live.sysctls, out);
  diffLinks(desired.links, live.links, options.ownership, out);
  diffRoutes(desired.routes, live.routes, options.gateways ?? [], out);
  diffAddresses(desired.addresses, live.addresses, options.ownership, options.director, options.director ? vrrpHeld(live, options) : undefined, out);
  resetSysctls(desired.sysctls, live.sysctls, options.ownership, out);
  let drained = new Map<string, IpvsService>();
  // keepalived.conf lvsc rendered on the host, and whether this run stops keepalived (the description has no checked service left).
  const ownFile = options.ownership.files.has(KEEPALIVED_CONF) ? live.files[KEEPALIVED_CONF] : undefined;
  const stopping = ownFile !== undefined && desired.files[KEEPALIVED_CONF] === undefined;
  if (options.director) {
    drained = diffIpvs(desired.ipvs ?? [], live.ipvs ?? [], keepalivedView(desired, ownFile, stopping, options.health ?? []), out);
    const t = desired.timeouts;
    const lt = live.timeouts;
    if (t && (!lt || (t.tcp && t.tcp !== lt.tcp) || (t.tcpfin && t.tcpfin !== lt.tcpfin) || (t.udp && t.udp !== lt.udp))) {
      out.push(step({ action: 'update', kind: 'timeouts', id: {}, before: lt ?? undefined, after: t, reason: `${lt ? `${lt.tcp} ${lt.tcpfin} ${lt.udp}` : '?'} → ${t.tcp} ${t.tcpfin} ${t.udp}`, phase: 'table', commands: [setTimeouts(t)] }));
    }
    // A failover pair's sync daemons are keepalived's (`lvs_sync_daemon`): their role follows VRRP.
    // A keepalived this run stops takes the sync daemons its file started (lvs_sync_daemon) with it:
    // those are not lvsc's to stop (ipvsadm --stop-daemon would find none running and fail).
    const keepalivedSync = stopping && keepalivedStartsSync(ownFile!);
    if (!options.vrrp) diffSync(desired, live, out, keepalivedSync);
  }
  diffFwmarkRules(desired.fwmarkRules, live.fwmarkRules, out);
  diffKeepalivedConf(desired.files[KEEPALIVED_CONF], live.files[KEEPALIVED_CONF], stopping, drained, options.keepalived, out);
  diffFiles(desired.files, live.files, options.ownership, out);
  diffUnits(desired.enabledUnits, live.enabledUnits, out);
  return out;
}

/**
 * Which services are keepalived's on a director (KeepalivedView): none once
 * keepalived is to stop — then lvsc's ipvsadm takes over every entry it left
 * in the table (it runs with --dont-release-ipvs), after the stop.
 */
function keepalivedView(desired: HostState, ownFile: string | undefined, stopping: boolean, health: readonly ServerHealth[]): KeepalivedView {
  if (stopping) return { owned: new Set(), believed: new Map(), health: [] };
  const believed = ownFile === undefined ? new Map<string, Map<string, number>>() : keepalivedServersFromFile(ownFile);
  const owned = new Set(believed.keys());
  for (const s of desired.ipvs ?? []) if (s.owner === 'keepalived') owned.add(serviceKey(s.id));
  return { owned, believed, health };
}

/**
 * keepalived.conf, in the table phase: after the real servers are ready for
 * the servers it adds (the director's table waits for their prepare).
 * - With servers to drain, twice: first with them at weight 0
 *   (drainingConfig), then, in the drain phase once `--drain` is waited out,
 *   as described (which takes them out).
 * - No checked service left (`stopping`): keepalived is stopped (it leaves its
 *   entries in the table, which lvsc's ipvsadm takes over from then on) and
 *   the file removed, before any IPVS edit of the table phase.
 */
function diffKeepalivedConf(want: string | undefined, have: string | undefined, stopping: boolean, drained: ReadonlyMap<string, IpvsService>, config: KeepalivedConfig | undefined, out: Step[]): void {
  const id = { path: KEEPALIVED_CONF };
  // A keepalived that holds VRRP addresses lets go of them only after the static VIPs are on.
  const release = releasesVrrp(have, want);
  if (stopping) {
    // Before lvsc's ipvsadm edits (table), unless it holds VRRP addresses and no service of its own:
    // then after the static VIPs are on (unvip: a stop runs first in its phase).
    const phase: Phase = release && keepalivedServersFromFile(have!).size === 0 ? 'unvip' : 'table';
    out.push(step({ action: 'delete', kind: 'file', id, before: have, reason: 'no checked service left: keepalived stopped (its entries stay, lvsc\'s from now on), the file removed', phase, commands: [keepalivedStop(), removeFile(KEEPALIVED_CONF)] }));
    return;
  }
  if (want === undefined) return;
  if (drained.size && !config) throw new Error('bug: servers to drain through keepalived.conf, without its model (DiffOptions.keepalived)');
  const first = drained.size ? renderKeepalivedConf(drainingConfig(config!, drained)) : want;
  if (first !== have) out.push(step({ action: have === undefined ? 'create' : 'update', kind: 'file', id, before: have, after: first, reason: first === want ? (have === undefined ? 'render' : 're-render') : 'the servers leaving it at weight 0, to drain', phase: release ? 'vip' : 'table', commands: [] }));
  if (first !== want) out.push(step({ action: 'update', kind: 'file', id, before: first, after: want, reason: 'drained: the servers leave it', phase: 'drain', commands: [] }));
}

function diffSync(desired: HostState, live: HostState, out: Step[], keepalivedStopsLive = false): void {
  const key = (d: HostState['syncDaemons'][number]) => `${d.state} ${d.mcastInterface} ${d.syncid}`;
  const liveByState = byKey(live.syncDaemons, (d) => d.state);
  const wantStates = new Set<string>();
  for (const want of desired.syncDaemons) {
    wantStates.add(want.state);
    const have = liveByState.get(want.state);
    if (have && key(have) === key(want)) continue;
    const start = startSyncDaemon(want);
    out.push(
      step({
        action: have ? 'update' : 'create',
        kind: 'sync-daemon',
        id: { state: want.state },
        before: have,
        after: want,
        reason: `${want.state} on ${want.mcastInterface} syncid ${want.syncid}`,
        phase: 'table',
        commands: have ? [stopSyncDaemon(want.state), start] : [start],
      }),
    );
  }
  for (const have of live.syncDaemons) {
    if (wantStates.has(have.state) || keepalivedStopsLive) continue;
    out.push(step({ action: 'delete', kind: 'sync-daemon', id: { state: have.state }, before: have, reason: 'not in the cluster file', phase: 'untable', commands: [stopSyncDaemon(have.state)] }));
  }
}

/**
 * Whether keepalived lets go of VRRP addresses when its configuration goes
 * from `have` to `want` (undefined: keepalived stops): a pair that stops
 * failing over by itself. Then that keepalived.conf waits until the
 * director's static VIPs are on (the end of the `vip` phase, where the
 * keepalived unit runs last), so that the addresses are never held by neither.
 */
function releasesVrrp(have: string | undefined, want: string | undefined): boolean {
  if (have === undefined) return false;
  const keeps = want === undefined ? new Set<string>() : vrrpAddressesFromFile(want);
  for (const a of vrrpAddressesFromFile(have)) if (!keeps.has(a)) return true;
  return false;
}

/**
 * Units to enable at boot that are not (compiler/boot.ts). Never a disable:
 * lvsc did not necessarily enable what it no longer needs.
 */
function diffUnits(desired: readonly string[], live: readonly string[], out: Step[]): void {
  const enabled = new Set(live);
  for (const name of desired) {
    if (enabled.has(name)) continue;
    if (!isBootUnit(name)) throw new Error(`bug: lvsc does not know how to enable ${name}`);
    const link = wantsLink(name);
    out.push(step({ action: 'create', kind: 'unit', id: { name }, after: link, reason: 'enabled at boot', phase: 'prepare', commands: [enableUnit(name)] }));
  }
}

function diffFiles(desired: Readonly<Record<string, string>>, live: Readonly<Record<string, string>>, ownership: Ownership, out: Step[]): void {
  for (const [path, content] of Object.entries(desired)) {
    const have = live[path];
    if (have === content || path === KEEPALIVED_CONF) continue;
    // The content is written by the transport's put(); the step carries it as data.
    out.push(step({ action: have === undefined ? 'create' : 'update', kind: 'file', id: { path }, before: have, after: content, reason: have === undefined ? 'render' : 're-render', phase: 'prepare', commands: [] }));
  }
  for (const path of ownership.files) {
    if (path in desired || live[path] === undefined || path === KEEPALIVED_CONF) continue;
    out.push(step({ action: 'delete', kind: 'file', id: { path }, before: live[path], reason: 'no longer rendered', phase: 'cleanup', commands: [removeFile(path)] }));
  }
}
