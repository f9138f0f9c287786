/**
 * The IPVS table: `ipvsadm -Sn` → services with their destinations, keyed by
 * identity (compiler/ipvsadm.ts does the syntax). `-S` leaves out thresholds:
 * the thresholds fact reads them and `mergeThresholds` puts them in.
 *
 * Quirks handled there and worth knowing here: a real server local to the
 * director lists as `Local` in `-L` but `-g` in `-S` (so it reads as `dr`);
 * fwmarks of 2^31 and above come back from ipvsadm 1.31 as negative numbers
 * (converted back); `-p` always carries its number.
 */
import { cmd } from '../../compiler/command.js';
import { parseIpvsadmSave } from '../../compiler/ipvsadm.js';
import type { IpvsService } from '../../compiler/state.js';
import type { Fact, FactError } from './fact.js';

/**
 * What every ipvsadm fact makes of a failure: ipvsadm prints "Can't initialize
 * ipvs" when the kernel has no IPVS (it tries `modprobe ip_vs` first).
 */
export function ipvsadmFailure(status: number, stderr: string): FactError | undefined {
  const line = stderr.split('\n').find((l) => /Can't initialize ipvs/i.test(l));
  if (line) return { kind: 'unsupported', message: `the kernel has no IPVS (ipvsadm: ${line.trim()})` };
  return undefined;
}

export const ipvsFact: Fact<IpvsService[]> = {
  name: 'ipvs',
  tool: 'ipvsadm',
  command: () => cmd('ipvsadm', '-Sn'),
  parse: (stdout) => parseIpvsadmSave(stdout),
  whenFailed: ipvsadmFailure,
};
