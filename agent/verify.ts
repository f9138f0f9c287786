/**
 * Whether the IPVS steps of a unit hold in the table read back after it, by
 * the one diff (compiler/diff.ts `diffHost`): what the unit was to make of
 * each step's resource (a service or a destination: its `after`, its absence
 * for a deletion, or for a drained destination its live value at weight 0) is
 * diffed against the read-back table, both sides limited to the services the
 * unit touches (their other destinations as read, so they differ in nothing).
 * A step holds when the diff has no step on its resource.
 */
import { diffHost, NO_OWNERSHIP } from '../compiler/diff.js';
import type { ServiceSettings, Step } from '../compiler/plan.js';
import { destinationKey, emptyHostState, serviceKey, type DestinationId, type IpvsDestination, type IpvsService, type ServiceId } from '../compiler/state.js';

/** What a unit was to make of its steps: their end state, or (drain) weight 0 with the rest as it was. */
export type Expectation = 'done' | 'weight-zero';

/** A resource of the table, by identity. */
function resourceKey(kind: 'ipvs-service' | 'ipvs-destination', service: ServiceId, dest?: DestinationId): string {
  return kind === 'ipvs-service' ? `service ${serviceKey(service)}` : `destination ${serviceKey(service)} ${destinationKey(dest!)}`;
}

function settingsOf(s: IpvsService | ServiceSettings): ServiceSettings {
  const { destinations: _d, ...settings } = s as IpvsService;
  return settings;
}

/** The steps of `steps` (IPVS steps only) whose resource, in `table` as read back, differs from what the unit was to make of it. */
export function stepsNotHeld(steps: readonly Step[], expect: Expectation, table: readonly IpvsService[]): Set<Step> {
  const live = new Map<string, IpvsService>();
  for (const s of table) if (!live.has(serviceKey(s.id))) live.set(serviceKey(s.id), s);
  // Per service the unit touches: its settings (null: it must be gone) and its destinations (null: gone).
  const touched = new Map<string, { id: ServiceId; settings?: ServiceSettings | null; dests: Map<string, IpvsDestination | null> }>();
  const entry = (id: ServiceId) => {
    let e = touched.get(serviceKey(id));
    if (!e) touched.set(serviceKey(id), (e = { id, dests: new Map() }));
    return e;
  };
  for (const step of steps) {
    if (step.kind === 'ipvs-service') {
      entry(step.id.service).settings = step.action === 'delete' || !step.after ? null : settingsOf(step.after);
    } else if (step.kind === 'ipvs-destination') {
      const want = expect === 'weight-zero' ? (step.before && { ...step.before, weight: 0 }) : step.action === 'delete' ? undefined : step.after;
      entry(step.id.service).dests.set(destinationKey(step.id.dest), want ?? null);
    } else {
      throw new Error(`bug: a ${step.kind} step checked against the IPVS table`);
    }
  }
  const desired: IpvsService[] = [];
  const read: IpvsService[] = [];
  for (const [key, e] of touched) {
    const have = live.get(key);
    if (have) read.push(have);
    const present = [...e.dests.values()].filter((d): d is IpvsDestination => d !== null);
    // A service the unit does not change is wanted as it is; one missing with destinations to hold is wanted anyway (any settings: its destinations cannot hold).
    const settings = e.settings !== undefined ? e.settings : have ? settingsOf(have) : present.length ? { id: e.id, scheduler: '', flags: [], ops: false } : null;
    if (settings === null) continue;
    const others = (have?.destinations ?? []).filter((d) => !e.dests.has(destinationKey(d)));
    desired.push({ ...settings, id: e.id, destinations: [...others, ...present] });
  }
  const differ = new Set<string>();
  const diff = diffHost({ ...emptyHostState(), ipvs: desired }, { ...emptyHostState(), ipvs: read }, { director: true, ownership: NO_OWNERSHIP });
  for (const d of diff) {
    if (d.kind === 'ipvs-service') differ.add(resourceKey(d.kind, d.id.service));
    else if (d.kind === 'ipvs-destination') differ.add(resourceKey(d.kind, d.id.service, d.id.dest));
  }
  const out = new Set<Step>();
  for (const step of steps) {
    const key = step.kind === 'ipvs-service' ? resourceKey(step.kind, step.id.service) : step.kind === 'ipvs-destination' ? resourceKey(step.kind, step.id.service, step.id.dest) : '';
    if (differ.has(key)) out.add(step);
  }
  return out;
}

/**
 * Whether checking these steps needs the thresholds read back too (`-Sn`
 * omits them): when a destination that is to be there is to have some, or
 * had some before (a change to 0 must show). Else they are 0 on both sides
 * (or the destination is to be gone), and one dump of the table is enough.
 */
export function needsThresholds(steps: readonly Step[], expect: Expectation): boolean {
  const some = (d: IpvsDestination | undefined) => d !== undefined && (d.upper !== 0 || d.lower !== 0);
  return steps.some((s) => s.kind === 'ipvs-destination' && (expect === 'weight-zero' || s.action !== 'delete') && (some(s.after) || some(s.before)));
}
