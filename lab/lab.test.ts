/**
 * The lab's smoke test: boots the lab (or reuses the running one), then, with
 * nothing but OpenSSH through the jump host, sets up each LVS forwarding method
 * by hand, sends real requests from the client through the VIP and checks who
 * answered and what the director's IPVS table says; each test removes what it
 * added. A lab this test booted is stopped at the end.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { clusterFileText } from './cluster-file.js';
import { labDown, labExclusive, labStatus, labUp, type LabUp } from './lab.js';
import { labPaths } from './paths.js';
import { ARP_KEYS, arpSettings, assertFreshDirector, loadedModules, sh, sysctlValues, sysctlWrite, unloadModulesSince } from './remote.js';
import { HOSTS, SERVICES, addressOf, labHost, type LabService } from './topology.js';

let lab: LabUp;
let modulesBefore: Set<string>;
let release: (() => void) | undefined;

/** `n` requests from the client to the service's VIP: which page answered how often, sorted ("web1 port 80: 3"). */
async function requests(service: LabService, n: number): Promise<string[]> {
  const out = await sh('client', `for i in $(seq ${n}); do curl -s --max-time 5 http://${service.vip}:${service.port}/ || echo "request $i failed"; done`);
  const counts = new Map<string, number>();
  for (const line of out.trim().split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
  return [...counts].map(([page, count]) => `${page}: ${count}`).sort();
}

/** What `requests` returns when round robin spreads `n` requests evenly over the service's servers. */
function evenly(service: LabService, n: number): string[] {
  return service.servers.map((s) => `${s} port ${service.serverPort}: ${n / service.servers.length}`).sort();
}

function rip(server: string): string {
  return addressOf(labHost(server)!.interfaces[0].cidr);
}

/** The service as `ipvsadm -S` lines: round robin, every server with weight 1 by `method` (-g, -m or -i). */
function rules(service: LabService, method: '-g' | '-m' | '-i'): string[] {
  const vs = `-t ${service.vip}:${service.port}`;
  return [`-A ${vs} -s rr`, ...service.servers.map((s) => `-a ${vs} -r ${rip(s)}:${service.serverPort} ${method} -w 1`)];
}

/** The director's `ipvsadm -Sn`, lines sorted (the kernel's order is not defined). */
async function savedTable(): Promise<string[]> {
  return (await sh('lb1', 'ipvsadm -Sn')).trim().split('\n').filter(Boolean).sort();
}

/** In and out packets of a service, once the kernel's estimator has caught up (it refreshes about every 2 s). */
async function packets(service: LabService): Promise<{ inPkts: number; outPkts: number }> {
  const out = await sh('lb1', `sleep 3; ipvsadm -Ln --stats --exact -t ${service.vip}:${service.port}`);
  const row = out.split('\n').find((l) => l.startsWith('TCP '));
  if (!row) throw new Error(`no service row in:\n${out}`);
  const [, , , inPkts, outPkts] = row.trim().split(/\s+/);
  return { inPkts: Number(inPkts), outPkts: Number(outPkts) };
}

test.before('lab up', async (t) => {
  t.timeout(30 * 60_000, 'installing packages and downloading a kernel can take minutes; another run may hold the lab');
  // Another test run (or a capture) may be changing the same hosts: take turns.
  release = await labExclusive({ log: (line) => t.log(line) });
  lab = await labUp({ log: (line) => t.log(line) });
  t.log(lab.reused ? `reusing qemu ${lab.pid} on port ${lab.port}` : `booted ${lab.kernel} in ${(lab.bootMs / 1000).toFixed(1)} s`);
  await assertFreshDirector();
  modulesBefore = await loadedModules();
});

test.after.always('put the kernel modules back and stop a lab this test booted', async (t) => {
  t.timeout(5 * 60_000);
  try {
    if (modulesBefore) await unloadModulesSince(modulesBefore);
  } finally {
    try {
      if (lab && !lab.reused) {
        const { stopped } = await labDown({ log: (line) => t.log(line) });
        if (stopped !== lab.pid) throw new Error(`lab down stopped ${stopped}, not the qemu this test started (${lab.pid})`);
      }
    } finally {
      release?.();
    }
  }
});

test('the cluster file lab up names is valid for the running lab (its port)', (t) => {
  t.is(readFileSync(lab.clusterFile, 'utf8'), clusterFileText(lab.port));
});

test('lab status reports the qemu in .lab/qemu.pid, and its port answers', async (t) => {
  const s = await labStatus();
  t.true(s.up);
  t.is(s.pid, Number(readFileSync(labPaths().pidFile, 'utf8')));
  t.is(s.port, lab.port);
  t.true(s.sshAnswers);
});

test('every lab host answers over SSH as itself, with its addresses and default route', async (t) => {
  t.timeout(5 * 60_000);
  await Promise.all(
    HOSTS.map(async (h) => {
      const out = await sh(h.name, 'hostname; ip -4 -o addr show scope global | awk \'{print $2, $4}\'; ip route show default');
      const [name, ...rest] = out.trim().split('\n');
      t.is(name, h.name);
      const addrs = rest.filter((l) => !l.startsWith('default'));
      t.deepEqual(addrs.sort(), h.interfaces.map((i) => `${i.dev} ${i.cidr}`).sort(), `${h.name}'s addresses`);
      const route = rest.find((l) => l.startsWith('default'));
      t.is(route?.split(' ')[2], h.gateway, `${h.name}'s default route`);
    }),
  );
});

test.serial('DR by hand: both servers answer through the VIP, and replies bypass the director', async (t) => {
  t.timeout(10 * 60_000);
  const dr = SERVICES.dr;
  const before = new Map(await Promise.all(dr.servers.map(async (s) => [s, await sysctlValues(s, ARP_KEYS)] as const)));
  t.teardown(async () => {
    await sh('lb1', `ipvsadm -D -t ${dr.vip}:${dr.port} || true; ip addr del ${dr.vip}/32 dev eth1 || true`);
    await Promise.all(dr.servers.map((s) => sh(s, `ip addr del ${dr.vip}/32 dev lo || true\n${sysctlWrite(before.get(s)!)}`)));
  });

  // Real servers first: never answer ARP for the VIP, then carry it on lo.
  await Promise.all(dr.servers.map((s) => sh(s, `${sysctlWrite(arpSettings())}\nip addr add ${dr.vip}/32 dev lo label lo:lvs`)));
  await sh('lb1', [...rules(dr, '-g').map((r) => `ipvsadm ${r}`), `ip addr add ${dr.vip}/32 dev eth1`].join('\n'));

  t.deepEqual(await savedTable(), rules(dr, '-g').sort());
  t.deepEqual(await requests(dr, 6), evenly(dr, 6));
  const p = await packets(dr);
  t.true(p.inPkts > 0, `the director saw the requests (${p.inPkts} packets in)`);
  t.is(p.outPkts, 0, 'DR replies go from the servers to the client, not through the director');
});

test.serial('NAT by hand: the director remaps 80 to 8080 and carries the replies', async (t) => {
  t.timeout(10 * 60_000);
  const nat = SERVICES.nat;
  const forwardBefore = await sysctlValues('lb1', ['net.ipv4.ip_forward']);
  t.teardown(async () => {
    await sh('lb1', `ip addr del ${nat.vip}/32 dev eth0 || true; ipvsadm -D -t ${nat.vip}:${nat.port} || true\n${sysctlWrite(forwardBefore)}`);
    await Promise.all(nat.servers.map((s) => sh(s, `ip route replace default via ${labHost(s)!.gateway}`)));
  });

  // Real servers first: their default route is the director's DIP on their segment.
  const dip = addressOf(labHost('lb1')!.interfaces.find((i) => i.segment === 'servers')!.cidr);
  await Promise.all(nat.servers.map((s) => sh(s, `ip route replace default via ${dip}`)));
  await sh('lb1', [sysctlWrite(new Map([['net.ipv4.ip_forward', 1]])), ...rules(nat, '-m').map((r) => `ipvsadm ${r}`), `ip addr add ${nat.vip}/32 dev eth0`].join('\n'));

  t.deepEqual(await savedTable(), rules(nat, '-m').sort());
  t.deepEqual(await requests(nat, 6), evenly(nat, 6));
  const p = await packets(nat);
  t.true(p.inPkts > 0 && p.outPkts > 0, `NAT replies pass back through the director (${p.inPkts} in, ${p.outPkts} out)`);
});

test.serial('TUN by hand: IP-in-IP to the remote site through the router', async (t) => {
  t.timeout(10 * 60_000);
  const tun = SERVICES.tun;
  const keys = ['net.ipv4.conf.all.rp_filter', ...ARP_KEYS];
  const before = new Map(await Promise.all(tun.servers.map(async (s) => [s, await sysctlValues(s, keys)] as const)));
  t.teardown(async () => {
    await sh('lb1', `ip addr del ${tun.vip}/32 dev eth0 || true; ipvsadm -D -t ${tun.vip}:${tun.port} || true`);
    await Promise.all(tun.servers.map((s) => sh(s, `ip addr del ${tun.vip}/32 dev tunl0 || true; ip link set tunl0 down || true\n${sysctlWrite(before.get(s)!)}`)));
  });

  // Real servers first: decapsulate on tunl0, which carries the VIP; no reverse-path filter on it.
  const serverSysctls = new Map([['net.ipv4.conf.all.rp_filter', 0], ['net.ipv4.conf.tunl0.rp_filter', 0], ...arpSettings()]);
  await Promise.all(tun.servers.map((s) => sh(s, `modprobe ipip\n${sysctlWrite(serverSysctls)}\nip link set tunl0 up\nip addr add ${tun.vip}/32 dev tunl0`)));
  await sh('lb1', [...rules(tun, '-i').map((r) => `ipvsadm ${r}`), `ip addr add ${tun.vip}/32 dev eth0`].join('\n'));

  // ipvsadm 1.31 always prints the tunnel type of a tunnel destination.
  t.deepEqual(await savedTable(), rules(tun, '-i').map((r) => (r.startsWith('-a') ? `${r} --tun-type ipip` : r)).sort());
  t.deepEqual(await requests(tun, 6), evenly(tun, 6));
  const p = await packets(tun);
  t.true(p.inPkts > 0, `the director tunnelled the requests (${p.inPkts} packets in)`);
  t.is(p.outPkts, 0, 'TUN replies go from the remote site to the client, not through the director');
});
