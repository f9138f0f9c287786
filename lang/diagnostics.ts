/**
 * One type for every error and warning of every phase (as in hashicorp/hcl):
 * a terse summary, a detail that says how to fix it, and the exact source range.
 * Phases return diagnostics as values; `throw` is kept for bugs.
 */
import type { Span } from './source.js';
import { CODES, type Code } from './codes.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly severity: Severity;
  /** Stable identifier from the catalogue in codes.ts, e.g. `dr-segment`. */
  readonly code: Code;
  /** One line: what is wrong. */
  readonly summary: string;
  /** Why, and what to do about it. */
  readonly detail?: string;
  /** The exact tokens at fault. */
  readonly subject?: Span;
  /** The enclosing construct, for context. */
  readonly context?: Span;
  /** Secondary locations (e.g. the first of two duplicates). */
  readonly notes?: readonly { readonly message: string; readonly span?: Span }[];
}

export interface DiagnosticInit {
  summary: string;
  detail?: string;
  subject?: Span;
  context?: Span;
  notes?: { message: string; span?: Span }[];
}

/** Make a diagnostic with the catalogue's severity for its code. */
export function diag(code: Code, init: DiagnosticInit): Diagnostic {
  return { severity: CODES[code].severity, code, ...init };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** `--strict`: every warning becomes an error. */
export function strict(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.map((d) => (d.severity === 'warning' ? { ...d, severity: 'error' as const } : d));
}

/** Order by file, then position, errors before warnings at one position; stable otherwise. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const fa = a.d.subject?.file ?? '';
      const fb = b.d.subject?.file ?? '';
      if (fa !== fb) return fa < fb ? -1 : 1;
      const sa = a.d.subject?.start ?? -1;
      const sb = b.d.subject?.start ?? -1;
      if (sa !== sb) return sa - sb;
      if (a.d.severity !== b.d.severity) return a.d.severity === 'error' ? -1 : 1;
      return a.i - b.i;
    })
    .map((x) => x.d);
}

/** An acceptor: how validation rules and phases report. */
export type Accept = (diagnostic: Diagnostic) => void;
