import test from 'ava';
import { printable } from './printable.js';

const cases: Array<[string, string, string]> = [
  ['plain text is unchanged', 'sudo: a password is required', 'sudo: a password is required'],
  ['other scripts and tabs are kept', 'été\t日本 — ok', 'été\t日本 — ok'],
  ['an escape sequence (clear screen, colour)', 'a\x1b[2J\x1b[31mred', 'a\\x1b[2J\\x1b[31mred'],
  ['a window-title OSC ended by BEL', '\x1b]0;owned\x07', '\\x1b]0;owned\\x07'],
  ['carriage return, backspace, NUL', 'ok\rno\bx\0', 'ok\\x0dno\\x08x\\x00'],
  ['newline, in a one-line message', 'one\ntwo', 'one\\x0atwo'],
  ['DEL and the C1 controls (0x9b is CSI)', '\x7f\x9b31m\x85', '\\x7f\\x9b31m\\x85'],
  ['bidirectional overrides and isolates', 'abc\u202edcb\u2066x\u2069', 'abc\\u202edcb\\u2066x\\u2069'],
  ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
  ['backslashes are left alone', 'C:\\x1b', 'C:\\x1b'],
];
for (const [what, input, expected] of cases) {
  test(`printable: ${what}`, (t) => {
    t.is(printable(input), expected);
    t.notRegex(printable(input), /[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
  });
}

test('printable with newlines keeps line breaks and still escapes the rest', (t) => {
  t.is(printable('one\ntwo\x1b[K\r\n', { newlines: true }), 'one\ntwo\\x1b[K\\x0d\n');
});
