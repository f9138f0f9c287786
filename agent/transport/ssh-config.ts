/**
 * Resolves an SSH endpoint into the hops to connect through: values given in
 * the endpoint win, then `~/.ssh/config` (Host aliases, HostName, User, Port,
 * IdentityFile, ProxyJump, HashKnownHosts), then OpenSSH's defaults. The
 * config is parsed by the `ssh-config` package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import SSHConfig from 'ssh-config';
import { TransportError } from './transport.js';

export interface SshEndpoint {
  /** The lvsc host name, for messages. */
  name: string;
  /** Address, DNS name or ssh config alias. */
  host: string;
  port?: number;
  user?: string;
  /** Private key file; `~` is expanded. */
  keyFile?: string;
  /** Run privileged commands through `sudo -n`. */
  sudo?: boolean;
  /** Jump host to connect through; it may itself have a `via`. */
  via?: SshEndpoint;
}

export interface KeyFileRef {
  path: string;
  /** Named by the endpoint or ssh config (a missing one is an error), or an OpenSSH default. */
  explicit: boolean;
}

/** One SSH connection to make, after ssh config is applied. */
export interface Hop {
  /** For messages: the lvsc host name, or the jump host as written (messages add the address themselves). */
  label: string;
  /** What to connect to (directly, or from the previous hop). */
  host: string;
  port: number;
  user: string;
  keyFiles: KeyFileRef[];
  hashKnownHosts: boolean;
  sudo: boolean;
  via?: Hop;
}

export interface ResolveContext {
  /** Parsed ssh config, or undefined when there is none. */
  config: SSHConfig | undefined;
  homeDir: string;
  localUser: string;
}

const MAX_HOPS = 8;

/** OpenSSH's identity files, tried in this order when none is configured. */
const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'];

export function loadSshConfig(file: string, hostForErrors: string): SSHConfig | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return SSHConfig.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TransportError('connect', hostForErrors, `cannot read ssh config ${file}: ${(error as Error).message}`, { cause: error });
  }
}

export function resolveEndpoint(endpoint: SshEndpoint, context: ResolveContext): Hop {
  return resolve(endpoint, context, endpoint.name, 0);
}

function resolve(endpoint: SshEndpoint, context: ResolveContext, target: string, depth: number): Hop {
  if (depth > MAX_HOPS) {
    throw new TransportError('connect', target, `more than ${MAX_HOPS} jump hosts on the way to ${target}: is there a loop in ProxyJump or via?`);
  }
  const computed = context.config?.compute(endpoint.host, { ignoreCase: true }) ?? {};
  const value = (key: string): string | undefined => {
    const v = computed[key];
    return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
  };

  const port = endpoint.port ?? parsePort(value('port'), endpoint, target) ?? 22;
  const user = endpoint.user ?? value('user') ?? context.localUser;
  const tokens = (hostName: string): Record<string, string> => ({
    '%': '%',
    h: hostName,
    n: endpoint.host,
    p: String(port),
    r: user,
    u: context.localUser,
    d: context.homeDir,
  });
  const configHostName = value('hostname');
  const host = configHostName === undefined ? endpoint.host : expandTokens(configHostName, tokens(endpoint.host));

  const keyFiles: KeyFileRef[] = [];
  if (endpoint.keyFile !== undefined) keyFiles.push({ path: expandPath(endpoint.keyFile, context.homeDir), explicit: true });
  const configured = computed['identityfile'];
  for (const file of Array.isArray(configured) ? configured : configured === undefined ? [] : [configured]) {
    if (file.toLowerCase() === 'none') continue;
    keyFiles.push({ path: expandPath(expandTokens(file, tokens(host)), context.homeDir), explicit: true });
  }
  if (keyFiles.length === 0) {
    for (const name of DEFAULT_IDENTITIES) keyFiles.push({ path: join(context.homeDir, '.ssh', name), explicit: false });
  }

  let via: Hop | undefined;
  if (endpoint.via !== undefined) {
    via = resolve(endpoint.via, context, target, depth + 1);
  } else {
    const proxyJump = value('proxyjump');
    if (proxyJump !== undefined && proxyJump.toLowerCase() !== 'none') {
      via = resolveJumpChain(proxyJump, endpoint, context, target, depth);
    } else if (proxyJump === undefined && value('proxycommand') !== undefined && value('proxycommand')!.toLowerCase() !== 'none') {
      throw new TransportError(
        'connect',
        target,
        `ssh config sets ProxyCommand for ${endpoint.host}, which lvsc does not run; use ProxyJump (or the host's via) instead`,
      );
    }
  }

  return {
    label: endpoint.name,
    host,
    port,
    user,
    keyFiles,
    hashKnownHosts: value('hashknownhosts')?.toLowerCase() === 'yes',
    sudo: endpoint.sudo === true,
    ...(via ? { via } : {}),
  };
}

/** `ProxyJump a,b`: connect to a, from there to b, from there to the target. */
function resolveJumpChain(spec: string, endpoint: SshEndpoint, context: ResolveContext, target: string, depth: number): Hop {
  const jumps = spec.split(',').map((s) => parseJump(s.trim(), endpoint, target));
  let previous: SshEndpoint | undefined;
  for (const jump of jumps) {
    if (previous) jump.via = previous;
    previous = jump;
  }
  return resolve(previous!, context, target, depth + 1);
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`; IPv6 in brackets. */
function parseJump(spec: string, endpoint: SshEndpoint, target: string): SshEndpoint {
  const match = /^(?:ssh:\/\/)?(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s\[\]]+)(?::(\d+))?$/.exec(spec);
  if (!match) {
    throw new TransportError('connect', target, `ssh config ProxyJump for ${endpoint.host} has an entry lvsc cannot read: '${spec}' (expected [user@]host[:port])`);
  }
  const [, user, rawHost, port] = match;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { name: host, host, ...(user ? { user } : {}), ...(port ? { port: Number(port) } : {}) };
}

function parsePort(value: string | undefined, endpoint: SshEndpoint, target: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TransportError('connect', target, `ssh config sets Port '${value}' for ${endpoint.host}, which is not a port number`);
  }
  return port;
}

/** ssh_config TOKENS: `%h`, `%p`, `%r`, `%u`, `%d`, `%n`, `%%`; unknown tokens stay as written. */
function expandTokens(text: string, tokens: Record<string, string>): string {
  return text.replace(/%(.)/g, (whole, letter: string) => tokens[letter] ?? whole);
}

/** `~` and `~/x` become the home directory; other relative paths are taken from the working directory. */
export function expandPath(path: string, homeDir: string): string {
  if (path === '~') return homeDir;
  if (path.startsWith('~/')) return join(homeDir, path.slice(2));
  return resolvePath(path);
}
