/**
 * The language front end: source text → AST and diagnostics. Never throws on
 * user input: lexing, parsing and value checks all report and go on, and the
 * AST is always returned (partial where the file is broken).
 */
import type { AstFile } from './ast.js';
import { sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { lex } from './lexer.js';
import { parseTokens } from './parser.js';
import type { SourceFile } from './source.js';
import { syntaxDiagnostics } from './syntax-errors.js';
import { toAst } from './to-ast.js';

export interface ParseResult {
  readonly file: AstFile;
  readonly diagnostics: Diagnostic[];
}

export function parse(source: SourceFile): ParseResult {
  const lexed = lex(source);
  const { cst, errors } = parseTokens(lexed.tokens, source.text);
  const diagnostics: Diagnostic[] = [...lexed.diagnostics, ...syntaxDiagnostics(errors, lexed.tokens, source)];
  const file = toAst(cst, source, lexed.comments, (d) => diagnostics.push(d));
  return { file, diagnostics: sortDiagnostics(diagnostics) };
}
