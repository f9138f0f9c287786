/**
 * The lab's public API: `labUp`, `labDown`, `labStatus`, `labSsh`, `labExec`,
 * and `labInstall` (packages and kernel only), `labExclusive` (take turns).
 * Each returns plain data and reports progress through `log` (stderr by
 * default); lab/cli.ts and, later, `lvsc lab ...` only print what they get.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { relative } from 'node:path';
import { shellQuote } from '../compiler/command.js';
import { writeClusterFile } from './cluster-file.js';
import { buildInitramfs } from './initramfs.js';
import { ensureKernel, ensurePackages, pickKernel, type Log } from './install.js';
import { JUMP, ensureKeys, writeSshClientFiles } from './keys.js';
import { labPaths, type LabPaths } from './paths.js';
import { alive, run, type RunResult } from './proc.js';
import { DEFAULT_HOST_PORT, HOSTS, SEGMENTS, SERVICES, addressOf, labHost, sshAddress, type LabRole } from './topology.js';
import { choosePort, ourQemuPid, readState, sshBanner, startQemu, stopQemu, waitReady, writeState, type LabState } from './vm.js';

export interface LabOptions {
  /** The repository whose `.lab/` and examples/lab.lvs to use (default: this checkout). */
  readonly repo?: string;
  /** Progress lines (default: stderr, prefixed `lab: `). */
  readonly log?: Log;
  /** Kernel to boot: `newest`, a series (`6.12`), a release or a package name; default LVSC_LAB_KERNEL, else Debian's default cloud kernel. */
  readonly kernel?: string;
  /** Loopback port for the jump host when it is free (default 2222). */
  readonly port?: number;
  /** How long to wait for the guest to be ready (default 120 s). */
  readonly bootTimeoutMs?: number;
}

export interface LabHostInfo {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly role: LabRole;
  /** What `ssh -F .lab/ssh_config NAME` connects to (through the jump host). */
  readonly sshAddress: string;
  readonly interfaces: readonly { readonly dev: string; readonly cidr: string; readonly segment: string }[];
  readonly gateway: string | undefined;
}

export interface LabUp {
  /** True when a lab that was already running was reused. */
  readonly reused: boolean;
  readonly pid: number;
  readonly port: number;
  readonly kernel: string;
  /** Milliseconds from starting qemu to the jump sshd answering (of the boot that started this lab). */
  readonly bootMs: number;
  /** Packages apt installed on this run. */
  readonly installed: readonly string[];
  readonly sshConfig: string;
  readonly knownHosts: string;
  readonly userKey: string;
  /** The cluster file for this lab: examples/lab.lvs, or `.lab/lab.lvs` when the lab took another port than 2222. */
  readonly clusterFile: string;
  /** Whether that file was (re)written on this run. */
  readonly clusterFileWritten: boolean;
  readonly hosts: readonly LabHostInfo[];
  /** Commands worth trying next, relative to the working directory. */
  readonly next: readonly string[];
}

export interface LabStatus {
  readonly up: boolean;
  readonly pid?: number;
  readonly port?: number;
  readonly kernel?: string;
  readonly startedAt?: string;
  readonly uptimeSeconds?: number;
  readonly bootMs?: number;
  /** Whether the jump sshd answered on the port just now. */
  readonly sshAnswers?: boolean;
}

const defaultLog: Log = (line) => process.stderr.write(`lab: ${line}\n`);

function setup(opts: LabOptions): { paths: LabPaths; log: Log } {
  const paths = labPaths(opts.repo);
  mkdirSync(paths.work, { recursive: true });
  return { paths, log: opts.log ?? defaultLog };
}

export function labHosts(): LabHostInfo[] {
  return HOSTS.map((h) => ({
    name: h.name,
    aliases: h.aliases,
    role: h.role,
    sshAddress: sshAddress(h),
    interfaces: h.interfaces.map((i) => ({ dev: i.dev, cidr: i.cidr, segment: i.segment })),
    gateway: h.gateway,
  }));
}

/**
 * Takes a lock file holding this process's PID, waiting while a live process
 * holds it (a dead holder's lock is taken over); resolves with its release.
 */
