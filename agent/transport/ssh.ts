/**
 * The SSH transport (ssh2): one connection per host, reused for every command
 * of a run; ssh-agent or key-file auth; host keys checked against known_hosts
 * on every hop; jump hosts by `via` or ssh config ProxyJump; timeouts on
 * connecting and on every command. Nothing here knows about LVS.
 */
import { constants as osConstants, homedir, userInfo } from 'node:os';
import { constants as bufferConstants } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, ClientChannel, NextAuthHandler, ParsedKey, ServerHostKeyAlgorithm } from 'ssh2';
import { cmd, commandLine, type Command } from '../../compiler/command.js';
import { addKnownHost, checkHostKey, fingerprint, keyTypeOf, knownHostName, knownHostsLine, knownKeyTypes, loadKnownHosts, type KnownHosts } from './known-hosts.js';
import { loadSshConfig, resolveEndpoint, type Hop, type SshEndpoint } from './ssh-config.js';
import { TransportError, type RunOptions, type RunResult, type Transport } from './transport.js';

export type { SshEndpoint } from './ssh-config.js';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

export interface SshOptions {
  /** Default `~/.ssh/known_hosts`. */
  knownHostsFile?: string;
  /** OpenSSH's `accept-new`: add unknown host keys to known_hosts; a changed key is still refused. */
  acceptNewHostKeys?: boolean;
  /** Default `~/.ssh/config`; a missing file means no config. */
  sshConfigFile?: string;
  /** Per hop: TCP connect, handshake and authentication. Default 10 s. */
  connectTimeoutMs?: number;
  /** Default for every command; `RunOptions.timeoutMs` overrides it. Default 60 s. */
  commandTimeoutMs?: number;
  /** Default `SSH_AUTH_SOCK`; an empty string disables the agent. */
  agentSocket?: string;
  /** Asked for an encrypted key's passphrase; give it only when a person is at a terminal. */
  passphrase?: (keyFile: string) => Promise<string>;
  /** Where `~` points (default: the user's home directory). */
  homeDir?: string;
  /** SSH keepalives, so a silently dead host or link is noticed. Default every 5 s, 3 unanswered → lost. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Commands running at once on one connection (OpenSSH's MaxSessions is 10). Default 8. */
  maxChannels?: number;
  /**
   * The most one command may print, stdout and stderr together; a command that
   * prints more is stopped and fails with kind `output`. Default
   * DEFAULT_MAX_OUTPUT_BYTES; at most MAX_OUTPUT_BYTES.
   */
  maxOutputBytes?: number;
}

/**
 * 64 MiB. The largest output lvsc expects is a director's facts: both IPVS
 * dumps (`ipvsadm -Sn`, `-Ln --thresholds`) and /etc/ipvsadm.rules in base64,
 * about 200 bytes per destination (measured on the 100,000-destination bench
 * cluster with the lab captures' line widths: 19 MiB). So 64 MiB is some
 * 340,000 destinations, three times the size lvsc is built for, and a host
 * printing without end costs at most that much memory.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** The output has to become a string: V8's longest (2^29 - 24 UTF-16 units; UTF-8 never decodes to more units than bytes). */
export const MAX_OUTPUT_BYTES = bufferConstants.MAX_STRING_LENGTH;

interface Settings {
  knownHostsFile: string;
  acceptNew: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  agentSocket: string | undefined;
  passphrase: ((keyFile: string) => Promise<string>) | undefined;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  maxChannels: number;
  maxOutputBytes: number;
}

/** Opens the connection (through any jump hosts) and returns a transport for it. */
export async function connectSsh(endpoint: SshEndpoint, options: SshOptions = {}): Promise<Transport> {
  const homeDir = options.homeDir ?? homedir();
  const config = loadSshConfig(options.sshConfigFile ?? join(homeDir, '.ssh', 'config'), endpoint.name);
  const hop = resolveEndpoint(endpoint, { config, homeDir, localUser: userInfo().username });
  const agentSocket = options.agentSocket ?? process.env.SSH_AUTH_SOCK;
  const settings: Settings = {
    knownHostsFile: options.knownHostsFile ?? join(homeDir, '.ssh', 'known_hosts'),
    acceptNew: options.acceptNewHostKeys === true,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 60_000,
    agentSocket: agentSocket === '' ? undefined : agentSocket,
    passphrase: options.passphrase,
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? 5_000,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    maxChannels: options.maxChannels ?? 8,
    maxOutputBytes: Math.min(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES),
  };
  const chain: Connection[] = [];
  try {
    await connectHop(hop, settings, endpoint.name, chain);
  } catch (error) {
    for (const connection of chain.reverse()) destroyConnection(connection);
    throw error;
  }
  return new SshTransport(endpoint.name, hop, chain, settings);
}

