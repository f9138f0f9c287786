/**
 * The lab's network as data: L2 segments (bridges in the guest's root
 * namespace) and hosts (one network namespace each, one veth leg per
 * segment). Everything else is derived from this one table: the guest's
 * network script, the SSH client files and examples/lab.lvs.
 *
 * Addresses are private and exist only inside the VM (qemu runs with
 * restrict=on); the guest root namespace has a leg on every segment and is the
 * SSH jump host, reached from the machine through a loopback port forward.
 */
import { contains, parseCidr } from '../lang/address.js';

export interface LabSegment {
  readonly name: string;
  /** Bridge device in the guest root namespace (at most 15 characters). */
  readonly bridge: string;
  /** The subnet, canonical CIDR. */
  readonly network: string;
  /** The guest root namespace's (jump host's) address on this segment, CIDR. */
  readonly jumpAddress: string;
}

export interface LabInterface {
  /** The device name inside the host's namespace. */
  readonly dev: string;
  readonly segment: string;
  /** CIDR: address and prefix. */
  readonly cidr: string;
}

export type LabRole = 'client' | 'director' | 'router' | 'real-server';

export interface LabHost {
  /** Host name, namespace name and lvsc host name. */
  readonly name: string;
  /** Extra names in the generated ssh_config. */
  readonly aliases: readonly string[];
  readonly role: LabRole;
  readonly interfaces: readonly LabInterface[];
  /** Default route at boot. */
  readonly gateway?: string;
  readonly routes: readonly { readonly dst: string; readonly via: string }[];
  /** net.ipv4.ip_forward=1 at boot (only the router; lvsc sets the director's itself). */
  readonly forwarding: boolean;
  /** Ports `busybox httpd` serves this host's page (and its health page, HEALTH_PATH) on. */
  readonly http: readonly number[];
  /** Whether the host runs a DNS server (dnsmasq) on its address, answering HEALTH_NAME with that address. */
  readonly dns: boolean;
}

/** What every real server's web server answers with its health page: a file in each port's document root, which a test can take away (lab/daemons.ts). */
export const HEALTH_PATH = '/healthz';
/** The name every real server's DNS server answers, with an A record of the server's own address. */
export const HEALTH_NAME = 'health.lab.test';
/** Where those DNS servers listen (UDP and TCP), on the server's first interface's address. */
export const DNS_PORT = 53;

/** The guest side of the forwarded SSH port: the jump sshd in the guest's root namespace. */
export const GUEST_JUMP_PORT = 22;
/** The loopback port on the machine that reaches the jump host (examples/lab.lvs names it). */
export const DEFAULT_HOST_PORT = 2222;

export const SEGMENTS: readonly LabSegment[] = [
  { name: 'outside', bridge: 'br-outside', network: '10.10.0.0/24', jumpAddress: '10.10.0.254/24' },
  { name: 'servers', bridge: 'br-servers', network: '10.20.0.0/24', jumpAddress: '10.20.0.254/24' },
  { name: 'remote', bridge: 'br-remote', network: '10.30.0.0/24', jumpAddress: '10.30.0.254/24' },
];

const WEB_PORTS = [80, 8080] as const;

function realServer(name: string, segment: string, cidr: string, gateway: string): LabHost {
  return { name, aliases: [], role: 'real-server', interfaces: [{ dev: 'eth0', segment, cidr }], gateway, routes: [], forwarding: false, http: WEB_PORTS, dns: true };
}