async function acquireLock(path: string, log: Log, what: string): Promise<() => void> {
  const deadline = Date.now() + 30 * 60_000;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number(readFileSync(path, 'utf8').trim());
      } catch {
        continue; // released between our open and our read
      }
      if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${path} has been held by process ${holder} for 30 minutes`);
      if (!told) log(`waiting for process ${holder} (${what})`);
      told = true;
      await sleep(500);
    }
  }
}

/** Runs `fn` holding `.lab/lock`, so two `lab up`/`lab down` never race. */
async function locked<T>(paths: LabPaths, log: Log, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(paths.lock, log, 'another lab up or down');
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * Exclusive use of the lab's hosts, for runs that change them by hand (the
 * smoke test, the captures): waits for the current holder; resolves with the
 * release. Takes `.lab/use.lock`; lab up and down stay possible meanwhile.
 */
export async function labExclusive(opts: LabOptions = {}): Promise<() => void> {
  const { paths, log } = setup(opts);
  return acquireLock(paths.useLock, log, 'another run that changes the lab hosts');
}

function nextSteps(paths: LabPaths, clusterFile: string): string[] {
  const cfg = relative(process.cwd(), paths.sshConfig) || paths.sshConfig;
  const file = relative(process.cwd(), clusterFile) || clusterFile;
  const dr = SERVICES.dr;
  const kh = relative(process.cwd(), paths.knownHosts) || paths.knownHosts;
  return [
    `node bin/lvsc.js plan ${file} --known-hosts ${kh}             # (or lvsc ..., after npm link)`,
    `node bin/lvsc.js apply ${file} --known-hosts ${kh} --yes`,
    `npm run lab -- ssh client -- curl -s http://${dr.vip}/    # through the DR VIP once applied`,
    `ssh -F ${cfg} lb1 ipvsadm -Ln`,
  ];
}

function upResult(paths: LabPaths, state: LabState, reused: boolean, installed: string[]): LabUp {
  const cluster = writeClusterFile(paths, state.port);
  return {
    reused,
    pid: state.pid,
    port: state.port,
    kernel: state.kernel,
    bootMs: state.bootMs,
    installed,
    sshConfig: paths.sshConfig,
    knownHosts: paths.knownHosts,
    userKey: paths.userKey,
    clusterFile: cluster.path,
    clusterFileWritten: cluster.written,
    hosts: labHosts(),
    next: nextSteps(paths, cluster.path),
  };
}

/**
 * Boots the lab, or reuses the one running: installs what is missing, fetches
 * the kernel, builds the initramfs, boots qemu and waits for every host's sshd.
 */
export async function labUp(opts: LabOptions = {}): Promise<LabUp> {
  const { paths, log } = setup(opts);
  return locked(paths, log, async () => {
    const running = ourQemuPid(paths);
    const prior = readState(paths);
    const want = opts.kernel ?? process.env.LVSC_LAB_KERNEL;
    if (running && prior?.pid === running) {
      if (want && want !== 'newest' && !pickKernel([`linux-image-${prior.kernel}`], want)) {
        throw new Error(`the running lab boots ${prior.kernel}, not ${want}: run lab down first`);
      }
      if (await sshBanner(prior.port)) {
        log(`reusing the running lab (qemu pid ${running}, port ${prior.port})`);
        await ensureKeys(paths);
        writeSshClientFiles(paths, prior.port);
        return upResult(paths, prior, true, []);
      }
      log(`qemu ${running} runs but its jump sshd does not answer: restarting it`);
    }
    if (running) await stopQemu(paths);

    const installed = await ensurePackages(paths, log);
    const kernel = await ensureKernel(paths, log, want);
    await ensureKeys(paths);
    const built = Date.now();
    const initramfs = await buildInitramfs(paths, kernel);
    log(`initramfs: ${(initramfs.bytes / 2 ** 20).toFixed(1)} MiB, ${initramfs.modules} kernel modules, built in ${((Date.now() - built) / 1000).toFixed(1)} s`);

    const port = await choosePort(opts.port ?? DEFAULT_HOST_PORT);
    if (port !== (opts.port ?? DEFAULT_HOST_PORT)) log(`port ${opts.port ?? DEFAULT_HOST_PORT} is taken: the jump host gets ${port} (cluster file: .lab/lab.lvs)`);
    writeSshClientFiles(paths, port);
    log(`booting ${kernel.release} (qemu TCG, 1 CPU, 1 GiB), jump host on 127.0.0.1:${port}`);
    const started = Date.now();
    const pid = await startQemu(paths, kernel, port);
    let ready: string;
    try {
      ready = await waitReady(paths, pid, port, opts.bootTimeoutMs ?? 120_000);
    } catch (e) {
      await stopQemu(paths);
      throw e;
    }
    const state: LabState = { pid, port, kernel: kernel.release, startedAt: new Date(started).toISOString(), bootMs: Date.now() - started };
    writeState(paths, state);
    log(`ready in ${(state.bootMs / 1000).toFixed(1)} s: ${ready}`);
    return upResult(paths, state, false, installed);
  });
}