/** One live ssh2 connection: a hop of the chain, with why it ended if it did. */
interface Connection {
  hop: Hop;
  client: SshClient;
  /** What the connection runs on: the TCP socket lvsc opened, or the channel through the jump host. */
  socket: Duplex;
  lastError?: Error;
  closed?: boolean;
}

/**
 * Ends a connection for certain. ssh2's `destroy()` does nothing once ssh2
 * has half-closed its socket (it calls `end()` on every protocol error), and
 * a server that keeps its side open would then hold the socket, and the
 * process, forever; so the stream underneath is destroyed too.
 */
function destroyConnection(connection: Connection): void {
  connection.client.destroy();
  connection.socket.destroy();
}

/** Errors ssh2 reports that do not end the connection: an agent that cannot be used, one key refused (others may follow). */
function endsConnection(error: Error & { level?: string }): boolean {
  if (error.level === 'agent') return false;
  return error.level !== 'client-authentication' || error.message === 'All configured authentication methods failed';
}

/** A TCP connection to the hop, opened by lvsc (not ssh2) so that lvsc can always close it. */
function openTcp(hop: Hop): Duplex {
  const socket = connectTcp({ host: hop.host, port: hop.port });
  // SSH exchanges small packets that wait on each other: with Nagle's algorithm each
  // waits for the peer's delayed ACK (40 ms and more per connection, measured).
  socket.setNoDelay(true);
  return socket;
}

