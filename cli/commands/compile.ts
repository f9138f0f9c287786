/**
 * `lvsc compile --out DIR`: each host's plan (from empty) as a reviewable shell
 * script and its rendered files, written to disk for review or other tooling.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { planCluster } from '../../compiler/compile.js';
import { renderHostScript } from '../../compiler/script.js';
import { COMMON_OPTIONS, parseCommandArgs, peekFlag } from '../args.js';
import { chunks, type Io, type Outcome } from '../io.js';
import { cannot, loadCluster } from '../load.js';
import { TextCompileView } from '../views/compile.js';
import { planJsonPieces } from '../views/plan-json.js';
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

Exit codes: 0 written, 1 errors in the files or a file that could not be written,
2 usage error.
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

    const outArg = values.out;
    const out = resolve(io.cwd, outArg);
    const { desired, plan } = planCluster(loaded.cluster);
    const filesOf = new Map(desired.map((d) => [d.name, d.state.files]));
    // A path as the user would write it: under --out as given.
    const shown = (path: string) => (path === out ? outArg : path.startsWith(out + sep) ? join(outArg, relative(out, path)) : path);
    const write = async (path: string, text: string | Iterable<string>, mode?: number) => {
      await makeDirectories(dirname(path));
      try {
        await writeFile(path, text, mode === undefined ? undefined : { mode });
      } catch (e) {
        throw new WriteError('write', path, e);
      }
    };
    try {
      for (const h of plan.hosts) {
        await write(join(out, h.host, 'plan.sh'), renderHostScript(h), 0o755);
        for (const [path, content] of Object.entries(filesOf.get(h.host)!)) await write(join(out, h.host, 'files', path), content);
      }
      await write(join(out, 'plan.json'), chunks(planJsonPieces(plan)));
    } catch (e) {
      if (!(e instanceof WriteError)) throw e;
      view.error(cannot(e.what, shown(e.path), e.reason).message);
      return 'failed';
    }
    view.wrote(plan.hosts.length, outArg);
    return 'ok';
  },
};

/** A file or directory of the output that could not be made: which, and why (the system's error). */
class WriteError extends Error {
  constructor(
    readonly what: 'write' | 'create directory',
    readonly path: string,
    readonly reason: unknown,
  ) {
    super(`cannot ${what} ${path}`);
  }
}

/**
 * `mkdir -p`, one level at a time. Node's own `mkdir(dir, { recursive: true })`
 * loops for ever, at 100% CPU, where the system says a directory is missing
 * that it will not create (`/proc/x`); this asks once per level and reports
 * what the system said.
 */
async function makeDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(d)).isDirectory();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new WriteError('create directory', d, e);
      missing.push(d);
      if (dirname(d) === d) break;
      continue;
    }
    if (!isDirectory) throw new WriteError('create directory', missing.at(-1) ?? d, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
    break;
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new WriteError('create directory', d, e);
    }
  }
}

function usage(view: CommandView, message: string): Outcome {
  view.error(message);
  return 'usage';
}
