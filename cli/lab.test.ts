/**
 * `lvsc lab ...` in-process, without the VM: the command line (subcommands,
 * options, `ssh HOST -- CMD`), usage errors, and status, down, ssh and demo
 * against a checkout where no lab runs (an empty directory: `labCommand({ repo })`),
 * and the views. `lab demo` in the VM is test/e2e/lab-demo.test.ts.
 */
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labHosts, labSegments, type LabUp } from '../lab/lab.js';
import { repoRoot } from '../lab/paths.js';
import { SERVICES } from '../lab/topology.js';
import { READY_MARKER } from '../lab/vm.js';
import { labCommand, type LabDeps } from './commands/lab.js';
import type { Io } from './io.js';
import { EXIT_CODES, main } from './main.js';
import { demoHints, renderHints, renderLabInstall, renderLabLog, renderRequests, upHints } from './views/lab.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function io(cwd: string, capture: { stdout: string; stderr: string }): Io {
  return {
    stdout: { write: (s: string) => (capture.stdout += s), isTTY: false },
    stderr: { write: (s: string) => (capture.stderr += s), isTTY: false },
    // No ~/.ssh of the machine's user: the lab's files are named on the command line.
    env: { HOME: join(tmpdir(), 'lvsc-lab-test-no-home'), PATH: process.env.PATH },
    cwd,
  };
}

/** `lvsc ARGV` through main (the real checkout's lab), or through `labCommand(deps)` for `lab ...` when deps are given. */
async function lvsc(argv: string[], opts: { deps?: LabDeps; cwd?: string } = {}): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const cwd = opts.cwd ?? repoRoot();
  const code = opts.deps ? EXIT_CODES[await labCommand(opts.deps).run(argv.slice(1), io(cwd, out))] : await main(argv, io(cwd, out));
  return { code, ...out };
}

/** A checkout with no lab in it. */
function emptyRepo(t: { teardown: (fn: () => void) => void }): string {
  const repo = mkdtempSync(join(tmpdir(), 'lvsc-lab-cli-'));
  t.teardown(() => rmSync(repo, { recursive: true, force: true }));
  return repo;
}

test('lvsc lab is listed in lvsc --help; lvsc help lab, lab --help and lab help are its help', async (t) => {
  t.regex((await lvsc(['--help'])).stdout, /^ {2}lab {3,}a VM with a real IPVS kernel/m);
  const help = await lvsc(['help', 'lab']);
  t.is(help.code, 0);
  t.true(help.stdout.startsWith('Usage: lvsc lab demo|up|down|status|hosts|ssh HOST [-- CMD...]|install [--json]\n'));
  for (const argv of [['lab', '--help'], ['lab', 'help'], ['lab', '-h'], ['lab', 'status', '--help']]) t.deepEqual(await lvsc(argv), { ...help }, argv.join(' '));
});

