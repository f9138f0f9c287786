/**
 * The lab hosts' daemons as tests drive them, over OpenSSH: a real server's
 * health URL (broken and mended), its web servers and its DNS server (stopped
 * and started again), and keepalived on a director (its config checked, the
 * daemon started and stopped by its PID). Each runs the guest's own
 * /usr/lib/lab/daemons.sh (lab/guest/daemons.sh), which the boot starts the
 * daemons with, in the host's namespaces (its /run, /etc, /var/log).
 *
 * Changes resolve with the guest's clock (ms) once done, so a test can time
 * how long a health checker takes to notice (against `waitFor`'s times); the
 * `*Script` forms are for `shOn`, to change and wait in one session.
 */
import { shellQuote } from '../compiler/command.js';
import { DAEMONS_LIB, healthFile } from './guest-files.js';
import type { LabOptions } from './lab.js';
import { sh } from './remote.js';
import { HEALTH_NAME, labHost, sshAddress } from './topology.js';

const LIB = `. ${DAEMONS_LIB}`;

/** What a test does to a real server's daemons. */
export type ServerChange =
  | { readonly health: 'break' | 'mend'; readonly port: number }
  | { readonly web: 'stop' | 'start'; readonly port: number }
  | { readonly dns: 'stop' | 'start' };

function realServer(host: string, port?: number) {
  const h = labHost(host);
  if (!h) throw new Error(`no lab host ${host}`);
  if (port !== undefined && !h.http.includes(port)) throw new Error(`${h.name} serves no web pages on port ${port} (only ${h.http.join(', ') || 'none'})`);
  return h;
}

/**
 * The bash script that makes `change` on `host` and prints the guest's clock
 * (ms) once it is made: breaking the health URL renames its file away (the
 * server answers 404), mending renames it back (each fails if the URL is
 * already so); stopping a daemon ends its process by its PID and waits for it
 * to exit; starting returns once it listens.
 */
export function serverChangeScript(host: string, change: ServerChange): string {
  const step = ((): string => {
    if ('health' in change) {
      const { path } = healthFile(realServer(host, change.port).name, change.port);
      const [from, to] = change.health === 'break' ? [path, `${path}.broken`] : [`${path}.broken`, path];
      return `[ -e ${shellQuote(from)} ] && [ ! -e ${shellQuote(to)} ] || { echo 'the health URL is not ${change.health === 'break' ? 'mended' : 'broken'}: ${from} is missing or ${to} exists' >&2; exit 1; }\nmv ${shellQuote(from)} ${shellQuote(to)}`;
    }
    if ('web' in change) {
      realServer(host, change.port);
      return `lab_web_${change.web} ${change.port}`;
    }
    if (!realServer(host).dns) throw new Error(`${host} runs no DNS server`);
    return `lab_dns_${change.dns}`;
  })();
  return `${LIB}\n${step}\nlab_ms`;
}

/** Makes `change` on `host`; resolves with the guest's clock (ms) once it is made. */
export async function changeServer(host: string, change: ServerChange, opts: LabOptions = {}): Promise<number> {
  return Number((await sh(host, serverChangeScript(host, change), opts)).trim());
}

export const breakHealth = (host: string, port: number, opts?: LabOptions) => changeServer(host, { health: 'break', port }, opts);
export const mendHealth = (host: string, port: number, opts?: LabOptions) => changeServer(host, { health: 'mend', port }, opts);
export const stopWeb = (host: string, port: number, opts?: LabOptions) => changeServer(host, { web: 'stop', port }, opts);
export const startWeb = (host: string, port: number, opts?: LabOptions) => changeServer(host, { web: 'start', port }, opts);
export const stopDns = (host: string, opts?: LabOptions) => changeServer(host, { dns: 'stop' }, opts);
export const startDns = (host: string, opts?: LabOptions) => changeServer(host, { dns: 'start' }, opts);

/**
 * The bash script of DNS queries for `name`'s A records to each of `servers`'
 * DNS servers (busybox nslookup), for `sh` or `shOn` on the host to ask from;
 * `parseDnsAnswers` reads its output.
 */
export function dnsAnswersScript(servers: readonly string[], name: string = HEALTH_NAME): string {
  return servers.map((s) => `echo ':::${realServer(s).name}'\nnslookup -type=A ${shellQuote(name)} ${sshAddress(realServer(s))} 2>&1 || true`).join('\n');
}

/** Server → the addresses its DNS server answered, empty when it gave none (no answer, a refusal, nothing listening). */
export function parseDnsAnswers(out: string): Map<string, string[]> {
  const answers = new Map<string, string[]>();
  for (const part of out.split(/^:::/m).slice(1)) {
    const [server, ...lines] = part.split('\n');
    // nslookup prints the server it asked first ("Address: 10.20.0.11:53"), then each answer after "Name:".
    const answer = lines.join('\n').split(/^Name:\s*/m).slice(1).join('\n');
    answers.set(server, [...answer.matchAll(/^Address:\s*(\S+)$/gm)].map((m) => m[1]));
  }
  return answers;
}

/** DNS queries from `from` to each of `servers`' DNS servers, in one session (see dnsAnswersScript). */
export async function dnsAnswers(from: string, servers: readonly string[], name: string = HEALTH_NAME, opts: LabOptions = {}): Promise<Map<string, string[]>> {
  return parseDnsAnswers(await sh(from, dnsAnswersScript(servers, name), opts));
}

/**
 * The bash script that puts a real server's daemons back as the boot left them,
 * whatever a test did: every health URL mended, a web server on each port and
 * the DNS server running (each started only if it is not). For teardowns.
 */
