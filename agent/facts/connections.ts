/**
 * Connections per destination: `ipvsadm -Ln` lists, under each service, every
 * destination's forwarding method, weight, and its active and inactive
 * connection counts. What apply's drain wait shows while removed destinations
 * finish their connections (weight 0, then deleted).
 *
 * Shapes of the listing (agent/testdata/lab-captures/, shared/fixtures/): a
 * fwmark of 2^31 and above printed negative (`FWM  -2147483638 rr`, read back
 * as the unsigned mark), IPv6 services and fwmarks (`FWM  20 IPv6 rr`,
 * `[2001:db8:20::11]:443`), the forwarding methods `Route`, `Masq`, `Tunnel`
 * and `Local` (a real server that is the director itself; `-Sn` says `-g`).
 * Entries are looked up by typed identity (`ConnectionIndex`): the service's
 * `ServiceId` and the destination's address and port.
 */
import { serviceKey, type Method, type ServiceId } from '../../compiler/state.js';
import type { Fact } from './fact.js';
import { ipvsadmCommand, ipvsadmFailure } from './ipvs.js';
import { numbers, parseListing, type ListedService } from './listing.js';

/** How `-L` names a destination's forwarding: the three methods, and `Local` for the director itself. */
export type Forward = Method | 'local';

const FORWARD: Readonly<Record<string, Forward>> = { Route: 'dr', Masq: 'nat', Tunnel: 'tun', Local: 'local' };

export interface DestinationConnections {
  readonly address: string;
  readonly port: number;
  readonly forward: Forward;
  readonly weight: number;
  /** ActiveConn: established connections (TCP) or entries in use. */
  readonly active: number;
  /** InActConn: connections in other states (closing, UDP). */
  readonly inactive: number;
}

export type ServiceConnections = ListedService<Omit<DestinationConnections, 'address' | 'port'>>;

export const connectionsFact: Fact<ServiceConnections[]> = {
  name: 'connections',
  tool: 'ipvsadm',
  command: () => ipvsadmCommand('-Ln'),
  parse(stdout) {
    // Forward Weight ActiveConn InActConn.
    return parseListing(stdout, ([forward, ...rest]) => {
      const method = forward === undefined ? undefined : FORWARD[forward];
      const n = numbers(rest, 3);
      return method && n ? { forward: method, weight: n[0], active: n[1], inactive: n[2] } : undefined;
    });
  },
  whenFailed: ipvsadmFailure,
};

/** The listing keyed by identity: a destination's counts by its service's id and its own address and port. */
export class ConnectionIndex {
  private readonly byService = new Map<string, Map<string, Map<number, DestinationConnections>>>();

  constructor(services: readonly ServiceConnections[]) {
    for (const s of services) {
      const key = serviceKey(s.service);
      let byAddress = this.byService.get(key);
      if (!byAddress) this.byService.set(key, (byAddress = new Map()));
      for (const d of s.destinations) {
        let byPort = byAddress.get(d.address);
        if (!byPort) byAddress.set(d.address, (byPort = new Map()));
        byPort.set(d.port, d);
      }
    }
  }

  /** The destination as listed, or undefined when the listing has no such service or destination. */
  get(service: ServiceId, destination: { readonly address: string; readonly port: number }): DestinationConnections | undefined {
    return this.byService.get(serviceKey(service))?.get(destination.address)?.get(destination.port);
  }
}
