/**
 * Text → tokens. Tokens keep their start offset only (their end is
 * `startOffset + image.length`); lines and columns are worked out when a
 * message is printed. Lexing never stops at a bad character: it reports it and
 * goes on, so the parser still sees the rest of the file.
 */
import { Lexer, type IToken } from 'chevrotain';
import { diag, type Diagnostic } from './diagnostics.js';
import type { SourceFile } from './source.js';
import { allTokens, String as StringTok, TypographicString, UnterminatedString } from './tokens.js';

export interface LexResult {
  /** The tokens the parser reads (no comments, no whitespace). */
  readonly tokens: IToken[];
  /** Comments in source order, for the formatter. */
  readonly comments: IToken[];
  readonly diagnostics: Diagnostic[];
}

const lexer = new Lexer(allTokens as never[], {
  positionTracking: 'onlyOffset',
  ensureOptimizations: true,
});

export function tokenEnd(token: IToken): number {
  return token.startOffset + token.image.length;
}

export function lex(source: SourceFile): LexResult {
  const result = lexer.tokenize(source.text);
  const diagnostics: Diagnostic[] = [];
  for (const error of result.errors) {
    diagnostics.push(unexpectedCharacters(source, error.offset, error.length));
  }
  const tokens = result.tokens;
  for (const token of tokens) {
    const type = token.tokenType;
    if (type !== UnterminatedString && type !== TypographicString) continue;
    const subject = { file: source.path, start: token.startOffset, end: tokenEnd(token) };
    diagnostics.push(
      type === UnterminatedString
        ? diag('lex-unterminated-string', {
            summary: 'this string has no closing quote',
            detail: 'A string ends on the line it starts: add the closing `"`. Inside a string, write `\\"` for a quote and `\\\\` for a backslash.',
            subject,
          })
        : diag('lex-unexpected-char', {
            summary: 'this string is in typographic quotes',
            detail: 'Strings use the plain double quote `"` (typographic quotes often come from pasting out of a document): write `' + `"${token.image.slice(1, -1)}"` + '`.',
            subject,
          }),
    );
    // The parser reads it as the string it was meant to be, so the rest of the line still parses.
    token.tokenType = StringTok;
    token.tokenTypeIdx = StringTok.tokenTypeIdx!;
  }
  return { tokens, comments: (result.groups.comments ?? []) as IToken[], diagnostics };
}

/** Hints for characters people bring from other config languages or word processors. */
const CHARACTER_HINTS: Record<string, string> = {
  ';': 'Statements need no terminator: each one ends where the next keyword starts. Remove the `;`.',
  '=': 'Settings are written as a keyword and its value, without `=`: `weight 3`, `persistence 300s`.',
  "'": 'Strings use double quotes: `key "~/.ssh/id_ed25519"`.',
  '\u201c': 'This is a typographic quote (often pasted from a document); strings use the plain double quote `"`.',
  '\u201d': 'This is a typographic quote (often pasted from a document); strings use the plain double quote `"`.',
  '\u2018': 'This is a typographic quote; strings use the plain double quote `"`.',
  '\u2019': 'This is a typographic quote; strings use the plain double quote `"`.',
  '\u2013': 'This is a typographic dash (often pasted from a document); names use the plain hyphen `-`.',
  '\u2014': 'This is a typographic dash (often pasted from a document); names use the plain hyphen `-`.',
  '\u00a0': 'This is a non-breaking space (often pasted from a document); use a plain space.',
  '(': 'Blocks use braces: `service www { ... }`.',
  ')': 'Blocks use braces: `service www { ... }`.',
};

function unexpectedCharacters(source: SourceFile, offset: number, length: number) {
  const text = source.text.slice(offset, offset + length);
  const first = text[0] ?? '';
  const shown = [...text].map((ch) => (ch < ' ' || ch === '\u00a0' || ch === '\u007f' ? `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : ch)).join('');
  const hint =
    CHARACTER_HINTS[first] ??
    'Words are letters, digits and `_ . : / @ [ ] % -`; strings are double-quoted; `#` starts a comment; blocks use `{ }` and lists use `,`.';
  return diag('lex-unexpected-char', {
    summary: length === 1 ? `unexpected character \`${shown}\`` : `unexpected characters \`${shown}\``,
    detail: hint,
    subject: { file: source.path, start: offset, end: offset + length },
  });
}
