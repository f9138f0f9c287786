/**
 * Text → tokens with Chevrotain's Lexer. Keywords are not tried as patterns
 * one by one: every keyword is also a Word, so the lexer matches Words and a
 * map lookup then gives a keyword its own token type — what `longer_alt: Word`
 * means, without trying 37 keyword patterns at each of the 500,000 tokens of a
 * 100,000-server file. lexer.test.ts checks this agrees with a Chevrotain Lexer
 * over the full token list of tokens.ts.
 *
 * Tokens keep their start offset only (their end is `startOffset +
 * image.length`); lines and columns are worked out when a message is printed.
 * Lexing never stops at a bad character: it reports it and goes on, so the
 * parser still sees the rest of the file.
 */
import { Lexer, type IToken } from './chevrotain.js';
import { diag, type Diagnostic } from './diagnostics.js';
import type { SourceFile } from './source.js';
import {
  Comma,
  Comment,
  keywordByText,
  LBrace,
  RBrace,
  String as StringTok,
  TypographicString,
  UnterminatedString,
  Whitespace,
  Word,
} from './tokens.js';

export interface LexResult {
  /** The tokens the parser reads (no comments, no whitespace). */
  readonly tokens: IToken[];
  /** Comments in source order, for the formatter (text without trailing blanks). */
  readonly comments: IToken[];
  readonly diagnostics: Diagnostic[];
}

export function tokenEnd(token: IToken): number {
  return token.startOffset + token.image.length;
}

/** The token types in the order the lexer tries them. */
export const LEXER_TOKENS = [Whitespace, Comment, StringTok, UnterminatedString, TypographicString, LBrace, RBrace, Comma, Word];

/**
 * The lexer, without Chevrotain's checks of the token patterns (they change
 * only with tokens.ts, and lang/lexer.test.ts builds a lexer with them on);
 * ensureOptimizations still refuses a pattern the lexer could not run fast.
 */
const lexer = new Lexer(LEXER_TOKENS, {
  positionTracking: 'onlyOffset',
  ensureOptimizations: true,
  skipValidations: true,
});

/**
 * The tokens of `source`, or of its text from `from` to `to` (offsets stay
 * the file's): lang/index.ts lexes a large file in pieces that start at a line.
 */
export function lex(source: SourceFile, from = 0, to = source.text.length): LexResult {
  const whole = from === 0 && to === source.text.length;
  const r = lexer.tokenize(whole ? source.text : source.text.slice(from, to));
  if (from) {
    for (const t of r.tokens) shift(t, from);
    for (const c of (r.groups.comments ?? []) as IToken[]) shift(c, from);
    for (const e of r.errors) e.offset += from;
  }
  const diagnostics: Diagnostic[] = [];
  const span = (start: number, end: number) => ({ file: source.path, start, end });
  // One string per distinct word: host names, weights and keywords repeat
  // thousands of times, and every string kept alive is copied by each young GC.
  const interned = new Map<string, string>();
  const tokens = r.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const type = t.tokenType;
    if (type === Word) {
      let image = interned.get(t.image);
      if (image === undefined) interned.set(t.image, (image = t.image));
      t.image = image;
      const kw = keywordByText.get(image);
      if (kw) {
        t.tokenType = kw;
        t.tokenTypeIdx = kw.tokenTypeIdx!;
      }
    } else if (type === UnterminatedString) {
      diagnostics.push(
        diag('lex-unterminated-string', {
          summary: 'this string has no closing quote',
          detail: 'A string ends on the line it starts: add the closing `"`. Inside a string, write `\\"` for a quote and `\\\\` for a backslash.',
          subject: span(t.startOffset, tokenEnd(t)),
        }),
      );
      // The parser reads the string it was meant to be, so the rest of the line still parses.
      t.tokenType = StringTok;
      t.tokenTypeIdx = StringTok.tokenTypeIdx!;
    } else if (type === TypographicString) {
      diagnostics.push(
        diag('lex-unexpected-char', {
          summary: 'this string is in typographic quotes',
          detail: `Strings use the plain double quote \`"\` (typographic quotes often come from pasting out of a document): write \`"${t.image.slice(1, -1)}"\`.`,
          subject: span(t.startOffset, tokenEnd(t)),
        }),
      );
      t.tokenType = StringTok;
      t.tokenTypeIdx = StringTok.tokenTypeIdx!;
    }
  }
  for (const e of r.errors) diagnostics.push(unexpectedCharacters(source, e.offset, e.length));
  const comments = ((r.groups.comments ?? []) as IToken[]).map((c) => ({ ...c, image: c.image.trimEnd() }));
  diagnostics.sort((a, b) => a.subject!.start - b.subject!.start);
  return { tokens, comments, diagnostics };
}

function shift(t: IToken, by: number): void {
  t.startOffset += by;
  if (t.endOffset !== undefined) t.endOffset += by;
}

/** Hints for characters people bring from other config languages or word processors. */
const CHARACTER_HINTS: Record<string, string> = {
  ';': 'Statements need no terminator: each one ends where the next keyword starts. Remove the `;`.',
  '=': 'Settings are written as a keyword and its value, without `=`: `weight 3`, `persistence 300s`.',
  "'": 'Strings use double quotes: `key "~/.ssh/id_ed25519"`.',
  '\u201c': 'This is a typographic quote (often pasted from a document); strings use the plain double quote `"`.',
  '\u201d': 'This is a typographic quote (often pasted from a document); strings use the plain double quote `"`.',
  '\u201e': 'This is a typographic quote (often pasted from a document); strings use the plain double quote `"`.',
  '\u2018': 'This is a typographic quote; strings use the plain double quote `"`.',
  '\u2019': 'This is a typographic quote; strings use the plain double quote `"`.',
  '\u2013': 'This is a typographic dash (often pasted from a document); names use the plain hyphen `-`.',
  '\u2014': 'This is a typographic dash (often pasted from a document); names use the plain hyphen `-`.',
  '\u00a0': 'This is a non-breaking space (often pasted from a document); use a plain space.',
  '(': 'Blocks use braces: `service www { ... }`.',
  ')': 'Blocks use braces: `service www { ... }`.',
};

function unexpectedCharacters(source: SourceFile, offset: number, length: number): Diagnostic {
  const text = source.text.slice(offset, offset + length);
  const first = text[0] ?? '';
  const shown = [...text]
    .map((ch) => (ch < ' ' || ch === '\u00a0' || ch === '\u007f' || ch === '\u2028' || ch === '\u2029' ? `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : ch))
    .join('');
  const hint =
    CHARACTER_HINTS[first] ??
    'Words are letters, digits and `_ . : / @ [ ] % -`; strings are double-quoted; `#` starts a comment; blocks use `{ }` and lists use `,`.';
  return diag('lex-unexpected-char', {
    summary: length === 1 ? `unexpected character \`${shown}\`` : `unexpected characters \`${shown}\``,
    detail: hint,
    subject: { file: source.path, start: offset, end: offset + length },
  });
}
