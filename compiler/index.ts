/**
 * The compiler's front door: source files → AST → IR → validated cluster.
 * Several files form one cluster. Every phase reports through one diagnostic
 * list; nothing here throws on bad input.
 */
import type { AstFile } from '../lang/ast.js';
import type { Diagnostic } from '../lang/diagnostics.js';
import { hasErrors } from '../lang/diagnostics.js';
import { parse } from '../lang/index.js';
import type { SourceFile } from '../lang/source.js';
import type { Cluster } from './ir.js';
import { lower } from './lower.js';
import { validate } from './validate/index.js';

export interface CheckResult {
  readonly files: AstFile[];
  /** The lowered cluster; validated when `diagnostics` has no errors. Undefined when parsing failed. */
  readonly cluster: Cluster | undefined;
  readonly diagnostics: Diagnostic[];
}

export function check(sources: readonly SourceFile[]): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const files: AstFile[] = [];
  for (const source of sources) {
    const r = parse(source);
    files.push(r.file);
    for (const d of r.diagnostics) diagnostics.push(d);
  }
  // Semantic checks on a broken tree would mostly repeat the syntax errors in other words.
  if (hasErrors(diagnostics)) return { files, cluster: undefined, diagnostics };
  const accept = (d: Diagnostic) => diagnostics.push(d);
  const cluster = lower(files, accept);
  validate(cluster, accept);
  return { files, cluster, diagnostics };
}
