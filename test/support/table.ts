/**
 * An IPVS table in one canonical order, for comparing tables read in
 * different orders (ipvsadm lists services in no defined order, a cluster
 * file in its own): services by key, each one's destinations by key.
 */
import { destinationKey, serviceKey, type IpvsService } from '../../compiler/state.js';

export function keyed(ipvs: readonly IpvsService[]): IpvsService[] {
  const by = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return [...ipvs].sort(by((s) => serviceKey(s.id))).map((s) => ({ ...s, destinations: [...s.destinations].sort(by(destinationKey)) }));
}
