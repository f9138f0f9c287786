/**
 * Helpers for the lang/ tests: sources from strings, `<|...|>` span markers,
 * and trees compared without their positions.
 */
import type { SourceFile, Span } from './source.js';

export function source(text: string, path = 'test.lvs'): SourceFile {
  return { path, text };
}

/**
 * Strip `<|` and `|>` markers from the input and return the spans they
 * enclosed, in the order their `<|` appear: `vip <|10.1.0.1|> tcp 80`.
 */
export function marked(input: string, path = 'test.lvs'): { text: string; marks: Span[] } {
  let text = '';
  const marks: Span[] = [];
  const open: number[] = [];
  for (let i = 0; i < input.length; i++) {
    if (input.startsWith('<|', i)) {
      open.push(marks.length);
      marks.push({ file: path, start: text.length, end: -1 });
      i++;
    } else if (input.startsWith('|>', i)) {
      const at = open.pop();
      if (at === undefined) throw new Error(`unbalanced |> at ${i}`);
      marks[at] = { ...marks[at], end: text.length };
      i++;
    } else text += input[i];
  }
  if (open.length) throw new Error('unbalanced <|');
  return { text, marks };
}

/** The text a span covers. */
export function slice(text: string, span: Span | undefined): string | undefined {
  return span && text.slice(span.start, span.end);
}

const BARE_SPANS = new Set(['sudo', 'drain', 'unicast', 'never']);

/** A tree without positions: every `span` and `path` property removed, recursively. */
export function withoutSpans(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSpans);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'span' || k === 'path' || BARE_SPANS.has(k)) {
        // `sudo`, `drain`, `unicast` and `never` are bare spans: keep that they are present.
        if (BARE_SPANS.has(k)) out[k] = v !== undefined;
        continue;
      }
      out[k] = withoutSpans(v);
    }
    return out;
  }
  return value;
}
