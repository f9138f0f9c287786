/**
 * `lvsc compile --out DIR`: each host's plan (from empty) as a reviewable shell
 * script and its rendered files, written to disk for review or other tooling.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { planCluster } from '../../compiler/compile.js';
import { renderHostScript } from '../../compiler/script.js';
import { COMMON_OPTIONS, parseCommandArgs } from '../args.js';
import type { Io, Outcome } from '../io.js';
import { loadCluster } from '../load.js';
import { usageLine } from '../views/human.js';
import { planJson } from '../views/plan-json.js';
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
    const parsed = parseCommandArgs(args, OPTIONS);
    if (!parsed.ok) return usage(io, `${parsed.message} (see lvsc help compile)`);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    if (!values.out) return usage(io, 'compile needs --out DIR (see lvsc help compile)');
    const loaded = await loadCluster(positionals, io, { json: false, strict: Boolean(values.strict), noColor: Boolean(values['no-color']), help: 'lvsc help compile', usage: 'usage' });
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
    await write(join(out, 'plan.json'), JSON.stringify(planJson(plan), null, 2) + '\n');
    io.stdout.write(`Wrote ${plan.hosts.length} hosts' plans and files to ${values.out}\n`);
    return 'ok';
  },
};

function usage(io: Io, message: string): Outcome {
  io.stderr.write(usageLine(message));
  return 'usage';
}
