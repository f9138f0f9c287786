/**
 * `lvsc plan` and `lvsc apply` against real OpenSSH servers, each in its own
 * network namespace (lab/netns-sshd.ts), through the CLI in-process.
 * What changed is checked by reading the namespaces directly (`lab.exec`),
 * never through lvsc's own facts.
 *
 * This kernel has no IPVS, so the director `lb` is in the lab but cannot be
 * read ("the kernel has no IPVS"): the tests assert that it fails clearly and
 * alone while the real servers are planned and applied, and scope later runs
 * to the real servers with --target. The IPVS path is exercised in the lab VM.
 *
 * Lab: lb (director), web1 (DR real server), app1 (NAT real server), web2
 * (DR, taken down mid-apply). /etc/sysctl.d, /etc/systemd/network and
 * /etc/modules-load.d are private per host, so rendered files stay in the lab.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { lvscOnHosts, type HostsContext, type Run } from './test-support.js';
import { acquireHostLock, LOCK_DIR, LOCK_RECORD } from '../agent/lock.js';
import { connectSsh } from '../agent/transport/ssh.js';
import { compileCluster } from '../compiler/compile.js';
import { check } from '../compiler/index.js';
import { MANIFEST_PATH, manifestText, type Manifest } from '../compiler/manifest.js';
import { LAB_USERS, startLab, type ExecResult, type Lab } from '../lab/netns-sshd.js';
import { assertKernelWithoutIpvs, assertPrograms } from '../test/support/host.js';

const test = anyTest as TestFn<{ lab: Lab; dir: string }>;

test.before(async (t) => {
  // lvsc reads the director with ipvsadm, and its first step there, `modprobe ip_vs`, must fail.
  assertPrograms('cli/apply.test.ts', ['ipvsadm', 'modprobe', 'sysctl']);
  assertKernelWithoutIpvs('cli/apply.test.ts', 'the director must fail at modprobe ip_vs');
  t.context.lab = await startLab({
    hosts: [{ name: 'lb' }, { name: 'web1' }, { name: 'app1' }, { name: 'web2' }],
    privateDirs: ['/etc/sysctl.d', '/etc/systemd/network', '/etc/modules-load.d', '/var/lib/lvsc'],
  });
  t.context.dir = mkdtempSync(join(tmpdir(), 'lvsc-apply-'));
});

test.after.always(async (t) => {
  await t.context.lab?.stop();
});

function net(lab: Lab): string {
  return lab.host('lb').address.split('.').slice(0, 3).join('.');
}

/** The lab cluster; `services` picks which services are in the file, `user` the SSH user. */
function cluster(lab: Lab, opts: { services?: ('www' | 'api' | 'www2')[]; user?: string } = {}): string {
  const services = opts.services ?? ['www', 'api'];
  const host = (name: string) => {
    const a = lab.host(name).address;
    return `host ${name} {\n  ssh ${a}\n  interface eth0 ${a}/24\n}\n`;
  };
  const n = net(lab);
  const blocks: Record<string, string> = {
    www: `service www {\n  vip ${n}.100 tcp 80\n  scheduler wlc\n  forward dr\n  server web1\n}\n`,
    api: `service api {\n  vip ${n}.100 tcp 8080\n  scheduler rr\n  forward nat\n  server app1\n}\n`,
    www2: `service www2 {\n  vip ${n}.102 tcp 80\n  scheduler wlc\n  forward dr\n  server web2\n}\n`,
  };
  return [
    `defaults {\n  ssh user ${opts.user ?? LAB_USERS.sudo}\n  ssh key "${lab.keyFile}"\n  sudo\n}\n`,
    ...['lb', 'web1', 'app1', 'web2'].map(host),
    'director lb\n',
    ...services.map((s) => blocks[s]),
  ].join('\n');
}

function lvsc(t: HostsContext, text: string, argv: string[], onStderr?: (s: string) => void): Promise<Run> {
  return lvscOnHosts(t, text, argv, { ...(onStderr ? { onStderr } : {}) });
}

async function sh(lab: Lab, host: string, line: string): Promise<string> {
  const r = await lab.exec(host, ['sh', '-c', line]);
  if (r.code !== 0) throw new Error(`${host}: \`${line}\` failed: ${r.stderr}`);
  return r.stdout;
}

const REAL = ['--target', 'web1', '--target', 'app1', '--target', 'web2'];

