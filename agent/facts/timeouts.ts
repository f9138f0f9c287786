/** `ipvsadm -Ln --timeout` → the tcp, tcpfin and udp timeouts (seconds) `--set` changes. */
import { cmd } from '../../compiler/command.js';
import type { Timeouts } from '../../compiler/state.js';
import type { Fact } from './fact.js';
import { ipvsadmFailure } from './ipvs.js';

const LINE = /^Timeout \(tcp tcpfin udp\):\s+(\d+)\s+(\d+)\s+(\d+)\s*$/;

export const timeoutsFact: Fact<Timeouts | null> = {
  name: 'timeouts',
  tool: 'ipvsadm',
  command: () => cmd('ipvsadm', '-Ln', '--timeout'),
  parse(stdout) {
    const warnings: string[] = [];
    let value: Timeouts | null = null;
    for (const line of stdout.split('\n')) {
      if (line.trim() === '') continue;
      const m = LINE.exec(line);
      if (m && !value) value = { tcp: Number(m[1]), tcpfin: Number(m[2]), udp: Number(m[3]) };
      else warnings.push(`skipped \`${line.trim()}\`: not the one timeout line`);
    }
    if (!value) warnings.push('ipvsadm printed no timeouts');
    return { value, warnings };
  },
  whenFailed: ipvsadmFailure,
};
