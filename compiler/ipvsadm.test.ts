/**
 * ipvsadm's rule syntax on real output: every line of the shared fixture's
 * `ipvsadm -Sn` (ipvsadm 1.31, kernel 6.1) must parse and print back byte for
 * byte, in ipvsadm's own order; the commands that built that table must read
 * as the same table; and parse(format(x)) must give back x for any table.
 */
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { prefixNetmask, canonicalAddress } from '../lang/address.js';
import {
  canonicalFlags,
  compareServices,
  destinationArgs,
  destinationIdArgs,
  parseIpvsadmSave,
  parseListServiceLine,
  parseSaveLine,
  plainDestinationLine,
  saveLine,
  saveLines,
  saveText,
  serviceArgs,
  serviceIdArgs,
} from './ipvsadm.js';
import { destinationKey, serviceKey, type IpvsDestination, type IpvsService, type ServiceId } from './state.js';
import { keyed } from '../test/support/table.js';

const read = (name: string) => readFileSync(new URL(`./testdata/ipvsadm/${name}`, import.meta.url), 'utf8');
const SAVE = read('save-1.31.txt'); // `=== ipvsadm -Sn` of the fixture, verbatim
const BUILD = read('build-commands.txt'); // the `$V -A/-a ...` commands that built it, in order

const zeroThresholds = (services: readonly IpvsService[]) => services.map((s) => ({ ...s, destinations: s.destinations.map((d) => ({ ...d, upper: 0, lower: 0 })) }));

test('every line of the fixture -Sn prints back exactly as ipvsadm printed it', (t) => {
  const { value, warnings } = parseIpvsadmSave(SAVE);
  t.deepEqual(warnings, []);
  const byKey = new Map(value.map((s) => [serviceKey(s.id), s]));
  for (const line of SAVE.trimEnd().split('\n')) {
    const r = parseSaveLine(line);
    if (!r.ok) return t.fail(`${line}: ${r.reason}`);
    const e = r.entry;
    const printed = e.kind === 'service' ? saveLine(e.service) : saveLine(byKey.get(serviceKey(e.service))!, e.destination);
    t.is(printed, line);
  }
});

test('the whole table prints back as ipvsadm-save -n printed it, in its order', (t) => {
  t.is(saveText(parseIpvsadmSave(SAVE).value), SAVE);
  // The order is ipvsadm's (libipvs's overflowing comparison), not the order services come in.
  const shuffled = [...parseIpvsadmSave(SAVE).value].reverse().map((s) => ({ ...s, destinations: [...s.destinations].reverse() }));
  t.is(saveText(shuffled), SAVE);
});

test('the commands that built the fixture read as the table -Sn printed (thresholds aside)', (t) => {
  const built = parseIpvsadmSave(BUILD);
  t.deepEqual(built.warnings, []);
  t.is(built.value.length, 10);
  const saved = parseIpvsadmSave(SAVE).value;
  t.deepEqual(keyed(zeroThresholds(built.value)), keyed(saved));
  // The one threshold the build set is a valid argument, but -S does not print it.
  const withThresholds = built.value.flatMap((s) => s.destinations).filter((d) => d.upper || d.lower);
  t.deepEqual(withThresholds, [{ address: '10.1.0.12', port: 443, method: 'dr', weight: 1, upper: 2000, lower: 1500 }]);
  t.false(saveText(built.value).includes('-x'));
  t.true(saveText(built.value, { thresholds: true }).includes('-a -t 10.1.0.100:443 -r 10.1.0.12:443 -g -w 1 -x 2000 -y 1500\n'));
});

test('parse(format(x)) is x for every service of the fixture', (t) => {
  for (const svc of parseIpvsadmSave(BUILD).value) {
    t.deepEqual(parseIpvsadmSave(saveText([svc], { thresholds: true })), { value: [svc], warnings: [] }, serviceKey(svc.id));
    t.deepEqual(parseIpvsadmSave(saveText([svc])).value, zeroThresholds([svc]), `${serviceKey(svc.id)} without thresholds`);
  }
});

