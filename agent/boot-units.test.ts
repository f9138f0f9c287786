/**
 * Enabling a unit at boot (compiler/boot.ts) and reading it back, for real on
 * this machine's shell and file system, in a scratch wants directory: the
 * branch for hosts without systemctl (the lab's guest), where the step makes
 * the link `systemctl enable` would, and systemd's own `systemctl enable`, run
 * in a private mount namespace whose /etc/systemd/system and /etc/rc?.d
 * (which Debian's systemctl also updates, through update-rc.d) are empty
 * tmpfs mounts, so that this machine's own files are never touched.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOT_UNITS, WANTS_DIR } from '../compiler/boot.js';
import { diffHost, NO_OWNERSHIP } from '../compiler/diff.js';
import { enableUnit } from '../compiler/host-commands.js';
import { commandLine } from '../compiler/command.js';
import { emptyHostState } from '../compiler/state.js';
import { assertPrograms } from '../test/support/host.js';
import { readFact } from './facts/fact.js';
import { unitsFact } from './facts/units.js';

/** A PATH with the tools the script needs besides systemctl: a host without systemd. */
function withoutSystemctl(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['mkdir', 'ln']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
  return bin;
}

/** Runs a command whose last argument is the wants directory with `wants` instead. */
function run(argv: readonly string[], wants: string, path: string): void {
  const args = [...argv];
  if (args[args.length - 1] !== WANTS_DIR) throw new Error(`bug: ${args.join(' ')} does not end with the wants directory`);
  args[args.length - 1] = wants;
  // The shell by its path: PATH holds only what the script may find.
  execFileSync(args[0] === 'sh' ? '/bin/sh' : args[0], args.slice(1), { env: { PATH: path }, stdio: 'pipe' });
}

function enabled(wants: string): string[] {
  const fact = unitsFact(['keepalived.service'], wants);
  const argv = fact.command().argv;
  const r = readFact(fact, { stdout: execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }), stderr: '', status: 0 });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

test('without systemctl the step makes the link systemctl would; the units fact then reads the unit as enabled, the diff has nothing left to do, and a second run changes nothing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-units-'));
  try {
    const wants = join(dir, 'multi-user.target.wants');
    const path = withoutSystemctl(dir);
    const desired = { ...emptyHostState(), enabledUnits: ['keepalived.service'] };
    const before = diffHost(desired, { ...emptyHostState(), enabledUnits: enabled(wants) }, { director: true, ownership: NO_OWNERSHIP });
    t.deepEqual(before.map((s) => `${s.action} ${s.kind} ${s.label} ${s.phase}`), ['create unit keepalived.service prepare']);
    t.deepEqual(before[0].commands, [enableUnit('keepalived.service')]);

    run(before[0].commands[0].argv, wants, path);
    t.is(readlinkSync(join(wants, 'keepalived.service')), BOOT_UNITS['keepalived.service']);
    t.deepEqual(enabled(wants), ['keepalived.service']);
    t.deepEqual(diffHost(desired, { ...emptyHostState(), enabledUnits: enabled(wants) }, { director: true, ownership: NO_OWNERSHIP }), []);

    run(before[0].commands[0].argv, wants, path);
    t.is(readlinkSync(join(wants, 'keepalived.service')), BOOT_UNITS['keepalived.service'], 'idempotent');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with systemctl the step is systemctl enable: the link it makes is what the units fact reads, and the diff has nothing left to do', (t) => {
  assertPrograms('agent/boot-units.test.ts', ['systemctl', 'unshare', '/usr/sbin/keepalived']);
  const desired = { ...emptyHostState(), enabledUnits: ['keepalived.service'] };
  const [step] = diffHost(desired, emptyHostState(), { director: true, ownership: NO_OWNERSHIP });
  const fact = unitsFact(['keepalived.service']);
  const script = [
    'set -e',
    'mount --make-rprivate /',
    'mount -t tmpfs lvsc-test /etc/systemd/system',
    'for d in /etc/rc?.d; do mount -t tmpfs lvsc-test "$d"; done',
    `${commandLine(step.commands[0])} >/dev/null 2>&1`,
    `readlink ${WANTS_DIR}/keepalived.service`,
    commandLine(fact.command()),
  ].join('\n');
  const [link, ...answer] = execFileSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8' }).trim().split('\n');
  t.is(link, BOOT_UNITS['keepalived.service'], 'systemctl linked the unit file lvsc names');
  const r = readFact(fact, { stdout: answer.join('\n') + '\n', stderr: '', status: 0 });
  t.true(r.ok);
  if (r.ok) {
    t.deepEqual(r.value, ['keepalived.service']);
    t.deepEqual(diffHost(desired, { ...emptyHostState(), enabledUnits: r.value }, { director: true, ownership: NO_OWNERSHIP }), []);
  }
});

test('lvsc never disables a unit it no longer needs', (t) => {
  t.deepEqual(diffHost(emptyHostState(), { ...emptyHostState(), enabledUnits: ['keepalived.service'] }, { director: true, ownership: NO_OWNERSHIP }), []);
});
