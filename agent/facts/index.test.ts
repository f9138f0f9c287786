/**
 * The one-round-trip batch, run through real shells on this machine: each
 * section must come back byte for byte (stdout), with its stderr and exit
 * status, whatever the command prints; a missing program must read as "not
 * installed"; and busybox sh must not swap in its own applets. Then the
 * assembly of a host's state from the facts' results.
 *
 * Needs sh, bash and busybox, and for the director's round trip ipvsadm on a
 * kernel without IPVS, as CI's (scripts/setup-test-host.sh installs the
 * programs; each test says so when one is missing).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmd, commandLine, type Command } from '../../compiler/command.js';
import { parseIpvsadmSave } from '../../compiler/ipvsadm.js';
import { MANIFEST_PATH, manifestOf, manifestText } from '../../compiler/manifest.js';
import { emptyHostState, serviceKey } from '../../compiler/state.js';
import { assertKernelWithoutIpvs, assertPrograms } from '../../test/support/host.js';
import { keyed } from '../../test/support/table.js';
import { addressesFact } from './addresses.js';
import type { Fact, FactResult } from './fact.js';
import { assembleHostState, batchCommand, batchScript, factBatch, splitBatch } from './index.js';
import { IPVS_NOT_LOADED, ipvsFact } from './ipvs.js';
import { mergeThresholds, thresholdsFact } from './thresholds.js';

/** A fact that only runs a command (its parser is not under test here). */
const raw = (name: string, command: Command): Fact<string> => ({ name, tool: command.argv[0], command: () => command, parse: (stdout) => ({ value: stdout, warnings: [] }) });

function run(shell: string[], command: Command): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', commandLine(command)], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

/** The same shells on every machine: a missing one fails its tests (naming its package), it does not drop them. */
const SHELLS: string[][] = [['sh'], ['bash'], ['busybox', 'sh']];
const needShell = (shell: string[]) => shell[0] !== 'sh' && assertPrograms(`the fact batch under ${shell.join(' ')}`, [shell[0]]);

const NONCE = 'a1b2c3d4e5f60718';
const CASES: { fact: Fact<string>; stdout: string; stderr: string; status: number }[] = [
  { fact: raw('exact', cmd('printf', 'a\\nb')), stdout: 'a\nb', stderr: '', status: 0 },
  { fact: raw('empty', cmd('true')), stdout: '', stderr: '', status: 0 },
  { fact: raw('trailing', cmd('printf', 'x\\n\\n')), stdout: 'x\n\n', stderr: '', status: 0 },
  { fact: raw('fails', cmd('sh', '-c', 'echo out; echo err >&2; echo more >&2; exit 3')), stdout: 'out\n', stderr: 'err\nmore', status: 3 },
  { fact: raw('missing', cmd('lvsc-no-such-program', '-x')), stdout: '', stderr: 'lvsc-no-such-program: command not found', status: 127 },
  { fact: raw('forged', cmd('printf', '%s\\n', ':::lvsc-facts 0000000000000000 end forged')), stdout: ':::lvsc-facts 0000000000000000 end forged\n', stderr: '', status: 0 },
  { fact: raw('stdin', cmd('cat')), stdout: '', stderr: '', status: 0 },
  { fact: raw('quoting', cmd('printf', '%s', `it's $HOME \`id\` "q" \\ *`)), stdout: `it's $HOME \`id\` "q" \\ *`, stderr: '', status: 0 },
];

for (const shell of SHELLS) {
  test(`${shell.join(' ')}: every section comes back exact, with its stderr and exit status`, (t) => {
    needShell(shell);
    const facts = CASES.map((c) => c.fact);
    const out = run(shell, batchCommand(facts, NONCE));
    t.is(out.status, 0);
    const split = splitBatch(out.stdout, facts.map((f) => f.name), NONCE);
    t.deepEqual(split.problems, []);
    for (const c of CASES) t.deepEqual(split.outputs.get(c.fact.name), { stdout: c.stdout, stderr: c.stderr, status: c.status }, c.fact.name);
  });

  test(`${shell.join(' ')}: programs run by their PATH entry, never a shell's applet of that name`, (t) => {
    needShell(shell);
    assertPrograms('reading addresses', ['ip']);
    // busybox sh runs its own `ip` applet (no -j) before anything on PATH; the batch must still get iproute2's.
    const out = run(shell, batchCommand([addressesFact], NONCE));
    const section = splitBatch(out.stdout, ['addresses'], NONCE).outputs.get('addresses');
    t.is(section?.status, 0, section?.stderr);
    const lo = JSON.parse(section!.stdout).find((l: { ifname: string }) => l.ifname === 'lo');
    t.truthy(lo, 'ip -j addr show listed lo');
  });
}

