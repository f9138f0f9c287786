/**
 * The syntax tree of one .lvs file: plain nodes, each with its source span,
 * statements kept in source order (the formatter needs the order; lowering to
 * the IR groups them). Literal values are already checked and typed by
 * to-ast.ts and values.ts, and keep their source text so the formatter can print them as written.
 */
import type { Span } from './source.js';

/** A node under construction (to-ast.ts, values.ts fill in optional parts one by one). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A literal or name: its typed value, its text as written, where it stands. */
export interface Lit<T> {
  readonly value: T;
  readonly text: string;
  readonly span: Span;
}

/** A name such as a host or interface name (`[a-z][a-z0-9_-]*` for hosts and services). */
export type Name = Lit<string>;

export interface Comment {
  /** The comment text including its leading `#`. */
  readonly text: string;
  readonly span: Span;
}

export interface AstFile {
  readonly path: string;
  readonly items: readonly Item[];
  /** Every comment of the file in source order (the formatter re-attaches them by position). */
  readonly comments: readonly Comment[];
}

export type Item = DefaultsNode | HostNode | DirectorNode | TimeoutsNode | ServiceNode;

// ---------------------------------------------------------------- ssh

/** An SSH endpoint as written after `ssh`: `[user@]addr[:port]`, `[v6]:port`, or an ~/.ssh/config alias. */
export interface SshTarget {
  readonly user?: Name;
  /** An address (canonical) or an ssh-config alias / DNS name. */
  readonly host: Lit<string>;
  readonly isAddress: boolean;
  readonly port?: Lit<number>;
  readonly span: Span;
}

/** `ssh [target] [user U] [key "K"] [port N] [via HOST] [sudo]`; in `defaults` there is no target. A bare `sudo` statement in defaults is an SshStmt with only `sudo` and `bare: true`. */
export interface SshStmt {
  readonly kind: 'ssh';
  readonly span: Span;
  readonly target?: SshTarget;
  readonly user?: Name;
  readonly key?: Lit<string>;
  readonly port?: Lit<number>;
  readonly via?: Name;
  readonly sudo?: Span;
  /** True for the bare `sudo` statement of a defaults block. */
  readonly bare?: boolean;
}

export interface DefaultsNode {
  readonly kind: 'defaults';
  readonly span: Span;
  readonly body: readonly SshStmt[];
}

// ---------------------------------------------------------------- hosts

export interface CidrValue {
  readonly address: string; // canonical, host bits kept
  readonly prefix: number;
  readonly family: 4 | 6;
}

/** `interface DEV ADDR/PREFIX [segment NAME]` */
export interface InterfaceStmt {
  readonly kind: 'interface';
  readonly span: Span;
  readonly dev: Name;
  readonly cidr: Lit<CidrValue>;
  readonly segment?: Name;
}

/** `gateway ADDR` */
export interface GatewayStmt {
  readonly kind: 'gateway';
  readonly span: Span;
  readonly address: Lit<string>;
}

/** `route CIDR via ADDR` (`default` is accepted as the CIDR and means 0.0.0.0/0 or ::/0 by the family of `via`). */
export interface RouteStmt {
  readonly kind: 'route';
  readonly span: Span;
  readonly dst: Lit<CidrValue | 'default'>;
  readonly via: Lit<string>;
}

export type HostStmt = SshStmt | InterfaceStmt | GatewayStmt | RouteStmt;

export interface HostNode {
  readonly kind: 'host';
  readonly span: Span;
  readonly name: Name;
  readonly body: readonly HostStmt[];
}

// ---------------------------------------------------------------- director, timeouts

/** `director A [B] [sync IFACE [id N]] [{ ... }]` */
export interface DirectorNode {
  readonly kind: 'director';
  readonly span: Span;
  readonly hosts: readonly Name[];
  /** `sync` on the director line itself. */
  readonly sync?: { readonly span: Span; readonly iface: Name; readonly id?: Lit<number> };
  /** The block's statements, when the director is written with a block (`{}` included). */
  readonly body?: readonly DirectorStmt[];
}

/** `failover PROTOCOL ID on IFACE [unicast]` — the protocol as written (lowering knows `vrrp`). */
export interface FailoverStmt {
  readonly kind: 'failover';
  readonly span: Span;
  readonly protocol: Name;
  readonly id: Lit<number>;
  readonly iface: Name;
  readonly unicast?: Span;
}

/** `advert D` (milliseconds). */
export interface AdvertStmt {
  readonly kind: 'advert';
  readonly span: Span;
  readonly interval: Lit<number>;
}

/** `failback after D` (milliseconds) or `failback never`. */
export interface FailbackStmt {
  readonly kind: 'failback';
  readonly span: Span;
  readonly after?: Lit<number>;
  readonly never?: Span;
}

/** `floating ADDR/LEN on IFACE` */
export interface FloatingStmt {
  readonly kind: 'floating';
  readonly span: Span;
  readonly cidr: Lit<CidrValue>;
  readonly iface: Name;
}

/** `sync IFACE [id N]` inside a director block. */
export interface DirectorSyncStmt {
  readonly kind: 'sync';
  readonly span: Span;
  readonly iface: Name;
  readonly id?: Lit<number>;
}

export type DirectorStmt = FailoverStmt | AdvertStmt | FailbackStmt | FloatingStmt | DirectorSyncStmt;

