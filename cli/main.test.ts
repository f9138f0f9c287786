/**
 * The CLI end to end, in-process: `main()` with captured streams, a fixed
 * environment and real files in a temporary directory. Exit codes, what goes to
 * which stream, and the exact first lines of a diagnostic.
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { format } from '../lang/format.js';
import type { JsonReport } from './views/json.js';
import { main } from './main.js';

const repo = new URL('..', import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function lvsc(argv: string[], opts: { cwd?: string; env?: Record<string, string>; tty?: boolean } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const isTTY = opts.tty ?? false;
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY, columns: 120 },
    stderr: { write: (s: string) => (stderr += s), isTTY, columns: 120 },
    env: opts.env ?? {},
    cwd: opts.cwd ?? repo,
  });
  return { code, stdout, stderr };
}

/** A temporary directory holding the given files. */
function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'lvsc-cli-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return d;
}

const HOSTS = `host lb1 {
  ssh 10.1.0.2
  interface eth0 10.1.0.2/24
  gateway 10.1.0.1
}

host web1 {
  ssh 10.1.0.11
  interface eth0 10.1.0.11/24
  gateway 10.1.0.1
}

host web4 {
  ssh 10.1.1.14
  interface eth0 10.1.1.14/24
  gateway 10.1.1.1
}

director lb1
`;

const GOOD_SERVICE = `service www {
  vip 10.1.0.100 tcp 80
  scheduler wlc
  forward dr
  server web1 weight 2
}
`;

/** web4 is on 10.1.1.0/24, the director on 10.1.0.0/24: DR cannot reach it. */
const BAD_SERVICE = `service www {
  vip 10.1.0.100 tcp 80
  scheduler wlc
  forward dr
  server web4 weight 2
}
`;

/** Valid, with one warning: every server drained. */
const DRAINED_SERVICE = `service www {
  vip 10.1.0.100 tcp 80
  scheduler wlc
  forward dr
  server web1 drain
}
`;

// ---------------------------------------------------------------- validate

test('validate: a valid file exits 0 with a one-line verdict on stdout and nothing on stderr', async (t) => {
  const r = await lvsc(['validate', 'examples/web-dr.lvs']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'valid (1 file): 4 hosts, 2 services, 5 real servers\n');
  t.is(r.stderr, '');
});

test('validate: every example validates, each its own cluster', async (t) => {
  const examples = readdirSync(join(repo, 'examples')).filter((f) => f.endsWith('.lvs'));
  t.true(examples.length >= 4);
  for (const name of examples) {
    const r = await lvsc(['validate', '--strict', `examples/${name}`]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /^valid \(1 file\): /);
  }
});

test('validate: an error exits 1; the diagnostic points at the exact token', async (t) => {
  const d = dir({ 'web.lvs': HOSTS + '\n' + BAD_SERVICE });
  const r = await lvsc(['validate', 'web.lvs'], { cwd: d });
  t.is(r.code, 1);
  t.is(r.stdout, '');
  const lines = r.stderr.split('\n');
  t.regex(lines[0], /^error\[dr-segment\]: /);
  // `server web4` is line 25 of the file; web4 starts at column 10.
  t.deepEqual(lines.slice(1, 5), ['  --> web.lvs:25:10', '   |', '25 |   server web4 weight 2', '   |          ^^^^']);
  t.regex(r.stderr, /\n {3}= detail: /);
  t.true(r.stderr.endsWith('\n\n1 error, 0 warnings\n'), r.stderr);
});

test('validate: warnings are allowed (exit 0) unless --strict makes them errors (exit 1)', async (t) => {
  const d = dir({ 'web.lvs': HOSTS + '\n' + DRAINED_SERVICE });
  const lax = await lvsc(['validate', 'web.lvs'], { cwd: d });
  t.is(lax.code, 0, lax.stderr);
  t.regex(lax.stderr, /^warning\[all-drained\]: /);
  t.true(lax.stderr.endsWith('\n0 errors, 1 warning\n'));
  t.regex(lax.stdout, /^valid \(1 file\)/);

  const strict = await lvsc(['validate', '--strict', 'web.lvs'], { cwd: d });
  t.is(strict.code, 1);
  t.regex(strict.stderr, /^error\[all-drained\]: /);
  t.true(strict.stderr.endsWith('\n1 error, 0 warnings\n'));
  t.is(strict.stdout, '');
});