test('output cut short: complete sections are kept, the rest is reported', (t) => {
  const facts = CASES.map((c) => c.fact);
  const out = run(['sh'], batchCommand(facts, NONCE)).stdout;
  const cut = out.slice(0, out.indexOf(`:::lvsc-facts ${NONCE} status missing`) + 10);
  const split = splitBatch(cut, facts.map((f) => f.name), NONCE);
  t.deepEqual([...split.outputs.keys()], ['exact', 'empty', 'trailing', 'fails']);
  t.deepEqual(split.problems, ['the output of fact missing was cut short', 'the batch did not finish (no final marker): output cut short or the script was killed']);
  // Nothing at all (sudo refused, ssh dropped): every fact is reported.
  t.deepEqual(splitBatch('', ['a', 'b'], NONCE).problems, ['no output for fact a: the batch was cut short', 'no output for fact b: the batch was cut short', 'the batch did not finish (no final marker): output cut short or the script was killed']);
});

test('the batch refuses what it cannot frame', (t) => {
  t.throws(() => batchScript([raw('a', cmd('true')), raw('a', cmd('true'))], NONCE), { message: /not unique/ });
  t.throws(() => batchScript([raw('A b', cmd('true'))], NONCE), { message: /not unique or not/ });
  t.throws(() => batchScript([raw('s', { argv: ['cat'], stdin: 'x' })], NONCE), { message: /reads stdin/ });
  t.throws(() => batchScript([], "x'; rm -rf /"), { message: /nonce/ });
});

