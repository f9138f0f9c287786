/**
 * A director pair that fails over by itself (`director A B { failover vrrp
 * ... }`): two directors, a VRRP id that is valid and once per L2 segment,
 * and every interface that moves addresses (the failover interface, the
 * floating addresses', the VIPs') on a segment both directors share. NAT
 * servers behind such a pair use its floating address as their gateway
 * (validate/topology.ts, natGatewayIsDirector, and natNeedsFloating below).
 */
import { diag } from '../../lang/diagnostics.js';
import { addressClass } from '../../lang/address.js';
import { suggest } from '../../lang/suggest.js';
import type { Span } from '../../lang/source.js';
import { serviceFamily, serviceVips, type Cluster, type Host } from '../ir.js';
import { describeAddresses, directorHosts, isFailoverPair, methodOf, natGateway, resolveRip, routeKind, sharedSegment, vipDevice, vrrpInterfaces } from '../topology.js';
import type { ClusterRule, RuleContext, ServerRule, ServiceRule } from './context.js';

/** Both directors, when both exist with interfaces (other rules report missing ones). */
function pair(cluster: Cluster): [Host, Host] | undefined {
  if (!isFailoverPair(cluster)) return undefined;
  const hosts = directorHosts(cluster);
  if (hosts.length !== 2 || hosts.some((h) => !h.interfaces.length) || hosts[0] === hosts[1]) return undefined;
  return [hosts[0], hosts[1]];
}

/** `failover` moves the VIPs between two directors: it needs a pair. */
export const failoverNeedsPair: ClusterRule = (cluster, ctx) => {
  const d = cluster.directors;
  if (!d?.failover || d.backup !== undefined) return;
  ctx.accept(
    diag('failover-pair', {
      summary: `failover needs a second director, and only ${d.active} is named`,
      detail: `VRRP moves the VIPs to the other director when ${d.active} fails. Name both: \`director ${d.active} OTHER { failover ... }\`, or remove \`failover\`.`,
      subject: d.failover.origin,
      context: d.origin,
    }),
  );
};

/** `advert`, `failback` and `floating` describe a failover: without `failover` they mean nothing. */
export const failoverSettingsNeedFailover: ClusterRule = (cluster, ctx) => {
  const d = cluster.directors;
  if (!d || d.failover) return;
  const settings: [string, Span][] = [];
  if (d.advert) settings.push(['advert', d.advert.origin]);
  if (d.failback) settings.push(['failback', d.failback.origin]);
  for (const f of d.floating) settings.push(['floating', f.origin]);
  for (const [what, span] of settings)
    ctx.accept(
      diag('failover-pair', {
        summary: `\`${what}\` without \`failover\``,
        detail: `\`${what}\` says how the pair fails over, and this director block has no \`failover vrrp ID on IFACE\`. Add one, or remove \`${what}\`.`,
        subject: span,
        context: d.origin,
      }),
    );
};

/** A VRRP virtual router id is 1..255 (RFC 5798). */
export const vrrpIdRange: ClusterRule = (cluster, ctx) => {
  const f = cluster.directors?.failover;
  if (!f || (f.id >= 1 && f.id <= 255)) return;
  ctx.accept(
    diag('vrrp-id', {
      summary: `VRRP router id ${f.id} is outside 1..255`,
      detail: 'VRRP identifies a virtual router on its segment by an id from 1 to 255. Pick one that no other VRRP router on the segment uses.',
      subject: f.idSpan,
    }),
  );
};

/**
 * One VRRP instance runs per interface that moves addresses, all with the
 * block's id: two such interfaces of one director on one L2 segment would be
 * two routers with one id there.
 */
export const vrrpIdOncePerSegment: ClusterRule = (cluster, ctx) => {
  const f = cluster.directors?.failover;
  if (!f || !pair(cluster)) return;
  for (const director of directorHosts(cluster)) {
    const bySegment = new Map<string, string[]>();
    for (const [dev, { segment, why }] of vrrpInterfaces(cluster, director)) bySegment.set(segment, [...(bySegment.get(segment) ?? []), `${dev} (${why})`]);
    for (const [segment, devs] of bySegment) {
      if (devs.length < 2) continue;
      ctx.accept(
        diag('vrrp-id', {
          summary: `VRRP id ${f.id} would be used twice on segment ${segment} by director ${director.name}`,
          detail: `A VRRP instance runs on each interface that moves addresses, and ${devs.join(' and ')} are on one L2 segment, where one id names one virtual router. Put those addresses on one interface of ${director.name}, or the interfaces on different segments.`,
          subject: f.idSpan,
        }),
      );
    }
  }
};

