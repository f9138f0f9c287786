/**
 * Text → tokens, by hand: one pass over the characters, one string per token,
 * no regular expressions on the way (a Chevrotain Lexer over tokens.ts does the
 * same work at a third of the speed, and a 100,000-server file is 500,000
 * tokens). What it accepts is defined by the patterns in tokens.ts;
 * lexer.test.ts checks the two agree.
 *
 * Tokens keep their start offset only (their end is `startOffset +
 * image.length`); lines and columns are worked out when a message is printed.
 * Lexing never stops at a bad character: it reports it and goes on, so the
 * parser still sees the rest of the file.
 */
import type { IToken, TokenType } from 'chevrotain';
import { diag, type Diagnostic } from './diagnostics.js';
import type { SourceFile } from './source.js';
import { Comma, Comment, keywordByText, LBrace, RBrace, String as StringTok, Word } from './tokens.js';

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

/** Characters of a Word, per the Word pattern in tokens.ts: `A-Z a-z 0-9 _ . : / @ [ ] % -`. */
const WORD_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (/^[A-Za-z0-9_.:/@[\]%-]$/.test(String.fromCharCode(c))) WORD_CHAR[c] = 1;

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const HASH = 35;
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_TYPO = new Set([0x201c, 0x201d, 0x201e]);
const CLOSE_TYPO = new Set([0x201c, 0x201d]);

function token(image: string, startOffset: number, type: TokenType): IToken {
  // The shape Chevrotain's own lexer gives a token under positionTracking "onlyOffset".
  return { image, startOffset, tokenTypeIdx: type.tokenTypeIdx!, tokenType: type } as IToken;
}

export function lex(source: SourceFile): LexResult {
  const text = source.text;
  const n = text.length;
  const tokens: IToken[] = [];
  const comments: IToken[] = [];
  const diagnostics: Diagnostic[] = [];
  const span = (start: number, end: number) => ({ file: source.path, start, end });
  const interned = new Map<string, string>();
  let badFrom = -1;

  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const start = i;
    if (c === SPACE || c === LF || c === TAB || c === CR) {
      if (badFrom >= 0) flushBad(start);
      i++;
      continue;
    }
    if (c < 128 && WORD_CHAR[c] === 1) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d < 128 && WORD_CHAR[d] === 1) i++;
        else break;
      }
      if (badFrom >= 0) flushBad(start);
      const slice = text.slice(start, i);
      // One string per distinct word: host names, weights and keywords repeat
      // thousands of times, and every string kept alive is copied by each young GC.
      let image = interned.get(slice);
      if (image === undefined) {
        image = slice;
        interned.set(image, image);
      }
      tokens.push(token(image, start, keywordByText.get(image) ?? Word));
      continue;
    }
    if (c === 123 || c === 125 || c === 44) {
      if (badFrom >= 0) flushBad(start);
      tokens.push(token(text[i], i, c === 123 ? LBrace : c === 125 ? RBrace : Comma));
      i++;
      continue;
    }
    if (c === HASH) {
      if (badFrom >= 0) flushBad(start);
      while (i < n && text.charCodeAt(i) !== LF && text.charCodeAt(i) !== CR) i++;
      comments.push(token(text.slice(start, i).trimEnd(), start, Comment));
      continue;
    }
    if (c === QUOTE) {
      if (badFrom >= 0) flushBad(start);
      i++;
      let closed = false;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === QUOTE) {
          i++;
          closed = true;
          break;
        }
        if (d === LF || d === CR) break;
        if (d === BACKSLASH && i + 1 < n && text.charCodeAt(i + 1) !== LF && text.charCodeAt(i + 1) !== CR) i += 2;
        else i++;
      }
      const image = text.slice(start, i);
      if (!closed) {
        diagnostics.push(
          diag('lex-unterminated-string', {
            summary: 'this string has no closing quote',
            detail: 'A string ends on the line it starts: add the closing `"`. Inside a string, write `\\"` for a quote and `\\\\` for a backslash.',
            subject: span(start, i),
          }),
        );
      }
      // Unterminated or not, the parser reads the string it was meant to be, so the rest of the line still parses.
      tokens.push(token(image, start, StringTok));
      continue;
    }
    if (OPEN_TYPO.has(c)) {
      const close = typographicEnd(text, i + 1);
      if (close >= 0) {
        if (badFrom >= 0) flushBad(start);
        i = close + 1;
        const image = text.slice(start, i);
        diagnostics.push(
          diag('lex-unexpected-char', {
            summary: 'this string is in typographic quotes',
            detail: `Strings use the plain double quote \`"\` (typographic quotes often come from pasting out of a document): write \`"${image.slice(1, -1)}"\`.`,
            subject: span(start, i),
          }),
        );
        tokens.push(token(image, start, StringTok));
        continue;
      }
    }
    // A character that starts no token: one report for a run of them.
    if (badFrom < 0) badFrom = i;
    i++;
  }
  if (badFrom >= 0) flushBad(n);
  return { tokens, comments, diagnostics };

  /** Report the run of characters that started no token, up to where a token starts. */
  function flushBad(end: number): void {
    diagnostics.push(unexpectedCharacters(source, badFrom, end - badFrom));
    badFrom = -1;
  }
}

/** The offset of the closing typographic quote of a string opened before `from`, or -1. */
function typographicEnd(text: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (CLOSE_TYPO.has(d)) return j;
    if (d === QUOTE || d === LF || d === CR) return -1;
  }
  return -1;
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
