/**
 * The LVS and Linux facts lvsc relies on, each written once: IPVS's schedulers,
 * their flags and ipvsadm's defaults, the tunnel types and what each needs on a
 * real server, the kernel modules, the sysctls lvsc sets with the kernel
 * defaults it puts back, and the marks by which lvsc knows its own addresses
 * and routes again. The compiler, the validation rules, the renderer and the
 * agents take them from here; nothing else spells them.
 *
 * Adding a tunnel type is one entry in `TUNNELS` below: the word the cluster
 * file accepts, validation, the desired state (modules, device, sysctls),
 * ipvsadm's options, the devices lvsc owns and the links fact follow from it.
 * (Only prose names the types besides: the documentation, and the syntax
 * hints in lang/syntax-errors.ts and lang/to-ast.ts.)
 */
import type { ForeignWord } from '../lang/suggest.js';
import type { Family } from './state.js';

// ------------------------------------------------------------------ IPVS

/** Every IPVS scheduler (kernel module `ip_vs_NAME`). */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const;

/** ipvsadm's scheduler when `-s` is not given (also what `-E` resets it to). */
/**
 * The forwarding methods as ipvsadm (`-g` gatewaying, `-m` masquerading, `-i`
 * ipip), ldirectord (`gate masq ipip`) and keepalived (`lb_kind DR|NAT|TUN`)
 * name them, for "did you mean": lvsc says `dr`, `nat` and `tun`.
 */
export const FOREIGN_METHODS: Readonly<Record<string, ForeignWord>> = {
  gate: { word: 'dr', whose: "ipvsadm's and ldirectord's word for direct routing (`-g`, gatewaying)" },
  gatewaying: { word: 'dr', whose: "ipvsadm's word for direct routing (`-g`)" },
  droute: { word: 'dr', whose: 'direct routing' },
  direct: { word: 'dr', whose: 'direct routing' },
  masq: { word: 'nat', whose: "ipvsadm's and ldirectord's word for NAT (`-m`, masquerading)" },
  masquerading: { word: 'nat', whose: "ipvsadm's word for NAT (`-m`)" },
  masquerade: { word: 'nat', whose: 'NAT' },
  ipip: { word: 'tun', whose: "ipvsadm's and ldirectord's word for IP tunnelling (`-i`); lvsc's `tun` uses ipip by default" },
  tunnel: { word: 'tun', whose: 'IP tunnelling' },
  tunneling: { word: 'tun', whose: 'IP tunnelling' },
  tunnelling: { word: 'tun', whose: 'IP tunnelling' },
};

export const DEFAULT_SCHEDULER = 'wlc';

/** ipvsadm's persistence timeout, in seconds, when `-p` has no number. */
export const DEFAULT_PERSISTENCE = 300;

/** The scheduler flags a cluster file may give, by scheduler: ipvsadm names them for sh and mh only. */
export const SCHEDULER_FLAGS: Readonly<Record<string, readonly [string, string]>> = {
  sh: ['sh-fallback', 'sh-port'],
  mh: ['mh-fallback', 'mh-port'],
};

const UNNAMED_FLAGS = ['flag-1', 'flag-2', 'flag-3'] as const;

/**
 * The three scheduler flag bits by the names ipvsadm gives them for a
 * scheduler: `sh` and `mh` name the first two, every other scheduler prints
 * `flag-1..3`. Index 0 is bit IP_VS_SVC_F_SCHED1.
 */
export function schedulerFlagNames(scheduler: string): readonly [string, string, string] {
  const named = SCHEDULER_FLAGS[scheduler];
  return named ? [named[0], named[1], UNNAMED_FLAGS[2]] : UNNAMED_FLAGS;
}

/** Which bit (0, 1, 2) a flag name stands for, whatever scheduler names it so. */
export const SCHEDULER_FLAG_BIT: ReadonlyMap<string, number> = new Map(
  [UNNAMED_FLAGS, ...Object.values(SCHEDULER_FLAGS)].flatMap((names) => names.map((name, bit) => [name, bit] as const)),
);

