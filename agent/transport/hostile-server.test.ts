/**
 * The SSH transport against servers that are not SSH servers, or broken ones:
 * tiny Node `net` servers on 127.0.0.1 that each test starts and stops itself
 * (nothing else is ever connected to). Each keeps its side of the TCP
 * connection open. Once the client has ended its side, the server keeps
 * sending a byte now and then, so that it notices (by a reset) when lvsc has
 * really closed the connection: a half-closed socket (ssh2's `end()`) keeps
 * receiving quietly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { connectSsh } from './ssh.js';
import { TransportError } from './transport.js';

interface Hostile {
  port: number;
  /** Resolves when the client's connection is gone for good (closed, or reset when the server wrote to it). */
  clientGone(): Promise<void>;
  stop(): Promise<void>;
}

/** A server on 127.0.0.1 that sends `greeting` to each client and never closes; after the client's FIN, a byte every 20 ms. */
async function hostileServer(greeting: string | Buffer): Promise<Hostile> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let gone!: () => void;
  const goneOnce = new Promise<void>((resolve) => (gone = resolve));
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.resume();
    if (greeting.length > 0) socket.write(greeting);
    let timer: NodeJS.Timeout | undefined;
    socket.on('end', () => {
      timer = setInterval(() => socket.write('\n'), 20);
      timers.add(timer);
    });
    socket.on('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
      gone();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    clientGone: () => goneOnce,
    stop: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves with true when `promise` settles within `ms`, false otherwise (never hangs a test). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'lvsc-hostile-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** Options that keep the test off the machine's ssh setup. */
const options = (connectTimeoutMs: number) => ({
  knownHostsFile: join(dir, 'known_hosts'),
  sshConfigFile: join(dir, 'no-config'),
  homeDir: dir,
  agentSocket: '',
  connectTimeoutMs,
});

async function connectFailure(port: number, connectTimeoutMs: number): Promise<{ error: TransportError; ms: number }> {
  const started = Date.now();
  try {
    await connectSsh({ name: 'h', host: '127.0.0.1', port, user: 'nobody' }, options(connectTimeoutMs));
  } catch (error) {
    if (error instanceof TransportError) return { error, ms: Date.now() - started };
    throw error;
  }
  throw new Error('connected to a server that is not SSH');
}

const where = (port: number) => `h (nobody@127.0.0.1:${port})`;

const badBanners: Array<{ what: string; greeting: string | Buffer; says: (port: number) => string }> = [
  {
    what: 'an SSH 1 server',
    greeting: 'SSH-1.5-OpenSSH_3.9p1\r\n',
    says: (port) => `cannot connect to ${where(port)}: the host answered with something that is not an SSH banner: "SSH-1.5-OpenSSH_3.9p1" (SSH protocol 1: lvsc speaks SSH 2 only)`,
  },
  {
    what: 'a 1 MB version line',
    greeting: `SSH-2.0-${'x'.repeat(1 << 20)}`,
    says: (port) =>
      `cannot connect to ${where(port)}: the host answered with something that is not an SSH banner: "SSH-2.0-${'x'.repeat(72)}..." ` +
      '(more than 16 KiB without a line end, where an SSH banner is one line of at most 255 bytes)',
  },
  {
    what: 'terminal escape sequences in the banner',
    greeting: 'SSH-2.0\x1b]0;owned\x07\x1b[2J\x1b[31m\r\n',
    says: (port) => `cannot connect to ${where(port)}: the host answered with something that is not an SSH banner: "SSH-2.0\\x1b]0;owned\\x07\\x1b[2J\\x1b[31m"`,
  },
];

for (const { what, greeting, says } of badBanners) {
  test(`a bad SSH banner (${what}) fails the host at once, saying what it sent, and the connection is closed`, async (t) => {
    const server = await hostileServer(greeting);
    t.teardown(() => server.stop());
    // A long connect timeout: the failure must not wait for it.
    const { error, ms } = await connectFailure(server.port, 30_000);
    t.is(error.kind, 'connect');
    t.is(error.message, says(server.port));
    t.notRegex(error.message, /[\x00-\x1f\x7f]/, 'no raw control characters');
    t.true(ms < 10_000, `failed after ${ms} ms`);
    // lvsc's side is gone (not half-closed): the server's next byte is answered by a reset.
    t.true(await within(server.clientGone(), 10_000), 'the client socket was left open');
  });
}

test('a server that accepts and sends nothing: the connect timeout says so, and the connection is closed', async (t) => {
  const server = await hostileServer('');
  t.teardown(() => server.stop());
  const { error } = await connectFailure(server.port, 500);
  t.is(error.kind, 'timeout');
  t.is(error.message, `could not connect to ${where(server.port)} within 0.5 s: the host accepted the connection but sent nothing (is an SSH server listening on that port?)`);
  t.true(await within(server.clientGone(), 10_000), 'the client socket was left open');
});

test('lvsc plan against a host with a bad banner fails that host at once and exits on its own', async (t) => {
  const server = await hostileServer('SSH-1.5-OpenSSH_3.9p1\r\n');
  t.teardown(() => server.stop());
  const file = join(dir, 'cluster.lvs');
  writeFileSync(file, `host h {\n  ssh nobody@127.0.0.1 port ${server.port}\n}\n`);
  const repo = new URL('../..', import.meta.url).pathname;
  // The CLI as bin/lvsc.js runs it (main's exit code as the process's), from the sources.
  const entry = `import { main } from ${JSON.stringify(`${repo}cli/main.ts`)}; process.exitCode = await main(process.argv.slice(1));`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', entry, 'plan', '--timeout', '30s', '--known-hosts', join(dir, 'known_hosts'), '--ssh-config', join(dir, 'no-config'), file],
    { cwd: repo, env: { ...process.env, HOME: dir, SSH_AUTH_SOCK: '', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  const started = Date.now();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Generous: tsx compiles the CLI first. Without the fix it never exits.
  const exitedInTime = await within(exited, 60_000);
  if (!exitedInTime) child.kill('SIGKILL');
  t.true(exitedInTime, `lvsc did not exit on its own; stderr so far:\n${stderr}`);
  t.is(await exited, 1);
  t.true(Date.now() - started < 30_000, 'failed before --timeout');
  t.true(
    stderr.includes(`error: h: cannot connect to ${where(server.port)}: the host answered with something that is not an SSH banner: "SSH-1.5-OpenSSH_3.9p1"`),
    stderr,
  );
});
