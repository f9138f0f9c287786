/**
 * End to end in the lab VM (lab/README.md): lvsc alone configures the lab's
 * hosts (`lvsc plan` and `lvsc apply` over SSH through the jump host, run
 * in-process through `main`), then real requests from the client host go
 * through each VIP. Checks what the cluster file promises: every server of the
 * DR, NAT and TUN services answers; DR and TUN replies bypass the director
 * while NAT's pass through it; the director's IPVS table is the compiled one;
 * a hand-made change shows as one step and is reverted; a weight change in the
 * file is applied and shifts the wrr proportions.
 *
 * The session (support.ts) takes the lab's hosts in turn with the smoke test
 * (`labExclusive`), boots or reuses the lab as it does, and leaves the lab as
 * it found it: the services are removed with lvsc (the cluster file without
 * its services), the NAT servers' default routes put back, the modules it
 * loaded unloaded, and a lab this file booted stopped. Run with
 * `npm run test:e2e` (the second half of `npm test`).
 */
import anyTest, { type TestFn } from 'ava';
import { sh } from '../../lab/remote.js';
import { SERVICES, addressOf, labHost, type LabService } from '../../lab/topology.js';
import { defaultGateway, desiredTable, keyed, labSession, liveTable, page, proportional, requests, rip, sorted, steps } from './support.js';

const test = anyTest as TestFn;

const session = labSession(test);

/** The director's address on the servers' segment: the NAT servers' gateway once lvsc has applied. */
const DIP = addressOf(labHost('lb1')!.interfaces.find((i) => i.segment === 'servers')!.cidr);

/** In and out packets of a service, once the kernel's estimator has caught up (it refreshes about every 2 s). */
async function packets(service: LabService): Promise<{ inPkts: number; outPkts: number }> {
  const out = await sh('lb1', `sleep 3; ipvsadm -Ln --stats --exact -t ${service.vip}:${service.port}`);
  const row = out.split('\n').find((l) => l.startsWith('TCP '));
  if (!row) throw new Error(`no service row in:\n${out}`);
  const [, , , inPkts, outPkts] = row.trim().split(/\s+/);
  return { inPkts: Number(inPkts), outPkts: Number(outPkts) };
}

test.serial('apply configures the lab; a second plan has no changes and the director\'s table is the compiled one', async (t) => {
  t.timeout(10 * 60_000);
  session.applied = true;
  const apply = await session.lvsc(['apply', '--yes'], session.lab.clusterFile);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  t.regex(apply.stdout, /verified: the applied hosts match the cluster/);

  const plan = await session.lvsc(['plan'], session.lab.clusterFile);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
  t.deepEqual(keyed(await liveTable()), keyed(desiredTable(session.clusterText)));
});

test.serial('DR: both servers answer through the VIP in turn (rr), and replies bypass the director', async (t) => {
  t.timeout(5 * 60_000);
  const dr = SERVICES.dr;
  t.deepEqual(sorted(await requests(dr, 6)), sorted(proportional(dr, desiredTable(session.clusterText), 6)));
  const p = await packets(dr);
  t.true(p.inPkts > 0, `the director saw the requests (${p.inPkts} packets in)`);
  t.is(p.outPkts, 0, 'DR replies go from the servers to the client, not through the director');
});

test.serial('NAT: the servers answer on 8080 in the declared weights (wrr), through the director, their default route', async (t) => {
  t.timeout(5 * 60_000);
  const nat = SERVICES.nat;
  for (const s of nat.servers) t.is(await defaultGateway(s), DIP, `${s}'s default route is via the director`);
  t.deepEqual(sorted(await requests(nat, 6)), sorted(proportional(nat, desiredTable(session.clusterText), 6)));
  const p = await packets(nat);
  t.true(p.inPkts > 0 && p.outPkts > 0, `NAT replies pass back through the director (${p.inPkts} in, ${p.outPkts} out)`);
});

test.serial('TUN: both remote servers answer through the VIP, and replies bypass the director', async (t) => {
  t.timeout(5 * 60_000);
  const tun = SERVICES.tun;
  const counts = await requests(tun, 6);
  // lc: the split depends on the connections the director still counts; every answer must be a server's page.
  t.deepEqual([...counts.keys()].sort(), tun.servers.map((s) => page(tun, s)).sort(), JSON.stringify(sorted(counts)));
  t.is([...counts.values()].reduce((a, b) => a + b, 0), 6);
  for (const s of tun.servers) t.true(counts.get(page(tun, s))! >= 2, `${s} answered ${counts.get(page(tun, s))} of 6 (lc spreads sequential requests)`);
  const p = await packets(tun);
  t.true(p.inPkts > 0, `the director tunnelled the requests (${p.inPkts} packets in)`);
  t.is(p.outPkts, 0, 'TUN replies go from the remote site to the client, not through the director');
});

test.serial('drift: a weight changed by hand with ipvsadm -e is one step of plan (exit 2), and apply reverts it', async (t) => {
  t.timeout(10 * 60_000);
  const dr = SERVICES.dr;
  await sh('lb1', `ipvsadm -e -t ${dr.vip}:${dr.port} -r ${rip('web1')}:${dr.serverPort} -g -w 5`);

  const plan = await session.lvsc(['plan', '--json'], session.lab.clusterFile);
  t.is(plan.code, 2, plan.stdout + plan.stderr);
  t.deepEqual(steps(JSON.parse(plan.stdout)), [`lb1: update ipvs-destination ${rip('web1')}:${dr.serverPort} → tcp ${dr.vip}:${dr.port}`]);

  const apply = await session.lvsc(['apply', '--yes'], session.lab.clusterFile);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  t.regex(apply.stdout, /Apply complete: 1 step\(s\) ran/);
  const again = await session.lvsc(['plan'], session.lab.clusterFile);
  t.is(again.code, 0, again.stdout + again.stderr);
  t.deepEqual(keyed(await liveTable()), keyed(desiredTable(session.clusterText)));
});

test.serial('a weight changed in the file: one kernel step and the rules file, the table follows, and wrr splits requests in the new proportion', async (t) => {
  t.timeout(10 * 60_000);
  const nat = SERVICES.nat;
  const declared = /^(\s*server web3 port 8080) weight 2$/m;
  t.regex(session.clusterText, declared);
  const text = session.clusterText.replace(declared, '$1 weight 3');
  const file = session.writeCluster('weight-3.lvs', text);

  const apply = await session.lvsc(['apply', '--yes', '--json'], file);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  const result = JSON.parse(apply.stdout) as { plan: Parameters<typeof steps>[0]; verified: boolean };
  // The destination in the kernel, and the rules file rendered from the table.
  t.deepEqual(steps(result.plan).sort(), ['lb1: update file /etc/ipvsadm.rules', `lb1: update ipvs-destination ${rip('web3')}:${nat.serverPort} → tcp ${nat.vip}:${nat.port}`]);
  t.true(result.verified);
  t.deepEqual(keyed(await liveTable()), keyed(desiredTable(text)));

  const plan = await session.lvsc(['plan'], file);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
  // 3:1 over two cycles: 6 and 2.
  t.deepEqual(sorted(await requests(nat, 8)), sorted(proportional(nat, desiredTable(text), 8)));
});
