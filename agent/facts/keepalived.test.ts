/**
 * The keepalived fact and the notify script it reads, with real parts: the
 * notify script lvsc renders (the golden file of health-checks) is run by a
 * real `sh` with exactly the words the golden keepalived.conf gives it in its
 * `notify_up` / `notify_down` lines, and then the fact's own command runs on
 * what it wrote; the parser must give back the servers and states the
 * script was told. The state directory is a temporary one: the rendered
 * script is the template's output for HEALTH_DIR, and the one run here is the
 * same template's output for the temporary directory, byte for byte otherwise.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEALTH_DIR, KEEPALIVED_CONF, KEEPALIVED_NOTIFY } from '../../compiler/keepalived.js';
import { template } from '../../compiler/templates/render.js';
import { readFact } from './fact.js';
import { assembleHostState, hostFacts } from './index.js';
import { clockFact, keepalivedFact, parseHealthLine, type KeepalivedFacts } from './keepalived.js';

const golden = new URL('../../compiler/testdata/golden/health-checks/lb1/files', import.meta.url).pathname;
const conf = readFileSync(golden + KEEPALIVED_CONF, 'utf8');
const renderedScript = readFileSync(golden + KEEPALIVED_NOTIFY, 'utf8');

/** The argv keepalived runs for each notify line of the golden keepalived.conf (its `"..."`, split at blanks). */
const notifyLines = [...conf.matchAll(/^\s*notify_(up|down) "([^"]*)"$/gm)].map((m) => ({ state: m[1], argv: m[2].split(' ') }));

