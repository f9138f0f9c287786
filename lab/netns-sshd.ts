/**
 * A lab of real SSH servers for tests and the bench: each host is a network namespace with
 * its own OpenSSH sshd, host key and addresses, wired to test networks by veth
 * pairs and bridges (the bridges live in a "switch" namespace of the lab).
 * The test process reaches the hosts on the first network, `lan`, through a
 * veth leg in the root namespace with an address in 10.251.<n>.0/24 that the
 * lab allocates (and checks nothing else uses). Other networks exist only
 * between namespaces (192.168.<200+i>.0/24), so a host only on them is
 * reachable only through a jump host.
 *
 * Namespaces share the file system, so each host's sshd gets a private tmpfs
 * on /run, as a Debian host has it (/run/sshd, and /run/lock mode 1777), and
 * on any `privateDirs`, in a mount namespace of its own;
 * `execIn` enters it. `stop()` ends exactly the processes the lab started
 * (its sshds by PID, then whatever runs inside its own namespaces) and
 * deletes what it created. Needs root, `ip netns`, OpenSSH and the test users
 * (scripts/setup-test-host.sh installs them).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshEndpoint, SshOptions } from '../agent/transport/ssh.js';
import { alive } from './proc.js';

export interface LabHostSpec {
  name: string;
  /** Networks the host is on; default `['lan']`. Only `lan` is reachable from the test process. */
  networks?: string[];
  /** sshd port; default 22. */
  port?: number;
  /**
   * sshd's ClientAliveInterval (seconds); default 2, so that a vanished client of a quiet
   * session is noticed soon. 0 is OpenSSH's own default: no probes at all.
   */
  clientAliveInterval?: number;
}

export interface LabSpec {
  hosts: LabHostSpec[];
  /** Directories that get a private, empty tmpfs on every host (besides /run). They must exist. */
  privateDirs?: string[];
}

export interface LabHost {
  name: string;
  /** The network namespace. */
  ns: string;
  /** The host's address on its first network (on `lan`, the one the test process reaches). */
  address: string;
  /** Address per network. */
  addresses: Record<string, string>;
  port: number;
  /** `type base64` of the host's ed25519 host key (the one in the lab's known_hosts). */
  hostKeyPub: string;
  /** The host key's public file, for `ssh-keygen -lf`. */
  hostKeyPubFile: string;
  /** `type base64` of its second host key, ECDSA P-256, which sshd also offers (not in known_hosts). */
  ecdsaHostKeyPub: string;
  /** PID of the host's sshd (started by the lab). */
  sshdPid: number;
}

export const LAB_USERS = {
  /** Passwordless sudo. */
  sudo: 'lvsc-test',
  /** No sudo rights. */
  noSudo: 'lvsc-test-nosudo',
  /** sudo that asks for a password. */
  passwordSudo: 'lvsc-test-pw',
} as const;

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface Lab {
  /** Working directory: keys, configs, logs. Removed by `stop()`. */
  dir: string;
  hosts: LabHost[];
  host(name: string): LabHost;
  /** The test process's address on `lan`. */
  rootAddress: string;
  /** Every host's key for every address it has (`[addr]:port` form off port 22). */
  knownHostsFile: string;
  /** The same entries hashed by `ssh-keygen -H`. */
  hashedKnownHostsFile: string;
  /** Unencrypted ed25519 user key, authorized for root and the LAB_USERS. */
  keyFile: string;
  userKeyPub: string;
  /** The same users also accept this key, encrypted with `passphrase`. */
  encryptedKeyFile: string;
  passphrase: string;
  /** An empty home directory (no ~/.ssh): pass as `SshOptions.homeDir` to keep the tests off the real one. */
  homeDir: string;
  /** An endpoint for a host: its `lan` address (or first network's), the sudo user, the key file. */
  endpoint(name: string, overrides?: Partial<SshEndpoint>): SshEndpoint;
  /** SSH options isolated from the machine's: the lab's known_hosts, empty home, no agent. */
  sshOptions(overrides?: SshOptions): SshOptions;
  /** The host dies: its links go down and its sshd is killed; open sessions hang like on a dead machine. */
  takeDown(name: string): Promise<void>;
  /** Kills the host's SSH sessions (not its listening sshd): clients see their connection close. */
  killSessions(name: string): Promise<void>;
  /**
   * The test process vanishes from the lab's network: its leg on `lan` goes
   * down, so nothing it sends arrives and nothing reaches it (no FIN, no RST:
   * a client whose machine died or lost its network). Each host's sshd notices
   * only by its keepalive (ClientAliveInterval 2, ClientAliveCountMax 2), and one
   * with `clientAliveInterval: 0` not before TCP gives up (tcp_retries2).
   * `reconnect()` brings the leg back.
   */
  vanish(): Promise<void>;
  reconnect(): Promise<void>;
  /** Runs in a host's namespaces (network, and the sshd's mounts while it runs). */
  exec(name: string, argv: string[], input?: string): Promise<ExecResult>;
  /** Starts argv as `exec` runs it and hands back the running process, its stdin open: one a test talks to while it runs. */
  start(name: string, argv: string[]): ChildProcessWithoutNullStreams;
  /**
   * `takeDown` and `killSessions` done before they return, synchronously: for a
   * test that interrupts a host between two of lvsc's own steps, from a progress
   * callback lvsc is waiting on (the host is gone before lvsc sends anything more).
   * The sshd is killed outright; `takeDownNow` leaves it to be reaped.
   */
  takeDownNow(name: string): void;
  killSessionsNow(name: string): void;
  /** `exec`, done before it returns (synchronously), for the same kind of callback. */
  execNow(name: string, argv: string[]): ExecResult;
  /**
   * CPU time (ms) the hosts' sshd have used so far, with every session, sudo and
   * command they reaped (`/proc/PID/stat` utime + stime + cutime + cstime): the
   * hosts' side of a run, whatever else the machine is doing.
   */
  hostCpuMs(): number;
  stop(): Promise<void>;
}

