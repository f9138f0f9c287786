/**
 * `lvsc compile --out DIR` where DIR cannot be written: one line saying which
 * path and why, exit 1, never a stack trace; and never a hang (Node's own
 * recursive mkdir loops for ever on `/proc/x`).
 */
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lvsc, tempDir, type Run } from './test-support.js';

const host = (name: string) => `host ${name} {\n  ssh 10.0.0.1\n}\n`;

test('compile --out writes plan.sh and plan.json, creating the directories', async (t) => {
  const dir = tempDir({ 'c.lvs': host('web1') });
  const r = await lvsc(['compile', '--out', 'out/deep', 'c.lvs'], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, "Wrote 1 hosts' plans and files to out/deep\n");
  t.true(existsSync(join(dir, 'out/deep/web1/plan.sh')));
  t.is(JSON.parse(readFileSync(join(dir, 'out/deep/plan.json'), 'utf8')).version, 1);
});

test('a host name longer than a file name may be (300 characters) is an error naming the path', async (t) => {
  const name = 'a'.repeat(300);
  const dir = tempDir({ 'long.lvs': host(name) });
  t.is((await lvsc(['validate', 'long.lvs'], dir)).code, 0, 'the file is valid');
  const r = await lvsc(['compile', '--out', 'out', 'long.lvs'], dir);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.is(r.stderr, `lvsc: cannot create directory out/${name}: file name too long\n`);
});

test('--out where the system will not create a directory (/proc/x) fails at once', async (t) => {
  const dir = tempDir({ 'c.lvs': host('web1') });
  // Node's mkdir(..., { recursive: true }) never returns here: give up after 20 s rather than hang the suite.
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 20_000)));
  const r = await Promise.race([lvsc(['compile', '--out', '/proc/x', 'c.lvs'], dir), hung]);
  clearTimeout(timer);
  if (r === 'hung') return t.fail('compile --out /proc/x did not return within 20 s');
  t.is(r.code, 1);
  t.is(r.stderr, 'lvsc: cannot create directory /proc/x: no such file or directory\n');
});

test('--out a file, or a directory under one, is an error naming the directory it could not create', async (t) => {
  const dir = tempDir({ 'c.lvs': host('web1') });
  writeFileSync(join(dir, 'taken'), '');
  const results: Run[] = [];
  for (const out of ['taken', 'taken/sub']) results.push(await lvsc(['compile', '--out', out, 'c.lvs'], dir));
  t.deepEqual(
    results.map((r) => [r.code, r.stderr]),
    [
      [1, 'lvsc: cannot create directory taken/web1: not a directory\n'],
      [1, 'lvsc: cannot create directory taken/sub/web1: not a directory\n'],
    ],
  );
});
