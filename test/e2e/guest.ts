/**
 * What the end-to-end tests do on lab hosts by hand, besides lvsc: a bounded
 * background loop of requests from the client, connections held open, ARP
 * probes, the director's connection table, and a reboot's worth of lost and
 * restored state (what a Debian host's boot makes of the files in /etc).
 */
import type { DesiredHost } from '../../compiler/desired.js';
import { WANTS_DIR } from '../../compiler/boot.js';
import { NFT_FAMILY, NFT_TABLE } from '../../compiler/nft.js';
import { PATHS } from '../../compiler/templates/render.js';
import { DAEMONS_LIB } from '../../lab/guest-files.js';
import { sh, shOn } from '../../lab/remote.js';
import { labHost } from '../../lab/topology.js';

const TRAFFIC = '/tmp/lvsc-e2e-traffic';

export interface TrafficTarget {
  readonly url: string;
  /** The pages a request may answer with (any other answer, or none, is a failed request). */
  readonly pages: readonly string[];
}

export interface TrafficResult {
  readonly requests: number;
  /** `rc URL body` of every failed request. */
  readonly failed: readonly string[];
  /** URL → page → count. */
  readonly answers: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/**
 * Starts a loop on the client that requests each target in turn (curl,
 * `--max-time 5`) until `stopTraffic`, at most `maxRounds` rounds; resolves
 * once the first answer is logged, so the traffic flows before the caller goes
 * on. Returns the loop's process group.
 */
export async function startTraffic(targets: readonly TrafficTarget[], maxRounds: number): Promise<number> {
  const script = [
    `for i in $(seq ${maxRounds}); do`,
    `  if [ -e ${TRAFFIC}.stop ]; then echo 'END stop'; exit 0; fi`,
    `  for u in ${targets.map((t) => t.url).join(' ')}; do body=$(curl -s --max-time 5 "$u"); echo "$? $u $body"; done`,
    'done',
    "echo 'END max'",
  ].join('\n');
  const out = await sh(
    'client',
    [
      `rm -f ${TRAFFIC}.*`,
      `cat > ${TRAFFIC}.sh <<'EOF'\n${script}\nEOF`,
      `setsid bash -c 'bash ${TRAFFIC}.sh > ${TRAFFIC}.log 2>&1; touch ${TRAFFIC}.done' </dev/null >/dev/null 2>&1 &`,
      'echo $!',
      `for j in $(seq 100); do if [ -s ${TRAFFIC}.log ]; then break; fi; sleep 0.1; done`,
      `[ -s ${TRAFFIC}.log ]`,
    ].join('\n'),
  );
  return Number(out.trim());
}

/** Stops the loop `startTraffic` started and waits for it to end (killing its group if it does not within 20 s); reads its log. */
export async function stopTraffic(pgid: number, targets: readonly TrafficTarget[]): Promise<TrafficResult> {
  const log = await sh(
    'client',
    [
      `touch ${TRAFFIC}.stop`,
      `for j in $(seq 100); do if [ -e ${TRAFFIC}.done ]; then break; fi; sleep 0.2; done`,
      `if [ ! -e ${TRAFFIC}.done ]; then kill -- -${pgid}; echo 'the traffic loop did not end' >&2; exit 1; fi`,
      `cat ${TRAFFIC}.log`,
      `rm -f ${TRAFFIC}.*`,
    ].join('\n'),
  );
  const lines = log.trim().split('\n');
  const end = lines.pop();
  if (end !== 'END stop') throw new Error(`the traffic loop ended by itself (${end}): it did not cover the whole change; raise maxRounds`);
  const pages = new Map(targets.map((t) => [t.url, new Set(t.pages)]));
  const answers = new Map(targets.map((t) => [t.url, new Map<string, number>()]));
  const failed: string[] = [];
  for (const line of lines) {
    const [, rc, url, body] = /^(\d+) (\S+) ?(.*)$/.exec(line) ?? [];
    if (rc !== '0' || !pages.get(url)?.has(body)) failed.push(line);
    const counts = answers.get(url);
    if (counts) counts.set(body, (counts.get(body) ?? 0) + 1);
  }
  return { requests: lines.length, failed, answers };
}

/** One IPVS connection entry of `ipvsadm -Lnc`. */
export interface IpvsConnection {
  readonly state: string;
  readonly source: string;
  readonly virtual: string;
  readonly destination: string;
}

/** The director's connection entries (templates included: state NONE or ASSURED, source port 0), with their expiry in seconds. */
export async function connections(): Promise<(IpvsConnection & { readonly expires: number })[]> {
  const out = await sh('lb1', 'ipvsadm -Lnc');
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 6 && /^\d+:\d+$/.test(f[1]))
    .map(([, expire, state, source, virtual, destination]) => {
      const [m, s] = expire.split(':').map(Number);
      return { expires: m * 60 + s, state, source, virtual, destination };
    });
}

