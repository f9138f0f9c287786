/**
 * `lvsc plan` on a director whose checked service keepalived runs, against a
 * real OpenSSH server in a network namespace (lab/netns-sshd.ts): keepalived's
 * view of its servers, which its notify script (templates/keepalived-notify.sh.hbs)
 * records under /run/lvsc/health, is written here as that script writes it.
 *
 * This kernel has no IPVS, so the director's plan always holds steps (it
 * loads ip_vs, and its table reads empty): a plan with health as its only
 * difference, and one with a hand-edited weight, are planned from states
 * built in compiler/keepalived.test.ts and cli/views.test.ts; here the
 * health record travels the real way, from the host's file to the shown line.
 *
 * /run/lvsc and /etc/keepalived are private per lab host.
 */
import anyTest, { type TestFn } from 'ava';
import type { Lab } from '../lab/netns-sshd.js';
import { checkedCluster, directorLab, labVip, type DirectorLab } from '../test/support/director-lab.js';
import { lvscOnHosts, type HostsContext, type Run } from './test-support.js';

const test = anyTest as TestFn<DirectorLab>;

directorLab(test, 'cli/keepalived.test.ts');

const vip = labVip;
const cluster = checkedCluster;

function lvsc(t: HostsContext, text: string, argv: string[]): Promise<Run> {
  return lvscOnHosts(t, text, argv, { env: { NO_COLOR: '1' } });
}

async function sh(lab: Lab, host: string, line: string, ...args: string[]): Promise<string> {
  const r = await lab.exec(host, ['sh', '-c', line, 'sh', ...args]);
  if (r.code !== 0) throw new Error(`${host}: \`${line}\` failed: ${r.stderr}`);
  return r.stdout;
}

test.serial('a server keepalived reports down is shown under its director as health, not as a change, in text and in --json', async (t) => {
  const { lab } = t.context;
  const web1 = lab.host('web1').address;
  const web2 = lab.host('web2').address;
  // As keepalived-notify writes them: root's directory, one file per server, `STATE KIND A B ADDRESS PORT SINCE`.
  await sh(lab, 'lb', 'umask 077 && mkdir -p /run/lvsc/health && printf "%s\\n" "$1" > "/run/lvsc/health/a" && printf "%s\\n" "$2" > "/run/lvsc/health/b"', `down tcp ${vip(lab)} 80 ${web1} 80 1700000000`, `up tcp ${vip(lab)} 80 ${web2} 80 1700000100`);

  const text = await lvsc(t, cluster(lab), ['plan', '--target', 'lb']);
  t.is(text.code, 2, text.stdout + text.stderr);
  const lines = text.stdout.split('\n');
  const header = lines.indexOf('lb (director)');
  const shown = `    health  ${web1}:80 → tcp ${vip(lab)}:80  down (check failing since 2023-11-14T22:13:20Z)`;
  const at = lines.indexOf(shown);
  t.true(header >= 0 && at > header && lines.slice(header, at).every((l) => l !== ''), `the line is under lb's header:\n${text.stdout}`);
  t.is(lines.filter((l) => l.includes(`${web1}:80 → tcp ${vip(lab)}:80`)).length, 1, 'and no step names that server');
  t.false(text.stdout.includes(`${web2}:80 → tcp`), 'the server reported up is not shown');
  t.regex(text.stdout, /^1 checked server down: keepalived keeps it out of the rotation until the check passes \(health, not a change\)\.$/m);

  const json = await lvsc(t, cluster(lab), ['plan', '--target', 'lb', '--json']);
  t.is(json.code, 2, json.stderr);
  const doc = JSON.parse(json.stdout) as { hosts: { host: string; health?: unknown }[] };
  t.deepEqual(doc.hosts.find((h) => h.host === 'lb')?.health, [
    { state: 'down', key: `${web1}:80 → tcp ${vip(lab)}:80`, service: { kind: 'addr', proto: 'tcp', address: vip(lab), port: 80 }, dest: { address: web1, port: 80 }, since: 1_700_000_000 },
  ]);
});
