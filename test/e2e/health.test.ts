/**
 * Health checks end to end in the lab VM: `lvsc apply` of the lab's cluster
 * with checks makes lb1 run Debian's keepalived (started by apply as
 * keepalived.service would: the guest has no systemd), real requests from
 * the client go through each VIP, and the tests break and mend the real
 * servers' daemons (lab/daemons.ts):
 * - web-dr: HTTP checks of /healthz (quiesce), web-nat: a DNS check of web3's
 *   dnsmasq and a TCP check of web4's web server, web-tun: an exec check (the
 *   operator's program on lb1);
 * - a failing server goes to weight 0 and comes back, `lvsc plan` exits 0
 *   while it is shielded and 2 on drift, which apply reverts (a hand edit of
 *   a healthy server's weight, a checked server deleted by hand);
 * - file changes under continuous traffic (a weight, a drained removal, a new
 *   server) lose no request; the sorry server answers while no server passes;
 * - a keepalived.conf keepalived -t refuses changes nothing; a cluster with no
 *   checks left stops keepalived and lvsc takes its entries over, under traffic.
 * Detection and recovery times are logged (the targets are `npm run bench`'s).
 */
import anyTest, { type TestFn } from 'ava';
import { saveLine } from '../../compiler/ipvsadm.js';
import { KEEPALIVED_CONF, putFiles, reloadKeepalived, restoreServerScript, runningKeepalived } from '../../lab/daemons.js';
import { changeAndWait, hasWeight, isGone, lineStart, median, recorded, ROUND, traffic } from '../../lab/health.js';
import { sh, shOn, waitFor } from '../../lab/remote.js';
import { SERVICES, type LabService } from '../../lab/topology.js';
import type { IpvsService } from '../../compiler/state.js';
import { desiredTable, keyed, labSession, liveTable, page, requests, rip, steps } from './support.js';

const test = anyTest as TestFn;
// Before the session's own after.always (registered next), which stops a lab this file booted.
test.after.always('the real servers\' daemons as booted, the exec program removed', async () => {
  if (!session.lab) return;
  await shOn([['lb1', `rm -f ${EXEC_CHECK}\nif [ -s /run/syslogd.pid ]; then kill "$(cat /run/syslogd.pid)" || true; fi`], ...['web1', 'web2', 'web3', 'web4', 'remote1', 'remote2'].map((s) => [s, restoreServerScript(s)] as const)]);
});
const session = labSession(test);

test.afterEach.always('on failure: what lb1 and the NAT servers looked like', async (t) => {
  if (t.passed || !session.lab) return;
  const [table, web3, web4] = await shOn([
    ['lb1', 'ipvsadm -Sn; head -n 1 /run/lvsc/health/* || true; tail -n 40 /var/log/messages 2>/dev/null || true'],
    ['web3', 'ps -o pid,args 2>/dev/null | grep -e dnsmasq -e httpd | grep -v grep || true; cat /run/dnsmasq.pid || true'],
    ['web4', 'ps -o pid,args 2>/dev/null | grep -e dnsmasq -e httpd | grep -v grep || true'],
  ]).catch((e: Error) => [e.message, '', '']);
  t.log(`lb1:\n${table}\nweb3:\n${web3}\nweb4:\n${web4}`);
});
const { dr, nat, tun } = SERVICES;

/** The operator's program of the exec check, on lb1: healthy while the server's health URL answers. */
const EXEC_CHECK = '/usr/local/bin/lab-health';
const EXEC_SCRIPT = '#!/bin/sh\n# lab-health ADDRESS PORT: the exec check of the e2e tests\nexec curl -sf -o /dev/null --max-time 5 "http://$1:$2/healthz"\n';
/** What the file declares for web-dr: a check every 2 s, 1.5 s to answer, one retry (the TCG guest on a loaded machine needs the slack). */
const EVERY_S = 2;

