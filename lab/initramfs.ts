/**
 * Assembles the guest's initramfs in `.lab/initramfs/` and archives it: the
 * machine's own Debian binaries (each with every library ldd lists, symlinks
 * kept as Debian has them), busybox for everything else, the kernel modules a
 * director and its real servers may load (decompressed, with kmod indexes so
 * modprobe and the kernel's request_module work), and the lab's /etc.
 */
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMONS_LIB, GROUP, NSSWITCH, PASSWD, PROFILE, SHADOW, dnsmasqConf, documentRoot, healthFile, hostsFile, networkScript, webPage } from './guest-files.js';
import { GUEST_PACKAGES, type Kernel } from './install.js';
import { JUMP, hostKeyPath } from './keys.js';
import type { LabPaths } from './paths.js';
import { must, runRaw } from './proc.js';
import { HOSTS } from './topology.js';

/** Programs outside the packages' bin directories (or put there by update-alternatives). */
const EXTRA_PROGRAMS = ['/usr/lib/openssh/sftp-server', '/usr/bin/awk'] as const;

/** busybox applets left out: `time` would exec busybox's own applets (its `ip`) before the real programs on PATH. */
const BUSYBOX_SKIP = new Set(['linuxrc', 'time']);

/** Data files those programs read, copied when the machine has them. */
const GUEST_DATA = ['/etc/iproute2', '/etc/protocols', '/etc/services', '/etc/os-release'] as const;

/** Loaded by rc.sh at boot: the NIC, the RNG (sshd waits for the kernel's random pool) and what the lab's network is made of. Everything else loads on demand. */
export const BOOT_MODULES = ['virtio_pci', 'virtio_net', 'virtio_rng', 'veth', 'bridge'] as const;

/** Without these (as modules or built in) the lab is not worth booting. */
const REQUIRED_MODULES = [...BOOT_MODULES, 'ip_vs', 'ip_vs_rr', 'ip_vs_wlc', 'ip_vs_ftp', 'ipip', 'nf_conntrack', 'nf_tables'] as const;

/** Shipped with their dependencies: every module under these trees (IPVS, netfilter, tunnels, bridge), and these. */
const MODULE_TREES = ['kernel/net/netfilter/', 'kernel/net/ipv4/', 'kernel/net/ipv6/', 'kernel/net/bridge/'] as const;
const MODULES_BY_NAME = ['virtio_pci', 'virtio_net', 'virtio_rng', 'veth', 'dummy'] as const;

const GUEST_SOURCES = fileURLToPath(new URL('./guest/', import.meta.url));

export function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** modules.dep as a map from module path to the paths it depends on. */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const l of text.split('\n')) {
    const colon = l.indexOf(':');
    if (colon < 0) continue;
    deps.set(l.slice(0, colon).trim(), l.slice(colon + 1).trim().split(/\s+/).filter(Boolean));
  }
  return deps;
}

/** The module paths to ship: the selection and everything it depends on. */
export function selectModules(deps: ReadonlyMap<string, readonly string[]>, trees: readonly string[], names: readonly string[]): string[] {
  const wanted = new Set(names);
  const chosen = new Set<string>();
  const add = (path: string) => {
    if (chosen.has(path)) return;
    chosen.add(path);
    for (const d of deps.get(path) ?? []) add(d);
  };
  for (const path of deps.keys()) if (trees.some((t) => path.startsWith(t)) || wanted.has(moduleName(path))) add(path);
  return [...chosen].sort();
}

class Tree {
  private readonly seen = new Set<string>();
  readonly executables: string[] = [];

  constructor(readonly root: string) {}

  at(path: string): string {
    return join(this.root, path);
  }

  write(path: string, text: string, mode = 0o644): void {
    mkdirSync(dirname(this.at(path)), { recursive: true });
    writeFileSync(this.at(path), text, { mode });
    chmodSync(this.at(path), mode);
  }

  /** Copies a file of the machine to the same path, keeping symlinks as symlinks (and copying their targets). */
  install(path: string): void {
    const src = join(realpathSync(dirname(path)), basename(path));
    if (this.seen.has(src)) return;
    this.seen.add(src);
    const st = lstatSync(src);
    const dest = this.at(src);
    mkdirSync(dirname(dest), { recursive: true });
    if (st.isSymbolicLink()) {
      const target = readlinkSync(src);
      symlinkSync(target, dest);
      this.install(resolve(dirname(src), target));
      return;
    }
    copyFileSync(src, dest);
    chmodSync(dest, st.mode & 0o7777);
    if (st.mode & 0o111) this.executables.push(src);
  }
}

