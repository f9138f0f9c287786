/**
 * Connection thresholds, which `ipvsadm -Sn` never prints: `ipvsadm -Ln
 * --thresholds` lists each destination's Uthreshold and Lthreshold (the `-x`
 * and `-y` of `-a/-e`). `mergeThresholds` puts them into the services read by
 * the ipvs fact, matching by identity.
 */
import { destinationKey, serviceKey, type IpvsService, type ServiceId } from '../../compiler/state.js';
import type { Fact, Parsed } from './fact.js';
import { ipvsadmCommand, ipvsadmFailure } from './ipvs.js';
import { numbers, parseListing } from './listing.js';

export interface DestinationThresholds {
  readonly address: string;
  readonly port: number;
  readonly upper: number;
  readonly lower: number;
}

export interface ServiceThresholds {
  readonly service: ServiceId;
  readonly destinations: readonly DestinationThresholds[];
}

export const thresholdsFact: Fact<ServiceThresholds[]> = {
  name: 'thresholds',
  tool: 'ipvsadm',
  command: () => ipvsadmCommand('-Ln', '--thresholds'),
  parse(stdout) {
    // Uthreshold Lthreshold ActiveConn InActConn.
    return parseListing(stdout, (words) => {
      const n = numbers(words, 4);
      return n && { upper: n[0], lower: n[1] };
    });
  },
  whenFailed: ipvsadmFailure,
};

/**
 * The services with each destination's thresholds filled in. Entries that do
 * not match (the table changed between the two reads) are reported; a
 * destination with nothing to merge keeps what it had.
 */
export function mergeThresholds(services: readonly IpvsService[], thresholds: readonly ServiceThresholds[]): Parsed<IpvsService[]> {
  const warnings: string[] = [];
  const byService = new Map<string, Map<string, DestinationThresholds>>();
  for (const t of thresholds) byService.set(serviceKey(t.service), new Map(t.destinations.map((d) => [destinationKey(d), d])));
  const value = services.map((svc) => {
    const key = serviceKey(svc.id);
    const found = byService.get(key);
    byService.delete(key);
    if (!found) {
      if (svc.destinations.length) warnings.push(`no thresholds read for service ${key} (the table changed between reads?)`);
      return svc;
    }
    const destinations = svc.destinations.map((d) => {
      const dkey = destinationKey(d);
      const t = found.get(dkey);
      if (!t) {
        warnings.push(`no thresholds read for ${dkey} in ${key} (the table changed between reads?)`);
        return d;
      }
      found.delete(dkey);
      // Most destinations have none: the same values, no copy.
      return t.upper === d.upper && t.lower === d.lower ? d : { ...d, upper: t.upper, lower: t.lower };
    });
    for (const extra of found.keys()) warnings.push(`thresholds listed for ${extra} in ${key}, which -Sn did not show (the table changed between reads?)`);
    return { ...svc, destinations };
  });
  for (const extra of byService.keys()) warnings.push(`thresholds listed for service ${extra}, which -Sn did not show (the table changed between reads?)`);
  return { value, warnings };
}
