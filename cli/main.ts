/**
 * argv → command → exit code. This is the only place exit codes are decided:
 * commands return an Outcome, and a wrong command line never ends in a stack trace.
 *
 * A command's module (and what it needs: the compiler, ssh2, the lab) is imported
 * only when that command runs or its help is asked for: `lvsc --version` and
 * `lvsc --help` load this file, io.ts and the diagnostics view (for the usage line), nothing else.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './commands/command.js';
import { processIo, type Io, type Outcome } from './io.js';
import { usageLine } from './views/human.js';

interface Entry {
  readonly name: string;
  /** One line for `lvsc --help`. */
  readonly summary: string;
  /** The command itself, imported on first use. */
  load(): Promise<Command>;
}

/** In the order `lvsc --help` lists them. */
const COMMANDS: readonly Entry[] = [
  { name: 'validate', summary: 'check a cluster: syntax, names, topology, schedulers', load: async () => (await import('./commands/validate.js')).validateCommand },
  { name: 'fmt', summary: 'print or rewrite files in the canonical layout', load: async () => (await import('./commands/fmt.js')).fmtCommand },
  { name: 'plan', summary: 'show the steps that would make the hosts match the cluster', load: async () => (await import('./commands/plan.js')).planCommand },
  { name: 'apply', summary: 'change the hosts to match the cluster (after showing the plan)', load: async () => (await import('./commands/apply.js')).applyCommand },
  { name: 'status', summary: 'show the cluster as it runs: roles, health, weights, connections, rates', load: async () => (await import('./commands/status.js')).statusCommand },
  { name: 'monitor', summary: 'a local web page of the cluster as it runs, and /metrics for Prometheus', load: async () => (await import('./commands/monitor.js')).monitorCommand },
  { name: 'compile', summary: "write each host's plan script and rendered files to a directory", load: async () => (await import('./commands/compile.js')).compileCommand },
  { name: 'lab', summary: 'a VM with a real IPVS kernel to try lvsc on: lab demo, up, down, status, hosts, ssh', load: async () => (await import('./commands/lab.js')).labCommand() },
];

export const EXIT_CODES: Readonly<Record<Outcome, number>> = { ok: 0, failed: 1, usage: 2, changes: 2 };

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  try {
    return EXIT_CODES[await dispatch(argv, io)];
  } catch (e) {
    // Only a bug gets here: user errors are values all the way up.
    io.stderr.write(`lvsc: internal error (a bug in lvsc, please report it):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT_CODES.failed;
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<Outcome> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(overview());
    return 'usage';
  }
  if (first === '-h' || first === '--help') {
    io.stdout.write(overview());
    return 'ok';
  }
  if (first === '-V' || first === '--version') {
    io.stdout.write(`lvsc ${await version()}\n`);
    return 'ok';
  }
  if (first === 'help') {
    if (rest.length === 0) {
      io.stdout.write(overview());
      return 'ok';
    }
    const entry = COMMANDS.find((c) => c.name === rest[0]);
    if (!entry || rest.length > 1) return usage(io, entry ? `help takes one command name` : `unknown command "${rest[0]}"`);
    io.stdout.write((await entry.load()).help);
    return 'ok';
  }
  if (first.startsWith('-')) return usage(io, `unknown option ${first}`);
  const entry = COMMANDS.find((c) => c.name === first);
  if (!entry) return usage(io, `unknown command "${first}"`);
  return (await entry.load()).run(rest, io);
}

function usage(io: Io, message: string): Outcome {
  io.stderr.write(usageLine(`${message} (see lvsc --help)`));
  return 'usage';
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`).join('\n');
  return `lvsc: Linux Virtual Server (LVS/IPVS) clusters as code

Usage: lvsc <command> [options] FILES|DIRS...

Commands:
${list}

Options:
  -h, --help       show this help (lvsc help <command>: a command's options)
  -V, --version    print lvsc's version

Exit codes: 0 success, 1 errors found, 2 usage error (plan: 2 = changes to make).
`;
}

/** The version in lvsc's package.json, found from this file (cli/ under tsx, dist/cli/ when built). */
async function version(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lvsc' && pkg.version) return pkg.version;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`lvsc's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
