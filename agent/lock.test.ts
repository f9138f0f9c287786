/**
 * The per-host apply lock against real sshd hosts (lab/netns-sshd.ts).
 * Needs root and `ip netns` (scripts/setup-test-host.sh).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { NO_OWNERSHIP } from '../compiler/diff.js';
import { HEALTH_DIR } from '../compiler/keepalived.js';
import { buildPlan } from '../compiler/order.js';
import { emptyHostState } from '../compiler/state.js';
import { template } from '../compiler/templates/render.js';
import { LAB_USERS, startLab, type Lab } from '../lab/netns-sshd.js';
import { applyPlan } from './apply.js';
import { acquireHostLock, HostLockError, localOwner, LOCK_DIR, LOCK_RECORD, WATCH_WINDOW_S } from './lock.js';
import { connectSsh } from './transport/ssh.js';
import type { RunOptions, Transport } from './transport/transport.js';

const test = anyTest as TestFn<{ lab: Lab }>;
const open: Transport[] = [];

const RECORD = `${LOCK_DIR}/${LOCK_RECORD}`;
/** lvsc's directory on a host (/run/lvsc), which holds the lock directory and keepalived's health records. */
const LVSC_DIR = dirname(LOCK_DIR);

test.before(async (t) => {
  // c: sshd with OpenSSH's own ClientAlive default (no probes), for the vanishing client.
  t.context.lab = await startLab({ hosts: [{ name: 'a' }, { name: 'b' }, { name: 'c', clientAliveInterval: 0 }] });
});

test.afterEach.always(async () => {
  await Promise.all(open.splice(0).map((transport) => transport.close()));
});

test.after.always(async (t) => {
  await t.context.lab?.stop();
});

async function connect(lab: Lab, name: string): Promise<Transport> {
  const transport = await connectSsh(lab.endpoint(name), lab.sshOptions());
  open.push(transport);
  return transport;
}

async function lockError(promise: Promise<unknown>): Promise<HostLockError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HostLockError) return error;
    throw error;
  }
  throw new Error('expected a HostLockError, but the lock was taken');
}

test.serial('a second apply on the same host fails fast, naming the holder; after release it succeeds', async (t) => {
  const { lab } = t.context;
  const first = await connect(lab, 'a');
  const second = await connect(lab, 'a');
  const held = await acquireHostLock(first, 'alice@laptop');
  t.true(held.held);
  t.is(held.holder.owner, 'alice@laptop');
  t.is(held.holder.pid, process.pid);

  // The record on the host says who holds it.
  const record = (await lab.exec('a', ['cat', RECORD])).stdout;
  t.regex(record, /^owner=alice@laptop\npid=\d+\nsince=\S+Z\ntoken=[0-9a-f]+\nwindow=8\nholder=\d+\n$/);

  const started = Date.now();
  const busy = await lockError(acquireHostLock(second, 'bob@desk'));
  t.true(Date.now() - started < 3_000, 'fails at once, does not wait for the lock');
  t.deepEqual(busy.holder, held.holder);
  t.is(busy.host, 'a');
  t.true(busy.message.includes(`alice@laptop, pid ${process.pid}, since ${held.holder.since}`), busy.message);

  await held.release();
  t.false(held.held);
  await held.release();
  t.is((await lab.exec('a', ['cat', RECORD])).stdout, '', 'the record is cleared on release');

  const next = await acquireHostLock(second, 'bob@desk');
  t.true(next.held);
  await next.release();
});

/** Whether something holds the lock on a host right now (asked of its kernel: `flock -n` on the lock directory, if there is one: flock would make it). */
async function heldOnHost(lab: Lab, host = 'a'): Promise<boolean> {
  return (await lab.exec(host, ['sh', '-c', '[ ! -e "$1" ] || flock -n "$1" true', 'held', LOCK_DIR])).code !== 0;
}

/** Waits until nothing holds the lock on a host (flock -w blocks in its kernel until it is free: nothing polled); false if it is still held after `seconds`. */
async function freeWithin(lab: Lab, seconds: number, host = 'a'): Promise<boolean> {
  return (await lab.exec(host, ['flock', '-w', String(seconds), LOCK_DIR, 'true'])).code === 0;
}

