/**
 * The lab's build decisions that need no VM: which kernel apt's list resolves
 * to, which modules the initramfs ships, how qemu is confined, which port and
 * which process `lab up` and `lab down` take.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labStatus } from './lab.js';
import { moduleName, newcArchive, parseModulesDep, selectModules } from './initramfs.js';
import { run } from './proc.js';
import { missingPackages, newestFirst, pickKernel } from './install.js';
import { labPaths } from './paths.js';
import { choosePort, qemuArgs } from './vm.js';
import { assertPrograms } from '../test/support/host.js';

// What `apt-cache search --names-only '^linux-image-.*-cloud-amd64$'` lists on bookworm (abridged).
const APT = [
  'linux-image-6.1.0-9-cloud-amd64',
  'linux-image-6.1.0-56-cloud-amd64',
  'linux-image-6.1.0-47-cloud-amd64',
  'linux-image-6.12-cloud-amd64',
  'linux-image-6.12.115+deb12-cloud-amd64',
  'linux-image-6.12.117+deb12-cloud-amd64',
  'linux-image-cloud-amd64',
];

test('pickKernel: the newest overall, of a series, or exactly the one named; meta-packages never', (t) => {
  t.is(pickKernel(APT), '6.12.117+deb12');
  t.is(pickKernel(APT, '6.1'), '6.1.0-56');
  t.is(pickKernel(APT, '6.12'), '6.12.117+deb12');
  t.is(pickKernel(APT, 'linux-image-6.1.0-47-cloud-amd64'), '6.1.0-47');
  t.is(pickKernel(APT, '6.12.115+deb12'), '6.12.115+deb12');
  t.is(pickKernel(APT, '5.10'), undefined);
  t.is(pickKernel(['linux-image-6.12-cloud-amd64', 'linux-image-cloud-amd64']), undefined);
});

test('missingPackages names what dpkg does not report installed', async (t) => {
  t.deepEqual(await missingPackages(['bash', 'lvsc-no-such-package']), ['lvsc-no-such-package']);
});

test('newestFirst compares release numbers as numbers', (t) => {
  t.deepEqual(newestFirst(['6.1.0-9', '6.1.0-56', '6.12.115+deb12', '6.12.117+deb12', '6.1.0-10']), ['6.12.117+deb12', '6.12.115+deb12', '6.1.0-56', '6.1.0-10', '6.1.0-9']);
});

const DEP = `kernel/net/netfilter/ipvs/ip_vs_rr.ko: kernel/net/netfilter/ipvs/ip_vs.ko kernel/net/netfilter/nf_conntrack.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/nf_conntrack.ko: kernel/lib/libcrc32c.ko
kernel/lib/libcrc32c.ko:
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko
kernel/drivers/net/net_failover.ko:
kernel/drivers/net/wireguard/wireguard.ko:
kernel/drivers/char/hw_random/virtio-rng.ko:
`;

test('selectModules ships the trees and the named modules with every dependency, and nothing else', (t) => {
  const deps = parseModulesDep(DEP);
  t.deepEqual(selectModules(deps, ['kernel/net/netfilter/ipvs/'], ['virtio_net', 'virtio_rng']), [
    'kernel/drivers/char/hw_random/virtio-rng.ko',
    'kernel/drivers/net/net_failover.ko',
    'kernel/drivers/net/virtio_net.ko',
    'kernel/lib/libcrc32c.ko',
    'kernel/net/netfilter/ipvs/ip_vs.ko',
    'kernel/net/netfilter/ipvs/ip_vs_rr.ko',
    'kernel/net/netfilter/nf_conntrack.ko',
  ]);
});

test('moduleName: file names with dashes and compression suffixes name the module', (t) => {
  t.is(moduleName('kernel/drivers/char/hw_random/virtio-rng.ko'), 'virtio_rng');
  t.is(moduleName('kernel/net/netfilter/ipvs/ip_vs_wlc.ko.xz'), 'ip_vs_wlc');
  t.is(moduleName('kernel/net/ipv4/ipip.ko.zst'), 'ipip');
});

test('qemu: TCG, one CPU, 1 GiB, user networking with restrict=on and only a loopback port forwarded', (t) => {
  const paths = labPaths('/repo');
  const args = qemuArgs(paths, { release: 'r', package: 'p', dir: '/k', vmlinuz: '/k/vmlinuz', modules: '/k/m' }, 2345);
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  t.is(after('-accel'), 'tcg');
  t.is(after('-smp'), '1');
  t.is(after('-m'), '1024');
  t.is(after('-netdev'), 'user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:2345-:22');
  t.is(after('-pidfile'), '/repo/.lab/qemu.pid');
  t.true(args.includes('-daemonize'));
});

test('choosePort keeps a free port and replaces a taken one', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const taken = (server.address() as { port: number }).port;
  try {
    const other = await choosePort(taken);
    t.not(other, taken);
    t.true(other > 0);
  } finally {
    server.close();
  }
  t.is(await choosePort(taken), taken);
});

test('lab down and status leave alone a process in qemu.pid that is not the lab\'s qemu', async (t) => {
  const repo = mkdtempSync(join(tmpdir(), 'lvsc-lab-'));
  try {
    mkdirSync(join(repo, '.lab'));
    // This very process: alive, but not qemu started with this lab's -pidfile.
    writeFileSync(join(repo, '.lab', 'qemu.pid'), `${process.pid}\n`);
    t.deepEqual(await labStatus({ repo }), { up: false });
    t.deepEqual(await labDown({ repo, log: () => {} }), { stopped: undefined });
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});

test('newcArchive writes a cpio archive that GNU cpio reads back: a device node and a file, owned by root', async (t) => {
  assertPrograms('reading the archive back', ['cpio']);
  const archive = newcArchive([
    { name: 'dev/console', mode: 0o020600, rdev: [5, 1] },
    { name: 'etc/motd', mode: 0o100644, data: Buffer.from('lab\n') },
  ]);
  const listed = await run('cpio', ['-itv', '--quiet'], { input: archive });
  t.is(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' ').replace(/ Jan 1 1970/, ''));
  t.deepEqual(rows, ['crw------- 1 root root 5, 1 dev/console', '-rw-r--r-- 1 root root 4 etc/motd']);
  const extracted = await run('cpio', ['-i', '--quiet', '--to-stdout', 'etc/motd'], { input: archive });
  t.is(extracted.stdout, 'lab\n');
});