const REGISTRY = '/run/lvsc-test-lab';
const LAN = 'lan';
let labCount = 0;
/** Namespace → sshd PID, for `execIn` to enter the sshd's private mounts. */
const sshdByNs = new Map<string, number>();
/** Cleanups still owed, run synchronously if the process exits without `stop()`. */
const pendingCleanups = new Set<() => void>();
let exitHookInstalled = false;

/** Runs a program; never throws for a non-zero exit. */
export function execLocal(argv: string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code: code ?? 128 + (signal ? 9 : 0) });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

async function must(argv: string[], input?: string): Promise<string> {
  const result = await execLocal(argv, input);
  if (result.code !== 0) throw new Error(`lab: \`${argv.join(' ')}\` failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** Runs argv inside a namespace the lab created: its network, and its sshd's mounts while that sshd runs. */
export function execIn(ns: string, argv: string[], input?: string): Promise<ExecResult> {
  return execLocal(inNs(ns, argv), input);
}

/** argv run in a namespace the lab created: by its sshd's PID while that runs (its mounts too), else by name. */
function inNs(ns: string, argv: string[]): string[] {
  const pid = sshdByNs.get(ns);
  if (pid !== undefined && alive(pid)) return ['nsenter', `--target=${pid}`, '--mount', '--net', '--', ...argv];
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** Throws, saying what to do, when this machine cannot run a lab. */
export function assertLabPrerequisites(): void {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (the lab creates network namespaces)');
  for (const tool of ['/usr/sbin/sshd', 'ssh-keygen', 'ssh-agent', 'ssh-add', 'ip', 'nsenter', 'flock', 'sudo', 'pgrep']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(tool);
  }
  for (const user of Object.values(LAB_USERS)) {
    if (spawnSync('id', [user], { stdio: 'ignore' }).status !== 0) missing.push(`user ${user}`);
  }
  if (missing.length === 0) {
    const probe = `lvsct-probe-${process.pid}`;
    const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
    if (added.status !== 0) missing.push(`'ip netns add' (${added.stderr.trim()})`);
    else spawnSync('ip', ['netns', 'delete', probe]);
  }
  if (missing.length > 0) {
    throw new Error(`the SSH lab cannot run here; missing: ${missing.join(', ')}. Run scripts/setup-test-host.sh as root first.`);
  }
}

/** Claims a free 10.251.<n>.0/24 for the root leg, across concurrent test processes. */
function allocateSubnet(): number {
  mkdirSync(REGISTRY, { recursive: true, mode: 0o700 });
  const routes = spawnSync('ip', ['-4', '-o', 'route', 'show'], { encoding: 'utf8' }).stdout;
  const addresses = spawnSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout;
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
  const start = process.pid % 250;
  for (let i = 0; i < 250; i++) {
    const n = ((start + i) % 250) + 1;
    const prefix = `10.251.${n}.`;
    if (routes.includes(prefix) || addresses.includes(prefix) || new RegExp(`: lvsct${n}[@:]`).test(links)) continue;
    const claim = join(REGISTRY, `net-${n}`);
    try {
      const fd = openSync(claim, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return n;
    } catch {
      // Claimed by another run; a dead run's claim is free only if it left nothing behind (checked above).
      const owner = Number(readFileSync(claim, 'utf8').trim());
      if (!alive(owner)) {
        unlinkSync(claim);
        i--;
      }
    }
  }
  throw new Error('lab: no free 10.251.<n>.0/24 subnet for the test network');
}

export async function startLab(spec: LabSpec): Promise<Lab> {
  assertLabPrerequisites();
  const seq = ++labCount;
  const prefix = `lvsct-${process.pid}-${seq}`;
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-lab-'));
  // sshd reads authorized keys as the logging-in user: the lab directory must be traversable.
  chmodSync(dir, 0o755);
  const subnet = allocateSubnet();
  const rootLink = `lvsct${subnet}`;
  const switchNs = `${prefix}-sw`;
  const namespaces: string[] = [];
  const sshdPids: number[] = [];
  let stopped = false;

  const cleanupSync = (): void => {
    for (const pid of sshdPids) kill(pid);
    for (const ns of namespaces) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
      for (const pid of pids) kill(pid);
      spawnSync('ip', ['netns', 'delete', ns]);
      sshdByNs.delete(ns);
    }
    spawnSync('ip', ['link', 'delete', rootLink], { stdio: 'ignore' });
    rmSync(join(REGISTRY, `net-${subnet}`), { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  pendingCleanups.add(cleanupSync);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const cleanup of pendingCleanups) cleanup();
    });
  }

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Our sshds first (by PID), then anything still running in our namespaces (their sessions).
    await Promise.all(sshdPids.map((pid) => terminate(pid)));
    for (const ns of namespaces) {
      const pids = (await execLocal(['ip', 'netns', 'pids', ns])).stdout.split('\n').filter(Boolean).map(Number);
      await Promise.all(pids.map((pid) => terminate(pid)));
    }
    pendingCleanups.delete(cleanupSync);
    cleanupSync();
  };

  try {
    // Networks, in order of first mention; `lan` always exists and is the one the root namespace joins.
    const networks = [LAN];
    for (const host of spec.hosts) for (const net of host.networks ?? [LAN]) if (!networks.includes(net)) networks.push(net);
    const base = (net: string): string => (net === LAN ? `10.251.${subnet}` : `192.168.${200 + networks.indexOf(net)}`);

    await must(['ip', 'netns', 'add', switchNs]);
    namespaces.push(switchNs);
    await must(['ip', '-n', switchNs, 'link', 'set', 'lo', 'up']);
    for (let i = 0; i < networks.length; i++) {
      await must(['ip', '-n', switchNs, 'link', 'add', `br${i}`, 'type', 'bridge']);
      await must(['ip', '-n', switchNs, 'link', 'set', `br${i}`, 'up']);
    }
    await must(['ip', 'link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'root', 'netns', switchNs]);
    await must(['ip', '-n', switchNs, 'link', 'set', 'root', 'master', 'br0', 'up']);
    const rootAddress = `${base(LAN)}.1`;
    await must(['ip', 'addr', 'add', `${rootAddress}/24`, 'dev', rootLink]);
    await must(['ip', 'link', 'set', rootLink, 'up']);

    const keyFile = join(dir, 'id_ed25519');
    const encryptedKeyFile = join(dir, 'id_ed25519_encrypted');
    const passphrase = 'correct horse battery staple';
    await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'lvsc-lab', '-f', keyFile]);
    // Few KDF rounds (-a 2): decrypting takes milliseconds instead of a second per try.
    await must(['ssh-keygen', '-q', '-t', 'ed25519', '-a', '2', '-N', passphrase, '-C', 'lvsc-lab-encrypted', '-f', encryptedKeyFile]);
    const userKeyPub = readFileSync(`${keyFile}.pub`, 'utf8').trim();
    const authorized = `${userKeyPub}\n${readFileSync(`${encryptedKeyFile}.pub`, 'utf8').trim()}\n`;
    const authorizedDir = join(dir, 'authorized_keys');
    mkdirSync(authorizedDir, { mode: 0o755 });
    for (const user of ['root', ...Object.values(LAB_USERS)]) writeFileSync(join(authorizedDir, user), authorized, { mode: 0o644 });
    const homeDir = join(dir, 'home');
    mkdirSync(homeDir);

    const privateDirs = spec.privateDirs ?? [];
    for (const path of privateDirs) if (!existsSync(path)) throw new Error(`lab: private directory ${path} does not exist`);

    const hosts: LabHost[] = [];
    for (const [index, hostSpec] of spec.hosts.entries()) {
      const ns = `${prefix}-${hostSpec.name}`;
      const port = hostSpec.port ?? 22;
      const hostDir = join(dir, 'hosts', hostSpec.name);
      mkdirSync(hostDir, { recursive: true, mode: 0o755 });
      await must(['ip', 'netns', 'add', ns]);
      namespaces.push(ns);
      await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      const addresses: Record<string, string> = {};
      for (const [j, net] of (hostSpec.networks ?? [LAN]).entries()) {
        const peer = `h${index}n${j}`;
        await must(['ip', 'link', 'add', `eth${j}`, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', switchNs]);
        await must(['ip', '-n', switchNs, 'link', 'set', peer, 'master', `br${networks.indexOf(net)}`, 'up']);
        addresses[net] = `${base(net)}.${10 + index}`;
        await must(['ip', '-n', ns, 'addr', 'add', `${addresses[net]}/24`, 'dev', `eth${j}`]);
        await must(['ip', '-n', ns, 'link', 'set', `eth${j}`, 'up']);
      }

      const hostKey = join(hostDir, 'ssh_host_ed25519_key');
      await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `lvsc-lab-${hostSpec.name}`, '-f', hostKey]);
      const hostKeyPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
      const ecdsaHostKey = join(hostDir, 'ssh_host_ecdsa_key');
      await must(['ssh-keygen', '-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-C', `lvsc-lab-${hostSpec.name}`, '-f', ecdsaHostKey]);
      const ecdsaHostKeyPub = readFileSync(`${ecdsaHostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
      const pidFile = join(hostDir, 'sshd.pid');
      const config = join(hostDir, 'sshd_config');
      writeFileSync(
        config,
        [
          `Port ${port}`,
          'ListenAddress 0.0.0.0',
          `HostKey ${hostKey}`,
          `HostKey ${ecdsaHostKey}`,
          `PidFile ${pidFile}`,
          `AuthorizedKeysFile ${authorizedDir}/%u`,
          'StrictModes no',
          'UsePAM no',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PermitRootLogin prohibit-password',
          'AllowTcpForwarding yes',
          'UseDNS no',
          'PrintMotd no',
          'PrintLastLog no',
          'MaxSessions 20',
          'MaxStartups 50',
          'LoginGraceTime 20',
          // Notice a vanished client soon, where its session is quiet: OpenSSH probes only after this long with
          // nothing to do, so a session that writes (lvsc's lock holder) ends only when TCP gives up on it.
          `ClientAliveInterval ${hostSpec.clientAliveInterval ?? 2}`,
          'ClientAliveCountMax 2',
          'LogLevel VERBOSE',
          '',
        ].join('\n'),
      );
      // Each host's own /run, as Debian's: sshd's privilege separation directory and a world-writable /run/lock.
      const run = ['mount -t tmpfs -o mode=755 lvsc-lab /run', 'mkdir -m 755 /run/sshd', 'mkdir -m 1777 /run/lock'];
      // A private directory under /run is already the host's own (its /run is): it is made there, not mounted.
      const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8);
      const mounts = [...run, ...privateDirs.map((path) => (path.startsWith('/run/') ? `mkdir -p -m ${mode(path)} '${path}'` : `mount -t tmpfs -o mode=${mode(path)} lvsc-lab '${path}'`))];
      const log = openSync(join(hostDir, 'sshd.log'), 'a');
      // `ip netns exec` makes a private mount namespace; sh mounts the tmpfs dirs there and execs sshd (same PID).
      const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', `${mounts.join(' && ')} && exec /usr/sbin/sshd -D -e -f '${config}'`], {
        stdio: ['ignore', log, log],
      });
      closeSync(log);
      if (child.pid === undefined) throw new Error(`lab: could not start sshd for ${hostSpec.name}`);
      sshdPids.push(child.pid);
      await waitForSshd(child, pidFile, join(hostDir, 'sshd.log'), hostSpec.name);
      sshdByNs.set(ns, child.pid);
      hosts.push({
        name: hostSpec.name,
        ns,
        address: addresses[(hostSpec.networks ?? [LAN])[0]],
        addresses,
        port,
        hostKeyPub,
        hostKeyPubFile: `${hostKey}.pub`,
        ecdsaHostKeyPub,
        sshdPid: child.pid,
      });
    }

    const knownHostsFile = join(dir, 'known_hosts');
    const lines = hosts.flatMap((h) => Object.values(h.addresses).map((a) => `${h.port === 22 ? a : `[${a}]:${h.port}`} ${h.hostKeyPub}`));
    writeFileSync(knownHostsFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    const hashedKnownHostsFile = join(dir, 'known_hosts.hashed');
    writeFileSync(hashedKnownHostsFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    await must(['ssh-keygen', '-q', '-H', '-f', hashedKnownHostsFile]);
    rmSync(`${hashedKnownHostsFile}.old`, { force: true });

    const byName = (name: string): LabHost => {
      const host = hosts.find((h) => h.name === name);
      if (!host) throw new Error(`lab: no host ${name}`);
      return host;
    };

    return {
      dir,
      hosts,
      host: byName,
      rootAddress,
      knownHostsFile,
      hashedKnownHostsFile,
      keyFile,
      userKeyPub,
      encryptedKeyFile,
      passphrase,
      homeDir,
      endpoint(name, overrides = {}) {
        const host = byName(name);
        return { name, host: host.address, port: host.port, user: LAB_USERS.sudo, keyFile, sudo: true, ...overrides };
      },
      hostCpuMs() {
        // Clock ticks: 100 per second on Linux (USER_HZ).
        return sshdPids.reduce((sum, pid) => {
          try {
            const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
            // After the command: state is field 3, utime..cstime fields 14..17 (indexes 11..14 here).
            return sum + fields.slice(11, 15).reduce((a, f) => a + Number(f), 0) * 10;
          } catch {
            return sum;
          }
        }, 0);
      },
      sshOptions(overrides = {}) {
        return { knownHostsFile, homeDir, agentSocket: '', sshConfigFile: join(homeDir, 'no-ssh-config'), connectTimeoutMs: 5_000, commandTimeoutMs: 20_000, ...overrides };
      },
      async takeDown(name) {
        const host = byName(name);
        for (const j of Object.keys(host.addresses).keys()) await must(['ip', '-n', host.ns, 'link', 'set', `eth${j}`, 'down']);
        await terminate(host.sshdPid);
      },
      takeDownNow(name) {
        const host = byName(name);
        for (const j of Object.keys(host.addresses).keys()) mustSync(['ip', '-n', host.ns, 'link', 'set', `eth${j}`, 'down']);
        kill(host.sshdPid);
      },
      killSessionsNow(name) {
        const host = byName(name);
        const pids = mustSync(['ip', 'netns', 'pids', host.ns]).split('\n').filter(Boolean).map(Number);
        for (const pid of pids) if (pid !== host.sshdPid) kill(pid);
      },
      execNow(name, argv) {
        const [program, ...args] = inNs(byName(name).ns, argv);
        const r = spawnSync(program, args, { encoding: 'utf8' });
        return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status ?? 128 };
      },
      start(name, argv) {
        const [program, ...args] = inNs(byName(name).ns, argv);
        return spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      },
      async vanish() {
        await must(['ip', 'link', 'set', rootLink, 'down']);
      },
      async reconnect() {
        await must(['ip', 'link', 'set', rootLink, 'up']);
      },
      async killSessions(name) {
        const host = byName(name);
        const pids = (await execLocal(['ip', 'netns', 'pids', host.ns])).stdout.split('\n').filter(Boolean).map(Number);
        await Promise.all(pids.filter((pid) => pid !== host.sshdPid).map((pid) => terminate(pid)));
      },
      exec(name, argv, input) {
        return execIn(byName(name).ns, argv, input);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForSshd(child: ReturnType<typeof spawn>, pidFile: string, logFile: string, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (existsSync(pidFile)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim() : '';
  throw new Error(`lab: sshd for ${name} did not start: ${log || 'no output'}`);
}

/** Runs a program and waits for it, throwing when it fails (what `must` does, synchronously). */
function mustSync(argv: string[]): string {
  const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`lab: \`${argv.join(' ')}\` failed (exit ${result.status}): ${(result.stderr ?? '').trim()}`);
  return result.stdout;
}

/** SIGKILL, if it is still there. */
function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** SIGTERM, then SIGKILL after a second; resolves once the process is gone. */
async function terminate(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const killAt = Date.now() + 1_000;
  while (alive(pid) && !isZombie(pid)) {
    if (Date.now() > killAt) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An exited process not reaped yet counts as gone (Node reaps its own children soon). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
