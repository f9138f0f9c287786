/**
 * Diagnostics for people, in the spirit of rustc and HCL:
 *
 *     error[dr-segment]: real server web4 is not on the director's L2 segment
 *       --> clusters/web.lvs:41:10
 *        |
 *     41 |   server web4 weight 2
 *        |          ^^^^
 *        = in service www
 *        = detail: forward dr rewrites only the MAC address, so ...
 *        = note: clusters/web.lvs:12:3: the director is here
 *
 *     1 error, 0 warnings
 *
 * Pure functions from (diagnostics, sources, style) to text; the view writes it.
 */
import type { Diagnostic, Severity } from '../../lang/diagnostics.js';
import { printable } from '../../lang/printable.js';
import { isLineBreak, lineText, positionOf, type SourceFile, type Span } from '../../lang/source.js';
import { textWidth, useColor, writePieces, type Io, type Writer } from '../io.js';
import { sgr, type Paint } from './ansi.js';
import { locate, where, type Located, type Sources } from './locate.js';
import type { CommandView, FilesReport, ValidateReport, ValidateView } from './report.js';

export interface Style {
  /** ANSI colours on or off. */
  readonly color: boolean;
  /** Columns to wrap prose (detail and notes) to. */
  readonly width: number;
}

const TAB = '    ';

interface Palette {
  readonly bold: Paint;
  readonly gutter: Paint;
  readonly severity: Record<Severity, Paint>;
}

function palette(color: boolean): Palette {
  const paint = sgr(color);
  return { bold: paint('1'), gutter: paint('1;34'), severity: { error: paint('1;31'), warning: paint('1;33') } };
}

/** Every diagnostic (in the order given: sort first), a blank line between each, then the tally. Empty for none. */
export function renderDiagnostics(diagnostics: readonly Diagnostic[], sources: Sources, style: Style): string {
  let out = '';
  for (const piece of diagnosticPieces(diagnostics, sources, style)) out += piece;
  return out;
}

/**
 * The text of renderDiagnostics in pieces, one per diagnostic and then the
 * tally, for a view to write as it goes: 200,000 diagnostics are more text
 * than is good to hold as one string.
 */
export function* diagnosticPieces(diagnostics: readonly Diagnostic[], sources: Sources, style: Style): Generator<string> {
  if (!diagnostics.length) return;
  for (let i = 0; i < diagnostics.length; i++) yield (i ? '\n' : '') + renderDiagnostic(diagnostics[i], sources, style);
  yield '\n' + tally(diagnostics) + '\n';
}

export function renderDiagnostic(d: Diagnostic, sources: Sources, style: Style): string {
  const p = palette(style.color);
  const sev = p.severity[d.severity];
  // The summary, detail and notes may quote the file's strings: escaped before they are coloured.
  const out: string[] = [`${sev(`${d.severity}[${d.code}]`)}${p.bold(`: ${printable(d.summary)}`)}`];

  const at = d.subject && locate(d.subject, sources);
  const pad = ' '.repeat(at?.source ? String(at.start.line).length : 1);
  if (at) {
    out.push(`${pad}${p.gutter('-->')} ${printable(where(at))}`);
    if (at.source) for (const line of snippet(at, pad, p, sev)) out.push(line);
  }
  const within = d.subject && d.context && at?.source && enclosingConstruct(d.subject, d.context, at.source);
  if (within) out.push(`${pad} ${p.gutter('=')} in ${printable(within)}`);

  const prose = (label: string, text: string) => {
    const lead = `${pad} = ${label}: `;
    const indent = `${pad}   `;
    const lines = wrap(printable(text, { newlines: true }), style.width - lead.length, style.width - indent.length);
    out.push(`${pad} ${p.gutter('=')} ${p.bold(`${label}:`)} ${lines[0]}`);
    for (let i = 1; i < lines.length; i++) out.push(indent + lines[i]);
  };
  if (d.detail) prose('detail', d.detail);
  for (const note of d.notes ?? []) {
    const noteAt = note.span && locate(note.span, sources);
    prose('note', noteAt ? `${where(noteAt)}: ${note.message}` : note.message);
  }
  return out.join('\n') + '\n';
}

/** A line of the file as shown: tabs expanded, control characters escaped (so the carets count what is shown). */
function shownText(text: string): string {
  return printable(expandTabs(text));
}

/**
 * How much of a long line a snippet shows: this many characters around the
 * subject, with `…` where the line goes on. A file without line breaks (or
 * with breaks lvsc once did not count) is one line, shown once per diagnostic:
 * 200 KB of it 20,000 times is 4 GB.
 */
export const SNIPPET_WIDTH = 160;
/** Characters shown before the subject when a long line is cut. */
const SNIPPET_BEFORE = 40;

