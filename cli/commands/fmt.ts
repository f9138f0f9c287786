/**
 * `lvsc fmt`: the canonical layout, as gofmt does it: print by default, `-w` to
 * rewrite in place, `--check` to list the files that are not canonical (for CI).
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { hasErrors, sortDiagnostics, type Diagnostic } from '../../lang/diagnostics.js';
import { format } from '../../lang/format.js';
import { COMMON_OPTIONS, parseCommandArgs, peekFlag } from '../args.js';
import type { Io, Outcome } from '../io.js';
import { cannot, loadSources } from '../load.js';
import { TextFmtView } from '../views/fmt.js';
import { indexSources } from '../views/locate.js';
import type { Command } from './command.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  write: { type: 'boolean', short: 'w' },
  check: { type: 'boolean' },
} as const;

export const fmtCommand: Command = {
  name: 'fmt',
  help: `Usage: lvsc fmt [-w | --check] FILES|DIRS...

Formats each file (a directory: every *.lvs file directly inside it, sorted by name)
in the canonical layout: indentation, spacing, one statement per line, comments kept.

  lvsc fmt FILE...          print the canonical text on stdout (several files: one
                            after the other); the files are not changed
  lvsc fmt -w FILE...       rewrite the files that are not canonical, in place, and
                            print their names
  lvsc fmt --check FILE...  change nothing; print the names of the files that are not
                            canonical

A file with syntax errors is left alone and its diagnostics are printed on stderr.

Options:
  -w, --write       rewrite files in place
      --check       list files that are not canonical; exit 1 if there are any
      --no-color    no colour in diagnostics (NO_COLOR in the environment does the same)
  -h, --help        show this help

Exit codes:
  0  done (with --check: every file is canonical)
  1  a file has syntax errors, could not be written, or (with --check) is not canonical
  2  usage error: unknown option, missing or unreadable file, no .lvs files
`,

  async run(args: readonly string[], io: Io): Promise<Outcome> {
    const view = new TextFmtView(io, peekFlag(args, OPTIONS, 'no-color'));
    const usage = (message: string): Outcome => {
      view.error(message);
      return 'usage';
    };
    const parsed = parseCommandArgs(args, OPTIONS);
    if (!parsed.ok) return usage(`${parsed.message} (see lvsc help fmt)`);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    if (values.write && values.check) return usage('-w and --check exclude each other (see lvsc help fmt)');
    if (!positionals.length) return usage('no input: give .lvs files or directories (see lvsc help fmt)');

    const loaded = await loadSources(positionals, io.cwd);
    if (!loaded.ok) return usage(loaded.message);

    let failed = false;
    const diagnostics: Diagnostic[] = [];
    for (const source of loaded.sources) {
      const r = format(source);
      for (const d of r.diagnostics) diagnostics.push(d);
      if (r.text === undefined || hasErrors(r.diagnostics)) {
        failed = true;
        continue;
      }
      if (values.check) {
        if (r.text !== source.text) {
          view.listed(source.path);
          failed = true;
        }
      } else if (values.write) {
        if (r.text === source.text) continue;
        try {
          await writeFile(resolve(io.cwd, source.path), r.text);
          view.listed(source.path);
        } catch (e) {
          view.error(cannot('write', source.path, e).message);
          failed = true;
        }
      } else {
        view.formatted(r.text);
      }
    }

    view.diagnostics({ sources: indexSources(loaded.sources), diagnostics: sortDiagnostics(diagnostics), stopped: failed });
    return failed ? 'failed' : 'ok';
  },
};
