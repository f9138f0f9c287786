/**
 * The generated files of the guest, as text: the network script in the
 * vocabulary of lab/guest/rc.sh, and the few /etc files a Debian host has.
 * Pure functions of the topology; initramfs.ts writes them.
 */
import { shellQuote } from '../compiler/command.js';
import { JUMP } from './keys.js';
import { DNS_PORT, HEALTH_NAME, HEALTH_PATH, HOSTS, SEGMENTS, addressOf, rootVethName, sshAddress, type LabHost, type LabSegment } from './topology.js';

function line(...words: (string | number)[]): string {
  return words.map((w) => shellQuote(String(w))).join(' ');
}

/**
 * /etc/lab/network.sh: one iproute2 `ip -batch` for the bridges, namespaces
 * and veth pairs, then `start` for each host with its addresses and routes as
 * busybox `ip` lines on stdin (see rc.sh: each program started costs tens of
 * milliseconds under TCG, busybox applets almost nothing).
 */
export function networkScript(segments: readonly LabSegment[] = SEGMENTS, hosts: readonly LabHost[] = HOSTS): string {
  const bridge = new Map(segments.map((s) => [s.name, s.bridge]));
  const root: string[] = [];
  for (const s of segments) root.push(`link add ${s.bridge} type bridge`, `link set ${s.bridge} up`, `addr add ${s.jumpAddress} dev ${s.bridge}`);
  for (const h of hosts) {
    root.push(`netns add ${h.name}`);
    for (const i of h.interfaces) {
      const veth = rootVethName(h, i.dev);
      root.push(`link add ${veth} type veth peer name ${i.dev} netns ${h.name}`, `link set ${veth} master ${bridge.get(i.segment)!} up`);
    }
  }
  const out = [
    '# Generated from lab/topology.ts by lab/guest-files.ts; sourced by /etc/lab/rc.sh.',
    '',
    '# Segments (bridges with the jump host\'s leg), hosts (namespaces) and their veth legs.',
    "ip -batch - <<'EOF'",
    ...root,
    'EOF',
  ];
  for (const h of hosts) {
    const inside = ['ip link set lo up'];
    for (const i of h.interfaces) inside.push(`ip addr add ${i.cidr} dev ${i.dev}`, `ip link set ${i.dev} up`);
    if (h.gateway) inside.push(`ip route add default via ${h.gateway}`);
    for (const r of h.routes) inside.push(`ip route add ${r.dst} via ${r.via}`);
    out.push('', `# ${h.name} (${h.role}): start HOST FORWARDING [HTTP_PORT...], its network on stdin`, `${line('start', h.name, h.forwarding ? 1 : 0, ...h.http)} <<'EOF'`, ...inside, 'EOF');
  }
  return out.join('\n') + '\n';
}

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'sshd:x:100:65534::/run/sshd:/usr/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
].join('\n') + '\n';

export const GROUP = ['root:x:0:', 'tty:x:5:', 'nogroup:x:65534:'].join('\n') + '\n';

// A last-change day other than 0: with UsePAM no, sshd treats 0 as "password must be changed now".
export const SHADOW = ['root:*:19000:0:99999:7:::', 'sshd:*:19000:0:99999:7:::', 'nobody:*:19000:0:99999:7:::'].join('\n') + '\n';

export const NSSWITCH = ['passwd: files', 'group: files', 'shadow: files', 'hosts: files', 'services: files', 'protocols: files'].join('\n') + '\n';

export const PROFILE = ['export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'PS1="$(hostname):\\w# "', ''].join('\n');

/** /etc/hosts: every lab host by each of its addresses. */
export function hostsFile(hosts: readonly LabHost[] = HOSTS, segments: readonly LabSegment[] = SEGMENTS): string {
  const out = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback'];
  for (const s of segments) out.push(`${addressOf(s.jumpAddress)} ${JUMP}`);
  for (const h of hosts) for (const i of h.interfaces) out.push(`${addressOf(i.cidr)} ${h.name}`);
  return out.join('\n') + '\n';
}

/** The guest's shell library of daemon starts and stops (lab/guest/daemons.sh), shared by rc.sh and the tests' sessions. */
export const DAEMONS_LIB = '/usr/lib/lab/daemons.sh';

/** Where a host's web server on `port` serves its files from (lab/guest/daemons.sh says the same). */
export function documentRoot(host: string, port: number): string {
  return `/srv/www/${host}/${port}`;
}

/** The page a real server answers on `port` (its index.html): the e2e tests tell servers apart by it. */
export function webPage(host: string, port: number): string {
  return `${host} port ${port}\n`;
}

/** The file behind the health URL (HEALTH_PATH) of a host's web server on `port`, and what it holds. */
export function healthFile(host: string, port: number): { readonly path: string; readonly text: string } {
  return { path: `${documentRoot(host, port)}${HEALTH_PATH}`, text: `ok ${host} port ${port}\n` };
}

/**
 * The host's /etc/dnsmasq.conf (hosts with `dns`): a DNS server on the host's
 * address only (UDP and TCP), with no upstream and no /etc/hosts, answering
 * HEALTH_NAME with an A record of that address (its AAAA query with no
 * answer, other names of its domain with NXDOMAIN, the rest REFUSED); dropping
 * root for nobody.
 */
export function dnsmasqConf(host: LabHost): string {
  const address = sshAddress(host);
  const domain = HEALTH_NAME.slice(HEALTH_NAME.indexOf('.') + 1);
  return [
    `# Generated from lab/topology.ts by lab/guest-files.ts: ${host.name}'s DNS server, for DNS health checks.`,
    '# Started at boot (and by tests) as lab_dns_start in /usr/lib/lab/daemons.sh does.',
    `listen-address=${address}`,
    'bind-interfaces',
    `port=${DNS_PORT}`,
    'no-resolv',
    'no-hosts',
    `host-record=${HEALTH_NAME},${address}`,
    `local=/${domain}/`,
    'pid-file=/run/dnsmasq.pid',
    'log-facility=/var/log/dnsmasq.log',
    'user=nobody',
    'group=nogroup',
    '',
  ].join('\n');
}