/** The subject's first line with a caret underline (one caret for an empty span; to the line's end for a multi-line one). */
function snippet(at: Located, pad: string, p: Palette, sev: Paint): string[] {
  const line = lineText(at.source!, at.start.line);
  let from = Math.min(at.start.column - 1, line.length);
  let to = at.end.line === at.start.line ? Math.min(at.end.column - 1, line.length) : line.length;
  let text = line;
  let lead = '';
  let tail = '';
  if (line.length > SNIPPET_WIDTH) {
    const start = Math.max(0, Math.min(from - SNIPPET_BEFORE, line.length - SNIPPET_WIDTH));
    const end = start + SNIPPET_WIDTH;
    text = line.slice(start, end);
    from -= start;
    to = Math.min(to, end) - start;
    if (start > 0) lead = '…';
    if (end < line.length) tail = '…';
  }
  const shown = shownText(text);
  const before = lead.length + shownText(text.slice(0, from)).length;
  const carets = Math.max(1, shownText(text.slice(from, to)).length);
  const bar = p.gutter('|');
  return [
    `${pad} ${bar}`,
    `${p.gutter(String(at.start.line))} ${bar}${shown ? ' ' + lead + shown + tail : ''}`,
    `${pad} ${bar} ${' '.repeat(before)}${sev('^'.repeat(carets))}`,
  ];
}

/**
 * What HCL prints as "in resource ..." for a diagnostic's context: the construct
 * around the subject, named by its first two words (`service www`, `host web4`,
 * `server web1`, `defaults`). Only when the context encloses the subject and
 * starts on an earlier line (else the snippet shows it already) and begins with
 * a keyword (a bare `{` names nothing).
 */
function enclosingConstruct(subject: Span, context: Span, source: SourceFile): string | undefined {
  if (context.file !== subject.file || !(context.start <= subject.start && subject.end <= context.end)) return undefined;
  if (positionOf(source, context.start).line === positionOf(source, subject.start).line) return undefined;
  return constructName(source, context);
}

const constructNames = new WeakMap<SourceFile, Map<string, string | undefined>>();

/** The first two words of a construct, up to its `{`, a comment or its line's end (once per construct: a block may hold 100,000 diagnostics). */
function constructName(source: SourceFile, context: Span): string | undefined {
  let names = constructNames.get(source);
  if (!names) constructNames.set(source, (names = new Map()));
  const key = `${context.start}:${context.end}`;
  if (names.has(key)) return names.get(key);
  const text = source.text;
  let end = context.start;
  while (end < context.end && text[end] !== '{' && text[end] !== '#' && !isLineBreak(text.charCodeAt(end))) end++;
  const words = text.slice(context.start, end).trim().split(/\s+/);
  const name = /^[a-z][a-z0-9_-]*$/.test(words[0]) ? words.slice(0, 2).join(' ') : undefined;
  names.set(key, name);
  return name;
}

function expandTabs(text: string): string {
  return text.replaceAll('\t', TAB);
}

/** Words to lines of at most `first` (then `rest`) columns; a longer word gets a line of its own. Newlines in the text are kept. */
export function wrap(text: string, first: number, rest: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (!word) continue;
      const room = lines.length ? rest : first;
      if (line && line.length + 1 + word.length > room) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** `1 error, 2 warnings` */
export function tally(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  return `${plural(errors, 'error')}, ${plural(diagnostics.length - errors, 'warning')}`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The one line a wrong command line gets: `lvsc: unknown option --foo (see lvsc help validate)`.
 * Also what stops a command (a file that cannot be read): the argument or path it quotes is escaped.
 */
export function usageLine(message: string): string {
  return `lvsc: ${printable(message, { newlines: true })}\n`;
}

export class HumanValidateView implements ValidateView {
  constructor(
    private readonly stdout: Writer,
    private readonly stderr: Writer,
    private readonly style: Style,
  ) {}

  /** Diagnostics and their tally on stderr; a one-line verdict on stdout when the cluster is valid. */
  report(r: ValidateReport): void {
    writePieces(this.stderr, diagnosticPieces(r.diagnostics, r.sources, this.style));
    if (r.diagnostics.some((d) => d.severity === 'error')) return;
    const files = plural(r.sources.size, 'file');
    const c = r.cluster;
    const counts = c ? `: ${plural(c.hosts, 'host')}, ${plural(c.services, 'service')}, ${plural(c.destinations, 'real server')}` : '';
    this.stdout.write(`valid (${files})${counts}\n`);
  }

  usageError(message: string): void {
    this.stderr.write(usageLine(message));
  }
}

/**
 * What the text views of fmt, compile, plan and apply say alike, on stderr: one
 * line for what stops the command, and the files' diagnostics (warnings too)
 * with their snippets. `noColor` is the command's `--no-color`.
 */
export class HumanCommandView implements CommandView {
  private readonly style: Style;

  constructor(
    protected readonly io: Pick<Io, 'stdout' | 'stderr' | 'env'>,
    protected readonly noColor: boolean,
  ) {
    this.style = { color: useColor(io.stderr, io.env, noColor), width: textWidth(io.stderr) };
  }

  error(message: string): void {
    this.io.stderr.write(usageLine(message));
  }

  diagnostics(r: FilesReport): void {
    writePieces(this.io.stderr, diagnosticPieces(r.diagnostics, r.sources, this.style));
  }

  /** Colour on stdout, where the command's result goes. */
  protected get color(): boolean {
    return useColor(this.io.stdout, this.io.env, this.noColor);
  }
}