function describeHop(hop: Hop): string {
  const at = `${hop.user}@${hop.host}${hop.port === 22 ? '' : `:${hop.port}`}`;
  const via = hop.via ? ` via ${hop.via.label}` : '';
  return `${hop.label} (${at}${via})`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** `64 MiB`, `512 KiB`, `1000 bytes`: a size as it was most likely given. */
export function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MiB`;
  return `${bytes} bytes`;
}

/** Connects `hop`, first connecting its jump hosts; pushes every connection made onto `chain`. */
async function connectHop(hop: Hop, settings: Settings, target: string, chain: Connection[]): Promise<Connection> {
  let sock: Duplex;
  if (hop.via) {
    const jump = await connectHop(hop.via, settings, target, chain);
    sock = await forwardThrough(jump, hop, settings, target);
  } else {
    sock = openTcp(hop);
  }
  // The stream's own errors reach ssh2 (a TCP socket's) or surface as the target connection closing (a tunnel's).
  sock.on('error', () => {});
  const connection = await handshake(hop, sock, settings, target);
  chain.push(connection);
  return connection;
}

function forwardThrough(jump: Connection, hop: Hop, settings: Settings, target: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new TransportError(
          'timeout',
          target,
          `jump host ${describeHop(jump.hop)} could not open a connection to ${hop.host}:${hop.port} within ${seconds(settings.connectTimeoutMs)}`,
        ),
      );
    }, settings.connectTimeoutMs);
    jump.client.forwardOut('127.0.0.1', 0, hop.host, hop.port, (error, stream) => {
      clearTimeout(timer);
      if (error) {
        reject(
          new TransportError(
            'connect',
            target,
            `jump host ${describeHop(jump.hop)} could not connect to ${hop.host}:${hop.port} for ${hop.label}: ${error.message.replace(/^\(SSH\) /, '')}`,
            { cause: error },
          ),
        );
      } else {
        resolve(stream);
      }
    });
  });
}

/** Server host key algorithms, the ones known_hosts has for this host first (as OpenSSH orders them). */
const ALGORITHMS_BY_KEY_TYPE: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};
const DEFAULT_HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Key types known_hosts has for the host; an unreadable file is reported by the host key check itself. */
function preferredKeyTypes(knownHostsFile: string, name: string): string[] {
  try {
    return knownKeyTypes(loadKnownHosts(knownHostsFile), name);
  } catch {
    return [];
  }
}

function hostKeyAlgorithms(knownTypes: string[]): ServerHostKeyAlgorithm[] {
  const preferred = knownTypes.flatMap((t) => ALGORITHMS_BY_KEY_TYPE[t] ?? []);
  return [...new Set([...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS])];
}

/** A connect deadline that stops while a person types a passphrase. */
class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private left: number;
  private startedAt = 0;
  private done = false;

  constructor(
    ms: number,
    private readonly onExpire: () => void,
  ) {
    this.left = ms;
    this.resume();
  }

  pause(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.left -= Date.now() - this.startedAt;
  }

  resume(): void {
    if (this.done || this.timer !== undefined) return;
    this.startedAt = Date.now();
    this.timer = setTimeout(this.onExpire, Math.max(this.left, 0));
  }

  clear(): void {
    this.done = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * The first bytes a server sends, up to its SSH identification line
 * (RFC 4253 4.2: `SSH-2.0-software comments`, at most 255 bytes, after
 * optional other lines): so that when it is not SSH at all, or SSH 1, the
 * message can say what it sent. Listens only until the line is seen (or
 * 16 KiB came without one), beside ssh2, which reads the same bytes.
 */
class BannerWatch {
  static readonly LIMIT = 16 * 1024;
  /** ssh2's own test of the identification line (and OpenSSH's: SSH 2, or 1.99 for "both"). */
  private static readonly IDENT = /^SSH-(2\.0|1\.99)-[^ ]+( .*)?$/;
  /** Bytes received while watching (up to LIMIT and a chunk). */
  received = 0;
  /** The identification line arrived, and it is SSH 2. */
  sawIdent = false;
  private text = '';
  private readonly onData = (chunk: Buffer): void => {
    this.received += chunk.length;
    if (this.text.length < BannerWatch.LIMIT) this.text += chunk.subarray(0, BannerWatch.LIMIT - this.text.length).toString('latin1');
    // The first complete line starting with SSH- decides (ssh2 takes other lines before it as a greeting).
    const ident = this.completeLines().find((line) => line.startsWith('SSH-'));
    if (ident !== undefined) this.sawIdent = BannerWatch.IDENT.test(ident);
    if (ident !== undefined || this.received >= BannerWatch.LIMIT) this.stream.off('data', this.onData);
  };

  /**
   * Call after ssh2's `connect()`: ssh2 pauses the stream there, so this
   * listener does not start the data flowing before ssh2 listens (ssh2
   * resumes the stream once its own listener is on; both see every chunk).
   */
  constructor(private readonly stream: Duplex) {
    stream.on('data', this.onData);
  }

  private completeLines(): string[] {
    return this.text.split('\n').slice(0, -1).map((line) => line.replace(/\r$/, ''));
  }

  /** What came instead of a banner, quoted (shortened), with what is wrong with it. */
  describe(): string {
    const complete = this.completeLines();
    const partial = this.text.slice(this.text.lastIndexOf('\n') + 1);
    const completeLine = complete.find((l) => l.startsWith('SSH-')) ?? complete[0];
    const line = completeLine ?? partial;
    // Control characters in it are escaped by TransportError, like everything a host sends.
    const quoted = `"${line.length > 80 ? `${line.slice(0, 80)}...` : line}"`;
    if (/^SSH-1\./.test(line)) return `${quoted} (SSH protocol 1: lvsc speaks SSH 2 only)`;
    if (completeLine === undefined && line.length > 255) {
      const size = this.received >= BannerWatch.LIMIT ? `more than ${BannerWatch.LIMIT / 1024} KiB` : `${line.length} bytes`;
      return `${quoted} (${size} without a line end, where an SSH banner is one line of at most 255 bytes)`;
    }
    return quoted;
  }
}

function handshake(hop: Hop, sock: Duplex, settings: Settings, target: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const connection: Connection = { hop, client, socket: sock };
    const name = knownHostName(hop.host, hop.port);
    const where = describeHop(hop);
    let refusal: TransportError | undefined;
    let settled = false;
    let reached = false;
    let banner: BannerWatch | undefined;
    const auth: AuthLog = { notes: [], locked: [], offered: 0 };

    const fail = (error: TransportError): void => {
      if (settled) return;
      settled = true;
      deadline.clear();
      destroyConnection(connection);
      reject(error);
    };
    /** The server answered, but not in SSH. */
    const notSsh = (): TransportError | undefined =>
      banner !== undefined && banner.received > 0 && !banner.sawIdent
        ? new TransportError('connect', target, `cannot connect to ${where}: the host answered with something that is not an SSH banner: ${banner.describe()}`)
        : undefined;
    const deadline = new Deadline(settings.connectTimeoutMs, () => {
      const within = `could not connect to ${where} within ${seconds(settings.connectTimeoutMs)}`;
      const why = !reached
        ? 'the host did not answer (is it up and reachable?)'
        : banner === undefined || banner.received === 0
          ? 'the host accepted the connection but sent nothing (is an SSH server listening on that port?)'
          : !banner.sawIdent
            ? `the host answered with something that is not an SSH banner: ${banner.describe()}`
            : 'the host stopped answering during the SSH handshake';
      fail(new TransportError('timeout', target, `${within}: ${why}`));
    });

    const verifyHostKey = (key: Buffer): boolean => {
      try {
        refusal = judgeHostKey(loadKnownHosts(settings.knownHostsFile), name, key, hop, settings, target);
      } catch (error) {
        refusal = new TransportError('host-key', target, `cannot check the host key of ${where} against ${settings.knownHostsFile}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      return refusal === undefined;
    };

    client.on('connect', () => {
      reached = true;
    });
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      deadline.clear();
      resolve(connection);
    });
    client.on('error', (error: Error & { level?: string }) => {
      if (error.level === 'agent') {
        auth.notes.push(`ssh-agent at ${settings.agentSocket} could not be used (${error.message})`);
        return;
      }
      if (!endsConnection(error)) return;
      connection.lastError = error;
      // Now, not on 'close': a server that keeps its side open would never send one.
      fail(refusal ?? notSsh() ?? connectFailure(error, where, target, auth));
    });
    client.on('close', () => {
      if (settled) return;
      fail(refusal ?? notSsh() ?? connectFailure(connection.lastError, where, target, auth));
    });

    const keys = authMethods(hop, settings, auth, deadline);
    const authHandler = (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, next: NextAuthHandler): void => {
      const noMore = next as unknown as (done: false) => void;
      if (methodsLeft !== null && !methodsLeft.includes('publickey')) {
        auth.notes.push(`the server offers only ${methodsLeft.join(', ')}`);
        noMore(false);
        return;
      }
      keys.next().then(
        (step) => (step.done ? noMore(false) : next(step.value)),
        (error: unknown) =>
          fail(new TransportError('auth', target, `cannot authenticate to ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })),
      );
    };

    client.connect({
      sock,
      username: hop.user,
      readyTimeout: 0,
      keepaliveInterval: settings.keepaliveIntervalMs,
      keepaliveCountMax: settings.keepaliveCountMax,
      algorithms: { serverHostKey: hostKeyAlgorithms(preferredKeyTypes(settings.knownHostsFile, name)) },
      hostVerifier: verifyHostKey,
      authHandler: authHandler as never,
    });
    if (!settled) banner = new BannerWatch(sock);
  });
}

/** undefined: accept; otherwise the refusal, worded for an operator. */
function judgeHostKey(known: KnownHosts, name: string, key: Buffer, hop: Hop, settings: Settings, target: string): TransportError | undefined {
  const verdict = checkHostKey(known, name, key);
  const presented = `${keyTypeOf(key)} ${fingerprint(key)}`;
  const file = settings.knownHostsFile;
  const removeHint = `ssh-keygen -R '${name}' -f '${file}'`;
  switch (verdict.status) {
    case 'known':
      return undefined;
    case 'unknown':
      if (settings.acceptNew) {
        addKnownHost(file, knownHostsLine(name, key, hop.hashKnownHosts));
        return undefined;
      }
      return new TransportError(
        'host-key',
        target,
        `the host key of ${hop.label} (${name}) is not known: ${presented}. ` +
          `Check that fingerprint with the host's administrator (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${keyTypeOf(key).replace(/^ssh-|-sha2-nistp\d+$/g, '')}_key.pub), ` +
          `then run again with --accept-new-host-keys to add it to ${file}.`,
      );
    case 'changed':
      return new TransportError(
        'host-key',
        target,
        `WARNING: THE HOST KEY OF ${hop.label} (${name}) HAS CHANGED. ` +
          `${file}:${verdict.entry.line} has ${verdict.entry.keyType} ${fingerprint(verdict.entry.key)}; the host presented ${presented}. ` +
          `Someone may be intercepting the connection (man-in-the-middle), or the host was reinstalled. ` +
          `lvsc never accepts a changed key, not even with --accept-new-host-keys. If the change is expected, remove the old key with: ${removeHint}`,
      );
    case 'revoked':
      return new TransportError(
        'host-key',
        target,
        `the host key of ${hop.label} (${name}), ${presented}, is marked @revoked in ${file}:${verdict.entry.line}; refusing to connect.`,
      );
    case 'other-types': {
      const onRecord = verdict.entries.map((e) => `${e.keyType} ${fingerprint(e.key)} (${e.file}:${e.line})`).join(', ');
      return new TransportError(
        'host-key',
        target,
        `the host key of ${hop.label} (${name}) does not match: the host presented ${presented}, but ${file} has only ${onRecord} for it. ` +
          `lvsc does not accept a new kind of key for a known host; if the host's keys were changed on purpose, remove the old ones with: ${removeHint}`,
      );
    }
  }
}

/** What authentication tried, for the message when every key is refused. */
interface AuthLog {
  readonly notes: string[];
  /** Encrypted key files that could not be used: no passphrase can be asked (no terminal). */
  readonly locked: string[];
  /** Credentials offered to the server (the agent counts as one). */
  offered: number;
}

/** Credentials to offer, in OpenSSH's order: the agent's keys, then key files. Asks for passphrases lazily. */
async function* authMethods(hop: Hop, settings: Settings, auth: AuthLog, deadline: Deadline): AsyncGenerator<AnyAuthMethod, undefined> {
  if (settings.agentSocket !== undefined) {
    if (existsSync(settings.agentSocket)) {
      auth.notes.push(`tried the keys in ssh-agent (${settings.agentSocket})`);
      auth.offered++;
      yield { type: 'agent', username: hop.user, agent: settings.agentSocket };
    } else {
      auth.notes.push(`ssh-agent socket ${settings.agentSocket} does not exist`);
    }
  }
  for (const { path, explicit } of hop.keyFiles) {
    if (!existsSync(path)) {
      if (explicit) auth.notes.push(`key file ${path} does not exist`);
      continue;
    }
    const key = await loadKey(path, settings, auth, deadline);
    if (key === undefined) continue;
    auth.notes.push(`tried key file ${path}`);
    auth.offered++;
    yield { type: 'publickey', username: hop.user, key };
  }
  return undefined;
}

/** An encrypted key file, decrypted (or not) once per passphrase callback. */
type Decrypted = { readonly key: ParsedKey } | { readonly note: string };

/**
 * Encrypted keys per passphrase callback (one per lvsc run): the decryption
 * of each key file, shared by every connection of the run, also those still
 * in flight. So a person is asked once per key, not once per host (10 hosts
 * connecting at once wait for the one prompt), a wrong passphrase is not
 * asked for again by the next host, and the slow key derivation is paid once.
 */
const decryptedKeys = new WeakMap<(keyFile: string) => Promise<string>, Map<string, Promise<Decrypted>>>();

async function decrypt(path: string, data: Buffer, ask: (keyFile: string) => Promise<string>): Promise<Decrypted> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let passphrase: string;
    try {
      passphrase = await ask(path);
    } catch (error) {
      throw new Error(`no passphrase for key file ${path} (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
    const parsed = utils.parseKey(data, passphrase);
    if (!(parsed instanceof Error)) return { key: Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed };
  }
  return { note: `key file ${path}: wrong passphrase` };
}

async function loadKey(path: string, settings: Settings, auth: AuthLog, deadline: Deadline): Promise<ParsedKey | undefined> {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    auth.notes.push(`cannot read key file ${path}: ${(error as Error).message}`);
    return undefined;
  }
  const parsed = utils.parseKey(data);
  if (parsed instanceof Error && /encrypted/i.test(parsed.message)) {
    const ask = settings.passphrase;
    if (ask === undefined) {
      auth.notes.push(`key file ${path} is encrypted and there is no terminal to ask for its passphrase (load it into ssh-agent: ssh-add ${path})`);
      auth.locked.push(path);
      return undefined;
    }
    let cache = decryptedKeys.get(ask);
    if (cache === undefined) decryptedKeys.set(ask, (cache = new Map()));
    let decrypted = cache.get(path);
    if (decrypted === undefined) cache.set(path, (decrypted = decrypt(path, data, ask)));
    // Neither the person typing nor the local key derivation counts against the connect timeout.
    deadline.pause();
    let result: Decrypted;
    try {
      result = await decrypted;
    } finally {
      deadline.resume();
    }
    if ('note' in result) {
      auth.notes.push(result.note);
      return undefined;
    }
    return result.key;
  }
  if (parsed instanceof Error) {
    auth.notes.push(`cannot use key file ${path}: ${parsed.message}`);
    return undefined;
  }
  return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
}

function connectFailure(error: (Error & { level?: string; code?: string | number }) | undefined, where: string, target: string, auth: AuthLog): TransportError {
  if (error === undefined) return new TransportError('connect', target, `the connection to ${where} closed during the SSH handshake`);
  if (error.level === 'client-authentication') {
    if (auth.offered === 0 && auth.locked.length > 0) {
      // Not refused: the key was never offered. Say what stops it, on one line.
      const key = auth.locked[0];
      return new TransportError(
        'auth',
        target,
        `cannot authenticate to ${where}: key file ${key} is encrypted and there is no terminal to ask for its passphrase; load it into ssh-agent (ssh-add ${key}) or run lvsc on a terminal`,
        { cause: error },
      );
    }
    const tried = auth.notes.length > 0 ? auth.notes.join('; ') : 'no key was available (no ssh-agent, no key file)';
    return new TransportError(
      'auth',
      target,
      `${where} refused every key offered: ${tried}. Check the user name and that the public key is in that user's ~/.ssh/authorized_keys on the host.`,
      { cause: error },
    );
  }
  if (error.level === 'client-timeout') {
    return new TransportError('timeout', target, `${where} stopped answering while connecting (${error.message})`, { cause: error });
  }
  const reason =
    error.code === 'ECONNREFUSED'
      ? 'connection refused (is sshd running on that port?)'
      : error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH'
        ? 'no route to the host (is it up? is the address right?)'
        : error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
          ? 'the host name does not resolve'
          : error.message;
  return new TransportError('connect', target, `cannot connect to ${where}: ${reason}`, { cause: error });
}

