/**
 * `lvsc plan` as a process, against a host that answers with something that
 * is not an SSH banner and keeps the connection open
 * (test/support/hostile-server.ts, on 127.0.0.1): the host fails at once and
 * lvsc exits on its own. Run from the sources the way bin/lvsc.js runs the
 * build: main's exit code becomes the process's, nothing calls process.exit().
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { hostileServer, within } from '../test/support/hostile-server.js';

const dir = mkdtempSync(join(tmpdir(), 'lvsc-hostile-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('lvsc plan against a host with a bad banner fails that host at once and exits on its own', async (t) => {
  const server = await hostileServer('SSH-1.5-OpenSSH_3.9p1\r\n');
  t.teardown(() => server.stop());
  const file = join(dir, 'cluster.lvs');
  writeFileSync(file, `host h {\n  ssh nobody@127.0.0.1 port ${server.port}\n}\n`);
  const repo = new URL('..', import.meta.url).pathname;
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
  // Generous: tsx compiles the CLI first. Before the fix it never exited.
  const exitedInTime = await within(exited, 60_000);
  if (!exitedInTime) child.kill('SIGKILL');
  t.true(exitedInTime, `lvsc did not exit on its own; stderr so far:\n${stderr}`);
  t.is(await exited, 1);
  t.true(Date.now() - started < 30_000, 'failed before --timeout');
  t.true(
    stderr.includes(
      `error: h: cannot connect to h (nobody@127.0.0.1:${server.port}): the host answered with something that is not an SSH banner: "SSH-1.5-OpenSSH_3.9p1" (SSH protocol 1: lvsc speaks SSH 2 only)\n`,
    ),
    stderr,
  );
});