test('-A/-E arguments restate every attribute, in -S order', (t) => {
  const [http, https, dns, sip] = ['tcp 10.1.0.100:80', 'tcp 10.1.0.100:443', 'udp 198.51.100.10:53', 'udp 10.9.9.9:5060'].map(
    (k) => parseIpvsadmSave(BUILD).value.find((s) => serviceKey(s.id) === k)!,
  );
  t.deepEqual(serviceArgs(http), ['-t', '10.1.0.100:80', '-s', 'wlc']);
  t.deepEqual(serviceArgs(https), ['-t', '10.1.0.100:443', '-s', 'wrr', '-p', '1800', '-M', '255.255.255.0']);
  // -b in ipvsadm's order (fallback first) although it was typed port-first, after -o, and always with -s.
  t.deepEqual(serviceArgs(dns), ['-u', '198.51.100.10:53', '-s', 'sh', '-o', '-b', 'sh-fallback,sh-port']);
  t.deepEqual(serviceArgs(sip), ['-u', '10.9.9.9:5060', '-s', 'rr', '-p', '60', '--pe', 'sip']);
  // Flags of other schedulers are bits without names; a persistence-less -E clears persistence by leaving -p out.
  t.deepEqual(serviceArgs({ ...http, scheduler: 'wrr', flags: ['flag-2', 'flag-3'] }), ['-t', '10.1.0.100:80', '-s', 'wrr', '-b', 'flag-2,flag-3']);
  t.deepEqual(serviceIdArgs({ kind: 'fwmark', mark: 11, family: 6 }), ['-f', '11', '-6']);
  t.deepEqual(serviceIdArgs({ kind: 'addr', proto: 'sctp', address: '2001:db8::1', port: 80 }), ['--sctp-service', '[2001:db8::1]:80']);
});

test('-a/-e arguments restate method, weight, thresholds and tunnel options', (t) => {
  const id: ServiceId = { kind: 'addr', proto: 'tcp', address: '203.0.113.51', port: 80 };
  const gue: IpvsDestination = { address: '192.0.2.30', port: 80, method: 'tun', tunType: 'gue', tunPort: 6080, tunCsum: 'csum', weight: 1, upper: 2000, lower: 1500 };
  t.deepEqual(destinationArgs(id, gue), ['-t', '203.0.113.51:80', '-r', '192.0.2.30:80', '-i', '-w', '1', '-x', '2000', '-y', '1500', '--tun-type', 'gue', '--tun-port', '6080', '--tun-csum']);
  t.is(saveLine({ id, scheduler: 'mh', flags: [], ops: false, destinations: [] }, gue), '-a -t 203.0.113.51:80 -r 192.0.2.30:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum');
  // gre prints its checksum option (nocsum when unset), ipip none.
  t.deepEqual(destinationArgs(id, { address: '192.0.2.31', port: 80, method: 'tun', tunType: 'gre', weight: 2, upper: 0, lower: 0 }).slice(4), ['-i', '-w', '2', '--tun-type', 'gre', '--tun-nocsum']);
  t.deepEqual(destinationArgs(id, { address: '192.0.2.32', port: 80, method: 'tun', tunType: 'ipip', weight: 0, upper: 0, lower: 0 }).slice(4), ['-i', '-w', '0', '--tun-type', 'ipip']);
  // Thresholds go in as a pair when either is set: an upper alone restates lower 0. (A lower
  // without an upper never gets here: the kernel refuses lower > upper, and validation says so.)
  t.deepEqual(destinationArgs(id, { address: '192.0.2.33', port: 80, method: 'nat', weight: 1, upper: 10, lower: 0 }).slice(4), ['-m', '-w', '1', '-x', '10', '-y', '0']);
  t.deepEqual(destinationArgs(id, { address: '192.0.2.33', port: 80, method: 'nat', weight: 1, upper: 10, lower: 5 }).slice(4), ['-m', '-w', '1', '-x', '10', '-y', '5']);
  t.deepEqual(destinationArgs({ kind: 'fwmark', mark: 10, family: 4 }, { address: '10.2.0.21', port: 0, method: 'dr', weight: 1, upper: 0, lower: 0 }), ['-f', '10', '-r', '10.2.0.21:0', '-g', '-w', '1']);
  t.deepEqual(destinationIdArgs({ kind: 'addr', proto: 'tcp', address: '2001:db8:2::100', port: 443 }, { address: '2001:db8:2::21', port: 443 }), ['-t', '[2001:db8:2::100]:443', '-r', '[2001:db8:2::21]:443']);
});

