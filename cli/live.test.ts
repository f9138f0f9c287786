/**
 * `lvsc plan` and `lvsc apply` as a person runs them, against real OpenSSH
 * servers in network namespaces (lab/netns-sshd.ts): through a jump
 * host, on a terminal (a passphrase to type, a plan to confirm, one live
 * progress line) and without one (a clear error, plain progress lines).
 * The terminal is injected: a stdin stream marked as a TTY (with a raw mode)
 * and a stderr marked as one; the test types when a question shows.
 *
 * Lab: `jump` is on `lan` (which the test process reaches) and on `back`;
 * the director `lb` and the real server `web` are on `back` only, so every
 * connection to them goes through `jump`. This kernel has no IPVS: `lb` is
 * read but fails at `modprobe ip_vs` when applied (the IPVS path runs in the
 * lab VM); `web` is applied and checked by reading its namespace directly.
 */
import anyTest, { type TestFn } from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { LAB_USERS, startLab, type Lab } from '../lab/netns-sshd.js';
import { assertKernelWithoutIpvs, assertPrograms } from '../test/support/host.js';
import { main } from './main.js';

const test = anyTest as TestFn<{ lab: Lab; dir: string }>;

test.before(async (t) => {
  // lvsc reads the director with ipvsadm, and its first step there, `modprobe ip_vs`, must fail.
  assertPrograms('cli/live.test.ts', ['ipvsadm', 'modprobe', 'sysctl']);
  assertKernelWithoutIpvs('cli/live.test.ts', 'the director must fail at modprobe ip_vs');
  t.context.lab = await startLab({
    hosts: [
      { name: 'jump', networks: ['lan', 'back'] },
      { name: 'lb', networks: ['back'] },
      { name: 'web', networks: ['back'] },
    ],
    privateDirs: ['/etc/sysctl.d', '/etc/systemd/network', '/etc/modules-load.d', '/var/lib/lvsc'],
  });
  t.context.dir = mkdtempSync(join(tmpdir(), 'lvsc-live-'));
});

test.after.always(async (t) => {
  await t.context.lab?.stop();
});

/** The VIP: on `back`, the network only `jump` reaches. */
function vip(lab: Lab): string {
  return lab.host('web').address.split('.').slice(0, 3).concat('100').join('.');
}

/** The cluster: lb and web behind jump; `www` (web behind lb by DR) unless left out. */
function cluster(lab: Lab, opts: { key?: string; www?: boolean } = {}): string {
  const lb = lab.host('lb').address;
  const web = lab.host('web').address;
  return [
    `defaults {\n  ssh user ${LAB_USERS.sudo}\n  ssh key "${opts.key ?? lab.keyFile}"\n  sudo\n}\n`,
    `host jump {\n  ssh ${lab.host('jump').addresses.lan}\n}\n`,
    `host lb {\n  ssh ${lb} via jump\n  interface eth0 ${lb}/24\n}\n`,
    `host web {\n  ssh ${web} via jump\n  interface eth0 ${web}/24\n}\n`,
    'director lb\n',
    ...(opts.www === false ? [] : [`service www {\n  vip ${vip(lab)} tcp 80\n  scheduler wlc\n  forward dr\n  server web\n}\n`]),
  ].join('\n');
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** setRawMode calls on the terminal's stdin. */
  raw: boolean[];
}

/** When stderr shows `question` (the n-th time it does), the person types `answer`. */
interface Answer {
  question: RegExp;
  answer: string;
}

let fileSeq = 0;
async function lvsc(t: { context: { lab: Lab; dir: string } }, text: string, argv: string[], terminal?: { answers: Answer[] }): Promise<Run> {
  const { lab, dir } = t.context;
  const file = join(dir, `cluster-${++fileSeq}.lvs`);
  writeFileSync(file, text);
  const raw: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), {
    isTTY: terminal !== undefined,
    setRawMode(mode: boolean) {
      raw.push(mode);
    },
  });
  const answers = [...(terminal?.answers ?? [])];
  let answered = 0;
  let stdout = '';
  let stderr = '';
  const code = await main([...argv, '--known-hosts', lab.knownHostsFile, '--ssh-config', join(lab.homeDir, 'no-config'), file], {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: {
      write: (s: string) => {
        stderr += s;
        const next = answers[0];
        if (next && (stderr.match(new RegExp(next.question.source, 'g')) ?? []).length > answered) {
          answers.shift();
          answered++;
          setImmediate(() => stdin.write(next.answer));
        }
      },
      isTTY: terminal !== undefined,
    },
    env: { HOME: lab.homeDir, NO_COLOR: '1' },
    cwd: dir,
    stdin,
  });
  return { code, stdout, stderr, raw };
}

