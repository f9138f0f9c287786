/**
 * End to end in the lab VM: a director with a checked service comes back from
 * a reboot with keepalived running it. lvsc applies the lab's cluster plus a
 * DR service with an HTTP check; keepalived (started by apply) programs the
 * service once the checks pass, and apply has enabled keepalived at boot (the
 * guest has no systemctl: the link in multi-user.target.wants that `systemctl
 * enable` makes). Then a reboot's worth of state is lost (keepalived stopped,
 * /run's records gone, the table flushed, the modules unloaded: guest.ts) and
 * the hosts are booted from their files (guest.ts: keepalived is started
 * because multi-user.target wants it, after the ipvsadm service, whose start
 * flushes the table, because lvsc's drop-in says so); keepalived's service is
 * back with lvsc's, requests through it are answered, and plan has no changes.
 *
 * Run with `npx ava --config ava.e2e.config.js test/e2e/keepalived-reboot.test.ts`
 * (under `flock /work/wt/lab.lock` on a shared machine).
 */
import anyTest, { type TestFn } from 'ava';
import { BOOT_UNITS, wantsLink } from '../../compiler/boot.js';
import { saveLines } from '../../compiler/ipvsadm.js';
import { ipvsTableIs, sh, waitFor } from '../../lab/remote.js';
import { SERVICES } from '../../lab/topology.js';
import { bootFromEtc, loseRuntimeState } from './guest.js';
import { compiled, desiredTable, labSession } from './support.js';

const test = anyTest as TestFn;
const session = labSession(test);

/** A VIP of the lab's DR segment that its own services leave free, and the port the servers answer on. */
const VIP = '10.20.0.102';
const PORT = 8080;
const SERVERS = SERVICES.dr.servers;
const checked = [`service checked {`, `  vip ${VIP} tcp ${PORT}`, '  scheduler rr', '  forward dr', '  check http path "/healthz"', ...SERVERS.map((s) => `  server ${s}`), '}', ''].join('\n');
const pages = SERVERS.map((s) => `${s} port ${PORT}`);

/** Waits until lb1's table is the compiled one, keepalived's checked service included (its servers are added once their checks pass). */
async function tableAsCompiled(text: string): Promise<void> {
  await waitFor('lb1', [ipvsTableIs(saveLines(desiredTable(text)))], { timeoutMs: 120_000, intervalMs: 500 });
}

async function answers(n: number): Promise<string[]> {
  return (await sh('client', `for i in $(seq ${n}); do curl -s --max-time 5 http://${VIP}:${PORT}/ || echo failed; done`)).trim().split('\n');
}

test.serial('keepalived, enabled at boot by apply, brings its checked service back after a reboot; plan has no changes', async (t) => {
  t.timeout(20 * 60_000);
  const text = session.clusterText + '\n' + checked;
  const file = session.writeCluster('keepalived-reboot.lvs', text);
  session.applied = true;
  const apply = await session.lvsc(['apply', '--yes'], file);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  t.regex(apply.stdout + apply.stderr, /\+ unit keepalived\.service/, 'apply enabled keepalived at boot');
  await tableAsCompiled(text);
  const link = wantsLink('keepalived.service');
  t.is((await sh('lb1', `readlink ${link}`)).trim(), BOOT_UNITS['keepalived.service'], `${link} makes multi-user.target want keepalived`);
  const before = await session.lvsc(['plan'], file);
  t.is(before.code, 0, before.stdout + before.stderr);
  t.deepEqual((await answers(4)).filter((a) => !pages.includes(a)), [], 'the checked service answers');

  const hosts = compiled(text).filter((h) => Object.keys(h.state.files).length);
  await loseRuntimeState(hosts);
  const lost = await sh('lb1', "if [ -s /run/keepalived.pid ]; then echo pid-file; fi; if [ -e /run/lvsc ]; then echo run-lvsc; fi; grep -c '^ip_vs ' /proc/modules || true");
  t.deepEqual(lost.trim().split('\n'), ['0'], 'keepalived, its records and the IPVS modules are gone');
  const ran = await bootFromEtc(hosts.map((h) => h.name));
  const boot = ran.get('lb1') ?? [];
  t.log(`lb1's boot: ${boot.join(' | ')}`);
  const start = boot.findIndex((c) => c.includes('lab_keepalived_start'));
  t.true(start > boot.indexOf('ipvsadm -R < /etc/ipvsadm.rules') && boot.indexOf('ipvsadm -C') >= 0, 'keepalived starts after the ipvsadm service has flushed and restored the table');

  await tableAsCompiled(text);
  t.deepEqual((await answers(4)).filter((a) => !pages.includes(a)), [], 'the checked service answers again');
  const after = await session.lvsc(['plan'], file);
  t.is(after.code, 0, after.stdout + after.stderr);
});
