/**
 * The lab's public API: `labUp`, `labDown`, `labStatus`, `labSsh`, `labExec`,
 * `labRequests`, and `labInstall` (packages and kernel only), `labExclusive`
 * (take turns). Each returns plain data and reports progress through `log`
 * (stderr by default); `lvsc lab ...` (cli/commands/lab.ts, which scripts/lab.ts
 * runs) only prints what they return.
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
import { DEFAULT_HOST_PORT, HOSTS, SEGMENTS, SERVICES, addressOf, sshAddress, type LabRole, type LabService } from './topology.js';
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
  /** The default route at boot; null for none (the router). */
  readonly gateway: string | null;
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
  /** The checkout the lab belongs to: `commands` are typed there. */
  readonly repo: string;
  readonly commands: LabCommands;
}

/**
 * lvsc's commands for this lab, as typed in the checkout (`repo`): the cluster
 * file names its key relative to it (`.lab/id_ed25519`), as ssh's `-i` would.
 */
export interface LabCommands {
  /** lvsc itself: the checkout's `node bin/lvsc.js` (`lvsc` once `npm link` has put it on the PATH). */
  readonly lvsc: string;
  /** Plan and apply the lab's cluster file, trusting the lab's host keys. */
  readonly plan: string;
  readonly apply: string;
  /** One request from the client through the DR VIP. */
  readonly request: string;
  /** The director's IPVS table. */
  readonly table: string;
  readonly demo: string;
  readonly down: string;
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
    gateway: h.gateway ?? null,
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

export function labCommands(paths: LabPaths, clusterFile: string): LabCommands {
  const rel = (path: string) => relative(paths.repo, path) || path;
  const lvsc = 'node bin/lvsc.js';
  const file = `${rel(clusterFile)} --known-hosts ${rel(paths.knownHosts)}`;
  return {
    lvsc,
    plan: `${lvsc} plan ${file}`,
    apply: `${lvsc} apply ${file}`,
    request: `${lvsc} lab ssh client -- curl -s http://${SERVICES.dr.vip}/`,
    table: `${lvsc} lab ssh lb1 -- ipvsadm -Ln`,
    demo: `${lvsc} lab demo`,
    down: `${lvsc} lab down`,
  };
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
    repo: paths.repo,
    commands: labCommands(paths, cluster.path),
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
        throw new Error(`the running lab boots ${prior.kernel}, not ${want}: stop it first (lvsc lab down)`);
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

/** The names `labSsh` and `labExec` take: every lab host and alias, and the jump host. */
export function labSshNames(): string[] {
  return [...HOSTS.flatMap((h) => [h.name, ...h.aliases]), JUMP];
}

/** The ssh arguments that reach `host` (a lab host name, alias, or `jump`); throws for other names. */
function sshArgs(paths: LabPaths, host: string): string[] {
  if (!labSshNames().includes(host)) throw new Error(`no lab host ${host}: one of ${labSshNames().join(', ')}`);
  if (!existsSync(paths.sshConfig)) throw new Error(`${paths.sshConfig} does not exist: boot the lab first (lvsc lab up)`);
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

/** Where `labSsh` sends a command's output as it comes, instead of this process's stdout and stderr. */
export interface SshOutput {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/**
 * Opens a terminal on a lab host, or runs `command` there, on this process's
 * stdio (or with its output streamed to `opts.output`, and no input when
 * `opts.stdin` is false); resolves with ssh's exit code.
 */
export function labSsh(host: string, command: readonly string[] = [], opts: LabOptions & { readonly output?: SshOutput; readonly stdin?: boolean } = {}): Promise<number> {
  const paths = labPaths(opts.repo);
  const args = [...sshArgs(paths, host), ...command];
  const { output } = opts;
  return new Promise((resolve, reject) => {
    const stdin = opts.stdin === false ? 'ignore' : 'inherit';
    const child = spawn('ssh', args, { stdio: output ? [stdin, 'pipe', 'pipe'] : [stdin, 'inherit', 'inherit'] });
    if (output) {
      child.stdout?.setEncoding('utf8').on('data', (text: string) => output.stdout.write(text));
      child.stderr?.setEncoding('utf8').on('data', (text: string) => output.stderr.write(text));
    }
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** What answered the requests sent through one service's VIP. */
export interface LabRequests {
  readonly service: LabService;
  /** Per request, in order: the lab host whose page answered (`web1`), or undefined when nothing answered within 5 s. */
  readonly servers: readonly (string | undefined)[];
}

/**
 * Sends `count` HTTP requests from the client host through each service's VIP
 * (curl, one after another, in one SSH session) and says which real server
 * answered each: every real server serves the page `NAME port PORT`.
 */
export async function labRequests(count: number, opts: LabOptions = {}): Promise<LabRequests[]> {
  const services = Object.values(SERVICES);
  const targets = services.map((s) => `${s.vip}:${s.port}`);
  const script = `for t in ${targets.join(' ')}; do for i in $(seq ${count}); do if page=$(curl -s --max-time 5 "http://$t/"); then echo "$t $page"; else echo "$t"; fi; done; done`;
  const r = await labExec('client', script, { ...opts, timeoutMs: 60_000 + services.length * count * 5_000 });
  if (r.code !== 0) throw new Error(`requests from the client failed (exit ${r.code}): ${r.stderr.trim()}`);
  const lines = r.stdout.split('\n').filter(Boolean);
  return services.map((service, i) => ({
    service,
    servers: lines
      .filter((l) => l.split(' ')[0] === targets[i])
      .map((l) => /^\S+ (\S+) port \d+$/.exec(l)?.[1] ?? (l.includes(' ') ? l.slice(l.indexOf(' ') + 1) : undefined)),
  }));
}

/** The lab's segments, for views (the CLI's `status`, the README table). */
export function labSegments(): readonly { name: string; network: string; jump: string }[] {
  return SEGMENTS.map((s) => ({ name: s.name, network: s.network, jump: addressOf(s.jumpAddress) }));
}
