/**
 * The installed entry point, as a user runs it: `bin/lvsc.js` on the compiled
 * `dist/` (`npm test` builds it first; so does `npm ci`, through `prepare`), and
 * what `npm pack` puts in the package.
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
  t.deepEqual((JSON.parse(hosts.stdout) as { hosts: { name: string }[] }).hosts.map((h) => h.name), ['client', 'lb1', 'lb2', 'router', 'web1', 'web2', 'web3', 'web4', 'remote1', 'remote2']);
});

test('the package holds what users run: bin/, the built dist/ without tests, testdata, test/, bench/ or scripts/, and the examples', async (t) => {
  if (!existsSync(`${repo}dist/cli/main.js`)) return t.fail('dist/cli/main.js is missing: run `npm run build` (npm test does)');
  // --ignore-scripts: list what is there now, without the rebuild `prepare` would start under the other tests.
  const { stdout } = await run('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], { cwd: repo });
  const paths = (JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  t.true(paths.includes('bin/lvsc.js') && paths.includes('dist/cli/main.js') && paths.includes('dist/cli/commands/plan.js'), paths.join(' '));
  t.true(paths.includes('dist/compiler/templates/ipvsadm.rules.hbs') && paths.includes('dist/lab/guest/rc.sh'), 'the assets beside the code that reads them');
  const unwanted = paths.filter(
    (p) => (!/^(bin|dist|examples)\//.test(p) && !['package.json', 'README.md'].includes(p)) || /\.test\.js$|\/testdata\/|^dist\/(test|bench|scripts)\/|\.map$|\.ts$/.test(p),
  );
  t.deepEqual(unwanted, []);
  // dist/ itself holds no more than the package does (the build starts from an empty dist/).
  t.false(existsSync(`${repo}dist/bench`) || existsSync(`${repo}dist/test`) || existsSync(`${repo}dist/scripts`) || existsSync(`${repo}dist/cli/main.test.js`));
});
