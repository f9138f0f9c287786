/**
 * The fact parsers on output recorded in the lab VM (agent/testdata/lab-captures/,
 * `lvsc lab capture`): a real Debian kernel with IPVS, one folder per kernel.
 * Each folder's README lists, per host, the commands that set the host up
 * before the captures; what the parsers read must be exactly what those
 * commands made: the director's IPVS table (from -Sn and --thresholds) is the
 * table its `ipvsadm -A/-a` commands describe, the timeouts are its --set,
 * the sync daemons its --start-daemon, the connections listing (-Ln) every
 * service and destination of that table, and every `ip addr add`, `ip route
 * replace`, `ip link set ... up`, `sysctl -w` and `modprobe` shows in the
 * parsed facts of its host. The traffic counters (-Ln --stats/--rate
 * --exact) were captured while the client sent requests (the README's
 * `client` section): they list the same table, with traffic on it. (nftables is read from captures of this
 * machine's nft in testdata/facts/nft: lvsc owns one table of its own shape.)
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { parseIpvsadmSave } from '../../compiler/ipvsadm.js';
import { serviceKey, type Method, type ServiceId } from '../../compiler/state.js';
import { keyed } from '../../test/support/table.js';
import { addressesFact } from './addresses.js';
import { ConnectionIndex, connectionsFact } from './connections.js';
import { rateFact, statsFact, type Rates, type Totals } from './counters.js';
import { daemonFact } from './daemon.js';
import { readFact, type Fact } from './fact.js';
import { linksFact } from './links.js';
import { modulesFact } from './modules.js';
import { routesFact } from './routes.js';
import { sysctlFact } from './sysctl.js';
import { mergeThresholds, thresholdsFact } from './thresholds.js';
import { ipvsFact } from './ipvs.js';
import { timeoutsFact } from './timeouts.js';

const ROOT = new URL('../testdata/lab-captures/', import.meta.url);
const kernels = readdirSync(ROOT).sort();

/** A capture's output: the file less its first line (`# lvsc lab capture | host: ... | command: ...`). */
function capture(kernel: string, file: string): string {
  const text = readFileSync(new URL(`${kernel}/${file}`, ROOT), 'utf8');
  if (!text.startsWith('# lvsc lab capture | ')) throw new Error(`${kernel}/${file}: no capture header`);
  return text.slice(text.indexOf('\n') + 1);
}

