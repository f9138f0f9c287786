/** Ports: DR and TUN deliver the packet unchanged, so they cannot remap ports; an every-port service has no port to remap. */
import { diag } from '../../lang/diagnostics.js';
import { isAllPorts } from '../ir.js';
import type { ServerRule, ServiceRule } from './context.js';

export const directCannotRemap: ServerRule = (server, service, ctx) => {
  const method = server.forward?.method;
  const a = service.address;
  if ((method !== 'dr' && method !== 'tun') || server.port === undefined || !a || isAllPorts(service)) return;
  if (a.kind === 'vip' && server.port === a.port) return;
  const vport = a.kind === 'vip' ? `port ${a.port}` : 'the marked ports';
  ctx.accept(
    diag('port-remap', {
      summary: `forward ${method} cannot send ${service.name} to port ${server.port}`,
      detail: `${method === 'dr' ? 'Direct routing' : 'IP tunnelling'} delivers the client's packet unchanged, so ${server.host} receives it on ${vport}${a.kind === 'vip' ? ' (ipvsadm would silently use the VIP port)' : ''}. Remove \`port ${server.port}\`, make ${server.host} listen on ${vport}, or use \`forward nat\`, which can remap ports.`,
      subject: server.portSpan,
      context: server.origin,
    }),
  );
};

/** A service needs an address (vip or fwmark) and a forwarding method for every server. */
export const serviceComplete: import('./context.js').ServiceRule = (service, ctx) => {
  if (!service.address) {
    ctx.accept(
      diag('missing-setting', {
        summary: `service ${service.name} has no vip or fwmark`,
        detail: 'Say what the service listens on: `vip ADDR tcp|udp|sctp PORT`, or `fwmark N { match PROTO ADDR ports P,... }`.',
        subject: service.nameSpan,
      }),
    );
  }
  const bare = service.servers.filter((s) => !s.forwardWritten);
  if (!bare.length) return;
  ctx.accept(
    diag('missing-setting', {
      summary: `service ${service.name} has no forward method`,
      detail: `Add \`forward nat\`, \`forward dr\` or \`forward tun\` to the service (or to each server: ${bare.map((s) => s.host).join(', ')} have none).`,
      subject: service.nameSpan,
    }),
  );
};

/**
 * Port 0 is IPVS's every-port service: the kernel takes it only with
 * persistence (ipvsadm: "Zero port specified for non-persistent service"),
 * since a client's connections to its ports must reach one server.
 */
export const allPortsNeedsPersistence: ServiceRule = (service, ctx) => {
  const a = service.address;
  if (a?.kind !== 'vip' || a.port !== 0 || service.persistence) return;
  ctx.accept(
    diag('all-ports', {
      summary: `service ${service.name} on port 0 (every port) has no persistence`,
      detail: `Port 0 makes ${a.address} a service for every ${a.proto.toUpperCase()} port, which IPVS allows only with persistence (ipvsadm -p): add \`persistence 300s\` (or another timeout) to the service, or give the VIP the one port it serves.`,
      subject: a.portSpan,
      context: service.origin,
    }),
  );
};

/** An every-port service delivers each connection on the port the client chose: its servers (and sorry server) take no `port`. */
export const allPortsNoServerPort: ServerRule = (server, service, ctx) => {
  const a = service.address;
  if (a?.kind !== 'vip' || a.port !== 0 || server.port === undefined) return;
  ctx.accept(
    diag('all-ports', {
      summary: `${server.role === 'sorry' ? 'sorry server' : 'server'} ${server.host} of ${service.name} has \`port ${server.port}\`, but the service takes every port`,
      detail: `Service ${service.name} listens on every port of ${a.address} (port 0), and each connection reaches ${server.host} on the port the client asked for; one port for all of them would merge every port into ${server.port}. Remove \`port ${server.port}\`, or give the VIP one port instead of 0.`,
      subject: server.portSpan,
      context: server.origin,
      notes: [{ message: 'every port here', span: a.portSpan }],
    }),
  );
};
