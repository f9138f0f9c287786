/**
 * End to end in the lab VM, beyond lab-e2e.test.ts: lvsc alone configures the
 * lab (plan and apply in-process through `main`), then the kernel's table and
 * real requests from the client show that
 *
 * - every scheduler the booted kernel has (and sh's and mh's flags) is applied
 *   and reads back as compiled, in one apply of a cluster with a NAT service
 *   per scheduler on the NAT VIP's other ports;
 * - rr and wrr split requests in the declared proportions, sh and mh keep the
 *   client on one server, and persistence does where rr alone alternates;
 * - only the director answers ARP for the DR VIP on the servers' segment, and
 *   the DR servers hold the VIP on lo with lvsc's label and the ARP sysctls;
 * - after a reboot (runtime state lost by hand, then restored from the files
 *   lvsc rendered, as a boot would) the hosts match the cluster again: the
 *   table, the timeouts and the marks of a firewall-mark service included;
 * - changes in place under continuous traffic lose no request: a weight change
 *   and a drained removal (weight 0 while draining, the held connection
 *   counted), then a server addition and a scheduler change.
 *
 * One file, so that the lab is applied from scratch and cleaned up once (each
 * costs a minute under TCG): the tests run in order, each building on the
 * hosts the previous one left. The session (support.ts) takes the lab in turn
 * and puts it back as it found it. Run with `npm run test:e2e`.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { IpvsService } from '../../compiler/state.js';
import { SCHEDULERS, SCHEDULER_FLAGS } from '../../compiler/lvs.js';
import { sh, shOn, sysctlWrite } from '../../lab/remote.js';
import { SERVICES, addressOf, labHost, type LabService } from '../../lab/topology.js';
import {
  arping,
  arpRepliers,
  bootFromEtc,
  connections,
  holdConnections,
  linkAddress,
  loseRuntimeState,
  releaseConnections,
  startTraffic,
  stopTraffic,
  type TrafficResult,
  type TrafficTarget,
} from './guest.js';
import { compiled, desiredTable, keyed, labSession, liveTable, page, proportional, requests, rip, sorted, steps, type Run } from './support.js';

const test = anyTest as TestFn;
const session = labSession(test);

const { dr: DR, nat: NAT, tun: TUN } = SERVICES;

/** The 13 schedulers Debian 12's 6.1 kernel carries: all of lvsc's but twos (ip_vs_twos came with Linux 6.7). */
const DEBIAN_12_SCHEDULERS = SCHEDULERS.filter((s) => s !== 'twos');

/** The persistence timeout of the `sticky` service (rr with persistence). */
const STICKY_SECONDS = 60;

/** A NAT service of the scheduler variant: the NAT VIP on another port, to the NAT servers' 8080. */
interface SchedService extends LabService {
  readonly name: string;
  readonly scheduler: string;
  readonly flags: readonly string[];
  readonly weights?: readonly number[];
  readonly persistence?: string;
}

function natService(name: string, port: number, scheduler: string, more: Partial<SchedService> = {}): SchedService {
  return { method: 'nat', vip: NAT.vip, port, serverPort: NAT.serverPort, servers: NAT.servers, name, scheduler, flags: [], ...more };
}

/** One service per scheduler (port 8001 + its place in SCHEDULERS), one per flagged scheduler with all its flags (8050...), and rr with persistence (8060). */
function schedServices(schedulers: readonly string[]): SchedService[] {
  const out = schedulers.map((s) => natService(`sched-${s}`, 8001 + SCHEDULERS.indexOf(s as (typeof SCHEDULERS)[number]), s, s === 'wrr' ? { weights: [1, 4] } : {}));
  Object.entries(SCHEDULER_FLAGS)
    .filter(([s]) => schedulers.includes(s))
    .forEach(([s, flags], i) => out.push(natService(`sched-${s}-flags`, 8050 + i, s, { flags })));
  out.push(natService('sticky', 8060, 'rr', { persistence: `${STICKY_SECONDS}s netmask 255.255.255.0` }));
  return out;
}

