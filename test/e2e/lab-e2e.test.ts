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
 * Takes the lab's hosts in turn with the smoke test (`labExclusive`), boots or
 * reuses the lab as it does, and leaves the lab as it found it: the services
 * are removed with lvsc (the cluster file without its services), the NAT
 * servers' default routes put back, the modules it loaded unloaded, and a lab
 * this file booted stopped. Run with `npm run test:e2e` (not part of `npm test`).
 */
import anyTest, { type TestFn } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCluster } from '../../compiler/compile.js';
import { check } from '../../compiler/index.js';
import { parseIpvsadmSave } from '../../compiler/ipvsadm.js';
import { destinationKey, serviceKey, type IpvsService } from '../../compiler/state.js';
import { main } from '../../cli/main.js';
import { hasErrors } from '../../lang/diagnostics.js';
import { labDown, labExclusive, labUp, type LabUp } from '../../lab/lab.js';
import { repoRoot } from '../../lab/paths.js';
import { assertFreshDirector, loadedModules, sh, unloadModulesSince } from '../../lab/remote.js';
import { HOSTS, SERVICES, addressOf, labHost, type LabService } from '../../lab/topology.js';

const test = anyTest as TestFn;

let lab: LabUp;
let release: (() => void) | undefined;
let modulesBefore: Set<string> | undefined;
let dir: string;
/** The lab's cluster file as `lab up` wrote it. */
let clusterText: string;
/** Whether an apply of this file may have changed the hosts (then the cleanup must run). */
let applied = false;

