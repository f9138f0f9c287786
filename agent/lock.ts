/**
 * The per-host apply lock. A long-running remote shell, the holder, takes
 * `flock` on lvsc's own lock directory (/run/lvsc/lock: made by lvsc, root's,
 * mode 0700, in a directory of root's that no one else can write), writes who holds it into the record there, says so on its output (the
 * run waits for that line, polling nothing), and stays while lvsc keeps
 * talking to it:
 *
 * - lvsc writes a line to the holder's input every second (its heartbeat) and
 *   the holder answers each with a byte. The holder lets go when a whole
 *   watch window (8 s) passes without a heartbeat, so a run whose machine died
 *   or lost its network frees the lock within two windows, whatever the host's
 *   sshd and TCP settings (sshd cannot notice such a client sooner than TCP
 *   gives up on it, about 15 minutes by default, while the holder has
 *   something to send). lvsc, for its part, counts its lock as lost when the
 *   holder has not answered for two windows.
 * - The input's end (the release, or the connection's) and a TERM from the
 *   release both end it at once; the kernel frees the flock with the holder.
 *
 * A second apply fails at once and says who holds the lock. With `breakStale`
 * it waits instead, and takes a lock whose holder is provably gone: one that
 * is let go while it waits (a vanished run's), or one whose holder is alive
 * but has heard nothing from its run for three windows (stuck: stopped,
 * frozen), which it kills. A holder that still hears from its run is never
 * broken.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Command } from '../compiler/command.js';
import type { RunResult, Transport } from './transport/transport.js';

/**
 * Where the lock lives on a host: a directory lvsc makes, root's and 0700, inside lvsc's own
 * directory (/run/lvsc, root's, not writable by others; the keepalived notify script keeps its
 * health records there too, mode 755). The flock is on the lock directory itself.
 */
export const LOCK_DIR = '/run/lvsc/lock';

/** The holder's record in the lock directory: who holds the lock. */
export const LOCK_RECORD = 'holder';

/** How long (seconds) the holder waits for a heartbeat before it lets go, by default. */
export const WATCH_WINDOW_S = 8;

/** How often lvsc sends the holder a heartbeat. */
const HEARTBEAT_MS = 1_000;

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
  /** False once released, or once the lock is lost (the connection holding it ended, or the holder stopped answering). */
  readonly held: boolean;
  /** Why the lock was lost while this run still wanted it; undefined while held and after a release. */
  readonly lost: string | undefined;
  /** With `breakStale`: whose lock was broken to take this one. */
  readonly broke: LockHolder | undefined;
  /** Frees the lock; waits until the remote side has let go. Safe to call twice. */
  release(): Promise<void>;
}