test('the fixture\'s -e and restore sections read as rules', (t) => {
  t.deepEqual(parseSaveLine(read('edit-weight.txt').trim()), {
    ok: true,
    entry: { kind: 'destination', service: { kind: 'addr', proto: 'tcp', address: '10.1.0.100', port: 80 }, destination: { address: '10.1.0.11', port: 80, method: 'dr', weight: 5, upper: 0, lower: 0 } },
  });
  t.deepEqual(parseIpvsadmSave(read('restore-input.txt')), {
    value: [{ id: { kind: 'addr', proto: 'tcp', address: '10.7.0.1', port: 80 }, scheduler: 'rr', flags: [], ops: false, destinations: [{ address: '10.7.0.2', port: 80, method: 'nat', weight: 1, upper: 0, lower: 0 }] }],
    warnings: [],
  });
});

test('junk lines are skipped and reported, the rest is kept', (t) => {
  const text = [
    "Can't initialize ipvs: Protocol not available",
    '-A -t 10.1.0.100:80 -s wlc',
    '',
    '-a -t 10.1.0.100:80 -r 10.1.0.11:80 -g -w 3',
    '-a -t 10.1.0.100:80 -r 10.1.0.11:80 -g -w 4',
    '-a -t 10.9.9.9:80 -r 10.1.0.11:80 -g -w 1',
    '-A -t 10.1.0.100:80 -s rr',
    '-A -t 10.1.0.101:80 -s wlc -X 1',
    '-A -t 10.1.0.300:80 -s wlc',
    '-A -t 2001:db8::1:80 -s wlc',
    '-a -t 10.1.0.100:80 -r 10.1.0.12:80 -g -w 1 --tun-type gue',
    '-A -t 10.1.0.102:80 -s rr -b sh-port',
    '-A -t 10.1.0.103:80 -s rr -b sh-bogus',
    '   ',
  ].join('\n');
  const { value, warnings } = parseIpvsadmSave(text);
  t.deepEqual(value, [{ id: { kind: 'addr', proto: 'tcp', address: '10.1.0.100', port: 80 }, scheduler: 'wlc', flags: [], ops: false, destinations: [{ address: '10.1.0.11', port: 80, method: 'dr', weight: 3, upper: 0, lower: 0 }] }, { id: { kind: 'addr', proto: 'tcp', address: '10.1.0.102', port: 80 }, scheduler: 'rr', flags: ['flag-2'], ops: false, destinations: [] }]);
  t.deepEqual(warnings, [
    "skipped line 1 `Can't initialize ipvs: Protocol not available`: not an -A or -a rule",
    'skipped line 5 `-a -t 10.1.0.100:80 -r 10.1.0.11:80 -g -w 4`: real server 10.1.0.11:80 listed twice',
    'skipped line 6 `-a -t 10.9.9.9:80 -r 10.1.0.11:80 -g -w 1`: no -A line for service tcp 10.9.9.9:80 before it',
    'skipped line 7 `-A -t 10.1.0.100:80 -s rr`: service tcp 10.1.0.100:80 listed twice',
    'skipped line 8 `-A -t 10.1.0.101:80 -s wlc -X 1`: unknown option -X',
    'skipped line 9 `-A -t 10.1.0.300:80 -s wlc`: bad service address 10.1.0.300:80',
    'skipped line 10 `-A -t 2001:db8::1:80 -s wlc`: bad service address 2001:db8::1:80',
    'skipped line 11 `-a -t 10.1.0.100:80 -r 10.1.0.12:80 -g -w 1 --tun-type gue`: tunnel options on a destination that is not -i',
    'skipped line 13 `-A -t 10.1.0.103:80 -s rr -b sh-bogus`: unknown scheduler flag in sh-bogus',
  ]);
});

test('fwmarks printed negative by ipvsadm 1.31 read back unsigned, and print unsigned', (t) => {
  const r = parseIpvsadmSave('-A -f -2147483648 -s rr\n-a -f -2147483648 -r 10.2.0.21:0 -g -w 1\n-A -f -1 -6 -s rr\n');
  t.deepEqual(r.warnings, []);
  t.deepEqual(r.value.map((s) => s.id), [
    { kind: 'fwmark', mark: 2147483648, family: 4 },
    { kind: 'fwmark', mark: 4294967295, family: 6 },
  ]);
  t.is(r.value[0].destinations.length, 1);
  t.deepEqual(saveLines(r.value.slice(0, 1)), ['-A -f 2147483648 -s rr', '-a -f 2147483648 -r 10.2.0.21:0 -g -w 1']);
  t.false(parseSaveLine('-A -f 0 -s rr').ok);
  t.false(parseSaveLine('-A -f 4294967296 -s rr').ok);
});

