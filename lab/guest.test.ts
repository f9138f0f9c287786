/**
 * The guest's shell library (lab/guest/daemons.sh) and the wait script built
 * on it, run with this machine's bash: what they decide needs no VM (which
 * ports listen, which process a PID file names, when checks pass).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMONS_LIB } from './guest-files.js';
import { run } from './proc.js';
import { parseWaited, roundHasLine, waitScript } from './remote.js';

const LIB = fileURLToPath(new URL('./guest/daemons.sh', import.meta.url));

/** Runs a bash script with the library sourced from the checkout instead of the guest's path. */
function bash(script: string) {
  return run('bash', ['-c', `set -e\n. ${LIB}\n${script.replaceAll(`. ${DAEMONS_LIB}`, `. ${LIB}`)}`]);
}

async function listen(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as { port: number }).port };
}

test('lab_tcp_listens sees IPv4 and IPv6 listeners, and not a closed port', async (t) => {
  const v4 = await listen('127.0.0.1');
  const v6 = await listen('::1');
  const closed = await listen('127.0.0.1');
  await new Promise((resolve) => closed.server.close(resolve));
  try {
    const r = await bash(`for p in ${v4.port} ${v6.port} ${closed.port}; do if lab_tcp_listens $p; then echo yes; else echo no; fi; done`);
    t.is(r.stdout, 'yes\nyes\nno\n', r.stderr);
  } finally {
    v4.server.close();
    v6.server.close();
  }
});

test('lab_stop ends the process its PID file names, and refuses one of another name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-guest-'));
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal)));
  try {
    const pidFile = join(dir, 'sleep.pid');
    writeFileSync(pidFile, `${child.pid}\n`);
    const refused = await bash(`lab_stop ${pidFile} httpd`);
    t.is(refused.code, 1);
    t.is(refused.stderr, `${pidFile} names PID ${child.pid}, which is not a running httpd\n`);
    t.is(readFileSync(pidFile, 'utf8'), `${child.pid}\n`, 'the PID file stays');
    t.is(child.exitCode, null);
    t.is(child.signalCode, null);

    const stopped = await bash(`lab_stop ${pidFile} sleep; if lab_is ${child.pid} sleep; then echo alive; else echo gone; fi`);
    t.is(stopped.stdout, 'gone\n', stopped.stderr);
    t.false(existsSync(pidFile));
    t.is(await exited, 'SIGTERM');
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('waitScript polls each check until it has passed once, and reports when each did', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-guest-'));
  try {
    const counter = join(dir, 'n');
    writeFileSync(counter, '0');
    // The first check passes on its third try; the second on its first.
    const third = `n=$(cat ${counter}); echo $((n + 1)) > ${counter}; [ "$n" -ge 2 ]`;
    const before = Date.now();
    const r = await bash(waitScript([third, 'true'], { timeoutMs: 30_000, intervalMs: 10 }));
    t.is(r.code, 0, r.stderr);
    const [a, b] = parseWaited(r.stdout);
    t.is(readFileSync(counter, 'utf8'), '3\n', 'no try after it passed');
    t.true(b <= a, `the second check passed first (${b} <= ${a})`);
    t.true(b >= before - 1000 && a <= Date.now() + 1000, 'times are the clock\'s, in ms');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('waitScript gives up after its timeout, with the last output of each check that never passed', async (t) => {
  const r = await bash(waitScript(['echo ready', 'echo not yet; false'], { timeoutMs: 200, intervalMs: 10 }));
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.is(r.stderr, 'check 1 did not pass within 200 ms; its last output:\nnot yet\n');
});

test('waitScript runs its round command once a round, and roundHasLine matches whole lines of its output', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-guest-'));
  try {
    const table = join(dir, 'table');
    writeFileSync(table, '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 10\n');
    const found = await bash(waitScript([roundHasLine('-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 10'), roundHasLine('-A -t 10.0.0.1:80 -s rr')], { timeoutMs: 30_000, round: `cat ${table}` }));
    t.is(found.code, 0, found.stderr);
    t.is(parseWaited(found.stdout).length, 2);
    // A line that is only the start of one in the table, or has another weight, is not in it.
    const missing = await bash(waitScript([roundHasLine('-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1'), roundHasLine('-s rr')], { timeoutMs: 100, intervalMs: 10, round: `cat ${table}` }));
    t.is(missing.code, 1);
    t.regex(missing.stderr, /^check 0 did not pass within 100 ms; its last output:\n\ncheck 1 did not pass/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lab_keepalived_args reads DAEMON_ARGS as keepalived.service gets it: quotes removed, words split, nothing run or globbed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-guest-'));
  try {
    const cases: [string, string][] = [
      ['# Rendered by lvsc\nDAEMON_ARGS="--dont-release-ipvs"\n', '--dont-release-ipvs\n'],
      ["DAEMON_ARGS='-D  --dont-release-ipvs'\n", '-D\n--dont-release-ipvs\n'],
      ['DAEMON_ARGS="-D"\nDAEMON_ARGS="*"', '*\n'],
      ['DAEMON_ARGS="$(touch ' + join(dir, 'ran') + ')"\n', `$(touch\n${join(dir, 'ran')})\n`],
      ['OTHER=1\n', ''],
    ];
    for (const [text, words] of cases) {
      const file = join(dir, 'keepalived');
      writeFileSync(file, text);
      const r = await bash(`cd ${dir}; lab_keepalived_args ${file}`);
      t.is(r.stdout, words, text);
    }
    t.false(existsSync(join(dir, 'ran')), 'nothing in the file ran');
    t.is((await bash(`lab_keepalived_args ${join(dir, 'absent')}`)).stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