/** The lab's cluster with checks: HTTP on web-dr, DNS (web3) and TCP (web4) on web-nat, exec on web-tun. */
function withChecks(text: string): string {
  const out = text
    .replace(/^(service web-dr \{[\s\S]*?\n {2}forward dr\n)/m, `$1  check http path "/healthz" every ${EVERY_S}s timeout 1500ms retries 1\n`)
    .replace(/^( {2}server web3 port 8080 weight 2)$/m, '$1 check dns port 53 name "health.lab.test" every 2s timeout 1500ms retries 1')
    .replace(/^( {2}server web4 port 8080 weight 1)$/m, '$1 check tcp every 2s timeout 1500ms retries 1')
    .replace(/^(service web-tun \{[\s\S]*?\n {2}forward tun\n)/m, `$1  check exec "${EXEC_CHECK}" every 8s timeout 6s retries 1\n`);
  if ((out.match(/ check /g) ?? []).length !== 4) throw new Error('bug: the lab cluster file no longer has the lines the checks go on');
  return out;
}

const TEXT = () => withChecks(session.clusterText);
const file = (name: string, text: string) => session.writeCluster(name, text);

/** A desired table without the fields only desired state has (owner, keepalived). */
const plainTable = (ipvs: readonly IpvsService[]) => keyed(ipvs.map(({ owner: _o, keepalived: _k, ...s }) => s));

/** The `ipvsadm -Sn` line of `server` in `service` as `text` declares it, at `weight` (default: the declared one). */
function line(text: string, service: LabService, server: string, weight?: number): string {
  const svc = desiredTable(text).find((s) => s.id.kind === 'addr' && s.id.address === service.vip && s.id.port === service.port)!;
  const d = svc.destinations.find((x) => x.address === rip(server))!;
  return saveLine(svc, weight === undefined ? d : { ...d, weight });
}

async function apply(path: string, ...args: string[]) {
  return session.lvsc(['apply', '--yes', ...args], path);
}

test.before('the exec check\'s program on lb1, and a syslog there for keepalived\'s messages', async () => {
  await sh('lb1', 'mkdir -p /usr/local/bin\nrm -f /var/log/messages\nbusybox syslogd -O /var/log/messages || true');
  await putFiles('lb1', new Map([[EXEC_CHECK, EXEC_SCRIPT]]));
  await sh('lb1', `chmod 755 ${EXEC_CHECK}`);
});


test.serial('apply with checks starts keepalived as Debian\'s service does; once every check passes the table is the compiled one and plan has nothing to do', async (t) => {
  t.timeout(10 * 60_000);
  session.applied = true;
  const text = TEXT();
  const r = await apply(file('checked.lvs', text));
  t.is(r.code, 0, r.stdout + r.stderr);
  const k = await runningKeepalived('lb1');
  if (!k) return t.fail('no keepalived runs on lb1 after apply');
  t.regex(await sh('lb1', `tr '\\0' ' ' < /proc/${k.pid}/cmdline`), /^keepalived --pid \/run\/keepalived\.pid --dont-release-ipvs $/);
  // Every server starts down (alpha) until its first check passes.
  const checked = [...dr.servers.map((s) => [dr, s] as const), ...nat.servers.map((s) => [nat, s] as const), ...tun.servers.map((s) => [tun, s] as const)];
  await waitFor('lb1', checked.flatMap(([svc, s]) => [recorded(svc, s, 'up'), hasWeight(svc, s, s === 'web3' ? 2 : 1)]), ROUND);
  t.log(`keepalived ${k.pid}, started by apply: every server passed its first check`);
  t.deepEqual(keyed(await liveTable()), plainTable(desiredTable(text)));
  const plan = await session.lvsc(['plan'], file('checked.lvs', text));
  t.is(plan.code, 0, plan.stdout + plan.stderr);
  t.deepEqual([...(await requests(dr, 4)).keys()].sort(), dr.servers.map((s) => page(dr, s)).sort());
});

test.serial('HTTP check: web1\'s health URL broken, web1 goes to weight 0 and requests all succeed; plan exits 0 while it is shielded; mended, it comes back', async (t) => {
  t.timeout(10 * 60_000);
  t.teardown(() => sh('web1', restoreServerScript('web1')).then(() => undefined));
  const text = TEXT();
  const detect: number[] = [];
  const recover: number[] = [];
  let failedInWindow = 0;
  for (let round = 0; round < 3; round++) {
    const load = await traffic([dr]);
    detect.push(...(await changeAndWait([['web1', { health: 'break', port: 80 }, [hasWeight(dr, 'web1', 0), recorded(dr, 'web1', 'down')]]])));
    failedInWindow += [...(await load.stop()).values()][0].failed;
    if (round === 0) {
      // Shielded: only web2 answers, and plan says so as health, not as a change.
      t.deepEqual([...(await requests(dr, 4))], [[page(dr, 'web2'), 4]]);
      const plan = await session.lvsc(['plan'], file('checked.lvs', text));
      t.is(plan.code, 0, plan.stdout + plan.stderr);
      t.regex(plan.stdout, new RegExp(`${rip('web1')}:80 → tcp ${dr.vip}:80 +down \\(check failing since `));
    }
    recover.push(...(await changeAndWait([['web1', { health: 'mend', port: 80 }, [hasWeight(dr, 'web1', 1), recorded(dr, 'web1', 'up')]]])));
  }
  t.log(`declared: every ${EVERY_S} s, timeout 1.5 s, 1 retry (down about ${EVERY_S * 1.5} s after a failure); detection (health URL broken → weight 0) ${detect.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s, median ${(median(detect) / 1000).toFixed(1)} s; recovery ${recover.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`);
  t.log(`requests failed while web1 was failing its check: ${failedInWindow} (its page still answered: a health URL failure)`);
  t.is(failedInWindow, 0);
  t.deepEqual(keyed(await liveTable()), plainTable(desiredTable(text)));
});

test.serial('TCP check with the web server stopped, DNS check against dnsmasq, exec check with the operator\'s program: each server to weight 0 and back', async (t) => {
  t.timeout(10 * 60_000);
  // A failed assertion ends the test: the daemons it stopped are started again whatever happened.
  t.teardown(() => shOn(['web3', 'web4', 'remote1'].map((s) => [s, restoreServerScript(s)] as const)).then(() => undefined));
  const text = TEXT();
  const down = await changeAndWait([
    ['web4', { web: 'stop', port: 8080 }, [hasWeight(nat, 'web4', 0), recorded(nat, 'web4', 'down')]],
    ['web3', { dns: 'stop' }, [hasWeight(nat, 'web3', 0), recorded(nat, 'web3', 'down')]],
    ['remote1', { health: 'break', port: 80 }, [hasWeight(tun, 'remote1', 0), recorded(tun, 'remote1', 'down')]],
  ]);
  t.log(`to weight 0: web4 (TCP, web server stopped) ${(down[0] / 1000).toFixed(1)} s, web3 (DNS, dnsmasq stopped) ${(down[1] / 1000).toFixed(1)} s, remote1 (exec) ${(down[2] / 1000).toFixed(1)} s`);
  const plan = await session.lvsc(['plan', '--json'], file('checked.lvs', text));
  t.is(plan.code, 0, plan.stdout + plan.stderr);
  const shielded = (JSON.parse(plan.stdout).hosts.find((h: { host: string }) => h.host === 'lb1').health as { key: string }[]).map((h) => h.key);
  for (const key of [`${rip('web4')}:8080 → tcp ${nat.vip}:80`, `${rip('web3')}:8080 → tcp ${nat.vip}:80`, `${rip('remote1')}:80 → tcp ${tun.vip}:80`]) t.true(shielded.includes(key), `${key} in ${shielded.join(', ')}`);
  const up = await changeAndWait([
    ['web4', { web: 'start', port: 8080 }, [hasWeight(nat, 'web4', 1), recorded(nat, 'web4', 'up')]],
    ['web3', { dns: 'start' }, [hasWeight(nat, 'web3', 2), recorded(nat, 'web3', 'up')]],
    ['remote1', { health: 'mend', port: 80 }, [hasWeight(tun, 'remote1', 1), recorded(tun, 'remote1', 'up')]],
  ]);
  t.log(`back: web4 ${(up[0] / 1000).toFixed(1)} s, web3 ${(up[1] / 1000).toFixed(1)} s, remote1 ${(up[2] / 1000).toFixed(1)} s`);
  t.deepEqual(keyed(await liveTable()), plainTable(desiredTable(text)));
});

test.serial('drift: a healthy server\'s weight edited by hand is exit 2 and reverted; a checked server deleted by hand, which a reload does not bring back, is put back by apply', async (t) => {
  t.timeout(10 * 60_000);
  const text = TEXT();
  const path = file('checked.lvs', text);
  await sh('lb1', `ipvsadm -e -t ${dr.vip}:80 -r ${rip('web1')}:80 -g -w 5`);
  const plan = await session.lvsc(['plan', '--json'], path);
  t.is(plan.code, 2, plan.stdout + plan.stderr);
  t.deepEqual(steps(JSON.parse(plan.stdout)), [`lb1: update ipvs-destination ${rip('web1')}:80 → tcp ${dr.vip}:80`]);
  const reverted = await apply(path);
  t.is(reverted.code, 0, reverted.stdout + reverted.stderr);
  t.true((await sh('lb1', 'ipvsadm -Sn')).includes(line(text, dr, 'web1')));

  // web2 deleted by hand; keepalived still believes in it. A reload (with web1's weight changed
  // by hand in keepalived.conf, to see when keepalived has reloaded) does not add it again.
  await sh('lb1', `ipvsadm -d -t ${dr.vip}:80 -r ${rip('web2')}:80`);
  const conf = await sh('lb1', `cat ${KEEPALIVED_CONF}`);
  const web1Block = `  real_server ${rip('web1')} 80 {\n    weight 1\n`;
  t.true(conf.includes(web1Block));
  await putFiles('lb1', new Map([[KEEPALIVED_CONF, conf.replace(web1Block, web1Block.replace('weight 1', 'weight 2'))]]));
  await reloadKeepalived((await runningKeepalived('lb1'))!);
  await waitFor('lb1', [hasWeight(dr, 'web1', 2)], ROUND);
  t.false((await sh('lb1', 'ipvsadm -Sn')).includes(lineStart(dr, 'web2')), 'keepalived did not put web2 back on reload');
  const lost = await session.lvsc(['plan', '--json'], path);
  t.is(lost.code, 2, lost.stdout + lost.stderr);
  t.deepEqual(steps(JSON.parse(lost.stdout)).sort(), [`lb1: create ipvs-destination ${rip('web2')}:80 → tcp ${dr.vip}:80`, `lb1: update file ${KEEPALIVED_CONF}`].sort());
  const restored = await apply(path);
  t.is(restored.code, 0, restored.stdout + restored.stderr);
  await waitFor('lb1', [hasWeight(dr, 'web1', 1), hasWeight(dr, 'web2', 1)], ROUND);
  t.deepEqual(keyed(await liveTable()), plainTable(desiredTable(text)));
  const again = await session.lvsc(['plan'], path);
  t.is(again.code, 0, again.stdout + again.stderr);
});

test.serial('file changes under continuous traffic while keepalived runs (a weight, a drained removal, a new server): no request fails', async (t) => {
  t.timeout(10 * 60_000);
  const text = TEXT();
  const changed = text.replace(/^( {2}server web1)$/m, '$1 weight 2').replace(/^ {2}server web4 port 8080 weight 1 check tcp.*\n/m, '');
  t.not(changed, text);
  const load = await traffic([dr, nat]);
  let drained = '';
  const first = await session.lvsc(['apply', '--yes', '--drain', '3s', '--json'], file('changed.lvs', changed), {
    onStderr: (s) => (drained += s),
  });
  t.is(first.code, 0, first.stdout + first.stderr);
  const planned = steps(JSON.parse(first.stdout).plan);
  t.true(planned.includes(`lb1: delete ipvs-destination ${rip('web4')}:8080 → tcp ${nat.vip}:80`), planned.join('\n'));
  // web1's new weight reaches the table through keepalived.conf (reloaded), not lvsc's ipvsadm.
  t.true(planned.includes(`lb1: update file ${KEEPALIVED_CONF}`), planned.join('\n'));
  t.false(planned.includes(`lb1: update ipvs-destination ${rip('web1')}:80 → tcp ${dr.vip}:80`), planned.join('\n'));
  t.false((await sh('lb1', 'ipvsadm -Sn')).includes(lineStart(nat, 'web4')), 'web4 left after its drain');
  await waitFor('lb1', [hasWeight(dr, 'web1', 2)], ROUND);
  // web4 back: a new server, which keepalived adds once its first check passes.
  const second = await apply(file('checked.lvs', text));
  t.is(second.code, 0, second.stdout + second.stderr);
  await waitFor('lb1', [hasWeight(nat, 'web4', 1), hasWeight(dr, 'web1', 1)], ROUND);
  const counts = await load.stop();
  t.log(`requests during the two applies: ${[...counts].map(([vip, c]) => `${vip} ${c.ok} answered, ${c.failed} failed`).join('; ')}`);
  for (const [vip, c] of counts) {
    t.is(c.failed, 0, vip);
    t.true(c.ok > 0, vip);
  }
  t.regex(drained, /drain/i, 'apply showed the drain');
  t.deepEqual(keyed(await liveTable()), plainTable(desiredTable(text)));
});

test.serial('sorry server: while no server passes its check the sorry server answers; the first server to pass again takes over', async (t) => {
  t.timeout(10 * 60_000);
  t.teardown(() => sh('web3', restoreServerScript('web3')).then(() => undefined));
  const text = TEXT().replace(/^ {2}server web4 port 8080 weight 1 check tcp.*\n/m, '  sorry web4 port 8080\n');
  const r = await apply(file('sorry.lvs', text));
  t.is(r.code, 0, r.stdout + r.stderr);
  await waitFor('lb1', [isGone(nat, 'web4')], ROUND);
  t.deepEqual([...(await requests(nat, 2))], [[page(nat, 'web3'), 2]]);
  const [toSorry] = await changeAndWait([['web3', { dns: 'stop' }, [hasWeight(nat, 'web3', 0), hasWeight(nat, 'web4', 1)]]]);
  t.deepEqual([...(await requests(nat, 2))], [[page(nat, 'web4'), 2]], 'the sorry server answers');
  const shielded = await session.lvsc(['plan'], file('sorry.lvs', text));
  t.is(shielded.code, 0, shielded.stdout + shielded.stderr);
  const [back] = await changeAndWait([['web3', { dns: 'start' }, [hasWeight(nat, 'web3', 2), isGone(nat, 'web4')]]]);
  t.deepEqual([...(await requests(nat, 2))], [[page(nat, 'web3'), 2]], 'web3 took over again');
  t.log(`to the sorry server ${(toSorry / 1000).toFixed(1)} s after web3's DNS server stopped; back to web3 ${(back / 1000).toFixed(1)} s after it started`);
  // Back to the file without the sorry server (web4 a checked server again).
  const restored = await apply(file('checked.lvs', TEXT()));
  t.is(restored.code, 0, restored.stdout + restored.stderr);
  await waitFor('lb1', [hasWeight(nat, 'web4', 1)], ROUND);
});

test.serial('a keepalived.conf keepalived -t refuses (every server of a checked service at weight 0) fails lb1 with keepalived\'s message; the running config, keepalived and the table are untouched', async (t) => {
  t.timeout(10 * 60_000);
  const conf = await sh('lb1', `cat ${KEEPALIVED_CONF}`);
  const table = await liveTable();
  const before = await runningKeepalived('lb1');
  const zero = TEXT().replace(/^( {2}server web[12])$/gm, '$1 weight 0');
  const r = await apply(file('zero.lvs', zero));
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout + r.stderr, /keepalived refused the new configuration on lb1 \(keepalived -t, exit \d+\); \/etc\/keepalived\/keepalived\.conf is unchanged: .*quorum 1 for \[10\.20\.0\.100\]:tcp:80 exceeds total weight/s);
  t.is(await sh('lb1', `cat ${KEEPALIVED_CONF}; ls ${KEEPALIVED_CONF}.lvsc-new 2>/dev/null || true`), conf);
  t.deepEqual(keyed(await liveTable()), keyed(table));
  t.deepEqual(await runningKeepalived('lb1'), before);
});

test.serial('no checked service left: apply stops keepalived (its entries stay) and lvsc\'s ipvsadm takes them over, with no request failing', async (t) => {
  t.timeout(10 * 60_000);
  const load = await traffic([dr, nat, tun]);
  const r = await apply(session.lab.clusterFile);
  const counts = await load.stop();
  t.is(r.code, 0, r.stdout + r.stderr);
  t.is(await runningKeepalived('lb1'), undefined);
  t.is((await sh('lb1', `ls ${KEEPALIVED_CONF} 2>/dev/null || true`)).trim(), '');
  t.log(`requests during the handover: ${[...counts].map(([vip, c]) => `${vip} ${c.ok} answered, ${c.failed} failed`).join('; ')}`);
  for (const [vip, c] of counts) t.is(c.failed, 0, vip);
  t.deepEqual(keyed(await liveTable()), plainTable(desiredTable(session.clusterText)));
  const plan = await session.lvsc(['plan'], session.lab.clusterFile);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
});