test('validate --format json: the documented shape, on stdout only', async (t) => {
  const d = dir({ 'web.lvs': HOSTS + '\n' + BAD_SERVICE });
  const r = await lvsc(['validate', '--format', 'json', 'web.lvs'], { cwd: d });
  t.is(r.code, 1);
  t.is(r.stderr, '');
  const report = JSON.parse(r.stdout) as JsonReport;
  t.deepEqual(Object.keys(report), ['version', 'diagnostics', 'errors', 'warnings']);
  t.is(report.version, 1);
  t.is(report.errors, 1);
  t.is(report.warnings, 0);
  const [diag] = report.diagnostics;
  t.deepEqual(Object.keys(diag), ['severity', 'code', 'summary', 'detail', 'file', 'start', 'end', 'context', 'notes']);
  const offset = (HOSTS + '\n' + BAD_SERVICE).indexOf('web4 weight');
  t.like(diag, {
    severity: 'error',
    code: 'dr-segment',
    file: 'web.lvs',
    start: { line: 25, column: 10, offset },
    end: { line: 25, column: 14, offset: offset + 4 },
  });
  t.is(typeof diag.summary, 'string');
  t.is(typeof diag.detail, 'string');
  t.true(Array.isArray(diag.notes));
});

test('validate --format json with --strict counts warnings as errors; a valid cluster has an empty list', async (t) => {
  const d = dir({ 'drained.lvs': HOSTS + '\n' + DRAINED_SERVICE, 'good.lvs': HOSTS + '\n' + GOOD_SERVICE });
  const strict = JSON.parse((await lvsc(['validate', '--strict', '--format=json', 'drained.lvs'], { cwd: d })).stdout) as JsonReport;
  t.like(strict, { errors: 1, warnings: 0 });
  t.is(strict.diagnostics[0].severity, 'error');
  const good = await lvsc(['validate', '--format', 'json', 'good.lvs'], { cwd: d });
  t.is(good.code, 0);
  t.deepEqual(JSON.parse(good.stdout), { version: 1, diagnostics: [], errors: 0, warnings: 0 });
});

test('validate: an unknown option is a one-line usage error, exit 2', async (t) => {
  const r = await lvsc(['validate', '--foo', 'examples/web-dr.lvs']);
  t.is(r.code, 2);
  t.is(r.stderr, 'lvsc: unknown option --foo (see lvsc help validate)\n');
  t.is(r.stdout, '');
});

test('validate: usage errors come out as JSON when JSON was asked for', async (t) => {
  const r = await lvsc(['validate', '--format', 'json', '--foo', 'examples/web-dr.lvs']);
  t.is(r.code, 2);
  t.is(r.stderr, '');
  t.deepEqual(JSON.parse(r.stdout), { version: 1, usage_error: 'unknown option --foo (see lvsc help validate)' });
});

test('validate: other command-line mistakes are usage errors too', async (t) => {
  const cases: [string[], string][] = [
    [['validate'], 'lvsc: no input: give .lvs files or directories (see lvsc help validate)\n'],
    [['validate', '--format', 'xml', 'a.lvs'], 'lvsc: --format must be text or json, not "xml" (see lvsc help validate)\n'],
    [['validate', 'a.lvs', '--format'], 'lvsc: option --format needs a value (see lvsc help validate)\n'],
    [['validate', '--strict=yes', 'a.lvs'], 'lvsc: option --strict takes no value (see lvsc help validate)\n'],
    [['validate', 'nope.lvs'], 'lvsc: cannot read nope.lvs: no such file or directory\n'],
    [['validate', 'cli'], 'lvsc: no .lvs files in directory cli\n'],
  ];
  for (const [argv, stderr] of cases) {
    const r = await lvsc(argv);
    t.is(r.code, 2, argv.join(' '));
    t.is(r.stderr, stderr);
    t.is(r.stdout, '');
  }
});

