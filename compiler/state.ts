/**
 * The LVS-relevant state of one host, as plain data. The compiler builds the
 * desired state in these types and the agents read live state into them, so
 * that the diff is one function over two values of one type.
 *
 * Canonical forms (both sides must use them, or the diff sees phantom changes):
 * - addresses: IPv4 dotted quad; IPv6 RFC 5952 (lower case, longest zero run as ::),
 *   via `canonicalAddress` in lang/address.ts;
 * - durations: whole seconds;
 * - scheduler flags: sorted by name (`sh-fallback` before `sh-port`);
 * - lists whose order does not matter are compared by key, never by position.
 */
import type { PersistenceEngine, TunCsum, TunnelLinkKind, TunType } from './lvs.js';

export type Proto = 'tcp' | 'udp' | 'sctp';
export type Method = 'nat' | 'dr' | 'tun';
export type Family = 4 | 6;

/** What identifies an IPVS virtual service. */
export type ServiceId =
  | { readonly kind: 'addr'; readonly proto: Proto; readonly address: string; readonly port: number }
  | { readonly kind: 'fwmark'; readonly mark: number; readonly family: Family };

export interface Persistence {
  /** Seconds. */
  readonly timeout: number;
  /** IPv4: dotted netmask; IPv6: prefix length as a decimal string. Absent = the kernel default (all ones). */
  readonly netmask?: string;
}

/** What identifies a destination within its service. */
export interface DestinationId {
  readonly address: string;
  /** 0 for fwmark services. */
  readonly port: number;
}

export interface IpvsDestination {
  readonly address: string;
  /** 0 for fwmark services. */
  readonly port: number;
  readonly method: Method;
  readonly tunType?: TunType;
  /** GUE only. */
  readonly tunPort?: number;
  /** GUE/GRE checksum option as ipvsadm prints it. */
  readonly tunCsum?: TunCsum;
  readonly weight: number;
  /** Connection thresholds (-x upper, -y lower); 0 means none. */
  readonly upper: number;
  readonly lower: number;
}

export interface IpvsService {
  readonly id: ServiceId;
  readonly scheduler: string;
  /** Scheduler flags by name, sorted: sh-fallback sh-port mh-fallback mh-port flag-1 flag-2 flag-3. */
  readonly flags: readonly string[];
  readonly persistence?: Persistence;
  /** Persistence engine. */
  readonly pe?: PersistenceEngine;
  /** One-packet scheduling (UDP). */
  readonly ops: boolean;
  readonly destinations: readonly IpvsDestination[];
  /**
   * Desired state only: `keepalived` when keepalived programs this service
   * (it has health checks); lvsc's ipvsadm then never writes it. Absent in
   * live state and for lvsc's own services.
   */
  readonly owner?: 'keepalived';
  /**
   * Desired state only, with `owner: 'keepalived'`: what keepalived does with
   * the service's servers, which the diff needs to tell its doing from drift —
   * a failing server kept at weight 0 (`quiesce`) or taken out, and the sorry
   * server it adds while no server passes its check.
   */
  readonly keepalived?: { readonly quiesce: boolean; readonly sorry?: IpvsDestination };
}

/** `ipvsadm --set`, seconds; 0 = leave the kernel's value. */
export interface Timeouts {
  readonly tcp: number;
  readonly tcpfin: number;
  readonly udp: number;
}

export interface SyncDaemon {
  readonly state: 'master' | 'backup';
  readonly mcastInterface: string;
  readonly syncid: number;
}

export interface AddressState {
  readonly dev: string;
  readonly address: string;
  readonly prefix: number;
  /** IPv4 label such as `lo:lvs`; lvsc marks what it owns with the `:lvs` label. */
  readonly label?: string;
}

export interface RouteState {
  /** `default` or a CIDR (canonical, network address). */
  readonly dst: string;
  readonly via?: string;
  readonly dev?: string;
  /** Routing protocol tag; lvsc's own routes carry `static` plus a `lvsc` metric marker where needed. */
  readonly proto?: string;
}

/** A tunnel or decapsulation device lvsc needs (tunl0 for ipip, gre0, a fou port). */
export interface LinkState {
  readonly name: string;
  readonly kind: TunnelLinkKind | 'fou';
  readonly up: boolean;
  /** fou: the UDP port it listens on. */
  readonly port?: number;
}

/** One nftables rule of lvsc's own table that marks packets for a fwmark service. */
export interface FwmarkRule {
  readonly family: Family;
  readonly proto: Proto;
  readonly address: string;
  readonly ports: readonly number[];
  readonly mark: number;
}

export interface HostState {
  /** The IPVS table; null where the host is not a director (lvsc neither reads nor changes it). */
  readonly ipvs: readonly IpvsService[] | null;
  readonly timeouts: Timeouts | null;
  readonly syncDaemons: readonly SyncDaemon[];
  readonly addresses: readonly AddressState[];
  readonly routes: readonly RouteState[];
  /** Full sysctl key (net.ipv4.conf.lo.arp_ignore) → value as `sysctl -n` prints it. */
  readonly sysctls: Readonly<Record<string, string>>;
  /** Kernel modules loaded (or, desired: needed). */
  readonly modules: readonly string[];
  readonly links: readonly LinkState[];
  readonly fwmarkRules: readonly FwmarkRule[];
  /**
   * systemd units enabled at boot (compiler/boot.ts): desired, the ones lvsc
   * needs enabled (keepalived on a director with checked services); live,
   * those of them that are.
   */
  readonly enabledUnits: readonly string[];
  /** Path → content of the files lvsc renders. */
  readonly files: Readonly<Record<string, string>>;
}

/** A host with nothing lvsc cares about. */
export function emptyHostState(): HostState {
  return {
    ipvs: null,
    timeouts: null,
    syncDaemons: [],
    addresses: [],
    routes: [],
    sysctls: {},
    modules: [],
    links: [],
    fwmarkRules: [],
    enabledUnits: [],
    files: {},
  };
}

/** The identity of a service as one string, for keyed maps and for humans: `tcp 10.1.0.100:80`, `fwmark 10 ipv6`. */
export function serviceKey(id: ServiceId): string {
  if (id.kind === 'fwmark') return `fwmark ${id.mark}${id.family === 6 ? ' ipv6' : ''}`;
  return `${id.proto} ${hostPort(id.address, id.port)}`;
}

/** `10.0.0.1:80` or `[2001:db8::1]:80`, as ipvsadm writes endpoints. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The identity of a destination within its service. */
export function destinationKey(d: DestinationId): string {
  return hostPort(d.address, d.port);
}
