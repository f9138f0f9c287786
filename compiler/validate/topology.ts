/**
 * How LVS forwarding constrains the network: DR needs a shared L2 segment, NAT
 * needs the director as the servers' gateway, TUN needs a route from the
 * director, and one host cannot need two default gateways.
 */
import { diag } from '../../lang/diagnostics.js';
import { addressClass, contains, parseCidr } from '../../lang/address.js';
import type { Span } from '../../lang/source.js';
import { serviceFamily, type Host, type Interface, type RealServer } from '../ir.js';
import { activeDirector, describeAddresses, directorHosts, isFailoverPair, methodOf, natGateway, resolveRip, ripChoices, ripInterfaces, routeKind, serverUses, sharedSegment } from '../topology.js';
import type { RuleContext, ServerRule, HostRule } from './context.js';

/** How messages name the server: `real server`, or `sorry server` for a service's `sorry` host (checked by the same rules). */
function noun(server: RealServer): string {
  return server.role === 'sorry' ? 'sorry server' : 'real server';
}

function who(host: Host, interfaces: readonly Interface[] = host.interfaces): string {
  return interfaces.length ? `${host.name} (${describeAddresses(interfaces)})` : `${host.name} (no interfaces)`;
}

/**
 * The server's host and the active director, when both exist and the
 * server's `address` is one of the host's (other rules report each).
 */
function parties(server: RealServer, ctx: RuleContext): { host: Host; director: Host } | undefined {
  const host = ctx.cluster.hostsByName.get(server.host);
  const director = activeDirector(ctx.cluster);
  if (!host || !director || !director.interfaces.length) return undefined;
  if (server.address !== undefined && !ripInterfaces(host, server).length) return undefined;
  return { host, director };
}

/** For a server whose line names its address: a sentence saying so, for messages about where that address is. */
function chosen(server: RealServer): string {
  return server.address === undefined ? '' : ` Its line names \`address ${server.address}\`: name one that fits, or remove \`address\` to let lvsc choose.`;
}

/** `server HOST address ADDR` names one of the host's interface addresses, of the service's family unless tunnelled. */
export const serverAddressOnHost: ServerRule = (server, service, ctx) => {
  const host = ctx.cluster.hostsByName.get(server.host);
  if (server.address === undefined || !host) return;
  const iface = ripInterfaces(host, server)[0];
  if (!iface) {
    ctx.accept(
      diag('server-address', {
        summary: `${noun(server)} ${server.host} has no address ${server.address}`,
        detail: `\`address\` chooses which of ${server.host}'s own addresses the director sends ${service.name} to: ${host.interfaces.length ? `one of ${describeAddresses(host.interfaces)}` : `${server.host} declares no interfaces`}. Write one of them, or declare the interface that holds ${server.address} in host ${server.host}.`,
        subject: server.addressSpan,
        context: server.origin,
      }),
    );
    return;
  }
  const family = serviceFamily(service);
  const method = methodOf(server);
  if (!method || method === 'tun' || iface.family === family) return;
  ctx.accept(
    diag('family-mismatch', {
      summary: `address ${server.address} of ${noun(server)} ${server.host} is IPv${iface.family}, service ${service.name} is IPv${family}`,
      detail: `forward ${method} cannot carry an IPv${family} service to an IPv${iface.family} address. Name an IPv${family} address of ${server.host} (${describeAddresses(host.interfaces)}), or use \`forward tun\`, which IPVS can tunnel across families.`,
      subject: server.addressSpan,
      context: server.origin,
    }),
  );
};

/**
 * A server that names no address, whose host has several the director could
 * use: lvsc takes the first, and a new interface in the file may change it.
 */
export const ambiguousServerAddress: ServerRule = (server, service, ctx) => {
  const choices = ripChoices(ctx.cluster, service, server);
  if (choices.length < 2) return;
  const method = methodOf(server)!;
  const why = method === 'tun' ? `the director ${choices[0] && routeWords(ctx, choices[0].address)}` : `on a segment it shares with director ${activeDirector(ctx.cluster)!.name}`;
  ctx.accept(
    diag('ambiguous-server-address', {
      summary: `${noun(server)} ${server.host} has ${choices.length} addresses ${service.name} could use; lvsc uses the first, ${choices[0].address}`,
      detail: `For forward ${method}, ${choices.map((i) => `${i.address} (${i.dev})`).join(', ')} are all ${why}. Say which on the ${server.role === 'sorry' ? 'sorry' : 'server'} line, e.g. \`${server.role === 'sorry' ? 'sorry' : 'server'} ${server.host} address ${choices[0].address}\`, so a change to ${server.host}'s interfaces cannot move the service silently.`,
      subject: server.hostSpan,
      context: service.origin,
    }),
  );
};

