/**
 * The installed entry point, as a user runs it: `bin/lvsc.js` on the compiled
 * `dist/` (`npm test` builds it first; so does `npm ci`, through `prepare`).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const repo = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);

test('bin/lvsc.js runs the built CLI: exit codes and streams reach the shell', async (t) => {
  if (!existsSync(`${repo}dist/cli/main.js`)) return t.fail('dist/cli/main.js is missing: run `npm run build` (npm test does)');
  const env = { ...process.env, NO_COLOR: '1' };

  const ok = await run(process.execPath, ['bin/lvsc.js', 'validate', 'examples/web-dr.lvs'], { cwd: repo, env });
  t.is(ok.stdout, 'valid (1 file): 4 hosts, 2 services, 5 real servers\n');

  const usage = await run(process.execPath, ['bin/lvsc.js', 'validate', '--foo', 'x.lvs'], { cwd: repo, env }).then(
    () => undefined,
    (e: { code: number; stderr: string; stdout: string }) => e,
  );
  t.truthy(usage, 'a usage error exits non-zero');
  t.is(usage?.code, 2);
  t.is(usage?.stderr, 'lvsc: unknown option --foo (see lvsc help validate)\n');
});

test('bin/lvsc.js plans from the built tree: the compiled compiler finds its templates', async (t) => {
  if (!existsSync(`${repo}dist/cli/main.js`)) return t.fail('dist/cli/main.js is missing: run `npm run build` (npm test does)');
  const env = { ...process.env, NO_COLOR: '1' };
  const r = await run(process.execPath, ['bin/lvsc.js', 'plan', '--offline', 'examples/web-dr.lvs'], { cwd: repo, env }).then(
    () => ({ code: 0, stdout: '', stderr: 'plan --offline of a cluster from scratch must report changes (exit 2)' }),
    (e: { code: number; stderr: string; stdout: string }) => e,
  );
  t.is(r.stderr, '');
  t.is(r.code, 2);
  t.regex(r.stdout, /^\/etc\/ipvsadm\.rules on lb1$/m);
  t.regex(r.stdout, /^Plan: \d+ to add, \d+ to change, 0 to remove, on 4 of 4 hosts\.$/m);
});

test('bin/lvsc.js lab from the built tree: the lab is the checkout\'s (.lab/, examples/lab.lvs), its guest files are beside the code', async (t) => {
  if (!existsSync(`${repo}dist/cli/main.js`)) return t.fail('dist/cli/main.js is missing: run `npm run build` (npm test does)');
  const built = (await import(`${repo}dist/lab/paths.js`)) as typeof import('../lab/paths.js');
  t.is(built.repoRoot(), repo.replace(/\/$/, ''));
  for (const name of ['rc.sh', 'inittab', 'sshd_config']) t.true(existsSync(`${repo}dist/lab/guest/${name}`), name);
  const hosts = await run(process.execPath, ['bin/lvsc.js', 'lab', 'hosts', '--json'], { cwd: repo, env: { ...process.env, NO_COLOR: '1' } });
  t.deepEqual((JSON.parse(hosts.stdout) as { hosts: { name: string }[] }).hosts.map((h) => h.name), ['client', 'lb1', 'router', 'web1', 'web2', 'web3', 'web4', 'remote1', 'remote2']);
});