test('older and hand-written forms: `ops`, -i without a tunnel type, -p alone, long options, defaults', (t) => {
  const r = parseIpvsadmSave(
    [
      '-A -u 10.0.0.1:53 -s rr ops', // ipvsadm 1.26 printed -o as `ops`
      '-a -u 10.0.0.1:53 -r 10.0.0.2:53 -i -w 1', // ipvsadm 1.29 printed no --tun-type: the kernel's is ipip
      '--add-service --tcp-service 10.0.0.1:80 --persistent --netmask 255.255.255.255', // -p alone: 300 s; the default netmask is no netmask
      '--add-server --tcp-service 10.0.0.1:80 --real-server 10.0.0.3', // no method: -g; no weight: 1; no port: 0
      '-A -t [2001:db8::1]:80 -s rr -p 10 -M 128',
      '-A -t [2001:db8::2]:80 -s rr -p 10 -M 064',
    ].join('\n'),
  );
  t.deepEqual(r.warnings, []);
  t.deepEqual(r.value, [
    { id: { kind: 'addr', proto: 'udp', address: '10.0.0.1', port: 53 }, scheduler: 'rr', flags: [], ops: true, destinations: [{ address: '10.0.0.2', port: 53, method: 'tun', tunType: 'ipip', weight: 1, upper: 0, lower: 0 }] },
    { id: { kind: 'addr', proto: 'tcp', address: '10.0.0.1', port: 80 }, scheduler: 'wlc', flags: [], persistence: { timeout: 300 }, ops: false, destinations: [{ address: '10.0.0.3', port: 0, method: 'dr', weight: 1, upper: 0, lower: 0 }] },
    { id: { kind: 'addr', proto: 'tcp', address: '2001:db8::1', port: 80 }, scheduler: 'rr', flags: [], persistence: { timeout: 10 }, ops: false, destinations: [] },
    { id: { kind: 'addr', proto: 'tcp', address: '2001:db8::2', port: 80 }, scheduler: 'rr', flags: [], persistence: { timeout: 10, netmask: '64' }, ops: false, destinations: [] },
  ]);
});

test('scheduler flags are named for their scheduler and sorted', (t) => {
  t.deepEqual(canonicalFlags('sh', ['sh-port', 'sh-fallback']), ['sh-fallback', 'sh-port']);
  t.deepEqual(canonicalFlags('sh', ['flag-1', 'flag-3']), ['flag-3', 'sh-fallback']);
  t.deepEqual(canonicalFlags('mh', ['sh-port']), ['mh-port']);
  t.deepEqual(canonicalFlags('wrr', ['mh-fallback', 'sh-port']), ['flag-1', 'flag-2']);
  t.is(canonicalFlags('sh', ['ops']), undefined);
});

test('service lines of the -L listings give the service identity', (t) => {
  t.deepEqual(parseListServiceLine('TCP  10.1.0.100:443 wrr persistent 1800 mask 255.255.255.0'), { kind: 'addr', proto: 'tcp', address: '10.1.0.100', port: 443 });
  t.deepEqual(parseListServiceLine('UDP  198.51.100.10:53 sh (sh-fallback,sh-port) ops'), { kind: 'addr', proto: 'udp', address: '198.51.100.10', port: 53 });
  t.deepEqual(parseListServiceLine('TCP  [2001:db8:2::100]:443 mh (mh-fallback)'), { kind: 'addr', proto: 'tcp', address: '2001:db8:2::100', port: 443 });
  t.deepEqual(parseListServiceLine('SCTP 10.0.0.1:80 rr'), { kind: 'addr', proto: 'sctp', address: '10.0.0.1', port: 80 });
  t.deepEqual(parseListServiceLine('FWM  10 wlc persistent 3600'), { kind: 'fwmark', mark: 10, family: 4 });
  t.deepEqual(parseListServiceLine('FWM  11 IPv6 rr'), { kind: 'fwmark', mark: 11, family: 6 });
  t.deepEqual(parseListServiceLine('FWM  -2147483648 rr'), { kind: 'fwmark', mark: 2147483648, family: 4 });
  t.is(parseListServiceLine('  -> 10.1.0.12:443                2000       1500       0          0'), undefined);
  t.is(parseListServiceLine('Prot LocalAddress:Port Scheduler Flags'), undefined);
});

// ------------------------------------------------------------------ any table

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const v6 = fc
  .array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 })
  .map((g) => canonicalAddress(g.map((x) => x.toString(16)).join(':'))!);
const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'];