/** web1 as the file with `www` declares it, read from its namespace: ARP sysctl set, the VIP on lo with lvsc's label; and plan --target web1 has no changes. */
async function assertWeb1Applied(t: ExecutionContext<{ lab: Lab; dir: string }>, text: string): Promise<void> {
  const { lab } = t.context;
  t.is((await sh(lab, 'web1', 'sysctl -n net.ipv4.conf.all.arp_ignore')).trim(), '1');
  t.regex(await sh(lab, 'web1', 'ip -o -4 addr show dev lo'), /lo:lvs/);
  const plan = await lvsc(t, text, ['plan', '--target', 'web1']);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
}

/**
 * `lvsc apply --yes ARGV`, calling `interrupt` once the progress shows the first step starting on `host`:
 * synchronously, inside the progress callback lvsc waits on, so the host is interrupted before lvsc sends it
 * that step (lvsc cannot win the race and finish the host first).
 */
async function applyInterrupted(t: { context: { lab: Lab; dir: string } }, text: string, argv: string[], host: string, interrupt: () => void): Promise<{ apply: Run; interrupted: boolean }> {
  let interrupted = false;
  const starting = new RegExp(`^${host}: [+~-] `, 'm');
  const apply = await lvsc(t, text, ['apply', '--yes', ...argv], (s) => {
    if (!interrupted && starting.test(s)) {
      interrupted = true;
      interrupt();
    }
  });
  return { apply, interrupted };
}

/** Resolves once the process has printed a line matching `line` on stdout; rejects if it ends first. */
function said(child: ChildProcessWithoutNullStreams, line: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()).split('\n').some((l) => line.test(l)) && resolve());
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => reject(new Error(`ended (exit ${code}) without saying ${line}: ${out}${err}`)));
  });
}

test.serial('apply: real servers get their VIP, ARP sysctls and route; the director fails alone and clearly; a second plan is clean', async (t) => {
  const { lab } = t.context;
  const n = net(lab);
  const text = cluster(lab);

  const plan = await lvsc(t, text, ['plan']);
  t.is(plan.code, 2, plan.stdout + plan.stderr);
  t.regex(plan.stdout, new RegExp(`web1 \\(real server\\)[\\s\\S]*\\+ address ${n.replace(/\./g, '\\.')}\\.100/32 on lo \\(label lo:lvs\\)`));
  t.regex(plan.stdout, /app1 \(real server\)[\s\S]*route default/);
  t.regex(plan.stdout, /lb \(director\)[\s\S]*\+ module ip_vs/);

  const apply = await lvsc(t, text, ['apply', '--yes']);
  t.is(apply.code, 1, apply.stdout + apply.stderr);
  t.regex(apply.stdout, /web1: done, (\d+) of \1 steps ran/);
  t.regex(apply.stdout, /app1: done, (\d+) of \1 steps ran/);
  // The kernel has no IPVS: the director's first step (loading ip_vs) fails, and nothing else runs there.
  t.regex(apply.stdout, /lb: failed, 0 of \d+ steps ran\n {2}module ip_vs: `modprobe ip_vs` failed on lb \(exit 1\): modprobe: FATAL: Module ip_vs not found/);
  t.regex(apply.stdout, /· \+ ipvs service tcp .*not run/);
  t.regex(apply.stdout, /verified: the applied hosts match the cluster/);

  // Read the namespaces directly.
  const lo = await sh(lab, 'web1', 'ip -o -4 addr show dev lo');
  t.regex(lo, new RegExp(`inet ${n.replace(/\./g, '\\.')}\\.100/32 .*lo:lvs`));
  t.is((await sh(lab, 'web1', 'sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce net.ipv4.conf.lo.arp_ignore')).trim().split('\n').join(' '), '1 2 1');
  t.regex(await sh(lab, 'web1', 'cat /etc/sysctl.d/90-lvsc.conf'), /net\.ipv4\.conf\.all\.arp_ignore = 1/);
  t.is((await sh(lab, 'app1', 'ip route show default')).trim(), `default via ${lab.host('lb').address} dev eth0 proto 76 `.trim());
  t.regex(await sh(lab, 'app1', 'cat /etc/systemd/network/eth0.network.d/lvsc.conf'), new RegExp(`Gateway=${lab.host('lb').address.replace(/\./g, '\\.')}`));

  const again = await lvsc(t, text, ['plan', ...REAL]);
  t.is(again.code, 0, again.stdout + again.stderr);
  t.regex(again.stdout, /No changes\./);
});

