/**
 * The cluster IR: plain, typed data built from the AST by lower.ts, validated
 * once by validate/, and trusted by every later phase. Every node keeps an
 * `origin` span so a rule reports the node, never a line number.
 */
import type { Span } from '../lang/source.js';
import type { TunCsum, TunType } from './lvs.js';
import type { Family, Method, Proto } from './state.js';

export interface Cluster {
  /** Hosts in declaration order (names may repeat only when validation reports duplicate-host). */
  readonly hosts: readonly Host[];
  /** By name (the first declaration wins). */
  readonly hostsByName: ReadonlyMap<string, Host>;
  readonly directors: Directors | undefined;
  readonly timeouts: ClusterTimeouts | undefined;
  readonly services: readonly Service[];
}

export interface SshEndpoint {
  /** Address, DNS name or ~/.ssh/config alias (the host's name when no `ssh` was given). */
  readonly host: string;
  readonly isAddress: boolean;
  readonly port: number | undefined;
  readonly user: string | undefined;
  readonly keyFile: string | undefined;
  readonly sudo: boolean;
  /** Jump host, by lvsc host name. */
  readonly via: string | undefined;
  readonly viaSpan: Span | undefined;
  readonly origin: Span;
}

export interface Interface {
  readonly dev: string;
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
  /** The subnet as CIDR text, network address canonical: `10.1.0.0/24`. */
  readonly network: string;
  /** The L2 segment: the explicit `segment` name, or else the subnet. */
  readonly segment: string;
  readonly origin: Span;
}

export interface Gateway {
  readonly address: string;
  readonly family: Family;
  readonly origin: Span;
}

export interface Route {
  /** Destination network (canonical CIDR; `0.0.0.0/0` / `::/0` for default). */
  readonly dst: string;
  readonly dstPrefix: number;
  readonly via: string;
  readonly family: Family;
  readonly origin: Span;
}

export interface Host {
  readonly name: string;
  readonly nameSpan: Span;
  readonly origin: Span;
  readonly ssh: SshEndpoint;
  readonly interfaces: readonly Interface[];
  readonly gateways: readonly Gateway[];
  readonly routes: readonly Route[];
}

export interface Directors {
  /** The active director (holds the VIPs) and, for a pair, the warm standby. */
  readonly active: string;
  readonly activeSpan: Span;
  readonly backup: string | undefined;
  readonly backupSpan: Span | undefined;
  readonly sync: { readonly iface: string; readonly id: number; readonly origin: Span } | undefined;
  /** `failover vrrp ID on IFACE [unicast]` in a `director A B { ... }` block: the pair moves its VIPs by itself. */
  readonly failover: Failover | undefined;
  /** `advert D`: how often the active director announces itself (keepalived's `advert_int`; undefined = keepalived's 1 s). */
  readonly advert: { readonly ms: number; readonly origin: Span } | undefined;
  /** `failback after D` / `failback never`; undefined = the preferred director takes the VIPs back at once. */
  readonly failback: Failback | undefined;
  /** `floating ADDR/LEN on IFACE`: addresses only the active director holds (a NAT gateway behind the pair). */
  readonly floating: readonly FloatingAddress[];
  readonly origin: Span;
}

export interface Failover {
  readonly protocol: 'vrrp';
  /** The VRRP virtual router id (validated: 1..255). */
  readonly id: number;
  readonly idSpan: Span;
  /** The interface the VRRP adverts go out on, on both directors. */
  readonly iface: string;
  readonly ifaceSpan: Span;
  /** Adverts go to the other director by unicast (`unicast_peer`) instead of multicast. */
  readonly unicast: boolean;
  readonly origin: Span;
}

export type Failback =
  | { readonly mode: 'after'; readonly delayMs: number; readonly origin: Span }
  | { readonly mode: 'never'; readonly origin: Span };

export interface FloatingAddress {
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
  readonly iface: string;
  readonly addressSpan: Span;
  readonly ifaceSpan: Span;
  readonly origin: Span;
}

export interface ClusterTimeouts {
  /** Seconds; 0 = not given (the kernel's value stays). */
  readonly tcp: number;
  readonly tcpfin: number;
  readonly udp: number;
  readonly origin: Span;
}

export interface Forward {
  readonly method: Method;
  readonly tunType: TunType | undefined;
  readonly tunPort: number | undefined;
  readonly tunCsum: TunCsum | undefined;
  readonly origin: Span;
}

export interface FwmarkMatch {
  readonly proto: Proto;
  readonly address: string;
  readonly family: Family;
  readonly ports: readonly number[];
  readonly origin: Span;
}

