/**
 * Source text and positions. Tokens and nodes keep byte offsets only (cheap at
 * 100,000 destinations); line and column are worked out when a message is printed.
 */

export interface SourceFile {
  /** The path as the user gave it (shown in diagnostics). */
  readonly path: string;
  readonly text: string;
}

/** A half-open range [start, end) of character offsets in one file. */
export interface Span {
  readonly file: string;
  readonly start: number;
  readonly end: number;
}

export interface Position {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, counted in characters. */
  readonly column: number;
}

const lineStartCache = new WeakMap<SourceFile, number[]>();

/** Offsets at which each line starts (computed once per file, on demand). */
export function lineStarts(source: SourceFile): number[] {
  let starts = lineStartCache.get(source);
  if (!starts) {
    starts = [0];
    const text = source.text;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
    lineStartCache.set(source, starts);
  }
  return starts;
}

/** Offset → 1-based line and column (binary search over line starts). */
export function positionOf(source: SourceFile, offset: number): Position {
  const starts = lineStarts(source);
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo] + 1 };
}

/** The text of one 1-based line, without its newline. */
export function lineText(source: SourceFile, line: number): string {
  const starts = lineStarts(source);
  const start = starts[line - 1] ?? source.text.length;
  const next = starts[line];
  let end = next === undefined ? source.text.length : next - 1;
  if (end > start && source.text.charCodeAt(end - 1) === 13) end--;
  return source.text.slice(start, end);
}

export function span(file: string, start: number, end: number): Span {
  return { file, start, end };
}

/** The smallest span covering both (same file). */
export function cover(a: Span, b: Span): Span {
  return { file: a.file, start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}