test('validate: an unreadable file is a usage error', async (t) => {
  if (process.getuid?.() === 0) {
    // root reads anything: a directory entry that is a dangling link stands in for an unreadable file.
    const d = dir({});
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(d, 'gone.lvs'), join(d, 'link.lvs'));
    const r = await lvsc(['validate', 'link.lvs'], { cwd: d });
    t.is(r.code, 2);
    t.is(r.stderr, 'lvsc: cannot read link.lvs: no such file or directory\n');
    return;
  }
  const d = dir({ 'secret.lvs': HOSTS });
  const { chmodSync } = await import('node:fs');
  chmodSync(join(d, 'secret.lvs'), 0o000);
  const r = await lvsc(['validate', 'secret.lvs'], { cwd: d });
  t.is(r.code, 2);
  t.is(r.stderr, 'lvsc: cannot read secret.lvs: permission denied\n');
});

test('validate: several files form one cluster; each alone does not', async (t) => {
  const d = dir({ 'hosts.lvs': HOSTS, 'services.lvs': GOOD_SERVICE });
  const both = await lvsc(['validate', 'hosts.lvs', 'services.lvs'], { cwd: d });
  t.is(both.code, 0, both.stderr);
  t.is(both.stdout, 'valid (2 files): 3 hosts, 1 service, 1 real server\n');
  const alone = await lvsc(['validate', 'services.lvs'], { cwd: d });
  t.is(alone.code, 1);
  t.regex(alone.stderr, /--> services\.lvs:\d+:\d+/);
});

test('validate: a directory means its *.lvs files, sorted, not its subdirectories', async (t) => {
  const d = dir({
    'cluster/a-hosts.lvs': HOSTS,
    'cluster/b-services.lvs': BAD_SERVICE,
    'cluster/README.md': 'not lvs',
    'cluster/old/broken.lvs': 'this is not lvs at all {',
  });
  const r = await lvsc(['validate', 'cluster'], { cwd: d });
  t.is(r.code, 1);
  t.true(r.stderr.includes('\n --> cluster/b-services.lvs:5:10\n'), r.stderr);
  t.false(r.stderr.includes('broken.lvs'));
  // A file named on its own and through its directory is read once.
  const twice = await lvsc(['validate', 'cluster', 'cluster/a-hosts.lvs'], { cwd: d });
  t.true(twice.stderr.endsWith('\n1 error, 0 warnings\n'), twice.stderr);
});

test('validate: diagnostics of several files are sorted by file, then position', async (t) => {
  const d = dir({
    'a.lvs': HOSTS,
    'b.lvs': BAD_SERVICE.replace('www', 'www2').replace('10.1.0.100', '10.1.0.101'),
    'c.lvs': BAD_SERVICE,
  });
  const r = await lvsc(['validate', 'c.lvs', 'b.lvs', 'a.lvs'], { cwd: d });
  const places = [...r.stderr.matchAll(/--> (\S+)/g)].map((m) => m[1]);
  t.deepEqual(places, ['b.lvs:5:10', 'c.lvs:5:10']);
});