export type ServiceAddress =
  | {
      readonly kind: 'vip';
      readonly proto: Proto;
      readonly address: string;
      readonly family: Family;
      readonly port: number;
      readonly origin: Span;
      readonly addressSpan: Span;
      readonly protoSpan: Span;
      /** 0 = every port (IPVS's port-zero service, valid only with persistence). */
      readonly portSpan: Span;
    }
  | {
      readonly kind: 'fwmark';
      readonly mark: number;
      readonly family: Family;
      readonly matches: readonly FwmarkMatch[];
      readonly origin: Span;
    };

/** Timing of a health check. Durations in milliseconds (keepalived takes fractional seconds). */
export interface CheckTiming {
  /** `every D`: one check per period, and between the retries of a failing check. */
  readonly everyMs: number;
  /** `timeout D`: how long one check may take (keepalived's `connect_timeout`, `misc_timeout` for exec). */
  readonly timeoutMs: number;
  /** `retries N`: failed checks after the first before the server counts as down (keepalived's `retry`). */
  readonly retries: number;
  /** Where each was written; undefined = the default. */
  readonly everySpan: Span | undefined;
  readonly timeoutSpan: Span | undefined;
  readonly retriesSpan: Span | undefined;
}

/** The language's defaults: `every 2s timeout 1s retries 1`. */
export const CHECK_DEFAULTS = { everyMs: 2000, timeoutMs: 1000, retries: 1 } as const;

interface CheckBase {
  /** The whole `check ...` clause. */
  readonly origin: Span;
  readonly timing: CheckTiming;
}

/** `check tcp [port N]`: healthy while a TCP connection opens (keepalived `TCP_CHECK`). */
export interface TcpCheck extends CheckBase {
  readonly kind: 'tcp';
  /** undefined = the server's port. */
  readonly port: number | undefined;
  readonly portSpan: Span | undefined;
}

/** `check http|https [port N] [path "P"] [status C | C-C] [host "NAME"]` (`HTTP_GET` / `SSL_GET`). */
export interface HttpCheck extends CheckBase {
  readonly kind: 'http' | 'https';
  readonly port: number | undefined;
  readonly portSpan: Span | undefined;
  /** Default `/`. */
  readonly path: string;
  readonly pathSpan: Span | undefined;
  /** Accepted statuses, inclusive; default 200-200. */
  readonly status: { readonly min: number; readonly max: number };
  readonly statusSpan: Span | undefined;
  /** The Host header (and, over TLS, the SNI name); undefined = keepalived's default (the server's address). */
  readonly host: string | undefined;
  readonly hostSpan: Span | undefined;
}

/** `check dns name "N" [type T] [port N]`: healthy while the server answers the query (`DNS_CHECK`). */
export interface DnsCheck extends CheckBase {
  readonly kind: 'dns';
  readonly port: number | undefined;
  readonly portSpan: Span | undefined;
  readonly name: string;
  readonly nameSpan: Span;
  /** As written (validated against keepalived's list, case-insensitively); default `A`. */
  readonly type: string;
  readonly typeSpan: Span | undefined;
}

/** `check exec "/ABSOLUTE/PATH" [args "A"...]`: the operator's program on the director, exit 0 = healthy (`MISC_CHECK`). */
export interface ExecCheck extends CheckBase {
  readonly kind: 'exec';
  readonly path: string;
  readonly pathSpan: Span;
  readonly args: readonly { readonly value: string; readonly span: Span }[];
}

/** `check none` on a server: this server is not checked (always up). */
export interface NoCheck {
  readonly kind: 'none';
  readonly origin: Span;
}

export type HealthCheck = TcpCheck | HttpCheck | DnsCheck | ExecCheck | NoCheck;
/** A check that runs (every kind but `none`). */
export type ActiveCheck = Exclude<HealthCheck, NoCheck>;

/** `on-failure quiesce | remove`: what a failing server gets (weight 0, the default, or leaving the table). */
export interface OnFailure {
  readonly mode: 'quiesce' | 'remove';
  /** undefined = not written (the default, quiesce). */
  readonly origin: Span | undefined;
}