export const HOSTS: readonly LabHost[] = [
  // Outside the cluster, in another subnet than the servers, routed through the director (NAT replies come back through it).
  { name: 'client', aliases: [], role: 'client', interfaces: [{ dev: 'eth0', segment: 'outside', cidr: '10.10.0.10/24' }], gateway: '10.10.0.2', routes: [], forwarding: false, http: [], dns: false },
  {
    name: 'lb1',
    aliases: ['director'],
    role: 'director',
    interfaces: [
      { dev: 'eth0', segment: 'outside', cidr: '10.10.0.2/24' },
      { dev: 'eth1', segment: 'servers', cidr: '10.20.0.2/24' },
    ],
    gateway: '10.10.0.1',
    routes: [{ dst: '10.30.0.0/24', via: '10.20.0.1' }],
    forwarding: false,
    http: [],
    dns: false,
  },
  // The second director, on the same segments as lb1: the backup of the failover pair (FAILOVER); examples/lab.lvs leaves it out.
  {
    name: 'lb2',
    aliases: [],
    role: 'director',
    interfaces: [
      { dev: 'eth0', segment: 'outside', cidr: '10.10.0.3/24' },
      { dev: 'eth1', segment: 'servers', cidr: '10.20.0.3/24' },
    ],
    gateway: '10.10.0.1',
    routes: [{ dst: '10.30.0.0/24', via: '10.20.0.1' }],
    forwarding: false,
    http: [],
    dns: false,
  },
  // Joins the three segments: the servers' default gateway (DR replies leave through it) and the way to the remote site (TUN).
  {
    name: 'router',
    aliases: [],
    role: 'router',
    interfaces: [
      { dev: 'eth0', segment: 'outside', cidr: '10.10.0.1/24' },
      { dev: 'eth1', segment: 'servers', cidr: '10.20.0.1/24' },
      { dev: 'eth2', segment: 'remote', cidr: '10.30.0.1/24' },
    ],
    routes: [],
    forwarding: true,
    http: [],
    dns: false,
  },
  // web1, web2: DR servers; web3, web4: NAT servers (a host cannot be both: NAT needs the director as its gateway, DR must not have it).
  realServer('web1', 'servers', '10.20.0.11/24', '10.20.0.1'),
  realServer('web2', 'servers', '10.20.0.12/24', '10.20.0.1'),
  realServer('web3', 'servers', '10.20.0.13/24', '10.20.0.1'),
  realServer('web4', 'servers', '10.20.0.14/24', '10.20.0.1'),
  // The remote site, reached by IP-in-IP tunnels through the router.
  realServer('remote1', 'remote', '10.30.0.21/24', '10.30.0.1'),
  realServer('remote2', 'remote', '10.30.0.22/24', '10.30.0.1'),
];

/** The director examples/lab.lvs declares (`director lb1`), and the one the smoke test sets up by hand. */
export const DIRECTOR = 'lb1';

/**
 * The lab's failover pair (lab/cluster-file.ts `failoverClusterFileText`):
 * the directors in order of preference, the VRRP router id on the outside
 * segment, and the floating addresses that move with the VIPs, the client's
 * gateway on the outside segment and the NAT servers' on the servers' one;
 * connections are synced on the servers' segment.
 */
export const FAILOVER = {
  directors: ['lb1', 'lb2'],
  vrrpId: 51,
  segment: 'outside',
  floating: { outside: '10.10.0.5/24', servers: '10.20.0.5/24' },
  sync: { segment: 'servers', id: 7 },
} as const;

export type LabMethod = 'dr' | 'nat' | 'tun';

/** One service per forwarding method: what examples/lab.lvs declares and what the smoke test sets up by hand. */
export interface LabService {
  readonly method: LabMethod;
  readonly vip: string;
  readonly port: number;
  /** The real servers' port (NAT remaps 80 to 8080). */
  readonly serverPort: number;
  readonly servers: readonly string[];
}

export const SERVICES: Readonly<Record<LabMethod, LabService>> = {
  // On the servers' segment: DR needs the VIP where the director shares L2 with web1 and web2.
  dr: { method: 'dr', vip: '10.20.0.100', port: 80, serverPort: 80, servers: ['web1', 'web2'] },
  nat: { method: 'nat', vip: '10.10.0.100', port: 80, serverPort: 8080, servers: ['web3', 'web4'] },
  tun: { method: 'tun', vip: '10.10.0.110', port: 80, serverPort: 80, servers: ['remote1', 'remote2'] },
};

export function addressOf(cidr: string): string {
  return cidr.slice(0, cidr.indexOf('/'));
}