test('one round trip on this machine: a director\'s facts read into a host state; reading IPVS facts does not run ipvsadm where ip_vs is not loaded', (t) => {
  assertPrograms('the director\'s round trip', ['ipvsadm', 'ip', 'sysctl']);
  assertKernelWithoutIpvs('the director\'s round trip', 'its table must read as empty without ipvsadm loading ip_vs');
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-facts-'));
  try {
    const rules = join(dir, 'ipvsadm.rules');
    writeFileSync(rules, '-A -t 10.1.0.100:80 -s wlc\n');
    const manifestPath = join(dir, 'manifest.json');
    const manifest = manifestText({ ...manifestOf('lb1', emptyHostState(), ['/etc/ipvsadm.rules']), sysctls: ['net.ipv4.ip_forward'] });
    writeFileSync(manifestPath, manifest);
    const batch = factBatch({ director: true, sysctlKeys: ['net.ipv4.ip_forward', 'net.ipv4.lvsc_no_such_key'], files: [rules, join(dir, 'missing')], manifest: manifestPath }, NONCE);
    t.deepEqual(
      batch.facts.map((f) => f.name),
      ['modules', 'ipvs', 'thresholds', 'timeouts', 'daemon', 'addresses', 'routes', 'routes6', 'links', 'fou', 'nft', 'sysctl', 'files', 'manifest'],
    );
    const out = run(['sh'], batch.command);
    const host = batch.read(out);
    t.true(host.state.addresses.some((a) => a.dev === 'lo' && a.address === '127.0.0.1' && a.prefix === 8));
    t.deepEqual(host.state.files, { [rules]: '-A -t 10.1.0.100:80 -s wlc\n', [manifestPath]: manifest });
    t.deepEqual(host.ownership, { addresses: new Set(), sysctls: new Set(['net.ipv4.ip_forward']), fouPorts: new Set(), files: new Set(['/etc/ipvsadm.rules', MANIFEST_PATH]) });
    // The kernel's own answer, read without sysctl(8).
    t.is(host.state.sysctls['net.ipv4.ip_forward'], readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim());
    // A key the kernel does not have is absent, and not worth a warning (a module or device not there yet).
    t.false('net.ipv4.lvsc_no_such_key' in host.state.sysctls);
    t.false(host.warnings.some((w) => w.fact === 'sysctl'), JSON.stringify(host.warnings));
    t.false(host.errors.some((e) => e.fact === 'batch'), JSON.stringify(host.errors));

    // ip_vs is not loaded: ipvsadm must not run at all (it would `modprobe ip_vs` itself); each
    // IPVS fact prints the one not-loaded line instead, and reads as no table.
    const sections = splitBatch(out.stdout, batch.facts.map((f) => f.name), NONCE).outputs;
    for (const fact of ['ipvs', 'thresholds', 'timeouts', 'daemon']) t.deepEqual(sections.get(fact), { stdout: `${IPVS_NOT_LOADED}\n`, stderr: '', status: 0 }, fact);
    t.deepEqual(host.errors.filter((e) => ['ipvs', 'thresholds', 'timeouts', 'daemon'].includes(e.fact)), []);
    t.deepEqual(host.state.ipvs, []);
    t.is(host.state.timeouts, null);
    t.deepEqual(host.state.syncDaemons, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const ok = <T>(value: T): FactResult<T> => ({ ok: true, value, warnings: [] });
const missing = (tool: string): FactResult<never> => ({ ok: false, error: { kind: 'missing-tool', tool, message: `${tool} is not installed (not found on PATH)` } });

test('assembling a host: IPVS only on directors, nft missing matters only where fwmark rules are needed', (t) => {
  const request = { director: false, sysctlKeys: [], files: [] };
  const results = new Map<string, FactResult<unknown>>([
    ['addresses', ok([{ dev: 'lo', address: '10.1.0.100', prefix: 32, label: 'lo:lvs' }])],
    ['routes', ok([{ dst: 'default', via: '10.1.0.1', dev: 'eth0', proto: 'boot' }])],
    ['routes6', ok([{ dst: 'default', via: '2001:db8::1', dev: 'eth0', proto: 'boot' }])],
    ['links', ok([{ name: 'tunl0', kind: 'ipip', up: true }])],
    ['fou', ok([{ name: 'fou:6080', kind: 'fou', up: true, port: 6080 }])],
    ['modules', { ok: true, value: ['ipip'], warnings: ['a warning'] }],
    ['nft', missing('nft')],
  ]);
  const rs = assembleHostState(results, request);
  t.deepEqual(rs.errors, []);
  t.deepEqual(rs.warnings, [{ fact: 'modules', message: 'a warning' }]);
  t.is(rs.state.ipvs, null);
  t.is(rs.state.timeouts, null);
  t.deepEqual(rs.state.routes.map((r) => r.via), ['10.1.0.1', '2001:db8::1']);
  t.deepEqual(rs.state.links.map((l) => l.name), ['tunl0', 'fou:6080']);
  t.deepEqual(rs.state.fwmarkRules, []);

  const director = assembleHostState(new Map([...results, ['ipvs', missing('ipvsadm')], ['thresholds', missing('ipvsadm')]]), { ...request, director: true });
  t.deepEqual(
    director.errors.map((e) => [e.fact, e.message]),
    [
      ['ipvs', 'ipvsadm is not installed (not found on PATH)'],
      ['thresholds', 'ipvsadm is not installed (not found on PATH)'],
    ],
    'a director without fwmark services does without nft',
  );
  t.deepEqual(director.state.ipvs, []);
  t.deepEqual(director.state.fwmarkRules, []);

  const marking = assembleHostState(results, { ...request, director: true, needsNft: true });
  t.deepEqual(
    marking.errors.map((e) => [e.fact, e.message]),
    [['nft', 'nft is not installed (not found on PATH)']],
    'a director that must mark packets needs nft',
  );
});

// ------------------------------------------------------------------ thresholds on the fixture

const facts = (name: string) => JSON.parse(readFileSync(new URL(`../testdata/facts/${name}.json`, import.meta.url), 'utf8')) as { output: string };

test('-Sn plus --thresholds of the fixture is exactly the table its commands built', (t) => {
  const services = ipvsFact.parse(facts('ipvs/ipvsadm-1.31').output).value;
  const thresholds = thresholdsFact.parse(facts('thresholds/ipvsadm-1.31').output).value;
  const merged = mergeThresholds(services, thresholds);
  t.deepEqual(merged.warnings, []);
  const built = parseIpvsadmSave(readFileSync(new URL('../../compiler/testdata/ipvsadm/build-commands.txt', import.meta.url), 'utf8')).value;
  t.deepEqual(keyed(merged.value), keyed(built));
});

test('thresholds that do not match the table are reported, not invented', (t) => {
  const services = ipvsFact.parse(facts('ipvs/ipvsadm-1.31').output).value;
  const thresholds = thresholdsFact.parse(facts('thresholds/ipvsadm-1.31').output).value;
  // As if the table changed between the two reads: a service and a destination gone, one of each added.
  const changed = thresholds
    .filter((s) => serviceKey(s.service) !== 'tcp 10.1.0.100:80')
    .map((s) => {
      const key = serviceKey(s.service);
      if (key === 'tcp 203.0.113.51:80') return { ...s, destinations: s.destinations.filter((d) => d.address !== '198.51.100.20') };
      if (key === 'tcp 198.51.100.10:443') return { ...s, destinations: [...s.destinations, { address: '192.168.10.99', port: 8443, upper: 1, lower: 0 }] };
      return s;
    })
    .concat([{ service: { kind: 'addr', proto: 'tcp', address: '10.9.9.9', port: 1 }, destinations: [] }]);
  const merged = mergeThresholds(services, changed);
  t.deepEqual(merged.warnings, [
    'thresholds listed for 192.168.10.99:8443 in tcp 198.51.100.10:443, which -Sn did not show (the table changed between reads?)',
    'no thresholds read for 198.51.100.20:80 in tcp 203.0.113.51:80 (the table changed between reads?)',
    'no thresholds read for service tcp 10.1.0.100:80 (the table changed between reads?)',
    'thresholds listed for service tcp 10.9.9.9:1, which -Sn did not show (the table changed between reads?)',
  ]);
  // Nothing is invented or dropped: the same destinations, the unmatched ones as -Sn gave them.
  t.deepEqual(merged.value, services.map((s) => (serviceKey(s.id) === 'tcp 10.1.0.100:443' ? { ...s, destinations: s.destinations.map((d) => ({ ...d, upper: 2000, lower: 1500 })) } : s)));
});