function sameSegmentOnBoth(ctx: RuleContext, [a, b]: [Host, Host], dev: string, what: string, subject: Span): void {
  const ia = a.interfaces.find((i) => i.dev === dev);
  const ib = b.interfaces.find((i) => i.dev === dev);
  for (const [h, i] of [
    [a, ia],
    [b, ib],
  ] as const) {
    if (i) continue;
    const guess = suggest(dev, [...new Set(h.interfaces.map((x) => x.dev))]);
    ctx.accept(
      diag('failover-segment', {
        summary: `director ${h.name} has no interface ${dev} for ${what}`,
        detail: `${guess ? `Did you mean ${guess}? ` : ''}Both directors of a failover pair need ${dev}, on one L2 segment: the addresses move from one to the other there. Declare it in host ${h.name} or name an interface both have.`,
        subject,
      }),
    );
  }
  if (!ia || !ib || ia.segment === ib.segment) return;
  ctx.accept(
    diag('failover-segment', {
      summary: `${dev} of ${a.name} and ${b.name} are on different segments (${ia.segment}, ${ib.segment})`,
      detail: `${what[0].toUpperCase()}${what.slice(1)} moves between the directors on ${dev}, announced by gratuitous ARP on its segment; that works only if both directors' ${dev} are on one L2 segment. Put them on one subnet, or name a common \`segment\`.`,
      subject,
      notes: [
        { message: `${a.name}'s ${dev}`, span: ia.origin },
        { message: `${b.name}'s ${dev}`, span: ib.origin },
      ],
    }),
  );
}

/** The VRRP adverts go out on an interface both directors have, on one segment. */
export const failoverInterfaceShared: ClusterRule = (cluster, ctx) => {
  const p = pair(cluster);
  const f = cluster.directors?.failover;
  if (!p || !f) return;
  sameSegmentOnBoth(ctx, p, f.iface, 'the failover', f.ifaceSpan);
};

/** A floating address moves on an interface both directors have, on one segment. */
export const floatingOnSharedSegment: ClusterRule = (cluster, ctx) => {
  const p = pair(cluster);
  if (!p) return;
  for (const f of cluster.directors!.floating) sameSegmentOnBoth(ctx, p, f.iface, `floating ${f.address}`, f.ifaceSpan);
};

/** Behind a failover pair every VIP moves between the directors: both hold it on one segment. */
export const vipsOnSharedSegment: ServiceRule = (service, ctx) => {
  const p = pair(ctx.cluster);
  if (!p || !service.address) return;
  const [a, b] = p;
  for (const vip of serviceVips(service)) {
    const at = (h: Host) => {
      const dev = vipDevice(h, vip.address, vip.family, service, ctx.cluster);
      return h.interfaces.find((i) => i.dev === dev && i.family === vip.family) ?? h.interfaces.find((i) => i.dev === dev)!;
    };
    const ia = at(a);
    const ib = at(b);
    if (ia.segment === ib.segment) continue;
    ctx.accept(
      diag('failover-segment', {
        summary: `VIP ${vip.address} is not on a segment both directors share`,
        detail: `With failover the VIP moves from one director to the other and is announced by gratuitous ARP on its segment: ${a.name} would hold it on ${ia.dev} (${ia.segment}), ${b.name} on ${ib.dev} (${ib.segment}). Give both directors an interface on the VIP's subnet.`,
        subject: vip.origin,
        context: service.origin,
      }),
    );
  }
};

/** Behind a failover pair a NAT server routes through the pair's floating address on their shared segment: there must be one. */
export const natNeedsFloating: ServerRule = (server, service, ctx) => {
  const p = pair(ctx.cluster);
  const host = ctx.cluster.hostsByName.get(server.host);
  if (!p || !host || server.forward?.method !== 'nat') return;
  const family = serviceFamily(service);
  const link = sharedSegment(host, p[0], family, server);
  if (!link || natGateway(ctx.cluster, p[0], link, family) !== undefined) return;
  ctx.accept(
    diag('nat-gateway', {
      summary: `NAT ${server.role === 'sorry' ? 'sorry' : 'real'} server ${server.host} has no floating gateway behind the failover pair`,
      detail: `With forward nat, replies go back through the active director, which changes on failover; the servers' gateway must be an address that moves with it. Add \`floating ADDR/${link.director.prefix} on ${link.director.dev}\` (an unused address of ${link.director.network}) to the director block, and make it ${server.host}'s \`gateway\`.`,
      subject: server.hostSpan,
      context: service.origin,
    }),
  );
};

