/**
 * The IPVS table: `ipvsadm -Sn` → services with their destinations, keyed by
 * identity (compiler/ipvsadm.ts does the syntax). `-S` leaves out thresholds:
 * the thresholds fact reads them and `mergeThresholds` puts them in.
 *
 * Quirks handled there and worth knowing here: a real server at one of the
 * director's own addresses is `-g` in `-S` (so it reads as `dr`; the lab's
 * kernels list it as `Route` in `-L` too, older ones as `Local`);
 * fwmarks of 2^31 and above come back from ipvsadm 1.31 as negative numbers
 * (converted back); `-p` always carries its number.
 *
 * Reading must not change the host: ipvsadm runs `modprobe ip_vs` itself when
 * IPVS is not loaded, so every ipvsadm fact first checks /proc/net/ip_vs
 * (present, per network namespace, once ip_vs is loaded or built in) and
 * without it prints one known line instead: no module, no table.
 */
import { cmd, type Command } from '../../compiler/command.js';
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

/** What the ipvsadm facts print instead of running ipvsadm when IPVS is not loaded. */
export const IPVS_NOT_LOADED = 'lvsc: ip_vs is not loaded (no /proc/net/ip_vs)';

/** `ipvsadm ARGS`, run only where IPVS is loaded (see above); a missing ipvsadm exits 127 either way. */
export function ipvsadmCommand(...args: string[]): Command {
  const script = [
    `command -v ipvsadm >/dev/null 2>&1 || { echo 'ipvsadm: not found' >&2; exit 127; }`,
    `if [ -e /proc/net/ip_vs ]; then exec ipvsadm "$@"; fi`,
    `echo '${IPVS_NOT_LOADED}'`,
  ].join('\n');
  return cmd('sh', '-c', script, 'sh', ...args);
}

/** Whether the output is the not-loaded line rather than ipvsadm's. */
export function ipvsNotLoaded(stdout: string): boolean {
  return stdout.trim() === IPVS_NOT_LOADED;
}

export const ipvsFact: Fact<IpvsService[]> = {
  name: 'ipvs',
  tool: 'ipvsadm',
  command: () => ipvsadmCommand('-Sn'),
  // Every line ipvsadm -Sn prints is a service or a server: one that cannot be read is part of the table lvsc would
  // not see (and would plan to add again, or never remove), so the table as a whole cannot be read.
  parse(stdout) {
    if (ipvsNotLoaded(stdout)) return { value: [], warnings: [] };
    const parsed = parseIpvsadmSave(stdout);
    return { value: parsed.value, warnings: [], unreadable: parsed.warnings };
  },
  whenFailed: ipvsadmFailure,
};
