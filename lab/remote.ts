/**
 * Small steps on lab hosts over OpenSSH, shared by the smoke test, the
 * captures and the end-to-end tests: run a script (on one host, or on several
 * in one session), wait on a host for something to happen, read and restore
 * sysctls, unload the modules a run loaded.
 */
import { randomBytes } from 'node:crypto';
import { shellQuote } from '../compiler/command.js';
import { DAEMONS_LIB } from './guest-files.js';
import { labExec, type LabOptions } from './lab.js';
import { FAILOVER, HOSTS, SERVICES, addressOf, labHost } from './topology.js';

/** Runs a bash script on a lab host, stopping at its first failing command; returns stdout, throws on failure. */
export async function sh(host: string, script: string, opts: LabOptions = {}): Promise<string> {
  const r = await labExec(host, `set -e\n${script}`, { ...opts, timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`${host} exited ${r.code} running:\n${script}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/**
 * Runs bash scripts on lab hosts, in the order given, in ONE SSH session to the
 * jump host (each SSH session costs the TCG guest about 0.7 s of CPU): each
 * script runs in its host's namespaces (network, mount, UTS: its sshd's, as a
 * session on the host would), with `set -e` and stdin from /dev/null. Every
 * script runs, whatever the others did; returns their stdouts, or throws
 * naming the ones that failed.
 */
export async function shOn(scripts: readonly (readonly [host: string, script: string])[], opts: LabOptions = {}): Promise<string[]> {
  const nonce = randomBytes(8).toString('hex');
  const lines = scripts.map(([host, script], i) => {
    const name = labHost(host)?.name;
    if (!name) throw new Error(`no lab host ${host}`);
    const code = Buffer.from(`set -e\n${script}`).toString('base64');
    return `nsenter -t "$(cat /hosts/${name}/run/sshd.pid)" -n -m -u bash -c "$(echo ${code} | base64 -d)" </dev/null; printf '\\n:::${nonce} ${i} %d\\n' $?`;
  });
  const r = await labExec('jump', lines.join('\n'), { ...opts, timeoutMs: 180_000 });
  const parts = r.stdout.split(new RegExp(`\\n:::${nonce} (\\d+) (\\d+)\\n`));
  const out: string[] = [];
  const failed: string[] = [];
  for (let i = 0; i < scripts.length; i++) {
    const [text, index, status] = parts.slice(i * 3, i * 3 + 3);
    if (Number(index) !== i) throw new Error(`the jump host's session ended before ${scripts[i][0]}'s script (exit ${r.code}): ${r.stderr}`);
    out.push(text);
    if (status !== '0') failed.push(`${scripts[i][0]} exited ${status} running:\n${scripts[i][1]}`);
  }
  if (failed.length) throw new Error(`${failed.join('\n')}\nstderr: ${r.stderr}`);
  return out;
}

export interface WaitOptions {
  /** How long the checks may take to pass, all told (a generous bound: the guest is emulated). */
  readonly timeoutMs: number;
  /** Pause between two rounds of checks (default 100 ms). */
  readonly intervalMs?: number;
  /**
   * A command run once at the start of each round, its output in `$round` for
   * the checks (one `ipvsadm -Sn` for several checks of the table: under TCG
   * each program started costs tens of milliseconds of the guest's one CPU).
   */
  readonly round?: string;
}

/**
 * A bash script that polls `checks` (bash snippets, each passing when its last
 * command succeeds; see `round` in WaitOptions) every `intervalMs` in one process on the host, until each
 * has passed once; it prints the guest's clock (ms since the epoch, see
 * lab_ms in lab/guest/daemons.sh) at each one's first pass, in order, on one
 * line (`parseWaited` reads it). After `timeoutMs` it fails, printing each
 * check that never passed with its last output. For `sh` or `shOn` (after a
 * change made in the same session, to time how long it takes to show).
 */
export function waitScript(checks: readonly string[], opts: WaitOptions): string {
  if (!checks.length) throw new Error('bug: waitScript needs a check');
  const ids = checks.map((_, i) => i).join(' ');
  return [
    `. ${DAEMONS_LIB}`,
    ...checks.map((c, i) => `lab_check_${i}() {\n${c}\n}`),
    `deadline=$(( $(lab_ms) + ${Math.ceil(opts.timeoutMs)} ))`,
    'declare -a passed=() last=()',
    'while :; do',
    ...(opts.round ? [`  round=$(${opts.round} 2>&1) || true`] : []),
    `  for i in ${ids}; do`,
    '    [ -z "${passed[i]:-}" ] || continue',
    '    if out=$(lab_check_$i 2>&1); then passed[i]=$(lab_ms); else last[i]=$out; fi',
    '  done',
    `  [ "\${#passed[@]}" -lt ${checks.length} ] || break`,
    '  if [ "$(lab_ms)" -ge "$deadline" ]; then',
    `    for i in ${ids}; do if [ -z "\${passed[i]:-}" ]; then printf 'check %d did not pass within %d ms; its last output:\\n%s\\n' "$i" ${Math.ceil(opts.timeoutMs)} "\${last[i]:-}" >&2; fi; done`,
    '    exit 1',
    '  fi',
    `  sleep ${((opts.intervalMs ?? 100) / 1000).toFixed(3)}`,
    'done',
    `echo "\${passed[*]}"`,
  ].join('\n');
}

/** The guest clock times `waitScript` printed. */
export function parseWaited(out: string): number[] {
  return out.trim().split(/\s+/).map(Number);
}

/** Waits on `host` until each of `checks` has passed once (see waitScript); resolves with the guest's clock (ms) at each one's first pass. */
export async function waitFor(host: string, checks: readonly string[], opts: WaitOptions & LabOptions): Promise<number[]> {
  return parseWaited(await sh(host, waitScript(checks, opts), opts));
}

/** A check for waitScript with `round: 'ipvsadm -Sn'`: the table has this line (bash alone, no program started). */
export function roundHasLine(line: string): string {
  return `[[ $'\\n'"$round"$'\\n' == *$'\\n'${shellQuote(line)}$'\\n'* ]]`;
}

/** A check for waitScript: the host's IPVS table, `ipvsadm -Sn`, is exactly these lines (in any order). */
export function ipvsTableIs(lines: readonly string[]): string {
  if (!lines.length) return '[ -z "$(ipvsadm -Sn)" ]';
  return `diff <(ipvsadm -Sn | LC_ALL=C sort) <(printf '%s\\n' ${[...lines].sort().map(shellQuote).join(' ')})`;
}

/**
 * Throws unless every director (lb1, and lb2 of the failover pair) is as the lab
 * booted it: no IPVS services and none of the lab's VIPs or floating addresses,
 * whatever their prefix (runs that set things up by hand need a fresh lab, not one
 * that lvsc apply or another run has configured).
 */
export async function assertFreshDirector(opts: LabOptions = {}): Promise<void> {
  const vips = [...Object.values(SERVICES).map((s) => s.vip), ...Object.values(FAILOVER.floating).map(addressOf)];
  const directors = HOSTS.filter((h) => h.role === 'director').map((h) => h.name);
  const script = `if [ -e /proc/net/ip_vs ]; then ipvsadm -Sn; fi; ip -o -4 addr show | awk '{print $4}' | grep -E '^(${vips.map((v) => v.replace(/\./g, '\\.')).join('|')})/[0-9]+$' || true`;
  const found = (await shOn(directors.map((d) => [d, script] as const), opts)).map((out, i) => [directors[i], out.trim()] as const).filter(([, out]) => out);
  if (found.length) {
    throw new Error(
      `${found.map(([d]) => d).join(' and ')} ${found.length > 1 ? 'are' : 'is'} not as the lab booted it: IPVS services or VIPs (left by \`lvsc lab demo\`, an \`lvsc apply\` of the lab's cluster file, or another run). ` +
        `Stop the lab with \`lvsc lab down\` (or \`npm run lab -- down\`) and run this again: it boots a fresh one. Found:\n${found.map(([d, out]) => `${d}:\n${out}`).join('\n')}`,
    );
  }
}

/** The names in /proc/modules (the guest has one kernel: any host sees them all). */
export async function loadedModules(opts: LabOptions = {}): Promise<Set<string>> {
  return new Set((await sh('jump', 'cat /proc/modules', opts)).split('\n').filter(Boolean).map((l) => l.split(' ')[0]));
}

/** Unloads every module loaded since `before` was read (dependencies once nothing uses them); throws if some stay. */
export async function unloadModulesSince(before: ReadonlySet<string>, opts: LabOptions = {}): Promise<void> {
  const added = [...(await loadedModules(opts))].filter((m) => !before.has(m));
  if (!added.length) return;
  const rounds = added.map((_, i) => i + 1).join(' ');
  await sh(
    'jump',
    `for round in ${rounds}; do for m in ${added.join(' ')}; do if awk -v m="$m" '$1 == m && $3 == 0 { f = 1 } END { exit !f }' /proc/modules; then rmmod "$m"; fi; done; done`,
    opts,
  );
  const left = [...(await loadedModules(opts))].filter((m) => !before.has(m));
  if (left.length) throw new Error(`modules loaded since are still loaded: ${left.join(', ')}`);
}

/** The current values of sysctls on a host, to put back later with `sysctlWrite`. */
export async function sysctlValues(host: string, keys: readonly string[], opts: LabOptions = {}): Promise<Map<string, string>> {
  const values = (await sh(host, `sysctl -n ${keys.join(' ')}`, opts)).trim().split('\n');
  return new Map(keys.map((k, i) => [k, values[i]]));
}

/** One `sysctl -w` command line setting these values. */
export function sysctlWrite(values: ReadonlyMap<string, string | number>): string {
  return `sysctl -q -w ${[...values].map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

/** The DR/TUN real-server ARP settings: never answer ARP for the VIP, never announce it. */
export const ARP_KEYS = ['net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce', 'net.ipv4.conf.lo.arp_ignore', 'net.ipv4.conf.lo.arp_announce'] as const;

export function arpSettings(): Map<string, number> {
  return new Map(ARP_KEYS.map((k) => [k, k.endsWith('arp_ignore') ? 1 : 2]));
}