/** VRRP's advert interval: VRRPv3 counts hundredths of a second up to 40.95 s (12 bits), VRRPv2 whole seconds (to 255). */
export const vrrpAdvertCarried: ClusterRule = (cluster, ctx) => {
  const d = cluster.directors;
  const a = d?.failover ? d.advert : undefined;
  if (!a) return;
  const whole = a.ms % 1000 === 0;
  if (whole || (a.ms % 10 === 0 && a.ms <= 40_950)) return;
  const down = Math.max(10, Math.floor(a.ms / 10) * 10);
  ctx.accept(
    diag('vrrp-advert', {
      summary: a.ms % 10 ? `advert ${a.ms}ms is finer than VRRP's hundredths of a second` : `advert ${a.ms / 1000}s is over 40.95 s and not whole seconds`,
      detail: `keepalived sends sub-second adverts as VRRP version 3, which counts hundredths of a second up to 40.95 s; longer intervals go as version 2, in whole seconds. Write \`advert ${a.ms > 40_950 ? `${Math.round(a.ms / 1000)}s` : `${down}ms`}\`.`,
      subject: a.origin,
      context: d!.origin,
    }),
  );
};

/**
 * The first director may take the VIPs back (failback) only once its sync
 * daemon, backup while the other director is master, has learnt the live
 * connections: IPVS sends a connection's state after its third packet and
 * then every 50 packets, so an idle connection may take a while. Without
 * `sync` nothing is learnt, and every failover and failback breaks every
 * connection; a failback sooner than RESYNC_FLOOR_MS (or at once, the
 * default) breaks those not yet resent.
 */
export const RESYNC_FLOOR_MS = 30_000;
export const failbackAfterResync: ClusterRule = (cluster, ctx) => {
  const d = cluster.directors;
  if (!d?.failover || !isFailoverPair(cluster)) return;
  if (!d.sync) {
    ctx.accept(
      diag('failback-resync', {
        summary: `failover pair ${d.active} ${d.backup} has no connection sync`,
        detail: `Without \`sync\`, the director that takes the VIPs knows no established connection: each failover, and each failback to ${d.active}, resets them all. Add \`sync IFACE id N\` to the director block (an interface both directors share, ideally not the clients' one).`,
        subject: d.failover.origin,
        context: d.origin,
      }),
    );
    return;
  }
  const f = d.failback;
  if (f?.mode === 'never' || (f?.mode === 'after' && f.delayMs >= RESYNC_FLOOR_MS)) return;
  ctx.accept(
    diag('failback-resync', {
      summary: f ? `failback after ${f.delayMs / 1000}s may come before ${d.active} has learnt the live connections` : `${d.active} takes the VIPs back as soon as it returns, before it has learnt the live connections`,
      detail: `A returning ${d.active} starts as the sync backup and learns a connection only when the master resends it (after its next 50 packets, so an idle one may take long); taking the VIPs back sooner breaks those it has not learnt yet. Write \`failback after ${RESYNC_FLOOR_MS / 1000}s\` or longer, or \`failback never\` (${d.backup} keeps the VIPs until it fails).`,
      subject: f?.origin ?? d.failover.origin,
      context: d.origin,
    }),
  );
};

/**
 * Both directors of a failover pair hold one table, so the second one must
 * reach every real server (sorry servers included) at the address the table
 * names, by its method: NAT on the server's segment (DR: drSharesSegment
 * checks both directors already), TUN by a route.
 */
export const backupReachesServers: ServerRule = (server, service, ctx) => {
  const p = pair(ctx.cluster);
  if (!p) return;
  const backup = p[1];
  const rip = resolveRip(ctx.cluster, service, server);
  if (!rip.ok) return;
  const method = methodOf(server);
  const noun = server.role === 'sorry' ? 'sorry server' : 'real server';
  // DR: drSharesSegment already asks it of both directors.
  if (method === 'nat') {
    if (backup.interfaces.some((i) => i.family === rip.family && i.segment === rip.iface.segment)) return;
    ctx.accept(
      diag('backup-reach', {
        summary: `director ${backup.name} shares no segment with ${method.toUpperCase()} ${noun} ${server.host} (${rip.address})`,
        detail: `${backup.name} takes over the VIPs, with the same table, when ${p[0].name} fails; forward ${method} then needs ${backup.name} on ${server.host}'s segment ${rip.iface.segment} too, as ${p[0].name} is. ${backup.name} has ${describeAddresses(backup.interfaces) || 'no interfaces'}: give it an interface there (or name a common \`segment\`).`,
        subject: server.hostSpan,
        context: service.origin,
      }),
    );
    return;
  }
  if (method !== 'tun') return;
  const route = routeKind(backup, rip.address);
  if (route && (route !== 'gateway' || addressClass(rip.address) === 'routable')) return;
  ctx.accept(
    diag('backup-reach', {
      summary: `director ${backup.name} has no route to TUN ${noun} ${server.host} (${rip.address})`,
      detail: `${backup.name} takes over the VIPs, with the same table, when ${p[0].name} fails, and tunnels to ${rip.address} as ${p[0].name} does. ${route ? `It would send to this private address only by its default gateway. ` : ''}Give ${backup.name} a \`route\` to ${rip.address}'s network (or an interface on it).`,
      subject: server.hostSpan,
      context: service.origin,
    }),
  );
};
