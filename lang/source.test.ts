/**
 * Line breaks are decided in one place (source.ts): `\n`, `\r\n` and a lone
 * `\r` each end a line, for the line numbers of messages, the lexer's
 * comments and strings, the parser's layout rules and the formatter alike.
 */
import test from 'ava';
import { format } from './format.js';
import { parse } from './index.js';
import { lex } from './lexer.js';
import { hasBlankLine, hasLineBreak, lineBreakAt, lineText, positionOf } from './source.js';
import { source, withoutSpans } from './test-support.js';

const BREAKS = { LF: '\n', CRLF: '\r\n', CR: '\r' };

test('each of \\n, \\r\\n and a lone \\r ends a line: positions and line texts', (t) => {
  for (const [name, br] of Object.entries(BREAKS)) {
    const src = source(`host a {${br}  ssh 10.0.0.1${br}}${br}`);
    const at = src.text.indexOf('ssh');
    t.deepEqual(positionOf(src, at), { line: 2, column: 3 }, name);
    t.deepEqual([lineText(src, 1), lineText(src, 2), lineText(src, 3), lineText(src, 4)], ['host a {', '  ssh 10.0.0.1', '}', ''], name);
  }
  const mixed = source('a\r\nb\rc\nd');
  t.deepEqual(
    ['a', 'b', 'c', 'd'].map((ch) => positionOf(mixed, mixed.text.indexOf(ch)).line),
    [1, 2, 3, 4],
  );
});

test('the line-break helpers agree on what a break is', (t) => {
  t.deepEqual([lineBreakAt('a\r\nb', 1), lineBreakAt('a\rb', 1), lineBreakAt('a\nb', 1), lineBreakAt('ab', 1)], [2, 1, 1, 0]);
  t.true(hasLineBreak('a\rb', 0, 3));
  t.false(hasLineBreak('a \tb', 0, 4));
  t.true(hasBlankLine('}\r\n \t\r\nx', 1, 7));
  t.true(hasBlankLine('}\r\rx', 1, 3));
  t.false(hasBlankLine('}\r\nx', 1, 3), 'one CRLF is one line break');
  t.false(hasBlankLine('}\n# c\nx', 1, 6));
});

test('comments and strings end at every line break, and only there', (t) => {
  for (const [name, br] of Object.entries(BREAKS)) {
    const r = lex(source(`# note${br}ssh key "open${br}host`));
    t.deepEqual(
      r.comments.map((c) => c.image),
      ['# note'],
      name,
    );
    t.deepEqual(
      r.tokens.map((x) => x.image),
      ['ssh', 'key', '"open', 'host'],
      name,
    );
  }
  t.deepEqual(
    lex(source('# a\u2028b\u0085c\fd')).comments.map((c) => c.image),
    ['# a\u2028b\u0085c\fd'],
    'other separators are not line breaks',
  );
});

test('a file means the same whichever line breaks it uses (the parser layout rules included)', (t) => {
  const text = [
    'defaults {',
    '  ssh user deploy key "k"',
    '  sudo',
    '}',
    'service s {',
    '  vip 10.1.0.100 tcp 80',
    '  server web1 weight 2',
    '  forward dr',
    '}',
    '',
  ].join('\n');
  const meaning = (t2: string) => {
    const r = parse(source(t2));
    return { items: withoutSpans(r.file.items), diagnostics: r.diagnostics.map((d) => d.code) };
  };
  const lf = meaning(text);
  t.is(lf.diagnostics.length, 0);
  t.deepEqual(meaning(text.replace(/\n/g, '\r\n')), lf, 'CRLF');
  t.deepEqual(meaning(text.replace(/\n/g, '\r')), lf, 'lone CR: `sudo` and `forward dr` start lines of their own');
});

test('a value missing at the end of a line is reported after it, whichever the line break', (t) => {
  for (const [name, br] of Object.entries(BREAKS)) {
    const text = `service s {${br}  server web1 weight${br}  server web2${br}}${br}`;
    const d = parse(source(text)).diagnostics.find((x) => x.code === 'syntax' || x.code === 'bad-number');
    t.truthy(d, name);
    t.is(d!.subject!.start, text.indexOf('weight') + 'weight'.length, name);
  }
});

test('lvsc fmt formats a file with lone-CR line breaks as it does with LF (it threw on `host a#\\r{}`)', (t) => {
  t.is(format(source('host a#\r{}')).text, format(source('host a#\n{}')).text);
  const text = 'host a {  # first\n  ssh 10.0.0.1\n\n  # own line\n  interface eth0 10.0.0.1/24\n}\nservice s {\n  vip 10.1.0.100 tcp 80  # v\n}\n';
  const lf = format(source(text)).text;
  t.truthy(lf);
  t.is(format(source(text.replace(/\n/g, '\r'))).text, lf, 'lone CR');
  t.is(format(source(text.replace(/\n/g, '\r\n'))).text, lf, 'CRLF');
});
