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

// ------------------------------------------------------------------ line breaks
//
// What ends a line, decided here once: `\n`, `\r\n`, or a lone `\r`. The
// lexer ends comments and strings there (tokens.ts builds its patterns from
// LINE_BREAK_CLASS), messages count lines by it, the parser's layout rules
// and to-ast's notes ask hasLineBreak, and the formatter finds comments' ends
// and blank lines with it.

/** The line-break characters, as the inside of a RegExp character class. */
export const LINE_BREAK_CLASS = '\\n\\r';

const LF = 10;
const CR = 13;

/** Whether a character code is (part of) a line break. */
export function isLineBreak(code: number): boolean {
  return code === LF || code === CR;
}

/** The length of the line break starting at `offset`: 2 for `\r\n`, 1 for `\n` or a lone `\r`, 0 for none. */
export function lineBreakAt(text: string, offset: number): 0 | 1 | 2 {
  const code = text.charCodeAt(offset);
  if (code === LF) return 1;
  if (code === CR) return text.charCodeAt(offset + 1) === LF ? 2 : 1;
  return 0;
}

/** Whether a line break lies in `text[from, to)`. */
export function hasLineBreak(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (isLineBreak(text.charCodeAt(i))) return true;
  return false;
}

/** Whether `text[from, to)` holds a blank line: two line breaks with only spaces and tabs between them. */
export function hasBlankLine(text: string, from: number, to: number): boolean {
  let afterBreak = false;
  for (let i = from; i < to; ) {
    const n = lineBreakAt(text, i);
    if (n > 0) {
      if (afterBreak) return true;
      afterBreak = true;
      i += n;
      continue;
    }
    const code = text.charCodeAt(i);
    if (code !== 32 && code !== 9) afterBreak = false;
    i++;
  }
  return false;
}

const lineStartCache = new WeakMap<SourceFile, number[]>();

/** Offsets at which each line starts (computed once per file, on demand). */
export function lineStarts(source: SourceFile): number[] {
  let starts = lineStartCache.get(source);
  if (!starts) {
    starts = [0];
    const text = source.text;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === LF || (code === CR && text.charCodeAt(i + 1) !== LF)) starts.push(i + 1);
    }
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

/** The text of one 1-based line, without its line break. */
export function lineText(source: SourceFile, line: number): string {
  const starts = lineStarts(source);
  const text = source.text;
  const start = starts[line - 1] ?? text.length;
  const next = starts[line];
  let end = next === undefined ? text.length : next - 1;
  // The break before `next` is `\n`, `\r` or `\r\n`; `end` is its last character.
  if (end > start && text.charCodeAt(end) === LF && text.charCodeAt(end - 1) === CR) end--;
  return text.slice(start, end);
}

export function span(file: string, start: number, end: number): Span {
  return { file, start, end };
}

/** The smallest span covering both (same file). */
export function cover(a: Span, b: Span): Span {
  return { file: a.file, start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}