test.serial('drift: a hand change shows in plan (exit 2) and apply reverts it', async (t) => {
  const { lab } = t.context;
  const n = net(lab);
  const text = cluster(lab);
  await sh(lab, 'web1', 'sysctl -q -w net.ipv4.conf.all.arp_ignore=0');
  await sh(lab, 'web1', `ip addr del ${n}.100/32 dev lo`);

  const plan = await lvsc(t, text, ['plan', '--target', 'web1']);
  t.is(plan.code, 2, plan.stdout + plan.stderr);
  t.regex(plan.stdout, /~ sysctl net\.ipv4\.conf\.all\.arp_ignore 0 → 1/);
  t.regex(plan.stdout, /\+ address .*\.100\/32 on lo/);
  t.notRegex(plan.stdout, /app1/, 'app1 is neither targeted nor waiting for web1');

  // web1's prepare has steps and the director's table (which has steps) waits for it: lb comes along.
  const json = await lvsc(t, text, ['plan', '--target', 'web1', '--json']);
  t.is(json.code, 2);
  const parsed = JSON.parse(json.stdout) as { hosts: { host: string }[]; dependencies: { host: string; phase: string; after: { host: string; phase: string } }[] };
  t.deepEqual(
    parsed.hosts.map((h) => h.host),
    ['web1', 'lb'],
  );
  t.true(parsed.dependencies.some((d) => d.host === 'lb' && d.phase === 'table' && d.after.host === 'web1' && d.after.phase === 'prepare'));

  const apply = await lvsc(t, text, ['apply', '--yes', '--target', 'web1']);
  t.is(apply.code, 1, 'the director still cannot load ip_vs here');
  t.regex(apply.stdout, /web1: done/);
  await assertWeb1Applied(t, text);
});

test.serial('removing a service removes exactly lvsc\'s VIP and leaves a hand-added address', async (t) => {
  const { lab } = t.context;
  const n = net(lab);
  await sh(lab, 'web1', `ip addr add ${n}.200/32 dev lo`);
  const text = cluster(lab, { services: ['api'] });
  const plan = await lvsc(t, text, ['plan', '--target', 'web1']);
  t.is(plan.code, 2, plan.stdout + plan.stderr);
  t.regex(plan.stdout, /- address .*\.100\/32 on lo/);
  // The hand-added address is not lvsc's: the plan does not mention it (the lab's own subnet may be 10.x.200).
  t.notRegex(plan.stdout, new RegExp(`${n.replace(/\./g, '\\.')}\\.200/`));

  const apply = await lvsc(t, text, ['apply', '--yes', '--target', 'web1']);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  const lo = await sh(lab, 'web1', 'ip -o -4 addr show dev lo');
  t.notRegex(lo, new RegExp(`${n.replace(/\./g, '\\.')}\\.100/`));
  t.regex(lo, new RegExp(`${n.replace(/\./g, '\\.')}\\.200/32`));
  t.is((await sh(lab, 'web1', 'sysctl -n net.ipv4.conf.all.arp_ignore')).trim(), '0', 'ARP sysctl back to the kernel default');
  t.is((await sh(lab, 'web1', 'ls /etc/sysctl.d /etc/systemd/network /var/lib/lvsc')).replace(/\s+/g, ' ').trim(), '/etc/sysctl.d: /etc/systemd/network: /var/lib/lvsc:');
  t.is((await lvsc(t, text, ['plan', '--target', 'web1'])).code, 0);
});

