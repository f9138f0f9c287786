/**
 * The SSH transport against servers that are not SSH servers, or broken
 * ones (test/support/hostile-server.ts: on 127.0.0.1, started and stopped by
 * each test). `lvsc plan` against one, as a process, is in cli/hostile-host.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { hostileServer, within } from '../../test/support/hostile-server.js';
import { connectSsh } from './ssh.js';
import { TransportError } from './transport.js';

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
