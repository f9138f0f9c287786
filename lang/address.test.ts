/**
 * readCidr, the one CIDR reader: parseCidr (the compiler, the agent's facts)
 * and the language's messages (values.ts) both go through it.
 */
import test from 'ava';
import { parseCidr, readCidr } from './address.js';

test('readCidr reads addr/prefix with the host bits kept, canonical', (t) => {
  t.deepEqual(readCidr('10.1.0.2/24'), { ok: true, cidr: { address: '10.1.0.2', prefix: 24, family: 4 } });
  t.deepEqual(readCidr('2001:DB8:0::2/64'), { ok: true, cidr: { address: '2001:db8::2', prefix: 64, family: 6 } });
  t.deepEqual(readCidr('0.0.0.0/0'), { ok: true, cidr: { address: '0.0.0.0', prefix: 0, family: 4 } });
});

test('readCidr says which part is wrong, and where the last slash is', (t) => {
  t.deepEqual(readCidr('10.1.0.2'), { ok: false, problem: 'no-prefix' });
  t.deepEqual(readCidr('10.1.0.256/24'), { ok: false, problem: 'address', slash: 10 });
  t.deepEqual(readCidr('a/b/24'), { ok: false, problem: 'address', slash: 3 });
  t.deepEqual(readCidr('10.1.0.2/33'), { ok: false, problem: 'prefix', slash: 8, family: 4 });
  t.deepEqual(readCidr('::1/129'), { ok: false, problem: 'prefix', slash: 3, family: 6 });
  t.deepEqual(readCidr('::1/1x'), { ok: false, problem: 'prefix', slash: 3, family: 6 });
  t.deepEqual(readCidr('10.1.0.2/0024'), { ok: false, problem: 'prefix', slash: 8, family: 4 });
});

test('parseCidr is readCidr without the reasons', (t) => {
  for (const text of ['10.1.0.2/24', '::1/128', '10.1.0.2', '10.1.0.2/33', 'x/1', '']) {
    const r = readCidr(text);
    t.deepEqual(parseCidr(text), r.ok ? r.cidr : undefined, text);
  }
});