test('lvsc lab: usage errors exit 2, say what is wrong and touch nothing', async (t) => {
  const repo = emptyRepo(t);
  const cases: [string[], string][] = [
    [['lab'], 'lvsc: lab needs a subcommand: demo, up, down, status, hosts, ssh, install (see lvsc help lab)\n'],
    [['lab', 'stats'], 'lvsc: unknown lab subcommand "stats" (did you mean status?) (see lvsc help lab)\n'],
    [['lab', 'boot'], 'lvsc: unknown lab subcommand "boot" (see lvsc help lab)\n'],
    [['lab', '--json'], 'lvsc: unknown option --json (see lvsc help lab)\n'],
    [['lab', 'down', '--json'], 'lvsc: unknown option --json (see lvsc help lab)\n'],
    [['lab', 'demo', '--json'], 'lvsc: unknown option --json (see lvsc help lab)\n'],
    [['lab', 'status', 'now'], 'lvsc: lab status takes no arguments, not now (see lvsc help lab)\n'],
    [['lab', 'up', '--kernel', '6.12'], 'lvsc: unknown option --kernel (see lvsc help lab)\n'],
    [['lab', 'ssh'], 'lvsc: lab ssh needs a host: lvsc lab ssh HOST [-- CMD...] (see lvsc help lab)\n'],
    [['lab', 'ssh', 'wbe1', '--', 'true'], 'lvsc: no lab host wbe1 (did you mean web1?)\n'],
    [['lab', 'ssh', 'database'], 'lvsc: no lab host database; the hosts: client, lb1, director, lb2, router, web1, web2, web3, web4, remote1, remote2, jump\n'],
    [['lab', 'ssh', 'client', 'curl', '-s', 'http://10.20.0.100/'], 'lvsc: put the command after --: lvsc lab ssh client -- curl -s http://10.20.0.100/\n'],
    [['lab', 'ssh', 'client'], 'lvsc: lab ssh client opens a shell only on a terminal; give a command: lvsc lab ssh client -- CMD...\n'],
  ];
  for (const [argv, stderr] of cases) {
    t.deepEqual(await lvsc(argv), { code: 2, stdout: '', stderr }, argv.join(' '));
    t.deepEqual(await lvsc(argv, { deps: { repo } }), { code: 2, stdout: '', stderr }, `${argv.join(' ')} (empty checkout)`);
  }
  t.deepEqual(readdirSync(repo), [], 'no .lab/ made');
});

test('lab status where no lab runs: "lab is down", exit 0; --json says up: false', async (t) => {
  const repo = emptyRepo(t);
  t.deepEqual(await lvsc(['lab', 'status'], { deps: { repo } }), { code: 0, stdout: 'lab is down\n', stderr: '' });
  const json = await lvsc(['lab', 'status', '--json'], { deps: { repo } });
  t.is(json.code, 0);
  t.deepEqual(JSON.parse(json.stdout), { up: false });
  t.deepEqual(readdirSync(repo), [], 'status only looks');
});

test('lab down where no lab runs: says so on stderr, exit 0; lab ssh there fails (exit 1) before running ssh', async (t) => {
  const repo = emptyRepo(t);
  t.deepEqual(await lvsc(['lab', 'down'], { deps: { repo } }), { code: 0, stdout: '', stderr: 'lab: the lab was not running\n' });
  t.deepEqual(await lvsc(['lab', 'ssh', 'client', '--', 'true'], { deps: { repo } }), { code: 1, stdout: '', stderr: 'lvsc: the lab is not running: boot it first (lvsc lab up)\n' });
});

test('lab demo runs in the checkout the lab belongs to: elsewhere it fails at once, saying where to go', async (t) => {
  const repo = emptyRepo(t);
  const elsewhere = emptyRepo(t);
  const r = await lvsc(['lab', 'demo'], { deps: { repo }, cwd: elsewhere });
  t.deepEqual(r, {
    code: 1,
    stdout: '',
    stderr: `lvsc: lab demo runs in the checkout the lab belongs to (its cluster file names the key .lab/id_ed25519 relative to it): cd ${repo} first\n`,
  });
  t.deepEqual(readdirSync(repo), []);
});

test('lab hosts: the table and the segments; --json is what lab.ts returns', async (t) => {
  const text = await lvsc(['lab', 'hosts']);
  t.is(text.code, 0);
  const lines = text.stdout.split('\n');
  t.regex(lines[0], /^host +role +interface +segment +gateway$/);
  t.regex(text.stdout, /^lb1\/director +director +eth0 10\.10\.0\.2\/24 +outside +10\.10\.0\.1\n +eth1 10\.20\.0\.2\/24 +servers$/m);
  t.regex(text.stdout, /\nsegments \(bridges in the VM; the jump host has a leg on each\):\n {2}outside +10\.10\.0\.0\/24 +jump 10\.10\.0\.254\n/);
  const json = await lvsc(['lab', 'hosts', '--json']);
  t.deepEqual(JSON.parse(json.stdout), { hosts: labHosts(), segments: labSegments() });
});

