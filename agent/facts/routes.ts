/**
 * `ip -j route show` and `ip -j -6 route show` (the main table of each
 * family) → routes: `default` or the canonical network CIDR (iproute2 prints a
 * host route without its /32 or /128), the gateway (`gateway`, or `via` when an
 * IPv4 route goes through an IPv6 next hop), the device and the protocol.
 *
 * iproute2 leaves the protocol out when it is `boot` (the kernel's tag for a
 * route added by hand without `proto`); it reads back as `boot` here. A
 * multipath route becomes one entry per next hop. Routes of other types
 * (unreachable, blackhole, prohibit, local, broadcast, multicast) carry no
 * traffic to a next hop and are left out.
 */
import { cmd } from '../../compiler/command.js';
import type { RouteState } from '../../compiler/state.js';
import { canonicalAddress, cidrText, networkOf, parseCidr, type Family } from '../../lang/address.js';
import { isRecord, parseJson, preview, type Fact, type Parsed } from './fact.js';

function gatewayOf(hop: Record<string, unknown>): string | undefined {
  if (typeof hop.gateway === 'string') return canonicalAddress(hop.gateway);
  if (isRecord(hop.via) && typeof hop.via.host === 'string') return canonicalAddress(hop.via.host);
  return undefined;
}

export function parseRoutes(stdout: string, family: Family): Parsed<RouteState[]> {
  const what = family === 6 ? 'ip -j -6 route show' : 'ip -j route show';
  const value: RouteState[] = [];
  const warnings: string[] = [];
  const json = parseJson(stdout, what);
  if (!json.ok) return { value, warnings: [], unreadable: [json.warning] };
  if (!Array.isArray(json.value)) return { value, warnings: [], unreadable: [`${what}: expected a list of routes`] };
  for (const r of json.value) {
    if (!isRecord(r) || typeof r.dst !== 'string') {
      warnings.push(`${what}: skipped a route without dst: ${preview(r)}`);
      continue;
    }
    if (r.type !== undefined && r.type !== 'unicast') continue;
    let dst = r.dst;
    if (dst !== 'default') {
      const cidr = parseCidr(dst.includes('/') ? dst : `${dst}/${family === 6 ? 128 : 32}`);
      if (!cidr) {
        warnings.push(`${what}: skipped a route to \`${dst}\`, which is not an address or network`);
        continue;
      }
      dst = cidrText(networkOf(cidr));
    }
    const proto = typeof r.protocol === 'string' ? r.protocol : 'boot';
    const hops = Array.isArray(r.nexthops) ? r.nexthops.filter(isRecord) : [r];
    for (const hop of hops) {
      const via = gatewayOf(hop);
      const dev = typeof hop.dev === 'string' ? hop.dev : typeof r.dev === 'string' ? r.dev : undefined;
      value.push({ dst, ...(via ? { via } : {}), ...(dev ? { dev } : {}), proto });
    }
  }
  return { value, warnings };
}

export const routesFact: Fact<RouteState[]> = {
  name: 'routes',
  tool: 'ip',
  command: () => cmd('ip', '-j', 'route', 'show'),
  parse: (stdout) => parseRoutes(stdout, 4),
};

export const routes6Fact: Fact<RouteState[]> = {
  name: 'routes6',
  tool: 'ip',
  command: () => cmd('ip', '-j', '-6', 'route', 'show'),
  parse: (stdout) => parseRoutes(stdout, 6),
};
