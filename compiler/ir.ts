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
    }
  | {
      readonly kind: 'fwmark';
      readonly mark: number;
      readonly family: Family;
      readonly matches: readonly FwmarkMatch[];
      readonly origin: Span;
    };

export interface RealServer {
  readonly host: string;
  readonly hostSpan: Span;
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

/** The ports a service listens on (the VIP port, or every matched port). */
export function servicePorts(service: Service): number[] {
  const a = service.address;
  if (!a) return [];
  if (a.kind === 'vip') return [a.port];
  return [...new Set(a.matches.flatMap((m) => [...m.ports]))];
}

/** Director host names, active first. */
export function directorNames(cluster: Cluster): string[] {
  const d = cluster.directors;
  if (!d) return [];
  return d.backup ? [d.active, d.backup] : [d.active];
}
