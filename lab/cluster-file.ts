/**
 * examples/lab.lvs: the lab's topology in the lvsc language, with one DR, one
 * NAT and one TUN service, generated from lab/topology.ts by `lab up`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { JUMP } from './keys.js';
import type { LabPaths } from './paths.js';
import { DEFAULT_HOST_PORT, DIRECTOR, FAILOVER, HOSTS, SEGMENTS, SERVICES, sshAddress, type LabHost, type LabMethod, type LabService } from './topology.js';

/** The lab's hosts that a cluster file declares: `directors` and the real servers (not the client, the router or another director). */
function declared(directors: readonly string[]): LabHost[] {
  return HOSTS.filter((h) => directors.includes(h.name) || h.role === 'real-server');
}

/** The device `director` has on `segment`, which both directors of the pair must share. */
function deviceOn(segment: string): string {
  const devs = new Set(FAILOVER.directors.map((name) => HOSTS.find((h) => h.name === name)?.interfaces.find((i) => i.segment === segment)?.dev));
  const [dev] = devs;
  if (devs.size !== 1 || !dev) throw new Error(`bug: the failover pair's directors have no one device on ${segment}`);
  return dev;
}

/** `failback after D` (a duration in the language, `30s`) or `failback never`. */
export type LabFailback = { readonly after: string } | 'never';

/** The lab's failover pair as a director block (see FAILOVER in lab/topology.ts). */
function failoverBlock(failback: LabFailback): string[] {
  return [
    `director ${FAILOVER.directors.join(' ')} {`,
    `  failover vrrp ${FAILOVER.vrrpId} on ${deviceOn(FAILOVER.segment)}`,
    '  advert 1s',
    `  failback ${failback === 'never' ? 'never' : `after ${failback.after}`}`,
    ...Object.entries(FAILOVER.floating).map(([segment, cidr]) => `  floating ${cidr} on ${deviceOn(segment)}`),
    `  sync ${deviceOn(FAILOVER.sync.segment)} id ${FAILOVER.sync.id}`,
    '}',
  ];
}

function hostBlock(h: LabHost, natServers: ReadonlySet<string>): string[] {
  const out = [`host ${h.name} {`, `  ssh ${sshAddress(h)} via ${JUMP}`];
  for (const i of h.interfaces) out.push(`  interface ${i.dev} ${i.cidr} segment ${i.segment}`);
  // A NAT server's gateway must be the director's DIP, and lvsc sets that route itself (the lab boots it via the router).
  if (h.gateway && !natServers.has(h.name)) out.push(`  gateway ${h.gateway}`);
  for (const r of h.routes) out.push(`  route ${r.dst} via ${r.via}`);
  out.push('}');
  return out;
}

/** How each lab service is balanced in the cluster file, with a comment above it. */
const BALANCING: Record<LabMethod, { comment: string; scheduler: string; weights?: readonly number[] }> = {
  dr: { comment: 'Direct routing: replies leave the servers through the router, not the director.', scheduler: 'rr' },
  nat: { comment: 'NAT: the servers answer on another port; their replies pass back through the director.', scheduler: 'wrr', weights: [2, 1] },
  tun: { comment: 'IP-in-IP tunnels to the remote site, routed through the router.', scheduler: 'lc' },
};

function serviceBlock(s: LabService): string[] {
  const b = BALANCING[s.method];
  const out = [`# ${b.comment}`, `service web-${s.method} {`, `  vip ${s.vip} tcp ${s.port}`, `  scheduler ${b.scheduler}`, `  forward ${s.method}`];
  s.servers.forEach((name, i) => {
    const port = s.serverPort !== s.port ? ` port ${s.serverPort}` : '';
    const weight = b.weights ? ` weight ${b.weights[i]}` : '';
    out.push(`  server ${name}${port}${weight}`);
  });
  out.push('}');
  return out;
}

export function clusterFileText(port: number = DEFAULT_HOST_PORT): string {
  return clusterText(port, [DIRECTOR], [`director ${DIRECTOR}`]);
}

/**
 * The lab's cluster as a failover pair: examples/lab.lvs's hosts and services
 * with lb2 beside lb1, behind one `director lb1 lb2 { failover vrrp ... }`
 * block: the VIPs and the floating addresses (the client's gateway and the
 * NAT servers') move between them by VRRP, and connections are synced.
 */
export function failoverClusterFileText(port: number, failback: LabFailback): string {
  return clusterText(port, FAILOVER.directors, failoverBlock(failback));
}

function clusterText(port: number, directors: readonly string[], directorLines: readonly string[]): string {
  const services = Object.values(SERVICES);
  const segments = SEGMENTS.map((seg) => {
    const members = HOSTS.filter((h) => h.interfaces.some((i) => i.segment === seg.name)).map((h) => h.name);
    return `#   ${seg.name.padEnd(8)} ${seg.network.padEnd(13)} ${members.join(', ')}`;
  });
  const lines = [
    '# The lvsc lab: a VM booting a real Debian kernel with IPVS (`lvsc lab up`, or `lvsc lab demo`).',
    '# Written by `lab up` from lab/topology.ts. Every host is a network namespace in the VM,',
    `# reached through the VM's jump sshd on 127.0.0.1:${port}. When port ${DEFAULT_HOST_PORT} is taken, \`lab up\``,
    '# picks another and writes the file for it to .lab/lab.lvs instead.',
    '#',
    '# Segments (bridges in the VM):',
    ...segments,
    '# The client routes through lb1; the router joins the segments (DR and TUN replies pass it).',
    `# Once applied, try a VIP from the client: lvsc lab ssh client -- curl -s http://${SERVICES.dr.vip}/`,
    '',
    'defaults {',
    '  ssh user root',
    '  ssh key ".lab/id_ed25519"',
    '}',
    '',
    `host ${JUMP} {`,
    `  ssh root@127.0.0.1:${port}`,
    '}',
    '',
  ];
  const nat = new Set(SERVICES.nat.servers);
  for (const h of declared(directors)) lines.push(...hostBlock(h, nat), '');
  lines.push(...directorLines, '');
  for (const s of services) lines.push(...serviceBlock(s), '');
  return lines.join('\n').trimEnd() + '\n';
}

/**
 * Writes the cluster file for a lab on `port`: examples/lab.lvs on the default
 * port (only when its text differs, so the committed file stays untouched), else
 * `.lab/lab.lvs`, so another checkout's lab on 2222 never dirties this one.
 * Returns the file that describes this lab and whether it was written.
 */
export function writeClusterFile(paths: LabPaths, port: number): { path: string; written: boolean } {
  const path = port === DEFAULT_HOST_PORT ? paths.clusterFile : paths.otherPortClusterFile;
  const text = clusterFileText(port);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return { path, written: false };
  writeFileSync(path, text);
  return { path, written: true };
}
