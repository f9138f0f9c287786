/** `lvsc validate`: read files as one cluster, run every check, report. */
import { check } from '../../compiler/index.js';
import { hasErrors, sortDiagnostics, strict } from '../../lang/diagnostics.js';
import { COMMON_OPTIONS, parseCommandArgs, peekOption } from '../args.js';
import { textWidth, useColor, type Io, type Outcome } from '../io.js';
import { loadSources } from '../load.js';
import { HumanValidateView } from '../views/human.js';
import { JsonValidateView } from '../views/json.js';
import { indexSources } from '../views/locate.js';
import type { ValidateView } from '../views/report.js';
import type { Command } from './command.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  strict: { type: 'boolean' },
  format: { type: 'string' },
} as const;

const FORMATS = ['text', 'json'] as const;

export const validateCommand: Command = {
  name: 'validate',
  help: `Usage: lvsc validate [--strict] [--format text|json] FILES|DIRS...

Reads every file given, and every *.lvs file directly inside each directory given
(sorted by name; subdirectories are not searched), as ONE cluster, and runs every check:
syntax, unknown and duplicate names, and the LVS rules (DR servers on the director's
segment, TUN addresses the director can route to, NAT gateways, port remapping,
schedulers and their flags, persistence).

Options:
      --strict           treat warnings as errors
      --format FORMAT    text (default: diagnostics on stderr, a verdict on stdout)
                         or json (one document on stdout; schema in README.md)
      --no-color         no colour (NO_COLOR in the environment does the same)
  -h, --help             show this help

Exit codes:
  0  valid (warnings are allowed unless --strict)
  1  errors found
  2  usage error: unknown option, missing or unreadable file, no .lvs files
`,

  async run(args: readonly string[], io: Io): Promise<Outcome> {
    // The view first, from a lenient reading, so even a usage error comes out as JSON when asked.
    const asked = peekOption(args, OPTIONS, 'format');
    const noColor = args.includes('--no-color');
    const view: ValidateView =
      asked === 'json'
        ? new JsonValidateView(io.stdout)
        : new HumanValidateView(io.stdout, io.stderr, { color: useColor(io.stderr, io.env, noColor), width: textWidth(io.stderr) });

    const parsed = parseCommandArgs(args, OPTIONS);
    if (!parsed.ok) return usage(view, `${parsed.message} (see lvsc help validate)`);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    if (values.format !== undefined && !(FORMATS as readonly string[]).includes(values.format)) {
      return usage(view, `--format must be text or json, not "${values.format}" (see lvsc help validate)`);
    }
    if (!positionals.length) return usage(view, 'no input: give .lvs files or directories (see lvsc help validate)');

    const loaded = await loadSources(positionals, io.cwd);
    if (!loaded.ok) return usage(view, loaded.message);

    const result = check(loaded.sources);
    const diagnostics = sortDiagnostics(values.strict ? strict(result.diagnostics) : result.diagnostics);
    const c = result.cluster;
    view.report({
      sources: indexSources(loaded.sources),
      diagnostics,
      cluster: c && {
        hosts: c.hosts.length,
        services: c.services.length,
        destinations: c.services.reduce((n, s) => n + s.servers.length, 0),
      },
    });
    return hasErrors(diagnostics) ? 'failed' : 'ok';
  },
};

function usage(view: ValidateView, message: string): Outcome {
  view.usageError(message);
  return 'usage';
}
