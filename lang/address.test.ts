/**
 * readCidr, the one CIDR reader: parseCidr (the compiler, the agent's facts)
 * and the language's messages (values.ts) both go through it.
 */
import test from 'ava';
import { lastAddressOf, parseCidr, readCidr, specialAddress, type SpecialAddress } from './address.js';

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

test('lastAddressOf: the subnet\'s last address, whatever host bits the address has', (t) => {
  t.is(lastAddressOf(parseCidr('10.1.0.2/24')!), '10.1.0.255');
  t.is(lastAddressOf(parseCidr('10.3.0.5/23')!), '10.3.1.255');
  t.is(lastAddressOf(parseCidr('10.1.0.7/32')!), '10.1.0.7');
  t.is(lastAddressOf(parseCidr('2001:db8::1/64')!), '2001:db8::ffff:ffff:ffff:ffff');
});

test('specialAddress: the addresses no service can be reached at, and none else', (t) => {
  const cases: [string, SpecialAddress | undefined][] = [
    ['0.0.0.0', 'unspecified'], ['0.255.0.1', 'unspecified'], ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'], ['::1', 'loopback'],
    ['224.0.0.1', 'multicast'], ['239.255.255.255', 'multicast'], ['ff05::2', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['169.254.0.1', 'link-local'], ['fe80::1', 'link-local'],
    ['1.0.0.1', undefined], ['10.1.0.100', undefined], ['223.255.255.255', undefined], ['240.0.0.1', undefined], ['2001:db8::100', undefined], ['::2', undefined],
  ];
  for (const [address, why] of cases) t.is(specialAddress(address), why, address);
});