export interface RealServer {
  /** `server` for a `server` line; `sorry` for the service's `sorry HOST [port N]`, reached like its servers. */
  readonly role: 'server' | 'sorry';
  readonly host: string;
  readonly hostSpan: Span;
  /** `address ADDR` (canonical): the one of the host's addresses the director sends to; undefined = lvsc chooses (topology.ts). */
  readonly address: string | undefined;
  readonly addressSpan: Span | undefined;
  /** Port given with `port`, or undefined (then the VIP's port; 0 on fwmark services). */
  readonly port: number | undefined;
  readonly portSpan: Span | undefined;
  /** Effective weight: `drain` makes it 0; default 1. */
  readonly weight: number;
  readonly weightGiven: boolean;
  readonly upper: number;
  readonly lower: number;
  readonly thresholdSpan: Span | undefined;
  readonly drain: boolean;
  /** The server's own `forward`, else the service's (undefined when neither is given or valid). */
  readonly forward: Forward | undefined;
  /** Whether a `forward` was written for this server or its service (even one lowering rejected). */
  readonly forwardWritten: boolean;
  /**
   * The check that decides this server's health: its own `check` (possibly
   * `none`), else the service's; undefined when neither is written. The same
   * object as `service.check` when inherited. Always undefined for a sorry server.
   */
  readonly check: HealthCheck | undefined;
  readonly origin: Span;
}

export interface Service {
  readonly name: string;
  readonly nameSpan: Span;
  readonly origin: Span;
  /** undefined only when the file gave neither `vip` nor `fwmark` (reported by validation). */
  readonly address: ServiceAddress | undefined;
  readonly scheduler: string;
  readonly schedulerSpan: Span | undefined;
  readonly flags: readonly { readonly name: string; readonly span: Span }[];
  readonly persistence:
    | { readonly timeout: number; readonly netmask: string | undefined; readonly netmaskSpan: Span | undefined; readonly engine: string | undefined; readonly engineSpan: Span | undefined; readonly origin: Span }
    | undefined;
  readonly ops: Span | undefined;
  readonly forward: Forward | undefined;
  readonly servers: readonly RealServer[];
  /** The service's `check`, which every server without its own inherits. */
  readonly check: HealthCheck | undefined;
  readonly onFailure: OnFailure;
  /** `sorry HOST [port N]`: takes the traffic only while no server passes its check (role `sorry`, the service's forward). */
  readonly sorry: RealServer | undefined;
}

/** The family of a service (IPv4 unless its VIP or marks are IPv6). */
export function serviceFamily(service: Service): Family {
  return service.address?.family ?? 4;
}

/** The protocols a service carries (one for a VIP service, the matches' for fwmark). */
export function serviceProtos(service: Service): Proto[] {
  const a = service.address;
  if (!a) return [];
  if (a.kind === 'vip') return [a.proto];
  return [...new Set(a.matches.map((m) => m.proto))];
}

/** The VIP addresses a service needs on the director. */
export function serviceVips(service: Service): { address: string; family: Family; origin: Span }[] {
  const a = service.address;
  if (!a) return [];
  if (a.kind === 'vip') return [{ address: a.address, family: a.family, origin: a.addressSpan }];
  const seen = new Set<string>();
  const out: { address: string; family: Family; origin: Span }[] = [];
  for (const m of a.matches) {
    if (seen.has(m.address)) continue;
    seen.add(m.address);
    out.push({ address: m.address, family: m.family, origin: m.origin });
  }
  return out;
}

/** Whether a service is IPVS's every-port service: a VIP with port 0 (`ipvsadm -A -t VIP:0 -p`). */
export function isAllPorts(service: Service): boolean {
  return service.address?.kind === 'vip' && service.address.port === 0;
}

/** The ports a service listens on (the VIP port, or every matched port; `[0]` for an every-port service). */
export function servicePorts(service: Service): number[] {
  const a = service.address;
  if (!a) return [];
  if (a.kind === 'vip') return [a.port];
  return [...new Set(a.matches.flatMap((m) => [...m.ports]))];
}

/** The check a server runs, or undefined when it has none (`check none`, or no check written). */
export function activeCheck(server: RealServer): ActiveCheck | undefined {
  const c = server.check;
  return c && c.kind !== 'none' ? c : undefined;
}

/** Whether the server wrote its own `check` (rather than inheriting the service's). */
export function ownCheck(server: RealServer, service: Service): HealthCheck | undefined {
  return server.check !== service.check ? server.check : undefined;
}

/**
 * Whether keepalived runs this service: some server of it has a check. Such a
 * service's IPVS entries are keepalived's on every director, lvsc's ipvsadm
 * never writes them (README: "Health checks and what runs where").
 */
export function isChecked(service: Service): boolean {
  return service.servers.some((s) => activeCheck(s) !== undefined);
}

/** The servers of a service and, when it has one, its sorry server. */
export function serversAndSorry(service: Service): readonly RealServer[] {
  return service.sorry ? [...service.servers, service.sorry] : service.servers;
}

/** Director host names, active first. */
export function directorNames(cluster: Cluster): string[] {
  const d = cluster.directors;
  if (!d) return [];
  return d.backup ? [d.active, d.backup] : [d.active];
}
