/**
 * The data a command hands to its view. Views only print; commands only decide.
 * The human and JSON views implement the same interface over the same values.
 */
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