test('colour: on a terminal; never with NO_COLOR (any value) or --no-color; FORCE_COLOR forces it', async (t) => {
  const d = dir({ 'web.lvs': HOSTS + '\n' + BAD_SERVICE });
  const esc = (r: Run) => r.stderr.includes('\x1b[');
  t.false(esc(await lvsc(['validate', 'web.lvs'], { cwd: d })), 'not a terminal');
  t.true(esc(await lvsc(['validate', 'web.lvs'], { cwd: d, tty: true })), 'a terminal');
  t.false(esc(await lvsc(['validate', 'web.lvs'], { cwd: d, tty: true, env: { NO_COLOR: '' } })), 'NO_COLOR empty');
  t.false(esc(await lvsc(['validate', 'web.lvs'], { cwd: d, tty: true, env: { NO_COLOR: '1', FORCE_COLOR: '1' } })), 'NO_COLOR wins');
  t.false(esc(await lvsc(['validate', '--no-color', 'web.lvs'], { cwd: d, tty: true })), '--no-color');
  t.true(esc(await lvsc(['validate', 'web.lvs'], { cwd: d, env: { FORCE_COLOR: '1' } })), 'FORCE_COLOR');
  t.false(esc(await lvsc(['validate', 'web.lvs'], { cwd: d, tty: true, env: { FORCE_COLOR: '0' } })), 'FORCE_COLOR=0');
});

test('colour of the progress line (plan reading hosts): off with --no-color on a terminal, as for every other view', async (t) => {
  // A host on a loopback port nothing listens on: the read fails at once, and the line marks it.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const d = dir({ 'c.lvs': `host lb1 {\n  ssh 127.0.0.1 port ${port}\n  interface eth0 10.1.0.2/24\n}\n\ndirector lb1\n` });
  const sgr = (r: Run) => /\x1b\[[0-9;]*m/.test(r.stderr);
  const colour = await lvsc(['plan', '--known-hosts', join(d, 'none'), 'c.lvs'], { cwd: d, tty: true, env: { HOME: d } });
  t.regex(colour.stderr, /Reading live state/);
  t.true(sgr(colour), 'a terminal: the failed host is painted');
  const plain = await lvsc(['plan', '--no-color', '--known-hosts', join(d, 'none'), 'c.lvs'], { cwd: d, tty: true, env: { HOME: d } });
  t.regex(plain.stderr, /Reading live state/);
  t.false(sgr(plain), '--no-color: no SGR sequence on stderr');
});

// ---------------------------------------------------------------- fmt

const MESSY = 'host   lb1 {\n      ssh 10.1.0.2\n  interface   eth0 10.1.0.2/24   # outside\n}\n\n\n\ndirector   lb1\n';

function canonical(text: string): string {
  const r = format({ path: 'x.lvs', text });
  if (r.text === undefined) throw new Error('fixture does not format');
  return r.text;
}

test('fmt FILE prints the canonical text and leaves the file alone', async (t) => {
  const d = dir({ 'messy.lvs': MESSY });
  const r = await lvsc(['fmt', 'messy.lvs'], { cwd: d });
  t.is(r.code, 0, r.stderr);
  t.not(canonical(MESSY), MESSY, 'the fixture is not canonical');
  t.is(r.stdout, canonical(MESSY));
  t.is(r.stderr, '');
  t.is(readFileSync(join(d, 'messy.lvs'), 'utf8'), MESSY);
});

test('fmt --check lists files that are not canonical and exits 1; 0 when all are', async (t) => {
  const d = dir({ 'messy.lvs': MESSY, 'tidy.lvs': canonical(MESSY) });
  const r = await lvsc(['fmt', '--check', 'messy.lvs', 'tidy.lvs'], { cwd: d });
  t.is(r.code, 1);
  t.is(r.stdout, 'messy.lvs\n');
  t.is(readFileSync(join(d, 'messy.lvs'), 'utf8'), MESSY);
  const ok = await lvsc(['fmt', '--check', 'tidy.lvs'], { cwd: d });
  t.deepEqual([ok.code, ok.stdout, ok.stderr], [0, '', '']);
});

test('fmt -w rewrites what is not canonical, names it, and is then a no-op', async (t) => {
  const d = dir({ 'dir/messy.lvs': MESSY, 'dir/tidy.lvs': canonical(MESSY) });
  const r = await lvsc(['fmt', '-w', 'dir'], { cwd: d });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'dir/messy.lvs\n');
  t.is(readFileSync(join(d, 'dir/messy.lvs'), 'utf8'), canonical(MESSY));
  const again = await lvsc(['fmt', '--write', 'dir'], { cwd: d });
  t.deepEqual([again.code, again.stdout], [0, '']);
});

