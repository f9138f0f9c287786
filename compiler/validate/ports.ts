/** Ports: DR and TUN deliver the packet unchanged, so they cannot remap ports. */
import { diag } from '../../lang/diagnostics.js';
import type { ServerRule } from './context.js';

export const directCannotRemap: ServerRule = (server, service, ctx) => {
  const method = server.forward?.method;
  const a = service.address;
  if ((method !== 'dr' && method !== 'tun') || server.port === undefined || !a) return;
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
