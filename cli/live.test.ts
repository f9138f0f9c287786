/**
 * `lvsc plan` and `lvsc apply` as a person runs them, against real OpenSSH
 * servers in network namespaces (test/support/netns-sshd.ts): through a jump
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
import { LAB_USERS, startLab, type Lab } from '../test/support/netns-sshd.js';
import { main } from './main.js';

const test = anyTest as TestFn<{ lab: Lab; dir: string }>;

test.before(async (t) => {
  t.context.lab = await startLab({
    hosts: [
      { name: 'jump', networks: ['lan', 'back'] },
      { name: 'lb', networks: ['back'] },
      { name: 'web', networks: ['back'] },
    ],
    privateDirs: ['/etc/sysctl.d', '/etc/systemd/network', '/etc/modules-load.d'],
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

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test.serial('an encrypted key without a terminal: each host fails with one clear line, and nothing waits for an answer', async (t) => {
  const { lab } = t.context;
  const run = await lvsc(t, cluster(lab, { key: lab.encryptedKeyFile }), ['plan']);
  t.is(run.code, 1, run.stdout + run.stderr);
  const jumpAddress = lab.host('jump').addresses.lan;
  const jump = `jump (${jumpAddress}) (${LAB_USERS.sudo}@${jumpAddress})`;
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