/** The director's address on the servers' segment: the NAT servers' gateway once lvsc has applied. */
const DIP = addressOf(labHost('lb1')!.interfaces.find((i) => i.segment === 'servers')!.cidr);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `lvsc ARGV... FILE` in-process, as a person runs it in the repository
 * (the cluster file's `ssh key ".lab/id_ed25519"` is relative to it), trusting
 * the lab's known_hosts and no ssh_config of the machine's user.
 */
async function lvsc(argv: readonly string[], file: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main([...argv, '--known-hosts', lab.knownHosts, '--ssh-config', join(dir, 'no-ssh-config'), file], {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: { HOME: dir, PATH: process.env.PATH },
    cwd: repoRoot(),
  });
  return { code, stdout, stderr };
}

/** The cluster text written to the temp dir under `name` (absolute path). */
function writeCluster(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The director's desired IPVS table, compiled from `text`. */
function desiredTable(text: string): readonly IpvsService[] {
  const r = check([{ path: 'cluster.lvs', text }]);
  if (!r.cluster || hasErrors(r.diagnostics)) throw new Error(`the cluster does not validate: ${r.diagnostics.map((d) => `${d.code} ${d.summary}`).join('; ')}`);
  const lb1 = compileCluster(r.cluster).find((h) => h.name === 'lb1');
  if (!lb1?.state.ipvs) throw new Error('lb1 is not a director in the cluster');
  return lb1.state.ipvs;
}

/** A table by identity: services by key, each one's destinations by key (neither ipvsadm's order nor the file's). */
function keyed(ipvs: readonly IpvsService[]): IpvsService[] {
  const by = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return [...ipvs].sort(by((s) => serviceKey(s.id))).map((s) => ({ ...s, destinations: [...s.destinations].sort(by(destinationKey)) }));
}

/** The director's live table as `ipvsadm -Sn` prints it, parsed; every line must parse. */
async function liveTable(): Promise<IpvsService[]> {
  const parsed = parseIpvsadmSave(await sh('lb1', 'ipvsadm -Sn'));
  if (parsed.warnings.length) throw new Error(`ipvsadm -Sn lines lvsc cannot read: ${parsed.warnings.join('; ')}`);
  return parsed.value;
}

/** `n` requests from the client through the service's VIP, one after another: answering page → count ("web1 port 80" → 3). */
async function requests(service: LabService, n: number): Promise<Map<string, number>> {
  const out = await sh('client', `for i in $(seq ${n}); do curl -s --max-time 5 http://${service.vip}:${service.port}/ || echo "request $i failed"; done`);
  const counts = new Map<string, number>();
  for (const line of out.trim().split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/** The page a server of `service` answers with. */
function page(service: LabService, server: string): string {
  return `${server} port ${service.serverPort}`;
}

function rip(server: string): string {
  return addressOf(labHost(server)!.interfaces[0].cidr);
}

/**
 * How `n` consecutive requests split over the service's servers under rr or
 * wrr with the weights of `table` (any `n` that is a whole number of the
 * scheduler's cycles, i.e. a multiple of the weights' sum).
 */
function proportional(service: LabService, table: readonly IpvsService[], n: number): Map<string, number> {
  const svc = table.find((s) => s.id.kind === 'addr' && s.id.address === service.vip && s.id.port === service.port)!;
  const weight = (server: string) => (svc.scheduler === 'rr' ? 1 : svc.destinations.find((d) => d.address === rip(server))!.weight);
  const total = service.servers.reduce((sum, s) => sum + weight(s), 0);
  if (n % total) throw new Error(`bug: ${n} requests are not whole cycles of weights summing to ${total}`);
  return new Map(service.servers.map((s) => [page(service, s), (n / total) * weight(s)]));
}

const sorted = (m: ReadonlyMap<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** In and out packets of a service, once the kernel's estimator has caught up (it refreshes about every 2 s). */
async function packets(service: LabService): Promise<{ inPkts: number; outPkts: number }> {
  const out = await sh('lb1', `sleep 3; ipvsadm -Ln --stats --exact -t ${service.vip}:${service.port}`);
  const row = out.split('\n').find((l) => l.startsWith('TCP '));
  if (!row) throw new Error(`no service row in:\n${out}`);
  const [, , , inPkts, outPkts] = row.trim().split(/\s+/);
  return { inPkts: Number(inPkts), outPkts: Number(outPkts) };
}

/** A host's default gateway, from `ip -j route`. */
async function defaultGateway(host: string): Promise<string | undefined> {
  const routes = JSON.parse(await sh(host, 'ip -j route show default')) as { dst: string; gateway?: string }[];
  return routes.find((r) => r.dst === 'default')?.gateway;
}

/** Plan steps of `lvsc plan --json` (or of apply's `plan`), flattened with their host. */
function steps(plan: { hosts: { host: string; steps: { action: string; kind: string; key: string }[] }[] }): string[] {
  return plan.hosts.flatMap((h) => h.steps.map((s) => `${h.host}: ${s.action} ${s.kind} ${s.key}`));
}

test.before('lab up, and a director as the lab booted it', async (t) => {
  t.timeout(30 * 60_000, 'installing packages and downloading a kernel can take minutes; another run may hold the lab');
  release = await labExclusive({ log: (line) => t.log(line) });
  lab = await labUp({ log: (line) => t.log(line) });
  t.log(lab.reused ? `reusing qemu ${lab.pid} on port ${lab.port}` : `booted ${lab.kernel} in ${(lab.bootMs / 1000).toFixed(1)} s`);
  await assertFreshDirector();
  modulesBefore = await loadedModules();
  dir = mkdtempSync(join(tmpdir(), 'lvsc-e2e-'));
  clusterText = readFileSync(lab.clusterFile, 'utf8');
});

test.after.always('remove what lvsc applied, put the modules back, stop a lab this file booted', async (t) => {
  t.timeout(10 * 60_000);
  try {
    if (applied) {
      // The same hosts, no services: lvsc removes the VIPs, the table, its sysctls, routes and files.
      const empty = clusterText.replace(/^service [\s\S]*?^}\n/gm, '');
      if (/^service /m.test(empty)) throw new Error('bug: the cleanup cluster still has a service');
      const r = await lvsc(['apply', '--yes'], writeCluster('no-services.lvs', empty));
      if (r.code !== 0) throw new Error(`lvsc apply of the cluster without services exited ${r.code}:\n${r.stdout}${r.stderr}`);
      // lvsc deletes the NAT servers' default route it owned; the lab booted them with the router's.
      await Promise.all(
        HOSTS.filter((h) => h.role === 'real-server').map(async (h) => {
          if ((await defaultGateway(h.name)) !== h.gateway) await sh(h.name, `ip route replace default via ${h.gateway}`);
        }),
      );
      await assertFreshDirector();
    }
    if (modulesBefore) await unloadModulesSince(modulesBefore);
  } finally {
    try {
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (lab && !lab.reused) {
        const { stopped } = await labDown({ log: (line) => t.log(line) });
        if (stopped !== lab.pid) throw new Error(`lab down stopped ${stopped}, not the qemu this file started (${lab.pid})`);
      }
    } finally {
      release?.();
    }
  }
});

test.serial('apply configures the lab; a second plan has no changes and the director\'s table is the compiled one', async (t) => {
  t.timeout(10 * 60_000);
  applied = true;
  const apply = await lvsc(['apply', '--yes'], lab.clusterFile);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  t.regex(apply.stdout, /verified: the applied hosts match the cluster/);

  const plan = await lvsc(['plan'], lab.clusterFile);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
  t.deepEqual(keyed(await liveTable()), keyed(desiredTable(clusterText)));
});

test.serial('DR: both servers answer through the VIP in turn (rr), and replies bypass the director', async (t) => {
  t.timeout(5 * 60_000);
  const dr = SERVICES.dr;
  t.deepEqual(sorted(await requests(dr, 6)), sorted(proportional(dr, desiredTable(clusterText), 6)));
  const p = await packets(dr);
  t.true(p.inPkts > 0, `the director saw the requests (${p.inPkts} packets in)`);
  t.is(p.outPkts, 0, 'DR replies go from the servers to the client, not through the director');
});

test.serial('NAT: the servers answer on 8080 in the declared weights (wrr), through the director, their default route', async (t) => {
  t.timeout(5 * 60_000);
  const nat = SERVICES.nat;
  for (const s of nat.servers) t.is(await defaultGateway(s), DIP, `${s}'s default route is via the director`);
  t.deepEqual(sorted(await requests(nat, 6)), sorted(proportional(nat, desiredTable(clusterText), 6)));
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

  const plan = await lvsc(['plan', '--json'], lab.clusterFile);
  t.is(plan.code, 2, plan.stdout + plan.stderr);
  t.deepEqual(steps(JSON.parse(plan.stdout)), [`lb1: update ipvs-destination ${rip('web1')}:${dr.serverPort} → tcp ${dr.vip}:${dr.port}`]);

  const apply = await lvsc(['apply', '--yes'], lab.clusterFile);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  t.regex(apply.stdout, /Apply complete: 1 step\(s\) ran/);
  const again = await lvsc(['plan'], lab.clusterFile);
  t.is(again.code, 0, again.stdout + again.stderr);
  t.deepEqual(keyed(await liveTable()), keyed(desiredTable(clusterText)));
});

test.serial('a weight changed in the file: one kernel step and the rules file, the table follows, and wrr splits requests in the new proportion', async (t) => {
  t.timeout(10 * 60_000);
  const nat = SERVICES.nat;
  const declared = /^(\s*server web3 port 8080) weight 2$/m;
  t.regex(clusterText, declared);
  const text = clusterText.replace(declared, '$1 weight 3');
  const file = writeCluster('weight-3.lvs', text);

  const apply = await lvsc(['apply', '--yes', '--json'], file);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  const result = JSON.parse(apply.stdout) as { plan: Parameters<typeof steps>[0]; verified: boolean };
  // The destination in the kernel, and the rules file rendered from the table.
  t.deepEqual(steps(result.plan).sort(), ['lb1: update file /etc/ipvsadm.rules', `lb1: update ipvs-destination ${rip('web3')}:${nat.serverPort} → tcp ${nat.vip}:${nat.port}`]);
  t.true(result.verified);
  t.deepEqual(keyed(await liveTable()), keyed(desiredTable(text)));

  const plan = await lvsc(['plan'], file);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
  // 3:1 over two cycles: 6 and 2.
  t.deepEqual(sorted(await requests(nat, 8)), sorted(proportional(nat, desiredTable(text), 8)));
});