/** The persistence netmask that means "the whole address" (the kernel's default; `ipvsadm -S` leaves it out). */
export function allOnesNetmask(family: Family): string {
  return family === 4 ? '255.255.255.255' : '128';
}

// ------------------------------------------------------------------ kernel modules

export const IPVS_MODULE = 'ip_vs';
/** The NAT helper that rewrites the addresses FTP carries in its payload. */
export const FTP_HELPER_MODULE = 'ip_vs_ftp';
/** Foo-over-UDP: decapsulates GUE on a UDP port. */
export const FOU_MODULE = 'fou';

export function schedulerModule(scheduler: string): string {
  return `ip_vs_${scheduler}`;
}

/** IPVS's persistence engines (`--pe`), each a module `ip_vs_pe_NAME`. */
export const PERSISTENCE_ENGINES = ['sip'] as const;
export type PersistenceEngine = (typeof PERSISTENCE_ENGINES)[number];

export function isPersistenceEngine(word: string): word is PersistenceEngine {
  return (PERSISTENCE_ENGINES as readonly string[]).includes(word);
}

export function persistenceEngineModule(engine: PersistenceEngine): string {
  return `ip_vs_pe_${engine}`;
}

// ------------------------------------------------------------------ tunnels

/** The device a real server decapsulates a tunnel on, per outer family (the family of the RIP). */
interface TunnelDevice {
  /** The kernel's fallback device, which exists once the module is loaded. */
  readonly name: string;
  /** The device's kind as lvsc's link state names it. */
  readonly kind: string;
  /** The kind iproute2 reports (`ip -d link`: `linkinfo.info_kind`). */
  readonly ipKind: string;
  readonly module: string;
}

interface Tunnel {
  readonly devices: Readonly<Record<Family, TunnelDevice>>;
  /** Encapsulated in UDP: `forward tun T port N`, decapsulated by fou on that port. */
  readonly udpPort: boolean;
  /** Takes a checksum option (`csum`, `nocsum`, `remcsum`). */
  readonly checksum: boolean;
}

const IPIP_DEVICES = {
  4: { name: 'tunl0', kind: 'ipip', ipKind: 'ipip', module: 'ipip' },
  6: { name: 'ip6tnl0', kind: 'ip6tnl', ipKind: 'ip6tnl', module: 'ip6_tunnel' },
} as const;

/** The tunnel types of `forward tun` (ipvsadm `--tun-type`). Adding one here is all a new tunnel type takes. */
export const TUNNELS = {
  ipip: { devices: IPIP_DEVICES, udpPort: false, checksum: false },
  gue: { devices: IPIP_DEVICES, udpPort: true, checksum: true },
  gre: {
    devices: {
      4: { name: 'gre0', kind: 'gre', ipKind: 'gre', module: 'ip_gre' },
      6: { name: 'ip6gre0', kind: 'gre', ipKind: 'ip6gre', module: 'ip6_gre' },
    },
    udpPort: false,
    checksum: true,
  },
} as const satisfies Readonly<Record<string, Tunnel>>;

export type TunType = keyof typeof TUNNELS;

export const TUN_TYPES = Object.keys(TUNNELS) as readonly TunType[];

export function isTunType(word: string): word is TunType {
  return Object.hasOwn(TUNNELS, word);
}

/** The tunnel types that have a feature (a UDP port, a checksum option), in `TUNNELS` order. */
export function tunTypesWith(feature: 'udpPort' | 'checksum'): TunType[] {
  return TUN_TYPES.filter((t) => TUNNELS[t][feature]);
}

/** The tunnel type when none is given: what the kernel does, and what ipvsadm 1.29 and older print (no type). */
export const DEFAULT_TUN_TYPE: TunType = 'ipip';

export type TunnelLinkKind = (typeof TUNNELS)[TunType]['devices'][Family]['kind'];

/** Every tunnel device, by the kind iproute2 reports for it. */
export const TUNNEL_KIND_BY_IP_KIND: ReadonlyMap<string, TunnelLinkKind> = new Map(
  Object.values(TUNNELS).flatMap((t) => Object.values(t.devices).map((d) => [d.ipKind, d.kind] as const)),
);

