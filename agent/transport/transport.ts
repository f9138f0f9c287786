/**
 * The transport contract: run a command on one host, write a file there, close.
 * It knows nothing about LVS; facts and apply build `Command`s and read
 * `RunResult`s. Implementations: `ssh.ts` (ssh2) and test fakes.
 */
import type { Command } from '../../compiler/command.js';
import { printable } from '../../lang/printable.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status; a command killed by a signal reports 128 + the signal number. */
  code: number;
}

export interface RunOptions {
  /** Run through `sudo -n` when the host is configured to use sudo. */
  sudo?: boolean;
  /** Fail with a `timeout` TransportError after this long; 0 or Infinity: no limit. */
  timeoutMs?: number;
  /** Called with each piece of standard output as it arrives (the result still has all of it): for a command that reports while it runs. */
  onStdout?: (text: string) => void;
  /**
   * More standard input while the command runs, after `command.stdin`: each piece is written as
   * the iterable yields it, and the input ends when it ends (or the command does). For a command
   * that must keep hearing from lvsc, such as the lock's holder (agent/lock.ts).
   */
  input?: AsyncIterable<string>;
}

export interface Transport {
  /** The lvsc host name, for messages. */
  readonly host: string;
  /** Runs one command. A non-zero exit is a result, not an exception. */
  run(command: Command, options?: RunOptions): Promise<RunResult>;
  /** Writes a file atomically (temporary file + rename), through sudo when the host uses sudo. */
  put(path: string, data: string, mode?: number): Promise<void>;
  /** Ends the connection; later calls fail with kind `closed`. */
  close(): Promise<void>;
}

export type TransportErrorKind =
  /** The host (or a jump host on the way) could not be reached. */
  | 'connect'
  /** The host refused every credential offered. */
  | 'auth'
  /** The host key is unknown, changed or revoked. */
  | 'host-key'
  /** Connecting or a command took longer than allowed. */
  | 'timeout'
  /** sudo refused to run the command without a password (or is missing). */
  | 'sudo'
  /** The connection was closed or lost; the command may or may not have run. */
  | 'closed'
  /** `put` could not write the file. */
  | 'write'
  /** A command printed more than the transport takes from one command; it was stopped. */
  | 'output';

/**
 * A failure to talk to a host. `message` says what happened and what to do,
 * on one line. Messages quote what hosts sent (a banner, sudo's stderr, a
 * disconnect reason), so terminal control characters in it are escaped
 * (lang/printable.ts): a host cannot drive the operator's terminal.
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';

  constructor(
    readonly kind: TransportErrorKind,
    /** The lvsc host name. */
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(printable(message), options);
  }
}

export function isTransportError(error: unknown, kind?: TransportErrorKind): error is TransportError {
  return error instanceof TransportError && (kind === undefined || error.kind === kind);
}