export interface HostLockOptions {
  /**
   * The lock directory on the host (default /run/lvsc/lock). lvsc makes it and its parent when missing; the parent
   * must be root's and not writable by others, and so must the parent's parent, which must exist.
   */
  dir?: string;
  /** How long the host may take to confirm the lock is taken (default 60 s). */
  confirmWithinMs?: number;
  /** The holder's watch window in whole seconds (default 8): it lets go after a window without a heartbeat. */
  windowSeconds?: number;
  /**
   * When the lock is held: wait for it, and break it if its holder is provably gone (see above),
   * instead of failing at once. Never breaks a lock whose holder still hears from its run.
   */
  breakStale?: boolean;
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

/** The holder's exit codes: the lock is taken; a program is missing; the lock directory is unusable; no heartbeat for a window. */
const BUSY = 75;
const NO_HEARTBEAT = 76;

/** What the holder prints once it has the lock and its record is written (HOLD_SCRIPT's `printf 'locked\\n'`). */
const LOCKED = /(?:^|\n)locked\n/;

/**
 * $1 lock directory, $2 the record to write, $3 the watch window (s), $4 `take` or `break`.
 *
 * Why the directory is safe to use as root: its parent (lvsc's directory, /run/lvsc, which
 * the keepalived notify script shares and lvsc makes with mode 755 when missing) and that
 * one's parent (/run) must be root's and not writable by anyone else, so no one but root can
 * make, replace or remove an entry in either; neither the parent nor the lock directory may be
 * a symbolic link (checked before use; with the parents as they are, nothing can swap them
 * in between, so this is O_NOFOLLOW's effect); and what was opened (fd 9) must be a directory
 * of root's with mode 700, checked on the descriptor itself, not on the name. No one but root
 * can then open it (to flock it) or create anything in it, so the record and the heartbeat
 * file inside are written through it (/proc/$$/fd/9/...) without any link to follow.
 *
 * Exits 75 with the current record when the lock is taken (after `why=...` when breaking
 * refused); 69 when a program is missing; 70 when the directory is unusable; otherwise writes
 * the record, says LOCKED (after `broke KEY=VALUE` lines when it broke a stuck holder's lock)
 * and stays: it reads heartbeat lines, answers each with a byte and counts them in `beat`; a
 * watchdog (a subshell without the lock) sends it USR1 when a window passes without one,
 * and it then exits 76. End of input, TERM, HUP or INT: it clears the record and exits 0.
 */
const HOLD_SCRIPT = `dir=$1 record=$2 window=$3 mode=$4
missing() { printf '%s is not installed (the %s package provides it)\\n' "$1" "$2" >&2; exit 69; }
command -v flock >/dev/null 2>&1 || missing flock util-linux
command -v stat >/dev/null 2>&1 || missing stat coreutils
command -v sleep >/dev/null 2>&1 || missing sleep coreutils
bad() { printf '%s\\n' "$*" >&2; exit 70; }
parent=\${dir%/*}
parent=\${parent:-/}
top=\${parent%/*}
top=\${top:-/}
[ -d "$top" ] || bad "$top does not exist"
set -- $(stat -L -c '%u %a' -- "$top")
[ "$1" = 0 ] && [ $((0$2 & 022)) = 0 ] || bad "$top is owned by uid $1 with mode $2: lvsc keeps its lock only in a directory that no one but root can change"
[ -e "$parent" ] || [ -L "$parent" ] || mkdir -m 755 -- "$parent" 2>/dev/null
[ ! -L "$parent" ] || bad "$parent is a symbolic link: lvsc's directory must be a directory of root's (remove the link; lvsc makes the directory)"
[ -d "$parent" ] || bad "$parent is not a directory: lvsc's directory must be a directory of root's (remove it; lvsc makes the directory)"
set -- $(stat -c '%u %a' -- "$parent")
[ "$1" = 0 ] && [ $((0$2 & 022)) = 0 ] || bad "$parent is owned by uid $1 with mode $2: lvsc keeps its lock only in a directory that no one but root can change (chown 0 and chmod go-w it)"
mkdir -m 700 -- "$dir" 2>/dev/null
[ ! -L "$dir" ] || bad "$dir is a symbolic link: lvsc's lock directory must be a directory of root's (remove the link; lvsc makes the directory)"
[ -d "$dir" ] || bad "$dir is not a directory: lvsc's lock directory must be a directory of root's (remove it; lvsc makes the directory)"
exec 9<"$dir"
at=/proc/$$/fd/9
[ -d "$at" ] || bad "/proc is not mounted: lvsc checks its lock directory through /proc/self/fd"
set -- $(stat -L -c '%u %a' "$at")
[ "$1" = 0 ] && [ "$2" = 700 ] || bad "$dir is owned by uid $1 with mode $2, not by root with mode 700: lvsc refuses a lock directory that others can reach (remove it and lvsc makes it again, or chown 0 and chmod 700 it)"
busy() {
  held=$(cat "$at/holder" 2>/dev/null) n=0
  while [ -z "$held" ] && [ $n -lt 20 ]; do sleep 0.05; held=$(cat "$at/holder" 2>/dev/null); n=$((n+1)); done
  printf '%s\\n' "$held"
  [ -z "$1" ] || printf 'why=%s\\n' "$1"
  exit ${BUSY}
}
field() { sed -n "s/^$1=//p" "$at/holder" 2>/dev/null; }
broke=
flock -n 9
rc=$?
if [ $rc -ne 0 ]; then
  [ $rc -eq 1 ] || bad "flock failed on $dir (exit code $rc)"
  [ "$mode" = break ] || busy
  w=$(field window)
  case $w in ''|*[!0-9]*) w=$window;; esac
  seen= waited=0
  until flock -w 1 9; do
    now=
    [ ! -e "$at/beat" ] || read -r now < "$at/beat"
    if [ -n "$now" ]; then
      [ -z "$seen" ] || [ "$now" = "$seen" ] || busy alive
      seen=$now
    fi
    waited=$((waited+1))
    if [ $waited -ge $((3*w)) ]; then
      h=$(field holder)
      [ -n "$h" ] && [ "/proc/$h/fd/9" -ef "$at" ] || busy foreign
      broke=$(cat "$at/holder")
      kill -KILL "$h"
      flock -w 5 9 || busy
      break
    fi
  done
fi
wd=
quit() { trap '' TERM HUP INT USR1; [ -z "$wd" ] || kill "$wd" 2>/dev/null; : > "$at/holder"; exit "$1"; }
trap 'quit 0' TERM HUP INT
trap 'quit ${NO_HEARTBEAT}' USR1
trap '' PIPE
printf '%s\\nholder=%s\\n' "$record" "$$" > "$at/holder"
echo 0 > "$at/beat"
(
  last=0
  while sleep "$window"; do
    [ "$at" -ef "$dir" ] || exit 0
    now=
    read -r now < "$at/beat"
    if [ -n "$now" ]; then
      [ "$now" != "$last" ] || { kill -USR1 $$; exit 0; }
      last=$now
    fi
  done
) 9<&- </dev/null >/dev/null 2>&1 &
wd=$!
[ -z "$broke" ] || printf '%s\\n' "$broke" | sed 's/^/broke /'
printf 'locked\\n'
n=0
while read -r _; do
  n=$((n+1))
  echo "$n" > "$at/beat"
  printf . 2>/dev/null
done
quit 0`;

/**
 * How long the holder may take to say it has the lock. Nothing is polled while
 * waiting, so this only bounds a host that is alive but stuck; a slow one (an
 * emulated VM under load takes seconds per session) still gets there.
 */
const CONFIRM_WITHIN_MS = 60_000;

/** How often a holder that did not confirm in time is told to stop before lvsc gives up on it (the connection's end frees it anyway). */
const RELEASE_ATTEMPTS = 5;

/** $1 lock directory, $2 token: stops the holder shell if the record is still ours. */
const RELEASE_SCRIPT = `grep -qx "token=$2" "$1/${LOCK_RECORD}" || exit 3
kill -TERM "$(sed -n 's/^holder=//p' "$1/${LOCK_RECORD}")"`;

function shell(script: string, name: string, ...args: string[]): Command {
  return { argv: ['sh', '-c', script, name, ...args] };
}

/** The heartbeat: a line every `everyMs` until stopped, as the holder's input. */
function heartbeat(everyMs: number): { input: AsyncIterable<string>; stop(): void } {
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    input: {
      async *[Symbol.asyncIterator]() {
        while (!stopped) {
          yield '\n';
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, everyMs);
            // The connection keeps the process alive while the lock is held, not the heartbeat.
            timer.unref();
          });
        }
      },
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
    },
  };
}

