/**
 * A command's module gives cli/main.ts this: its name, its help, and how to run
 * it. (Its one-line summary for `lvsc --help` is in main.ts's list, so that the
 * list needs no command's module.)
 */
import type { Io, Outcome } from '../io.js';

export interface Command {
  readonly name: string;
  /** The full text of `lvsc help NAME`. */
  readonly help: string;
  /** Parse the command's own arguments, run the phases, hand the result to a view. */
  run(args: readonly string[], io: Io): Promise<Outcome>;
}
