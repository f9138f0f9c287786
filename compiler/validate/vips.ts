/** VIPs: what a service's addresses must be for LVS to deliver to them at all. */
import { familyOf, lastAddressOf, networkOf, specialAddress, type SpecialAddress } from '../../lang/address.js';
import { diag } from '../../lang/diagnostics.js';
import { serviceVips, type Cluster, type Interface } from '../ir.js';
import type { ServiceRule } from './context.js';

/**
 * A DR or TUN fwmark service takes its VIPs from its `match` lines: the real
 * servers hold them without ARP. Without a match they get none and drop every
 * marked packet. (NAT servers never hold the VIP; marks set outside lvsc work there.)
 */
export const fwmarkDirectNeedsMatch: ServiceRule = (service, ctx) => {
  const a = service.address;
  if (a?.kind !== 'fwmark' || a.matches.length) return;
  const direct = [...new Set(service.servers.map((s) => s.forward?.method).filter((m) => m === 'dr' || m === 'tun'))];
  if (!direct.length) return;
  const how = direct.map((m) => m.toUpperCase()).join(' and ');
  ctx.accept(
    diag('fwmark-no-match', {
      summary: `fwmark ${a.mark} of ${direct.length > 1 ? 'DR/TUN' : how} service ${service.name} has no \`match\``,
      detail: `With forward ${direct.join('/')} the real servers answer for the VIP themselves, and lvsc knows the VIPs only from the mark's matches: without one, ${service.name}'s servers get no VIP and no ARP settings, and drop every marked packet. Say what the mark carries, e.g. \`fwmark ${a.mark} { match tcp 10.1.0.100 ports 80,443 }\`.`,
      subject: a.origin,
      context: service.origin,
    }),
  );
};

const SPECIAL_WHY: Record<SpecialAddress, string> = {
  unspecified: 'means "this host" or "any address": nothing on the wire is sent to it',
  loopback: 'is loopback: it never leaves the host that has it, so no client can reach it',
  multicast: 'is multicast: it names a group, not a host, and IPVS does not balance it',
  broadcast: 'is the limited broadcast address: every host on the link takes it, no router forwards it',
  'link-local': 'is link-local: it is never routed and only means something on one link',
};

/** A VIP must be an address clients can send to and one host can hold. */
export const vipUsable: ServiceRule = (service, ctx) => {
  for (const vip of serviceVips(service)) {
    const special = specialAddress(vip.address);
    if (special) {
      ctx.accept(
        diag('vip-unusable', {
          summary: `VIP ${vip.address} of service ${service.name} cannot work: it is ${special}`,
          detail: `${vip.address} ${SPECIAL_WHY[special]}. Use a unicast address clients can route to, e.g. an unused address on the director's segment.`,
          subject: vip.origin,
          context: service.origin,
        }),
      );
      continue;
    }
    const edge = segmentEdge(ctx.cluster, vip.address);
    if (!edge) continue;
    ctx.accept(
      diag('vip-unusable', {
        summary: `VIP ${vip.address} of service ${service.name} is the ${edge.what} address of ${edge.iface.network}`,
        detail: `On an IPv4 subnet the first address names the network and the last is its broadcast: hosts there treat packets to ${vip.address} as ${edge.what === 'network' ? 'addressed to the network (many answer, or none)' : 'broadcast, for every host'}, not for the director. Pick an address strictly between them.`,
        subject: vip.origin,
        context: service.origin,
        notes: [{ message: `${edge.host}'s interface on ${edge.iface.network}`, span: edge.iface.origin }],
      }),
    );
  }
};

type SegmentEdge = { what: 'network' | 'broadcast'; host: string; iface: Interface };

/** Every IPv4 subnet's network and broadcast address (/31 and /32 have neither), to the first interface of any host that has it, once per cluster. */
const edgesCache = new WeakMap<Cluster, Map<string, SegmentEdge>>();
function segmentEdges(cluster: Cluster): Map<string, SegmentEdge> {
  let edges = edgesCache.get(cluster);
  if (edges) return edges;
  edges = new Map();
  for (const h of cluster.hosts) {
    for (const i of h.interfaces) {
      if (i.family !== 4 || i.prefix > 30) continue;
      const net = networkOf({ address: i.address, prefix: i.prefix, family: 4 });
      if (!edges.has(net.address)) edges.set(net.address, { what: 'network', host: h.name, iface: i });
      const last = lastAddressOf(net);
      if (!edges.has(last)) edges.set(last, { what: 'broadcast', host: h.name, iface: i });
    }
  }
  edgesCache.set(cluster, edges);
  return edges;
}

/** The first interface (of any host) whose IPv4 subnet has `address` as its network or broadcast address. */
function segmentEdge(cluster: Cluster, address: string): SegmentEdge | undefined {
  return familyOf(address) === 4 ? segmentEdges(cluster).get(address) : undefined;
}
