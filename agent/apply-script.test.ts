/**
 * The script apply sends for a run of plain-command steps (`commandScript`),
 * run here by the local `sh` as a host's would, and read back
 * (`readCommandScript`): every command in turn, the first failure ends it
 * with its status and output, arguments arrive exactly as given, and no
 * command's output can pass for the script's own marks.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandScript, readCommandScript } from './executor.js';
import { cmd, type Command } from '../compiler/command.js';

const MARK = ':::lvsc-run 0123456789abcdef';

function run(commands: readonly Command[]) {
  const script = commandScript(commands, MARK);
  const r = spawnSync(script.argv[0], script.argv.slice(1), { encoding: 'utf8' });
  return readCommandScript({ stdout: r.stdout, stderr: r.stderr, code: r.status ?? 1 }, MARK);
}

test('every command runs in turn; the script says it finished', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-script-'));
  const r = run([cmd('touch', join(dir, 'a')), cmd('true'), cmd('touch', join(dir, 'b'))]);
  t.deepEqual(r, { ok: 3, done: true });
  t.true(existsSync(join(dir, 'a')) && existsSync(join(dir, 'b')));
});

test('the first failing command ends the script, with its exit status and output; later ones do not run', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-script-'));
  const r = run([cmd('true'), cmd('sh', '-c', 'echo partial; echo "RTNETLINK answers: File exists" >&2; exit 2'), cmd('touch', join(dir, 'after'))]);
  t.deepEqual(r, { ok: 1, done: false, failed: { code: 2, stdout: '', stderr: 'partial\nRTNETLINK answers: File exists' } });
  t.false(existsSync(join(dir, 'after')));
});

test('a program that is not installed fails with 127 and "not found", as a shell says it', (t) => {
  const r = run([cmd('lvsc-no-such-program', '-x')]);
  t.is(r.ok, 0);
  t.is(r.failed?.code, 127);
  t.regex(r.failed?.stderr ?? '', /not found/);
});

test('arguments arrive as given; output that looks like a mark does not count', (t) => {
  const odd = `a 'b' "c" $HOME \`x\` ;|& \\n`;
  const file = join(mkdtempSync(join(tmpdir(), 'lvsc-script-')), 'arg');
  const r = run([cmd('sh', '-c', 'printf %s "$1" > "$2"', 'sh', odd, file), cmd('echo', `${MARK} ok`), cmd('sh', '-c', `echo '${MARK} done'; exit 1`)]);
  t.is(readFileSync(file, 'utf8'), odd);
  t.is(r.ok, 2);
  t.is(r.failed?.code, 1);
  t.is(r.failed?.stderr, `${MARK} done`);
});

test('output cut short: neither finished nor failed', (t) => {
  t.deepEqual(readCommandScript({ stdout: `${MARK} ok\n${MARK} ok\n`, stderr: '', code: 143 }, MARK), { ok: 2, done: false });
});
