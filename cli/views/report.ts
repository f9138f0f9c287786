/**
 * The data a command hands to its view, and the views' interfaces. Views only
 * print; commands only decide (what to do next, and the outcome main turns into
 * an exit code). Each command that has a JSON form has two views of one
 * interface over the same values: validate (human.ts, json.ts), plan (plan.ts),
 * apply (apply.ts); fmt (fmt.ts) and compile (compile.ts) print text only.
 */
import type { HostResult } from '../../agent/apply.js';
import type { Plan } from '../../compiler/plan.js';
import type { Diagnostic } from '../../lang/diagnostics.js';
import type { Sources } from './locate.js';

export interface ClusterSummary {
  readonly hosts: number;
  readonly services: number;
  /** Real-server entries over all services (IPVS destinations). */
  readonly destinations: number;
}

export interface ValidateReport {
  readonly sources: Sources;
  /** Sorted by file and position, `--strict` already applied. */
  readonly diagnostics: readonly Diagnostic[];
  /** What the files declare; undefined when they did not get as far as a cluster. */
  readonly cluster: ClusterSummary | undefined;
}

export interface ValidateView {
  report(r: ValidateReport): void;
  /** A wrong command line (nothing was checked). The message has no `lvsc:` prefix. */
  usageError(message: string): void;
}

/** The diagnostics of the files a command read before going on with them. */
export interface FilesReport {
  readonly sources: Sources;
  /** Sorted by file and position, `--strict` already applied. */
  readonly diagnostics: readonly Diagnostic[];
  /** They stop the command (errors, or nothing to go on with); otherwise they are warnings it goes on past. */
  readonly stopped: boolean;
}

/** What the views of the commands that read a cluster (fmt, compile, plan, apply) all say. */
export interface CommandView {
  /**
   * One line for what stops the command before it starts: a wrong command line,
   * an unreadable file, an unknown `--target`. The message has no `lvsc:` prefix.
   */
  error(message: string): void;
  diagnostics(r: FilesReport): void;
}

/** A host of a live run that could not be read, or (`leftOut`) that `--target` would have brought along but could not read. */
export interface Unreadable {
  readonly host: string;
  readonly message: string;
  readonly leftOut?: true;
}

/** Something odd a host printed for a fact that was still read (a skipped entry, a key that is not there): shown, not fatal. */
export interface FactWarning {
  readonly host: string;
  readonly fact: string;
  readonly message: string;
}

export interface PlanReport {
  readonly plan: Plan;
  /** The hosts of a live run, read or not (the text's "on N of M hosts"); offline, the plan's own hosts count. */
  readonly totalHosts?: number;
  /** A live run's hosts that could not be read; undefined offline (nothing was read). */
  readonly unreadable?: readonly Unreadable[];
  /** A live run's warnings from the facts of the hosts that were read. */
  readonly warnings?: readonly FactWarning[];
}

export interface PlanView extends CommandView {
  plan(r: PlanReport): void;
}

export interface ApplyReport {
  /** The plan that was applied, and the hosts that could not be read for it. */
  readonly planned: PlanReport & { readonly unreadable: readonly Unreadable[] };
  /** Each planned host's outcome, step by step. */
  readonly results: readonly HostResult[];
  /** Every host that finished was read again and matches the cluster. */
  readonly verified: boolean;
  /** The plan against what was read again: what still differs. */
  readonly remaining: Plan;
  /** Hosts that finished but could not be read again. */
  readonly rereadFailed: readonly { readonly host: string; readonly message: string }[];
  /** The run as a whole succeeded (applied and verified, every host read). */
  readonly ok: boolean;
}

export interface ApplyView extends CommandView {
  /** The plan about to be applied, before the question. */
  plan(r: PlanReport): void;
  /** The plan was empty: nothing was applied. */
  nothingToDo(r: PlanReport & { readonly unreadable: readonly Unreadable[] }): void;
  /** The question was not answered yes: nothing was changed. */
  cancelled(): void;
  /** What ran where, and whether the hosts match now. */
  result(r: ApplyReport): void;
}

export interface FmtView extends CommandView {
  /** A file's canonical text (`lvsc fmt FILE`). */
  formatted(text: string): void;
  /** A file rewritten (`-w`) or not canonical (`--check`). */
  listed(path: string): void;
}

export interface CompileView extends CommandView {
  wrote(hosts: number, dir: string): void;
}