test.serial('a second apply while the lock is held fails that host, naming the holder', async (t) => {
  const { lab } = t.context;
  const text = cluster(lab, { services: ['www', 'api'] });
  // Another lvsc holds web1's lock: a shell that keeps the flock, with its record, until its input ends.
  const holder = lab.start('web1', ['sh', '-c', `mkdir -m 755 ${dirname(LOCK_DIR)} 2>/dev/null; mkdir -m 700 ${LOCK_DIR} 2>/dev/null; exec 9<${LOCK_DIR}; flock -n 9 || exit 1; printf "owner=alice@ops\\npid=4242\\nsince=2025-01-01T00:00:00Z\\n" > ${LOCK_DIR}/${LOCK_RECORD}; echo locked; read -r _ || :`]);
  const released = new Promise((resolve) => holder.on('close', resolve));
  t.teardown(() => holder.stdin.end());
  await said(holder, /^locked$/);
  const apply = await lvsc(t, text, ['apply', '--yes', '--target', 'web1']);
  t.is(apply.code, 1, apply.stdout + apply.stderr);
  // The lock comes before web1 is read: nothing of it is read or planned.
  t.regex(apply.stdout, /Nothing planned: none of the 1 hosts could be read/);
  t.regex(apply.stdout + apply.stderr, /web1 is locked by another lvsc apply: alice@ops, pid 4242, since 2025-01-01T00:00:00Z/);
  t.regex(await sh(lab, 'web1', 'ip -o -4 addr show dev lo'), /^(?![\s\S]*lo:lvs)/, 'nothing ran on web1');
  holder.stdin.end();
  await released;
});

test.serial('planning is under the lock: a second apply while the first waits for its confirmation fails, and the first applies what it read', async (t) => {
  const { lab } = t.context;
  const n = net(lab);
  const text = cluster(lab);
  // web1 without lvsc's VIP: both runs would add it.
  await lab.exec('web1', ['ip', 'addr', 'del', `${n}.100/32`, 'dev', 'lo']);
  t.notRegex(await sh(lab, 'web1', 'ip -o -4 addr show dev lo'), /lo:lvs/);
  // The first apply has read web1 and planned, and waits for its "yes" on the terminal.
  const answer = new PassThrough();
  let asked!: () => void;
  const question = new Promise<void>((resolve) => (asked = resolve));
  const first = lvscOnHosts(t, text, ['apply', '--target', 'web1'], { terminal: answer, onStderr: (s) => s.includes("Only 'yes' goes ahead") && asked() });
  await Promise.race([question, first.then((r) => Promise.reject(new Error(`the first apply ended without asking: ${r.stdout}${r.stderr}`)))]);
  // Meanwhile a second apply: web1 is locked by the first, from before it read web1 until it is done.
  const second = await lvsc(t, text, ['apply', '--yes', '--target', 'web1']);
  t.is(second.code, 1);
  t.regex(second.stdout + second.stderr, /web1 is locked by another lvsc apply: [^\s,]+@[^\s,]+, pid \d+/);
  t.notRegex(second.stdout, /web1: done/);
  t.notRegex(await sh(lab, 'web1', 'ip -o -4 addr show dev lo'), /lo:lvs/, 'the second apply changed nothing on web1');
  // The first goes ahead with the plan it made against what it read, which is still what is there.
  answer.end('yes\n');
  const done = await first;
  t.regex(done.stdout, /web1: done/, done.stdout + done.stderr);
  t.regex(done.stdout, /verified: the applied hosts match the cluster/);
  await assertWeb1Applied(t, text);
  // And the lock is free again.
  const after = await lvsc(t, text, ['apply', '--yes', '--target', 'web1']);
  t.notRegex(after.stdout + after.stderr, /locked by another lvsc apply/);
});

test.serial('apply --break-lock breaks a lock whose holder is stuck, says whose, and applies; without it the host fails', async (t) => {
  const { lab } = t.context;
  const n = net(lab);
  const text = cluster(lab);
  await lab.exec('web1', ['ip', 'addr', 'del', `${n}.100/32`, 'dev', 'lo']);
  // Another run's lock on web1 (a 2 s watch window, so stuck means 6 s without a heartbeat), whose holder then stops.
  const other = await connectSsh(lab.endpoint('web1'), lab.sshOptions());
  t.teardown(() => other.close());
  const held = await acquireHostLock(other, 'alice@laptop', { windowSeconds: 2 });
  const pid = /^holder=(\d+)$/m.exec(await sh(lab, 'web1', `cat ${LOCK_DIR}/${LOCK_RECORD}`))?.[1];
  t.truthy(pid);
  await sh(lab, 'web1', `kill -STOP ${pid}`);
  t.teardown(() => lab.exec('web1', ['kill', '-KILL', String(pid)]).then(() => undefined));
  const refused = await lvsc(t, text, ['apply', '--yes', '--target', 'web1']);
  t.regex(refused.stdout + refused.stderr, /web1 is locked by another lvsc apply: alice@laptop, pid \d+, since \S+\. .*--break-lock/);
  t.notRegex(await sh(lab, 'web1', 'ip -o -4 addr show dev lo'), /lo:lvs/);
  const broke = await lvsc(t, text, ['apply', '--yes', '--break-lock', '--target', 'web1']);
  t.regex(broke.stderr, new RegExp(`^lvsc: web1: broke the lvsc lock of alice@laptop, pid ${process.pid}, since ${held.holder.since}`, 'm'));
  t.regex(broke.stdout, /web1: done/, broke.stdout + broke.stderr);
  await assertWeb1Applied(t, text);
  t.not((await lab.exec('web1', ['test', '-e', `/proc/${pid}/fd/9`])).code, 0, 'the stuck holder is gone');
});

