/**
 * The language front end: source text → AST and diagnostics. Never throws on
 * user input: lexing, parsing and value checks all report and go on, and the
 * AST is always returned (partial where the file is broken).
 */
import type { AstFile, Comment, Item } from './ast.js';
import { sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { lex } from './lexer.js';
import { parseTokens } from './parser.js';
import type { SourceFile } from './source.js';
import { syntaxDiagnostics } from './syntax-errors.js';
import { toAst } from './to-ast.js';
import { LBrace, RBrace } from './tokens.js';

export interface ParseResult {
  readonly file: AstFile;
  readonly diagnostics: Diagnostic[];
}

export interface ParseOptions {
  /** The least characters of a piece of a large file read piece by piece (see parseInPieces); a test sets it low. */
  readonly pieceChars?: number;
}

/** About 2,000 server lines: a piece's tokens and CST are young when they die. */
const PIECE_CHARS = 64_000;

export function parse(source: SourceFile, options: ParseOptions = {}): ParseResult {
  const size = options.pieceChars ?? PIECE_CHARS;
  const pieces = source.text.length > size ? parseInPieces(source, size) : undefined;
  if (pieces) return pieces;
  const lexed = lex(source);
  const { cst, errors } = parseTokens(lexed.tokens, source.text);
  const diagnostics: Diagnostic[] = [...lexed.diagnostics, ...syntaxDiagnostics(errors, lexed.tokens, source)];
  const file = toAst(cst, source, lexed.comments, (d) => diagnostics.push(d));
  return { file, diagnostics: sortDiagnostics(diagnostics) };
}

/**
 * A large file read in pieces, each lexed, parsed and turned into AST in turn:
 * the tokens and CST of the whole file (34 and 74 MB at 100,000 destinations,
 * beside the 55 MB AST) never exist at once. A piece ends before a line that
 * starts with `service `: a token starts there (strings and comments end at
 * line breaks). It must also be between two items: after a `}` that closes a
 * top-level block, where the parser starts afresh (the file rule is a list of
 * items, each chosen by its first token), so the items are the whole file's;
 * lang/property.test.ts compares with pieces of every size. Undefined — read
 * the whole file, as ever — at any other cut, and at any lexical or syntax
 * error (recovery and its messages see the whole file).
 */
function parseInPieces(source: SourceFile, size: number): ParseResult | undefined {
  const text = source.text;
  const diagnostics: Diagnostic[] = [];
  const accept = (d: Diagnostic) => diagnostics.push(d);
  const items: Item[] = [];
  const comments: Comment[] = [];
  let depth = 0;
  for (let from = 0; from < text.length; ) {
    const next = text.indexOf('\nservice ', from + size);
    const to = next < 0 ? text.length : next + 1;
    const lexed = lex(source, from, to);
    if (lexed.diagnostics.length) return undefined;
    const tokens = lexed.tokens;
    for (const t of tokens) {
      if (t.tokenType === LBrace) depth++;
      else if (t.tokenType === RBrace) depth--;
    }
    if (to < text.length && (depth !== 0 || tokens.at(-1)?.tokenType !== RBrace)) return undefined;
    const { cst, errors } = parseTokens(tokens, text);
    if (errors.length) return undefined;
    const piece = toAst(cst, source, lexed.comments, accept);
    for (const item of piece.items) items.push(item);
    for (const c of piece.comments) comments.push(c);
    from = to;
  }
  return { file: { path: source.path, items, comments }, diagnostics: sortDiagnostics(diagnostics) };
}