/**
 * What `lab up` needs before it can boot, without booting: the packages (apt,
 * as root) and the kernel, cached in `.lab/`. For a CI host's root setup step,
 * so that the tests can then boot the lab without root.
 */
export async function labInstall(opts: LabOptions = {}): Promise<{ readonly installed: readonly string[]; readonly kernel: string }> {
  const { paths, log } = setup(opts);
  return locked(paths, log, async () => {
    const installed = await ensurePackages(paths, log);
    const kernel = await ensureKernel(paths, log, opts.kernel ?? process.env.LVSC_LAB_KERNEL);
    return { installed, kernel: kernel.release };
  });
}

/** Stops the lab's qemu (only the process in `.lab/qemu.pid`, and only if it is this lab's qemu). */
export async function labDown(opts: LabOptions = {}): Promise<{ readonly stopped: number | undefined }> {
  const { paths, log } = setup(opts);
  return locked(paths, log, async () => {
    const stopped = await stopQemu(paths);
    log(stopped ? `stopped qemu ${stopped}` : 'the lab was not running');
    return { stopped };
  });
}

export async function labStatus(opts: LabOptions = {}): Promise<LabStatus> {
  const paths = labPaths(opts.repo);
  const pid = ourQemuPid(paths);
  const state = readState(paths);
  if (!pid) return { up: false };
  if (!state || state.pid !== pid) return { up: true, pid };
  return {
    up: true,
    pid,
    port: state.port,
    kernel: state.kernel,
    startedAt: state.startedAt,
    uptimeSeconds: Math.round((Date.now() - Date.parse(state.startedAt)) / 1000),
    bootMs: state.bootMs,
    sshAnswers: (await sshBanner(state.port)) !== undefined,
  };
}

/** The ssh arguments that reach `host` (a lab host name, alias, or `jump`); throws for other names. */
function sshArgs(paths: LabPaths, host: string): string[] {
  if (host !== JUMP && !labHost(host)) {
    throw new Error(`no lab host ${host}: one of ${[JUMP, ...HOSTS.flatMap((h) => [h.name, ...h.aliases])].join(', ')}`);
  }
  if (!existsSync(paths.sshConfig)) throw new Error(`${paths.sshConfig} does not exist: run lab up first`);
  return ['-F', paths.sshConfig, '--', host];
}

/** A command for the remote shell: a string as written, an argv quoted word by word. */
function remoteLine(command: string | readonly string[]): string {
  return typeof command === 'string' ? command : command.map(shellQuote).join(' ');
}

export interface ExecOptions extends LabOptions {
  readonly input?: string;
  /** Default 60 s. */
  readonly timeoutMs?: number;
}

/** Runs `command` on a lab host over OpenSSH (through the jump host) and returns its exit code and output. */
export async function labExec(host: string, command: string | readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
  const paths = labPaths(opts.repo);
  return run('ssh', [...sshArgs(paths, host), remoteLine(command)], { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
}

/** Opens a terminal on a lab host, or runs `command` there, on this process's stdio; resolves with ssh's exit code. */
export function labSsh(host: string, command: readonly string[] = [], opts: LabOptions = {}): Promise<number> {
  const paths = labPaths(opts.repo);
  const args = [...sshArgs(paths, host), ...command];
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The lab's segments, for views (the CLI's `status`, the README table). */
export function labSegments(): readonly { name: string; network: string; jump: string }[] {
  return SEGMENTS.map((s) => ({ name: s.name, network: s.network, jump: addressOf(s.jumpAddress) }));
}