export interface TimeoutStmt {
  readonly kind: 'timeout';
  readonly span: Span;
  readonly which: Lit<'tcp' | 'tcpfin' | 'udp'>;
  /** Seconds. */
  readonly duration: Lit<number>;
}

export interface TimeoutsNode {
  readonly kind: 'timeouts';
  readonly span: Span;
  readonly body: readonly TimeoutStmt[];
}

// ---------------------------------------------------------------- services

export type Proto = 'tcp' | 'udp' | 'sctp';

/** `vip ADDR PROTO PORT` (IPv6 in brackets or bare). */
export interface VipStmt {
  readonly kind: 'vip';
  readonly span: Span;
  readonly address: Lit<string>;
  readonly proto: Lit<Proto>;
  readonly port: Lit<number>;
}

/** `match PROTO ADDR ports P[,P...]` inside a fwmark block. */
export interface MatchStmt {
  readonly kind: 'match';
  readonly span: Span;
  readonly proto: Lit<Proto>;
  readonly address: Lit<string>;
  readonly ports: readonly Lit<number>[];
}

/** `fwmark N [{ match ... }]` */
export interface FwmarkStmt {
  readonly kind: 'fwmark';
  readonly span: Span;
  readonly mark: Lit<number>;
  readonly matches: readonly MatchStmt[];
}

/** `scheduler S [flags F...]` — names are kept as written; validation checks them (with did-you-mean). */
export interface SchedulerStmt {
  readonly kind: 'scheduler';
  readonly span: Span;
  readonly name: Name;
  readonly flags: readonly Name[];
}

/** `persistence [D] [netmask M] [engine E]` — D defaults to 300s as in ipvsadm. */
export interface PersistenceStmt {
  readonly kind: 'persistence';
  readonly span: Span;
  /** Seconds. */
  readonly timeout?: Lit<number>;
  /** As written: a dotted IPv4 netmask or an IPv6 prefix length; validation checks it. */
  readonly netmask?: Lit<string>;
  readonly engine?: Name;
}

export interface OpsStmt {
  readonly kind: 'ops';
  readonly span: Span;
}

/** `forward METHOD [TUNTYPE] [port N] [CSUM]` — words kept as written; validation checks them. */
export interface ForwardSpec {
  readonly span: Span;
  readonly method: Name;
  readonly tunType?: Name;
  readonly tunPort?: Lit<number>;
  readonly csum?: Name;
}

export interface ForwardStmt {
  readonly kind: 'forward';
  readonly span: Span;
  readonly spec: ForwardSpec;
}

/**
 * `check KIND ["PROGRAM"] [port N] [path "P"] [status C|C-C] [host "H"] [name "N"]
 * [type T] [args "A"...] [every D] [timeout D] [retries N]`: options as written,
 * in any order; lowering knows the kinds and which options fit each.
 */
export interface CheckSpec {
  readonly span: Span;
  readonly kind: Name;
  readonly program?: Lit<string>;
  readonly port?: Lit<number>;
  readonly path?: Lit<string>;
  /** `C` or `C-C`, inclusive; the numbers as written (validation checks 100..599). */
  readonly status?: Lit<{ readonly min: number; readonly max: number }>;
  readonly host?: Lit<string>;
  readonly name?: Lit<string>;
  readonly type?: Name;
  /** `args "A" ...`: the span covers the keyword and every string. */
  readonly args?: { readonly span: Span; readonly values: readonly Lit<string>[] };
  /** Milliseconds. */
  readonly every?: Lit<number>;
  /** Milliseconds. */
  readonly timeout?: Lit<number>;
  readonly retries?: Lit<number>;
}

/** `check ...` as a service statement. */
export interface CheckStmt {
  readonly kind: 'check';
  readonly span: Span;
  readonly spec: CheckSpec;
}

/** `on-failure MODE` — the mode as written (lowering knows quiesce and remove). */
export interface OnFailureStmt {
  readonly kind: 'on-failure';
  readonly span: Span;
  readonly mode: Name;
}

/** `sorry HOST [address ADDR] [port N]` */
export interface SorryStmt {
  readonly kind: 'sorry';
  readonly span: Span;
  readonly host: Name;
  /** `address ADDR`: which of the host's addresses the director sends to (canonical). */
  readonly address?: Lit<string>;
  readonly port?: Lit<number>;
}

/** `server HOST [address ADDR] [port N] [weight W] [upper U] [lower L] [drain] [forward M ...] [check ...]` */
export interface ServerStmt {
  readonly kind: 'server';
  readonly span: Span;
  readonly host: Name;
  /** `address ADDR`: which of the host's addresses the director sends to (canonical). */
  readonly address?: Lit<string>;
  readonly port?: Lit<number>;
  readonly weight?: Lit<number>;
  readonly upper?: Lit<number>;
  readonly lower?: Lit<number>;
  readonly drain?: Span;
  readonly forward?: ForwardSpec;
  readonly check?: CheckSpec;
}

export type ServiceStmt =
  | VipStmt
  | FwmarkStmt
  | SchedulerStmt
  | PersistenceStmt
  | OpsStmt
  | ForwardStmt
  | CheckStmt
  | OnFailureStmt
  | SorryStmt
  | ServerStmt;

export interface ServiceNode {
  readonly kind: 'service';
  readonly span: Span;
  readonly name: Name;
  readonly body: readonly ServiceStmt[];
}