/** A booted lab as lab.ts describes it, for the views. */
function fakeUp(repo: string): LabUp {
  return {
    reused: false,
    pid: 4242,
    port: 2222,
    kernel: '6.1.0-99-cloud-amd64',
    bootMs: 12_345,
    installed: [],
    sshConfig: join(repo, '.lab/ssh_config'),
    knownHosts: join(repo, '.lab/known_hosts'),
    userKey: join(repo, '.lab/id_ed25519'),
    clusterFile: join(repo, 'examples/lab.lvs'),
    clusterFileWritten: false,
    hosts: labHosts(),
    repo,
    commands: {
      lvsc: 'node bin/lvsc.js',
      plan: 'node bin/lvsc.js plan examples/lab.lvs --known-hosts .lab/known_hosts',
      apply: 'node bin/lvsc.js apply examples/lab.lvs --known-hosts .lab/known_hosts',
      request: 'node bin/lvsc.js lab ssh client -- curl -s http://10.20.0.100/',
      table: 'node bin/lvsc.js lab ssh lb1 -- ipvsadm -Ln',
      demo: 'node bin/lvsc.js lab demo',
      down: 'node bin/lvsc.js lab down',
    },
  };
}

test('the commands to try: aligned comments; typed in the checkout, so a cd comes first from elsewhere', (t) => {
  const up = fakeUp('/src/lvsc');
  const here = renderHints('Try', upHints(up), up, '/src/lvsc').split('\n');
  t.is(here[0], 'Try (node bin/lvsc.js is lvsc here; `npm link` puts lvsc on your PATH):');
  t.deepEqual(
    here.slice(1, -1).map((l) => l.slice(0, l.indexOf('#')).trim()),
    [up.commands.plan, up.commands.apply, up.commands.request, up.commands.demo, up.commands.down],
  );
  t.is(new Set(here.slice(1, -1).map((l) => l.indexOf('#'))).size, 1, 'comments in one column');
  const elsewhere = renderHints('Try', demoHints(up), up, '/home/me');
  t.regex(elsewhere, /^ {2}cd \/src\/lvsc +# these commands run in the checkout the lab belongs to\n/m);
  t.regex(renderHints('Try', demoHints(up), up, '/src/lvsc/lab'), /^ {2}cd \.\. +#/m);
});

test('the requests: one row per VIP, the answering servers in order, a remapped port said once', (t) => {
  const text = renderRequests([
    { service: SERVICES.dr, servers: ['web1', 'web2', 'web1'] },
    { service: SERVICES.nat, servers: ['web3', 'web3', undefined] },
  ]);
  t.is(text, ['  DR 10.20.0.100:80   → web1 web2 web1', '  NAT 10.10.0.100:80  → web3 web3 NO-ANSWER   (the servers answer on 8080)', ''].join('\n'));
});

test("the lab's log lines and lab install's result escape terminal controls: the guest's ready line comes from its serial console", (t) => {
  // labUp logs the serial console's ready line as the guest printed it; a guest can put anything there.
  t.is(renderLabLog(`ready in 41.2 s: ${READY_MARKER} \x1b]0;owned\x07\x1b[2J\rfine`), `lab: ready in 41.2 s: ${READY_MARKER} \\x1b]0;owned\\x07\\x1b[2J\\x0dfine\n`);
  t.is(renderLabLog('the lab was not running'), 'lab: the lab was not running\n');
  t.is(renderLabInstall({ installed: [], kernel: '6.1.0-28\x1b[8m' }), 'every package was installed already; kernel 6.1.0-28\\x1b[8m is cached\n');
  t.is(renderLabInstall({ installed: ['qemu-system-x86', 'busybox\u202e'], kernel: '6.12.12+bpo' }), 'installed: qemu-system-x86 busybox\\u202e; kernel 6.12.12+bpo is cached\n');
});
