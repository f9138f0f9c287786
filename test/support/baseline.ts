/**
 * Golden-file helpers: compare text with a committed baseline, or rewrite the
 * baseline when LVSC_ACCEPT=1 (`npm run test:accept`). A missing baseline fails
 * (so a new case cannot pass by accident) unless accepting.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { Diagnostic } from '../../lang/diagnostics.js';
import { lineText, positionOf, type SourceFile } from '../../lang/source.js';

export const accepting = process.env.LVSC_ACCEPT === '1';

export function assertBaseline(t: ExecutionContext, path: string, actual: string): void {
  if (accepting) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    t.pass();
    return;
  }
  if (!existsSync(path)) {
    t.fail(`no baseline ${path}: run \`npm run test:accept\` and review the new file`);
    return;
  }
  t.is(actual, readFileSync(path, 'utf8'), `baseline ${path} differs (if intended: npm run test:accept)`);
}

/** A compact, stable rendering of diagnostics for baselines: location, code, summary, the line and a caret underline. */
export function renderForBaseline(diagnostics: readonly Diagnostic[], sources: readonly SourceFile[]): string {
  const byPath = new Map(sources.map((s) => [s.path, s]));
  const out: string[] = [];
  for (const d of diagnostics) {
    const src = d.subject ? byPath.get(d.subject.file) : undefined;
    if (!d.subject || !src) {
      out.push(`${d.severity}[${d.code}] (no location): ${d.summary}`);
      continue;
    }
    const p = positionOf(src, d.subject.start);
    const line = lineText(src, p.line);
    const width = Math.max(1, Math.min(d.subject.end, src.text.length) - d.subject.start);
    out.push(`${d.severity}[${d.code}] ${p.line}:${p.column}: ${d.summary}`);
    out.push(`  | ${line}`);
    out.push(`  | ${' '.repeat(p.column - 1)}${'^'.repeat(Math.min(width, Math.max(1, line.length - p.column + 1)))}`);
    if (d.detail) out.push(`  = ${d.detail}`);
  }
  return out.join('\n') + '\n';
}