/** What sudo says when it would need a person (a password or a terminal) or refuses the user. */
const SUDO_REFUSED = /^sudo: (a password is required|a terminal is required)|^sorry, you must have a tty|is not in the sudoers file|may not run sudo on/im;

/** Atomic write: a temporary file in the target's directory, then rename. Arguments: path, octal mode. */
const PUT_SCRIPT = [
  'set -e',
  'target=$1',
  'dir=$(dirname -- "$target")',
  'tmp=$(mktemp -- "$dir/.lvsc-put.XXXXXX")',
  `trap 'rm -f -- "$tmp"' EXIT`,
  'cat > "$tmp"',
  'chmod -- "$2" "$tmp"',
  'sync -- "$tmp" 2>/dev/null || :',
  'mv -f -- "$tmp" "$target"',
  'trap - EXIT',
].join('\n');

class SshTransport implements Transport {
  private readonly client: SshClient;
  private closedBecause: string | undefined;
  private closing: Promise<void> | undefined;
  private readonly pending = new Set<(error: TransportError) => void>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly host: string,
    private readonly hop: Hop,
    /** Outermost jump host first, the target last. */
    private readonly chain: Connection[],
    private readonly settings: Settings,
  ) {
    this.client = chain[chain.length - 1].client;
    for (const connection of chain) {
      connection.client.on('error', (error: Error) => {
        connection.lastError = error;
        // ssh2 only half-closes on an error; the host may never close its side.
        if (endsConnection(error)) connection.socket.destroy();
      });
      connection.client.on('close', () => {
        connection.closed = true;
        this.lost(connection);
      });
    }
  }

  async run(command: Command, options: RunOptions = {}): Promise<RunResult> {
    const sudo = options.sudo === true && this.hop.sudo;
    const inner = commandLine(command);
    // `exec`: sudo's child is the program itself, so the signal sudo relays on a timeout reaches it.
    const line = sudo ? commandLine(cmd('sudo', '-n', '--', 'sh', '-c', `exec ${inner}`)) : inner;
    const timeoutMs = options.timeoutMs ?? this.settings.commandTimeoutMs;
    await this.takeChannel(inner);
    let result: RunResult;
    try {
      result = await this.exec(line, command.stdin, timeoutMs, inner, options.onStdout, options.input);
    } finally {
      this.giveChannel();
    }
    if (sudo && result.code !== 0 && result.stdout === '' && SUDO_REFUSED.test(result.stderr)) {
      throw new TransportError(
        'sudo',
        this.host,
        `sudo on ${describeHop(this.hop)} refused to run without a password: ${result.stderr.trim()}. ` +
          `lvsc never answers password prompts: give ${this.hop.user} passwordless sudo on the host ` +
          `(e.g. '${this.hop.user} ALL=(root) NOPASSWD: ALL' in /etc/sudoers.d/lvsc), or connect as root.`,
      );
    }
    if (sudo && result.code === 127 && /sudo: (command )?not found/.test(result.stderr)) {
      throw new TransportError('sudo', this.host, `sudo is not installed on ${describeHop(this.hop)}: install it, or connect as root and drop sudo for this host.`);
    }
    return result;
  }

  async put(path: string, data: string, mode = 0o644): Promise<void> {
    const put: Command = { argv: ['sh', '-c', PUT_SCRIPT, 'lvsc-put', path, mode.toString(8).padStart(4, '0')], stdin: data };
    const result = await this.run(put, { sudo: true });
    if (result.code !== 0) {
      const why = result.stderr.trim() || `exit code ${result.code}`;
      throw new TransportError('write', this.host, `could not write ${path} on ${describeHop(this.hop)}: ${why}`);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closedBecause ??= 'the transport was closed';
    this.failPending(new TransportError('closed', this.host, `the connection to ${describeHop(this.hop)} was closed before the command finished`));
    // The target first, then its jump hosts outwards.
    for (const connection of [...this.chain].reverse()) {
      if (connection.closed) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          destroyConnection(connection);
          resolve();
        }, 2_000);
        connection.client.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        connection.client.end();
      });
    }
  }

  /** A hop's connection ended: fail what is running and everything after. */
  private lost(connection: Connection): void {
    if (this.closedBecause !== undefined) return;
    const which = connection.client === this.client ? describeHop(this.hop) : `jump host ${describeHop(connection.hop)}`;
    const why = connection.lastError ? `: ${connection.lastError.message}` : '';
    this.closedBecause = `the connection to ${which} was lost${why}`;
    this.failPending(new TransportError('closed', this.host, `${this.closedBecause}; the command may or may not have run`));
  }

  private failPending(error: TransportError): void {
    for (const reject of [...this.pending]) reject(error);
    this.pending.clear();
    for (const wake of this.waiting.splice(0)) wake();
  }

  private closedError(line: string): TransportError {
    return new TransportError('closed', this.host, `${this.closedBecause} (${describeHop(this.hop)}); not run: ${abbreviate(line)}`);
  }

  private async takeChannel(line: string): Promise<void> {
    while (this.closedBecause === undefined && this.running >= this.settings.maxChannels) {
      await new Promise<void>((wake) => this.waiting.push(wake));
    }
    if (this.closedBecause !== undefined) throw this.closedError(line);
    this.running++;
  }

  private giveChannel(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  private exec(line: string, stdin: string | undefined, timeoutMs: number, shown: string, onStdout?: (text: string) => void, input?: AsyncIterable<string>): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending.delete(failed);
        outcome();
      };
      const failed = (error: TransportError): void => settle(() => reject(error));
      this.pending.add(failed);
      const limited = timeoutMs > 0 && Number.isFinite(timeoutMs);
      const timer = limited
        ? setTimeout(() => {
            settle(() =>
              reject(new TransportError('timeout', this.host, `a command on ${describeHop(this.hop)} did not finish within ${seconds(timeoutMs)} and was stopped: ${abbreviate(shown)}`)),
            );
            if (channel) {
              signalRemote(channel, 'TERM');
              channel.close();
            }
          }, timeoutMs)
        : undefined;

      this.client.exec(line, (error, stream) => {
        if (error) {
          settle(() =>
            reject(
              this.closedBecause !== undefined
                ? this.closedError(shown)
                : new TransportError('connect', this.host, `${describeHop(this.hop)} would not open a session for a command: ${error.message}`, { cause: error }),
            ),
          );
          return;
        }
        channel = stream;
        if (settled) {
          stream.close();
          return;
        }
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let code: number | undefined;
        const decoder = onStdout ? new StringDecoder('utf8') : undefined;
        // What one command may print: past it, the command is stopped and its output dropped
        // (a runaway host costs at most this much memory, and the text can still become a string).
        const limit = this.settings.maxOutputBytes;
        let printed = 0;
        const within = (chunk: Buffer): boolean => {
          if (settled) return false;
          printed += chunk.length;
          if (printed <= limit) return true;
          settle(() =>
            reject(
              new TransportError(
                'output',
                this.host,
                `output exceeded ${sizeText(limit)}: a command on ${describeHop(this.hop)} printed more than that and was stopped (--max-output raises the limit): ${abbreviate(shown)}`,
              ),
            ),
          );
          stdout.length = 0;
          stderr.length = 0;
          signalRemote(stream, 'TERM');
          stream.close();
          return false;
        };
        stream.on('data', (chunk: Buffer) => {
          if (!within(chunk)) return;
          stdout.push(chunk);
          if (decoder) onStdout!(decoder.write(chunk));
        });
        stream.stderr.on('data', (chunk: Buffer) => {
          if (within(chunk)) stderr.push(chunk);
        });
        stream.on('exit', (status: number | null, signal?: string) => {
          code = status ?? 128 + (signal ? ((osConstants.signals as Record<string, number>)[`SIG${signal}`] ?? 0) : 0);
        });
        stream.on('close', () => {
          if (code === undefined) {
            settle(() =>
              reject(
                this.closedBecause !== undefined
                  ? this.closedError(shown)
                  : new TransportError('closed', this.host, `${describeHop(this.hop)} closed the command's channel without an exit status: ${abbreviate(shown)}`),
              ),
            );
            return;
          }
          const result = { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code };
          settle(() => resolve(result));
        });
        if (!input) {
          stream.end(stdin ?? '');
          return;
        }
        if (stdin) stream.write(stdin);
        void feed(stream, input, () => settled);
      });
    });
  }
}

