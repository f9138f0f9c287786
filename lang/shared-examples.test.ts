/**
 * examples/ is the tested source of truth for the language's example files:
 * examples.test.ts parses every one of them, in any checkout. The project's
 * workplace also keeps the normative copies beside the repository
 * (../shared/language); where they are present, each one must be in
 * examples/ unchanged, except the files named in NOT_YET, whose grammar is not
 * implemented yet: those are reported as to-do and must not be in examples/
 * (add the file there and take it off the list in the same change).
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const shared = new URL('../../shared/language/', import.meta.url);
const examples = new URL('../examples/', import.meta.url);

/** Shared language files whose grammar lvsc does not parse yet, and what is missing. */
const NOT_YET: ReadonlyMap<string, string> = new Map();

const inExamples = (name: string) => existsSync(new URL(name, examples));

test('a shared file not yet supported is not in examples/ (adding it means taking it off NOT_YET)', (t) => {
  for (const name of NOT_YET.keys()) t.false(inExamples(name), `examples/${name} exists: remove it from NOT_YET in ${import.meta.url.split('/').pop()}`);
  t.true(readdirSync(examples).filter((f) => f.endsWith('.lvs')).length > 0, 'examples/ holds the example files');
});

if (existsSync(shared)) {
  const names = readdirSync(shared).filter((f) => f.endsWith('.lvs')).sort();

  test('examples/ holds an identical copy of every supported shared language file', (t) => {
    const supported = names.filter((n) => !NOT_YET.has(n));
    t.true(supported.length > 0);
    for (const name of supported) {
      t.true(inExamples(name), `examples/${name} is missing (or name it in NOT_YET while its grammar is not implemented)`);
      t.is(readFileSync(new URL(name, examples), 'utf8'), readFileSync(new URL(name, shared), 'utf8'), `examples/${name} differs from shared/language/${name}`);
    }
  });

  // With nothing left to do the list is empty, and there is nothing to check.
  if (NOT_YET.size)
    test('every file named in NOT_YET is still a shared language file', (t) => {
      for (const name of NOT_YET.keys()) t.true(names.includes(name), `shared/language/${name} is gone: remove it from NOT_YET`);
    });

  for (const [name, missing] of NOT_YET) if (names.includes(name)) test.todo(`examples/${name}: not yet in examples/ (needs ${missing})`);
} else {
  test.skip('examples/ holds an identical copy of every supported shared language file (no ../shared/language here)', () => {});
}
