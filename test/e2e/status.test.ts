/**
 * `lvsc status` against the lab with live traffic: examples/lab.lvs applied,
 * requests from the client through every VIP, and the figures lvsc shows by
 * name compared with `ipvsadm -Ln --stats --exact` and `ipvsadm -Ln` read
 * directly on the director in the same test, just before and just after
 * lvsc's read (counters only grow, so lvsc's must lie between the two); and
 * `lvsc monitor` served on loopback, its /status.json and /metrics compared
 * the same way while it reads the lab again and again.
 */
import anyTest, { type TestFn } from 'ava';
import { join } from 'node:path';
import { repoRoot } from '../../lab/paths.js';
import { main } from '../../cli/main.js';
import { sh } from '../../lab/remote.js';
import { SERVICES, type LabService } from '../../lab/topology.js';
import { startMonitor, type RunningMonitor } from '../support/monitor.js';
import { labSession, requests, rip } from './support.js';

const test = anyTest as TestFn;

const session = labSession(test);

interface Row {
  conns: number;
  inPackets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
}

/** `ipvsadm -Ln --stats --exact` read directly: `VIP:PORT RIP:PORT` (and `VIP:PORT` for the service) → its totals. */
async function directStats(): Promise<Map<string, Row>> {
  const out = await sh('lb1', 'ipvsadm -Ln --stats --exact');
  const rows = new Map<string, Row>();
  let service = '';
  for (const line of out.split('\n')) {
    const w = line.trim().split(/\s+/);
    const n = (ws: string[]) => ({ conns: Number(ws[0]), inPackets: Number(ws[1]), outPackets: Number(ws[2]), inBytes: Number(ws[3]), outBytes: Number(ws[4]) });
    if (w[0] === 'TCP') rows.set((service = w[1]), n(w.slice(2)));
    else if (w[0] === '->' && service && w.length === 7) rows.set(`${service} ${w[1]}`, n(w.slice(2)));
  }
  return rows;
}

/** `ipvsadm -Ln` read directly: `VIP:PORT RIP:PORT` → weight, active and inactive connections. */
async function directConnections(): Promise<Map<string, { weight: number; active: number; inactive: number }>> {
  const out = await sh('lb1', 'ipvsadm -Ln');
  const rows = new Map<string, { weight: number; active: number; inactive: number }>();
  let service = '';
  for (const line of out.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'TCP') service = w[1];
    else if (w[0] === '->' && service && w.length === 6 && /^\d+$/.test(w[3])) rows.set(`${service} ${w[1]}`, { weight: Number(w[3]), active: Number(w[4]), inactive: Number(w[5]) });
  }
  return rows;
}

interface Doc {
  directors: { name: string; role: string; vipsHeld: number; vips: number }[];
  services: {
    name: string;
    key: string;
    director: string;
    totals: Row | null;
    servers: { name: string; address: string; port: number; weight: number; live: { weight: number; active: number; inactive: number; totals: Row | null; rates: { cps: number; inBps: number } | null } | null; drift: { action: string; reason: string }[] }[];
  }[];
}

const NAMES: Readonly<Record<string, LabService>> = { 'web-dr': SERVICES.dr, 'web-nat': SERVICES.nat, 'web-tun': SERVICES.tun };

const between = (x: number, a: number, b: number) => Math.min(a, b) <= x && x <= Math.max(a, b);

