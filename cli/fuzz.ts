/**
 * The fuzz target: hostile cluster files made by mutating real ones, and what
 * lvsc must do with each (the test suite runs a few hundred, cli/fuzz.test.ts;
 * `npm run fuzz` runs 100,000, scripts/fuzz.ts). The input goes the way of
 * `lvsc validate`, `lvsc fmt` and `lvsc plan --offline`: parse, format, check
 * and, when it is valid, compile and plan; its diagnostics are rendered as the
 * human view prints them. A finding is:
 *
 * - `crash`: any of those threw, or a validation rule crashed (`internal`);
 * - `outside`: a diagnostic with no location, or one whose subject, context or
 *   note lies outside the file (or is not a range of it);
 * - `snippet`: a rendered snippet line longer than its window (a long line
 *   must be cut around the caret, never printed whole);
 * - `format`: a clean file whose formatted text does not parse cleanly or is
 *   not a fixpoint.
 *
 * The mutants: deletions, insertions of tokens that matter to the lexer and
 * some foreign to it (`\r`, NUL, a BOM, U+2028, typographic quotes), copied
 * spans, CR-only and CRLF line ends, every line joined into one, lines
 * repeated thousands of times, deep nesting, huge and edge numbers,
 * truncation. Deterministic for a seed (`rng`), so any finding reproduces.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { planCluster } from '../compiler/compile.js';
import { check } from '../compiler/index.js';
import { hasErrors, type Diagnostic } from '../lang/diagnostics.js';
import { format } from '../lang/format.js';
import type { SourceFile, Span } from '../lang/source.js';
import { renderPlan } from './views/plan-text.js';
import { renderDiagnostic, SNIPPET_WIDTH, type Style } from './views/human.js';
import { indexSources, type Sources } from './views/locate.js';

export interface Seed {
  readonly name: string;
  readonly text: string;
}

export type FindingKind = 'crash' | 'outside' | 'snippet' | 'format';

export interface Finding {
  readonly kind: FindingKind;
  readonly message: string;
}

/** A mutant is never larger than this: big enough for a 200 KB line, small enough for 100,000 runs. */
export const MAX_MUTANT = 256 * 1024;

/** mulberry32: a small, fast, seeded PRNG; `next()` in [0, 1). */
export function rng(seed: number): { next(): number; int(max: number): number; pick<T>(items: readonly T[]): T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  return { next, int, pick: (items) => items[int(items.length)] };
}

type Rng = ReturnType<typeof rng>;

function lvsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const path = join(dir, f);
      if (statSync(path).isDirectory()) return lvsFiles(path);
      return f.endsWith('.lvs') ? [path] : [];
    });
}

/**
 * The files mutated: the examples, every test file of the language and its
 * checks, and the shared language reference's files where the checkout has
 * them beside it (`../shared/language`).
 */
export function seeds(root: string): Seed[] {
  const dirs = ['examples', 'lang/testdata', 'compiler/testdata', 'cli/testdata', '../shared/language'];
  return dirs.flatMap((d) => lvsFiles(join(root, d))).map((path) => ({ name: relative(root, path), text: readFileSync(path, 'utf8') }));
}

/** Tokens that matter to the lexer and parser, and some that are foreign to it. */
const NOISE = [
  '{', '}', '"', '#', ',', '\n', '\r', '\r\n', ' ', '\t', '\0', '\uFEFF', '\u2028', '\u0085', '\u201c', '\u201d', '\u00e9', '\u{1F600}', '\\', '[', ']', ':', '/', '@', '.', '%', '\x1b[31m',
  'host', 'service', 'server', 'vip', 'forward', 'sudo', 'port', 'weight', 'tcp', 'sync', 'fwmark', 'match', 'defaults', 'check', 'sorry',
  'failover', 'director', 'address', 'interface', 'segment', 'persistence', 'drain', 'nat', 'dr', 'tun', 'gue', '0', '-1', '65536',
];

const NUMBERS = ['0', '-1', '65535', '65536', '4294967295', '4294967296', '9007199254740993', '18446744073709551616', '1e9', '0x10', '08'];

function at(r: Rng, s: string): number {
  return r.int(s.length + 1);
}

/** A count for a repetition: mostly a few, one time in twenty up to `max` (the large inputs cost the most time). */
function count(r: Rng, max: number): number {
  return 1 + r.int(r.next() < 0.05 ? max : 20);
}

type Mutation = (s: string, r: Rng) => string;