function withDir(run: (t: ExecutionContext, dir: string, script: string) => Promise<void> | void) {
  return async (t: ExecutionContext) => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsc-health-'));
    try {
      const stateDir = join(dir, 'health');
      const script = join(dir, 'keepalived-notify');
      writeFileSync(script, template('keepalived-notify.sh.hbs')({ stateDir }));
      await run(t, dir, script);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function readKeepalived(stateDir: string, pidFile: string): { value: KeepalivedFacts; warnings: string[] } {
  const fact = keepalivedFact(stateDir, pidFile);
  const c = fact.command();
  const r = spawnSync(c.argv[0], c.argv.slice(1), { encoding: 'utf8' });
  const result = readFact(fact, { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 });
  if (!result.ok) throw new Error(result.error.message);
  return { value: result.value, warnings: result.warnings };
}

test('the rendered notify script is the fixed template, with HEALTH_DIR as its only value', (t) => {
  t.is(renderedScript, template('keepalived-notify.sh.hbs')({ stateDir: HEALTH_DIR }));
  t.is(renderedScript.replace(`dir=${HEALTH_DIR}\n`, 'dir=X\n'), template('keepalived-notify.sh.hbs')({ stateDir: 'X' }));
  // Every checked server of health-checks has both lines, each running the script by /bin/sh.
  t.true(notifyLines.length >= 2);
  for (const n of notifyLines) t.deepEqual(n.argv.slice(0, 3), ['/bin/sh', KEEPALIVED_NOTIFY, n.state]);
});

test(
  'what the notify lines record is what the fact reads back: each server with its last state and time',
  withDir((t, dir, script) => {
    const stateDir = join(dir, 'health');
    const before = Math.floor(Date.now() / 1000);
    // Every server goes down, then the first one comes back up.
    const downs = notifyLines.filter((n) => n.state === 'down');
    const firstUp = notifyLines.find((n) => n.state === 'up')!;
    for (const n of [...downs, firstUp]) {
      const r = spawnSync('sh', [script, ...n.argv.slice(2)], { encoding: 'utf8' });
      t.is(r.status, 0, r.stderr);
    }
    const after = Math.floor(Date.now() / 1000);
    t.deepEqual(readdirSync(stateDir).filter((f) => f.startsWith('.')), [], 'no temporary file is left behind');
    const { value, warnings } = readKeepalived(stateDir, join(dir, 'none.pid'));
    t.deepEqual(warnings, []);
    t.is(value.running, null);
    t.is(value.pidFile, 'absent');
    t.is(value.health.length, downs.length, 'one record per server');
    const key = (words: readonly string[]) => words.join(' ');
    const upWords = key(firstUp.argv.slice(3));
    for (const h of value.health) {
      t.true(h.since >= before && h.since <= after);
      const words = h.service.kind === 'fwmark' ? ['fwmark', String(h.service.mark), String(h.service.family)] : [h.service.proto, h.service.address, String(h.service.port)];
      const record = key([...words, h.dest.address, String(h.dest.port)]);
      t.is(h.state, record === upWords ? 'up' : 'down', record);
      t.true(downs.some((d) => key(d.argv.slice(3)) === record), `${record} is a server of keepalived.conf`);
    }
  }),
);

test(
  'the notify script refuses arguments that are not a state, a service and a server, and writes nothing',
  withDir((t, dir, script) => {
    const stateDir = join(dir, 'health');
    const bad = [
      ['up', 'tcp', '10.3.0.100', '80', '10.3.0.11'],
      ['sideways', 'tcp', '10.3.0.100', '80', '10.3.0.11', '80'],
      ['up', 'icmp', '10.3.0.100', '80', '10.3.0.11', '80'],
      ['up', 'tcp', '10.3.0.100', '80', '10.3.0.11;touch x', '80'],
      ['up', 'tcp', '../../etc', '80', '10.3.0.11', '80'],
      ['up', 'tcp', '10.3.0.100', '8 0', '10.3.0.11', '80'],
      ['up', 'fwmark', '10', '5', '10.3.0.11', '0'],
    ];
    for (const argv of bad) {
      const r = spawnSync('sh', [script, ...argv], { encoding: 'utf8' });
      t.is(r.status, 64, argv.join(' '));
      t.regex(r.stderr, /^keepalived-notify: /);
    }
    t.throws(() => readdirSync(stateDir), { code: 'ENOENT' }, 'not even the directory was made');
  }),
);

test(
  'running: the pid file names a live keepalived; a pid of another program or of none is stale',
  withDir(async (t, dir) => {
    const pidFile = join(dir, 'keepalived.pid');
    // A program whose name is keepalived (a copy of sleep): what /proc/PID/comm shows for the real one.
    const prog = join(dir, 'keepalived');
    copyFileSync('/bin/sleep', prog);
    const child = spawn(prog, ['30'], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    try {
      writeFileSync(pidFile, `${child.pid}\n`);
      t.deepEqual(readKeepalived(join(dir, 'health'), pidFile).value.running, { pid: child.pid! });
      writeFileSync(pidFile, `${process.pid}\n`);
      const other = readKeepalived(join(dir, 'health'), pidFile).value;
      t.is(other.running, null);
      t.is(other.pidFile, 'stale');
    } finally {
      child.kill();
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await exited;
    writeFileSync(pidFile, `${child.pid}\n`);
    t.is(readKeepalived(join(dir, 'health'), pidFile).value.pidFile, 'stale');
  }),
);

test('installed: the path and the version line of the keepalived on PATH (2.2.7 here)', (t) => {
  const { value } = readKeepalived('/nonexistent-lvsc-health', '/nonexistent-lvsc.pid');
  t.is(value.installed?.path, '/usr/sbin/keepalived');
  t.regex(value.installed?.version ?? '', /^Keepalived v2\.2\.7 /);
  t.deepEqual(value.health, []);
});

test('the parser skips a record it cannot read, and says so', (t) => {
  const fact = keepalivedFact();
  const out = [
    'lvsc-keepalived binary none',
    'lvsc-keepalived pid none',
    'lvsc-keepalived health up tcp 10.3.0.100 80 10.3.0.11 80 1700000000',
    'lvsc-keepalived health down udp 2001:db8:0::1 53 2001:db8::11 53 1700000001',
    'lvsc-keepalived health down fwmark 10 6 2001:db8::12 0 1700000002',
    'lvsc-keepalived health up tcp 10.3.0.100 80 10.3.0.11 80',
    'lvsc-keepalived health up tcp 10.3.0.999 80 10.3.0.11 80 1',
    'junk',
    '',
  ].join('\n');
  const r = fact.parse(out);
  t.deepEqual(r.value, {
    installed: null,
    running: null,
    pidFile: 'absent',
    health: [
      { state: 'up', service: { kind: 'addr', proto: 'tcp', address: '10.3.0.100', port: 80 }, dest: { address: '10.3.0.11', port: 80 }, since: 1700000000 },
      { state: 'down', service: { kind: 'addr', proto: 'udp', address: '2001:db8::1', port: 53 }, dest: { address: '2001:db8::11', port: 53 }, since: 1700000001 },
      { state: 'down', service: { kind: 'fwmark', mark: 10, family: 6 }, dest: { address: '2001:db8::12', port: 0 }, since: 1700000002 },
    ],
  });
  t.deepEqual(r.warnings, [
    'skipped health record `up tcp 10.3.0.100 80 10.3.0.11 80`: not 7 words',
    'skipped health record `up tcp 10.3.0.999 80 10.3.0.11 80 1`: not a service address and port',
    'skipped `junk`: not a line of the keepalived fact',
  ]);
  t.is(typeof parseHealthLine('up tcp a b c d e'), 'string');
});

test('a director running keepalived reads the keepalived fact in its batch, and its value comes back with the host', (t) => {
  const base = { director: true, sysctlKeys: [], files: [] };
  t.false(hostFacts(base).some((f) => f.name === 'keepalived'));
  t.false(hostFacts({ ...base, director: false, keepalived: true }).some((f) => f.name === 'keepalived'));
  const request = { ...base, keepalived: true };
  t.true(hostFacts(request).some((f) => f.name === 'keepalived'));
  const read = assembleHostState(new Map([['keepalived', readFact(keepalivedFact(), { stdout: 'lvsc-keepalived binary /usr/sbin/keepalived\nlvsc-keepalived pid 42 running\n', stderr: '', status: 0 })]]), request);
  t.deepEqual(read.keepalived, { installed: { path: '/usr/sbin/keepalived', version: undefined }, running: { pid: 42 }, pidFile: 'running', health: [] });
});

test('a health record that changed while the table was read is left out: the clock is read before the table, the records after it', (t) => {
  const request = { director: true, sysctlKeys: [], files: [], keepalived: true };
  const names = hostFacts(request).map((f) => f.name);
  t.true(names.indexOf('clock') < names.indexOf('ipvs') && names.indexOf('ipvs') < names.indexOf('keepalived'), names.join(' '));
  t.false(hostFacts({ ...request, keepalived: false }).some((f) => f.name === 'clock'));
  // web1 went up at 1700000100, while the facts were read from 1700000100 on: the table may still show it down.
  const records = ['lvsc-keepalived pid 42 running', 'lvsc-keepalived health up tcp 10.3.0.100 80 10.3.0.11 80 1700000100', 'lvsc-keepalived health down tcp 10.3.0.100 80 10.3.0.12 80 1700000099', ''].join('\n');
  const read = (clock: string) =>
    assembleHostState(
      new Map<string, ReturnType<typeof readFact<unknown>>>([
        ['clock', readFact(clockFact, { stdout: clock, stderr: '', status: 0 })],
        ['keepalived', readFact(keepalivedFact(), { stdout: records, stderr: '', status: 0 })],
      ]),
      request,
    ).keepalived!.health.map((h) => `${h.state} ${h.dest.address}`);
  t.deepEqual(read('1700000100\n'), ['down 10.3.0.12']);
  t.deepEqual(read('1700000101\n'), ['up 10.3.0.11', 'down 10.3.0.12']);
});
