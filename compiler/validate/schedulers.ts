/** Scheduler, flags, persistence, one-packet scheduling, thresholds and tunnel options: what ipvsadm and the kernel accept. */
import { diag } from '../../lang/diagnostics.js';
import { netmaskPrefix } from '../../lang/address.js';
import { suggest, suggestWord } from '../../lang/suggest.js';
import { serviceProtos } from '../ir.js';
import { isPersistenceEngine, SCHEDULER_FLAGS, SCHEDULERS, TUN_CSUMS, TUNNELS, tunTypesWith } from '../lvs.js';
import type { ServerRule, ServiceRule } from './context.js';

export const knownScheduler: ServiceRule = (service, ctx) => {
  if ((SCHEDULERS as readonly string[]).includes(service.scheduler)) return;
  const guess = suggestWord(service.scheduler, SCHEDULERS);
  ctx.accept(
    diag('unknown-scheduler', {
      summary: `unknown scheduler ${service.scheduler}${guess ? `: did you mean ${guess.word}?` : ''}`,
      detail: `${guess?.why ? `(${guess.why}; keepalived's \`lb_algo\` and ipvsadm's \`-s\` take the same names.) ` : ''}IPVS schedulers are ${SCHEDULERS.join(' ')}.`,
      subject: service.schedulerSpan,
    }),
  );
};

/** Every scheduler flag of any scheduler (for the message about one that takes none). */
const ALL_FLAGS: readonly string[] = Object.values(SCHEDULER_FLAGS).flat();

export const flagsFitScheduler: ServiceRule = (service, ctx) => {
  if (!service.flags.length || !(SCHEDULERS as readonly string[]).includes(service.scheduler)) return;
  const valid = SCHEDULER_FLAGS[service.scheduler] ?? [];
  const all = ALL_FLAGS;
  const seen = new Set<string>();
  for (const f of service.flags) {
    if (seen.has(f.name)) {
      ctx.accept(diag('duplicate-setting', { summary: `flag ${f.name} is given twice`, detail: 'Give each scheduler flag once.', subject: f.span }));
      continue;
    }
    seen.add(f.name);
    if (valid.includes(f.name)) continue;
    const guess = suggest(f.name, valid.length ? valid : all);
    ctx.accept(
      diag('bad-scheduler-flag', {
        summary: `flag ${f.name} is not valid for scheduler ${service.scheduler}`,
        detail: valid.length
          ? `${guess ? `Did you mean ${guess}? ` : ''}Scheduler ${service.scheduler} takes ${valid.join(', ')}.`
          : `Scheduler ${service.scheduler} takes no flags; ${all.join(', ')} belong to sh and mh${all.includes(f.name) ? '' : guess ? ` (did you mean ${guess}?)` : ''}.`,
        subject: f.span,
      }),
    );
  }
};

export const persistenceNetmask: ServiceRule = (service, ctx) => {
  const p = service.persistence;
  if (!p?.netmask) return;
  const family = service.address?.family ?? 4;
  if (family === 4 && netmaskPrefix(p.netmask) !== undefined) return;
  if (family === 6 && /^\d{1,3}$/.test(p.netmask) && Number(p.netmask) >= 1 && Number(p.netmask) <= 128) return;
  ctx.accept(
    diag('bad-netmask', {
      summary: `${p.netmask} is not a${family === 4 ? 'n IPv4 netmask' : 'n IPv6 prefix length'}`,
      detail:
        family === 4
          ? 'The persistence netmask groups clients: a dotted mask of contiguous ones, e.g. 255.255.255.0 to keep a /24 of clients on one server.'
          : 'For an IPv6 service the persistence netmask is a prefix length from 1 to 128, e.g. `netmask 64`.',
      subject: p.netmaskSpan,
    }),
  );
};

export const persistenceEngine: ServiceRule = (service, ctx) => {
  const p = service.persistence;
  if (!p?.engine || isPersistenceEngine(p.engine)) return;
  ctx.accept(
    diag('bad-scheduler-flag', {
      summary: `unknown persistence engine ${p.engine}`,
      detail: 'IPVS has one persistence engine, `sip` (ip_vs_pe_sip): write `engine sip` or leave it out.',
      subject: p.engineSpan,
    }),
  );
};

export const opsNeedsUdp: ServiceRule = (service, ctx) => {
  if (!service.ops) return;
  const protos = serviceProtos(service);
  if (protos.length && protos.every((p) => p === 'udp')) return;
  ctx.accept(
    diag('ops-not-udp', {
      summary: `ops (one-packet scheduling) on ${protos.join('/') || 'a'} service ${service.name}`,
      detail: 'One-packet scheduling schedules each datagram on its own; it applies to UDP only (ipvsadm refuses it otherwise). Remove `ops`, or make the service udp.',
      subject: service.ops,
    }),
  );
};

export const fwmarkOneFamily: ServiceRule = (service, ctx) => {
  const a = service.address;
  if (a?.kind !== 'fwmark') return;
  const odd = a.matches.find((m) => m.family !== a.family);
  if (!odd)
    return;
  ctx.accept(
    diag('fwmark-family', {
      summary: `fwmark ${a.mark} mixes IPv4 and IPv6 matches`,
      detail: 'An IPVS fwmark service has one address family. Declare a second service with another mark for the other family.',
      subject: odd.origin,
    }),
  );
};

export const thresholdsOrdered: ServerRule = (server, _service, ctx) => {
  // The kernel refuses any lower above the upper with ERANGE, an upper of 0 (no limit) included.
  if (!(server.lower > server.upper)) return;
  const noUpper = server.upper === 0;
  ctx.accept(
    diag('thresholds-order', {
      summary: noUpper ? `lower threshold ${server.lower} without an upper threshold` : `lower threshold ${server.lower} is above upper threshold ${server.upper}`,
      detail: noUpper
        ? 'IPVS resumes sending new connections below `lower` only after stopping at `upper`, and the kernel refuses a lower threshold above the upper one (an upper of 0, no limit, included). Give an `upper` at or above it, or remove `lower`.'
        : 'IPVS stops sending new connections at `upper` and resumes below `lower`, so lower must not exceed upper.',
      subject: server.thresholdSpan,
    }),
  );
};

/** Tunnel options fit the method: a tunnel type only with tun, a port exactly for the UDP tunnels (gue), checksums for those that have them (gue, gre). */
export const tunnelOptions: ServerRule = (server, _service, ctx) => {
  const f = server.forward;
  if (!f) return;
  const report = (summary: string, detail: string) => ctx.accept(diag('tun-options', { summary, detail, subject: f.origin }));
  if (f.method !== 'tun') {
    if (f.tunType || f.tunPort !== undefined || f.tunCsum)
      report(`tunnel options on forward ${f.method}`, 'Tunnel type, port and checksum options apply to `forward tun` only.');
    return;
  }
  const tunnel = f.tunType ? TUNNELS[f.tunType] : undefined;
  const udp = tunTypesWith('udpPort');
  if (tunnel?.udpPort && f.tunPort === undefined) {
    report(`forward tun ${f.tunType} needs a port`, `${f.tunType!.toUpperCase()} encapsulates in UDP: write \`forward tun ${f.tunType} port N\` with the port the real servers decapsulate on (fou).`);
  }
  if (!tunnel?.udpPort && f.tunPort !== undefined) {
    report(`forward tun ${f.tunType} takes no port`, `Only ${udp.map((t) => t.toUpperCase()).join(' and ')} has a UDP port; remove \`port\`, or use \`forward tun ${udp[0]} port N\`.`);
  }
  if (tunnel && !tunnel.checksum && f.tunCsum) {
    report(`forward tun ${f.tunType} takes no checksum option`, `Checksum options (${[...TUN_CSUMS].sort().join(', ')}) apply to ${tunTypesWith('checksum').join(' and ')} tunnels.`);
  }
};
