/**
 * The catalogue of every diagnostic lvsc can emit: a stable code, its default
 * severity and what it is about. Codes never change meaning once released;
 * editors and CI may match on them.
 */
import type { Severity } from './diagnostics.js';

interface CodeInfo {
  readonly severity: Severity;
  readonly about: string;
}

function c(severity: Severity, about: string): CodeInfo {
  return { severity, about };
}

export const CODES = {
  // --- input and syntax (lang/) ---
  'file-unreadable': c('error', 'an input file cannot be read'),
  'lex-unexpected-char': c('error', 'a character that starts no token'),
  'lex-unterminated-string': c('error', 'a string without its closing quote'),
  'syntax': c('error', 'the parser expected something else here'),
  'bad-address': c('error', 'not a valid IPv4 or IPv6 address'),
  'bad-cidr': c('error', 'not a valid address/prefix'),
  'bad-duration': c('error', 'a duration without a known unit, or out of range'),
  'bad-number': c('error', 'a number out of its range'),
  'bad-name': c('error', 'a name that is not [a-z][a-z0-9_-]*'),
  'duplicate-setting': c('error', 'a setting given twice in one block'),
  'missing-setting': c('error', 'a required setting is missing'),
  'conflicting-setting': c('error', 'two settings that exclude each other'),
  'misplaced-setting': c('error', 'a setting written where it has no meaning (an address in defaults, a tunnel port on a non-tunnel server)'),
  // --- names and references (compiler/validate/names.ts) ---
  'duplicate-host': c('error', 'two hosts with one name'),
  'duplicate-service': c('error', 'two services with one name, or one VIP/protocol/port or fwmark'),
  'duplicate-server': c('error', 'the same server twice in a service'),
  'unknown-host': c('error', 'a reference to a host that is not declared'),
  'via-loop': c('error', 'a chain of jump hosts that loops'),
  'no-director': c('error', 'services are declared but no director'),
  'duplicate-director': c('error', 'more than one director statement, or one host twice in it'),
  'director-no-interface': c('error', 'a director without interfaces'),
  'sync-interface': c('error', 'a sync interface a director does not have'),
  'vip-is-host-address': c('error', 'a VIP that is also some host\'s interface address'),
  'server-is-director': c('error', 'a director listed as a real server of its own service'),
  'duplicate-interface-address': c('error', 'one address on two interfaces'),
  'duplicate-ssh': c('error', 'two hosts reached at one SSH address/alias, port and jump host'),
  // --- topology (compiler/validate/topology.ts) ---
  'dr-segment': c('error', 'a DR real server not on a director\'s L2 segment'),
  'nat-segment': c('error', 'a NAT real server that shares no segment with a director'),
  'nat-gateway': c('error', 'a NAT real server whose gateway is not the director\'s DIP'),
  'gateway-is-director': c('error', 'a DR/TUN real server whose default gateway is the director'),
  'next-hop-off-link': c('error', 'a gateway or route next hop on none of the host\'s subnets'),
  'next-hop-is-self': c('error', 'a gateway or route next hop that is the host\'s own address'),
  'tun-unroutable': c('error', 'a TUN RIP the director cannot route to'),
  'tun-private-rip': c('error', 'a private, loopback or link-local TUN RIP carried only by the default gateway'),
  'gateway-conflict': c('error', 'one host serving by NAT and by DR/TUN with conflicting gateway needs'),
  'family-mismatch': c('error', 'a real server with no address of the service\'s family'),
  'unknown-method': c('error', 'a forwarding method that is not nat, dr or tun'),
  'no-rip': c('error', 'a real server without an address the method can use'),
  'server-address': c('error', 'a server line whose `address` is none of its host\'s addresses'),
  // --- ports (compiler/validate/ports.ts) ---
  'port-remap': c('error', 'DR and TUN cannot remap ports'),
  'all-ports': c('error', 'a port-0 (every-port) service without persistence, or with a server port'),
  // --- schedulers, persistence, options (compiler/validate/schedulers.ts) ---
  'unknown-scheduler': c('error', 'a scheduler IPVS does not have'),
  'bad-scheduler-flag': c('error', 'a scheduler flag not valid for the scheduler'),
  'bad-netmask': c('error', 'a persistence netmask that is not a netmask'),
  'ops-not-udp': c('error', 'one-packet scheduling on a non-UDP service'),
  'thresholds-order': c('error', 'lower threshold above the upper one'),
  'tun-options': c('error', 'tunnel options that do not fit the method'),
  'fwmark-family': c('error', 'a fwmark service whose matches mix address families'),
  // --- VIPs (compiler/validate/vips.ts) ---
  'vip-unusable': c('error', 'a VIP no client can reach or no host can hold: unspecified, loopback, multicast, broadcast, link-local, or a subnet\'s network or broadcast address'),
  'fwmark-no-match': c('error', 'a DR or TUN fwmark service without any `match`, so its real servers get no VIP'),
  // --- health checks (compiler/validate/health.ts) ---
  'unknown-word': c('error', 'a word outside its closed vocabulary: a check kind, an on-failure mode, a failover protocol'),
  'check-timing': c('error', 'a check whose timeout is not shorter than its period'),
  'check-status': c('error', 'an HTTP check status outside 100..599, or a range whose low end is above its high end'),
  'check-exec': c('error', 'an exec check whose program is not an absolute path, or whose path or arguments hold shell syntax'),
  'check-port': c('error', 'a check with no port to connect to, or one outside 1..65535'),
  'check-dns-type': c('error', 'a DNS check query type keepalived does not know'),
  'check-text': c('error', 'an HTTP path, Host name or DNS name that keepalived cannot carry as written'),
  // --- failover pairs (compiler/validate/failover.ts) ---
  'failover-pair': c('error', 'failover for one director, or failover settings without `failover`'),
  'vrrp-id': c('error', 'a VRRP router id outside 1..255, or one id twice on an L2 segment'),
  'failover-segment': c('error', 'a failover interface, VIP or floating address that is not on a segment both directors share'),
  'vrrp-advert': c('error', 'an advert interval VRRP cannot carry: finer than 10 ms, or over 40.95 s and not whole seconds'),
  'backup-reach': c('error', 'a real server the second director of a failover pair cannot reach by its forwarding method'),
  // --- warnings (compiler/validate/limits.ts and others) ---
  'check-unused': c('warning', '`sorry` or `on-failure` in a service none of whose servers is checked'),
  'nat-scale': c('warning', 'more than 20 real servers behind one NAT director'),
  'nat-helper': c('warning', 'a NAT service whose protocol carries addresses in its payload'),
  'hash-weights': c('warning', 'sh/dh with weights that differ'),
  'all-drained': c('warning', 'a service with every server drained'),
  'failback-resync': c('warning', 'a failover pair whose first director may take the VIPs back before it has learnt the live connections (no `sync`, or `failback` sooner than 30 s)'),
  'no-servers': c('warning', 'a service without real servers'),
  'twos-kernel': c('warning', 'a scheduler that older kernels lack'),
  'ambiguous-server-address': c('warning', 'a server naming no `address` whose host has several the director could use'),
  'internal': c('error', 'a bug in lvsc: please report it'),
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;