export function restoreServerScript(host: string): string {
  const h = realServer(host);
  const lines = [LIB];
  for (const port of h.http) {
    const { path } = healthFile(h.name, port);
    lines.push(
      `if [ -e ${shellQuote(`${path}.broken`)} ] && [ ! -e ${shellQuote(path)} ]; then mv ${shellQuote(`${path}.broken`)} ${shellQuote(path)}; fi`,
      `if ! { [ -s /run/httpd-${port}.pid ] && lab_is "$(cat /run/httpd-${port}.pid)" httpd; }; then lab_web_start ${port}; fi`,
    );
  }
  if (h.dns) lines.push('if ! { [ -s /run/dnsmasq.pid ] && lab_is "$(cat /run/dnsmasq.pid)" dnsmasq; }; then lab_dns_start; fi');
  return lines.join('\n');
}

/** Where a director's keepalived reads its config, as on Debian (keepalived's default). */
export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
/** Where Debian's keepalived.service finds DAEMON_ARGS, keepalived's options. */
export const KEEPALIVED_DEFAULT = '/etc/default/keepalived';

/** The bash line that writes `text` to `path` (base64 on the way: nothing in it reaches the shell). */
function writeFile(path: string, text: string): string {
  return `echo ${Buffer.from(text).toString('base64')} | base64 -d > ${shellQuote(path)}`;
}

/** Writes files (path → text) on a host, in one session. */
export async function putFiles(host: string, files: ReadonlyMap<string, string>, opts: LabOptions = {}): Promise<void> {
  await sh(host, [...files].map(([path, text]) => writeFile(path, text)).join('\n') || 'true', opts);
}

/** `keepalived --config-test` of `config` on `host` (written to a scratch file in its /tmp, removed after): its exit code and what it printed. */
export async function testKeepalivedConfig(host: string, config: string, opts: LabOptions = {}): Promise<{ readonly code: number; readonly output: string }> {
  const file = '/tmp/lvsc-lab-keepalived-test.conf';
  const out = await sh(host, `${writeFile(file, config)}\nset +e\nkeepalived --config-test --use-file=${file} 2>&1\necho ":::$?"\nrm -f ${file}`, opts);
  const at = out.lastIndexOf(':::');
  return { code: Number(out.slice(at + 3).trim()), output: out.slice(0, at) };
}

/** A keepalived started by `startKeepalived`. */
export interface Keepalived {
  readonly host: string;
  /** The parent process (Debian's /run/keepalived.pid in the host's /run). */
  readonly pid: number;
  /** The guest's clock (ms) just before it was started. */
  readonly startedAt: number;
}

/**
 * Starts keepalived on `host` as Debian's keepalived.service does: `keepalived
 * --dont-fork $DAEMON_ARGS`, DAEMON_ARGS read from the host's
 * KEEPALIVED_DEFAULT (as systemd reads it, never by a shell), the config from
 * KEEPALIVED_CONF; or with `options` instead of DAEMON_ARGS. It logs into the
 * host's /var/log/keepalived.log; resolves once its PID file names it.
 */
export async function startKeepalived(host: string, opts: LabOptions & { readonly options?: readonly string[] } = {}): Promise<Keepalived> {
  const options = opts.options ? ['--', ...opts.options].map(shellQuote).join(' ') : '';
  const out = await sh(host, `${LIB}\nat=$(lab_ms)\npid=$(lab_keepalived_start ${options})\necho "$pid $at"`, opts);
  const [pid, startedAt] = out.trim().split(' ').map(Number);
  return { host, pid, startedAt };
}

/** Reloads a keepalived as keepalived.service's reload does (SIGHUP: it rereads its config); resolves with the guest's clock (ms) when sent. */
export async function reloadKeepalived(k: Keepalived, opts: LabOptions = {}): Promise<number> {
  return Number((await sh(k.host, `${LIB}\nlab_keepalived_reload ${k.pid}\nlab_ms`, opts)).trim());
}

/** Stops a keepalived by its PID (SIGTERM) and waits for it and its children to exit. */
export async function stopKeepalived(k: Keepalived, opts: LabOptions = {}): Promise<void> {
  await sh(k.host, `${LIB}\nlab_keepalived_stop ${k.pid}`, opts);
}

/**
 * The keepalived running on `host` whatever started it (lvsc apply's start,
 * which forks as Debian's service does, or startKeepalived): the live
 * keepalived /run/keepalived.pid names, or undefined. `startedAt` is 0 (unknown).
 */
export async function runningKeepalived(host: string, opts: LabOptions = {}): Promise<Keepalived | undefined> {
  const out = (await sh(host, `${LIB}\npid=\n[ -s /run/keepalived.pid ] && read -r pid </run/keepalived.pid\nif [ -n "$pid" ] && lab_is "$pid" keepalived; then echo "$pid"; fi`, opts)).trim();
  return out ? { host, pid: Number(out), startedAt: 0 } : undefined;
}

/** Whether the keepalived `k` still runs (its PID is a live keepalived). */
export async function keepalivedRuns(k: Keepalived, opts: LabOptions = {}): Promise<boolean> {
  return (await sh(k.host, `${LIB}\nif lab_is ${k.pid} keepalived; then echo yes; else echo no; fi`, opts)).trim() === 'yes';
}

/** The host's keepalived log (every keepalived started there by startKeepalived, appended). */
export async function keepalivedLog(host: string, opts: LabOptions = {}): Promise<string> {
  return sh(host, 'cat /var/log/keepalived.log 2>/dev/null || true', opts);
}
