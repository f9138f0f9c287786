/**
 * `lvsc plan` against hosts that misbehave; one such host fails, alone, with
 * a message that says what it did, and lvsc still ends.
 *
 * - A host that answers with something that is not an SSH banner and keeps the
 *   connection open (test/support/hostile-server.ts, on 127.0.0.1): lvsc runs
 *   as a process, from the sources the way bin/lvsc.js runs the build (main's
 *   exit code becomes the process's; nothing calls process.exit()), and must
 *   exit on its own.
 * - A host whose facts are larger than `--max-output`: real sshds in network
 *   namespaces (lab/netns-sshd.ts); `big` has a large file where lvsc reads
 *   its sysctl file, `small` is an ordinary host.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { LAB_USERS, startLab, type Lab } from '../lab/netns-sshd.js';
import { assertPrograms } from '../test/support/host.js';
import { hostileServer, within } from '../test/support/hostile-server.js';
import { main } from './main.js';

const test = anyTest as TestFn<{ lab: Lab }>;
const dir = mkdtempSync(join(tmpdir(), 'lvsc-misbehaving-'));

test.before(async (t) => {
  assertPrograms('cli/misbehaving-hosts.test.ts', ['sysctl']);
  t.context.lab = await startLab({ hosts: [{ name: 'big' }, { name: 'small' }], privateDirs: ['/etc/sysctl.d'] });
});

test.after.always(async (t) => {
  await t.context.lab?.stop();
  rmSync(dir, { recursive: true, force: true });
});

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

test('a host whose facts exceed --max-output fails with "output exceeded"; the other host is read and planned', async (t) => {
  const { lab } = t.context;
  // 2 MiB at the path of lvsc's sysctl file: read back in base64, 2.7 MiB of facts.
  const made = await lab.exec('big', ['sh', '-c', "head -c 2097152 /dev/zero | tr '\\0' '#' > /etc/sysctl.d/90-lvsc.conf"]);
  t.is(made.code, 0, made.stderr);
  const file = join(dir, 'two-hosts.lvs');
  writeFileSync(
    file,
    [`defaults {\n  ssh user ${LAB_USERS.sudo}\n  ssh key "${lab.keyFile}"\n  sudo\n}\n`, ...['big', 'small'].map((h) => `host ${h} {\n  ssh ${lab.host(h).address}\n}\n`)].join('\n'),
  );
  let stdout = '';
  let stderr = '';
  const run = (maxOutput: string) =>
    main(['plan', '--json', '--max-output', maxOutput, '--known-hosts', lab.knownHostsFile, '--ssh-config', join(lab.homeDir, 'no-config'), file], {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      env: { HOME: lab.homeDir, NO_COLOR: '1' },
      cwd: dir,
    });
  t.is(await run('1MiB'), 1, stderr);
  const result = JSON.parse(stdout) as { hosts: { host: string }[]; unreadable: { host: string; message: string }[] };
  t.deepEqual(
    result.unreadable.map((u) => u.host),
    ['big'],
  );
  t.regex(result.unreadable[0].message, new RegExp(`^reading facts failed: output exceeded 1 MiB: a command on big \\(${LAB_USERS.sudo}@${lab.host('big').address.replace(/\./g, '\\.')}\\) printed more than that and was stopped`));
  t.true(result.hosts.some((h) => h.host === 'small'), stdout);
  t.false(result.hosts.some((h) => h.host === 'big'), stdout);

  // The default (64 MiB) takes it; a limit that is no size is refused before anything connects.
  stdout = '';
  stderr = '';
  t.is(await run('64MiB'), 0, stderr);
  t.deepEqual((JSON.parse(stdout) as { unreadable: unknown[] }).unreadable, []);
  for (const bad of ['lots', '100', '600MiB']) {
    stderr = '';
    t.is(await run(bad), 1);
    t.regex(stderr, new RegExp(`--max-output ${bad}: give a size from 1KiB to 511MiB, such as 200MiB`));
  }
});
