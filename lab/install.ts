/**
 * What the lab needs on the machine: Debian packages (installed with apt when
 * missing) and a Debian cloud kernel, resolved at run time, downloaded with
 * `apt-get download`, extracted and cached in `.lab/kernel/<release>/` with
 * its modules decompressed and indexed (so the guest's modprobe works).
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPaths } from './paths.js';
import { must, run, tail } from './proc.js';

/**
 * The Debian packages whose programs make up the guest's userland: a real Debian
 * shell and tools, so lvsc meets the same programs and output as on a Debian host
 * (busybox fills in only what these lack, such as httpd), plus the daemons the
 * lab's hosts run: keepalived on the directors, dnsmasq on the real servers.
 */
export const GUEST_PACKAGES = [
  'bash',
  'coreutils',
  'curl',
  'dash',
  'debianutils',
  'diffutils',
  // /usr/sbin/dnsmasq without the `dnsmasq` package's service, which would start a resolver on this machine.
  'dnsmasq-base',
  'findutils',
  'grep',
  'gzip',
  'hostname',
  'iproute2',
  'ipvsadm',
  // The directors' health checker and VRRP (issue 12); each director starts its own.
  'keepalived',
  'kmod',
  'mount',
  'nftables',
  'openssh-server',
  'openssh-sftp-server',
  'procps',
  'psmisc',
  'sed',
  'tar',
  'util-linux',
] as const;

/** Everything the host side runs, and the guest's packages. */
export const PACKAGES = [
  'qemu-system-x86',
  'busybox-static',
  'cpio',
  'openssh-client',
  'xz-utils',
  'zstd',
  ...GUEST_PACKAGES,
] as const;

export type Log = (line: string) => void;

/** Packages of `names` that dpkg does not report as installed. */
export async function missingPackages(names: readonly string[]): Promise<string[]> {
  // dpkg-query exits 1 when a name is unknown to it; the installed ones are still listed.
  const r = await run('dpkg-query', ['-W', '-f', '${Package} ${db:Status-Abbrev}\n', ...names]);
  const installed = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1] === 'ii')
      .map((f) => f[0]),
  );
  return names.filter((n) => !installed.has(n));
}