test.serial('apply the lab, send traffic: every server by name, with the totals and connections ipvsadm shows directly', async (t) => {
  t.timeout(15 * 60_000);
  session.applied = true;
  const apply = await session.lvsc(['apply', '--yes'], session.lab.clusterFile);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  for (const s of Object.values(SERVICES)) await requests(s, 6);

  const stats0 = await directStats();
  const conns0 = await directConnections();
  const run = await session.lvsc(['status', '--json'], session.lab.clusterFile);
  const stats1 = await directStats();
  const conns1 = await directConnections();
  t.is(run.code, 0, run.stdout + run.stderr);
  const doc = JSON.parse(run.stdout) as Doc;

  t.like(doc.directors[0], { name: 'lb1', role: 'active', vipsHeld: 3, vips: 3 });
  t.deepEqual(doc.services.map((s) => s.name), ['web-dr', 'web-nat', 'web-tun']);
  for (const svc of doc.services) {
    const lab = NAMES[svc.name];
    const vip = `${lab.vip}:${lab.port}`;
    t.is(svc.key, `tcp ${vip}`);
    t.is(svc.director, 'lb1');
    t.deepEqual(svc.servers.map((s) => s.name), lab.servers);
    for (const f of ['conns', 'inPackets', 'outPackets', 'inBytes', 'outBytes'] as const) {
      t.true(between(svc.totals![f], stats0.get(vip)![f], stats1.get(vip)![f]), `${svc.name} ${f}: lvsc ${svc.totals![f]}, ipvsadm ${stats0.get(vip)![f]} then ${stats1.get(vip)![f]}`);
    }
    for (const server of svc.servers) {
      const key = `${vip} ${rip(server.name)}:${lab.serverPort}`;
      t.is(server.address, rip(server.name));
      t.truthy(server.live, key);
      t.deepEqual(server.drift, [], `${key} matches the file`);
      const [a, b] = [stats0.get(key)!, stats1.get(key)!];
      for (const f of ['conns', 'inPackets', 'outPackets', 'inBytes', 'outBytes'] as const) {
        t.true(between(server.live!.totals![f], a[f], b[f]), `${key} ${f}: lvsc ${server.live!.totals![f]}, ipvsadm ${a[f]} then ${b[f]}`);
      }
      t.true(server.live!.totals!.conns > 0, `${key} had requests`);
      const [c, d] = [conns0.get(key)!, conns1.get(key)!];
      t.is(server.live!.weight, c.weight);
      t.is(server.weight, c.weight);
      t.true(between(server.live!.active, c.active, d.active), `${key} active: lvsc ${server.live!.active}, ipvsadm ${c.active} then ${d.active}`);
      t.true(between(server.live!.inactive, c.inactive, d.inactive), `${key} inactive: lvsc ${server.live!.inactive}, ipvsadm ${c.inactive} then ${d.inactive}`);
    }
  }
  // DR and TUN replies bypass the director; NAT's come back through it.
  const out = (name: string) => doc.services.find((s) => s.name === name)!.totals!.outPackets;
  t.is(out('web-dr'), 0);
  t.is(out('web-tun'), 0);
  t.true(out('web-nat') > 0);
});

test.serial('while requests keep coming, the estimator\'s rates show on the servers that take them', async (t) => {
  t.timeout(10 * 60_000);
  const nat = SERVICES.nat;
  const pid = '/tmp/lvsc-status-traffic.pid';
  await sh('client', `setsid sh -c 'while :; do curl -s -o /dev/null --max-time 2 http://${nat.vip}:${nat.port}/; done' </dev/null >/dev/null 2>&1 &\necho $! > ${pid}`);
  try {
    // Until the director's own listing shows the rate on both NAT servers (the estimator refreshes about every 2 s).
    await sh('lb1', `n=0; until [ "$(ipvsadm -Ln --rate --exact -t ${nat.vip}:${nat.port} | awk '$1 == "->" && $4 > 0' | wc -l)" -eq 2 ]; do n=$((n+1)); [ $n -lt 120 ]; sleep 1; done`);
    const run = await session.lvsc(['status', '--json'], session.lab.clusterFile);
    t.is(run.code, 0, run.stdout + run.stderr);
    const svc = (JSON.parse(run.stdout) as Doc).services.find((s) => s.name === 'web-nat')!;
    for (const server of svc.servers) t.true(server.live!.rates!.inBps > 0, `${server.name}: ${JSON.stringify(server.live!.rates)}`);
    const text = await session.lvsc(['status'], session.lab.clusterFile);
    t.regex(text.stdout, /^ {2}web-nat {2}tcp 10\.10\.0\.100:80 {2}wrr {2}on lb1 {2}\d+ conn\/s {2}in \d/m);
    t.regex(text.stdout, /^ {4}web3 +10\.20\.0\.13:8080 +2 +unchecked +\d+ +\d+ +\d+ +\d/m);
  } finally {
    await sh('client', `kill -- -"$(cat ${pid})" 2>/dev/null || true; rm -f ${pid}`);
  }
});

