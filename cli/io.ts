/**
 * What a command may touch of the outside world, passed in rather than taken from
 * `process`, so tests run `main()` in-process with captured streams and a fixed
 * environment. `processIo()` is the real thing.
 */

/** An output stream: `process.stdout` fits, and so does a test's string buffer. */
export interface Writer {
  write(text: string): unknown;
  /** True when the stream is a terminal (colour, width). */
  readonly isTTY?: boolean;
  /** The terminal's width in columns, when it is one. */
  readonly columns?: number;
}

/**
 * Write a long text given in pieces as a few large writes (about 1 MiB each)
 * rather than as one string: the diagnostics of a broken 10 MB file may be
 * more text than a string can hold.
 */
export function writePieces(stream: Writer, pieces: Iterable<string>): void {
  for (const chunk of chunks(pieces)) stream.write(chunk);
}

/** The pieces joined into chunks of about 1 MB (fewer writes, and never one string of everything). */
export function* chunks(pieces: Iterable<string>): Generator<string> {
  let buffer = '';
  for (const piece of pieces) {
    buffer += piece;
    if (buffer.length >= 1 << 20) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}

export interface Io {
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative input paths are read from here (and shown as given). */
  readonly cwd: string;
  /** Where a confirmation (apply) and a key's passphrase are read from; absent or not a terminal: nobody to ask. */
  readonly stdin?: NodeJS.ReadableStream & { readonly isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  /** Ends a command that runs until interrupted (`status --watch`); without it, the process's own signals do. */
  readonly signal?: AbortSignal;
}

/** How a command ended; `cli/main.ts` alone turns this into an exit code. */
export type Outcome =
  /** Success: valid, formatted, help shown. */
  | 'ok'
  /** The command ran and found errors (or files that are not canonical). */
  | 'failed'
  /** The command line itself is wrong: unknown option, missing file. Nothing was checked. */
  | 'usage'
  /** plan: the hosts differ from the cluster description (terraform's -detailed-exitcode 2). */
  | 'changes';

export function processIo(): Io {
  for (const stream of [process.stdout, process.stderr]) {
    // `lvsc fmt x.lvs | head -1` closes the pipe early: that is not an lvsc error.
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), stdin: process.stdin };
}

/**
 * Colour on a stream: never with `--no-color` or when NO_COLOR is set (any value);
 * otherwise forced by FORCE_COLOR (unless it is `0` or `false`); otherwise only on a terminal.
 */
export function useColor(stream: Writer, env: Io['env'], noColorFlag: boolean): boolean {
  if (noColorFlag || env.NO_COLOR !== undefined) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return stream.isTTY === true;
}

/** Width to wrap prose to: the terminal's, capped at 100 columns (100 when not a terminal). */
export function textWidth(stream: Writer): number {
  const columns = stream.isTTY ? stream.columns : undefined;
  return columns && columns > 0 ? Math.min(columns, 100) : 100;
}
