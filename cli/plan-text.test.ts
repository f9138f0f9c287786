/**
 * The plan's file diffs: a file created or removed whole gets its hunk made
 * directly (cli/views/plan-text.ts `fileHunks`), exactly the hunk jsdiff's
 * structuredPatch makes, whatever the lines and line ends.
 */
import test from 'ava';
import { structuredPatch } from 'diff';
import fc from 'fast-check';
import { fileHunks } from './views/plan-text.js';

const text = fc.array(fc.constantFrom('a', 'b', ' ', '\n', '\r', '\\', '+'), { maxLength: 40 }).map((cs) => cs.join(''));

test('a file created or removed whole: the same hunks as jsdiff', (t) => {
  fc.assert(
    fc.property(text, fc.boolean(), (body, created) => {
      const [before, after] = created ? ['', body] : [body, ''];
      t.deepEqual(fileHunks(before, after), structuredPatch('', '', before, after, '', '', { context: 2 }).hunks);
    }),
    { numRuns: 2000 },
  );
});

test('a file changed in place: jsdiff hunks', (t) => {
  const before = 'a\nb\nc\nd\ne\nf\n';
  const after = 'a\nb\nc\nD\ne\nf\n';
  t.deepEqual(fileHunks(before, after), [{ oldStart: 2, oldLines: 5, newStart: 2, newLines: 5, lines: [' b', ' c', '-d', '+D', ' e', ' f'] }]);
  t.deepEqual(fileHunks(before, before), []);
});
