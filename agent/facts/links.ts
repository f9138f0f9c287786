/**
 * Tunnel devices and fou ports, the real-server side of LVS/TUN.
 *
 * `ip -j -d link show` → the tunnel devices (ipip `tunl0`, gre `gre0`, ip6tnl
 * `ip6tnl0`, ip6gre `ip6gre0`, and any others of those kinds) with whether
 * they are administratively up; other devices are not lvsc's business.
 * ip6gre devices read as kind `gre`, as the desired state names them.
 *
 * `ip -j fou show` → the fou/GUE receive ports, as links named `fou:PORT`.
 * Without the fou module the kernel has no fou netlink family and iproute2
 * fails with "RTNETLINK answers: No such file or directory": then no port is
 * open, which is an answer, not an error.
 */
import { cmd } from '../../compiler/command.js';
import { fouLinkName, TUNNEL_KIND_BY_IP_KIND } from '../../compiler/lvs.js';
import type { LinkState } from '../../compiler/state.js';
import { firstLines, isRecord, parseJson, preview, type Fact } from './fact.js';

export const linksFact: Fact<LinkState[]> = {
  name: 'links',
  tool: 'ip',
  command: () => cmd('ip', '-j', '-d', 'link', 'show'),
  parse(stdout) {
    const value: LinkState[] = [];
    const warnings: string[] = [];
    const json = parseJson(stdout, 'ip -j -d link show');
    if (!json.ok) return { value, warnings: [], unreadable: [json.warning] };
    if (!Array.isArray(json.value)) return { value, warnings: [], unreadable: ['ip -j -d link show: expected a list of links'] };
    for (const link of json.value) {
      if (!isRecord(link) || typeof link.ifname !== 'string') {
        warnings.push(`skipped a link entry without ifname: ${preview(link)}`);
        continue;
      }
      const infoKind = isRecord(link.linkinfo) ? link.linkinfo.info_kind : undefined;
      const kind = typeof infoKind === 'string' ? TUNNEL_KIND_BY_IP_KIND.get(infoKind) : undefined;
      if (!kind) continue;
      const up = Array.isArray(link.flags) && link.flags.includes('UP');
      value.push({ name: link.ifname, kind, up });
    }
    return { value, warnings };
  },
};

export const fouFact: Fact<LinkState[]> = {
  name: 'fou',
  tool: 'ip',
  command: () => cmd('ip', '-j', 'fou', 'show'),
  parse(stdout) {
    const value: LinkState[] = [];
    const warnings: string[] = [];
    if (stdout.trim() === '') return { value, warnings }; // nothing listening
    const json = parseJson(stdout, 'ip -j fou show');
    if (!json.ok) return { value, warnings: [], unreadable: [json.warning] };
    if (!Array.isArray(json.value)) return { value, warnings: [], unreadable: ['ip -j fou show: expected a list of ports'] };
    for (const f of json.value) {
      if (!isRecord(f) || typeof f.port !== 'number') {
        warnings.push(`skipped a fou entry without a port: ${preview(f)}`);
        continue;
      }
      value.push({ name: fouLinkName(f.port), kind: 'fou', up: true, port: f.port });
    }
    return { value, warnings };
  },
  whenFailed(status, stderr) {
    if (/RTNETLINK answers: No such file or directory/.test(stderr)) return { value: [], warnings: [] };
    return { kind: 'failed', status, message: `fou ports could not be read: ${firstLines(stderr) || `exit status ${status}`}` };
  },
};