/** The names of every tunnel device. */
export const TUNNEL_DEVICES: ReadonlySet<string> = new Set(Object.values(TUNNELS).flatMap((t) => Object.values(t.devices).map((d) => d.name)));

/** Devices lvsc owns whole (its VIPs on lo and on the tunnel devices): they get networkd files of their own. */
export const OWNED_DEVICES: ReadonlySet<string> = new Set(['lo', ...TUNNEL_DEVICES]);

/** A fou port as lvsc's link state names it (`fou:6080`): one link per UDP port it decapsulates on. */
export function fouLinkName(port: number): string {
  return `fou:${port}`;
}

export const TUN_CSUMS = ['nocsum', 'csum', 'remcsum'] as const;
export type TunCsum = (typeof TUN_CSUMS)[number];

/** The kernel's checksum option for GUE and GRE when none is given (ipvsadm prints it all the same). */
export const DEFAULT_TUN_CSUM: TunCsum = 'nocsum';

// ------------------------------------------------------------------ sysctls

/**
 * The per-interface IPv4 sysctls lvsc sets (`net.ipv4.conf.DEV.NAME`), each
 * with the kernel default it goes back to when lvsc no longer wants it set.
 */
export const DEVICE_SYSCTLS = { arp_ignore: '0', arp_announce: '0', rp_filter: '0', send_redirects: '1' } as const;

export type DeviceSysctl = keyof typeof DEVICE_SYSCTLS;

/**
 * The key of a device's sysctl as sysctl(8) and sysctl.d name it: a `.` in the
 * device's name is written `/` (`eth0.100` → `net.ipv4.conf.eth0/100.arp_ignore`,
 * the file /proc/sys/net/ipv4/conf/eth0.100/arp_ignore); with the dot, sysctl
 * would look for a device `eth0` and a directory `100`.
 */
export function deviceSysctl(dev: string, name: DeviceSysctl): string {
  return `net.ipv4.conf.${dev.replaceAll('.', '/')}.${name}`;
}

/** The host-wide sysctls lvsc sets, with the kernel defaults they go back to. */
export const HOST_SYSCTLS = {
  ipv4Forwarding: { key: 'net.ipv4.ip_forward', kernelDefault: '0' },
  ipv6Forwarding: { key: 'net.ipv6.conf.all.forwarding', kernelDefault: '0' },
  expireNodestConn: { key: 'net.ipv4.vs.expire_nodest_conn', kernelDefault: '0' },
  expireQuiescentTemplate: { key: 'net.ipv4.vs.expire_quiescent_template', kernelDefault: '0' },
  /** A failover pair whose TCP services all hash the client (sh, mh): a connection the new master has no state for goes on (desired.ts). */
  sloppyTcp: { key: 'net.ipv4.vs.sloppy_tcp', kernelDefault: '0' },
} as const;

const HOST_SYSCTL_DEFAULTS: ReadonlyMap<string, string> = new Map(Object.values(HOST_SYSCTLS).map((s) => [s.key, s.kernelDefault]));

/** The kernel default of a sysctl lvsc sets (undefined for one it does not know). */
export function sysctlDefault(key: string): string | undefined {
  const host = HOST_SYSCTL_DEFAULTS.get(key);
  if (host !== undefined) return host;
  const name = key.slice(key.lastIndexOf('.') + 1);
  return Object.hasOwn(DEVICE_SYSCTLS, name) ? DEVICE_SYSCTLS[name as DeviceSysctl] : undefined;
}

// ------------------------------------------------------------------ what lvsc marks as its own

/** The label lvsc gives the IPv4 addresses it adds (`lo:lvs`), so it can tell them from an operator's. */
export const OWN_LABEL_SUFFIX = ':lvs';

/** A label for an address lvsc owns on `dev` (IPv4 labels are at most 15 characters and start with the device name). */
export function ownLabel(dev: string): string | undefined {
  const label = dev + OWN_LABEL_SUFFIX;
  return label.length <= 15 ? label : undefined;
}

/** The route protocol number lvsc tags its routes with (`ip route ... proto 76`, networkd `Protocol=76`), to find them again. */
export const ROUTE_PROTO = '76';
