/**
 * `lvsc apply`: the live plan, confirmed (interactively, or `--yes`), then
 * executed across the hosts in the plan's dependency order, in parallel where
 * the order allows; progress per host while it runs; a summary of exactly
 * which steps ran where; then every applied host is read again and the run
 * fails if anything still differs.
 */
import { createInterface } from 'node:readline';
import { applyPlan } from '../../agent/apply.js';
import { replan } from '../../agent/fleet.js';
import { isEmpty, summarize, type Plan } from '../../compiler/plan.js';
import { COMMON_OPTIONS, parseCommandArgs } from '../args.js';
import { useColor, type Io, type Outcome } from '../io.js';
import { loadCluster } from '../load.js';
import { planJson } from '../views/plan-json.js';
import { renderPlan } from '../views/plan-text.js';
import { applyResultsJson, ProgressView, renderApplySummary } from '../views/progress.js';
import type { Command } from './command.js';
import { failWith, fleetOptions, LIVE_HELP, LIVE_OPTIONS, parseDuration, readLive, reportUnreadable, unreadableJson } from './plan.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...LIVE_OPTIONS,
  yes: { type: 'boolean', short: 'y' },
  drain: { type: 'string' },
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
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
  help: `Usage: lvsc apply [--yes] [--drain DUR] [--json] [options] FILES|DIRS...

Plans against the live hosts (as lvsc plan does), asks for confirmation, then
runs the plan: real servers are prepared before a director programs its table,
the director's VIPs come last, removals run in reverse. Each host takes the
lvsc lock (/run/lock/lvsc.lock) first. If a host fails, the hosts waiting on
it are not touched and the others finish. Afterwards every host is read again
and the run fails if anything still differs.

Options:
  -y, --yes              do not ask for confirmation (needed without a terminal)
      --drain DUR        keep removed destinations at weight 0 this long before
                         deleting them (default 0s), showing active connections
      --json             the plan and the results as JSON on stdout
      --strict           treat warnings as errors
${LIVE_HELP}
      --no-color         no colour (NO_COLOR in the environment does the same)
  -h, --help             show this help

Exit codes: 0 applied (or nothing to do) and verified, 1 anything failed.
`,

  async run(args: readonly string[], io: Io): Promise<Outcome> {
    const parsed = parseCommandArgs(args, OPTIONS);
    if (!parsed.ok) return failWith(io, `${parsed.message} (see lvsc help apply)`);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    const live = fleetOptions(values, io);
    if (!live.ok) return failWith(io, live.message);
    const drainMs = values.drain === undefined ? 0 : parseDuration(values.drain);
    if (drainMs === undefined) return failWith(io, `--drain ${values.drain}: give a duration such as 30s or 2m`);
    const interactive = io.stdin?.isTTY === true && io.stderr.isTTY === true;
    if (!values.yes && !interactive) return failWith(io, 'apply needs --yes when there is no terminal to confirm the plan on (review it first with lvsc plan)');
    const json = Boolean(values.json);
    const loaded = await loadCluster(positionals, io, { json, strict: Boolean(values.strict), noColor: Boolean(values['no-color']), help: 'lvsc help apply', usage: 'failed' });
    if ('outcome' in loaded) return loaded.outcome;
    const color = useColor(io.stdout, io.env, Boolean(values['no-color']));

    const read = await readLive(loaded.cluster, live.options, io, json);
    if ('outcome' in read) return read.outcome;
    const { fleet } = read;
    try {
      const { plan } = fleet;
      if (!json) {
        io.stdout.write(renderPlan(plan, { color }, { totalHosts: fleet.hosts.length }));
        reportUnreadable(fleet, io);
      }
      if (isEmpty(plan)) {
        if (json) io.stdout.write(JSON.stringify({ version: 1, plan: planJson(plan), unreadable: unreadableJson(fleet), hosts: [], verified: true }, null, 2) + '\n');
        return fleet.failed.size ? 'failed' : 'ok';
      }
      if (!values.yes) {
        const s = summarize(plan);
        const yes = await confirm(io, `\nApply ${s.create + s.update + s.delete} change(s) to ${s.hostsChanged} host(s)? Only 'yes' goes ahead: `);
        if (!yes) {
          io.stderr.write('Apply cancelled: nothing was changed.\n');
          return 'failed';
        }
      }

      const transports = new Map([...fleet.reads.values()].flatMap((r) => (r.ok ? [[r.host, r.transport] as const] : [])));
      const progress = new ProgressView(io.stderr, { live: io.stderr.isTTY === true && !json, color: useColor(io.stderr, io.env, Boolean(values['no-color'])) });
      progress.begin('Applying', plan.hosts.filter((h) => h.steps.length).map((h) => h.host));
      const results = await applyPlan({ plan, dependencies: fleet.dependencies, transports, failed: fleet.failed }, { drainMs, onEvent: progress.apply });
      progress.end();

      // Read every host that finished again: the plan against it must now be empty.
      const finished = results.filter((r) => r.status === 'done').map((r) => r.host);
      const again = await replan(fleet, finished, live.options.parallel);
      const remaining: Plan = again.plan;
      const verified = isEmpty(remaining) && again.failed.size === 0;
      const ok = verified && !fleet.failed.size && results.every((r) => r.status === 'done' || r.status === 'unchanged');

      if (json) {
        io.stdout.write(
          JSON.stringify(
            {
              version: 1,
              plan: planJson(plan),
              unreadable: unreadableJson(fleet),
              hosts: [...results.map((r) => applyResultsJson([r])[0]), ...[...fleet.failed].map(([host, message]) => ({ host, status: 'failed', message, steps: [] }))],
              verified,
              ...(verified ? {} : { remaining: planJson(remaining), rereadFailed: [...again.failed].map(([host, message]) => ({ host, message })) }),
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        io.stdout.write('\n' + renderApplySummary(results, { color }));
        for (const [host, message] of fleet.failed) io.stdout.write(`${host}: failed before apply, nothing ran: ${message}\n`);
        if (!verified) {
          io.stdout.write('\nAfter apply, the hosts still differ from the cluster description:\n');
          io.stdout.write(renderPlan(remaining, { color }));
          for (const [host, message] of again.failed) io.stdout.write(`${host}: could not be read again: ${message}\n`);
        }
        const ran = results.reduce((n, r) => n + r.steps.filter((s) => s.status === 'done').length, 0);
        const failedHosts = results.filter((r) => r.status === 'failed').length + fleet.failed.size;
        const skipped = results.filter((r) => r.status === 'skipped').length;
        io.stdout.write(`\nApply ${ok ? 'complete' : 'FAILED'}: ${ran} step(s) ran; ${results.filter((r) => r.status === 'done').length} host(s) done, ${failedHosts} failed, ${skipped} skipped${finished.length ? `; ${verified ? 'verified: the applied hosts match the cluster' : 'NOT verified'}` : ''}.\n`);
      }
      return ok ? 'ok' : 'failed';
    } finally {
      await fleet.close();
    }
  },
};