test.serial('sudo without rights fails the host cleanly, with what to do', async (t) => {
  const { lab } = t.context;
  const text = cluster(lab, { user: LAB_USERS.noSudo });
  const plan = await lvsc(t, text, ['plan', '--target', 'web1']);
  t.is(plan.code, 1, plan.stdout + plan.stderr);
  t.regex(plan.stderr, /error: web1: .*sudo/);
  t.notRegex(plan.stderr, /internal error/);
});

test.serial('a host going down mid-apply fails alone; the others finish; the summary says what ran where', async (t) => {
  const { lab } = t.context;
  const text = cluster(lab, { services: ['www', 'api', 'www2'] });
  // web2's first step starts: take it down now (links down, sshd killed).
  const { apply, interrupted } = await applyInterrupted(t, text, ['--timeout', '4s', ...REAL], 'web2', () => lab.takeDownNow('web2'));
  t.true(interrupted);
  t.is(apply.code, 1, apply.stdout + apply.stderr);
  t.regex(apply.stdout, /web2: failed, \d+ of \d+ steps ran/);
  t.regex(apply.stdout, /✗ .* FAILED: /);
  t.regex(apply.stdout, /web1: done|Apply FAILED/);
  t.regex(await sh(lab, 'web1', 'ip -o -4 addr show dev lo'), /lo:lvs/);
});