test.serial('a weight changed by hand is marked on its server, with the step plan would take', async (t) => {
  t.timeout(10 * 60_000);
  const dr = SERVICES.dr;
  await sh('lb1', `ipvsadm -e -t ${dr.vip}:${dr.port} -r ${rip('web1')}:${dr.serverPort} -g -w 5`);
  try {
    const run = await session.lvsc(['status', '--json'], session.lab.clusterFile);
    t.is(run.code, 0, run.stdout + run.stderr);
    const web1 = (JSON.parse(run.stdout) as Doc).services.find((s) => s.name === 'web-dr')!.servers.find((s) => s.name === 'web1')!;
    t.like(web1, { weight: 1, live: { weight: 5 } });
    t.deepEqual(web1.drift.map((d) => d.action), ['update']);
    const text = await session.lvsc(['status'], session.lab.clusterFile);
    t.regex(text.stdout, /^ {4}web1 +10\.20\.0\.11:80 +1 ≠ 5 .*!$/m);
  } finally {
    await sh('lb1', `ipvsadm -e -t ${dr.vip}:${dr.port} -r ${rip('web1')}:${dr.serverPort} -g -w 1`);
  }
});

/** `lvsc monitor` of the lab on a free loopback port, until `stop`; resolves once it listens. */
function monitor(): Promise<RunningMonitor> {
  const argv = ['--listen', '127.0.0.1:0', '--known-hosts', session.lab.knownHosts, '--ssh-config', join(session.dir, 'no-ssh-config'), '--timeout', '300s', session.lab.clusterFile];
  return startMonitor(main, argv, { env: { HOME: session.dir, PATH: process.env.PATH }, cwd: repoRoot() });
}

/** The status of the monitor's first read that finished after `after` (ms since the epoch), from its event stream. */
async function nextRead(url: URL, after: number): Promise<Doc & { at: string }> {
  const r = await fetch(new URL('/events', url));
  if (r.status !== 200 || !r.body) throw new Error(`/events answered ${r.status}`);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the event stream ended');
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer.slice(0, end).split('\n').find((l) => l.startsWith('data: '));
        buffer = buffer.slice(end + 2);
        const msg = JSON.parse(data!.slice(6)) as { status: Doc & { at: string } };
        if (Date.parse(msg.status.at) > after) return msg.status;
      }
    }
  } finally {
    await reader.cancel();
  }
}

test.serial('lvsc monitor of the lab: /status.json and /metrics show the totals ipvsadm shows directly, by name', async (t) => {
  t.timeout(15 * 60_000);
  const m = await monitor();
  try {
    for (const s of Object.values(SERVICES)) await requests(s, 3);
    // The monitor reads every 2 s: its next read after the requests comes after this direct read.
    const stats0 = await directStats();
    const at0 = Date.now();
    // The read that finishes first after this may have started before it: the one after that did not.
    const doc = await nextRead(m.url, Date.parse((await nextRead(m.url, at0)).at));
    const metrics = await (await fetch(new URL('/metrics', m.url))).text();
    const stats1 = await directStats();
    for (const svc of doc.services) {
      const lab = NAMES[svc.name];
      const vip = `${lab.vip}:${lab.port}`;
      for (const server of svc.servers) {
        const key = `${vip} ${rip(server.name)}:${lab.serverPort}`;
        const got = server.live!.totals!.conns;
        t.true(between(got, stats0.get(key)!.conns, stats1.get(key)!.conns), `${key} conns: monitor ${got}, ipvsadm ${stats0.get(key)!.conns} then ${stats1.get(key)!.conns}`);
        const line = new RegExp(`^lvsc_ipvs_backend_connections_total\\{director="lb1",service="${svc.name}",[^}]*server="${server.name}",remote_address="${rip(server.name).replace(/\./g, '\\.')}",remote_port="${lab.serverPort}"\\} (\\d+)$`, 'm').exec(metrics);
        t.truthy(line, `${svc.name} ${server.name} in /metrics`);
        t.true(between(Number(line![1]), stats0.get(key)!.conns, stats1.get(key)!.conns), `${key} in /metrics: ${line![1]}`);
      }
    }
    t.regex(metrics, /^lvsc_director_role\{director="lb1",role="active"\} 1$/m);
  } finally {
    t.is(await m.stop(), 0, m.stderr());
  }
});
