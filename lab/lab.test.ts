/**
 * The lab's smoke test: boots the lab (or reuses the running one), then, with
 * nothing but OpenSSH through the jump host, sets up each LVS forwarding method
 * by hand, sends real requests from the client through the VIP and checks who
 * answered and what the director's IPVS table says; checks the real servers'
 * health URLs and DNS servers, and runs keepalived on the director with health
 * checks against them; each test removes what it added. A lab this test booted
 * is stopped at the end.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { clusterFileText } from './cluster-file.js';
import { KEEPALIVED_CONF, KEEPALIVED_DEFAULT, dnsAnswers, dnsAnswersScript, keepalivedLog, keepalivedRuns, parseDnsAnswers, putFiles, reloadKeepalived, restoreServerScript, serverChangeScript, startKeepalived, stopKeepalived, testKeepalivedConfig, type Keepalived, type ServerChange } from './daemons.js';
import { healthFile, webPage } from './guest-files.js';
import { labDown, labExclusive, labStatus, labUp, type LabUp } from './lab.js';
import { labPaths } from './paths.js';
import { ARP_KEYS, arpSettings, assertFreshDirector, ipvsTableIs, loadedModules, parseWaited, roundHasLine, sh, shOn, sysctlValues, sysctlWrite, unloadModulesSince, waitFor, waitScript } from './remote.js';
import { DNS_PORT, HEALTH_NAME, HEALTH_PATH, HOSTS, SERVICES, addressOf, labHost, type LabService } from './topology.js';

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

/** A real server's line of `ipvsadm -S`: by `method` (-g, -m or -i), with `weight`. */
function serverRule(service: LabService, server: string, method: '-g' | '-m' | '-i', weight: number): string {
  return `-a -t ${service.vip}:${service.port} -r ${rip(server)}:${service.serverPort} ${method} -w ${weight}`;
}

/** The service as `ipvsadm -S` lines: round robin, every server by `method`, with weight 1 unless `weights` says otherwise. */
function rules(service: LabService, method: '-g' | '-m' | '-i', weights: Readonly<Record<string, number>> = {}): string[] {
  return [`-A -t ${service.vip}:${service.port} -s rr`, ...service.servers.map((s) => serverRule(service, s, method, weights[s] ?? 1))];
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
  // Three sessions at a time: nine handshakes at once through the jump host outlast ssh's
  // ConnectTimeout (10 s) when the machine is loaded and the guest's one CPU gets little of it.
  for (let i = 0; i < HOSTS.length; i += 3) {
    await Promise.all(
      HOSTS.slice(i, i + 3).map(async (h) => {
        const out = await sh(h.name, 'hostname; ip -4 -o addr show scope global | awk \'{print $2, $4}\'; ip route show default');
        const [name, ...rest] = out.trim().split('\n');
        t.is(name, h.name);
        const addrs = rest.filter((l) => !l.startsWith('default'));
        t.deepEqual(addrs.sort(), h.interfaces.map((i) => `${i.dev} ${i.cidr}`).sort(), `${h.name}'s addresses`);
        const route = rest.find((l) => l.startsWith('default'));
        t.is(route?.split(' ')[2], h.gateway, `${h.name}'s default route`);
      }),
    );
  }
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

/** Every real server: its pages on each port, then its DNS server. */
const REAL_SERVERS = HOSTS.filter((h) => h.role === 'real-server');

test.serial('every real server serves its page and its health URL on each port, and its DNS server answers the health name with its address', async (t) => {
  t.timeout(5 * 60_000);
  const urls = REAL_SERVERS.flatMap((h) => h.http.flatMap((p) => [`http://${rip(h.name)}:${p}/`, `http://${rip(h.name)}:${p}${HEALTH_PATH}`]));
  const pages = await sh('lb1', urls.map((u) => `curl -s --max-time 5 ${u} || echo "${u} failed"`).join('\n'));
  t.deepEqual(pages.trim().split('\n'), REAL_SERVERS.flatMap((h) => h.http.flatMap((p) => [webPage(h.name, p), healthFile(h.name, p).text].map((x) => x.trim()))));
  const answers = await dnsAnswers('lb1', REAL_SERVERS.map((h) => h.name));
  t.deepEqual(answers, new Map(REAL_SERVERS.map((h) => [h.name, [rip(h.name)]])));
  t.deepEqual((await dnsAnswers('lb1', ['web1'], `other.${HEALTH_NAME.slice(HEALTH_NAME.indexOf('.') + 1)}`)).get('web1'), [], 'only the health name has an answer');
});

/** How each real server is checked in the keepalived test. */
type Check = 'HTTP_GET' | 'TCP_CHECK' | 'DNS_CHECK';

/** A checker block for keepalived.conf: every second, one retry a second later, two seconds to connect. */
function checker(check: Check): string[] {
  const body: Record<Check, string[]> = {
    HTTP_GET: ['url {', `  path ${HEALTH_PATH}`, '  status_code 200', '}'],
    TCP_CHECK: [],
    DNS_CHECK: [`connect_port ${DNS_PORT}`, 'type A', `name ${HEALTH_NAME}`],
  };
  return [`${check} {`, ...[...body[check], 'connect_timeout 2', 'retry 1', 'delay_before_retry 1'].map((l) => `  ${l}`), '}'];
}

/** A virtual_server block: round robin, weight 1 each unless `weights` says otherwise, weight 0 (not removed) while a server fails its check. */
function virtualServer(service: LabService, kind: 'DR' | 'NAT', checks: Readonly<Record<string, Check>>, weights: Readonly<Record<string, number>>): string[] {
  const servers = service.servers.flatMap((s) => [`real_server ${rip(s)} ${service.serverPort} {`, `  weight ${weights[s] ?? 1}`, '  inhibit_on_failure', ...checker(checks[s]).map((l) => `  ${l}`), '}']);
  return [`virtual_server ${service.vip} ${service.port} {`, ...['delay_loop 1', 'lb_algo rr', `lb_kind ${kind}`, 'protocol TCP', ...servers].map((l) => `  ${l}`), '}'];
}

const CHECKS: Readonly<Record<string, Check>> = { web1: 'HTTP_GET', web2: 'HTTP_GET', web3: 'DNS_CHECK', web4: 'TCP_CHECK' };
function keepalivedConfig(weights: Readonly<Record<string, number>> = {}): string {
  return [
    '# The lab smoke test: the DR service checked over HTTP, the NAT service by DNS and TCP.',
    'global_defs {',
    '  router_id lb1',
    '}',
    ...virtualServer(SERVICES.dr, 'DR', CHECKS, weights),
    ...virtualServer(SERVICES.nat, 'NAT', CHECKS, weights),
    '',
  ].join('\n');
}
const KEEPALIVED_CONFIG = keepalivedConfig();

test.serial('keepalived -t on lb1 accepts the smoke test\'s config and rejects a broken one', async (t) => {
  const good = await testKeepalivedConfig('lb1', KEEPALIVED_CONFIG);
  t.is(good.code, 0, good.output);
  const broken = await testKeepalivedConfig('lb1', KEEPALIVED_CONFIG.replace('lb_algo rr', 'lb_algo nosuch').replace(/}\n$/, '\n'));
  t.not(broken.code, 0);
  t.regex(broken.output, /Invalid lvs_scheduler 'nosuch'/);
  t.regex(broken.output, /missing '}'/);
});