/** Until `ready()` says so, looking every 20 ms; false if it did not within `ms`. For state with no event to wait on. */
async function within(ms: number, ready: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

test.serial('an apply that ends without releasing (its connection closes) frees the lock by itself', async (t) => {
  const { lab } = t.context;
  const first = await connectSsh(lab.endpoint('a'), lab.sshOptions());
  const held = await acquireHostLock(first, localOwner());
  t.regex(held.holder.owner, /^[^@\s]+@\S+$/);
  // The apply dies without releasing: its connection just ends, as the kernel ends a killed process's.
  await first.close();
  // sshd ends the session at once and the holder with it; 10 s is only a bound for a loaded machine.
  t.true(await freeWithin(lab, 10), 'the lock was freed on the host');
  t.true(await within(10_000, () => !held.held), 'the first lock knows it is gone');
  const next = await acquireHostLock(await connect(lab, 'a'), 'bob@desk');
  t.true(next.held);
  await held.release();
  await next.release();
});

test.serial('a client that vanishes (no FIN, no RST) loses the lock within two watch windows, on an sshd and a TCP with their defaults', async (t) => {
  const { lab } = t.context;
  // Host c runs sshd without ClientAlive probes (OpenSSH's default) and keeps the kernel's tcp_retries2 (15: TCP gives
  // up on unacknowledged data after about 15 min). Neither notices this client in time; the holder does: lvsc's
  // heartbeat stops, and its watchdog, which looks every window (8 s), finds a window without one.
  t.is((await lab.exec('c', ['sysctl', '-n', 'net.ipv4.tcp_retries2'])).stdout.trim(), '15', "the kernel's default");
  t.regex(readFileSync(join(lab.dir, 'hosts', 'c', 'sshd_config'), 'utf8'), /^ClientAliveInterval 0$/m);
  const first = await connectSsh(lab.endpoint('c'), lab.sshOptions());
  open.push(first);
  const held = await acquireHostLock(first, localOwner());
  t.is(WATCH_WINDOW_S, 8);
  const session = async () => (await lab.exec('c', ['ss', '-Htn', 'state', 'established', `( sport = :22 and dst ${lab.rootAddress} )`])).stdout.trim();
  t.not(await session(), '', 'the SSH connection is there');

  await lab.vanish();
  const vanished = Date.now();
  let freed: boolean;
  let sessionWhenFreed: string;
  try {
    // Nothing told the host: the session and the lock are still there.
    t.true(await heldOnHost(lab, 'c'), 'still held right after the client vanished');
    // The last heartbeat came at most 1 s before; the watchdog finds a window without one at most two windows
    // after it (16 s), and the holder exits on its signal. Under load only the watchdog's wake-up and the
    // holder's exit are late (scheduling, well under a second each); 30 s leaves a loaded machine room and is
    // still far from the 15 min the host's TCP would take.
    freed = await freeWithin(lab, 30, 'c');
    sessionWhenFreed = await session();
  } finally {
    await lab.reconnect();
  }
  const took = Date.now() - vanished;
  t.true(freed, `the lock was freed on the host (waited ${took} ms)`);
  t.not(sessionWhenFreed, '', 'the holder let go by itself: the host still had the connection (TCP had not given up)');
  t.true(await within(30_000, () => !held.held), "the vanished client's lock knows it is gone");
  t.regex(held.lost ?? '', /heard nothing from this run|has not answered|is gone/);

  const next = await acquireHostLock(await connect(lab, 'c'), 'bob@desk');
  t.true(next.held);
  await next.release();
});

test.serial('each lab host has its own /run: locks on two hosts do not collide', async (t) => {
  const { lab } = t.context;
  const onA = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop');
  const onB = await acquireHostLock(await connect(lab, 'b'), 'alice@laptop');
  t.true(onA.held && onB.held);
  await Promise.all([onA.release(), onB.release()]);
});

test.serial('a lock file that cannot be created is an error, not a busy lock', async (t) => {
  const { lab } = t.context;
  const error = await lockError(acquireHostLock(await connect(lab, 'a'), 'alice@laptop', { dir: '/nonexistent-dir/lvsc/lock' }));
  t.is(error.holder, undefined);
  t.regex(error.message, /could not take the lvsc lock \/nonexistent-dir\/lvsc\/lock on a: \/nonexistent-dir does not exist/);
  t.not((await lab.exec('a', ['test', '-e', '/nonexistent-dir'])).code, 0, 'nothing was made');
});

/** The transport, with each command counted and its output heard `delayMs` late (a host under load). */
function slowed(transport: Transport, delayMs: number): Transport & { runs: string[] } {
  const runs: string[] = [];
  return {
    host: transport.host,
    runs,
    run(command, options: RunOptions = {}) {
      runs.push(command.argv[3] ?? command.argv[0]);
      const { onStdout } = options;
      return transport.run(command, onStdout ? { ...options, onStdout: (text) => void setTimeout(onStdout, delayMs, text) } : options);
    },
    put: (path, data, mode) => transport.put(path, data, mode),
    close: () => transport.close(),
  };
}

test.serial('taking the lock runs one command and waits for its word: a host slow to answer still gets it', async (t) => {
  const { lab } = t.context;
  const slow = slowed(await connect(lab, 'a'), 1_500);
  const held = await acquireHostLock(slow, 'alice@laptop', { confirmWithinMs: 10_000 });
  t.true(held.held);
  t.deepEqual(slow.runs, ['lvsc-lock'], 'nothing polled while waiting');
  t.regex((await lab.exec('a', ['cat', RECORD])).stdout, /^owner=alice@laptop\n/);
  await held.release();
});

test.serial('a holder that does not confirm in time is stopped, and the lock is free again', async (t) => {
  const { lab } = t.context;
  const slow = slowed(await connect(lab, 'a'), 3_000);
  const error = await lockError(acquireHostLock(slow, 'alice@laptop', { confirmWithinMs: 500 }));
  t.is(error.holder, undefined);
  t.regex(error.message, /lvsc lock .* on a/);
  t.is(slow.runs[0], 'lvsc-lock');
  t.true(slow.runs.length >= 2 && slow.runs.slice(1).every((r) => r === 'lvsc-unlock'), slow.runs.join(' '));
  const next = await acquireHostLock(await connect(lab, 'a'), 'bob@desk');
  t.true(next.held, 'the stopped holder let go of the lock');
  await next.release();
});

/** Runs a shell line on a host as the unprivileged lab user (no sudo rights): a local user of the host. */
function asUser(lab: Lab, host: string, line: string): ReturnType<Lab['exec']> {
  return lab.exec(host, ['setpriv', `--reuid=${LAB_USERS.noSudo}`, `--regid=${LAB_USERS.noSudo}`, '--clear-groups', 'sh', '-c', line]);
}

/** The holder's PID on the host, from its record. */
async function holderPid(lab: Lab, host: string): Promise<number> {
  const pid = Number(/^holder=(\d+)$/m.exec((await lab.exec(host, ['cat', RECORD])).stdout)?.[1]);
  if (!Number.isInteger(pid)) throw new Error(`no holder in the record on ${host}`);
  return pid;
}

test.serial("lvsc makes its lock directory root's, mode 0700, in its own directory (root's, 0755), and locks the directory itself", async (t) => {
  const { lab } = t.context;
  t.is((await lab.exec('a', ['rm', '-rf', LVSC_DIR])).code, 0);
  const held = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop');
  t.is((await lab.exec('a', ['stat', '-c', '%F %u %a', LVSC_DIR])).stdout, 'directory 0 755\n');
  t.is((await lab.exec('a', ['stat', '-c', '%F %u %a', LOCK_DIR])).stdout, 'directory 0 700\n');
  t.is((await lab.exec('a', ['ls', '-A', LOCK_DIR])).stdout, `beat\n${LOCK_RECORD}\n`);
  t.true(await heldOnHost(lab));
  await held.release();
  t.false(await heldOnHost(lab));
});

test.serial('a local user can neither hold the lock nor forge who holds it, also where the lock used to be', async (t) => {
  const { lab } = t.context;
  // Before lvsc ever ran here: neither lvsc's directory nor the lock directory in it can be made by a user.
  await lab.exec('b', ['rm', '-rf', LVSC_DIR]);
  for (const made of [await asUser(lab, 'b', `mkdir ${LVSC_DIR}`), (await lab.exec('b', ['mkdir', '-m', '755', LVSC_DIR]), await asUser(lab, 'b', `mkdir ${LOCK_DIR}`))]) {
    t.not(made.code, 0);
    t.regex(made.stderr, /Permission denied/);
  }
  // A user holds /run/lock/lvsc.lock (world-writable, where lvsc's lock was) with a forged record, for good.
  await lab.exec('b', ['rm', '-f', '/run/lock/lvsc.lock']);
  const squatter = lab.start('b', [
    'setpriv', `--reuid=${LAB_USERS.noSudo}`, `--regid=${LAB_USERS.noSudo}`, '--clear-groups', 'sh', '-c',
    'exec 9>>/run/lock/lvsc.lock; flock -n 9 || exit 1; printf "owner=mallory@b\\npid=1\\nsince=2025-01-01T00:00:00Z\\n" > /run/lock/lvsc.lock; echo locked; read -r _ || :',
  ]);
  const gone = new Promise((resolve) => squatter.on('close', resolve));
  t.teardown(() => squatter.stdin.end());
  await new Promise<void>((resolve, reject) => {
    squatter.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
    squatter.on('close', (code) => reject(new Error(`the squatter ended (${code})`)));
  });

  const held = await acquireHostLock(await connect(lab, 'b'), 'alice@laptop');
  t.true(held.held, "the user's lock is not lvsc's");
  t.regex((await lab.exec('b', ['cat', RECORD])).stdout, /^owner=alice@laptop\n/);
  // While lvsc holds it: the user cannot open the directory (to flock it), list it, or write a record into it.
  for (const line of [`exec 9<${LOCK_DIR}`, `flock -n ${LOCK_DIR} true`, `ls ${LOCK_DIR}`, `echo owner=mallory@b > ${RECORD}`]) {
    const tried = await asUser(lab, 'b', line);
    t.not(tried.code, 0, line);
    t.regex(tried.stderr, /Permission denied/, line);
  }
  t.regex((await lab.exec('b', ['cat', RECORD])).stdout, /^owner=alice@laptop\n/);
  await held.release();
  squatter.stdin.end();
  await gone;
});

test.serial("a link a local user plants is never written through by root's apply", async (t) => {
  const { lab } = t.context;
  // fs.protected_symlinks=0 (as on this machine, or any host that turned it off) lets root follow a user's link in a
  // world-writable sticky directory such as /run/lock; with 1 root's open would fail instead.
  const victim = '/run/lvsc-test-victim';
  t.is((await lab.exec('b', ['sh', '-c', `printf 'precious\\n' > ${victim}`])).code, 0);
  t.teardown(() => lab.exec('b', ['rm', '-f', victim, '/run/lock/lvsc.lock']).then(() => undefined));
  await lab.exec('b', ['rm', '-f', '/run/lock/lvsc.lock']);
  // Where the lock was, and where it is: the first is the user's to make, the second is not.
  t.is((await asUser(lab, 'b', `ln -s ${victim} /run/lock/lvsc.lock`)).code, 0);
  await lab.exec('b', ['rm', '-rf', LVSC_DIR]);
  t.regex((await asUser(lab, 'b', `ln -s ${victim} ${LVSC_DIR}`)).stderr, /Permission denied/);
  await lab.exec('b', ['mkdir', '-m', '755', LVSC_DIR]);
  t.regex((await asUser(lab, 'b', `ln -s ${victim} ${LOCK_DIR}`)).stderr, /Permission denied/);
  const held = await acquireHostLock(await connect(lab, 'b'), 'alice@laptop');
  await held.release();
  t.is((await lab.exec('b', ['cat', victim])).stdout, 'precious\n', 'the file the link points to is untouched');
});

test.serial("a lock directory that is not root's alone is refused, saying why; so is a link, a file, or a parent others can write", async (t) => {
  const { lab } = t.context;
  const elsewhere = '/run/lvsc-test-elsewhere';
  t.teardown(() => lab.exec('a', ['rm', '-rf', LVSC_DIR, elsewhere]).then(() => undefined));
  const refused = async (setup: string, options: { dir?: string } = {}): Promise<string> => {
    t.is((await lab.exec('a', ['sh', '-c', `rm -rf ${LVSC_DIR} ${elsewhere} && mkdir -m 755 ${LVSC_DIR} && ${setup}`])).code, 0, setup);
    const error = await lockError(acquireHostLock(await connect(lab, 'a'), 'alice@laptop', options));
    t.is(error.holder, undefined);
    t.false(await heldOnHost(lab), 'nothing holds it');
    return error.message;
  };
  t.regex(await refused(`mkdir -m 755 ${LOCK_DIR}`), /could not take the lvsc lock \/run\/lvsc\/lock on a: \/run\/lvsc\/lock is owned by uid 0 with mode 755, not by root with mode 700/);
  t.regex(await refused(`mkdir -m 700 ${LOCK_DIR} && chown ${LAB_USERS.noSudo} ${LOCK_DIR}`), /\/run\/lvsc\/lock is owned by uid \d+ with mode 700, not by root with mode 700/);
  t.regex(await refused(`mkdir -m 700 ${elsewhere} && ln -s ${elsewhere} ${LOCK_DIR}`), /\/run\/lvsc\/lock is a symbolic link/);
  t.is((await lab.exec('a', ['ls', '-A', elsewhere])).stdout, '', 'nothing was written where the link points');
  t.regex(await refused(`touch ${LOCK_DIR}`), /\/run\/lvsc\/lock is not a directory/);
  // lvsc's directory itself: writable by others, a link, a file, or another user's.
  t.regex(await refused(`chmod 777 ${LVSC_DIR}`), /\/run\/lvsc is owned by uid 0 with mode 777: lvsc keeps its lock only in a directory that no one but root can change/);
  t.regex(await refused(`chmod 775 ${LVSC_DIR}`), /\/run\/lvsc is owned by uid 0 with mode 775/);
  t.regex(await refused(`chown ${LAB_USERS.noSudo} ${LVSC_DIR}`), /\/run\/lvsc is owned by uid \d+ with mode 755/);
  t.regex(await refused(`rmdir ${LVSC_DIR} && mkdir -m 755 ${elsewhere} && ln -s ${elsewhere} ${LVSC_DIR}`), /\/run\/lvsc is a symbolic link/);
  t.is((await lab.exec('a', ['ls', '-A', elsewhere])).stdout, '', 'nothing was made where the link points');
  t.regex(await refused(`rmdir ${LVSC_DIR} && touch ${LVSC_DIR}`), /\/run\/lvsc is not a directory/);
  t.regex(await refused('true', { dir: '/run/lock/lvsc/lock' }), /\/run\/lock is owned by uid 0 with mode 1777: lvsc keeps its lock only in a directory that no one but root can change/);
  t.not((await lab.exec('a', ['test', '-e', '/run/lock/lvsc'])).code, 0, 'nothing was made under /run/lock');
  // Once it is out of the way, lvsc makes it again.
  await lab.exec('a', ['rm', '-rf', LVSC_DIR]);
  const held = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop');
  t.is((await lab.exec('a', ['stat', '-c', '%F %u %a', LOCK_DIR])).stdout, 'directory 0 700\n');
  await held.release();
});

test.serial("the lock shares lvsc's directory with keepalived's health records, made by the notify script lvsc renders, in either order", async (t) => {
  const { lab } = t.context;
  const notify = template('keepalived-notify.sh.hbs')({ stateDir: HEALTH_DIR });
  t.is(dirname(HEALTH_DIR), LVSC_DIR, 'the health records are in lvsc\'s directory');
  const record = (state: string, port: number) => lab.exec('a', ['sh', '-c', notify, 'keepalived-notify', state, 'tcp', '10.0.0.100', '80', '10.0.0.11', String(port)]);
  t.teardown(() => lab.exec('a', ['rm', '-rf', LVSC_DIR]).then(() => undefined));
  // keepalived first (as root, its notify_up): the script makes /run/lvsc as mkdir -p does (root's, 0755).
  await lab.exec('a', ['rm', '-rf', LVSC_DIR]);
  const wrote = await record('up', 80);
  t.is(wrote.code, 0, wrote.stderr);
  t.is((await lab.exec('a', ['stat', '-c', '%F %u %a', LVSC_DIR])).stdout, 'directory 0 755\n');
  const held = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop');
  t.true(held.held);
  // While the lock is held, keepalived still records.
  t.is((await record('down', 81)).code, 0);
  t.is((await lab.exec('a', ['ls', '-A', HEALTH_DIR])).stdout, 'tcp_10.0.0.100_80_10.0.0.11_80\ntcp_10.0.0.100_80_10.0.0.11_81\n');
  await held.release();
  // lvsc first: keepalived records into the directory the lock made.
  await lab.exec('a', ['rm', '-rf', LVSC_DIR]);
  const again = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop');
  const after = await record('up', 80);
  t.is(after.code, 0, after.stderr);
  t.regex((await lab.exec('a', ['cat', `${HEALTH_DIR}/tcp_10.0.0.100_80_10.0.0.11_80`])).stdout, /^up tcp 10\.0\.0\.100 80 10\.0\.0\.11 80 \d+\n$/);
  await again.release();
  const next = await acquireHostLock(await connect(lab, 'a'), 'bob@desk');
  t.true(next.held);
  await next.release();
});

test.serial('a host without /run/lock (no systemd, a minimal image) takes the lock', async (t) => {
  const { lab } = t.context;
  t.is((await lab.exec('a', ['rmdir', '/run/lock'])).code, 0);
  t.teardown(() => lab.exec('a', ['mkdir', '-m', '1777', '/run/lock']).then(() => undefined));
  const held = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop');
  t.true(held.held);
  await held.release();
});

test.serial('a host without flock says flock is not installed, not that another apply holds the lock', async (t) => {
  const { lab } = t.context;
  // Hide /usr/bin/flock on b (its mount namespace only): an overlay with a whiteout for it.
  const over = '/run/lvsc-test-overlay';
  const hide = `mkdir -p ${over} && mount -t tmpfs lvsc-test ${over} && mkdir ${over}/up ${over}/work && mknod ${over}/up/flock c 0 0 && mount -t overlay lvsc-test -o lowerdir=/usr/bin,upperdir=${over}/up,workdir=${over}/work /usr/bin`;
  const hidden = await lab.exec('b', ['sh', '-c', hide]);
  t.is(hidden.code, 0, hidden.stderr);
  t.teardown(() => lab.exec('b', ['sh', '-c', `umount /usr/bin; umount ${over}; rmdir ${over}`]).then(() => undefined));
  t.not((await lab.exec('b', ['sh', '-c', 'command -v flock'])).code, 0, 'flock is gone on b');
  const error = await lockError(acquireHostLock(await connect(lab, 'b'), 'alice@laptop'));
  t.is(error.holder, undefined);
  t.regex(error.message, /^could not take the lvsc lock \/run\/lvsc\/lock on b: flock is not installed \(the util-linux package provides it\)$/);
  t.notRegex(error.message, /locked by/);
});

test.serial('--break-lock never breaks a lock whose run is alive: it says so within seconds, and the lock stays', async (t) => {
  const { lab } = t.context;
  const held = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop');
  const record = (await lab.exec('a', ['cat', RECORD])).stdout;
  const started = Date.now();
  const refused = await lockError(acquireHostLock(await connect(lab, 'a'), 'bob@desk', { breakStale: true }));
  const took = Date.now() - started;
  t.deepEqual(refused.holder, held.holder);
  t.regex(refused.message, /^a is locked by another lvsc apply: alice@laptop, pid \d+, since \S+\. Its holder on the host still hears from that run, so --break-lock leaves it/);
  // It saw the holder count a heartbeat (one a second) before the holder's window (8 s) could have run out.
  t.true(took < WATCH_WINDOW_S * 1_000, `refused in ${took} ms`);
  t.true(held.held);
  t.true(await heldOnHost(lab));
  t.is((await lab.exec('a', ['cat', RECORD])).stdout, record, 'the record is untouched');
  await held.release();
});

test.serial('--break-lock breaks the lock of a holder that is alive but stuck (stopped); its own run counts the lock as lost first', async (t) => {
  const { lab } = t.context;
  // A 2 s window (recorded with the lock, so the breaker uses the holder's own): stuck means no heartbeat for 6 s.
  const held = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop', { windowSeconds: 2 });
  const pid = await holderPid(lab, 'a');
  t.is((await lab.exec('a', ['kill', '-STOP', String(pid)])).code, 0);
  t.teardown(() => lab.exec('a', ['kill', '-KILL', String(pid)]).then(() => undefined));
  // Its run hears no answer to its heartbeat for two windows (4 s), checked each second.
  t.true(await within(10_000, () => !held.held), 'the stuck holder\'s run counts the lock as lost');
  const silent = Number(/^the lock's holder on a has not answered for (\d+) s; the lock counts as lost$/.exec(held.lost ?? '')?.[1]);
  t.true(silent >= 4, `not before two windows without an answer: ${held.lost}`);

  const busy = await lockError(acquireHostLock(await connect(lab, 'a'), 'bob@desk'));
  t.regex(busy.message, /locked by another lvsc apply: alice@laptop.*lets go within 4 s, and lvsc apply --break-lock waits for that/);
  const started = Date.now();
  const broken = await acquireHostLock(await connect(lab, 'a'), 'bob@desk', { breakStale: true });
  const took = Date.now() - started;
  t.true(broken.held);
  t.deepEqual(broken.broke, held.holder, 'it says whose lock it broke');
  // It watched the holder hear nothing for three of its windows (6 s) before it ended it.
  t.true(took >= 6_000 && took < 20_000, `took ${took} ms`);
  t.regex((await lab.exec('a', ['cat', RECORD])).stdout, /^owner=bob@desk\n/);
  t.not((await lab.exec('a', ['test', '-e', `/proc/${pid}/fd/9`])).code, 0, 'the stuck holder is gone');
  await broken.release();
});

test.serial('a holder that is killed frees the lock; its record is left behind, and the next apply takes the lock and writes its own', async (t) => {
  const { lab } = t.context;
  const held = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop');
  const pid = await holderPid(lab, 'a');
  t.is((await lab.exec('a', ['kill', '-KILL', String(pid)])).code, 0);
  t.true(await freeWithin(lab, 10), 'the kernel let the lock go with its holder');
  t.regex((await lab.exec('a', ['cat', RECORD])).stdout, /^owner=alice@laptop\n/, 'the stale record');
  t.true(await within(10_000, () => !held.held), 'its run knows');
  const next = await acquireHostLock(await connect(lab, 'a'), 'bob@desk');
  t.true(next.held);
  t.is(next.broke, undefined, 'nothing to break');
  t.regex((await lab.exec('a', ['cat', RECORD])).stdout, /^owner=bob@desk\n/);
  await next.release();
});

test.serial('apply with a lock taken before reading checks it before changing anything: a lock lost meanwhile fails the host, and nothing runs', async (t) => {
  const { lab } = t.context;
  const key = 'net.ipv4.conf.all.arp_ignore';
  const before = (await lab.exec('a', ['sysctl', '-n', key])).stdout.trim();
  const want = before === '1' ? '2' : '1';
  const transport = await connect(lab, 'a');
  // The host as read under the lock, and the plan against it.
  const held = await acquireHostLock(transport, 'alice@laptop');
  const plan = buildPlan([{ name: 'a', roles: [], state: { ...emptyHostState(), sysctls: { [key]: want } }, gateways: [] }], new Map([['a', { state: { ...emptyHostState(), sysctls: { [key]: before } }, ownership: NO_OWNERSHIP }]]));
  t.is(plan.hosts[0].steps.length, 1);
  // Before apply runs it, the lock goes (its holder killed), and another run could take it.
  t.is((await lab.exec('a', ['kill', '-KILL', String(await holderPid(lab, 'a'))])).code, 0);
  t.true(await within(10_000, () => !held.held), 'the run knows its lock is gone');
  const [result] = await applyPlan({ plan, dependencies: [], transports: new Map([['a', transport]]), locks: new Map([['a', held]]) });
  t.is(result.status, 'failed');
  t.regex(result.message ?? '', /^the lvsc lock on a is gone: .*; nothing more is changed on a$/);
  t.deepEqual(result.steps.map((s) => s.status), ['pending']);
  t.is((await lab.exec('a', ['sysctl', '-n', key])).stdout.trim(), before, 'nothing ran');
});