async function apt(aptLog: string, log: Log, args: readonly string[]): Promise<void> {
  log(`apt-get ${args.join(' ')} (output in ${aptLog})`);
  const r = await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  appendFileSync(aptLog, `$ apt-get ${args.join(' ')}\n${r.stdout}${r.stderr}\n`);
  if (r.code !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.code}):\n${tail(r.stderr || r.stdout, 15)}`);
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Installs the missing packages (apt-get update first). Returns what it installed. */
export async function ensurePackages(paths: LabPaths, log: Log): Promise<string[]> {
  return ensureInstalled(PACKAGES, paths.aptLog, log, 'the lab');
}

/** Installs those of `names` that are missing (apt-get update first), apt's output appended to `aptLog`; `who` needs them. Returns what it installed. */
export async function ensureInstalled(names: readonly string[], aptLog: string, log: Log, who: string): Promise<string[]> {
  const missing = await missingPackages(names);
  if (!missing.length) return [];
  if (!isRoot()) throw new Error(`${who} needs these packages, and installing them needs root: apt-get install ${missing.join(' ')}`);
  await apt(aptLog, log, ['update']);
  await apt(aptLog, log, ['install', '-y', '--no-install-recommends', ...missing]);
  return missing;
}

export interface Kernel {
  /** `uname -r` of the guest, e.g. `6.1.0-56-cloud-amd64`. */
  readonly release: string;
  readonly package: string;
  /** The extracted package: `boot/vmlinuz-<release>` and `lib/modules/<release>/`. */
  readonly dir: string;
  readonly vmlinuz: string;
  readonly modules: string;
}

const KERNEL_PACKAGE = /^linux-image-(\d+\.\d+(?:\.\d+)?(?:-\d+|\+[a-z0-9]+))-cloud-amd64$/;

function kernelAt(dir: string, release: string): Kernel {
  const full = `${release}-cloud-amd64`;
  return {
    release: full,
    package: `linux-image-${full}`,
    dir,
    vmlinuz: join(dir, 'boot', `vmlinuz-${full}`),
    modules: join(dir, 'lib', 'modules', full),
  };
}

/** Newest first: `6.12.117+deb12` before `6.12.115+deb12` before `6.1.0-56` before `6.1.0-9`. */
export function newestFirst(releases: readonly string[]): string[] {
  return [...releases].sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
}

/**
 * Picks the kernel release (without `-cloud-amd64`) to use from the package names apt knows:
 * the newest, or with `want` the newest whose release is `want` or starts with `want.`/`want-`
 * (`6.1` picks the newest 6.1 kernel; a full package name picks exactly that one).
 */
export function pickKernel(packageNames: readonly string[], want?: string): string | undefined {
  const releases = packageNames.map((n) => KERNEL_PACKAGE.exec(n.trim())?.[1]).filter((r): r is string => r !== undefined);
  const matches = (r: string) => !want || want === `linux-image-${r}-cloud-amd64` || r === want || r.startsWith(`${want}.`) || r.startsWith(`${want}-`);
  return newestFirst(releases.filter(matches))[0];
}

/** The kernel package Debian installs by default (`linux-image-cloud-amd64` depends on it), if apt knows it. */
async function defaultKernelPackage(): Promise<string | undefined> {
  const r = await run('apt-cache', ['depends', 'linux-image-cloud-amd64']);
  return r.code === 0 ? /Depends: (linux-image-\S+-cloud-amd64)\b/.exec(r.stdout)?.[1] : undefined;
}

async function aptKernelPackages(): Promise<string[]> {
  const r = await run('apt-cache', ['search', '--names-only', '^linux-image-.*-cloud-amd64$']);
  return r.code === 0 ? r.stdout.split('\n').map((l) => l.split(' - ')[0].trim()).filter(Boolean) : [];
}

function cachedReleases(paths: LabPaths): string[] {
  if (!existsSync(paths.kernels)) return [];
  return readdirSync(paths.kernels).filter((d) => existsSync(join(paths.kernels, d, '.complete')));
}

/**
 * The kernel to boot, resolved from apt at run time: by default the release's own
 * (what `linux-image-cloud-amd64` depends on: Debian 12's 6.1.0-NN, the newest NN);
 * `want` = `newest` for the newest of all (bookworm also carries 6.12), or a series,
 * release or package (see pickKernel). Downloaded and prepared once, then reused from
 * the cache; without apt lists (offline), the newest cached kernel that matches.
 */
export async function ensureKernel(paths: LabPaths, log: Log, want?: string): Promise<Kernel> {
  let names = await aptKernelPackages();
  if (!names.length && isRoot()) {
    await apt(paths.aptLog, log, ['update']);
    names = await aptKernelPackages();
  }
  const wanted = want === 'newest' ? undefined : (want ?? (await defaultKernelPackage()));
  const release = pickKernel(names, wanted) ?? pickKernel(cachedReleases(paths).map((r) => `linux-image-${r}-cloud-amd64`), wanted);
  if (!release) throw new Error(`no linux-image-*-cloud-amd64 package${wanted ? ` matching ${wanted}` : ''} in apt's lists, and none cached in ${paths.kernels}`);
  const dir = join(paths.kernels, release);
  const kernel = kernelAt(dir, release);
  if (existsSync(join(dir, '.complete'))) return kernel;

  log(`downloading ${kernel.package}`);
  const download = join(paths.kernels, '.download');
  const staging = `${dir}.partial`;
  rmSync(download, { recursive: true, force: true });
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(download, { recursive: true });
  await must('apt-get', ['download', kernel.package], { cwd: download, timeoutMs: 15 * 60_000 });
  const deb = readdirSync(download).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${kernel.package} left no .deb in ${download}`);
  await must('dpkg-deb', ['-x', join(download, deb), staging]);
  rmSync(download, { recursive: true, force: true });

  // Decompress once here, so the guest's kmod and busybox need no xz or zstd, then index.
  const modules = join(staging, 'lib', 'modules', kernel.release);
  await must('find', [modules, '-name', '*.ko.xz', '-exec', 'xz', '-d', '{}', '+']);
  await must('find', [modules, '-name', '*.ko.zst', '-exec', 'zstd', '-q', '-d', '--rm', '{}', '+']);
  await must('find', [modules, '-name', '*.ko.gz', '-exec', 'gzip', '-d', '{}', '+']);
  await must('depmod', ['-b', staging, kernel.release]);
  writeFileSync(join(staging, '.complete'), `${kernel.package}\n`);
  renameSync(staging, dir);
  log(`kernel ${kernel.release} cached in ${dir}`);
  return kernel;
}
