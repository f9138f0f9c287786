/**
 * Golden files for the compiler's output: for each example, each host's script
 * and each rendered file are committed under compiler/testdata/golden/<example>/
 * and compared (the plan's text and JSON views have theirs in
 * cli/testdata/golden/). An intended change updates them with one command:
 * `npm run test:accept`.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from './index.js';
import { planCluster } from './compile.js';
import { renderHostScript } from './script.js';
import { assertBaseline } from '../test/support/baseline.js';
import { NO_OWNERSHIP } from './diff.js';
import { buildPlan } from './order.js';
import { isDirectorHost } from './desired.js';
import { isEmpty, type HostPlan } from './plan.js';
import { serviceKey, type AddressState, type FwmarkRule, type HostState, type IpvsDestination, type IpvsService, type LinkState, type RouteState, type SyncDaemon, type Timeouts } from './state.js';

const examples = new URL('../examples/', import.meta.url).pathname;
const golden = new URL('./testdata/golden/', import.meta.url).pathname;

for (const name of readdirSync(examples).filter((f) => f.endsWith('.lvs') && f !== 'lab.lvs').sort()) {
  const base = name.replace(/\.lvs$/, '');
  const load = () => {
    const r = check([{ path: `examples/${name}`, text: readFileSync(join(examples, name), 'utf8') }]);
    if (!r.cluster || r.diagnostics.length) throw new Error(`${name} does not validate`);
    return planCluster(r.cluster);
  };

  test(`golden host scripts and files of ${name}`, (t) => {
    const { plan, desired } = load();
    for (const h of plan.hosts) {
      assertBaseline(t, join(golden, base, h.host, 'plan.sh'), renderHostScript(h));
      for (const [path, content] of Object.entries(desired.find((d) => d.name === h.host)!.state.files)) {
        assertBaseline(t, join(golden, base, h.host, 'files', path), content);
      }
    }
  });

  test(`${name}: once every step of the plan from nothing has done what it says, planning again finds nothing to do`, (t) => {
    const { desired, plan } = load();
    const live = new Map(plan.hosts.map((h) => [h.host, { state: applied(h), ownership: NO_OWNERSHIP }]));
    const again = buildPlan(desired, live);
    t.true(isEmpty(again), JSON.stringify(again.hosts.flatMap((h) => h.steps.map((s) => `${h.host} ${s.action} ${s.kind} ${s.label}`))));
  });
}

/**
 * The host a plan from nothing leaves behind, built from the plan's steps
 * alone: each one's `after` put in place, resource by resource (a service
 * gets only the destinations that have steps of their own), never the desired
 * state the plan was made from. Lists come out reversed, as a host lists them
 * in an order of its own: planning again must match by identity, not position.
 */
function applied(host: HostPlan): HostState {
  const modules: string[] = [];
  const sysctls: Record<string, string> = {};
  const links: LinkState[] = [];
  const addresses: AddressState[] = [];
  const routes: RouteState[] = [];
  const syncDaemons: SyncDaemon[] = [];
  const files: Record<string, string> = {};
  const enabledUnits: string[] = [];
  // The fact batch reads a table only on a director, active or backup: empty there before the plan runs.
  const ipvs: IpvsService[] | null = isDirectorHost(host) ? [] : null;
  let fwmarkRules: readonly FwmarkRule[] = [];
  let timeouts: Timeouts | null = null;
  for (const step of host.steps) {
    if (step.action === 'delete' || step.after === undefined) throw new Error(`${host.host}: a plan from nothing has no ${step.action} of ${step.kind} ${step.label}`);
    switch (step.kind) {
      case 'module':
        modules.push(step.after);
        break;
      case 'sysctl':
        sysctls[step.id.name] = step.after;
        break;
      case 'link':
        links.push(step.after);
        break;
      case 'address':
        addresses.push(step.after);
        break;
      case 'route':
        routes.push(step.after);
        break;
      case 'fwmark-rules':
        fwmarkRules = step.after;
        break;
      case 'timeouts':
        timeouts = step.after;
        break;
      case 'sync-daemon':
        syncDaemons.push(step.after);
        break;
      case 'ipvs-service':
        if (!ipvs) throw new Error(`${host.host} is not a director but has a step for ipvs-service ${step.label}`);
        ipvs.push({ ...step.after, destinations: [] });
        break;
      case 'ipvs-destination': {
        const key = serviceKey(step.id.service);
        const service = ipvs?.find((s) => serviceKey(s.id) === key);
        if (!service) throw new Error(`${host.host}: ipvs-destination ${step.label} comes before its service's step`);
        (service.destinations as IpvsDestination[]).push(step.after);
        break;
      }
      case 'file':
        files[step.id.path] = step.after;
        break;
      case 'unit':
        enabledUnits.push(step.id.name);
        break;
    }
  }
  const own = <T>(list: readonly T[]): T[] => [...list].reverse();
  return {
    ipvs: ipvs && own(ipvs.map((s) => ({ ...s, destinations: own(s.destinations) }))),
    timeouts,
    syncDaemons: own(syncDaemons),
    addresses: own(addresses),
    routes: own(routes),
    sysctls,
    modules: own(modules),
    links: own(links),
    fwmarkRules: own(fwmarkRules),
    enabledUnits: own(enabledUnits),
    files,
  };
}
