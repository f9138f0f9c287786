/**
 * values.ts on its own: each kind of value read from one word, its typed
 * value, and for a bad one the code, the summary and the exact span of the
 * part at fault. In the inputs, `<|...|>` marks the word being read; a second
 * mark inside it, the span the diagnostic must point at.
 */
import test from 'ava';
import type { Diagnostic } from './diagnostics.js';
import { marked, slice, source } from './test-support.js';
import { DURATIONS, NUMBERS, Values, type Word } from './values.js';

interface Reading<T> {
  readonly value: T;
  readonly diagnostics: Diagnostic[];
  /** The text the first diagnostic's subject covers. */
  readonly subject: string | undefined;
  /** The text of the inner mark, if the input has one. */
  readonly marked: string | undefined;
}

/** Read the word marked in `input` with `f`; `after` names the word the value follows, if any. */
function read<T>(input: string, f: (v: Values, w: Word, after: Word | undefined) => T, afterWord?: string): Reading<T> {
  const { text, marks } = marked(input);
  const diagnostics: Diagnostic[] = [];
  const v = new Values(source(text), (d) => diagnostics.push(d));
  const word = { image: slice(text, marks[0])!, startOffset: marks[0].start };
  const at = afterWord === undefined ? -1 : text.indexOf(afterWord);
  const after = at < 0 ? undefined : { image: afterWord!, startOffset: at };
  return { value: f(v, word, after), diagnostics, subject: slice(text, diagnostics[0]?.subject), marked: slice(text, marks[1]) };
}

/** The one diagnostic of a reading, as `code: summary`, with its subject checked against the inner mark. */
function fault(t: import('ava').ExecutionContext, r: Reading<unknown>): string {
  t.is(r.diagnostics.length, 1, r.diagnostics.map((d) => d.summary).join('; '));
  if (r.marked !== undefined) t.is(r.subject, r.marked, 'the subject is the marked part');
  return `${r.diagnostics[0].code}: ${r.diagnostics[0].summary}`;
}

