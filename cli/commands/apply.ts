/**
 * `lvsc apply`: the live plan, confirmed (interactively, or `--yes`), then
 * executed across the hosts in the plan's dependency order, in parallel where
 * the order allows; progress per host while it runs; a summary of exactly
 * which steps ran where; then every applied host is read again and the run
 * fails if anything still differs.
 */
import { createInterface } from 'node:readline';
import { applyPlan } from '../../agent/apply.js';
import { describeHolder } from '../../agent/lock.js';
import { replan } from '../../agent/fleet.js';
import { isEmpty } from '../../compiler/plan.js';
import { COMMON_OPTIONS, parseCommandArgs, peekFlag } from '../args.js';
import { useColor, type Io, type Outcome } from '../io.js';
import { loadCluster } from '../load.js';
import { applyQuestion, JsonApplyView, TextApplyView } from '../views/apply.js';
import { usageLine } from '../views/human.js';
import { ProgressView } from '../views/progress.js';
import type { ApplyView } from '../views/report.js';
import type { Command } from './command.js';
import { failWith, fleetOptions, LIVE_HELP, LIVE_OPTIONS, parseDuration, readLive, unreadableOf, factWarningsOf } from './plan.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...LIVE_OPTIONS,
  yes: { type: 'boolean', short: 'y' },
  drain: { type: 'string' },
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
  'break-lock': { type: 'boolean' },
} as const;

async function confirm(io: Io, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin!, terminal: false });
  io.stderr.write(question);
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(undefined));
    });
    return answer?.trim() === 'yes';
  } finally {
    rl.close();
  }
}

export const applyCommand: Command = {
  name: 'apply',
  help: `Usage: lvsc apply [--yes] [--drain DUR] [--break-lock] [--json] [options] FILES|DIRS...

Plans against the live hosts (as lvsc plan does), asks for confirmation, then
runs the plan: real servers are prepared before a director programs its table,
the director's VIPs come last, removals run in reverse. Each host's lvsc lock
(/run/lvsc/lock) is taken before the host is read and held until it has been
read again at the end, so the plan is always against what is there; a host
another apply holds fails, naming who. If a host fails, the hosts waiting on
it are not touched and the others finish. Afterwards every host is read again
and the run fails if anything still differs.

Options:
  -y, --yes              do not ask for confirmation (needed without a terminal)
      --drain DUR        keep removed destinations at weight 0 this long before
                         deleting them (default 0s), showing active connections
      --json             the plan and the results as JSON on stdout
      --strict           treat warnings as errors
      --break-lock       wait for a held lock instead of failing: take it once
                         its holder lets go (a run that vanished does within
                         16 s), and break it if its holder on the host has heard
                         nothing from its run for three of its watch windows
                         (stopped, frozen); never a lock whose run is alive
${LIVE_HELP}
      --no-color         no colour (NO_COLOR in the environment does the same)
  -h, --help             show this help

Exit codes: 0 applied (or nothing to do) and verified, 1 anything failed.
`,

  async run(args: readonly string[], io: Io): Promise<Outcome> {
    const json = peekFlag(args, OPTIONS, 'json');
    const noColor = peekFlag(args, OPTIONS, 'no-color');
    const view: ApplyView = json ? new JsonApplyView(io) : new TextApplyView(io, noColor);
    const parsed = parseCommandArgs(args, OPTIONS);
    if (!parsed.ok) return failWith(view, `${parsed.message} (see lvsc help apply)`);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    const live = fleetOptions(values, io);
    if (!live.ok) return failWith(view, live.message);
    const drainMs = values.drain === undefined ? 0 : parseDuration(values.drain);
    if (drainMs === undefined) return failWith(view, `--drain ${values.drain}: give a duration such as 30s or 2m`);
    const interactive = io.stdin?.isTTY === true && io.stderr.isTTY === true;
    if (!values.yes && !interactive) return failWith(view, 'apply needs --yes when there is no terminal to confirm the plan on (review it first with lvsc plan)');
    const loaded = await loadCluster(positionals, io, { strict: Boolean(values.strict), help: 'lvsc help apply', usage: 'failed' }, view);
    if ('outcome' in loaded) return loaded.outcome;

    // The locks first, then the facts: nothing another run does can come between this run's reading and its changes.
    const read = await readLive(loaded.cluster, { ...live.options, lock: { breakStale: values['break-lock'] === true } }, io, json, view, noColor);
    if ('outcome' in read) return read.outcome;
    const { fleet } = read;
    try {
      for (const [host, lock] of fleet.locks) {
        if (lock.broke) io.stderr.write(usageLine(`${host}: broke the lvsc lock of ${describeHolder(lock.broke)}: its holder had heard nothing from that run for three of its watch windows`));
      }
      const { plan } = fleet;
      const planned = { plan, totalHosts: fleet.hosts.length, unreadable: unreadableOf(fleet), warnings: factWarningsOf(fleet) };
      view.plan(planned);
      if (isEmpty(plan)) {
        view.nothingToDo(planned);
        // Nothing to apply does not mend a failover pair's fault (keepalived down, the VIPs on both directors or neither).
        return fleet.failed.size || plan.faults?.length ? 'failed' : 'ok';
      }
      if (!values.yes && !(await confirm(io, applyQuestion(plan)))) {
        view.cancelled();
        return 'failed';
      }

      const transports = new Map([...fleet.reads.values()].flatMap((r) => (r.ok ? [[r.host, r.transport] as const] : [])));
      const progress = new ProgressView(io.stderr, { live: io.stderr.isTTY === true && !json, color: useColor(io.stderr, io.env, noColor) });
      progress.begin('Applying', plan.hosts.filter((h) => h.steps.length).map((h) => h.host));
      const results = await applyPlan({ plan, dependencies: fleet.dependencies, transports, failed: fleet.failed, locks: fleet.locks }, { drainMs, onEvent: progress.apply });
      progress.end();

      // Read every host that finished again: the plan against it must now be empty.
      const finished = results.filter((r) => r.status === 'done').map((r) => r.host);
      const again = await replan(fleet, finished, live.options.parallel);
      const verified = isEmpty(again.plan) && again.failed.size === 0;
      const ok = verified && !fleet.failed.size && results.every((r) => r.status === 'done' || r.status === 'unchanged');
      view.result({ planned, results, verified, remaining: again.plan, rereadFailed: [...again.failed].map(([host, message]) => ({ host, message })), ok });
      return ok ? 'ok' : 'failed';
    } finally {
      await fleet.close();
    }
  },
};
