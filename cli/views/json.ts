/**
 * `--format json`: the same diagnostics as the human view, as one JSON document on
 * stdout. The schema is documented in README.md and versioned: fields are only
 * ever added under one `version`.
 */
import type { Diagnostic } from '../../lang/diagnostics.js';
import { printableJson } from '../../lang/printable.js';
import type { Span } from '../../lang/source.js';
import { writePieces, type Io, type Writer } from '../io.js';
import { usageLine } from './human.js';
import { locate, type Point, type Sources } from './locate.js';
import type { CommandView, FilesReport, ValidateReport, ValidateView } from './report.js';

export interface JsonRange {
  readonly file: string;
  readonly start: Point;
  readonly end: Point;
}

export interface JsonDiagnostic {
  readonly severity: Diagnostic['severity'];
  readonly code: string;
  readonly summary: string;
  readonly detail: string | null;
  readonly file: string | null;
  readonly start: Point | null;
  readonly end: Point | null;
  readonly context: JsonRange | null;
  readonly notes: { readonly message: string; readonly file: string | null; readonly start: Point | null; readonly end: Point | null }[];
}

export interface JsonReport {
  readonly version: 1;
  readonly diagnostics: JsonDiagnostic[];
  readonly errors: number;
  readonly warnings: number;
}

export interface JsonUsageError {
  readonly version: 1;
  readonly usage_error: string;
}

export function toJson(diagnostics: readonly Diagnostic[], sources: Sources): JsonReport {
  return {
    version: 1,
    diagnostics: diagnostics.map((d) => jsonDiagnostic(d, sources)),
    errors: diagnostics.filter((d) => d.severity === 'error').length,
    warnings: diagnostics.filter((d) => d.severity === 'warning').length,
  };
}

/**
 * `document(toJson(diagnostics, sources))`, byte for byte, in pieces (one per
 * diagnostic) for a view to write as it goes: the document of 200,000
 * diagnostics is some 150 MB.
 */
export function* jsonReportPieces(diagnostics: readonly Diagnostic[], sources: Sources): Generator<string> {
  if (!diagnostics.length) {
    yield document(toJson(diagnostics, sources));
    return;
  }
  yield '{\n  "version": 1,\n  "diagnostics": [\n';
  for (let i = 0; i < diagnostics.length; i++) {
    // JSON text holds no raw line break but between its tokens, so indenting its lines nests it.
    yield (i ? ',\n    ' : '    ') + printableJson(JSON.stringify(jsonDiagnostic(diagnostics[i], sources), null, 2)).replaceAll('\n', '\n    ');
  }
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  yield `\n  ],\n  "errors": ${errors},\n  "warnings": ${diagnostics.length - errors}\n}\n`;
}

function jsonDiagnostic(d: Diagnostic, sources: Sources): JsonDiagnostic {
  const subject = range(d.subject, sources);
  return {
    severity: d.severity,
    code: d.code,
    summary: d.summary,
    detail: d.detail ?? null,
    file: subject?.file ?? null,
    start: subject?.start ?? null,
    end: subject?.end ?? null,
    context: range(d.context, sources),
    notes: (d.notes ?? []).map((n) => {
      const at = range(n.span, sources);
      return { message: n.message, file: at?.file ?? null, start: at?.start ?? null, end: at?.end ?? null };
    }),
  };
}

function range(span: Span | undefined, sources: Sources): JsonRange | null {
  const at = span && locate(span, sources);
  return at ? { file: at.file, start: at.start, end: at.end } : null;
}

export class JsonValidateView implements ValidateView {
  constructor(private readonly stdout: Writer) {}

  report(r: ValidateReport): void {
    writePieces(this.stdout, jsonReportPieces(r.diagnostics, r.sources));
  }

  usageError(message: string): void {
    const doc: JsonUsageError = { version: 1, usage_error: message };
    this.stdout.write(document(doc));
  }
}

/**
 * One JSON document on stdout: `document(value)` is how every JSON view ends its
 * output. No raw control character: a host's text read back with `jq -r` is the
 * same, but `cat` of the document cannot drive the terminal.
 */
export function document(value: unknown): string {
  return printableJson(JSON.stringify(value, null, 2)) + '\n';
}

/**
 * What the JSON views of plan and apply say alike: the files' diagnostics as
 * validate's JSON document, on stdout, when they stop the command (warnings are
 * left out: stdout is for the command's own document then); what stops the
 * command before it starts stays one line on stderr.
 */
export class JsonCommandView implements CommandView {
  constructor(protected readonly io: Pick<Io, 'stdout' | 'stderr'>) {}

  error(message: string): void {
    this.io.stderr.write(usageLine(message));
  }

  diagnostics(r: FilesReport): void {
    if (r.stopped) writePieces(this.io.stdout, jsonReportPieces(r.diagnostics, r.sources));
  }
}
