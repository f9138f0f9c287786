/** Warnings: what works but is likely wrong or will not scale. */
import { diag } from '../../lang/diagnostics.js';
import { servicePorts, serviceProtos } from '../ir.js';
import type { ClusterRule, ServiceRule } from './context.js';

/** The LVS papers report VS/NAT's director as the bottleneck beyond about 20 real servers. */
export const NAT_SCALE_LIMIT = 20;

export const natScale: ClusterRule = (cluster, ctx) => {
  const natHosts = new Map<string, import('../../lang/source.js').Span>();
  for (const s of cluster.services) for (const r of s.servers) if (r.forward?.method === 'nat' && !natHosts.has(r.host)) natHosts.set(r.host, r.hostSpan);
  if (natHosts.size <= NAT_SCALE_LIMIT || !cluster.directors) return;
  ctx.accept(
    diag('nat-scale', {
      summary: `${natHosts.size} real servers behind one NAT director`,
      detail: `Every NAT reply passes back through ${cluster.directors.active}; the LVS papers report the director saturating at about ${NAT_SCALE_LIMIT} real servers. Consider \`forward dr\` or \`forward tun\`, which let replies bypass the director.`,
      subject: [...natHosts.values()][NAT_SCALE_LIMIT],
    }),
  );
};

/** Application protocols that carry addresses in their payload, which NAT rewrites only with a helper. IPVS has a helper for FTP only (ip_vs_ftp, which lvsc loads). */
const PAYLOAD_ADDRESS_PROTOCOLS: readonly { port: number; proto: 'tcp' | 'udp' | 'both'; name: string }[] = [
  { port: 69, proto: 'udp', name: 'TFTP' },
  { port: 554, proto: 'tcp', name: 'RTSP' },
  { port: 1720, proto: 'tcp', name: 'H.323' },
  { port: 1723, proto: 'tcp', name: 'PPTP' },
  { port: 5060, proto: 'both', name: 'SIP' },
  { port: 6667, proto: 'tcp', name: 'IRC (DCC)' },
];

export const natPayloadHelper: ServiceRule = (service, ctx) => {
  if (!service.servers.some((s) => s.forward?.method === 'nat')) return;
  const protos = serviceProtos(service);
  for (const port of servicePorts(service)) {
    const known = PAYLOAD_ADDRESS_PROTOCOLS.find((p) => p.port === port && (p.proto === 'both' || protos.includes(p.proto)));
    if (!known) continue;
    ctx.accept(
      diag('nat-helper', {
        summary: `NAT service ${service.name} on port ${port} (${known.name}) has no IPVS helper`,
        detail: `${known.name} carries addresses inside its payload, which IPVS NAT rewrites only for FTP (ip_vs_ftp). Clients may be sent the real servers' private addresses. Use \`forward dr\` or \`forward tun\`, or an application-level proxy.`,
        subject: service.address?.origin ?? service.nameSpan,
      }),
    );
  }
};

/** FTP by DR/TUN opens data connections on other ports: without persistence they land on other servers. */
export const ftpNeedsPersistence: ServiceRule = (service, ctx) => {
  if (!servicePorts(service).includes(21) || !serviceProtos(service).includes('tcp') || service.persistence) return;
  if (!service.servers.some((s) => s.forward?.method === 'dr' || s.forward?.method === 'tun')) return;
  ctx.accept(
    diag('nat-helper', {
      summary: `FTP service ${service.name} without persistence`,
      detail: 'Without NAT there is no ip_vs_ftp helper to tie FTP data connections to their control connection; add `persistence` so a client\'s connections reach one server.',
      subject: service.address?.origin ?? service.nameSpan,
    }),
  );
};

/** sh and dh ignore weights on older kernels (they treat every non-zero weight alike). */
export const hashWeights: ServiceRule = (service, ctx) => {
  if (service.scheduler !== 'sh' && service.scheduler !== 'dh') return;
  const live = service.servers.filter((s) => s.weight > 0);
  const odd = live.find((s) => s.weight !== live[0].weight);
  if (!odd) return;
  ctx.accept(
    diag('hash-weights', {
      summary: `scheduler ${service.scheduler} with weights that differ`,
      detail: `${service.scheduler} hashes clients onto servers; kernels before 4.x ignore weights beyond zero/non-zero. Use equal weights, or mh (Maglev hashing) which honours them.`,
      subject: odd.origin,
    }),
  );
};

export const notAllDrained: ServiceRule = (service, ctx) => {
  if (!service.servers.length) {
    ctx.accept(
      diag('no-servers', {
        summary: `service ${service.name} has no real servers`,
        detail: 'The director will accept connections for it and have nowhere to send them. Add `server HOST` lines, or remove the service.',
        subject: service.nameSpan,
      }),
    );
    return;
  }
  if (service.servers.some((s) => s.weight > 0)) return;
  ctx.accept(
    diag('all-drained', {
      summary: `every server of ${service.name} is drained`,
      detail: 'With every weight at 0 the service accepts connections and drops them. Undrain at least one server, or remove the service.',
      subject: service.nameSpan,
    }),
  );
};

/** twos (two random choices) arrived in Linux 6.7; Debian 12's 6.1 kernel has no ip_vs_twos. */
export const newSchedulers: ServiceRule = (service, ctx) => {
  if (service.scheduler !== 'twos') return;
  ctx.accept(
    diag('twos-kernel', {
      summary: 'scheduler twos needs Linux 6.7 or later',
      detail: 'Older kernels (Debian 12 ships 6.1) have no ip_vs_twos: the apply will fail there. ipvsadm refuses the service there with "Scheduler or persistence engine not found".',
      subject: service.schedulerSpan,
    }),
  );
};