function serviceText(s: SchedService): string {
  return [
    `service ${s.name} {`,
    `  vip ${s.vip} tcp ${s.port}`,
    `  scheduler ${s.scheduler}${s.flags.length ? ` flags ${s.flags.join(' ')}` : ''}`,
    ...(s.persistence ? [`  persistence ${s.persistence}`] : []),
    `  forward ${s.method}`,
    ...s.servers.map((server, i) => `  server ${server} port ${s.serverPort}${s.weights ? ` weight ${s.weights[i]}` : ''}`),
    '}',
    '',
  ].join('\n');
}

/** IPVS timeouts the cluster sets (tcp tcpfin udp, seconds): none is the kernel's default, so a reboot that loses them shows. */
const TIMEOUTS = [600, 30, 120] as const;

/**
 * A firewall-mark DR service beside the lab's: the DR VIP's port 8080, marked by
 * lvsc's nftables table, to the DR servers' 8080. Only the marks make it answer.
 */
const MARK = { mark: 20, port: 8080 } as const;
const fwmarkText = [
  `timeouts { tcp ${TIMEOUTS[0]}s  tcpfin ${TIMEOUTS[1]}s  udp ${TIMEOUTS[2]}s }`,
  '',
  'service marked {',
  `  fwmark ${MARK.mark} {`,
  `    match tcp ${DR.vip} ports ${MARK.port}`,
  '  }',
  '  scheduler rr',
  '  forward dr',
  ...DR.servers.map((server) => `  server ${server}`),
  '}',
  '',
].join('\n');

/** Through the marked port: each answer one of the DR servers' 8080 pages, or `failed`. */
async function markedAnswers(n: number): Promise<string[]> {
  return (await sh('client', `for i in $(seq ${n}); do curl -s --max-time 5 http://${DR.vip}:${MARK.port}/ || echo failed; done`)).trim().split('\n');
}
const markedPages = DR.servers.map((server) => `${server} port ${MARK.port}`);

/** Filled in by the first test: the schedulers variant and its services. */
let services: SchedService[] = [];
let schedText = '';
let schedFile = '';
const byName = (name: string) => services.find((s) => s.name === name)!;

/** `text` with `from` replaced once by `to`; throws when `from` is not there (the lab's file changed shape). */
function edit(text: string, from: RegExp, to: string): string {
  if (!from.test(text)) throw new Error(`bug: ${from} is not in the cluster text`);
  return text.replace(from, to);
}

