/**
 * The per-host apply lock against real sshd hosts (lab/netns-sshd.ts).
 * Needs root and `ip netns` (scripts/setup-test-host.sh).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { startLab, type Lab } from '../lab/netns-sshd.js';
import { acquireHostLock, DEFAULT_LOCK_PATH, HostLockError, localOwner } from './lock.js';
import { connectSsh } from './transport/ssh.js';
import type { RunOptions, Transport } from './transport/transport.js';

const test = anyTest as TestFn<{ lab: Lab }>;
const open: Transport[] = [];

test.before(async (t) => {
  t.context.lab = await startLab({ hosts: [{ name: 'a' }, { name: 'b' }] });
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
  const record = (await lab.exec('a', ['cat', DEFAULT_LOCK_PATH])).stdout;
  t.regex(record, /^owner=alice@laptop\npid=\d+\nsince=\S+Z\ntoken=[0-9a-f]+\nholder=\d+\n$/);

  const started = Date.now();
  const busy = await lockError(acquireHostLock(second, 'bob@desk'));
  t.true(Date.now() - started < 3_000, 'fails at once, does not wait for the lock');
  t.deepEqual(busy.holder, held.holder);
  t.is(busy.host, 'a');
  t.true(busy.message.includes(`alice@laptop, pid ${process.pid}, since ${held.holder.since}`), busy.message);

  await held.release();
  t.false(held.held);
  await held.release();
  t.is((await lab.exec('a', ['cat', DEFAULT_LOCK_PATH])).stdout, '', 'the record is cleared on release');

  const next = await acquireHostLock(second, 'bob@desk');
  t.true(next.held);
  await next.release();
});

/** Whether something holds the lock on host a right now (asked of its kernel: `flock -n`). */
async function heldOnHost(lab: Lab): Promise<boolean> {
  return (await lab.exec('a', ['flock', '-n', DEFAULT_LOCK_PATH, 'true'])).code !== 0;
}

/** Waits until nothing holds the lock on host a (flock -w blocks in a's kernel until it is free: nothing polled); false if it is still held after `seconds`. */
async function freeWithin(lab: Lab, seconds: number): Promise<boolean> {
  return (await lab.exec('a', ['flock', '-w', String(seconds), DEFAULT_LOCK_PATH, 'true'])).code === 0;
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

test.serial('a client that vanishes (its packets stop: no FIN, no RST) loses the lock once the host gives up on its connection', async (t) => {
  const { lab } = t.context;
  // sshd's ClientAlive probes cannot notice this client: OpenSSH sends one only after ClientAliveInterval with
  // nothing to do, and the holder's byte a second keeps the session busy. What ends it is the host's TCP giving up
  // on those bytes, which nobody acknowledges: after tcp_retries2 retransmissions (15 by default, about 15 min;
  // 4 on this host, about 6 s), sshd reads "Connection timed out" and the session, holder and lock go with it.
  const retries = (await lab.exec('a', ['sysctl', '-n', 'net.ipv4.tcp_retries2'])).stdout.trim();
  await lab.exec('a', ['sysctl', '-q', '-w', 'net.ipv4.tcp_retries2=4']);
  t.teardown(() => lab.exec('a', ['sysctl', '-q', '-w', `net.ipv4.tcp_retries2=${retries}`]).then(() => undefined));
  // The vanishing apply's own keepalive is quick, so that its lock object learns of the loss too.
  const first = await connectSsh(lab.endpoint('a'), lab.sshOptions({ keepaliveIntervalMs: 500, keepaliveCountMax: 2 }));
  open.push(first);
  const held = await acquireHostLock(first, localOwner());
  const log = join(lab.dir, 'hosts', 'a', 'sshd.log');
  const logged = readFileSync(log, 'utf8').length;

  await lab.vanish();
  const vanished = Date.now();
  let freed: boolean;
  try {
    // Nothing told the host: the session and the lock are still there.
    t.true(await heldOnHost(lab), 'still held right after the client vanished');
    // About 8 s here: the first unacknowledged byte within 1 s, TCP's 6 s of retries, the holder's next write.
    // 30 s leaves a loaded machine room and still tells this apart from the 15 min of TCP's default.
    freed = await freeWithin(lab, 30);
  } finally {
    await lab.reconnect();
  }
  const took = Date.now() - vanished;
  t.true(freed, `the lock was freed on the host (waited ${took} ms)`);
  t.regex(readFileSync(log, 'utf8').slice(logged), /Read error from remote host .*: Connection timed out/, 'the session ended because TCP gave up on the client');
  t.true(await within(10_000, () => !held.held), 'the vanished client\'s lock knows it is gone');

  const next = await acquireHostLock(await connect(lab, 'a'), 'bob@desk');
  t.true(next.held);
  await next.release();
});

test.serial('each lab host has its own /run/lock: locks on two hosts do not collide', async (t) => {
  const { lab } = t.context;
  const onA = await acquireHostLock(await connect(lab, 'a'), 'alice@laptop');
  const onB = await acquireHostLock(await connect(lab, 'b'), 'alice@laptop');
  t.true(onA.held && onB.held);
  await Promise.all([onA.release(), onB.release()]);
});

test.serial('a lock file that cannot be created is an error, not a busy lock', async (t) => {
  const { lab } = t.context;
  const error = await lockError(acquireHostLock(await connect(lab, 'a'), 'alice@laptop', { path: '/nonexistent-dir/lvsc.lock' }));
  t.is(error.holder, undefined);
  t.regex(error.message, /could not take the lvsc lock \/nonexistent-dir\/lvsc\.lock on a: .*nonexistent/);
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
  t.regex((await lab.exec('a', ['cat', DEFAULT_LOCK_PATH])).stdout, /^owner=alice@laptop\n/);
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