/** Writes what `input` yields to the channel until it ends or the command is over, then ends the channel's input. */
async function feed(channel: ClientChannel, input: AsyncIterable<string>, over: () => boolean): Promise<void> {
  const pieces = input[Symbol.asyncIterator]();
  const closed = new Promise<'closed'>((resolve) => channel.once('close', () => resolve('closed')));
  try {
    for (;;) {
      const next = await Promise.race([pieces.next(), closed]);
      if (next === 'closed' || next.done || over()) break;
      channel.write(next.value);
    }
  } catch {
    // An input that fails ends the command's input, as one that ends does.
  } finally {
    if (!over()) channel.end();
    void pieces.return?.();
  }
}

/**
 * Sends a signal request (sshd delivers it to the session's process group;
 * sudo passes it on to its command). ssh2's `Channel.signal()` sends nothing
 * once stdin is ended, and every command here has its stdin ended, so this
 * goes to the protocol layer for the open channel directly.
 */
function signalRemote(channel: ClientChannel, signal: 'TERM'): void {
  const internals = channel as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, signal: string): void } };
  };
  const protocol = internals._client?._protocol;
  const state = internals.outgoing?.state;
  // 'eof': we sent end of input; the channel is still open for requests.
  if ((state === 'open' || state === 'eof') && protocol !== undefined) protocol.signal(internals.outgoing!.id, signal);
  else channel.signal(signal);
}

function abbreviate(line: string): string {
  const oneLine = line.replace(/\s+/g, ' ');
  return oneLine.length > 160 ? `${oneLine.slice(0, 157)}...` : oneLine;
}