test('fmt: a file with syntax errors is left alone, its diagnostics printed, exit 1', async (t) => {
  const broken = 'host lb1 {\n  interface eth0\n';
  const d = dir({ 'broken.lvs': broken, 'messy.lvs': MESSY });
  const r = await lvsc(['fmt', '-w', 'broken.lvs', 'messy.lvs'], { cwd: d });
  t.is(r.code, 1);
  t.is(r.stdout, 'messy.lvs\n');
  t.regex(r.stderr, /^error\[[a-z-]+\]: .*\n +--> broken\.lvs:\d+:\d+\n/);
  t.regex(r.stderr, /\n\d+ errors?, 0 warnings\n$/);
  t.is(readFileSync(join(d, 'broken.lvs'), 'utf8'), broken);
});

test('fmt: usage errors', async (t) => {
  const cases: [string[], string][] = [
    [['fmt'], 'lvsc: no input: give .lvs files or directories (see lvsc help fmt)\n'],
    [['fmt', '-w', '--check', 'a.lvs'], 'lvsc: -w and --check exclude each other (see lvsc help fmt)\n'],
    [['fmt', '--strict', 'a.lvs'], 'lvsc: unknown option --strict (see lvsc help fmt)\n'],
    [['fmt', 'nope.lvs'], 'lvsc: cannot read nope.lvs: no such file or directory\n'],
  ];
  for (const [argv, stderr] of cases) {
    const r = await lvsc(argv);
    t.deepEqual([r.code, r.stderr, r.stdout], [2, stderr, ''], argv.join(' '));
  }
});

// ---------------------------------------------------------------- compile

test('compile writes each host\'s plan.sh and rendered files, and plan.json', async (t) => {
  const d = dir({ 'web.lvs': HOSTS + '\n' + GOOD_SERVICE });
  const r = await lvsc(['compile', '--out', 'out', 'web.lvs'], { cwd: d });
  t.deepEqual([r.code, r.stderr], [0, '']);
  t.is(r.stdout, "Wrote 3 hosts' plans and files to out\n");
  t.regex(readFileSync(join(d, 'out/lb1/plan.sh'), 'utf8'), /ipvsadm/);
  t.regex(readFileSync(join(d, 'out/lb1/files/etc/ipvsadm.rules'), 'utf8'), /-A -t 10\.1\.0\.100:80 -s wlc/);
  t.deepEqual((JSON.parse(readFileSync(join(d, 'out/plan.json'), 'utf8')) as { hosts: { host: string }[] }).hosts.map((h) => h.host).sort(), ['lb1', 'web1', 'web4']);
});

test('compile: errors in the files exit 1 with their diagnostics and write nothing; warnings are shown and do not stop it unless --strict', async (t) => {
  const d = dir({ 'bad.lvs': HOSTS + '\n' + BAD_SERVICE, 'drained.lvs': HOSTS + '\n' + DRAINED_SERVICE });
  const bad = await lvsc(['compile', '-o', 'out', 'bad.lvs'], { cwd: d });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^error\[dr-segment\]: /);
  t.is(bad.stdout, '');
  t.false(existsSync(join(d, 'out')));
  const drained = await lvsc(['compile', '-o', 'out', 'drained.lvs'], { cwd: d });
  t.is(drained.code, 0);
  t.regex(drained.stderr, /^warning\[all-drained\]: /);
  const strict = await lvsc(['compile', '--strict', '-o', 'strict', 'drained.lvs'], { cwd: d });
  t.is(strict.code, 1);
  t.false(existsSync(join(d, 'strict')));
});

