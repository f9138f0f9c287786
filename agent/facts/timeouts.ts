/**
 * `ipvsadm -Ln --timeout` → the tcp, tcpfin and udp timeouts (seconds) `--set`
 * changes; null where IPVS is not loaded (the kernel's defaults apply once it is).
 */
import type { Timeouts } from '../../compiler/state.js';
import { ipvsadmCommand, ipvsadmFailure, ipvsNotLoaded } from './ipvs.js';
import { clip, type Fact } from './fact.js';

const LINE = /^Timeout \(tcp tcpfin udp\):\s+(\d+)\s+(\d+)\s+(\d+)\s*$/;

export const timeoutsFact: Fact<Timeouts | null> = {
  name: 'timeouts',
  tool: 'ipvsadm',
  command: () => ipvsadmCommand('-Ln', '--timeout'),
  parse(stdout) {
    if (ipvsNotLoaded(stdout)) return { value: null, warnings: [] };
    const unreadable: string[] = [];
    let value: Timeouts | null = null;
    for (const line of stdout.split('\n')) {
      if (line.trim() === '') continue;
      const m = LINE.exec(line);
      if (m && !value) value = { tcp: Number(m[1]), tcpfin: Number(m[2]), udp: Number(m[3]) };
      else unreadable.push(`\`${clip(line.trim())}\` is not the one timeout line`);
    }
    if (!value) unreadable.push('ipvsadm printed no timeouts');
    return { value, warnings: [], unreadable };
  },
  whenFailed: ipvsadmFailure,
};