function routeWords(ctx: RuleContext, address: string): string {
  const director = activeDirector(ctx.cluster)!;
  const kind = routeKind(director, address);
  return kind === 'connected' ? `${director.name} reaches directly` : kind === 'route' ? `${director.name} reaches by a declared route` : `${director.name} reaches only through its gateway`;
}

/** DR and NAT need a same-family address; TUN may cross families but needs some address. */
export const serverHasAddress: ServerRule = (server, service, ctx) => {
  const p = parties(server, ctx);
  const method = server.forward?.method;
  if (!p || !method) return;
  const family = serviceFamily(service);
  if (!p.host.interfaces.length) {
    ctx.accept(
      diag('no-rip', {
        summary: `${noun(server)} ${server.host} has no interfaces`,
        detail: `The director sends ${service.name}'s traffic to an address of ${server.host}; declare its interfaces (e.g. \`interface eth0 ADDR/PREFIX\`) in host ${server.host}.`,
        subject: server.hostSpan,
      }),
    );
    return;
  }
  if (method !== 'tun' && !p.host.interfaces.some((i) => i.family === family)) {
    ctx.accept(
      diag('family-mismatch', {
        summary: `${noun(server)} ${server.host} has no IPv${family} address for IPv${family} service ${service.name}`,
        detail: `forward ${method} cannot carry an IPv${family} service to an IPv${family === 4 ? 6 : 4} server: ${who(p.host)}. Add an IPv${family} interface to ${server.host}, or use \`forward tun\`, which IPVS can tunnel across families.`,
        subject: server.hostSpan,
      }),
    );
  }
};

/** DR rewrites only the MAC address: the server must be on a director's L2 segment (every director of a pair). */
export const drSharesSegment: ServerRule = (server, service, ctx) => {
  const p = parties(server, ctx);
  if (!p || server.forward?.method !== 'dr') return;
  const family = serviceFamily(service);
  if (!ripInterfaces(p.host, server).some((i) => i.family === family)) return; // family-mismatch says it
  for (const director of directorHosts(ctx.cluster)) {
    if (!director.interfaces.length || sharedSegment(p.host, director, family, server)) continue;
    ctx.accept(
      diag('dr-segment', {
        summary: `${noun(server)} ${server.host} is not on the director's L2 segment`,
        detail: `forward dr rewrites only the MAC address, so ${who(p.host, ripInterfaces(p.host, server))} must share a segment with ${who(director)}. Put ${server.host} on one of ${director.name}'s subnets (or name a common \`segment\`), or use \`forward tun\`.${chosen(server)}`,
        subject: server.addressSpan ?? server.hostSpan,
        context: service.origin,
      }),
    );
  }
};

/** NAT: the server answers through the director, so it must share a segment with it... */
export const natSharesSegment: ServerRule = (server, service, ctx) => {
  const p = parties(server, ctx);
  if (!p || server.forward?.method !== 'nat') return;
  const family = serviceFamily(service);
  if (!ripInterfaces(p.host, server).some((i) => i.family === family)) return;
  if (sharedSegment(p.host, p.director, family, server)) return;
  ctx.accept(
    diag('nat-segment', {
      summary: `NAT ${noun(server)} ${server.host} shares no segment with director ${p.director.name}`,
      detail: `With forward nat the director is the real server's gateway, so ${who(p.host, ripInterfaces(p.host, server))} must be on one of ${who(p.director)}'s subnets. Move it there, or use \`forward tun\` for a server in another network.${chosen(server)}`,
      subject: server.addressSpan ?? server.hostSpan,
      context: service.origin,
    }),
  );
};

/**
 * ...and its declared default gateway, if any, must be the director's DIP on
 * that segment; behind a failover pair, the pair's floating address there
 * (the one that moves with the VIPs), never one director's own.
 */
