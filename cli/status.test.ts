/**
 * `lvsc status` against real OpenSSH servers in network namespaces
 * (lab/netns-sshd.ts): the director `lb` and two real servers. This kernel has
 * no IPVS, so the director's table reads empty and every declared entry is
 * drift (the figures of a live table are checked in the lab VM,
 * test/e2e/status.test.ts); what travels the real way here is the rest: the
 * role from the VIP the director holds (added to and removed from its
 * namespace by the test), keepalived's health records as its notify script
 * writes them, whether keepalived runs, a host that cannot be reached, and
 * --watch reading again over the same connections.
 *
 * /run/lvsc and /etc/keepalived are private per lab host.
 */
import anyTest, { type TestFn } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_USERS, type Lab } from '../lab/netns-sshd.js';
import { directorLab, labVip, type DirectorLab } from '../test/support/director-lab.js';
import { isInstalled } from '../test/support/host.js';
import { main } from './main.js';

const test = anyTest as TestFn<DirectorLab>;

directorLab(test, 'cli/status.test.ts');

const vip = labVip;

/** `www` checked by keepalived (tcp) unless `unchecked`; `unreachable` adds a server whose SSH port refuses connections. */
function cluster(lab: Lab, opts: { unreachable?: boolean; unchecked?: boolean } = {}): string {
  const host = (name: string, address = lab.host(name).address, ssh = address) => `host ${name} {\n  ssh ${ssh}\n  interface eth0 ${address}/24\n}\n`;
  const prefix = lab.host('lb').address.split('.').slice(0, 3).join('.');
  return [
    `defaults {\n  ssh user ${LAB_USERS.sudo}\n  ssh key "${lab.keyFile}"\n  sudo\n}\n`,
    ...['lb', 'web1', 'web2'].map((n) => host(n)),
    // Nothing listens on port 1 of the loopback address: refused at once.
    ...(opts.unreachable ? [host('web9', `${prefix}.209`, '127.0.0.1:1')] : []),
    'director lb\n',
    `service www {\n  vip ${vip(lab)} tcp 80\n  forward dr\n${opts.unchecked ? '' : '  check tcp\n'}  server web1\n  server web2 weight 3\n${opts.unreachable ? '  server web9\n' : ''}}\n`,
  ].join('\n');
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let fileSeq = 0;
async function lvsc(t: { context: { lab: Lab; dir: string } }, text: string, argv: string[], opts: { signal?: AbortSignal; onStdout?: (all: string) => void } = {}): Promise<Run> {
  const { lab, dir } = t.context;
  const file = join(dir, `cluster-${++fileSeq}.lvs`);
  writeFileSync(file, text);
  let stdout = '';
  let stderr = '';
  const code = await main([...argv, '--known-hosts', lab.knownHostsFile, '--ssh-config', join(lab.homeDir, 'no-config'), '--timeout', '5s', file], {
    stdout: {
      write: (s: string) => {
        stdout += s;
        opts.onStdout?.(stdout);
      },
      isTTY: false,
    },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: { HOME: lab.homeDir, NO_COLOR: '1' },
    cwd: dir,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { code, stdout, stderr };
}

async function sh(lab: Lab, host: string, line: string, ...args: string[]): Promise<string> {
  const r = await lab.exec(host, ['sh', '-c', line, 'sh', ...args]);
  if (r.code !== 0) throw new Error(`${host}: \`${line}\` failed: ${r.stderr}`);
  return r.stdout;
}

/** keepalived-notify's records for web1 (down since 1700000000) and web2 (up). */
async function healthRecords(lab: Lab): Promise<void> {
  const web1 = lab.host('web1').address;
  const web2 = lab.host('web2').address;
  await sh(lab, 'lb', 'umask 077 && mkdir -p /run/lvsc/health && printf "%s\\n" "$1" > /run/lvsc/health/a && printf "%s\\n" "$2" > /run/lvsc/health/b', `down tcp ${vip(lab)} 80 ${web1} 80 1700000000`, `up tcp ${vip(lab)} 80 ${web2} 80 1700000100`);
}

interface Doc {
  version: number;
  at: string;
  hosts: { name: string; ok: boolean; error?: string; changes?: number }[];
  directors: { name: string; declared: string; role: string; vipsHeld: number; vips: number; keepalived: { installed: boolean; running: boolean } | null; sync: unknown }[];
  services: {
    name: string;
    key: string;
    director: string | null;
    liveScheduler: string | null;
    drift: { action: string; reason: string }[];
    servers: { name: string; address: string; port: number; weight: number; live: unknown; health: { state: string; since?: number; why?: string }; drift: { action: string }[] }[];
  }[];
}

test.serial('the director holding the VIP is active; health from keepalived\'s records; keepalived\'s entries missing from the table are not lvsc\'s drift (--json)', async (t) => {
  const { lab } = t.context;
  await healthRecords(lab);
  await sh(lab, 'lb', `ip addr add ${vip(lab)}/32 dev eth0`);
  try {
    const run = await lvsc(t, cluster(lab), ['status', '--json']);
    t.is(run.code, 0, run.stdout + run.stderr);
    const doc = JSON.parse(run.stdout) as Doc;
    t.is(doc.version, 1);
    t.false(Number.isNaN(Date.parse(doc.at)));
    t.deepEqual(doc.hosts.map((h) => [h.name, h.ok]), [['lb', true], ['web1', true], ['web2', true]]);
    t.like(doc.directors[0], { name: 'lb', declared: 'active', role: 'active', vipsHeld: 1, vips: 1, keepalived: { installed: isInstalled('keepalived'), running: false } });
    const [www] = doc.services;
    t.like(www, { name: 'www', key: `tcp ${vip(lab)}:80`, director: 'lb', liveScheduler: null });
    // keepalived programs a checked service: a table without it is keepalived's business (not running here), not a step of lvsc's.
    t.deepEqual(www.drift, []);
    const [web1, web2] = www.servers;
    t.like(web1, { name: 'web1', address: lab.host('web1').address, port: 80, weight: 1, live: null, health: { state: 'down', since: 1_700_000_000 } });
    t.like(web2, { name: 'web2', address: lab.host('web2').address, port: 80, weight: 3, live: null, health: { state: 'up', since: 1_700_000_100 } });
    t.deepEqual(web2.drift, []);
    t.true(doc.hosts.find((h) => h.name === 'lb')!.changes! > 0);
  } finally {
    await sh(lab, 'lb', `ip addr del ${vip(lab)}/32 dev eth0`);
  }
});

test.serial('without the VIP the director is a backup; the text shows each server by name with its health', async (t) => {
  const { lab } = t.context;
  await healthRecords(lab);
  const run = await lvsc(t, cluster(lab), ['status']);
  t.is(run.code, 0, run.stdout + run.stderr);
  const lines = run.stdout.split('\n');
  t.regex(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}3 of 3 hosts read$/);
  t.true(lines.includes(`lb  director  backup (holds 0 of 1 VIP)  keepalived ${isInstalled('keepalived') ? 'not running' : 'not installed'}  sync none`), run.stdout);
  t.true(lines.includes(`  www  tcp ${vip(lab)}:80  wlc  on lb  not in the live table !`), run.stdout);
  const row = (name: string) => lines.find((l) => l.startsWith(`    ${name} `))?.split(/\s{2,}/).slice(2);
  const web1 = row('web1')!;
  t.deepEqual([...web1.slice(0, 2), ...web1.slice(3)], [`${lab.host('web1').address}:80`, '1', '-', '-', '-', '-', '-', 'not live !']);
  t.regex(web1[2], /^down \d+d\d\dh$/, 'down since 2023: days and hours');
  t.deepEqual(row('web2'), [lab.host('web2').address + ':80', '3', 'up', '-', '-', '-', '-', '-', 'not live !']);
  t.regex(run.stdout, /^lb: \d+ changes to make \(lvsc plan shows them\)$/m);
});

test.serial('a service lvsc programs: each entry missing from the live table is marked with the step plan would take', async (t) => {
  const { lab } = t.context;
  const run = await lvsc(t, cluster(lab, { unchecked: true }), ['status']);
  t.is(run.code, 0, run.stdout + run.stderr);
  const lines = run.stdout.split('\n');
  const row = (name: string) => lines.find((l) => l.startsWith(`    ${name} `))?.split(/\s{2,}/).slice(2);
  t.deepEqual(row('web2'), [`${lab.host('web2').address}:80`, '3', 'unchecked', '-', '-', '-', '-', '-', '!']);
  t.true(lines.includes(`    ! tcp ${vip(lab)}:80: + scheduler wlc`), run.stdout);
  t.true(lines.includes(`    ! web2 ${lab.host('web2').address}:80: + dr weight 3`), run.stdout);
  const json = JSON.parse((await lvsc(t, cluster(lab, { unchecked: true }), ['status', '--json'])).stdout) as Doc;
  t.deepEqual(json.services[0].drift.map((d) => d.action), ['create']);
  t.deepEqual(json.services[0].servers.map((x) => [x.name, x.health, x.drift.map((d) => d.action)]), [
    ['web1', { state: 'unknown', why: 'unchecked' }, ['create']],
    ['web2', { state: 'unknown', why: 'unchecked' }, ['create']],
  ]);
});

test.serial('a host that cannot be reached fails alone: the others are shown, the exit code is 1', async (t) => {
  const { lab } = t.context;
  const run = await lvsc(t, cluster(lab, { unreachable: true }), ['status', '--json']);
  t.is(run.code, 1, run.stdout + run.stderr);
  const doc = JSON.parse(run.stdout) as Doc;
  t.deepEqual(doc.hosts.map((h) => [h.name, h.ok]), [['lb', true], ['web1', true], ['web2', true], ['web9', false]]);
  t.truthy(doc.hosts.find((h) => h.name === 'web9')!.error);
  t.is(doc.services[0].servers.length, 3, 'the unreachable server is still listed, from the director\'s view');
});

test.serial('--watch reads again over the same connections, one plain block per read when stdout is not a terminal, until stopped', async (t) => {
  const { lab } = t.context;
  await healthRecords(lab);
  const stop = new AbortController();
  const header = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}3 of 3 hosts read$/gm;
  let changed = false;
  const run = await lvsc(t, cluster(lab), ['status', '--watch', '2s'], {
    signal: stop.signal,
    onStdout: (all) => {
      const blocks = all.match(header)?.length ?? 0;
      if (blocks === 1 && !changed) {
        changed = true;
        // Between two reads keepalived brings web1 back: the second block shows it.
        void sh(lab, 'lb', 'printf "%s\\n" "$1" > /run/lvsc/health/a', `up tcp ${vip(lab)} 80 ${lab.host('web1').address} 80 1700000200`);
      }
      if (blocks >= 2) stop.abort();
    },
  });
  t.is(run.code, 0, run.stderr);
  const blocks = run.stdout.split(header).slice(1);
  t.is(blocks.length, 2, run.stdout);
  t.regex(blocks[0], /^ {4}web1 .* down /m);
  t.regex(blocks[1], /^ {4}web1 .* up /m);
  t.false(run.stdout.includes('\x1b['), 'no cursor movement off a terminal');
});

test.serial('--watch with something that is not a duration is refused before anything connects', async (t) => {
  const { lab } = t.context;
  const bad = await lvsc(t, cluster(lab), ['status', '--watch=soon']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--watch soon: give a duration such as 5s or 1m/);
  t.notRegex(bad.stderr, /Reading live state/);
});