const MUTATIONS: readonly Mutation[] = [
  // Delete a run.
  (s, r) => {
    const i = at(r, s);
    return s.slice(0, i) + s.slice(i + 1 + r.int(40));
  },
  // Insert noise.
  (s, r) => {
    const i = at(r, s);
    return s.slice(0, i) + r.pick(NOISE) + s.slice(i);
  },
  // Copy a run elsewhere.
  (s, r) => {
    const from = at(r, s);
    const to = at(r, s);
    return s.slice(0, to) + s.slice(from, from + 1 + r.int(80)) + s.slice(to);
  },
  // A byte-order mark first.
  (s) => '\uFEFF' + s,
  // CR-only line ends (classic Mac), or CRLF.
  (s, r) => s.replace(/\r?\n/g, r.next() < 0.5 ? '\r' : '\r\n'),
  // Every line joined into one.
  (s) => s.replace(/[\r\n]+/g, ' '),
  // One line repeated many times (many diagnostics, many duplicates).
  (s, r) => {
    const lines = s.split('\n');
    const i = r.int(lines.length);
    const times = count(r, 3000);
    return [...lines.slice(0, i), ...Array<string>(times).fill(lines[i]), ...lines.slice(i + 1)].join('\n');
  },
  // Deep nesting: open braces or blocks, never closed, or stray closers.
  (s, r) => {
    const i = at(r, s);
    const n = count(r, 5000);
    const unit = r.pick(['{', 'service a {\n', 'host h {', '}', 'fwmark 1 { match tcp 10.0.0.1 ports 80 {']);
    return s.slice(0, i) + unit.repeat(n) + s.slice(i);
  },
  // A number replaced by a huge or edge one.
  (s, r) => {
    const runs = [...s.matchAll(/[0-9]+/g)];
    if (!runs.length) return s;
    const m = r.pick(runs);
    const big = r.next() < 0.3 ? '9'.repeat(19 + count(r, 3000)) : r.pick(NUMBERS);
    return s.slice(0, m.index) + big + s.slice(m.index! + m[0].length);
  },
  // NUL bytes sprinkled.
  (s, r) => {
    let out = s;
    for (let k = 1 + r.int(5); k > 0; k--) {
      const i = at(r, out);
      out = out.slice(0, i) + '\0' + out.slice(i);
    }
    return out;
  },
  // Truncated.
  (s, r) => s.slice(0, at(r, s)),
  // Two lines swapped.
  (s, r) => {
    const lines = s.split('\n');
    const a = r.int(lines.length);
    const b = r.int(lines.length);
    [lines[a], lines[b]] = [lines[b], lines[a]];
    return lines.join('\n');
  },
];

/** One mutant of one of the seeds: one to four mutations, at most MAX_MUTANT characters. */
export function mutant(r: Rng, from: readonly Seed[]): { seed: string; text: string } {
  const seed = r.pick(from);
  let text = seed.text;
  for (let k = 1 + r.int(4); k > 0; k--) {
    text = r.pick(MUTATIONS)(text, r);
    if (text.length > MAX_MUTANT) text = text.slice(0, MAX_MUTANT);
  }
  return { seed: seed.name, text };
}

/** A rendered snippet line (`41 | text`) is at most its window: printable() may spell a character in up to 10 (`\u{1f600}`). */
const SNIPPET_LINE_MAX = 10 * SNIPPET_WIDTH + 32;

function spanProblem(what: string, span: Span | undefined, source: SourceFile): string | undefined {
  if (!span) return `${what}: none`;
  const { start, end } = span;
  if (span.file !== source.path) return `${what}: in ${span.file}, not ${source.path}`;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > source.text.length) {
    return `${what}: [${start}, ${end}) is not a range of the file's ${source.text.length} characters`;
  }
  return undefined;
}

type Render = (d: Diagnostic, sources: Sources, style: Style) => string;

/** The findings about diagnostics of `source`: their locations, a crashed rule, and their snippets as `render` prints them (the human view's). */
export function diagnosticFindings(diagnostics: readonly Diagnostic[], source: SourceFile, render: Render = renderDiagnostic): Finding[] {
  const out: Finding[] = [];
  const sources = indexSources([source]);
  for (const d of diagnostics) {
    const label = `${d.code} "${d.summary.slice(0, 120)}"`;
    if (d.code === 'internal') out.push({ kind: 'crash', message: `${label}: ${d.detail ?? ''}` });
    const problems = [
      spanProblem('subject', d.subject, source),
      d.context && spanProblem('context', d.context, source),
      ...(d.notes ?? []).map((n, i) => n.span && spanProblem(`note ${i + 1}`, n.span, source)),
    ].filter((p): p is string => p !== undefined);
    for (const p of problems) out.push({ kind: 'outside', message: `${label}: ${p}` });
    const text = render(d, sources, { color: false, width: 100 });
    const long = text.split('\n').find((line) => /^\d+ \|/.test(line) && line.length > SNIPPET_LINE_MAX);
    if (long) out.push({ kind: 'snippet', message: `${label}: a snippet line of ${long.length} characters` });
  }
  return out;
}

/** Everything lvsc must survive with one file; the findings (none when it behaved). */
export function fuzzOne(text: string): Finding[] {
  const source: SourceFile = { path: 'fuzz.lvs', text };
  const findings: Finding[] = [];
  const step = (what: string, run: () => void) => {
    try {
      run();
    } catch (e) {
      findings.push({ kind: 'crash', message: `${what} threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
    }
  };
  step('format', () => {
    const f = format(source);
    if (f.text === undefined) return;
    const again = format({ path: source.path, text: f.text });
    if (again.diagnostics.length) findings.push({ kind: 'format', message: `the formatted text has diagnostics: ${again.diagnostics.map((d) => d.code).join(', ')}` });
    else if (again.text !== f.text) findings.push({ kind: 'format', message: 'format is not a fixpoint' });
  });
  step('check', () => {
    const r = check([source]);
    findings.push(...diagnosticFindings(r.diagnostics, source));
    if (!r.cluster || hasErrors(r.diagnostics)) return;
    step('plan', () => {
      const { plan } = planCluster(r.cluster!);
      renderPlan(plan, { color: false });
    });
  });
  return findings;
}
