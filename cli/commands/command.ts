/** What `cli/main.ts` knows about a command: its name, its help, and how to run it. */
import type { Io, Outcome } from '../io.js';

export interface Command {
  readonly name: string;
  /** One line for `lvsc --help`. */
  readonly summary: string;
  /** The full text of `lvsc help NAME`. */
  readonly help: string;
  /** Parse the command's own arguments, run the phases, hand the result to a view. */
  run(args: readonly string[], io: Io): Promise<Outcome>;
}
