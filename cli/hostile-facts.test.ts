/**
 * `lvsc plan` against a host whose fact commands print hostile output: real
 * sshds in network namespaces (lab/netns-sshd.ts). Each host has a private
 * /usr/local/bin, which lvsc's fact batch puts before /usr/sbin on PATH; a
 * test writes a fake `ip` (or `sysctl`) there on `web` that answers one
 * fact's command with hostile bytes and hands every other call to the real
 * program. `lb` (the director) is an ordinary host.
 *
 * lvsc runs as a process, from the sources the way bin/lvsc.js runs the
 * build, and must end on its own: before the fixes a deeply nested JSON
 * crashed it with a RangeError and it then hung with every connection open.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { LAB_USERS, startLab, type Lab } from '../lab/netns-sshd.js';
import { assertPrograms } from '../test/support/host.js';
import { within } from '../test/support/hostile-server.js';
import { main } from './main.js';

const test = anyTest as TestFn<{ lab: Lab; dir: string }>;

test.before(async (t) => {
  assertPrograms('cli/hostile-facts.test.ts', ['ip', 'ipvsadm', 'sysctl']);
  t.context.lab = await startLab({
    hosts: [{ name: 'lb' }, { name: 'web' }],
    privateDirs: ['/usr/local/bin', '/etc/sysctl.d', '/etc/systemd/network', '/etc/modules-load.d', '/var/lib/lvsc'],
  });
  t.context.dir = mkdtempSync(join(tmpdir(), 'lvsc-hostile-facts-'));
});

test.after.always(async (t) => {
  await t.context.lab?.stop();
});

/** lb directs `www` to web by DR: web needs its addresses and sysctls read. */
function cluster(lab: Lab): string {
  const lb = lab.host('lb').address;
  const web = lab.host('web').address;
  const vip = web.split('.').slice(0, 3).concat('100').join('.');
  return [
    `defaults {\n  ssh user ${LAB_USERS.sudo}\n  ssh key "${lab.keyFile}"\n  sudo\n}\n`,
    `host lb {\n  ssh ${lb}\n  interface eth0 ${lb}/24\n}\n`,
    `host web {\n  ssh ${web}\n  interface eth0 ${web}/24\n}\n`,
    'director lb\n',
    `service www {\n  vip ${vip} tcp 80\n  scheduler wlc\n  forward dr\n  server web\n}\n`,
  ].join('\n');
}

/**
 * A fake `program` on web: when its arguments are exactly `args`, it runs
 * `script` (a shell snippet that prints the hostile output); otherwise it runs
 * the real program.
 */
async function fake(lab: Lab, program: string, args: string, script: string): Promise<void> {
  const text = `#!/bin/sh\nif [ "$*" = '${args}' ]; then\n${script}\nexit 0\nfi\nexec /usr/sbin/${program} "$@"\n`;
  const made = await lab.exec('web', ['sh', '-c', `cat > /usr/local/bin/${program} && chmod 755 /usr/local/bin/${program}`], text);
  if (made.code !== 0) throw new Error(made.stderr);
}

async function unfake(lab: Lab, program: string): Promise<void> {
  await lab.exec('web', ['rm', '-f', `/usr/local/bin/${program}`]);
}

