import test from 'ava';
import { levenshtein, suggest } from './suggest.js';

const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

test('suggests the nearest candidate within two edits', (t) => {
  t.is(suggest('wcl', SCHEDULERS), 'wlc');
  t.is(suggest('schedular', ['vip', 'scheduler', 'server']), 'scheduler');
  t.is(suggest('severs', ['service', 'server']), 'server');
  t.is(suggest('Host', ['host', 'director']), 'host');
  t.is(suggest('lblcc', SCHEDULERS), 'lblc');
});

test('suggests nothing for a far word, an exact match, or a word too short to judge', (t) => {
  t.is(suggest('roundrobin', SCHEDULERS), undefined);
  t.is(suggest('wlc', SCHEDULERS), undefined);
  t.is(suggest('x', ['y', 'z']), undefined);
  t.is(suggest('ab', ['xy']), undefined);
  t.is(suggest('', SCHEDULERS), undefined);
  t.is(suggest('anything', []), undefined);
});

test('prefers the closer candidate, then the earlier one', (t) => {
  t.is(suggest('weigth', ['width', 'weight']), 'weight');
  t.is(suggest('ab', ['ac', 'ad']), 'ac');
});

test('levenshtein counts inserts, deletes, substitutions and adjacent swaps as one edit each', (t) => {
  t.is(levenshtein('', 'abc'), 3);
  t.is(levenshtein('kitten', 'sitting'), 3);
  t.is(levenshtein('wcl', 'wlc'), 1);
  t.is(levenshtein('same', 'same'), 0);
  t.is(levenshtein('abc', 'abcd'), 1);
});
