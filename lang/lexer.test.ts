/**
 * lex() (Chevrotain's Lexer over Words, keywords looked up after) agrees with a
 * Chevrotain Lexer over the full token list of tokens.ts (keywords as patterns
 * with longer_alt): same tokens, same comments, same bad characters.
 */
import test from 'ava';
import { Lexer, type IToken } from './chevrotain.js';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundled } from './chevrotain.js';
import { LEXER_TOKENS, lex } from './lexer.js';
import { source } from './test-support.js';
import { allTokens } from './tokens.js';

const reference = new Lexer(allTokens as never[], { positionTracking: 'onlyOffset', ensureOptimizations: true });

/** What the reference lexer says, in the terms lex() reports. */
function referenceLex(text: string) {
  const r = reference.tokenize(text);
  const strings = new Set(['String', 'UnterminatedString', 'TypographicString']);
  return {
    tokens: r.tokens.map((t) => [strings.has(t.tokenType.name) ? 'String' : t.tokenType.name, t.image, t.startOffset]),
    comments: ((r.groups.comments ?? []) as IToken[]).map((c) => [c.image.trimEnd(), c.startOffset]),
    bad: r.errors.map((e) => [e.offset, e.length]),
    unterminated: r.tokens.filter((t) => t.tokenType.name === 'UnterminatedString').map((t) => [t.startOffset, t.startOffset + t.image.length]),
    typographic: r.tokens.filter((t) => t.tokenType.name === 'TypographicString').map((t) => [t.startOffset, t.startOffset + t.image.length]),
  };
}

function ours(text: string) {
  const r = lex(source(text));
  const at = (code: string, summary?: RegExp) =>
    r.diagnostics.filter((d) => d.code === code && (!summary || summary.test(d.summary))).map((d) => [d.subject!.start, d.subject!.end]);
  return {
    tokens: r.tokens.map((t) => [t.tokenType.name, t.image, t.startOffset]),
    comments: r.comments.map((c) => [c.image, c.startOffset]),
    bad: at('lex-unexpected-char', /^unexpected/).map(([s, e]) => [s, e - s]),
    unterminated: at('lex-unterminated-string'),
    typographic: at('lex-unexpected-char', /typographic/),
  };
}

const examples = new URL('../examples/', import.meta.url).pathname;

test('lex() and the reference lexer agree on the examples', (t) => {
  for (const name of readdirSync(examples).filter((f) => f.endsWith('.lvs'))) {
    const text = readFileSync(join(examples, name), 'utf8');
    t.deepEqual(ours(text), referenceLex(text), name);
  }
});

test('lex() and the reference lexer agree on hand-picked troubles', (t) => {
  const cases = [
    '',
    'host hosts hostx xhost tcpfin tcp ports port',
    'key "a \\"b\\" c" "unterminated\nnext "x\\',
    '“typographic” “open only\n„low”',
    'a;b = c ;; d\u00a0e # comment with trailing blanks   \t\n#\n#x',
    'weight=3 (x) \u2013 é 😀 [2001:db8::1]:22 user@host:22 10.0.0.1/24,80,443',
    '\r\nhost\ra {\r\n}\r\n',
  ];
  for (const text of cases) t.deepEqual(ours(text), referenceLex(text), JSON.stringify(text));
});

test('lex() and the reference lexer agree on arbitrary text', (t) => {
  const pieces = fc.oneof(
    fc.string({ maxLength: 8, unit: 'grapheme' }),
    fc.constantFrom('"', '\\', '#', '\n', '\r', ' ', '{', '}', ',', '\u201c', '\u201d', '\u201e', ';', 'host', 'tcpfin', 'x@y:1'),
  );
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 40 }), (parts) => {
      const text = parts.join('');
      t.deepEqual(ours(text), referenceLex(text), JSON.stringify(text));
    }),
    { numRuns: 300 },
  );
});

test('offsets only: a token ends at start + image length, a comment loses its trailing blanks', (t) => {
  const r = lex(source('ssh  10.0.0.1 # note  \n'));
  t.deepEqual(
    r.tokens.map((x) => [x.image, x.startOffset]),
    [
      ['ssh', 0],
      ['10.0.0.1', 5],
    ],
  );
  t.deepEqual(
    r.comments.map((c) => [c.image, c.startOffset]),
    [['# note', 14]],
  );
});

test("Chevrotain is loaded from its single-file build (lang/chevrotain.ts), not its 700-file module tree", (t) => {
  t.true(bundled);
});

test("lex()'s token patterns pass Chevrotain's own checks (lex() skips them at start-up)", (t) => {
  const checked = new Lexer(LEXER_TOKENS, { positionTracking: 'onlyOffset', ensureOptimizations: true, skipValidations: false });
  t.deepEqual(checked.lexerDefinitionErrors, []);
});