async function sh(lab: Lab, host: string, line: string): Promise<string> {
  const r = await lab.exec(host, ['sh', '-c', line]);
  if (r.code !== 0) throw new Error(`${host}: \`${line}\` failed: ${r.stderr}`);
  return r.stdout;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test.serial('an encrypted key without a terminal: each host fails with one clear line, and nothing waits for an answer', async (t) => {
  const { lab } = t.context;
  const run = await lvsc(t, cluster(lab, { key: lab.encryptedKeyFile }), ['plan']);
  t.is(run.code, 1, run.stdout + run.stderr);
  const jumpAddress = lab.host('jump').addresses.lan;
  const jump = `jump (${LAB_USERS.sudo}@${jumpAddress})`;
  const why = `cannot authenticate to ${jump}: key file ${lab.encryptedKeyFile} is encrypted and there is no terminal to ask for its passphrase; load it into ssh-agent (ssh-add ${lab.encryptedKeyFile}) or run lvsc on a terminal`;
  t.deepEqual(
    run.stderr.split('\n').filter((l) => l.startsWith('error: ')),
    [`error: lb: ${why}`, `error: web: ${why}`],
  );
  t.notRegex(run.stderr, /Enter passphrase/);
  t.deepEqual(run.raw, []);
});

test.serial('an encrypted key on a terminal: asked once for the whole run, hidden; the plan reads both hosts through the jump host', async (t) => {
  const { lab } = t.context;
  const question = `Enter passphrase for key '${lab.encryptedKeyFile}': `;
  const run = await lvsc(t, cluster(lab, { key: lab.encryptedKeyFile }), ['plan'], { answers: [{ question: new RegExp(escape(question)), answer: `${lab.passphrase}\r` }] });
  t.is(run.code, 2, run.stdout + run.stderr);
  t.is(run.stderr.split(question).length - 1, 1, 'one question for three connections (jump, lb, web) using the key');
  t.true(run.stderr.includes(`\n${question}\nReading live state: `), 'the question has a line of its own; the progress line resumes below it');
  t.false(run.stderr.includes(lab.passphrase), 'the passphrase is not echoed');
  t.deepEqual(run.raw, [true, false]);
  t.regex(run.stdout, new RegExp(`web \\(real server\\)[\\s\\S]*\\+ address ${escape(vip(lab))}/32 on lo \\(label lo:lvs\\)`));
  t.regex(run.stdout, /lb \(director\)[\s\S]*\+ ipvs service tcp/);
  // Typed wrong three times: the hosts fail (the key was refused), and it is not asked again per host.
  const wrong = await lvsc(t, cluster(lab, { key: lab.encryptedKeyFile }), ['plan'], {
    answers: [1, 2, 3].map(() => ({ question: new RegExp(escape(question)), answer: 'not it\r' })),
  });
  t.is(wrong.code, 1, wrong.stdout + wrong.stderr);
  t.is(wrong.stderr.split(question).length - 1, 3);
  t.regex(wrong.stderr, /error: web: .*key file .* wrong passphrase/);
});

test.serial('apply on a terminal asks first: anything but "yes" changes nothing', async (t) => {
  const { lab } = t.context;
  for (const answer of ['no\n', 'y\n']) {
    const run = await lvsc(t, cluster(lab), ['apply'], { answers: [{ question: /Only 'yes' goes ahead: $/, answer }] });
    t.is(run.code, 1, run.stdout + run.stderr);
    t.regex(run.stderr, /\nApply \d+ change\(s\) to 2 host\(s\)\? Only 'yes' goes ahead: Apply cancelled: nothing was changed\.\n$/);
    t.regex(run.stdout, /\+ address .*\/32 on lo/, 'the plan was shown before the question');
    t.notRegex(run.stdout, /Apply (complete|FAILED)/);
    t.notRegex(await sh(lab, 'web', 'ip -o -4 addr show dev lo'), /lo:lvs/);
    t.is((await sh(lab, 'web', 'sysctl -n net.ipv4.conf.all.arp_ignore')).trim(), '0');
  }
});

test.serial('"yes" applies through the jump host: web gets its VIP and ARP sysctls, the director fails alone; progress is one live line', async (t) => {
  const { lab } = t.context;
  const run = await lvsc(t, cluster(lab), ['apply'], { answers: [{ question: /Only 'yes' goes ahead: $/, answer: 'yes\n' }] });
  t.is(run.code, 1, run.stdout + run.stderr);
  t.regex(run.stdout, /web: done, (\d+) of \1 steps ran/);
  t.regex(run.stdout, /lb: failed, 0 of \d+ steps ran\n {2}module ip_vs: `modprobe ip_vs` failed on lb/);
  t.regex(run.stdout, /verified: the applied hosts match the cluster/);
  t.regex(await sh(lab, 'web', 'ip -o -4 addr show dev lo'), new RegExp(`inet ${escape(vip(lab))}/32 .*lo:lvs`));
  t.is((await sh(lab, 'web', 'sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce')).trim().split('\n').join(' '), '1 2');
  t.regex(await sh(lab, 'web', 'cat /etc/sysctl.d/90-lvsc.conf'), /^# Rendered by lvsc/);

  // A terminal: each stage is one line redrawn in place, which ends with the host count and time.
  t.regex(run.stderr, /\r\x1b\[KReading live state: (?=[^\r\n]*lb ✓)(?=[^\r\n]*web ✓)[^\r\n]*\(2 hosts, \d+\.\d s\)\n/);
  t.regex(run.stderr, /\r\x1b\[KApplying: (?=[^\r\n]*lb ✗)(?=[^\r\n]*web ✓)[^\r\n]*\(2 hosts, \d+\.\d s\)\n/);
  t.regex(run.stderr, /\r\x1b\[KApplying: [^\r\n]*web \d+\/\d+/, 'a step counter while it runs');
  t.notRegex(run.stderr, /^web: /m, 'no plain per-event lines on a terminal');
  t.notRegex(run.stderr, /jump/, 'the jump host is not read, so not shown');
});

test.serial('without a terminal: plain progress lines; removing the service with --target web cleans web up through the jump host (exit 0)', async (t) => {
  const { lab } = t.context;
  t.regex(await sh(lab, 'web', 'ip -o -4 addr show dev lo'), /lo:lvs/, 'web has the VIP from the previous test');
  const run = await lvsc(t, cluster(lab, { www: false }), ['apply', '--yes', '--target', 'web']);
  t.is(run.code, 0, run.stdout + run.stderr);
  t.notRegex(run.stderr, /[\r\x1b]/, 'no terminal control sequences');
  // The facts' warnings (this machine's kernel has no loadable modules: "no /proc/modules") are not progress.
  const lines = run.stderr
    .replace(/\d+\.\d s/g, 'T')
    .split('\n')
    .filter((l) => l && !l.startsWith('warning: web: modules: '));
  const steps = Number(/^web: (\d+) steps to run$/m.exec(run.stderr)?.[1]);
  // apply takes the host's lock before it reads it.
  t.deepEqual(lines.slice(0, 8), ['Reading live state: 1 host', 'web: connecting', 'web: taking the lvsc lock', 'web: reading facts', 'web: read (T)', 'Reading live state: finished in T', 'Applying: 1 host', `web: ${steps} steps to run`]);
  t.deepEqual(lines.slice(-2), ['web: done', 'Applying: finished in T']);
  // Each step: its line when it starts, then done; the VIP first, the files last. These are plain
  // commands: they run as one script on the host, so they all start together and are done together.
  const sysctls = ['all', 'eth0', 'lo'].flatMap((dev) => [`web: - sysctl net.ipv4.conf.${dev}.arp_announce 2 → 0`, `web: - sysctl net.ipv4.conf.${dev}.arp_ignore 1 → 0`]);
  const started = [`web: - address ${vip(lab)}/32 on lo (label lo:lvs)`, ...sysctls, 'web: - file /etc/sysctl.d/90-lvsc.conf', 'web: - file /etc/systemd/network/50-lvsc-lo.network', 'web: - file /var/lib/lvsc/manifest.json'];
  t.is(steps, started.length);
  t.deepEqual(lines.slice(8, -2), [...started, ...started.map(() => 'web:   done')]);
  t.regex(run.stdout, /Apply complete: \d+ step\(s\) ran; 1 host\(s\) done, 0 failed, 0 skipped; verified: the applied hosts match the cluster\./);

  t.notRegex(await sh(lab, 'web', 'ip -o -4 addr show dev lo'), /lo:lvs/);
  t.is((await sh(lab, 'web', 'sysctl -n net.ipv4.conf.all.arp_ignore')).trim(), '0');
  t.is((await sh(lab, 'web', 'ls /etc/sysctl.d /etc/systemd/network /var/lib/lvsc')).replace(/\s+/g, ' ').trim(), '/etc/sysctl.d: /etc/systemd/network: /var/lib/lvsc:');
  const again = await lvsc(t, cluster(lab, { www: false }), ['plan', '--target', 'web']);
  t.is(again.code, 0, again.stdout + again.stderr);
});
