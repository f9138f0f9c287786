/**
 * examples/ carries copies of the normative language files (../shared/language
 * beside the repository, where the project's workplace keeps them): they must
 * stay identical. Outside that workplace there is nothing to compare with.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const shared = new URL('../../shared/language/', import.meta.url);
const examples = new URL('../examples/', import.meta.url);

if (existsSync(shared)) {
  test('examples/ holds an identical copy of every shared language file', (t) => {
    const names = readdirSync(shared).filter((f) => f.endsWith('.lvs'));
    t.true(names.length > 0);
    for (const name of names) {
      t.true(existsSync(new URL(name, examples)), `examples/${name} is missing`);
      t.is(readFileSync(new URL(name, examples), 'utf8'), readFileSync(new URL(name, shared), 'utf8'), `examples/${name} differs from shared/language/${name}`);
    }
  });
} else {
  test.skip('examples/ holds an identical copy of every shared language file (no ../shared/language here)', () => {});
}
