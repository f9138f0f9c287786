/**
 * `ip -j addr show` → every address on every interface: device, canonical
 * address, prefix length, and for IPv4 the label when it is not just the
 * device name (lvsc marks its own addresses `lo:lvs`, `eth0:lvs`). iproute2
 * prints a label for every IPv4 address (`lo` for a plain one on lo) and none
 * for IPv6.
 */
import { cmd } from '../../compiler/command.js';
import type { AddressState } from '../../compiler/state.js';
import { canonicalAddress } from '../../lang/address.js';
import { isRecord, parseJson, preview, type Fact } from './fact.js';

export const addressesFact: Fact<AddressState[]> = {
  name: 'addresses',
  tool: 'ip',
  command: () => cmd('ip', '-j', 'addr', 'show'),
  parse(stdout) {
    const value: AddressState[] = [];
    const warnings: string[] = [];
    const json = parseJson(stdout, 'ip -j addr show');
    if (!json.ok) return { value, warnings: [], unreadable: [json.warning] };
    if (!Array.isArray(json.value)) return { value, warnings: [], unreadable: ['ip -j addr show: expected a list of interfaces'] };
    for (const link of json.value) {
      if (!isRecord(link) || typeof link.ifname !== 'string' || !Array.isArray(link.addr_info)) {
        warnings.push(`skipped an interface entry without ifname or addr_info: ${preview(link)}`);
        continue;
      }
      const dev = link.ifname;
      for (const a of link.addr_info) {
        if (!isRecord(a) || (a.family !== 'inet' && a.family !== 'inet6')) continue; // other families carry no IP address
        const address = typeof a.local === 'string' ? canonicalAddress(a.local) : undefined;
        if (!address || typeof a.prefixlen !== 'number') {
          warnings.push(`skipped an address on ${dev} that could not be read: ${preview(a)}`);
          continue;
        }
        const label = a.family === 'inet' && typeof a.label === 'string' && a.label !== dev ? a.label : undefined;
        value.push(label ? { dev, address, prefix: a.prefixlen, label } : { dev, address, prefix: a.prefixlen });
      }
    }
    return { value, warnings };
  },
};