export const natGatewayIsDirector: ServerRule = (server, service, ctx) => {
  const p = parties(server, ctx);
  if (!p || server.forward?.method !== 'nat') return;
  const family = serviceFamily(service);
  const link = sharedSegment(p.host, p.director, family, server);
  const gw = p.host.gateways.find((g) => g.family === family);
  if (!link || !gw) return;
  const want = natGateway(ctx.cluster, p.director, link, family);
  // Behind a failover pair without a floating address there, natNeedsFloating says what to add.
  if (want === undefined || gw.address === want) return;
  if (isFailoverPair(ctx.cluster)) {
    ctx.accept(
      diag('nat-gateway', {
        summary: `NAT ${noun(server)} ${server.host} has gateway ${gw.address}, not the failover pair's floating ${want}`,
        detail: `With forward nat, replies must pass back through the active director to be rewritten, and behind a failover pair the active director changes: ${server.host}'s default route must be the floating address that moves with the VIPs, not one director's own. Write \`gateway ${want}\` in host ${server.host} (or leave the gateway out: lvsc sets it).`,
        subject: gw.origin,
        context: server.origin,
        notes: [{ message: `${server.host} serves ${service.name} by NAT here`, span: server.hostSpan }],
      }),
    );
    return;
  }
  ctx.accept(
    diag('nat-gateway', {
      summary: `NAT ${noun(server)} ${server.host} has gateway ${gw.address}, not the director's ${link.director.address}`,
      detail: `With forward nat, replies must pass back through the director to be rewritten, so ${server.host}'s default route must be ${p.director.name}'s address on their shared segment. Write \`gateway ${link.director.address}\` in host ${server.host} (or leave the gateway out: lvsc sets it).`,
      subject: gw.origin,
      context: server.origin,
      notes: [{ message: `${server.host} serves ${service.name} by NAT here`, span: server.hostSpan }],
    }),
  );
};

/** DR/TUN servers answer clients directly; a default route through the director defeats that (and breaks with no NAT to undo). */
export const directGatewayNotDirector: ServerRule = (server, service, ctx) => {
  const p = parties(server, ctx);
  const method = server.forward?.method;
  if (!p || (method !== 'dr' && method !== 'tun')) return;
  for (const gw of p.host.gateways) {
    const floating = isFailoverPair(ctx.cluster) ? ctx.cluster.directors!.floating.find((f) => f.address === gw.address) : undefined;
    if (floating) {
      ctx.accept(
        diag('gateway-is-director', {
          summary: `${method.toUpperCase()} ${noun(server)} ${server.host} uses the directors' floating ${gw.address} as its default gateway`,
          detail: `With forward ${method} the real server replies to clients directly, with the VIP as source; the active director, which holds the floating address, does not route those replies back (that is NAT). Set ${server.host}'s \`gateway\` to the segment's router, not ${gw.address}.`,
          subject: gw.origin,
          notes: [{ message: `${server.host} serves ${service.name} by ${method.toUpperCase()} here`, span: server.hostSpan }],
        }),
      );
      continue;
    }
    for (const director of directorHosts(ctx.cluster)) {
      const dip = director.interfaces.find((i) => i.address === gw.address);
      if (!dip) continue;
      ctx.accept(
        diag('gateway-is-director', {
          summary: `${method.toUpperCase()} ${noun(server)} ${server.host} uses director ${director.name} as its default gateway`,
          detail: `With forward ${method} the real server replies to clients directly, with the VIP as source; the director does not route those replies back (that is NAT). Set ${server.host}'s \`gateway\` to the segment's router, not ${gw.address}.`,
          subject: gw.origin,
          notes: [{ message: `${server.host} serves ${service.name} by ${method.toUpperCase()} here`, span: server.hostSpan }],
        }),
      );
    }
  }
};

/** TUN: the director must route to the RIP; a private address only the default gateway would carry is unreachable across the Internet. */
export const tunRoutable: ServerRule = (server, service, ctx) => {
  const p = parties(server, ctx);
  if (!p || server.forward?.method !== 'tun' || !p.host.interfaces.length) return;
  const r = resolveRip(ctx.cluster, service, server);
  if (r.ok) return;
  if (r.why === 'private-via-gateway') {
    const addrs = r.candidates.filter((i) => addressClass(i.address) !== 'routable').map((i) => `${i.address} (${addressClass(i.address)})`);
    ctx.accept(
      diag('tun-private-rip', {
        summary: `TUN ${noun(server)} ${server.host} has only private addresses that ${p.director.name} would send to its default gateway`,
        detail: `${addrs.join(', ')} would leave ${p.director.name} through its default gateway, across networks that do not route private addresses. Give ${server.host} a routable address, or add a route on ${p.director.name} (\`route NETWORK via ROUTER\`) that reaches its network.${chosen(server)}`,
        subject: server.addressSpan ?? server.hostSpan,
        context: service.origin,
      }),
    );
  } else if (r.why === 'unroutable') {
    ctx.accept(
      diag('tun-unroutable', {
        summary: `director ${p.director.name} has no route to TUN ${noun(server)} ${server.host}`,
        detail: `None of ${describeAddresses(r.candidates)} is on ${p.director.name}'s segments, under one of its routes, or reachable through a gateway. Add \`gateway ADDR\` or \`route NETWORK via ROUTER\` to host ${p.director.name}.${chosen(server)}`,
        subject: server.addressSpan ?? server.hostSpan,
        context: service.origin,
      }),
    );
  }
};

