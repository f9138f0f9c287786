/**
 * The qemu process: boot it in the background, know whether the one in
 * `.lab/qemu.pid` is still ours, wait for the guest's ready marker, stop it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kernel } from './install.js';
import type { LabPaths } from './paths.js';
import { must, tail } from './proc.js';
import { GUEST_JUMP_PORT } from './topology.js';

export const READY_MARKER = 'LVSC-LAB-READY';
export const FAILED_MARKER = 'LVSC-LAB-FAILED';

/** What `lab up` records next to the PID file. */
export interface LabState {
  readonly pid: number;
  readonly port: number;
  readonly kernel: string;
  /** ISO time qemu was started. */
  readonly startedAt: string;
  /** Milliseconds from starting qemu to the jump sshd answering. */
  readonly bootMs: number;
}

export function qemuArgs(paths: LabPaths, kernel: Kernel, port: number): string[] {
  return [
    '-name', 'lvsc-lab',
    '-accel', 'tcg',
    '-m', '1024',
    '-smp', '1',
    '-kernel', kernel.vmlinuz,
    '-initrd', paths.initramfs,
    // cryptomgr.notests: the crypto self-tests cost about a tenth of the boot's CPU under TCG.
    '-append', 'console=ttyS0 quiet panic=-1 cryptomgr.notests',
    '-display', 'none',
    '-serial', `file:${paths.serialLog}`,
    '-no-reboot',
    '-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:${GUEST_JUMP_PORT}`,
    '-device', 'virtio-net-pci,netdev=n0',
    // Seeds the guest's random pool at once; without it sshd waits seconds for entropy under TCG.
    '-device', 'virtio-rng-pci',
    '-daemonize',
    '-pidfile', paths.pidFile,
  ];
}

/** The PID in `.lab/qemu.pid`, if that process is alive and really is the qemu this lab started. */
export function ourQemuPid(paths: LabPaths): number | undefined {
  let text: string;
  try {
    text = readFileSync(paths.pidFile, 'utf8');
  } catch (e) {
    // qemu removes its pidfile as it exits: gone between a check and a read is gone.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
  const isQemu = /(^|\/)qemu-system-x86_64$/.test(argv[0] ?? '');
  const pidfileAt = argv.indexOf('-pidfile');
  return isQemu && pidfileAt >= 0 && argv[pidfileAt + 1] === paths.pidFile ? pid : undefined;
}

export function readState(paths: LabPaths): LabState | undefined {
  try {
    return JSON.parse(readFileSync(paths.state, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function writeState(paths: LabPaths, state: LabState): void {
  writeFileSync(paths.state, JSON.stringify(state, null, 2) + '\n');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `preferred` when nothing listens on it, else a free port the kernel picks. */
export async function choosePort(preferred: number): Promise<number> {
  if (await portFree(preferred)) return preferred;
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** The SSH banner on 127.0.0.1:port, or undefined when nothing answers within `timeoutMs`. */
export function sshBanner(port: number, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let data = '';
    const sock = createConnection({ host: '127.0.0.1', port });
    const done = (v: string | undefined) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(undefined));
    sock.on('error', () => done(undefined));
    sock.on('data', (b: Buffer) => {
      data += b.toString('latin1');
      const nl = data.indexOf('\n');
      if (nl >= 0) done(data.startsWith('SSH-') ? data.slice(0, nl).trim() : undefined);
    });
    sock.on('end', () => done(undefined));
  });
}

function serialText(paths: LabPaths): string {
  try {
    return readFileSync(paths.serialLog, 'utf8');
  } catch {
    return '';
  }
}

export function serialTail(paths: LabPaths, lines = 30): string {
  return tail(serialText(paths), lines);
}

/** Starts qemu in the background; resolves with its PID once it has daemonised. */
export async function startQemu(paths: LabPaths, kernel: Kernel, port: number): Promise<number> {
  rmSync(paths.pidFile, { force: true });
  rmSync(paths.serialLog, { force: true });
  await must('qemu-system-x86_64', qemuArgs(paths, kernel, port), { timeoutMs: 60_000 });
  const pid = ourQemuPid(paths);
  if (!pid) throw new Error(`qemu daemonised but ${paths.pidFile} names no running qemu of this lab`);
  return pid;
}

/** Waits for the guest's ready marker and the jump sshd's banner; throws with the serial log's tail on failure or timeout. */
export async function waitReady(paths: LabPaths, pid: number, port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const serial = serialText(paths);
    if (serial.includes(FAILED_MARKER)) throw new Error(`the guest failed to boot; serial log (${paths.serialLog}) ends:\n${serialTail(paths)}`);
    const ready = serial.split('\n').find((l) => l.startsWith(READY_MARKER));
    if (ready && (await sshBanner(port))) return ready.trim();
    if (ourQemuPid(paths) !== pid) throw new Error(`qemu (pid ${pid}) exited during boot; serial log (${paths.serialLog}) ends:\n${serialTail(paths)}`);
    if (Date.now() > deadline) throw new Error(`the lab was not ready after ${Math.round(timeoutMs / 1000)} s; serial log (${paths.serialLog}) ends:\n${serialTail(paths)}`);
    await sleep(100);
  }
}

/** Sends a signal; a process that has exited meanwhile is no error. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** Stops our qemu (SIGTERM, then SIGKILL after 10 s). Returns the PID it stopped, if any. */
export async function stopQemu(paths: LabPaths): Promise<number | undefined> {
  const pid = ourQemuPid(paths);
  if (pid) {
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (ourQemuPid(paths) === pid && Date.now() < deadline) await sleep(100);
    if (ourQemuPid(paths) === pid) signal(pid, 'SIGKILL');
    while (ourQemuPid(paths) === pid) await sleep(50);
  }
  rmSync(paths.pidFile, { force: true });
  rmSync(paths.state, { force: true });
  return pid;
}
