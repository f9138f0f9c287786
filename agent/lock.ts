/**
 * The per-host apply lock. A long-running remote shell takes `flock` on
 * /run/lock/lvsc.lock, writes who holds it into the file, says so on its
 * output (the run waits for that line, polling nothing), and stays for as
 * long as the SSH session lives: it writes a byte a second to its channel, so
 * when the connection is gone the write fails and the shell exits, and the
 * kernel frees the lock. A second apply fails at once and says who holds it.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Command } from '../compiler/command.js';
import type { RunResult, Transport } from './transport/transport.js';

export const DEFAULT_LOCK_PATH = '/run/lock/lvsc.lock';

export interface LockHolder {
  /** Who: user@machine, as given to `acquireHostLock`. */
  owner: string;
  /** The lvsc process on the owner's machine. */
  pid: number | undefined;
  /** When the lock was taken (ISO 8601, the owner's clock). */
  since: string | undefined;
}

export interface HostLock {
  readonly host: string;
  readonly holder: LockHolder;
  /** False once released, or once the connection holding it is gone. */
  readonly held: boolean;
  /** Frees the lock; waits until the remote side has let go. Safe to call twice. */
  release(): Promise<void>;
}

export interface HostLockOptions {
  /** The lock file on the host (default /run/lock/lvsc.lock). */
  path?: string;
  /** How long the host may take to confirm the lock is taken (default 60 s). */
  confirmWithinMs?: number;
}

/** The lock could not be taken: `holder` says who has it, or is undefined when the attempt itself failed. */
export class HostLockError extends Error {
  override readonly name = 'HostLockError';

  constructor(
    readonly host: string,
    readonly holder: LockHolder | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `user@machine` of this process, for the lock record. */
export function localOwner(): string {
  return `${userInfo().username}@${hostname()}`;
}

const BUSY = 75;

/** What the holder prints once it has the lock and its record is written (HOLD_SCRIPT's `printf 'locked\\n'`). */
const LOCKED = 'locked\n';

/**
 * $1 lock file, $2 the record to write. Exits 75 with the current record when
 * the lock is taken; otherwise writes the record, says LOCKED and stays.
 */
const HOLD_SCRIPT = `lock=$1
exec 9>>"$lock"
if ! flock -n 9; then
  held=$(cat -- "$lock") n=0
  while [ -z "$held" ] && [ $n -lt 20 ]; do sleep 0.05; held=$(cat -- "$lock"); n=$((n+1)); done
  printf '%s\\n' "$held"
  exit ${BUSY}
fi
printf '%s\\nholder=%s\\n' "$2" "$$" > "$lock"
trap '' PIPE
trap ': > "$lock"; exit 0' TERM HUP INT
printf 'locked\\n' 2>/dev/null &&
while printf . 2>/dev/null; do sleep 1 </dev/null >/dev/null 2>&1 9>&- & wait $!; done
: > "$lock"`;

/**
 * How long the holder may take to say it has the lock. Nothing is polled while
 * waiting, so this only bounds a host that is alive but stuck; a slow one (an
 * emulated VM under load takes seconds per session) still gets there.
 */
const CONFIRM_WITHIN_MS = 60_000;

/** How often a holder that did not confirm in time is told to stop before lvsc gives up on it (the connection's end frees it anyway). */
const RELEASE_ATTEMPTS = 5;

/** $1 lock file, $2 token: stops the holder shell if the record is still ours. */
const RELEASE_SCRIPT = `grep -qx "token=$2" "$1" || exit 3
kill -TERM "$(sed -n 's/^holder=//p' "$1")"`;

function shell(script: string, name: string, ...args: string[]): Command {
  return { argv: ['sh', '-c', script, name, ...args] };
}

export async function acquireHostLock(transport: Transport, owner: string, options: HostLockOptions = {}): Promise<HostLock> {
  const path = options.path ?? DEFAULT_LOCK_PATH;
  const confirmWithinMs = options.confirmWithinMs ?? CONFIRM_WITHIN_MS;
  const token = randomBytes(12).toString('hex');
  const holder: LockHolder = { owner: owner.replace(/\s+/g, ' ').trim(), pid: process.pid, since: new Date().toISOString() };
  const record = `owner=${holder.owner}\npid=${holder.pid}\nsince=${holder.since}\ntoken=${token}`;
  const host = transport.host;

  // Held for as long as the session lives: no command timeout. It says LOCKED once the lock and its record are in place.
  let said = '';
  let confirm!: () => void;
  const confirmed = new Promise<'confirmed'>((resolve) => (confirm = () => resolve('confirmed')));
  const onStdout = (text: string): void => {
    if (said.length < LOCKED.length) said += text;
    if (said.startsWith(LOCKED)) confirm();
  };
  const holding = transport.run(shell(HOLD_SCRIPT, 'lvsc-lock', path, record), { sudo: true, timeoutMs: 0, onStdout });
  const ended = holding.then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, confirmWithinMs, 'late')));
  const first = await Promise.race([ended, confirmed, late]);
  clearTimeout(timer);
  if (first === 'late') {
    // The holder never said it has the lock: stop it, and report what it said if it ended. Its
    // record (which the release looks for) may be late too: try again, a second apart, a few times.
    let outcome: Awaited<typeof ended> | undefined;
    for (let attempt = 0; attempt < RELEASE_ATTEMPTS && !outcome; attempt++) {
      await transport.run(shell(RELEASE_SCRIPT, 'lvsc-unlock', path, token), { sudo: true }).catch(() => undefined);
      outcome = await Promise.race([ended, new Promise<undefined>((r) => setTimeout(r, 1_000, undefined))]);
    }
    // A holder that failed on its own says why; one that ended because it was stopped (exit 0) or is still going has said nothing.
    if (outcome && !('result' in outcome && outcome.result.code === 0)) throw lockFailure(host, path, outcome);
    throw new HostLockError(
      host,
      undefined,
      `could not confirm the lvsc lock ${path} on ${host} within ${confirmWithinMs / 1000} s: the host is alive but did not answer in time; try again`,
    );
  }
  if (first !== 'confirmed') throw lockFailure(host, path, first);

  let held = true;
  void ended.then(() => {
    held = false;
  });
  let releasing: Promise<void> | undefined;
  return {
    host,
    holder,
    get held() {
      return held;
    },
    release() {
      releasing ??= (async () => {
        if (!held) return;
        let refused = '';
        try {
          const result = await transport.run(shell(RELEASE_SCRIPT, 'lvsc-unlock', path, token), { sudo: true });
          if (result.code !== 0) refused = result.stderr.trim() || `the record in ${path} is no longer this run's`;
        } catch {
          // The connection is gone, and with it the holder and the lock.
        }
        const gone = await Promise.race([ended.then(() => true), new Promise<false>((r) => setTimeout(r, 5_000, false))]);
        if (!gone) {
          throw new HostLockError(host, holder, `could not release the lvsc lock on ${host}${refused ? ` (${refused})` : ''}; closing the connection to ${host} frees it`);
        }
        held = false;
      })();
      return releasing;
    },
  };
}

