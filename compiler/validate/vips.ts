/** VIPs: what a service's addresses must be for LVS to deliver to them at all. */
import { diag } from '../../lang/diagnostics.js';
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