/** host → the setup commands the README lists for it (one per line; heredocs kept whole). */
function setup(kernel: string): Map<string, string[]> {
  const readme = readFileSync(new URL(`${kernel}/README.md`, ROOT), 'utf8');
  const out = new Map<string, string[]>();
  for (const m of readme.matchAll(/^### (\w+):[^\n]*\n\n```\n([\s\S]*?)\n```/gm)) out.set(m[1], m[2].split('\n'));
  return out;
}

function parsed<T>(fact: Fact<T>, stdout: string): { value: T; warnings: string[] } {
  const r = readFact(fact, { stdout, stderr: '', status: 0 });
  if (!r.ok) throw new Error(`${fact.name}: ${r.error.message}`);
  return { value: r.value, warnings: r.warnings };
}

/** The modules fact's framing around a real /proc/modules (the builtin and sysfs parts left empty). */
function modulesOutput(procModules: string): string {
  const part = (name: string, body: string) => `--- lvsc-modules ${name}\n${body}${body && !body.endsWith('\n') ? '\n' : ''}--- lvsc-modules end ${name} 0\n`;
  return part('proc', procModules) + part('builtin', '') + part('sysfs', '');
}

test('the lab captures are there, for at least Debian 12\'s 6.1 kernel', (t) => {
  t.true(kernels.some((k) => /^6\.1\.0-\d+-cloud-amd64$/.test(k)), kernels.join(' '));
});

for (const kernel of kernels) {
  const commands = setup(kernel);
  const lb1 = commands.get('lb1') ?? [];
  const modules = parsed(modulesFact, modulesOutput(capture(kernel, 'lb1.proc-modules.txt'))).value;

  test(`${kernel}: the director's -Sn and --thresholds read back as the table its ipvsadm commands built`, (t) => {
    const hasTwos = modules.includes('ip_vs_twos');
    // The ipvsadm -A/-a commands, as a save file; twos's only where the kernel had the module.
    const lines = lb1
      .flatMap((l) => (l.startsWith('if modprobe -q ip_vs_twos; then ') ? (hasTwos ? l.replace(/^if [^;]+; then /, '').replace(/; fi$/, '').split('; ') : []) : [l]))
      .filter((l) => /^ipvsadm -[Aa] /.test(l))
      .map((l) => l.slice('ipvsadm '.length));
    t.true(lines.length >= 20, `${lines.length} ipvsadm commands in the README`);
    const expected = parseIpvsadmSave(lines.join('\n'));
    t.deepEqual(expected.warnings, []);

    const services = parsed(ipvsFact, capture(kernel, 'lb1.ipvsadm-Sn.txt'));
    t.deepEqual(services.warnings, []);
    const thresholds = parsed(thresholdsFact, capture(kernel, 'lb1.ipvsadm-Ln-thresholds.txt'));
    t.deepEqual(thresholds.warnings, []);
    const merged = mergeThresholds(services.value, thresholds.value);
    t.deepEqual(merged.warnings, []);
    t.deepEqual(keyed(merged.value), keyed(expected.value));
    // The gotchas the capture holds: a fwmark past 2^31 that -Sn prints negative, -Sn without thresholds.
    t.true(merged.value.some((s) => s.id.kind === 'fwmark' && s.id.mark === 2147483658));
    t.true(services.value.flatMap((s) => s.destinations).every((d) => d.upper === 0 && d.lower === 0), '-Sn alone has no thresholds');
    t.true(merged.value.flatMap((s) => s.destinations).some((d) => d.upper === 1000 && d.lower === 800));
  });

  test(`${kernel}: the connections listing (-Ln) holds every service and destination its ipvsadm commands built, by identity`, (t) => {
    const table = parsed(ipvsFact, capture(kernel, 'lb1.ipvsadm-Sn.txt')).value;
    const listing = parsed(connectionsFact, capture(kernel, 'lb1.ipvsadm-Ln.txt'));
    t.deepEqual(listing.warnings, []);
    // The same services and destinations as -Sn, with the same method and weight; an idle lab has no connections.
    const fromListing = listing.value.map((s) => ({ id: s.service, destinations: s.destinations.map((d) => ({ address: d.address, port: d.port, method: d.forward, weight: d.weight })) }));
    const fromSave = table.map((s) => ({ id: s.id, destinations: s.destinations.map((d) => ({ address: d.address, port: d.port, method: d.method, weight: d.weight })) }));
    type Rows = { id: ServiceId; destinations: { address: string; port: number; method: string; weight: number }[] }[];
    const sorted = (xs: Rows) => keyed(xs.map((x) => ({ ...x, scheduler: '', flags: [], ops: false, destinations: x.destinations.map((d) => ({ ...d, method: d.method as Method, upper: 0, lower: 0 })) })));
    t.deepEqual(sorted(fromListing), sorted(fromSave));
    t.true(listing.value.flatMap((s) => s.destinations).every((d) => d.active === 0 && d.inactive === 0));
    // Looked up by typed identity, the shapes of the capture: a fwmark of 2^31+10 printed negative,
    // an IPv6 fwmark, an IPv6 service, a tunnel, a server that is the director's own address (10.20.0.2, listed as Route).
    const index = new ConnectionIndex(listing.value);
    t.like(index.get({ kind: 'fwmark', mark: 2147483658, family: 4 }, { address: '10.20.0.11', port: 0 }), { forward: 'dr', weight: 1, active: 0 });
    t.like(index.get({ kind: 'fwmark', mark: 20, family: 6 }, { address: '2001:db8:20::11', port: 0 }), { forward: 'dr', weight: 1 });
    t.like(index.get({ kind: 'addr', proto: 'tcp', address: '2001:db8:10::100', port: 443 }, { address: '2001:db8:20::11', port: 443 }), { forward: 'dr' });
    t.like(index.get({ kind: 'addr', proto: 'tcp', address: '10.10.0.110', port: 80 }, { address: '10.30.0.22', port: 80 }), { forward: 'tun' });
    t.like(index.get({ kind: 'addr', proto: 'tcp', address: '10.20.0.100', port: 80 }, { address: '10.20.0.2', port: 80 }), { forward: 'dr', weight: 1 });
    t.is(index.get({ kind: 'fwmark', mark: 20, family: 4 }, { address: '2001:db8:20::11', port: 0 }), undefined, 'fwmark 20 of IPv4 is another service');
  });

  test(`${kernel}: timeouts and sync daemons are the director's --set and --start-daemon`, (t) => {
    const set = lb1.find((l) => l.startsWith('ipvsadm --set '))!.split(' ').slice(2).map(Number);
    t.deepEqual(parsed(timeoutsFact, capture(kernel, 'lb1.ipvsadm-Ln-timeout.txt')).value, { tcp: set[0], tcpfin: set[1], udp: set[2] });
    const daemons = lb1
      .filter((l) => l.startsWith('ipvsadm --start-daemon '))
      .map((l) => {
        const [, , state, , mcastInterface, , syncid] = l.split(' ');
        return { state, mcastInterface, syncid: Number(syncid) };
      });
    t.is(daemons.length, 2);
    const byState = (a: { state: string }, b: { state: string }) => a.state.localeCompare(b.state);
    t.deepEqual(parsed(daemonFact, capture(kernel, 'lb1.ipvsadm-Ln-daemon.txt')).value.slice().sort(byState), daemons.sort(byState));
  });

  test(`${kernel}: every address added, route replaced and link set up is in its host's parsed facts`, (t) => {
    for (const [host, file] of [['lb1', 'lb1.ip-j-addr.txt'], ['web1', 'web1.ip-j-addr.txt']] as const) {
      const addresses = parsed(addressesFact, capture(kernel, file)).value;
      const added = (commands.get(host) ?? []).flatMap((l) => {
        const m = /^ip addr add (\S+)\/(\d+) dev (\S+)(?: label (\S+))?$/.exec(l);
        return m ? [{ dev: m[3], address: m[1], prefix: Number(m[2]), ...(m[4] ? { label: m[4] } : {}) }] : [];
      });
      t.true(added.length > 0, host);
      for (const a of added) t.deepEqual(addresses.find((x) => x.address === a.address && x.dev === a.dev), a, `${host}: ${a.address} on ${a.dev}`);
    }
    const web3Routes = parsed(routesFact, capture(kernel, 'web3.ip-j-route.txt')).value;
    const via = /^ip route replace default via (\S+)$/.exec((commands.get('web3') ?? []).find((l) => l.startsWith('ip route replace'))!)![1];
    t.like(web3Routes.find((r) => r.dst === 'default'), { dst: 'default', via });
    t.true(parsed(routesFact, capture(kernel, 'lb1.ip-j-route.txt')).value.some((r) => r.dst === '10.20.0.0/24' && r.dev === 'eth1'), 'lb1 reaches the servers\' segment on eth1');

    for (const host of ['remote1', 'remote2']) {
      const links = parsed(linksFact, capture(kernel, `${host}.ip-j-d-link.txt`)).value;
      const up = (commands.get(host) ?? []).flatMap((l) => /^ip link set (\S+) up$/.exec(l)?.slice(1) ?? []);
      t.true(up.length > 0, host);
      for (const name of up) t.like(links.find((l) => l.name === name), { name, kind: name === 'gre0' ? 'gre' : 'ipip', up: true }, `${host}: ${name}`);
    }
  });

  test(`${kernel}: every sysctl written reads back; the director's modules include IPVS and each scheduler it used`, (t) => {
    for (const host of ['lb1', 'web1', 'remote2']) {
      const written = Object.fromEntries(
        (commands.get(host) ?? []).filter((l) => l.startsWith('sysctl -q -w ')).flatMap((l) => l.split(' ').slice(3).map((kv) => kv.split('=') as [string, string])),
      );
      t.true(Object.keys(written).length > 0, host);
      const read = parsed(sysctlFact(Object.keys(written)), capture(kernel, `${host}.sysctl.txt`)).value;
      for (const [k, v] of Object.entries(written)) t.is(read[k], v, `${host}: ${k}`);
    }
    const schedulers = [...new Set(lb1.flatMap((l) => /^ipvsadm -A .* -s (\w+)/.exec(l)?.[1] ?? []))].filter((s) => s !== 'twos');
    for (const m of ['ip_vs', ...schedulers.map((s) => `ip_vs_${s}`), 'ip_vs_pe_sip']) t.true(modules.includes(m), `lb1 has ${m}`);
  });

  test(`${kernel}: the counters (--stats, --rate, --exact) taken under traffic list the table by identity, with the traffic on it`, (t) => {
    const table = parsed(ipvsFact, capture(kernel, 'lb1.ipvsadm-Sn.txt')).value;
    const ids = (xs: readonly { service: ServiceId; destinations: readonly { address: string; port: number }[] }[]) =>
      keyed(xs.map((x) => ({ id: x.service, scheduler: '', flags: [], ops: false, destinations: x.destinations.map((d) => ({ address: d.address, port: d.port, method: 'dr' as Method, weight: 0, upper: 0, lower: 0 })) })));
    const fromSave = ids(table.map((s) => ({ service: s.id, destinations: s.destinations })));
    const stats = parsed(statsFact, capture(kernel, 'lb1.ipvsadm-Ln-stats-exact.txt'));
    const rates = parsed(rateFact, capture(kernel, 'lb1.ipvsadm-Ln-rate-exact.txt'));
    t.deepEqual(stats.warnings, []);
    t.deepEqual(rates.warnings, []);
    t.deepEqual(ids(stats.value), fromSave);
    t.deepEqual(ids(rates.value), fromSave);
    // A service's totals are its destinations' summed: every column is read from its own place.
    const sum = (ds: readonly Totals[]) => ds.reduce((a, d) => ({ conns: a.conns + d.conns, inPackets: a.inPackets + d.inPackets, outPackets: a.outPackets + d.outPackets, inBytes: a.inBytes + d.inBytes, outBytes: a.outBytes + d.outBytes }), { conns: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0 });
    for (const s of stats.value) t.deepEqual(s.columns, sum(s.destinations), serviceKey(s.service));
    // The requests went through NAT (10.10.0.100:80, replies back through the director) and the DR VIP's fwmark.
    const nat = stats.value.find((s) => serviceKey(s.service) === 'tcp 10.10.0.100:80')!;
    t.true(nat.columns!.conns > 0 && nat.columns!.inBytes > 0 && nat.columns!.outBytes > 0, JSON.stringify(nat.columns));
    const busy = (r: Rates) => r.inPps > 0 && r.inBps > 0;
    t.true(rates.value.some((s) => busy(s.columns!) && s.destinations.some(busy)), 'the estimator shows the traffic');
    // Given both --stats and --rate, ipvsadm prints the stats alone: hence two facts.
    const both = capture(kernel, 'lb1.ipvsadm-Ln-stats-rate-exact.txt');
    t.regex(both.split('\n')[1], /\bConns\s+InPkts\s+OutPkts\s+InBytes\s+OutBytes\s*$/);
    t.deepEqual(ids(parsed(statsFact, both).value), fromSave);
    // Connections under traffic: -Ln counts them per destination.
    const listing = parsed(connectionsFact, capture(kernel, 'lb1.ipvsadm-Ln-traffic.txt'));
    t.deepEqual(listing.warnings, []);
    t.true(listing.value.flatMap((s) => s.destinations).some((d) => d.active + d.inactive > 0));
  });
}