function lockFailure(host: string, path: string, outcome: { result: RunResult } | { error: unknown }): HostLockError {
  if ('error' in outcome) {
    const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    return new HostLockError(host, undefined, `could not take the lvsc lock on ${host}: ${message}`, { cause: outcome.error });
  }
  const { result } = outcome;
  if (result.code === BUSY) {
    const holder = parseRecord(result.stdout);
    const who = holder.owner === '' ? 'an lvsc run that has not written its name yet' : describeHolder(holder);
    return new HostLockError(
      host,
      holder,
      `${host} is locked by another lvsc apply: ${who}. Wait for it to finish; the lock is freed when that run's SSH connection ends (${path}).`,
    );
  }
  const why = result.stderr.trim() || `exit code ${result.code}`;
  const hint = /flock: (command )?not found/.test(result.stderr) ? ' (install util-linux, which provides flock)' : '';
  return new HostLockError(host, undefined, `could not take the lvsc lock ${path} on ${host}: ${why}${hint}`);
}

function parseRecord(text: string): LockHolder {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  const pid = Number(fields.get('pid'));
  return { owner: fields.get('owner') ?? '', pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, since: fields.get('since') };
}

function describeHolder(holder: LockHolder): string {
  const parts = [holder.owner];
  if (holder.pid !== undefined) parts.push(`pid ${holder.pid}`);
  if (holder.since !== undefined) {
    const minutes = Math.round((Date.now() - Date.parse(holder.since)) / 60_000);
    parts.push(`since ${holder.since}${Number.isFinite(minutes) && minutes >= 1 ? ` (${minutes} min ago)` : ''}`);
  }
  return parts.join(', ');
}