test('names: lowercase words kept as written; a bad one says what names are, with a hint', (t) => {
  const ok = read('host <|web-1_a|>', (v, w) => v.name(w, 'host'));
  t.deepEqual([ok.value.value, ok.value.text, ok.diagnostics.length], ['web-1_a', 'web-1_a', 0]);
  const upper = read('host <|<|Web1|>|>', (v, w) => v.name(w, 'host'));
  t.is(fault(t, upper), 'bad-name: `Web1` is not a valid host name');
  t.regex(upper.diagnostics[0].detail!, /Did you mean `web1`\?/);
  t.is(upper.value.value, 'Web1', 'a bad name is kept as written');
  const addr = read('server <|<|10.1.0.2/24|>|>', (v, w) => v.name(w, 'host'));
  t.regex(addr.diagnostics[0].detail!, /referred to by the name of its `host NAME/);
  t.is(read('service <|<|Shop|>|>', (v, w) => v.name(w, 'service')).diagnostics[0].summary, '`Shop` is not a valid service name');
});

test('device names follow Linux: at most 15 characters, no `:` or `/`', (t) => {
  t.is(read('interface <|eth0.100|>', (v, w) => v.device(w)).diagnostics.length, 0);
  t.regex(read('interface <|<|eth0:1|>|>', (v, w) => v.device(w)).diagnostics[0].detail!, /alias such as `eth0:1`.*interface eth0 ADDR/);
  t.regex(read('interface <|<|averyveryverylongname|>|>', (v, w) => v.device(w)).diagnostics[0].detail!, /21 characters long/);
  t.regex(read('interface <|<|10.0.0.1/24|>|>', (v, w) => v.device(w)).diagnostics[0].detail!, /`\/` is not allowed/);
});

test('numbers: decimal, in range for their kind; hex, service names and signs get hints', (t) => {
  t.deepEqual(read('weight <|65535|>', (v, w) => v.number(w, NUMBERS.weight)).value, {
    value: 65535,
    text: '65535',
    span: { file: 'test.lvs', start: 7, end: 12 },
  });
  const big = read('weight <|<|70000|>|>', (v, w) => v.number(w, NUMBERS.weight));
  t.is(fault(t, big), 'bad-number: `70000` is out of range for a weight');
  t.is(big.value, undefined);
  t.regex(read('port <|<|https|>|>', (v, w) => v.number(w, NUMBERS.port)).diagnostics[0].detail!, /https is 443/);
  t.regex(read('fwmark <|<|0x10|>|>', (v, w) => v.number(w, NUMBERS.fwmark)).diagnostics[0].detail!, /0x10 is 16/);
  t.regex(read('upper <|<|-1|>|>', (v, w) => v.number(w, NUMBERS.threshold)).diagnostics[0].detail!, /Negative numbers/);
  t.is(fault(t, read('fwmark <|<|0|>|>', (v, w) => v.number(w, NUMBERS.fwmark))), 'bad-number: `0` is out of range for a firewall mark');
  t.is(read('sync eth1 id <|255|>', (v, w) => v.number(w, NUMBERS.syncId)).value?.value, 255);
});

test('a value on the next line is noted as probably the next statement', (t) => {
  const r = read('server web1 weight\n<|<|server|>|>', (v, w, after) => v.number(w, NUMBERS.weight, after), 'weight');
  t.regex(r.diagnostics[0].detail!, /`server`, on the next line, was read as a weight: is the value missing\?/);
  const cr = read('server web1 weight\r<|<|server|>|>', (v, w, after) => v.number(w, NUMBERS.weight, after), 'weight');
  t.regex(cr.diagnostics[0].detail!, /on the next line/, 'a lone CR ends a line too');
  const same = read('server web1 weight <|<|server|>|>', (v, w, after) => v.number(w, NUMBERS.weight, after), 'weight');
  t.notRegex(same.diagnostics[0].detail!, /next line/);
});

test('durations: units ms, s, m, h combined, whole seconds, in range', (t) => {
  const secs = (text: string) => read(`tcp <|${text}|>`, (v, w) => v.duration(w, DURATIONS.timeout)).value?.value;
  t.deepEqual([secs('300s'), secs('15m'), secs('1h30m'), secs('1500ms2500ms'), secs('744h')], [300, 900, 5400, 4, 744 * 3600]);
  t.is(fault(t, read('tcp <|<|300|>|>', (v, w) => v.duration(w, DURATIONS.timeout))), 'bad-duration: `300` has no unit');
  t.regex(read('tcp <|<|2d|>|>', (v, w) => v.duration(w, DURATIONS.timeout)).diagnostics[0].detail!, /write hours: `48h`/);
  t.regex(read('tcp <|<|40d|>|>', (v, w) => v.duration(w, DURATIONS.timeout)).diagnostics[0].detail!, /at most `744h` here/);
  t.regex(read('tcp <|<|1500ms|>|>', (v, w) => v.duration(w, DURATIONS.timeout)).diagnostics[0].detail!, /write `1s` or `2s`/);
  t.is(fault(t, read('tcp <|<|745h|>|>', (v, w) => v.duration(w, DURATIONS.timeout))), 'bad-duration: `745h` is out of range for a connection timeout');
  t.is(fault(t, read('persistence <|<|5x|>|>', (v, w) => v.duration(w, DURATIONS.persistence))), 'bad-duration: `5x` is not a duration');
});

test('addresses: IPv4 and IPv6 (brackets allowed), canonical; hints for ports, prefixes, octets', (t) => {
  t.deepEqual(read('vip <|[2001:DB8:0:0::1]|>', (v, w) => v.address(w, 'vip')).value, {
    value: '2001:db8::1',
    text: '[2001:DB8:0:0::1]',
    span: { file: 'test.lvs', start: 4, end: 21 },
  });
  const hint = (text: string, role: 'gateway' | 'via' | 'vip' | 'match') =>
    read(`x <|<|${text}|>|>`, (v, w) => v.address(w, role)).diagnostics[0].detail;
  t.is(fault(t, read('vip <|<|10.1.0.300|>|>', (v, w) => v.address(w, 'vip'))), 'bad-address: `10.1.0.300` is not an IPv4 or IPv6 address');
  t.regex(hint('10.1.0.300', 'vip')!, /from 0 to 255/);
  t.regex(hint('10.1.0.1:80', 'vip')!, /port goes after the protocol/);
  t.regex(hint('10.1.0.1/24', 'gateway')!, /remove `\/24`/);
  t.regex(hint('010.1.0.1', 'via')!, /Leading zeros/);
  t.regex(hint('fe80::1%eth0', 'match')!, /Zone indices/);
});

test('address/prefix: the one CIDR reader, each fault on its own part', (t) => {
  t.deepEqual(read('interface eth0 <|2001:DB8::2/64|>', (v, w) => v.cidr(w)).value?.value, { address: '2001:db8::2', prefix: 64, family: 6 });
  t.deepEqual(read('interface eth0 <|10.1.0.2/24|>', (v, w) => v.cidr(w)).value?.value, { address: '10.1.0.2', prefix: 24, family: 4 });
  t.is(fault(t, read('interface eth0 <|<|10.1.0.2|>|>', (v, w) => v.cidr(w))), 'bad-cidr: `10.1.0.2` has no prefix length');
  t.is(fault(t, read('interface eth0 <|<|10.1.0.256|>/24|>', (v, w) => v.cidr(w))), 'bad-cidr: `10.1.0.256` is not an IPv4 or IPv6 address');
  t.is(fault(t, read('interface eth0 <|10.1.0.2<|/33|>|>', (v, w) => v.cidr(w))), 'bad-cidr: `/33` is not a valid IPv4 prefix length');
  t.is(fault(t, read('interface eth0 <|::1<|/129|>|>', (v, w) => v.cidr(w))), 'bad-cidr: `/129` is not a valid IPv6 prefix length');
  t.regex(read('route <|<|10.2.0.0|>|>', (v, w) => v.cidr(w, undefined, 'route')).diagnostics[0].detail!, /route's destination/);
});

test('ssh targets: [user@]host[:port], [v6]:port, names and aliases; each fault on its part', (t) => {
  const target = (text: string) => {
    const r = read(`ssh <|${text}|>`, (v, w) => v.sshTarget(w));
    t.deepEqual(r.diagnostics, [], text);
    const x = r.value!;
    return [x.user?.value, x.host.value, x.isAddress, x.port?.value];
  };
  t.deepEqual(target('deploy@10.1.0.2:2222'), ['deploy', '10.1.0.2', true, 2222]);
  t.deepEqual(target('[2001:DB8::1]:22'), [undefined, '2001:db8::1', true, 22]);
  t.deepEqual(target('2001:db8::1'), [undefined, '2001:db8::1', true, undefined]);
  t.deepEqual(target('root@lb1.example.com'), ['root', 'lb1.example.com', false, undefined]);
  t.deepEqual(target('web_1-'), [undefined, 'web_1-', false, undefined]);
  const spans = read('ssh <|deploy@10.1.0.2:2222|>', (v, w) => v.sshTarget(w));
  const text = 'ssh deploy@10.1.0.2:2222';
  t.deepEqual(
    [slice(text, spans.value!.user!.span), slice(text, spans.value!.host.span), slice(text, spans.value!.port!.span)],
    ['deploy', '10.1.0.2', '2222'],
  );
  t.is(fault(t, read('ssh <|<|Dé|>@h|>', (v, w) => v.sshTarget(w))), 'bad-name: `Dé` is not a valid user name');
  t.is(fault(t, read('ssh <|<|@|>h|>', (v, w) => v.sshTarget(w))), 'bad-name: the user name before `@` is empty');
  t.is(fault(t, read('ssh <|<|[2001:db8::1|>|>', (v, w) => v.sshTarget(w))), 'bad-address: `[2001:db8::1` has no closing `]`');
  t.is(fault(t, read('ssh <|[::1]<|x|>|>', (v, w) => v.sshTarget(w))), 'bad-address: unexpected `x` after `]`');
  t.is(fault(t, read('ssh <|<|10.1.0.300|>:22|>', (v, w) => v.sshTarget(w))), 'bad-address: `10.1.0.300` is not an IPv4 or IPv6 address');
  t.is(fault(t, read('ssh <|10.1.0.2:<|70000|>|>', (v, w) => v.sshTarget(w))), 'bad-number: `70000` is not a port number');
  t.is(fault(t, read('ssh <|10.1.0.2<|:|>|>', (v, w) => v.sshTarget(w))), 'bad-number: the port after `:` is missing');
  t.is(fault(t, read('ssh <|<|a%b|>|>', (v, w) => v.sshTarget(w))), 'bad-address: `a%b` is neither an address nor a host name');
});

test('users and strings', (t) => {
  t.is(read('user <|deploy$|>', (v, w) => v.user(w)).diagnostics.length, 0);
  t.is(fault(t, read('user <|<|9lives|>|>', (v, w) => v.user(w))), 'bad-name: `9lives` is not a valid user name');
  t.is(read('key <|"a \\"b\\" \\\\c"|>', (v, w) => v.string(w)).value.value, 'a "b" \\c');
  t.is(read('key <|"unterminated|>', (v, w) => v.string(w)).value.value, 'unterminated', 'a string the lexer reported keeps its best value');
  t.is(read('key <|\u201ctypographic\u201d|>', (v, w) => v.string(w)).value.value, 'typographic');
});
