/**
 * What a test needs of this machine, stated by the test: the programs it runs
 * (each one listed, with its Debian package, in host-programs.txt, from which
 * scripts/setup-test-host.sh installs them) and, for the tests that expect
 * lvsc's director to fail here, a kernel without IPVS. A machine that falls
 * short fails the test at once with what to do, not with an assertion about
 * some other error much later, and never makes it pass by skipping.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const SETUP_SCRIPT = 'scripts/setup-test-host.sh';

export interface HostProgram {
  /** A name looked up on PATH, or an absolute path. */
  readonly program: string;
  /** The Debian package that installs it. */
  readonly package: string;
  readonly neededBy: string;
}

/** The sbin directories first, as root's PATH has them (ipvsadm, sysctl and modprobe live there). */
const SEARCH_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const searchEnv = () => ({ PATH: `${SEARCH_PATH}${process.env.PATH ? `:${process.env.PATH}` : ''}` });

let programs: Map<string, HostProgram> | undefined;

/** host-programs.txt: program → its package and who needs it. */
export function hostPrograms(): ReadonlyMap<string, HostProgram> {
  programs ??= new Map(
    readFileSync(new URL('./host-programs.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => {
        const [program, pkg, ...neededBy] = line.trim().split(/\s+/);
        return [program, { program, package: pkg, neededBy: neededBy.join(' ') }];
      }),
  );
  return programs;
}

export function isInstalled(program: string): boolean {
  if (program.startsWith('/')) return spawnSync('test', ['-x', program]).status === 0;
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program], { env: searchEnv(), stdio: 'ignore' }).status === 0;
}

/** Those of `wanted` that are not installed. A program host-programs.txt does not list is a mistake in the test: the setup script would not install it. */
export function missingPrograms(wanted: readonly string[]): HostProgram[] {
  const known = hostPrograms();
  const unlisted = wanted.filter((p) => !known.has(p));
  if (unlisted.length) throw new Error(`test/support/host-programs.txt does not list ${unlisted.join(', ')}: add each with its Debian package, so that ${SETUP_SCRIPT} installs it`);
  return wanted.filter((p) => !isInstalled(p)).map((p) => known.get(p)!);
}

/** The programs, each with its package: `ipvsadm (Debian package ipvsadm), modprobe (kmod)`. */
export function describeMissing(missing: readonly HostProgram[]): string {
  return missing.map((m, i) => `${m.program} (${i === 0 ? 'Debian package ' : ''}${m.package})`).join(', ');
}

/** Throws unless every one of `wanted` is installed; `who` names the tests that need them. */
export function assertPrograms(who: string, wanted: readonly string[]): void {
  const missing = missingPrograms(wanted);
  if (missing.length === 0) return;
  throw new Error(`${who} needs programs this machine does not have: ${describeMissing(missing)}. Run ${SETUP_SCRIPT} as root first: it installs them.`);
}

/**
 * IPVS in this machine's kernel: `loaded` (/proc/net/ip_vs exists, as it does
 * in every network namespace once ip_vs is loaded or built in), `loadable`
 * (`modprobe -n ip_vs` finds the module), or `absent`.
 */
export function kernelIpvs(): 'loaded' | 'loadable' | 'absent' {
  if (existsSync('/proc/net/ip_vs')) return 'loaded';
  assertPrograms('telling whether the kernel has IPVS', ['modprobe']);
  return spawnSync('modprobe', ['-n', '-q', 'ip_vs'], { env: searchEnv(), stdio: 'ignore' }).status === 0 ? 'loadable' : 'absent';
}

/**
 * Throws unless the kernel has no IPVS at all, as CI's has not: tests that
 * expect lvsc's director to fail at `modprobe ip_vs`, or its table to read as
 * empty, state it here. (Where the kernel has IPVS, such a test would change
 * the host's kernel; the IPVS paths are tested in the lab VM, test/e2e.)
 */
export function assertKernelWithoutIpvs(who: string, why: string): void {
  const ipvs = kernelIpvs();
  if (ipvs === 'absent') return;
  throw new Error(`${who} expects a kernel without IPVS (${why}), but this one has ip_vs ${ipvs === 'loaded' ? 'loaded' : 'available to load'}: run these tests on a machine whose kernel has no IPVS, as CI's; the IPVS paths run in the lab VM (test/e2e)`);
}