function destination(family: 4 | 6, fwmark: boolean): fc.Arbitrary<IpvsDestination> {
  return fc
    .record({
      address: family === 4 ? v4 : v6,
      port: fwmark ? fc.constant(0) : fc.integer({ min: 1, max: 65535 }),
      method: fc.constantFrom('nat', 'dr', 'tun') as fc.Arbitrary<IpvsDestination['method']>,
      tun: fc.constantFrom('ipip', 'gue', 'gre') as fc.Arbitrary<'ipip' | 'gue' | 'gre'>,
      tunPort: fc.integer({ min: 1, max: 65535 }),
      tunCsum: fc.constantFrom('nocsum', 'csum', 'remcsum') as fc.Arbitrary<'nocsum' | 'csum' | 'remcsum'>,
      weight: fc.integer({ min: 0, max: 65535 }),
      t1: fc.nat(100000),
      t2: fc.nat(100000),
    })
    .map(({ address, port, method, tun, tunPort, tunCsum, weight, t1, t2 }) => {
      const base = { address, port, method };
      const thresholds = { weight, upper: Math.max(t1, t2), lower: Math.min(t1, t2) };
      if (method !== 'tun') return { ...base, ...thresholds };
      if (tun === 'ipip') return { ...base, tunType: tun, ...thresholds };
      return { ...base, tunType: tun, ...(tun === 'gue' ? { tunPort } : {}), tunCsum, ...thresholds };
    });
}

const service: fc.Arbitrary<IpvsService> = fc
  .record({
    family: fc.constantFrom(4, 6) as fc.Arbitrary<4 | 6>,
    fwmark: fc.boolean(),
    mark: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    proto: fc.constantFrom('tcp', 'udp', 'sctp') as fc.Arbitrary<'tcp' | 'udp' | 'sctp'>,
    port: fc.integer({ min: 0, max: 65535 }),
    scheduler: fc.constantFrom(...SCHEDULERS),
    bits: fc.subarray([0, 1, 2]),
    persistent: fc.boolean(),
    timeout: fc.integer({ min: 1, max: 2 ** 31 }),
    prefix: fc.option(fc.integer({ min: 0, max: 127 }), { nil: undefined }),
    pe: fc.boolean(),
    ops: fc.boolean(),
    seed: fc.integer(),
  })
  .chain((s) => {
    const address = s.family === 4 ? v4 : v6;
    return fc.tuple(fc.constant(s), address, fc.uniqueArray(destination(s.family, s.fwmark), { maxLength: 5, selector: (d) => destinationKey(d) }));
  })
  .map(([s, address, destinations]) => {
    const id: ServiceId = s.fwmark ? { kind: 'fwmark', mark: s.mark, family: s.family } : { kind: 'addr', proto: s.proto, address, port: s.port };
    const names = s.scheduler === 'sh' ? ['sh-fallback', 'sh-port', 'flag-3'] : s.scheduler === 'mh' ? ['mh-fallback', 'mh-port', 'flag-3'] : ['flag-1', 'flag-2', 'flag-3'];
    const netmask = s.prefix === undefined ? undefined : s.family === 6 ? String(s.prefix) : prefixNetmask(Math.min(s.prefix, 31));
    return {
      id,
      scheduler: s.scheduler,
      flags: s.bits.map((b) => names[b]).sort(),
      ...(s.persistent ? { persistence: netmask === undefined ? { timeout: s.timeout } : { timeout: s.timeout, netmask } } : {}),
      ...(s.pe ? { pe: 'sip' as const } : {}),
      ops: s.ops,
      destinations,
    };
  });

const table = fc.uniqueArray(service, { maxLength: 6, selector: (s) => serviceKey(s.id) });

