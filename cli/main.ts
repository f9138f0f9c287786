/**
 * argv → command → exit code. This is the only place exit codes are decided:
 * commands return an Outcome, and a wrong command line never ends in a stack trace.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyCommand } from './commands/apply.js';
import type { Command } from './commands/command.js';
import { compileCommand } from './commands/compile.js';
import { fmtCommand } from './commands/fmt.js';
import { labCommand } from './commands/lab.js';
import { planCommand } from './commands/plan.js';
import { validateCommand } from './commands/validate.js';
import { processIo, type Io, type Outcome } from './io.js';
import { usageLine } from './views/human.js';

/** In the order `lvsc --help` lists them. */
const COMMANDS: readonly Command[] = [validateCommand, fmtCommand, planCommand, applyCommand, compileCommand, labCommand()];

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
    const command = COMMANDS.find((c) => c.name === rest[0]);
    if (!command || rest.length > 1) return usage(io, command ? `help takes one command name` : `unknown command "${rest[0]}"`);
    io.stdout.write(command.help);
    return 'ok';
  }
  if (first.startsWith('-')) return usage(io, `unknown option ${first}`);
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) return usage(io, `unknown command "${first}"`);
  return command.run(rest, io);
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