test.serial('a real server\'s cleanup waits for the director: when the director fails, the VIP stays (skipped), and apply says so', async (t) => {
  const { lab } = t.context;
  const n = net(lab);
  await lvsc(t, cluster(lab), ['apply', '--yes', '--target', 'web1']);
  t.regex(await sh(lab, 'web1', 'ip -o -4 addr show dev lo'), /lo:lvs/, 'web1 has its VIP before');
  // www leaves the file: the director would untable it first; here it fails at ip_vs, so web1 keeps its VIP.
  const apply = await lvsc(t, cluster(lab, { services: ['api'] }), ['apply', '--yes', '--target', 'web1', '--target', 'lb']);
  t.is(apply.code, 1, apply.stdout + apply.stderr);
  t.regex(apply.stdout, /web1: skipped, 0 of \d+ steps ran\n {2}not touched from its cleanup phase on: it waits for lb's untable, which did not complete/);
  t.regex(apply.stdout, /- - address .*\.100\/32 on lo .*skipped/);
  t.regex(await sh(lab, 'web1', 'ip -o -4 addr show dev lo'), new RegExp(`${n.replace(/\./g, '\\.')}\\.100/32 .*lo:lvs`), 'the VIP is still there');
});

test.serial('apply without --yes and without a terminal refuses before connecting; an unknown --target is an error', async (t) => {
  const { lab } = t.context;
  const refused = await lvsc(t, cluster(lab), ['apply']);
  t.is(refused.code, 1);
  t.is(refused.stderr, 'lvsc: apply needs --yes when there is no terminal to confirm the plan on (review it first with lvsc plan)\n');
  t.is(refused.stdout, '');
  const unknown = await lvsc(t, cluster(lab), ['plan', '--target', 'nosuch']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /--target nosuch: no such host in the cluster/);
});

test.serial('a removed GUE port\'s netdev file is found by its name pattern and removed; a look-alike without lvsc\'s header stays', async (t) => {
  const { lab } = t.context;
  // What lvsc renders for `forward tun gue port 6080` (examples/cdn-tun.lvs): left behind once that service is gone.
  const example = check([{ path: 'examples/cdn-tun.lvs', text: readFileSync(new URL('../examples/cdn-tun.lvs', import.meta.url), 'utf8') }]);
  const netdev = '/etc/systemd/network/50-lvsc-fou6080.netdev';
  const rendered = compileCluster(example.cluster!).find((h) => h.name === 'cache-fra')!.state.files[netdev];
  t.regex(rendered, /^# Rendered by lvsc[\s\S]*Port=6080/);
  await lab.exec('web1', ['sh', '-c', `cat > ${netdev}`], rendered);
  // lvsc rendered it, so its manifest lists it and the port, as when that service was in the file.
  const manifest = JSON.parse(await sh(lab, 'web1', `cat ${MANIFEST_PATH}`)) as Manifest;
  await lab.exec('web1', ['sh', '-c', `cat > ${MANIFEST_PATH}`], manifestText({ ...manifest, fouPorts: [6080], files: [...manifest.files, netdev].sort() }));
  await lab.exec('web1', ['sh', '-c', 'cat > /etc/systemd/network/50-lvsc-fou7000.netdev'], '[NetDev]\nName=fou7000\nKind=fou\n');

  const text = cluster(lab, { services: ['api'] });
  const plan = await lvsc(t, text, ['plan', '--target', 'web1']);
  t.is(plan.code, 2, plan.stdout + plan.stderr);
  t.regex(plan.stdout, /- file \/etc\/systemd\/network\/50-lvsc-fou6080\.netdev/);
  t.notRegex(plan.stdout, /fou7000/, 'not rendered by lvsc: not lvsc\'s to remove');

  const apply = await lvsc(t, text, ['apply', '--yes', '--target', 'web1']);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  t.is((await sh(lab, 'web1', 'ls /etc/systemd/network')).trim(), '50-lvsc-fou7000.netdev');
  const again = await lvsc(t, text, ['plan', '--target', 'web1']);
  t.is(again.code, 0, again.stdout + again.stderr);
});

test.serial('a host whose sessions die mid-apply fails alone; running apply again converges it and plan is clean', async (t) => {
  const { lab } = t.context;
  const text = cluster(lab, { services: ['www', 'api'] });
  await sh(lab, 'web1', 'sysctl -q -w net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.lo.arp_ignore=0');
  // web1's first step starts: its SSH sessions are killed under it.
  const { apply: first, interrupted } = await applyInterrupted(t, text, ['--target', 'web1'], 'web1', () => lab.killSessionsNow('web1'));
  t.true(interrupted);
  t.is(first.code, 1, first.stdout + first.stderr);
  t.regex(first.stdout, /web1: failed, \d+ of \d+ steps ran/);

  const second = await lvsc(t, text, ['apply', '--yes', '--target', 'web1']);
  t.regex(second.stdout, /web1: done, (\d+) of \1 steps ran/, second.stdout + second.stderr);
  await assertWeb1Applied(t, text);
});

test.serial('after apply every host is read again: a change undone behind lvsc\'s back fails the run as NOT verified, showing what differs', async (t) => {
  const { lab } = t.context;
  const text = cluster(lab, { services: ['www', 'api'] });
  await sh(lab, 'web1', 'sysctl -q -w net.ipv4.conf.all.arp_ignore=0');
  // Something else on web1 sets arp_ignore back to 0 the moment lvsc has applied it: as the progress says apply
  // finished, inside the callback lvsc waits on, so before lvsc reads web1 again.
  let undone: ExecResult | undefined;
  const apply = await lvsc(t, text, ['apply', '--yes', '--target', 'web1'], (s) => {
    if (!undone && /^Applying: finished/m.test(s)) undone = lab.execNow('web1', ['sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=0']);
  });
  t.is(undone?.code, 0, undone?.stderr ?? 'the progress never said apply finished');
  t.is(apply.code, 1, apply.stdout + apply.stderr);
  t.regex(apply.stdout, /web1: done/, 'every step ran');
  t.regex(apply.stdout, /After apply, the hosts still differ from the cluster description:[\s\S]*~ sysctl net\.ipv4\.conf\.all\.arp_ignore 0 → 1/);
  t.regex(apply.stdout, /NOT verified\.\n$/);
  // Once nothing undoes it, apply converges.
  const again = await lvsc(t, text, ['apply', '--yes', '--target', 'web1']);
  t.regex(again.stdout, /web1: done/, again.stdout + again.stderr);
  await assertWeb1Applied(t, text);
});