/** What an executable needs at run time: its #! interpreter, or the libraries ldd lists. */
async function runtimeNeeds(path: string): Promise<string[]> {
  const head = readFileSync(path).subarray(0, 256).toString('latin1');
  if (head.startsWith('#!')) return [head.slice(2).split('\n')[0].trim().split(/\s+/)[0]];
  if (!head.startsWith('\x7fELF')) return [];
  const r = await runRaw('ldd', [path]);
  const text = r.stdout.toString('utf8');
  if (r.code !== 0) return []; // "not a dynamic executable": static, needs nothing
  if (/not found/.test(text)) throw new Error(`ldd ${path}: a library is missing:\n${text}`);
  return [...text.matchAll(/(\/\S+)\s+\(0x/g)].map((m) => m[1]);
}

/** Every program the guest packages put in a bin or sbin directory. */
async function packagePrograms(): Promise<string[]> {
  const listed = (await must('dpkg', ['-L', ...GUEST_PACKAGES])).split('\n');
  return listed.filter((p) => /^\/(usr\/)?s?bin\/[^/]+$/.test(p) && exists(p) && !lstatSync(p).isDirectory());
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function installPrograms(tree: Tree): Promise<void> {
  for (const p of await packagePrograms()) tree.install(p);
  for (const p of EXTRA_PROGRAMS) {
    if (!existsSync(p)) throw new Error(`${p} is missing on this machine (its package should have been installed)`);
    tree.install(p);
  }
  // Libraries and interpreters of everything installed so far, until nothing new turns up.
  for (let i = 0; i < tree.executables.length; i++) for (const need of await runtimeNeeds(tree.executables[i])) tree.install(need);
  for (const d of GUEST_DATA) if (existsSync(d)) cpSync(d, tree.at(d), { recursive: true, dereference: true });
}

/** busybox for every command the real programs above do not provide (httpd, nc, wget, vi ...). */
async function installBusybox(tree: Tree): Promise<void> {
  const busybox = realpathSync('/bin/busybox');
  copyFileSync(busybox, tree.at('/usr/bin/busybox'));
  chmodSync(tree.at('/usr/bin/busybox'), 0o755);
  const applets = (await must('/usr/bin/busybox', ['--list-full'])).split('\n').filter(Boolean);
  const provided = (name: string) => ['/usr/bin', '/usr/sbin'].some((d) => exists(tree.at(join(d, name))));
  for (const a of applets) {
    const name = basename(a);
    if (BUSYBOX_SKIP.has(name) || provided(name)) continue;
    const path = '/' + a.replace(/^(s?bin)\//, 'usr/$1/');
    mkdirSync(dirname(tree.at(path)), { recursive: true });
    symlinkSync('/usr/bin/busybox', tree.at(path));
  }
}

async function installModules(tree: Tree, kernel: Kernel): Promise<number> {
  const deps = parseModulesDep(readFileSync(join(kernel.modules, 'modules.dep'), 'utf8'));
  const builtin = new Set(readFileSync(join(kernel.modules, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map(moduleName));
  const chosen = selectModules(deps, MODULE_TREES, MODULES_BY_NAME);
  const shipped = new Set(chosen.map(moduleName));
  const absent = REQUIRED_MODULES.filter((m) => !shipped.has(m) && !builtin.has(m));
  if (absent.length) throw new Error(`kernel ${kernel.release} lacks ${absent.join(', ')}: pick another (LVSC_LAB_KERNEL)`);
  const dest = `/usr/lib/modules/${kernel.release}`;
  for (const path of chosen) {
    mkdirSync(dirname(tree.at(join(dest, path))), { recursive: true });
    copyFileSync(join(kernel.modules, path), tree.at(join(dest, path)));
  }
  for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
    if (existsSync(join(kernel.modules, f))) copyFileSync(join(kernel.modules, f), tree.at(join(dest, f)));
  }
  await must('depmod', ['-b', tree.root, kernel.release]);
  return chosen.length;
}

function installEtc(tree: Tree, paths: LabPaths): void {
  const guest = (name: string) => readFileSync(join(GUEST_SOURCES, name), 'utf8');
  tree.write('/etc/passwd', PASSWD);
  tree.write('/etc/group', GROUP);
  tree.write('/etc/shadow', SHADOW, 0o640);
  tree.write('/etc/nsswitch.conf', NSSWITCH);
  tree.write('/etc/hosts', hostsFile());
  tree.write('/etc/hostname', `${JUMP}\n`);
  tree.write('/etc/profile', PROFILE);
  tree.write('/etc/inittab', guest('inittab'));
  tree.write('/etc/ssh/sshd_config', guest('sshd_config'));
  tree.write('/etc/lab/rc.sh', guest('rc.sh'), 0o755);
  tree.write('/etc/lab/network.sh', networkScript());
  tree.write('/etc/lab/modules.boot', BOOT_MODULES.join('\n') + '\n');
  // How the hosts' daemons start and stop, for rc.sh and for tests (shared /usr: every host sees it).
  tree.write(DAEMONS_LIB, guest('daemons.sh'));
  // The jump host's key at the standard path; rc.sh gives every other host its own.
  tree.write('/etc/ssh/ssh_host_ed25519_key', readFileSync(hostKeyPath(paths, JUMP), 'utf8'), 0o600);
  tree.write('/etc/ssh/ssh_host_ed25519_key.pub', readFileSync(`${hostKeyPath(paths, JUMP)}.pub`, 'utf8'));
  tree.write('/root/.ssh/authorized_keys', readFileSync(`${paths.userKey}.pub`, 'utf8'), 0o600);
  // Where lvsc (or an operator) leaves persistent settings on a Debian host.
  for (const d of ['/etc/sysctl.d', '/etc/modules-load.d', '/etc/network', '/etc/default', '/etc/keepalived', '/var/log', '/var/lib', '/var/empty', '/srv/www', '/tmp', '/mnt']) mkdirSync(tree.at(d), { recursive: true });
  chmodSync(tree.at('/tmp'), 0o1777);
  symlinkSync('/run', tree.at('/var/run'));
  symlinkSync('/run/lock', tree.at('/var/lock'));
}

/** `/hosts/NAME/` (rc.sh binds its etc, root, run, tmp and var over the host's own in its mount namespace): a copy of /etc, /root and /var with the host's own name and host key (and its dnsmasq.conf), a /run with Debian's /run/lock, a /tmp; and its web and health pages. */
function installHostTrees(tree: Tree, paths: LabPaths): void {
  for (const h of HOSTS) {
    const base = `/hosts/${h.name}`;
    for (const d of ['etc', 'root', 'var']) {
      cpSync(tree.at(`/${d}`), tree.at(`${base}/${d}`), { recursive: true, verbatimSymlinks: true, filter: (src) => src !== tree.at('/etc/lab') });
    }
    tree.write(`${base}/etc/hostname`, `${h.name}\n`);
    tree.write(`${base}/etc/ssh/ssh_host_ed25519_key`, readFileSync(hostKeyPath(paths, h.name), 'utf8'), 0o600);
    tree.write(`${base}/etc/ssh/ssh_host_ed25519_key.pub`, readFileSync(`${hostKeyPath(paths, h.name)}.pub`, 'utf8'));
    for (const port of h.http) {
      tree.write(`${documentRoot(h.name, port)}/index.html`, webPage(h.name, port));
      const health = healthFile(h.name, port);
      tree.write(health.path, health.text);
    }
    if (h.dns) tree.write(`${base}/etc/dnsmasq.conf`, dnsmasqConf(h));
    mkdirSync(tree.at(`${base}/run/sshd`), { recursive: true });
    mkdirSync(tree.at(`${base}/run/lock`), { recursive: true });
    chmodSync(tree.at(`${base}/run/lock`), 0o1777);
    mkdirSync(tree.at(`${base}/tmp`), { recursive: true });
    chmodSync(tree.at(`${base}/tmp`), 0o1777);
  }
}

export interface Initramfs {
  readonly path: string;
  readonly bytes: number;
  readonly modules: number;
}

/** Builds `.lab/initramfs/` from scratch and archives it (uncompressed newc: TCG would spend seconds inflating it). */
export async function buildInitramfs(paths: LabPaths, kernel: Kernel): Promise<Initramfs> {
  rmSync(paths.initramfsRoot, { recursive: true, force: true });
  const tree = new Tree(paths.initramfsRoot);
  // Debian's merged /usr.
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'proc', 'sys', 'dev', 'run', 'etc', 'root', 'var']) mkdirSync(tree.at(d), { recursive: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, tree.at(d));
  chmodSync(tree.at('root'), 0o700);

  await installPrograms(tree);
  await installBusybox(tree);
  const modules = await installModules(tree, kernel);
  installEtc(tree, paths);
  installHostTrees(tree, paths);
  symlinkSync('/usr/bin/busybox', tree.at('/init'));

  const files = await must('find', ['.', '-mindepth', '1'], { cwd: tree.root });
  const cpio = await runRaw('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--quiet'], { cwd: tree.root, input: files });
  if (cpio.code !== 0) throw new Error(`cpio failed: ${cpio.stderr.toString('utf8')}`);
  // The kernel opens /dev/console for init before rc.sh mounts devtmpfs. A second,
  // concatenated archive carries the device node, so no mknod (and no root) is needed.
  const archive = Buffer.concat([cpio.stdout, newcArchive([{ name: 'dev/console', mode: 0o020600, rdev: [5, 1] }])]);
  writeFileSync(paths.initramfs, archive);
  return { path: paths.initramfs, bytes: archive.length, modules };
}

export interface NewcEntry {
  readonly name: string;
  /** File type and permission bits (`0o020600` is a character device, rw-------). */
  readonly mode: number;
  readonly rdev?: readonly [number, number];
  readonly data?: Buffer;
}

/** A cpio archive in the kernel's "newc" format (entries owned by root), ending with its trailer. */
export function newcArchive(entries: readonly NewcEntry[]): Buffer {
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const parts: Buffer[] = [];
  [...entries, { name: 'TRAILER!!!', mode: 0 }].forEach((e, i) => {
    const data = e.data ?? Buffer.alloc(0);
    const [major, minor] = e.rdev ?? [0, 0];
    const fields = [i + 1, e.mode, 0, 0, 1, 0, data.length, 0, 0, major, minor, Buffer.byteLength(e.name) + 1, 0];
    const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('') + e.name + '\0', 'latin1');
    parts.push(header, pad(header.length), data, pad(data.length));
  });
  return Buffer.concat(parts);
}