/**
 * What lb1 sees of the servers the keepalived test changes, as scripts for
 * lb1 (`readProbe` reads their outputs): the HTTP status of web1's health URL
 * and page, of web4's pages on 8080 (the TCP check's port) and 80, and web3's
 * answer to the health name.
 */
function probeScripts(): [string, string] {
  const code = (url: string) => `curl -s -o /dev/null -w '%{http_code}\\n' --max-time 5 ${url} || true`;
  return [[code(`http://${rip('web1')}${HEALTH_PATH}`), code(`http://${rip('web1')}/`), code(`http://${rip('web4')}:8080/`), code(`http://${rip('web4')}/`)].join('\n'), dnsAnswersScript(['web3'])];
}

function readProbe([codes, dns]: readonly string[]): string[] {
  return [...codes.trim().split('\n'), `web3 DNS: ${parseDnsAnswers(dns).get('web3')!.join(' ') || 'no answer'}`];
}

test.serial('keepalived on lb1 as its service starts it: programs the table, takes a failing server to weight 0 and back, reloads, and a stop leaves the table', async (t) => {
  t.timeout(10 * 60_000);
  const { dr, nat } = SERVICES;
  const method = (s: string) => (dr.servers.includes(s) ? '-g' : '-m');
  const table = (weights: Readonly<Record<string, number>> = {}) => [...rules(dr, '-g', weights), ...rules(nat, '-m', weights)];
  const line = (s: string, weight: number) => serverRule(dr.servers.includes(s) ? dr : nat, s, method(s), weight);
  let keepalived: Keepalived | undefined;
  t.teardown(async () => {
    try {
      if (keepalived && (await keepalivedRuns(keepalived))) await stopKeepalived(keepalived);
    } finally {
      await shOn([
        ['lb1', `ipvsadm -D -t ${dr.vip}:${dr.port} 2>/dev/null || true\nipvsadm -D -t ${nat.vip}:${nat.port} 2>/dev/null || true\nrm -f ${KEEPALIVED_CONF} ${KEEPALIVED_DEFAULT} /var/log/keepalived.log`],
        ...Object.keys(CHECKS).map((s) => [s, restoreServerScript(s)] as const),
      ]);
    }
  });
  const logOnFailure = async <T>(what: Promise<T>): Promise<T> => {
    try {
      return await what;
    } catch (e) {
      t.log(`lb1's keepalived log:\n${await keepalivedLog('lb1')}`);
      throw e;
    }
  };
  const healthy = ['200', '200', '200', '200', `web3 DNS: ${rip('web3')}`];

  // What Debian's keepalived.service reads; --dont-release-ipvs: a stop leaves the table to the kernel.
  await putFiles('lb1', new Map([[KEEPALIVED_CONF, KEEPALIVED_CONFIG], [KEEPALIVED_DEFAULT, 'DAEMON_ARGS="--dont-release-ipvs"\n']]));
  keepalived = await startKeepalived('lb1');
  const started = await logOnFailure(shOn([['lb1', waitScript([ipvsTableIs(table())], { timeoutMs: 60_000, intervalMs: 250 })], ['router', 'ipvsadm -Sn'], ...probeScripts().map((p) => ['lb1', p] as const)]));
  t.log(`keepalived ${keepalived.pid} programmed lb1's table ${parseWaited(started[0])[0] - keepalived.startedAt} ms after it started`);
  t.is(started[1].trim(), '', 'another namespace has a table of its own, empty');
  t.deepEqual(readProbe(started.slice(2)), healthy);

  /**
   * In one session: makes each change, waits on lb1 until each server's line has `weight`, reads lb1's table and
   * probes the servers. Logs each server's time from its change to the table showing it; returns the table and the probe.
   */
  const changeAndWait = async (what: string, changes: readonly (readonly [string, ServerChange])[], weight: number): Promise<{ table: string[]; probe: string[] }> => {
    const wait = waitScript(changes.map(([s]) => roundHasLine(line(s, weight))), { timeoutMs: 120_000, intervalMs: 250, round: 'ipvsadm -Sn' });
    const out = await logOnFailure(shOn([...changes.map(([s, c]) => [s, serverChangeScript(s, c)] as const), ['lb1', wait], ['lb1', 'ipvsadm -Sn'], ...probeScripts().map((p) => ['lb1', p] as const)]));
    const seen = parseWaited(out[changes.length]);
    t.log(`${what}: ${changes.map(([s], i) => `${s} (${CHECKS[s]}) ${((seen[i] - Number(out[i].trim())) / 1000).toFixed(1)} s`).join(', ')}`);
    return { table: out[changes.length + 1].trim().split('\n').sort(), probe: readProbe(out.slice(changes.length + 2)) };
  };

  // web1's health URL fails (404) while its page still answers; web3's DNS server and web4's web server on 8080 stop.
  const failed = await changeAndWait('failure detected (change to weight 0)', [['web1', { health: 'break', port: 80 }], ['web3', { dns: 'stop' }], ['web4', { web: 'stop', port: 8080 }]], 0);
  t.deepEqual(failed.table, table({ web1: 0, web3: 0, web4: 0 }).sort(), 'the failing servers at weight 0, web2 untouched');
  t.deepEqual(failed.probe, ['404', '200', '000', '200', 'web3 DNS: no answer']);

  const mended = await changeAndWait('recovery detected (change to weight 1)', [['web1', { health: 'mend', port: 80 }], ['web3', { dns: 'start' }], ['web4', { web: 'start', port: 8080 }]], 1);
  t.deepEqual(mended.table, table().sort());
  t.deepEqual(mended.probe, healthy);

  // A reload (SIGHUP) rereads the config: web2's new weight reaches the table, nothing else changes.
  await putFiles('lb1', new Map([[KEEPALIVED_CONF, keepalivedConfig({ web2: 2 })]]));
  const reloadedAt = await reloadKeepalived(keepalived);
  const [reweighted] = await logOnFailure(waitFor('lb1', [roundHasLine(line('web2', 2))], { timeoutMs: 60_000, intervalMs: 250, round: 'ipvsadm -Sn' }));
  t.log(`a reload took web2 to weight 2 in ${((reweighted - reloadedAt) / 1000).toFixed(1)} s`);
  const reloaded = await savedTable();
  t.deepEqual(reloaded, table({ web2: 2 }).sort());
  t.true(await keepalivedRuns(keepalived), 'the same keepalived, reloaded in place');

  // DAEMON_ARGS' --dont-release-ipvs: the table outlives keepalived.
  await stopKeepalived(keepalived);
  t.false(await keepalivedRuns(keepalived));
  t.deepEqual(await savedTable(), reloaded);
});
