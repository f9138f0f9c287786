/**
 * Where the lab keeps its files: everything generated lives in `.lab/` at the
 * repository root (gitignored), except examples/lab.lvs, which is committed and
 * always names the default port (a lab on another port gets `.lab/lab.lvs`).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LabPaths {
  readonly repo: string;
  readonly work: string;
  /** Extracted kernels, one folder per release, kept between runs. */
  readonly kernels: string;
  /** The initramfs tree being assembled, and the archive qemu boots. */
  readonly initramfsRoot: string;
  readonly initramfs: string;
  readonly keys: string;
  /** The private key lvsc (and the generated ssh_config) log in with. */
  readonly userKey: string;
  readonly knownHosts: string;
  readonly sshConfig: string;
  readonly pidFile: string;
  readonly serialLog: string;
  readonly state: string;
  readonly lock: string;
  /** Held by runs that change the lab's hosts by hand (the smoke test, the captures). */
  readonly useLock: string;
  readonly aptLog: string;
  /** examples/lab.lvs (committed; names the default port). */
  readonly clusterFile: string;
  /** The cluster file for a lab that had to take another port. */
  readonly otherPortClusterFile: string;
}

/** The lvsc checkout this code is in: above lab/ when run from source (tsx), above dist/lab/ when built. */
export function repoRoot(): string {
  const here = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  return basename(here) === 'dist' && existsSync(join(dirname(here), 'package.json')) ? dirname(here) : here;
}

export function labPaths(repo: string = repoRoot()): LabPaths {
  const work = join(repo, '.lab');
  return {
    repo,
    work,
    kernels: join(work, 'kernel'),
    initramfsRoot: join(work, 'initramfs'),
    initramfs: join(work, 'initramfs.cpio'),
    keys: join(work, 'keys'),
    userKey: join(work, 'id_ed25519'),
    knownHosts: join(work, 'known_hosts'),
    sshConfig: join(work, 'ssh_config'),
    pidFile: join(work, 'qemu.pid'),
    serialLog: join(work, 'serial.log'),
    state: join(work, 'state.json'),
    lock: join(work, 'lock'),
    useLock: join(work, 'use.lock'),
    aptLog: join(work, 'apt.log'),
    clusterFile: join(repo, 'examples', 'lab.lvs'),
    otherPortClusterFile: join(work, 'lab.lvs'),
  };
}