/**
 * Opens `n` TCP connections from the client to VIP:PORT that send nothing and
 * stay open (at most `seconds`), and waits until the director counts them
 * established. Returns their process groups, for `releaseConnections`.
 */
export async function holdConnections(vip: string, port: number, n: number, seconds: number): Promise<number[]> {
  const out = await sh('client', `for i in $(seq ${n}); do setsid bash -c 'sleep ${seconds} | nc ${vip} ${port}' </dev/null >/dev/null 2>&1 & echo $!; done`);
  const pgids = out.trim().split('\n').map(Number);
  for (let i = 0; ; i++) {
    const held = (await connections()).filter((c) => c.state === 'ESTABLISHED' && c.virtual === `${vip}:${port}`);
    if (held.length >= n) return pgids;
    if (i === 20) {
      await releaseConnections(pgids);
      throw new Error(`${n} connections to ${vip}:${port} were opened but the director counts ${held.length} established`);
    }
  }
}

export async function releaseConnections(pgids: readonly number[]): Promise<void> {
  if (pgids.length) await sh('client', pgids.map((p) => `kill -- -${p} 2>/dev/null || true`).join('\n'));
}

/** The address of a device in `ip -j link show dev DEV`'s output (its MAC). */
export function linkAddress(json: string): string {
  const [link] = JSON.parse(json) as { address: string }[];
  return link.address;
}

/**
 * The command that asks who answers ARP for `ip` on `dev`: three broadcast
 * probes (`-b`: busybox arping otherwise goes unicast to the first replier
 * after its first answer, and would miss a second one). `arpRepliers` reads it.
 */
export function arping(dev: string, ip: string): string {
  return `arping -b -c 3 -I ${dev} ${ip} || true`;
}

/** Every MAC address in arping's replies. */
export function arpRepliers(out: string): Set<string> {
  return new Set([...out.matchAll(/reply from \S+ \[([0-9a-f:]{17})\]/gi)].map((m) => m[1].toLowerCase()));
}

/**
 * What a reboot loses on a host of what lvsc applied there (the compiled
 * `desired` state tells what that is), as commands: its addresses and links,
 * its routes (back to the gateway the lab boots the host with), every sysctl
 * it set (set to another value: a reboot's defaults), and on the director the
 * IPVS table, its timeouts (back to the kernel's defaults), lvsc's nftables
 * table (the fwmark services' marks) and the IPVS modules; on a director
 * with keepalived, keepalived itself (stopped by its PID) and what it and lvsc
 * keep in /run (a tmpfs: the health records, the lock, the PID files). The
 * kernel is shared by every lab host, so only the director's modules are
 * unloaded (nothing else uses ip_vs); nftables tables are each namespace's own.
 */