interface Run {
  /** null: did not exit on its own within the bound (then killed). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function lvsc(t: { context: { lab: Lab; dir: string } }, args: string[]): Promise<Run> {
  const { lab, dir } = t.context;
  const file = join(dir, 'cluster.lvs');
  writeFileSync(file, cluster(lab));
  const repo = new URL('..', import.meta.url).pathname;
  const entry = `import { main } from ${JSON.stringify(`${repo}cli/main.ts`)}; process.exitCode = await main(process.argv.slice(1));`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', entry, ...args, '--timeout', '30s', '--known-hosts', lab.knownHostsFile, '--ssh-config', join(lab.homeDir, 'no-config'), file],
    { cwd: repo, env: { ...process.env, HOME: lab.homeDir, SSH_AUTH_SOCK: '', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Generous: tsx compiles the CLI first, and the hosts are read with a 30 s command timeout.
  if (!(await within(exited, 90_000))) {
    child.kill('SIGKILL');
    await exited;
    return { code: null, stdout, stderr };
  }
  return { code: await exited, stdout, stderr };
}

const DEPTH = 20_000;

test.serial('a deeply nested JSON from ip -j -d link show: lvsc ends on its own, and web is planned', async (t) => {
  const { lab } = t.context;
  await fake(lab, 'ip', '-j -d link show', `printf '['; head -c ${DEPTH} /dev/zero | tr '\\0' '['; head -c ${DEPTH} /dev/zero | tr '\\0' ']'; printf ']\\n'`);
  t.teardown(() => unfake(lab, 'ip'));
  const run = await lvsc(t, ['plan']);
  t.not(run.code, null, `lvsc did not exit on its own; stderr so far:\n${run.stderr.slice(0, 2000)}`);
  t.false(/RangeError|Maximum call stack/.test(run.stderr + run.stdout), run.stderr.slice(0, 2000));
  t.is(run.code, 2, run.stderr.slice(0, 2000)); // changes to make
  // The entry it skipped is said, shortened: it was read, and nothing it needs was lost (no link there is lvsc's).
  t.regex(run.stderr, /^warning: web: links: skipped a link entry without ifname: \[{8,}…\]{8,}$/m);
});

test.serial('ip -j addr show printing garbage (with terminal controls): web fails with what it printed, escaped, and is neither planned nor applied', async (t) => {
  const { lab } = t.context;
  await fake(lab, 'ip', '-j addr show', `printf 'Segmentation fault \\033]0;pwned\\007\\033[2J\\n'`);
  t.teardown(() => unfake(lab, 'ip'));
  const plan = await lvsc(t, ['plan']);
  t.is(plan.code, 1, plan.stderr);
  t.regex(plan.stderr, /^error: web: addresses: its output could not be read: ip -j addr show: output is not JSON \(.*\)$/m);
  t.false(/[\x1b\x07]/.test(plan.stdout + plan.stderr), 'no raw control character');
  // Planned against "no addresses" it would add the VIP that may be there already: web is not planned at all.
  t.notRegex(plan.stdout, /^web/m);

  const json = await lvsc(t, ['plan', '--json']);
  const doc = JSON.parse(json.stdout) as { hosts: { host: string }[]; unreadable: { host: string; message: string }[] };
  t.false(doc.hosts.some((h) => h.host === 'web'));
  t.deepEqual(doc.unreadable.map((u) => u.host), ['web']);
  t.regex(doc.unreadable[0].message, /^addresses: its output could not be read: ip -j addr show: output is not JSON/);

  const apply = await lvsc(t, ['apply', '--yes']);
  t.is(apply.code, 1);
  t.regex(apply.stdout, /^web: failed before apply, nothing ran: addresses: its output could not be read/m);
  t.notRegex((await lab.exec('web', ['ip', '-o', '-4', 'addr', 'show', 'dev', 'lo'])).stdout, /lo:lvs/, 'nothing ran on web');
});

test.serial('sysctl printing lines that are not its own: web fails, saying which line', async (t) => {
  const { lab } = t.context;
  // The fake answers lvsc's one sysctl call (its arguments are the keys lvsc asks for): with one line that is no key = value.
  const text = `#!/bin/sh\ncase "$1" in -e) printf 'error: kernel.panic_on_oops\\nnet.ipv4.ip_forward = 0\\n'; exit 0;; esac\nexec /usr/sbin/sysctl "$@"\n`;
  t.is((await lab.exec('web', ['sh', '-c', 'cat > /usr/local/bin/sysctl && chmod 755 /usr/local/bin/sysctl'], text)).code, 0);
  t.teardown(() => unfake(lab, 'sysctl'));
  const plan = await lvsc(t, ['plan']);
  t.is(plan.code, 1, plan.stderr);
  t.regex(plan.stderr, /^error: web: sysctl: its output could not be read: `error: kernel.panic_on_oops` is not a key = value line$/m);
  t.notRegex(plan.stdout, /^web/m);
});

test('when no host can be read, plan says so and fails, never "No changes. N hosts match"', async (t) => {
  const { dir } = t.context;
  const file = join(dir, 'unreachable.lvs');
  // Ports 1 and 2 on the loopback (two hosts, two endpoints): nothing listens there, every connection is refused at once.
  writeFileSync(file, `defaults {\n  ssh user nobody\n}\n\nhost a {\n  ssh 127.0.0.1 port 1\n}\n\nhost b {\n  ssh 127.0.0.1 port 2\n}\n`);
  let stdout = '';
  let stderr = '';
  const code = await main(['plan', '--known-hosts', join(dir, 'known_hosts'), '--ssh-config', join(dir, 'no-config'), file], {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: { HOME: dir, NO_COLOR: '1' },
    cwd: dir,
  });
  t.is(code, 1, stderr);
  t.is(stdout, 'Nothing planned: none of the 2 hosts could be read.\n');
  t.regex(stderr, /^error: a: .*refused/m);
  t.regex(stderr, /^error: b: .*refused/m);
});