export async function acquireHostLock(transport: Transport, owner: string, options: HostLockOptions = {}): Promise<HostLock> {
  const dir = options.dir ?? LOCK_DIR;
  const confirmWithinMs = options.confirmWithinMs ?? CONFIRM_WITHIN_MS;
  const window = options.windowSeconds ?? WATCH_WINDOW_S;
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`windowSeconds must be a whole number of seconds, at least 1 (got ${window})`);
  const token = randomBytes(12).toString('hex');
  const holder: LockHolder = { owner: owner.replace(/\s+/g, ' ').trim(), pid: process.pid, since: new Date().toISOString() };
  const record = `owner=${holder.owner}\npid=${holder.pid}\nsince=${holder.since}\ntoken=${token}\nwindow=${window}`;
  const host = transport.host;

  // Held while the heartbeat goes on: no command timeout. It says LOCKED once the lock and its record are in place,
  // then answers each heartbeat with a byte.
  let said = '';
  let locked = false;
  let answered = Date.now();
  let confirm!: () => void;
  const confirmed = new Promise<'confirmed'>((resolve) => (confirm = () => resolve('confirmed')));
  const onStdout = (text: string): void => {
    answered = Date.now();
    if (locked) return;
    said += text;
    if (LOCKED.test(said)) {
      locked = true;
      confirm();
    }
  };
  const beats = heartbeat(HEARTBEAT_MS);
  const holding = transport.run(shell(HOLD_SCRIPT, 'lvsc-lock', dir, record, String(window), options.breakStale ? 'break' : 'take'), {
    sudo: true,
    timeoutMs: 0,
    onStdout,
    input: beats.input,
  });
  const ended = holding.then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  void ended.then(() => beats.stop());
  // Breaking waits for a stuck holder for three of its windows (and up to 5 s for the kill); the confirmation may take that much longer.
  const confirmMs = confirmWithinMs + (options.breakStale ? 3 * Math.max(window, WATCH_WINDOW_S) * 1_000 + 5_000 : 0);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, confirmMs, 'late')));
  const first = await Promise.race([ended, confirmed, late]);
  clearTimeout(timer);
  if (first === 'late') {
    // The holder never said it has the lock: end its input and stop it, and report what it said if it ended. Its
    // record (which the release looks for) may be late too: try again, a second apart, a few times.
    beats.stop();
    let outcome: Awaited<typeof ended> | undefined;
    for (let attempt = 0; attempt < RELEASE_ATTEMPTS && !outcome; attempt++) {
      await transport.run(shell(RELEASE_SCRIPT, 'lvsc-unlock', dir, token), { sudo: true }).catch(() => undefined);
      outcome = await Promise.race([ended, new Promise<undefined>((r) => setTimeout(r, 1_000, undefined))]);
    }
    // A holder that failed on its own says why; one that ended because it was stopped (exit 0) or is still going has said nothing.
    if (outcome && !('result' in outcome && outcome.result.code === 0)) throw lockFailure(host, dir, outcome, options.breakStale === true);
    throw new HostLockError(
      host,
      undefined,
      `could not confirm the lvsc lock ${dir} on ${host} within ${confirmMs / 1000} s: the host is alive but did not answer in time; try again`,
    );
  }
  if (first !== 'confirmed') throw lockFailure(host, dir, first, options.breakStale === true);
  const broken = [...said.matchAll(/^broke (.*)$/gm)].map((m) => m[1]).join('\n');
  const broke = broken ? parseRecord(broken) : undefined;

  let held = true;
  let lost: string | undefined;
  let releasing: Promise<void> | undefined;
  const lose = (why: string): void => {
    if (!held || releasing) return;
    held = false;
    lost = why;
    beats.stop();
  };
  // lvsc's side of the heartbeat: a holder that has not answered for two windows counts as gone, as the
  // holder counts a run it has not heard from for a window (checked every window: within two, then).
  const watch = setInterval(() => {
    const silent = Date.now() - answered;
    if (silent > 2 * window * 1_000) lose(`the lock's holder on ${host} has not answered for ${Math.round(silent / 1000)} s; the lock counts as lost`);
  }, 1_000);
  watch.unref();
  void ended.then((outcome) => {
    clearInterval(watch);
    if ('result' in outcome && outcome.result.code === NO_HEARTBEAT) {
      lose(`the lock's holder on ${host} heard nothing from this run for ${window} s and let the lock go`);
    } else {
      const why = 'error' in outcome ? (outcome.error instanceof Error ? outcome.error.message : String(outcome.error)) : `its holder ended (exit code ${outcome.result.code})`;
      lose(`the lvsc lock on ${host} is gone: ${why}`);
    }
    held = false;
  });
  return {
    host,
    holder,
    broke,
    get held() {
      return held;
    },
    get lost() {
      return lost;
    },
    release() {
      releasing ??= (async () => {
        clearInterval(watch);
        if (!held) {
          beats.stop();
          return;
        }
        let refused = '';
        try {
          const result = await transport.run(shell(RELEASE_SCRIPT, 'lvsc-unlock', dir, token), { sudo: true });
          if (result.code !== 0) refused = result.stderr.trim() || `the record in ${dir} is no longer this run's`;
        } catch {
          // The connection is gone, and with it the holder and the lock.
        } finally {
          // The end of its input ends the holder too.
          beats.stop();
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

function lockFailure(host: string, dir: string, outcome: { result: RunResult } | { error: unknown }, breaking: boolean): HostLockError {
  if ('error' in outcome) {
    const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    return new HostLockError(host, undefined, `could not take the lvsc lock on ${host}: ${message}`, { cause: outcome.error });
  }
  const { result } = outcome;
  if (result.code === BUSY) {
    const fields = recordFields(result.stdout);
    const holder = parseRecord(result.stdout);
    const who = holder.owner === '' ? 'an lvsc run that has not written its name yet' : describeHolder(holder);
    const why = fields.get('why');
    const what =
      why === 'alive'
        ? 'Its holder on the host still hears from that run, so --break-lock leaves it: wait for the run to finish.'
        : why === 'foreign'
          ? `Something other than an lvsc holder keeps ${dir} locked (its record names no live holder), so --break-lock leaves it.`
          : breaking
            ? 'It was not let go in time; try again.'
            : `Wait for it to finish; a run that is gone (its machine or network lost) lets go within ${2 * Number(fields.get('window') ?? WATCH_WINDOW_S)} s, and lvsc apply --break-lock waits for that and breaks a lock whose holder is stuck, never one whose run is alive.`;
    return new HostLockError(host, holder, `${host} is locked by another lvsc apply: ${who}. ${what}`);
  }
  const why = result.stderr.trim() || `exit code ${result.code}`;
  return new HostLockError(host, undefined, `could not take the lvsc lock ${dir} on ${host}: ${why}`);
}

function recordFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

function parseRecord(text: string): LockHolder {
  const fields = recordFields(text);
  const pid = Number(fields.get('pid'));
  return { owner: fields.get('owner') ?? '', pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, since: fields.get('since') };
}

/** `user@machine, pid N, since T (M min ago)`, for messages. */
export function describeHolder(holder: LockHolder): string {
  const parts = [holder.owner];
  if (holder.pid !== undefined) parts.push(`pid ${holder.pid}`);
  if (holder.since !== undefined) {
    const minutes = Math.round((Date.now() - Date.parse(holder.since)) / 60_000);
    parts.push(`since ${holder.since}${Number.isFinite(minutes) && minutes >= 1 ? ` (${minutes} min ago)` : ''}`);
  }
  return parts.join(', ');
}
