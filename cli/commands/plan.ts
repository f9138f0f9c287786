/**
 * `lvsc plan --offline`: what lvsc would do to hosts that have none of the
 * cluster yet — every step and every rendered file, without connecting anywhere.
 * (Planning against live hosts over SSH comes with the agents.)
 */
import { check } from '../../compiler/index.js';
import { planCluster } from '../../compiler/compile.js';
import { isEmpty } from '../../compiler/plan.js';
import { hasErrors, sortDiagnostics, strict } from '../../lang/diagnostics.js';
import { COMMON_OPTIONS, parseCommandArgs } from '../args.js';
import { textWidth, useColor, type Io, type Outcome } from '../io.js';
import { loadSources } from '../load.js';
import { renderDiagnostics, usageLine } from '../views/human.js';
import { toJson } from '../views/json.js';
import { indexSources } from '../views/locate.js';
import { planJson } from '../views/plan-json.js';
import { renderPlan } from '../views/plan-text.js';
import type { Command } from './command.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  offline: { type: 'boolean' },
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
} as const;

export const planCommand: Command = {
  name: 'plan',
  summary: 'show the steps that would make the hosts match the cluster',
  help: `Usage: lvsc plan --offline [--json] [--strict] FILES|DIRS...

Validates the cluster, then prints, host by host in the order apply runs them
(real servers first, then the directors), every step: + add, ~ change, - remove,
and the rendered files (/etc/ipvsadm.rules, /etc/sysctl.d, networkd units) as
unified diffs. --offline plans against empty hosts, without connecting.

Options:
      --offline          assume empty hosts; connect to nothing
      --json             the plan as JSON on stdout (schema in README.md)
      --strict           treat warnings as errors
      --no-color         no colour (NO_COLOR in the environment does the same)
  -h, --help             show this help

Exit codes (as terraform plan -detailed-exitcode):
  0  no changes
  1  errors (in the files or on the command line)
  2  changes to make
`,

  async run(args: readonly string[], io: Io): Promise<Outcome> {
    const parsed = parseCommandArgs(args, OPTIONS);
    // A usage error exits 1 here: 2 means "changes" for plan.
    if (!parsed.ok) return fail(io, `${parsed.message} (see lvsc help plan)`);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    if (!values.offline) return fail(io, 'plan needs --offline for now: planning against live hosts over SSH is not available yet (see lvsc help plan)');
    if (!positionals.length) return fail(io, 'no input: give .lvs files or directories (see lvsc help plan)');
    const loaded = await loadSources(positionals, io.cwd);
    if (!loaded.ok) return fail(io, loaded.message);

    const result = check(loaded.sources);
    const diagnostics = sortDiagnostics(values.strict ? strict(result.diagnostics) : result.diagnostics);
    const sources = indexSources(loaded.sources);
    if (hasErrors(diagnostics) || !result.cluster) {
      if (values.json) io.stdout.write(JSON.stringify(toJson(diagnostics, sources), null, 2) + '\n');
      else io.stderr.write(renderDiagnostics(diagnostics, sources, { color: useColor(io.stderr, io.env, Boolean(values['no-color'])), width: textWidth(io.stderr) }));
      return 'failed';
    }
    if (diagnostics.length && !values.json) io.stderr.write(renderDiagnostics(diagnostics, sources, { color: useColor(io.stderr, io.env, Boolean(values['no-color'])), width: textWidth(io.stderr) }));
    const { plan } = planCluster(result.cluster);
    if (values.json) io.stdout.write(JSON.stringify(planJson(plan), null, 2) + '\n');
    else io.stdout.write(renderPlan(plan, { color: useColor(io.stdout, io.env, Boolean(values['no-color'])) }));
    return isEmpty(plan) ? 'ok' : 'changes';
  },
};

function fail(io: Io, message: string): Outcome {
  io.stderr.write(usageLine(message));
  return 'failed';
}