/** The address SSH reaches a host on: its first interface's. */
export function sshAddress(host: LabHost): string {
  return addressOf(host.interfaces[0].cidr);
}

export function labHost(name: string): LabHost | undefined {
  return HOSTS.find((h) => h.name === name || h.aliases.includes(name));
}

/** The veth end left in the guest root namespace for `host`'s `dev` (a bridge port). */
export function rootVethName(host: LabHost, dev: string): string {
  const name = `v-${host.name}-${dev}`;
  if (name.length > 15) throw new Error(`bug: veth name ${name} is longer than 15 characters`);
  return name;
}

/** Inconsistencies in the tables above (addresses outside their segment, unreachable gateways, clashes); empty when sound. */
export function topologyProblems(segments: readonly LabSegment[] = SEGMENTS, hosts: readonly LabHost[] = HOSTS): string[] {
  const problems: string[] = [];
  const byName = new Map(segments.map((s) => [s.name, s]));
  const seen = new Map<string, string>();
  const claim = (address: string, owner: string) => {
    const prior = seen.get(address);
    if (prior) problems.push(`${address} is used by both ${prior} and ${owner}`);
    seen.set(address, owner);
  };
  for (const s of segments) {
    const net = parseCidr(s.network);
    if (!net) problems.push(`segment ${s.name}: bad network ${s.network}`);
    else if (!contains(net, addressOf(s.jumpAddress))) problems.push(`segment ${s.name}: jump address ${s.jumpAddress} is outside ${s.network}`);
    if (s.bridge.length > 15) problems.push(`segment ${s.name}: bridge name ${s.bridge} is longer than 15 characters`);
    claim(addressOf(s.jumpAddress), `the jump host (${s.name})`);
  }
  for (const h of hosts) {
    for (const i of h.interfaces) {
      const seg = byName.get(i.segment);
      const net = seg && parseCidr(seg.network);
      if (!net) problems.push(`${h.name} ${i.dev}: unknown segment ${i.segment}`);
      else if (!contains(net, addressOf(i.cidr))) problems.push(`${h.name} ${i.dev}: ${i.cidr} is outside segment ${i.segment} (${seg.network})`);
      claim(addressOf(i.cidr), `${h.name} ${i.dev}`);
    }
    const onLink = (via: string) => h.interfaces.some((i) => contains(parseCidr(byName.get(i.segment)?.network ?? '0.0.0.0/32')!, via));
    if (h.gateway && !onLink(h.gateway)) problems.push(`${h.name}: gateway ${h.gateway} is on none of its segments`);
    for (const r of h.routes) if (!onLink(r.via)) problems.push(`${h.name}: route ${r.dst} via ${r.via} is on none of its segments`);
  }
  for (const [segment, cidr] of Object.entries(FAILOVER.floating)) {
    claim(addressOf(cidr), `the floating address on ${segment}`);
    const net = parseCidr(byName.get(segment)?.network ?? '0.0.0.0/32');
    if (!net || !contains(net, addressOf(cidr))) problems.push(`the floating address ${cidr} is outside segment ${segment}`);
  }
  for (const name of FAILOVER.directors) {
    const h = hosts.find((x) => x.name === name);
    if (!h || h.role !== 'director') problems.push(`the failover pair names ${name}, which is not a lab director`);
    else for (const seg of [FAILOVER.segment, ...Object.keys(FAILOVER.floating), FAILOVER.sync.segment]) if (!h.interfaces.some((i) => i.segment === seg)) problems.push(`${name} has no interface on ${seg}, which the failover pair uses`);
  }
  for (const s of Object.values(SERVICES)) {
    claim(s.vip, `the ${s.method} VIP`);
    for (const name of s.servers) {
      const h = hosts.find((x) => x.name === name);
      if (!h) problems.push(`the ${s.method} service names ${name}, which is not a lab host`);
      else if (!h.http.includes(s.serverPort)) problems.push(`${name} serves no page on port ${s.serverPort} for the ${s.method} service`);
    }
  }
  return problems;
}
