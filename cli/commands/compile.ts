/**
 * `lvsc compile --out DIR`: each host's plan (from empty) as a reviewable shell
 * script and its rendered files, written to disk for review or other tooling.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { planCluster } from '../../compiler/compile.js';
import { renderHostScript } from '../../compiler/script.js';
import { COMMON_OPTIONS, parseCommandArgs, peekFlag } from '../args.js';
import type { Io, Outcome } from '../io.js';
import { loadCluster } from '../load.js';
import { TextCompileView } from '../views/compile.js';
import { document } from '../views/json.js';
import { planJson } from '../views/plan-json.js';
import type { CommandView } from '../views/report.js';
import type { Command } from './command.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  out: { type: 'string', short: 'o' },
  strict: { type: 'boolean' },
} as const;

export const compileCommand: Command = {
  name: 'compile',
  help: `Usage: lvsc compile --out DIR [--strict] FILES|DIRS...

Validates the cluster and writes, for every host:
  DIR/HOST/plan.sh          the steps that build the host from scratch, in order
                            (IPVS additions batched into one ipvsadm -R)
  DIR/HOST/files/PATH       each rendered file (/etc/ipvsadm.rules, /etc/sysctl.d/...)
and DIR/plan.json, the whole plan (the schema of lvsc plan --json).

Options:
  -o, --out DIR          where to write (created if missing)
      --strict           treat warnings as errors
      --no-color         no colour
  -h, --help             show this help

Exit codes: 0 written, 1 errors in the files, 2 usage error.
`,

  async run(args: readonly string[], io: Io): Promise<Outcome> {
    const view = new TextCompileView(io, peekFlag(args, OPTIONS, 'no-color'));
    const parsed = parseCommandArgs(args, OPTIONS);
    if (!parsed.ok) return usage(view, `${parsed.message} (see lvsc help compile)`);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    if (!values.out) return usage(view, 'compile needs --out DIR (see lvsc help compile)');
    const loaded = await loadCluster(positionals, io, { strict: Boolean(values.strict), help: 'lvsc help compile', usage: 'usage' }, view);
    if ('outcome' in loaded) return loaded.outcome;

    const out = resolve(io.cwd, values.out);
    const { desired, plan } = planCluster(loaded.cluster);
    const write = async (path: string, text: string, mode?: number) => {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text, mode === undefined ? undefined : { mode });
    };
    for (const h of plan.hosts) {
      await write(join(out, h.host, 'plan.sh'), renderHostScript(h), 0o755);
      const files = desired.find((d) => d.name === h.host)!.state.files;
      for (const [path, content] of Object.entries(files)) await write(join(out, h.host, 'files', path), content);
    }
    await write(join(out, 'plan.json'), document(planJson(plan)));
    view.wrote(plan.hosts.length, values.out);
    return 'ok';
  },
};

function usage(view: CommandView, message: string): Outcome {
  view.error(message);
  return 'usage';
}