test('parse(format(x)) is x for any canonical table (property)', (t) => {
  fc.assert(
    fc.property(table, (services) => {
      const back = parseIpvsadmSave(saveText(services, { thresholds: true }));
      return back.warnings.length === 0 && isDeepStrictEqual(keyed(back.value), keyed(services));
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(table, (services) => {
      const back = parseIpvsadmSave(saveText(services));
      return isDeepStrictEqual(keyed(back.value), keyed(zeroThresholds(services)));
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('the order comparator is libipvs\'s: fwmark, family, protocol, then address by overflowing subtraction', (t) => {
  const svc = (id: ServiceId): IpvsService => ({ id, scheduler: 'rr', flags: [], ops: false, destinations: [] });
  const a = svc({ kind: 'addr', proto: 'tcp', address: '198.51.100.10', port: 443 });
  const b = svc({ kind: 'addr', proto: 'tcp', address: '10.1.0.100', port: 80 });
  // 0xC633640A - 0x0A010064 overflows to a negative int: 198.51.100.10 sorts before 10.1.0.100.
  t.true(compareServices(a, b) < 0);
  t.true(compareServices(svc({ kind: 'addr', proto: 'udp', address: '10.0.0.1', port: 1 }), b) > 0);
  t.true(compareServices(svc({ kind: 'fwmark', mark: 1, family: 4 }), b) > 0);
  t.true(compareServices(svc({ kind: 'addr', proto: 'tcp', address: '2001:db8::1', port: 1 }), b) > 0);
});

test('a plain destination line read in one match is the entry parseSaveLine makes of it; any other line is left to parseSaveLine (property)', (t) => {
  const often = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ arbitrary: usual, weight: 9 }, { arbitrary: odd, weight: 1 });
  const octet = often(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('256', '01', '00', '999'));
  const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
  const addr = often(v4, fc.constantFrom('[2001:db8::1]', '2001:db8::1', '[::ffff:10.0.0.1]', 'host', ''));
  const port = often(fc.integer({ min: 0, max: 65535 }).map(String), fc.constantFrom('65536', '080', '99999', ''));
  const endpoint = fc.tuple(addr, port).map(([a, p]) => (p === '' ? a : `${a}:${p}`));
  const line = fc
    .tuple(
      often(fc.constant('-a'), fc.constantFrom('-e', '-A', ' -a')),
      often(fc.constantFrom('-t', '-u'), fc.constantFrom('-f', '--tcp-service')),
      endpoint,
      endpoint,
      often(fc.constantFrom('-g', '-m'), fc.constantFrom('-i', '-x')),
      often(fc.nat(70000).map(String), fc.constantFrom('007', '-1', '')),
      often(fc.constant(''), fc.constantFrom(' -x 5', '  ', '\r', ' --tun-type ipip')),
    )
    .map(([cmd, proto, svc, rs, method, weight, tail]) => `${cmd} ${proto} ${svc} -r ${rs} ${method} -w ${weight}${tail}`);
  let fast = 0;
  fc.assert(
    fc.property(line, (text) => {
      const quick = plainDestinationLine(text);
      if (!quick) return;
      fast++;
      t.deepEqual(parseSaveLine(text), { ok: true, entry: quick.entry });
    }),
    { numRuns: 5000 },
  );
  t.true(fast > 100, `only ${fast} lines took the quick path`);
  t.is(plainDestinationLine('-a -t 10.1.0.100:80 -r 10.1.0.11:80 -i -w 1'), undefined);
});

test('a table of plain lines reads as line by line, warnings included, services in any order', (t) => {
  const text = [
    '-A -t 10.1.0.100:80 -s wlc',
    '-A -u 10.1.0.100:53 -s rr',
    '-a -t 10.1.0.100:80 -r 10.1.0.11:80 -g -w 3',
    '-a -u 10.1.0.100:53 -r 10.1.0.11:53 -m -w 1',
    '-a -t 10.1.0.100:80 -r 10.1.0.12:80 -m -w 2',
    '-a -t 10.1.0.100:80 -r 10.1.0.12:80 -g -w 5',
    '-a -t 10.1.0.101:80 -r 10.1.0.12:80 -g -w 1',
    '-a -u 10.1.0.100:53 -r 10.1.0.12:53 -i -w 1',
  ].join('\n');
  const { value, warnings } = parseIpvsadmSave(text);
  t.deepEqual(
    value.map((s) => [serviceKey(s.id), s.destinations.map((d) => `${destinationKey(d)} ${d.method} ${d.weight}`)]),
    [
      ['tcp 10.1.0.100:80', ['10.1.0.11:80 dr 3', '10.1.0.12:80 nat 2']],
      ['udp 10.1.0.100:53', ['10.1.0.11:53 nat 1', '10.1.0.12:53 tun 1']],
    ],
  );
  t.deepEqual(warnings, [
    'skipped line 6 `-a -t 10.1.0.100:80 -r 10.1.0.12:80 -g -w 5`: real server 10.1.0.12:80 listed twice',
    'skipped line 7 `-a -t 10.1.0.101:80 -r 10.1.0.12:80 -g -w 1`: no -A line for service tcp 10.1.0.101:80 before it',
  ]);
});
