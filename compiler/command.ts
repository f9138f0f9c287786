/**
 * A remote command as typed argv parts. Values from a cluster file reach a
 * shell only through `shellQuote`; nothing here concatenates user values into
 * command strings.
 */

export interface Command {
  /** Program and arguments, unquoted. */
  readonly argv: readonly string[];
  /** Data fed to the program's standard input (e.g. `ipvsadm-restore` rules). */
  readonly stdin?: string;
}

export function cmd(...argv: (string | number)[]): Command {
  return { argv: argv.map(String) };
}

export function withStdin(command: Command, stdin: string): Command {
  return { ...command, stdin };
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX shell quoting: safe words stay bare, everything else is single-quoted. */
export function shellQuote(arg: string): string {
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command as one shell line (without its stdin). */
export function commandLine(command: Command): string {
  return command.argv.map(shellQuote).join(' ');
}