function lossScript(host: DesiredHost): string {
  const s = host.state;
  const lines: string[] = [];
  if (host.keepalived) lines.push(`. ${DAEMONS_LIB}`, 'if [ -s /run/keepalived.pid ]; then lab_keepalived_stop "$(cat /run/keepalived.pid)"; fi', 'rm -rf /run/lvsc');
  const other = Object.entries(s.sysctls).map(([k, v]) => `${k}=${v === '0' ? 1 : 0}`);
  if (other.length) lines.push(`sysctl -q -w ${other.join(' ')}`);
  for (const a of s.addresses) lines.push(`ip addr del ${a.address}/${a.prefix} dev ${a.dev}`);
  for (const l of s.links) if (l.kind !== 'fou') lines.push(`ip link set ${l.name} down`);
  const gateway = labHost(host.name)?.gateway;
  for (const r of s.routes) {
    if (r.dst !== 'default' || !gateway) throw new Error(`bug: no way to lose route ${r.dst} on ${host.name}`);
    lines.push(`ip route replace default via ${gateway}`);
  }
  if (s.ipvs) {
    const schedulers = s.modules.filter((m) => m.startsWith('ip_vs_'));
    // The timeouts too (unloading ip_vs resets them as well, but a reboot's loss should not depend on it).
    lines.push(`ipvsadm --set ${KERNEL_TIMEOUTS.join(' ')}`, 'ipvsadm -C', ...(schedulers.length ? [`rmmod ${schedulers.join(' ')}`] : []), 'rmmod ip_vs');
  }
  if (s.fwmarkRules.length) lines.push(`nft delete table ${NFT_FAMILY} ${NFT_TABLE}`);
  return lines.join('\n') || 'true';
}

/** Loses on these hosts what a reboot would of what lvsc applied (`lossScript`), in one session. */
export async function loseRuntimeState(hosts: readonly DesiredHost[]): Promise<void> {
  await shOn(hosts.map((h) => [h.name, lossScript(h)]));
}

/** The IPVS timeouts of a freshly loaded ip_vs (tcp tcpfin udp, seconds): what a reboot leaves. */
export const KERNEL_TIMEOUTS = [900, 120, 300] as const;

/** The files a boot reads that concern lvsc, as `::: PATH` then the content; then the units multi-user.target wants, as `::: LINK` then its target. */
const BOOT_FILES =
  "for f in /etc/modules-load.d/*.conf /etc/sysctl.d/*.conf /etc/default/ipvsadm /etc/ipvsadm.rules /etc/keepalived/keepalived.conf /etc/systemd/network/*.network /etc/systemd/network/*.network.d/*.conf /etc/systemd/system/*.service.d/*.conf; do if [ -f \"$f\" ]; then printf '::: %s\\n' \"$f\"; cat \"$f\"; echo; fi; done; " +
  `for l in ${WANTS_DIR}/*; do if [ -L "$l" ]; then printf '::: %s\\n' "$l"; readlink "$l"; fi; done`;

/**
 * The commands a Debian host's boot runs for what `files` (path → content) say:
 * systemd-modules-load (modules-load.d), systemd-sysctl (sysctl.d), the ipvsadm
 * service (when /etc/default/ipvsadm says AUTO="true", its init script's
 * `ipvsadm -C` and `ipvsadm -R < /etc/ipvsadm.rules`, then the ExecStartPost=
 * lines of its drop-ins, as systemd runs them: in the drop-ins' order, a
 * leading `-` meaning "a failure is not the service's"), keepalived when
 * multi-user.target wants it and its configuration is there (as
 * keepalived.service does, lab_keepalived_start: after the ipvsadm service
 * when a drop-in orders it `After=ipvsadm.service` (and last: it is also
 * after the network), otherwise before it, the order that loses keepalived's
 * services to the flush) and systemd-networkd (.network
 * files and their drop-ins: the link up, [Address] with Label, [Route] with
 * Gateway and Protocol).
 */
