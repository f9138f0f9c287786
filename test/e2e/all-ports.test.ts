/**
 * End to end in the lab VM: IPVS's every-port service (`vip ADDR tcp 0` with
 * `persistence`, `ipvsadm -A -t VIP:0 -p`), by DR and by NAT. lvsc applies it,
 * the kernel's table reads back through `ipvsadm -Sn` (`:0` on the service and
 * its destinations) as compiled, a plan afterwards finds nothing to do, and
 * requests from the client to two ports of each VIP reach a server on the port
 * they asked for (the lab's web servers answer on 80 and 8080 with their name
 * and port), one server per client while persistence holds.
 *
 * Run with `npx ava --config ava.e2e.config.js test/e2e/all-ports.test.ts`
 * (under `flock /work/wt/lab.lock` on a shared machine).
 */
import anyTest, { type TestFn } from 'ava';
import { sh } from '../../lab/remote.js';
import { SERVICES } from '../../lab/topology.js';
import { desiredTable, keyed, labSession, liveTable } from './support.js';

const test = anyTest as TestFn;
const session = labSession(test);

/** VIPs of the lab's DR and NAT segments that its own services leave free. */
const DR_ALL = '10.20.0.101';
const NAT_ALL = '10.10.0.101';

const allPorts = (name: string, vip: string, method: 'dr' | 'nat', servers: readonly string[]) =>
  [`service ${name} {`, `  vip ${vip} tcp 0`, '  scheduler rr', '  persistence 120s', `  forward ${method}`, ...servers.map((s) => `  server ${s}`), '}', ''].join('\n');

/** The pages `n` requests from the client to `vip:port` get back: page → count. */
async function pages(vip: string, port: number, n: number): Promise<Map<string, number>> {
  const out = await sh('client', `for i in $(seq ${n}); do curl -s --max-time 5 http://${vip}:${port}/ || echo "request $i failed"; done`);
  const counts = new Map<string, number>();
  for (const line of out.trim().split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

test.serial('an every-port service by DR and by NAT is applied, reads back as compiled, and answers on every port from one server', async (t) => {
  t.timeout(15 * 60_000);
  const text = session.clusterText + '\n' + allPorts('every-dr', DR_ALL, 'dr', SERVICES.dr.servers) + '\n' + allPorts('every-nat', NAT_ALL, 'nat', SERVICES.nat.servers);
  const file = session.writeCluster('all-ports.lvs', text);
  const validate = await session.lvsc(['validate'], file);
  t.is(validate.code, 0, validate.stdout + validate.stderr);

  session.applied = true;
  const apply = await session.lvsc(['apply', '--yes'], file);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  t.regex(apply.stdout, /verified: the applied hosts match the cluster/);

  // The kernel's own listing: port 0 on the service and on every destination.
  const save = await sh('lb1', 'ipvsadm -Sn');
  t.regex(save, new RegExp(`^-A -t ${DR_ALL}:0 -s rr -p 120$`, 'm'));
  for (const s of SERVICES.dr.servers) t.regex(save, new RegExp(`^-a -t ${DR_ALL}:0 -r [0-9.]+:0 -g -w 1$`, 'm'), s);
  t.regex(save, new RegExp(`^-a -t ${NAT_ALL}:0 -r [0-9.]+:0 -m -w 1$`, 'm'));
  t.deepEqual(keyed(await liveTable()), keyed(desiredTable(text)));

  const plan = await session.lvsc(['plan'], file);
  t.is(plan.code, 0, plan.stdout + plan.stderr);

  // Each connection keeps the port it asked for; persistence keeps the client on one server across ports.
  for (const [vip, servers] of [
    [DR_ALL, SERVICES.dr.servers],
    [NAT_ALL, SERVICES.nat.servers],
  ] as const) {
    const on80 = await pages(vip, 80, 4);
    const on8080 = await pages(vip, 8080, 4);
    t.is(on80.size, 1, `${vip}:80 ${JSON.stringify([...on80])}`);
    const server = [...on80.keys()][0].split(' ')[0];
    t.true(servers.includes(server), `${vip}:80 answered by ${server}`);
    t.deepEqual([...on80], [[`${server} port 80`, 4]]);
    t.deepEqual([...on8080], [[`${server} port 8080`, 4]], `${vip}:8080 reaches the same server on 8080`);
  }
});
