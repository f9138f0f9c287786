/**
 * `lvsc lab demo` in the lab VM, as a newcomer runs it (`npm run lab`): the
 * lab up, lvsc plan and apply of its cluster file in-process, then requests
 * from the client through every VIP, each answered by the servers the file
 * names. The session (support.ts) holds the lab's hosts and puts them back
 * afterwards, so the demo is told not to take them itself.
 */
import anyTest, { type TestFn } from 'ava';
import { labCommand } from '../../cli/commands/lab.js';
import { EXIT_CODES } from '../../cli/main.js';
import { repoRoot } from '../../lab/paths.js';
import { labSession } from './support.js';

const test = anyTest as TestFn;
const session = labSession(test);

async function lab(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const outcome = await labCommand({ holdHosts: async () => () => {} }).run(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: { HOME: session.dir, PATH: process.env.PATH },
    cwd: repoRoot(),
  });
  return { code: EXIT_CODES[outcome], stdout, stderr };
}

test.serial('lab demo: plans and applies the cluster file, and every server answers through its VIP', async (t) => {
  t.timeout(15 * 60_000);
  session.applied = true;
  const demo = await lab(['demo']);
  t.is(demo.code, 0, demo.stdout + demo.stderr);
  const c = session.lab.commands;
  t.true(demo.stdout.startsWith('lab is up (already running): '), demo.stdout);
  t.true(demo.stdout.includes(`\n$ ${c.plan}\n`));
  t.true(demo.stdout.includes(`\n$ ${c.apply} --yes\n`));
  t.regex(demo.stdout, /verified: the applied hosts match the cluster/);
  const rows = new Map(
    demo.stdout.split('\n').flatMap((l) => (/^ {2}(DR|NAT|TUN) [\d.]+:80 +→ /.test(l) ? [[l.trim().split(' ')[0], l.slice(l.indexOf('→') + 2).split('   ')[0].split(' ')] as const] : [])),
  );
  // rr alternates over two servers; wrr 2:1 gives web3 twice per web4; lc spreads one-at-a-time requests over both.
  t.deepEqual(rows.get('DR')?.slice().sort(), ['web1', 'web1', 'web1', 'web2', 'web2', 'web2']);
  t.deepEqual(rows.get('NAT')?.slice().sort(), ['web3', 'web3', 'web3', 'web3', 'web4', 'web4']);
  t.deepEqual([...new Set(rows.get('TUN'))].sort(), ['remote1', 'remote2']);
  t.true(demo.stdout.includes(`\n  ${c.down} `), 'the way out is among the commands to try');

  // The other subcommands against the running lab: status, and ssh with the command's output through lvsc's streams.
  t.like(JSON.parse((await lab(['status', '--json'])).stdout), { up: true, pid: session.lab.pid, port: session.lab.port, sshAnswers: true });
  t.deepEqual(await lab(['ssh', 'client', '--', 'hostname']), { code: 0, stdout: 'client\n', stderr: '' });
  t.deepEqual(await lab(['ssh', 'lb1', '--', 'ipvsadm -Ln | grep -c Route; exit 3']), { code: 1, stdout: '2\n', stderr: '' });
});