test('compile: usage errors exit 2', async (t) => {
  const cases: [string[], string][] = [
    [['compile', 'a.lvs'], 'lvsc: compile needs --out DIR (see lvsc help compile)\n'],
    [['compile', '--out', 'x'], 'lvsc: no input: give .lvs files or directories (see lvsc help compile)\n'],
    [['compile', '--out', 'x', 'nope.lvs'], 'lvsc: cannot read nope.lvs: no such file or directory\n'],
    [['compile', '--json', '--out', 'x', 'a.lvs'], 'lvsc: unknown option --json (see lvsc help compile)\n'],
  ];
  for (const [argv, stderr] of cases) t.deepEqual(await lvsc(argv, { cwd: dir({}) }), { code: 2, stdout: '', stderr }, argv.join(' '));
});

// ---------------------------------------------------------------- plan and apply: before connecting

test('plan and apply: a wrong command line exits 1 (plan\'s 2 means changes), before anything connects', async (t) => {
  const d = dir({ 'web.lvs': HOSTS + '\n' + GOOD_SERVICE });
  for (const command of ['plan', 'apply']) {
    const extra = command === 'apply' ? ['--yes'] : [];
    t.deepEqual(await lvsc([command, ...extra], { cwd: d }), { code: 1, stdout: '', stderr: `lvsc: no input: give .lvs files or directories (see lvsc help ${command})\n` });
    t.deepEqual(await lvsc([command, ...extra, 'nope.lvs'], { cwd: d }), { code: 1, stdout: '', stderr: 'lvsc: cannot read nope.lvs: no such file or directory\n' });
  }
});

test('plan and apply: an unknown --target names the host (and the one meant) before anything connects', async (t) => {
  // The hosts' addresses are unreachable: connecting would fail differently, and slowly.
  const d = dir({ 'web.lvs': HOSTS + '\n' + GOOD_SERVICE });
  for (const argv of [['plan'], ['apply', '--yes'], ['plan', '--json']]) {
    const typo = await lvsc([...argv, '--target', 'web1', '--target', 'wbe4', 'web.lvs'], { cwd: d });
    t.deepEqual(typo, { code: 1, stdout: '', stderr: 'lvsc: --target wbe4: no such host in the cluster (did you mean web4?)\n' }, argv.join(' '));
  }
  const far = await lvsc(['plan', '--target', 'database', 'web.lvs'], { cwd: d });
  t.deepEqual(far, { code: 1, stdout: '', stderr: 'lvsc: --target database: no such host in the cluster\n' });
});

// ---------------------------------------------------------------- help, version, commands

test('--version prints the version of package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) t.deepEqual(await lvsc([flag]), { code: 0, stdout: `lvsc ${pkg.version}\n`, stderr: '' });
});

test('help lists the commands, validate and fmt first, each with its own help', async (t) => {
  const r = await lvsc(['--help']);
  t.is(r.code, 0);
  const listed = [...r.stdout.matchAll(/^ {2}([a-z]+) {3,}/gm)].map((m) => m[1]);
  t.deepEqual(listed.slice(0, 2), ['validate', 'fmt']);
  for (const name of listed) {
    const h = await lvsc(['help', name]);
    t.is(h.code, 0);
    t.true(h.stdout.startsWith(`Usage: lvsc ${name} `));
    t.is((await lvsc([name, '--help'])).stdout, h.stdout);
  }
  t.is((await lvsc(['help'])).stdout, r.stdout);
});

test('no command, an unknown command or a global option: usage errors, exit 2', async (t) => {
  const none = await lvsc([]);
  t.is(none.code, 2);
  t.regex(none.stderr, /^lvsc: Linux Virtual Server/);
  t.deepEqual(await lvsc(['frobnicate', 'x.lvs']), { code: 2, stdout: '', stderr: 'lvsc: unknown command "frobnicate" (see lvsc --help)\n' });
  t.deepEqual(await lvsc(['--foo']), { code: 2, stdout: '', stderr: 'lvsc: unknown option --foo (see lvsc --help)\n' });
  t.deepEqual(await lvsc(['help', 'nope']), { code: 2, stdout: '', stderr: 'lvsc: unknown command "nope" (see lvsc --help)\n' });
});
