/**
 * Quoting, checked by a real shell: whatever an argument holds, `sh` gives the
 * program exactly that argument, in a directory holding files its glob
 * characters could match. Every command line lvsc writes (plan.sh, the remote
 * `sh -c`, apply's scripts) is made by commandLine.
 */
import test from 'ava';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmd, commandLine, shellQuote } from './command.js';

/** A directory with files that `*`, `?` and `[...]` patterns of the arguments below would match. */
function globBait(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-glob-'));
  for (const name of ['1:443', '2:443', 'a', 'ab', 'x1', '-r', 'file']) writeFileSync(join(dir, name), '');
  return dir;
}

/** What the shell hands `printf` for each argument of the line, in `dir`. */
function throughShell(args: readonly string[], dir: string): string[] {
  const line = commandLine(cmd('printf', '%s\\0', ...args));
  const r = spawnSync('sh', ['-c', line], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sh failed on ${line}: ${r.stderr}`);
  return r.stdout.split('\0').slice(0, -1);
}

test('an IPv6 service and server address reach the program as written, whatever files the directory holds', (t) => {
  const args = ['-a', '-t', '[2001:db8::1]:443', '-r', '[2001:db8::21]:443', '-g'];
  t.deepEqual(throughShell(args, globBait()), args);
  t.is(shellQuote('[2001:db8::1]:443'), "'[2001:db8::1]:443'");
});

test('plain words stay bare, so the scripts read as they would be typed', (t) => {
  for (const word of ['ipvsadm', '-A', '10.1.0.100:80', 'net.ipv4.vs.expire_nodest_conn=1', '/etc/sysctl.d/90-lvsc.conf', 'user@host', 'lo:lvs', '2001:db8::1/128']) {
    t.is(shellQuote(word), word);
  }
});

const SPECIAL = [...' \t\n*?[]{}~$`\'"\\!#&;|<>()=%+@,:./-^'];

test('any argument reaches the program unchanged through sh (property)', (t) => {
  const dir = globBait();
  const chars = fc.string({ unit: fc.oneof(fc.constantFrom(...SPECIAL), fc.constantFrom('a', 'b', '1', 'x', 'é')), maxLength: 12 });
  // Patterns that would match the bait files, and expansions a shell would make.
  const patterns = fc.constantFrom('*', '?', 'a*', '[a]', '[a]b', '[0-9]:443', '[!y]1', '{a,b}', '~', '$HOME', '`id`', '$(id)');
  const arg = fc.oneof(chars, patterns, fc.tuple(patterns, chars).map(([p, c]) => p + c));
  // One shell per batch of arguments: a run is one process, not one per case.
  fc.assert(
    fc.property(fc.array(arg, { minLength: 1, maxLength: 40 }), (args) => {
      const got = throughShell(args, dir);
      if (JSON.stringify(got) !== JSON.stringify(args)) throw new Error(`sh gave ${JSON.stringify(got)} for ${JSON.stringify(args)}`);
    }),
    { numRuns: 60, seed: 1 },
  );
  t.pass();
});