export function bootCommands(files: ReadonlyMap<string, string>): string[] {
  const of = (re: RegExp) => [...files].filter(([p]) => re.test(p)).sort(([a], [b]) => (a < b ? -1 : 1));
  const commands: string[] = [];
  const modules = of(/^\/etc\/modules-load\.d\//).flatMap(([, text]) => text.split('\n').map((l) => l.trim()).filter((l) => l && !/^[#;]/.test(l)));
  if (modules.length) commands.push(`modprobe -a ${modules.join(' ')}`);
  for (const [path] of of(/^\/etc\/sysctl\.d\//)) commands.push(`sysctl -q -p ${path}`);
  // Debian's ipvsadm service restores the rules when its defaults say AUTO="true".
  const keepalived = files.has(`${WANTS_DIR}/keepalived.service`) && (files.get(PATHS.keepalived) ?? '').trim() !== '' ? [`. ${DAEMONS_LIB} && lab_keepalived_start >/dev/null`] : [];
  const afterIpvsadm = of(/^\/etc\/systemd\/system\/keepalived\.service\.d\/[^/]+\.conf$/).some(([, text]) => /^After=(.* )?ipvsadm\.service( |$)/m.test(text));
  if (!afterIpvsadm) commands.push(...keepalived);
  if (files.has('/etc/ipvsadm.rules') && /^AUTO="?true"?$/m.test(files.get('/etc/default/ipvsadm') ?? '')) {
    commands.push('ipvsadm -C', 'ipvsadm -R < /etc/ipvsadm.rules');
    for (const [, text] of of(/^\/etc\/systemd\/system\/ipvsadm\.service\.d\/[^/]+\.conf$/)) {
      for (const m of text.matchAll(/^ExecStartPost=(-?)(.+)$/gm)) commands.push(m[1] ? `${m[2]} || true` : m[2]);
    }
  }
  // networkd: a .network file names its device in [Match] Name=; a drop-in belongs to `<name>.network`.
  const matched = new Map<string, string>();
  for (const [path, text] of of(/\.network$/)) {
    const name = /^\[Match\][^[]*^Name=(\S+)$/m.exec(text)?.[1];
    if (name) matched.set(path, name);
  }
  for (const [path, text] of of(/\.network$|\.network\.d\/[^/]+\.conf$/)) {
    const unit = path.replace(/\.d\/[^/]+\.conf$/, '');
    const dev = matched.get(unit) ?? /\/([^/]+)\.network$/.exec(unit)![1];
    commands.push(`ip link set ${dev} up`);
    for (const section of text.split(/^(?=\[)/m)) {
      const key = (k: string) => new RegExp(`^${k}=(.+)$`, 'm').exec(section)?.[1].trim();
      if (section.startsWith('[Address]')) commands.push(`ip addr replace ${key('Address')} dev ${dev}${key('Label') ? ` label ${key('Label')}` : ''}`);
      if (section.startsWith('[Route]')) commands.push(`ip route replace ${key('Destination') ?? 'default'} via ${key('Gateway')} dev ${dev}${key('Protocol') ? ` proto ${key('Protocol')}` : ''}`);
    }
  }
  // keepalived.service is After=network-online.target too: last.
  if (afterIpvsadm) commands.push(...keepalived);
  return commands;
}

/** Boots these hosts as far as lvsc's files go: reads each one's files, runs `bootCommands` of them (two sessions in all). Returns host → commands run. */
export async function bootFromEtc(hosts: readonly string[]): Promise<Map<string, string[]>> {
  const dumps = await shOn(hosts.map((h) => [h, BOOT_FILES]));
  const commands = dumps.map((dump) => {
    const files = new Map<string, string>();
    for (const part of dump.split(/^::: /m).slice(1)) {
      const nl = part.indexOf('\n');
      files.set(part.slice(0, nl), part.slice(nl + 1));
    }
    return bootCommands(files);
  });
  await shOn(hosts.map((h, i) => [h, commands[i].join('\n') || 'true']));
  return new Map(hosts.map((h, i) => [h, commands[i]]));
}
