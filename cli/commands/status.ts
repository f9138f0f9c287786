/**
 * `lvsc status`: the cluster as it runs, by lvsc's names. Connects to every
 * host in parallel (plan's transport, facts and --parallel), reads each in one
 * round trip, read-only and without the lock, and shows per director its role
 * and daemons and per service each server's weight, health, connections and
 * rates, with a marker where the live table differs from the file
 * (agent/status.ts). `--watch [D]` reads again every D (2 s at the least: the
 * kernel's estimator refreshes its rates about every 2 s) over the same
 * connections until interrupted.
 */
import { fleetStatus, StatusReader, type ClusterStatus } from '../../agent/status.js';
import { COMMON_OPTIONS, parseCommandArgs, peekFlag } from '../args.js';
import type { Io, Outcome } from '../io.js';
import { loadCluster } from '../load.js';
import { JsonStatusView, TextStatusView } from '../views/status.js';
import type { Command } from './command.js';
import { CONNECT_HELP, failWith, fleetOptions, LIVE_OPTIONS, parseDuration, readLive } from './plan.js';

/** The connecting options but --target: status and monitor read every host. */
const { target: _target, ...connectOptions } = LIVE_OPTIONS;
export const OWN_LIVE_OPTIONS = connectOptions;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...OWN_LIVE_OPTIONS,
  json: { type: 'boolean' },
  watch: { type: 'string' },
} as const;

/** The shortest time between two reads with --watch: the estimator's refresh. */
export const MIN_WATCH_MS = 2_000;

const DURATION = /^\d+(?:\.\d+)?(?:ms|s|m|h)?$/;

/**
 * `--watch` takes an optional duration: `--watch`, `--watch 5s`, `--watch=5s`.
 * Written as `--watch VALUE` the value is taken only when it reads as a
 * duration (so `--watch web.lvs` watches web.lvs every 2 s). The arguments
 * come back with the option always as `--watch=VALUE`, for the strict parse.
 */
export function normalizeWatch(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (a !== '--watch') {
      out.push(a);
      continue;
    }
    const next = args[i + 1];
    if (next !== undefined && DURATION.test(next)) {
      out.push(`--watch=${next}`);
      i++;
    } else out.push('--watch=2s');
  }
  return out;
}

/** Waits `ms`, or less when `signal` aborts; true when it aborted. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (aborted: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(aborted);
    };
    const onAbort = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const statusCommand: Command = {
  name: 'status',
  help: `Usage: lvsc status [--json] [--watch [DURATION]] [options] FILES|DIRS...

Connects to every host over SSH (in parallel, read-only, without lvsc's lock)
and shows the cluster as it runs, by the names in the files: each director's
role (active or backup, from the VIPs it holds), keepalived and sync daemon;
each service's VIP and scheduler, and each server's declared and live weight,
health (keepalived's checks), active and inactive connections, connections
per second and bytes per second in and out (ipvsadm --stats/--rate --exact).
A ! marks a live entry that differs from the files: lvsc plan shows the change.

Options:
      --json             the status as one JSON document on stdout (schema in
                         README.md); with --watch one document per line
      --watch [DURATION] read again every DURATION (default and least 2s) until
                         interrupted: redrawn in place on a terminal, one block
                         per read elsewhere
${CONNECT_HELP}
      --no-color         no colour (NO_COLOR in the environment does the same)
  -h, --help             show this help

Exit codes: 0 every host read, 1 a host could not be read (or errors in the files), 2 usage error.
`,

  async run(rawArgs: readonly string[], io: Io): Promise<Outcome> {
    const args = normalizeWatch(rawArgs);
    const json = peekFlag(args, OPTIONS, 'json');
    const view: TextStatusView | JsonStatusView = json ? new JsonStatusView(io) : new TextStatusView(io, peekFlag(args, OPTIONS, 'no-color'));
    const parsed = parseCommandArgs(args, OPTIONS);
    if (!parsed.ok) return usage(view, `${parsed.message} (see lvsc help status)`);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    let every: number | undefined;
    if (values.watch !== undefined) {
      every = parseDuration(values.watch);
      if (every === undefined) return usage(view, `--watch ${values.watch}: give a duration such as 5s or 1m`);
      every = Math.max(every, MIN_WATCH_MS);
    }
    const live = fleetOptions(values, io);
    if (!live.ok) return usage(view, live.message);
    const loaded = await loadCluster(positionals, io, { strict: false, help: 'lvsc help status', usage: 'failed' }, view);
    if ('outcome' in loaded) return loaded.outcome;

    const read = await readLive(loaded.cluster, { ...live.options, status: true }, io, json, view, values['no-color'] === true);
    if ('outcome' in read) return read.outcome;
    const { fleet } = read;
    const reader = new StatusReader(fleet, { ...(live.options.parallel ? { parallel: live.options.parallel } : {}), ...(live.options.ssh ? { ssh: live.options.ssh } : {}) });
    try {
      let status: ClusterStatus = fleetStatus(fleet);
      view.status(status, every !== undefined);
      if (every !== undefined) {
        while (!(await pause(every, io.signal))) {
          status = await reader.read();
          if (io.signal?.aborted) break;
          view.status(status, true);
        }
      }
      return status.hosts.every((h) => h.ok) ? 'ok' : 'failed';
    } finally {
      await reader.close();
      await fleet.close();
    }
  },
};

function usage(view: TextStatusView | JsonStatusView, message: string): Outcome {
  return failWith(view, message);
}
