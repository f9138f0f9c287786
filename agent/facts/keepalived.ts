/**
 * keepalived on a director: whether it is installed (its path and version
 * line), whether it runs (the pid in its pid file, and whether that process
 * is a live keepalived), and its view of each checked server, as the notify
 * script lvsc renders (compiler/templates/keepalived-notify.sh.hbs) recorded
 * it: one file per server under HEALTH_DIR holding one line
 * `STATE KIND A B ADDRESS PORT SINCE`.
 *
 * One `sh -c` with a fixed script; the directory and the pid file reach it as
 * positional arguments. Every line it prints starts with `lvsc-keepalived `,
 * so a state file's content can only ever be a `health` line's tail, which
 * the parser reads as strictly as the script wrote it (anything else is
 * skipped and said).
 */
import { cmd } from '../../compiler/command.js';
import { HEALTH_DIR, KEEPALIVED_PID, type ServerHealth } from '../../compiler/keepalived.js';
import type { ServiceId } from '../../compiler/state.js';
import { canonicalAddress } from '../../lang/address.js';
import type { Fact } from './fact.js';

export interface KeepalivedFacts {
  /** null: no `keepalived` on PATH. */
  readonly installed: { readonly path: string; readonly version: string | undefined } | null;
  /** The pid file's process, when it is a running keepalived; null when there is none (no file, a stale pid). */
  readonly running: { readonly pid: number } | null;
  /** What the pid file said when keepalived is not running: absent, or a pid that is gone. */
  readonly pidFile: 'absent' | 'stale' | 'running';
  readonly health: readonly ServerHealth[];
}

const SCRIPT = [
  'p=lvsc-keepalived',
  'if k=$(command -v keepalived); then',
  `  printf '%s binary %s\\n' "$p" "$k"`,
  `  printf '%s version %s\\n' "$p" "$("$k" --version 2>&1 </dev/null | head -n 1)"`,
  `else printf '%s binary none\\n' "$p"; fi`,
  'pid=',
  '[ -r "$2" ] && read -r pid < "$2"',
  'case $pid in',
  `  '') printf '%s pid none\\n' "$p" ;;`,
  `  *[!0-9]*) printf '%s pid unreadable\\n' "$p" ;;`,
  '  *) comm=',
  '    if [ -r "/proc/$pid/comm" ]; then read -r comm < "/proc/$pid/comm"',
  '    elif kill -0 "$pid" 2>/dev/null; then comm=keepalived; fi',
  `    if [ "$comm" = keepalived ]; then printf '%s pid %s running\\n' "$p" "$pid"; else printf '%s pid %s stale\\n' "$p" "$pid"; fi ;;`,
  'esac',
  'for f in "$1"/*; do',
  '  [ -f "$f" ] || continue',
  `  printf '%s health ' "$p"; head -n 1 "$f"; echo`,
  'done',
].join('\n');

const ADDRESS_KINDS = new Set(['tcp', 'udp', 'sctp']);
const NUMBER = /^\d+$/;

/** One state line (`up tcp 10.3.0.100 80 10.3.0.11 80 1700000000`), or why not. */
export function parseHealthLine(line: string): ServerHealth | string {
  const w = line.trim().split(/\s+/);
  if (w.length !== 7) return 'not 7 words';
  const [state, kind, a, b, address, port, since] = w;
  if (state !== 'up' && state !== 'down') return `state ${state} is not up or down`;
  let service: ServiceId;
  if (ADDRESS_KINDS.has(kind)) {
    const vip = canonicalAddress(a);
    if (!vip || !NUMBER.test(b) || Number(b) > 65535) return 'not a service address and port';
    service = { kind: 'addr', proto: kind as 'tcp' | 'udp' | 'sctp', address: vip, port: Number(b) };
  } else if (kind === 'fwmark') {
    if (!NUMBER.test(a) || (b !== '4' && b !== '6')) return 'not a mark and a family';
    service = { kind: 'fwmark', mark: Number(a), family: b === '6' ? 6 : 4 };
  } else return `service kind ${kind} is not tcp, udp, sctp or fwmark`;
  const rip = canonicalAddress(address);
  if (!rip || !NUMBER.test(port) || Number(port) > 65535) return 'not a server address and port';
  if (!NUMBER.test(since)) return 'the time is not a number';
  return { state, service, dest: { address: rip, port: Number(port) }, since: Number(since) };
}

/**
 * The host's clock (seconds since the epoch) just before a director's table
 * is read: a health record keepalived changed at or after it (its `since`)
 * may say what the table read before it does not show yet, or no longer
 * shows (the server went down or up while the facts were read, seconds under
 * load). The batch leaves such records out (`settledHealth`).
 */
export const clockFact: Fact<number> = {
  name: 'clock',
  tool: 'date',
  command: () => cmd('date', '+%s'),
  parse(stdout) {
    const t = stdout.trim();
    return /^\d+$/.test(t) ? { value: Number(t), warnings: [] } : { value: 0, warnings: [], unreadable: [`\`${t.slice(0, 40)}\` is not a time`] };
  },
};

/** The health records that did not change while the table was read (from `clock` on): those the table agrees with. */
export function settledHealth(health: readonly ServerHealth[], clock: number | undefined): ServerHealth[] {
  return clock === undefined ? [...health] : health.filter((h) => h.since < clock);
}

export function keepalivedFact(healthDir: string = HEALTH_DIR, pidFile: string = KEEPALIVED_PID): Fact<KeepalivedFacts> {
  return {
    name: 'keepalived',
    tool: 'sh',
    command: () => cmd('sh', '-c', SCRIPT, 'sh', healthDir, pidFile),
    parse(stdout) {
      const warnings: string[] = [];
      let installed: KeepalivedFacts['installed'] = null;
      let running: KeepalivedFacts['running'] = null;
      let pidFileState: KeepalivedFacts['pidFile'] = 'absent';
      const health: ServerHealth[] = [];
      for (const line of stdout.split('\n')) {
        if (line.trim() === '') continue;
        const m = /^lvsc-keepalived (binary|version|pid|health) (.*)$/.exec(line);
        if (!m) {
          warnings.push(`skipped \`${line}\`: not a line of the keepalived fact`);
          continue;
        }
        const rest = m[2];
        if (m[1] === 'binary') installed = rest === 'none' ? null : { path: rest, version: undefined };
        else if (m[1] === 'version') {
          const found = installed as KeepalivedFacts['installed'];
          if (found) installed = { path: found.path, version: rest.trim() || undefined };
        } else if (m[1] === 'pid') {
          const p = /^(\d+) (running|stale)$/.exec(rest);
          if (p?.[2] === 'running') {
            running = { pid: Number(p[1]) };
            pidFileState = 'running';
          } else if (p) pidFileState = 'stale';
          else if (rest === 'unreadable') {
            pidFileState = 'stale';
            warnings.push(`keepalived's pid file does not hold a pid`);
          }
        } else {
          const h = parseHealthLine(rest);
          if (typeof h === 'string') warnings.push(`skipped health record \`${rest}\`: ${h}`);
          else health.push(h);
        }
      }
      return { value: { installed, running, pidFile: pidFileState, health }, warnings };
    },
  };
}