/** One host serving by NAT (gateway = director) and by DR/TUN (gateway ≠ director) cannot satisfy both. */
export const gatewayNeedsAgree: HostRule = (host, ctx) => {
  const uses = serverUses(ctx.cluster, host.name);
  const nat = uses.filter((u) => u.server.forward?.method === 'nat');
  const direct = uses.filter((u) => u.server.forward?.method === 'dr' || u.server.forward?.method === 'tun');
  if (!nat.length || !direct.length) return;
  // A conflict exists per family: NAT wants that family's default route via the director.
  for (const n of nat) {
    const family = serviceFamily(n.service);
    const d = direct.find((x) => serviceFamily(x.service) === family);
    if (!d) continue;
    ctx.accept(
      diag('gateway-conflict', {
        summary: `${host.name} serves ${n.service.name} by NAT and ${d.service.name} by ${d.server.forward!.method.toUpperCase()}`,
        detail: `NAT needs ${host.name}'s IPv${family} default route through the director; ${d.server.forward!.method.toUpperCase()} needs it to go anywhere but the director. Serve both services by one method, or use separate hosts.`,
        subject: d.server.hostSpan,
        notes: [{ message: `served by NAT here`, span: n.server.hostSpan }],
      }),
    );
    return;
  }
};

/** Every next hop (`gateway`, `route ... via`) of a host, with where it was written. */
function nextHops(host: Host): { address: string; family: 4 | 6; origin: Span; what: string }[] {
  return [
    ...host.gateways.map((g) => ({ address: g.address, family: g.family, origin: g.origin, what: 'gateway' })),
    ...host.routes.map((r) => ({ address: r.via, family: r.family, origin: r.origin, what: `route to ${r.dst}` })),
  ];
}

/**
 * A next hop must be on one of the host's subnets: the kernel refuses `ip route
 * add ... via` an address on no link ("Nexthop has invalid gateway"), so such a
 * route never exists and TUN servers behind it are not reachable. An IPv6
 * link-local next hop is on-link on every interface.
 */
export const nextHopOnLink: HostRule = (host, ctx) => {
  if (!host.interfaces.length) return; // directorsHaveInterfaces / no-rip say it
  for (const hop of nextHops(host)) {
    if (hop.family === 6 && addressClass(hop.address) === 'link-local') continue;
    if (host.interfaces.some((i) => i.family === hop.family && contains(parseCidr(i.network)!, hop.address))) continue;
    ctx.accept(
      diag('next-hop-off-link', {
        summary: `the ${hop.what} of ${host.name}, ${hop.address}, is on none of its subnets`,
        detail: `A next hop must be reachable directly, on one of ${host.name}'s own subnets (${describeAddresses(host.interfaces)}); the kernel refuses the route otherwise, so nothing behind it is reachable. Use the router's address on one of those subnets, or declare the interface that reaches ${hop.address}.`,
        subject: hop.origin,
      }),
    );
  }
};

/** A host cannot be its own next hop: the packets would come back to it. */
export const nextHopNotSelf: HostRule = (host, ctx) => {
  for (const hop of nextHops(host)) {
    const own = host.interfaces.find((i) => i.address === hop.address);
    if (!own) continue;
    ctx.accept(
      diag('next-hop-is-self', {
        summary: `the ${hop.what} of ${host.name} is its own address ${hop.address}`,
        detail: `A ${hop.what === 'gateway' ? 'default gateway' : 'route'} sends packets to another machine that forwards them; ${hop.address} is ${host.name}'s own ${own.dev}, so nothing would leave. Write the router's address on that subnet.`,
        subject: hop.origin,
        notes: [{ message: `${host.name}'s interface`, span: own.origin }],
      }),
    );
  }
};