/** Writes a cluster variant and checks that `lvsc validate` accepts it. */
async function variant(name: string, text: string): Promise<string> {
  const file = session.writeCluster(name, text);
  const r = await session.lvsc(['validate'], file);
  if (r.code !== 0) throw new Error(`lvsc validate ${name} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return file;
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** The three lab VIPs, each answered by its own servers, for the traffic loop. */
function trafficTargets(): TrafficTarget[] {
  return [DR, NAT, TUN].map((s) => ({ url: `http://${s.vip}:${s.port}/`, pages: s.servers.map((server) => page(s, server)) }));
}

function logTraffic(t: ExecutionContext, what: string, r: TrafficResult): void {
  const answers = [...r.answers].map(([url, pages]) => `${url} ${sorted(pages).map(([p, n]) => `${p.split(' ')[0]}×${n}`).join(' ')}`);
  t.log(`${what}: ${r.requests} requests, ${r.failed.length} failed (${answers.join('; ')})`);
}

/** Asserts the apply succeeded, that `lvsc plan` now exits 0, and that the director's table is the one compiled from `text`; returns that table. */
async function assertApplied(t: ExecutionContext, apply: Run, file: string, text: string): Promise<IpvsService[]> {
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  const plan = await session.lvsc(['plan'], file);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
  const live = await liveTable();
  t.deepEqual(keyed(live), keyed(desiredTable(text)));
  return live;
}

/** The ipvs steps of apply --json's plan: what the kernel's table was told to do (no service deleted and made again). */
function ipvsSteps(apply: Run): string[] {
  return steps(JSON.parse(apply.stdout).plan)
    .filter((s) => / ipvs-/.test(s))
    .sort();
}

test.serial('every scheduler the kernel has, and the sh and mh flags, is applied in one go and reads back as compiled', async (t) => {
  t.timeout(10 * 60_000);
  const names = SCHEDULERS.join(' ');
  const has = (await sh('lb1', `for s in ${names}; do if modinfo -n ip_vs_$s >/dev/null 2>&1; then echo $s; fi; done`)).trim().split('\n').filter(Boolean);
  const lacking = SCHEDULERS.filter((s) => !has.includes(s));
  for (const s of lacking) t.log(`skipped scheduler ${s}: kernel ${session.lab.kernel} has no ip_vs_${s} module (modinfo -n ip_vs_${s} finds none)`);
  if (/^6\.1\./.test(session.lab.kernel)) t.deepEqual(DEBIAN_12_SCHEDULERS.filter((s) => !has.includes(s)), [], `Debian 12's ${session.lab.kernel} carries all of ${DEBIAN_12_SCHEDULERS.join(' ')}`);

  services = schedServices(has);
  schedText = session.clusterText + '\n' + fwmarkText + '\n' + services.map(serviceText).join('\n');
  schedFile = await variant('schedulers.lvs', schedText);
  session.applied = true;
  const since = Date.now();
  const apply = await session.lvsc(['apply', '--yes'], schedFile);
  t.log(`apply of ${services.length + 3} services from scratch: ${seconds(since)}`);
  t.regex(apply.stdout, /verified: the applied hosts match the cluster/);
  const live = await assertApplied(t, apply, schedFile, schedText);
  t.deepEqual([...new Set(live.map((s) => s.scheduler))].sort(), [...has].sort(), 'each scheduler is some live service\'s');
  t.deepEqual(
    live.filter((s) => s.flags.length).map((s) => `${s.scheduler} ${s.flags.join(',')}`).sort(),
    Object.entries(SCHEDULER_FLAGS)
      .filter(([s]) => has.includes(s))
      .map(([s, f]) => `${s} ${[...f].sort().join(',')}`)
      .sort(),
    'sh and mh with their flags',
  );
});

test.serial('rr and wrr split requests in the declared proportions', async (t) => {
  t.timeout(5 * 60_000);
  const table = desiredTable(schedText);
  for (const [name, n] of [['sched-rr', 6], ['sched-wrr', 10]] as const) {
    const s = byName(name);
    t.deepEqual(sorted(await requests(s, n)), sorted(proportional(s, table, n)), name);
  }
});

test.serial('sh and mh send every request of one client to one server', async (t) => {
  t.timeout(5 * 60_000);
  for (const name of ['sched-sh', 'sched-mh']) {
    const s = byName(name);
    const counts = await requests(s, 8);
    t.is(counts.size, 1, `${name}: ${JSON.stringify(sorted(counts))}`);
    t.true(s.servers.some((server) => counts.get(page(s, server)) === 8), `${name}: every answer is one server's page`);
  }
});

test.serial('persistence keeps the client on one server for its timeout, where rr without it alternates', async (t) => {
  t.timeout(5 * 60_000);
  const sticky = byName('sticky');
  const counts = await requests(sticky, 8);
  t.is(counts.size, 1, JSON.stringify(sorted(counts)));
  const server = sticky.servers.find((s) => counts.get(page(sticky, s)) === 8);
  t.truthy(server, `every answer is one server's page: ${JSON.stringify(sorted(counts))}`);
  // The template the kernel keeps: the client's /24 (the netmask) to that server, for at most the timeout.
  const client = addressOf(labHost('client')!.interfaces[0].cidr).replace(/\.\d+$/, '.0');
  const templates = (await connections()).filter((c) => c.virtual === `${sticky.vip}:${sticky.port}` && c.source === `${client}:0`);
  t.is(templates.length, 1, JSON.stringify(templates));
  t.is(templates[0]?.destination, `${rip(server!)}:${sticky.serverPort}`);
  t.true(templates[0]?.expires > 0 && templates[0]?.expires <= STICKY_SECONDS, `the template expires in ${templates[0]?.expires} s, within the ${STICKY_SECONDS} s declared`);

  const rr = byName('sched-rr');
  t.deepEqual(sorted(await requests(rr, 4)), sorted(proportional(rr, desiredTable(schedText), 4)), 'the same servers by rr without persistence');
});

test.serial('DR: only the director answers ARP for the VIP on the servers\' segment; the servers hold it on lo, labelled, with the ARP sysctls', async (t) => {
  t.timeout(5 * 60_000);
  const segmentDev = (host: string) => labHost(host)!.interfaces.find((i) => i.segment === 'servers')!.dev;
  const arpKeys = (dev: string) => ['all', 'lo', dev].flatMap((d) => [`net.ipv4.conf.${d}.arp_ignore`, `net.ipv4.conf.${d}.arp_announce`]);
  // One session: the director's MAC, the router's probe, each server's lo and ARP sysctls.
  const [director, replies, ...servers] = await shOn([
    ['lb1', `ip -j link show dev ${segmentDev('lb1')}`],
    ['router', arping(segmentDev('router'), DR.vip)],
    ...DR.servers.map((s) => [s, `ip -j addr show dev lo; ip -j link show dev ${segmentDev(s)}; sysctl -n ${arpKeys(segmentDev(s)).join(' ')}`] as const),
  ]);
  const lb1Mac = linkAddress(director);
  t.deepEqual([...arpRepliers(replies)], [lb1Mac], `only lb1's ${segmentDev('lb1')} (${lb1Mac}) replies:\n${replies}`);

  const macs = new Map<string, string>();
  const arpValues = new Map<string, Map<string, string>>();
  DR.servers.forEach((server, i) => {
    const [loJson, linkJson, ...values] = servers[i].trim().split('\n');
    const [lo] = JSON.parse(loJson) as { addr_info: { local: string; prefixlen: number; label?: string }[] }[];
    t.deepEqual(
      lo.addr_info.filter((a) => a.local === DR.vip).map((a) => `${a.local}/${a.prefixlen} ${a.label}`),
      [`${DR.vip}/32 lo:lvs`],
      `${server} holds the VIP on lo with lvsc's label`,
    );
    macs.set(server, linkAddress(linkJson));
    const keys = arpKeys(segmentDev(server));
    arpValues.set(server, new Map(keys.map((k, j) => [k, values[j]])));
    t.deepEqual(
      keys.map((k, j) => `${k}=${values[j]}`),
      keys.map((k) => `${k}=${k.endsWith('arp_ignore') ? 1 : 2}`),
      `${server} neither answers ARP for the VIP nor announces it`,
    );
  });

  // The probe sees a real server's reply when there is one: web1 with arp_ignore 0 answers too (then put back).
  const web1 = DR.servers[0];
  const ignore = [...arpValues.get(web1)!].filter(([k]) => k.endsWith('arp_ignore'));
  const [, control] = await shOn([
    [web1, sysctlWrite(new Map(ignore.map(([k]) => [k, 0])))],
    ['router', arping(segmentDev('router'), DR.vip)],
    [web1, sysctlWrite(new Map(ignore))],
  ]);
  t.true(arpRepliers(control).has(macs.get(web1)!), `${web1} with arp_ignore 0 replies, and the probe sees it:\n${control}`);
});

test.serial('the firewall-mark service answers through its marked port, and the timeouts are the declared ones', async (t) => {
  t.timeout(5 * 60_000);
  t.deepEqual((await markedAnswers(4)).filter((a) => !markedPages.includes(a)), [], 'every request through the marked port is answered by a DR server');
  t.deepEqual(await liveTimeouts(), [...TIMEOUTS]);
});

/** The director's `ipvsadm --set` timeouts, tcp tcpfin udp. */
async function liveTimeouts(): Promise<number[]> {
  const out = await sh('lb1', 'ipvsadm -Ln --timeout');
  const m = /^Timeout \(tcp tcpfin udp\): (\d+) (\d+) (\d+)$/m.exec(out);
  if (!m) throw new Error(`no timeouts in ipvsadm -Ln --timeout:\n${out}`);
  return m.slice(1).map(Number);
}

test.serial('after a reboot, what lvsc rendered into /etc brings every host back: the compiled table, the timeouts, the marks, and plan has no changes', async (t) => {
  t.timeout(10 * 60_000);
  const hosts = compiled(schedText).filter((h) => Object.keys(h.state.files).length);
  let since = Date.now();
  await loseRuntimeState(hosts);
  const lost = await sh('lb1', "grep -c '^ip_vs ' /proc/modules || true; ip -o -4 addr show | grep -c ':lvs' || true; nft list tables | grep -c 'inet lvsc' || true");
  t.deepEqual(lost.trim().split('\n'), ['0', '0', '0'], 'the director lost its IPVS modules, its VIPs and lvsc\'s nftables table');
  const ran = await bootFromEtc(hosts.map((h) => h.name));
  t.log(`lost and restored on ${hosts.length} hosts in ${seconds(since)}: ${[...ran].map(([h, c]) => `${h} ${c.length} commands`).join(', ')}`);
  t.log(`lb1's boot: ${ran.get('lb1')?.join(' | ')}`);
  t.true(ran.get('lb1')?.includes('ipvsadm -R < /etc/ipvsadm.rules'));

  t.deepEqual(keyed(await liveTable()), keyed(desiredTable(schedText)));
  t.deepEqual(await liveTimeouts(), [...TIMEOUTS], 'the timeouts came back (ipvsadm-save has none: the ipvsadm service\'s drop-in sets them)');
  t.deepEqual((await markedAnswers(4)).filter((a) => !markedPages.includes(a)), [], 'the marks came back: the marked port answers');
  since = Date.now();
  const plan = await session.lvsc(['plan'], schedFile);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
  t.log(`plan: ${seconds(since)}`);
  // And requests flow again: one through each lab VIP.
  const answers = (await sh('client', [DR, NAT, TUN].map((s) => `curl -s --max-time 5 http://${s.vip}:${s.port}/ || echo failed`).join('\n'))).trim().split('\n');
  t.deepEqual(
    [DR, NAT, TUN].map((s, i) => s.servers.some((server) => answers[i] === page(s, server))),
    [true, true, true],
    `each VIP answers with one of its servers' pages: ${answers.join(' | ')}`,
  );
});

/** The variant after the first change: web2 leaves the DR service, web3's NAT weight 2 → 3. */
function firstChange(text: string): string {
  const dr = edit(text, /^(service web-dr \{[\s\S]*?)^ {2}server web2\n/m, '$1');
  return edit(dr, /^(\s*server web3 port 8080) weight 2$/m, '$1 weight 3');
}

/** The variant after the second change: web2 back in the DR service, the TUN service from lc to wlc. */
function secondChange(text: string): string {
  const dr = edit(text, /^(service web-dr \{[\s\S]*?^ {2}server web1\n)/m, '$1  server web2\n');
  return edit(dr, /^(service web-tun \{[\s\S]*?^ {2}scheduler) lc$/m, '$1 wlc');
}

let changed = '';

test.serial('under traffic, a weight change and a drained removal lose no request; the drained server has weight 0 and its held connection is counted', async (t) => {
  t.timeout(10 * 60_000);
  changed = firstChange(schedText);
  const file = await variant('first-change.lvs', changed);
  const web2 = `${rip('web2')}:${DR.serverPort}`;
  // Two connections held open through the DR VIP before the traffic starts: rr gives one to each server.
  const held = await holdConnections(DR.vip, DR.port, 2, 180);
  try {
    t.true(
      (await connections()).some((c) => c.state === 'ESTABLISHED' && c.virtual === `${DR.vip}:${DR.port}` && c.destination === web2),
      'a held connection is web2\'s',
    );
    const targets = trafficTargets();
    const since = Date.now();
    const loop = await startTraffic(targets, 200);
    let during: Promise<IpvsService[] | Error> | undefined;
    let apply: Run;
    try {
      apply = await session.lvsc(['apply', '--yes', '--json', '--drain', '6s'], file, {
        // The table read once while the drain waits (6 s; a read takes about one).
        onStderr: (s) => {
          if (!during && /draining/.test(s)) during = liveTable().catch((e: Error) => e);
        },
      });
    } finally {
      const r = await stopTraffic(loop, targets);
      logTraffic(t, `weight change and drained removal (${seconds(since)})`, r);
      t.deepEqual(r.failed, [], 'no failed request');
    }
    await assertApplied(t, apply, file, changed);
    t.deepEqual(ipvsSteps(apply), [`lb1: delete ipvs-destination ${web2} → tcp ${DR.vip}:${DR.port}`, `lb1: update ipvs-destination ${rip('web3')}:${NAT.serverPort} → tcp ${NAT.vip}:${NAT.port}`]);

    const active = [...apply.stderr.matchAll(/lb1: draining, [\d.]+ s left, (\d+) active connection/g)].map((m) => Number(m[1]));
    t.log(`drain progress: ${active.length} lines, active connections ${active.join(', ')}`);
    t.true(Math.max(0, ...active) >= 1, `the drain shows the held connection: ${apply.stderr.split('\n').filter((l) => l.includes('drain')).join(' | ')}`);
    const table = await during;
    t.false(table === undefined || table instanceof Error, `the table was read while draining: ${String(table)}`);
    if (Array.isArray(table)) {
      const weight = table.find((s) => s.id.kind === 'addr' && s.id.address === DR.vip && s.id.port === DR.port)?.destinations.find((d) => d.address === rip('web2'))?.weight;
      t.is(weight, 0, 'web2 at weight 0 while it drains');
    }
    t.deepEqual(sorted(await requests(DR, 2)), [[page(DR, 'web1'), 2]], 'only web1 answers through the DR VIP now');
  } finally {
    await releaseConnections(held);
  }
});

test.serial('under traffic, a server addition and a scheduler change lose no request; the added server answers', async (t) => {
  t.timeout(10 * 60_000);
  const text = secondChange(changed);
  const file = await variant('second-change.lvs', text);
  const targets = trafficTargets();
  const since = Date.now();
  const loop = await startTraffic(targets, 200);
  let apply: Run;
  try {
    apply = await session.lvsc(['apply', '--yes', '--json'], file);
  } finally {
    const r = await stopTraffic(loop, targets);
    logTraffic(t, `server addition and scheduler change (${seconds(since)})`, r);
    t.deepEqual(r.failed, [], 'no failed request');
  }
  await assertApplied(t, apply, file, text);
  t.deepEqual(ipvsSteps(apply), [`lb1: create ipvs-destination ${rip('web2')}:${DR.serverPort} → tcp ${DR.vip}:${DR.port}`, `lb1: update ipvs-service tcp ${TUN.vip}:${TUN.port}`]);
  t.deepEqual(sorted(await requests(DR, 4)), sorted(proportional(DR, desiredTable(text), 4)));
});
