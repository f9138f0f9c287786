/**
 * Spans hold offsets only; views turn them into line:column when they print,
 * using the sources the command read. Both views share this one conversion.
 */
import { positionOf, type SourceFile, type Span } from '../../lang/source.js';

export type Sources = ReadonlyMap<string, SourceFile>;

export function indexSources(sources: readonly SourceFile[]): Sources {
  return new Map(sources.map((s) => [s.path, s]));
}

export interface Point {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters. */
  readonly column: number;
  /** 0-based character offset into the file. */
  readonly offset: number;
}

export interface Located {
  readonly file: string;
  readonly source: SourceFile | undefined;
  readonly start: Point;
  /** Exclusive. */
  readonly end: Point;
}

/** Where a span is; undefined for a span whose offsets are not numbers (a recovered token anchored nowhere). */
export function locate(span: Span, sources: Sources): Located | undefined {
  if (!Number.isFinite(span.start)) return undefined;
  const source = sources.get(span.file);
  if (!source) {
    const start = { line: 0, column: 0, offset: span.start };
    return { file: span.file, source, start, end: { ...start, offset: Number.isFinite(span.end) ? span.end : span.start } };
  }
  const length = source.text.length;
  const startOffset = clamp(span.start, 0, length);
  const endOffset = Number.isFinite(span.end) ? clamp(span.end, startOffset, length) : startOffset;
  return { file: span.file, source, start: point(source, startOffset), end: point(source, endOffset) };
}

/** `web.lvs:41:10` (just the file when it was not among the sources read). */
export function where(at: Located): string {
  return at.source ? `${at.file}:${at.start.line}:${at.start.column}` : at.file;
}

function point(source: SourceFile, offset: number): Point {
  const p = positionOf(source, offset);
  return { line: p.line, column: p.column, offset };
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(Math.max(n, lo), hi);
}
