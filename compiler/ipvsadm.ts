/**
 * ipvsadm's rule syntax, both ways, as pure functions.
 *
 * Formatting: the argv of `-A/-E` (`serviceArgs`), `-a/-e` (`destinationArgs`)
 * and `-D/-d` (`serviceIdArgs`, `destinationIdArgs`), and the lines
 * `ipvsadm -Sn` prints (`saveLine`, `saveLines`, `saveText`), in ipvsadm 1.31's
 * own option order (checked against its format strings and the shared fixture),
 * and the commands a plan runs with them (`addService`, `editDestination`, ...):
 *
 *   -A <svc> -s S [-p N [-M mask]] [--pe sip] [-o] [-b flags]
 *   -a <svc> -r RIP:PORT -g|-m|-i -w W [--tun-type T [--tun-port P] [--tun-*csum]]
 *
 * `-E`/`-e` replace every attribute of an entry, so the same functions serve
 * both: they always restate scheduler, persistence, engine, ops and flags, or
 * method, weight, thresholds and tunnel options. Thresholds (`-x/-y`) are valid
 * arguments and restore input, but `-S` never prints them; `saveLine` leaves
 * them out unless asked (`{ thresholds: true }`).
 *
 * Parsing: `parseSaveLine` reads one rule line (what `-S` prints, and what a
 * person writes after `ipvsadm`, long options included); `parseIpvsadmSave`
 * groups a whole `-Sn` output by identity and returns the lines it could not
 * read as warnings. `parseListServiceLine` reads the service lines of the
 * `-L` listings (used by the thresholds fact).
 *
 * Canonical form (compiler/state.ts): scheduler flags are named for their
 * scheduler (`sh-*`, `mh-*`, else `flag-N`) and sorted; fwmarks are unsigned
 * (ipvsadm 1.31 prints marks of 2^31 and above as negative numbers);
 * addresses go through `canonicalAddress`.
 */
import { canonicalAddress, familyOf, toBytes } from '../lang/address.js';
import { allOnesNetmask, DEFAULT_PERSISTENCE, DEFAULT_SCHEDULER, DEFAULT_TUN_CSUM, DEFAULT_TUN_TYPE, isPersistenceEngine, isTunType, SCHEDULER_FLAG_BIT, schedulerFlagNames, TUN_CSUMS, TUNNELS, tunTypesWith, type TunCsum } from './lvs.js';
import { cmd, type Command } from './command.js';
import type { DestinationId, Family, IpvsDestination, IpvsService, Method, Proto, ServiceId, SyncDaemon, Timeouts } from './state.js';
import { destinationKey, hostPort, serviceKey } from './state.js';

// ------------------------------------------------------------------ vocabulary

const PROTO_OPTION: Readonly<Record<Proto, string>> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };
const METHOD_OPTION: Readonly<Record<Method, string>> = { dr: '-g', nat: '-m', tun: '-i' };
const CSUM_OPTION: Readonly<Record<TunCsum, string>> = { nocsum: '--tun-nocsum', csum: '--tun-csum', remcsum: '--tun-remcsum' };

function flagBits(flags: readonly string[]): boolean[] | string {
  const bits = [false, false, false];
  for (const f of flags) {
    const bit = SCHEDULER_FLAG_BIT.get(f);
    if (bit === undefined) return f;
    bits[bit] = true;
  }
  return bits;
}

/**
 * Scheduler flags in canonical form: each bit named as ipvsadm names it for
 * this scheduler, sorted by name. Undefined if a flag is not a flag at all.
 */
export function canonicalFlags(scheduler: string, flags: readonly string[]): string[] | undefined {
  const bits = flagBits(flags);
  if (typeof bits === 'string') return undefined;
  const names = schedulerFlagNames(scheduler);
  return names.filter((_, i) => bits[i]).sort();
}

/** The `-b` value in ipvsadm's print order (first bit first: `sh-fallback,sh-port`). */
function flagsOption(scheduler: string, flags: readonly string[]): string | undefined {
  const bits = flagBits(flags);
  if (typeof bits === 'string') throw new Error(`bug: unknown scheduler flag ${bits} reached the ipvsadm formatter`);
  const names = schedulerFlagNames(scheduler).filter((_, i) => bits[i]);
  return names.length ? names.join(',') : undefined;
}

// ------------------------------------------------------------------ formatting

/** `-t 10.1.0.100:80`, `--sctp-service [2001:db8::1]:80`, `-f 10`, `-f 11 -6`: a service's identity. */
export function serviceIdArgs(id: ServiceId): string[] {
  if (id.kind === 'fwmark') return id.family === 6 ? ['-f', String(id.mark), '-6'] : ['-f', String(id.mark)];
  return [PROTO_OPTION[id.proto], hostPort(id.address, id.port)];
}

/**
 * Everything after `-A` or `-E`: identity, then every attribute. `-E` resets
 * whatever it is not told (scheduler to wlc, persistence off, flags off), so
 * this always states the scheduler, and `-b` (which ipvsadm checks against the
 * scheduler of the same command) only ever comes with `-s`.
 */
export function serviceArgs(svc: IpvsService): string[] {
  const args = [...serviceIdArgs(svc.id), '-s', svc.scheduler];
  if (svc.persistence) {
    args.push('-p', String(svc.persistence.timeout));
    if (svc.persistence.netmask !== undefined) args.push('-M', svc.persistence.netmask);
  }
  if (svc.pe) args.push('--pe', svc.pe);
  if (svc.ops) args.push('-o');
  const flags = flagsOption(svc.scheduler, svc.flags);
  if (flags) args.push('-b', flags);
  return args;
}

/** `-t VIP:PORT -r RIP:PORT`: what `-d` needs. */
export function destinationIdArgs(id: ServiceId, dest: DestinationId): string[] {
  return [...serviceIdArgs(id), '-r', hostPort(dest.address, dest.port)];
}

export interface DestinationFormat {
  /** Include `-x/-y` (valid for `-a/-e` and restore input; `-S` never prints them). Default true. */
  readonly thresholds?: boolean;
}

/**
 * Everything after `-a` or `-e`. `-e` without a method means `-g` and without
 * `-w` weight 1, and without `-x/-y` no thresholds: so every attribute is
 * restated. Thresholds go in as a pair when either is set (the kernel refuses
 * a lower above the upper).
 */
export function destinationArgs(id: ServiceId, dest: IpvsDestination, format: DestinationFormat = {}): string[] {
  const args = [...destinationIdArgs(id, dest), METHOD_OPTION[dest.method], '-w', String(dest.weight)];
  if ((format.thresholds ?? true) && (dest.upper || dest.lower)) args.push('-x', String(dest.upper), '-y', String(dest.lower));
  if (dest.method === 'tun' && dest.tunType) {
    args.push('--tun-type', dest.tunType);
    const tunnel = TUNNELS[dest.tunType];
    if (tunnel.udpPort) {
      if (dest.tunPort === undefined) throw new Error(`bug: a ${dest.tunType} destination without a tunnel port reached the ipvsadm formatter`);
      args.push('--tun-port', String(dest.tunPort));
    }
    // ipvsadm prints the checksum option of the tunnels that have one, the kernel's default included.
    if (tunnel.checksum) args.push(CSUM_OPTION[dest.tunCsum ?? DEFAULT_TUN_CSUM]);
  }
  return args;
}

export interface SaveFormat {
  /** Add `-x/-y` to destination lines (restore input); `ipvsadm -S` itself never prints them. Default false. */
  readonly thresholds?: boolean;
}

/**
 * One line exactly as `ipvsadm -Sn` prints it: the `-A` line of a service, or
 * with a destination the `-a` line of that destination.
 */
export function saveLine(service: IpvsService, destination?: IpvsDestination, format: SaveFormat = {}): string {
  if (!destination) return ['-A', ...serviceArgs(service)].join(' ');
  return ['-a', ...destinationArgs(service.id, destination, { thresholds: format.thresholds ?? false })].join(' ');
}

/** Every line of a table, services and destinations in the order ipvsadm lists them. */
export function saveLines(services: readonly IpvsService[], format: SaveFormat = {}): string[] {
  const lines: string[] = [];
  // A large table names few real servers many times: each address is parsed once.
  const parsed = new Map<string, Omit<EndpointKey, 'port'>>();
  const endpointOf = (x: IpvsDestination): EndpointKey => {
    let p = parsed.get(x.address);
    if (!p) parsed.set(x.address, (p = { family: familyOf(x.address), words: addressWords(x.address) }));
    return { family: p.family, words: p.words, port: x.port };
  };
  for (const svc of sortByKey(services, serviceSortKey, compareServiceKeys)) {
    lines.push(saveLine(svc));
    for (const d of sortByKey(svc.destinations, endpointOf, compareEndpoints)) lines.push(saveLine(svc, d, format));
  }
  return lines;
}

/** The whole text `ipvsadm-save -n` prints for this table (empty for an empty table). */
export function saveText(services: readonly IpvsService[], format: SaveFormat = {}): string {
  return saveLines(services, format)
    .map((l) => `${l}\n`)
    .join('');
}

// ------------------------------------------------------------------ commands

/** `ipvsadm -A ...`: a new service with every attribute. */
export function addService(svc: IpvsService): Command {
  return cmd('ipvsadm', '-A', ...serviceArgs(svc));
}

/** `ipvsadm -E ...`: a service's attributes replaced (all of them restated). */
export function editService(svc: IpvsService): Command {
  return cmd('ipvsadm', '-E', ...serviceArgs(svc));
}

/** `ipvsadm -D ...`: a service and its destinations gone. */
export function deleteService(id: ServiceId): Command {
  return cmd('ipvsadm', '-D', ...serviceIdArgs(id));
}

/** `ipvsadm -a ...`: a new destination of a service. */
export function addDestination(id: ServiceId, dest: IpvsDestination): Command {
  return cmd('ipvsadm', '-a', ...destinationArgs(id, dest));
}

/** `ipvsadm -e ...`: a destination's attributes replaced (all of them restated). */
export function editDestination(id: ServiceId, dest: IpvsDestination): Command {
  return cmd('ipvsadm', '-e', ...destinationArgs(id, dest));
}

/** `ipvsadm -d ...`: a destination gone. */
export function deleteDestination(id: ServiceId, dest: DestinationId): Command {
  return cmd('ipvsadm', '-d', ...destinationIdArgs(id, dest));
}

/** `ipvsadm --set TCP TCPFIN UDP` (0 leaves one as it is). */
export function setTimeouts(t: Timeouts): Command {
  return cmd('ipvsadm', '--set', t.tcp, t.tcpfin, t.udp);
}

/** `ipvsadm --start-daemon STATE --mcast-interface IF --syncid ID`. */
export function startSyncDaemon(d: SyncDaemon): Command {
  return cmd('ipvsadm', '--start-daemon', d.state, '--mcast-interface', d.mcastInterface, '--syncid', d.syncid);
}

/** `ipvsadm --stop-daemon STATE`. */
export function stopSyncDaemon(state: SyncDaemon['state']): Command {
  return cmd('ipvsadm', '--stop-daemon', state);
}

// ------------------------------------------------------------------ ipvsadm's order

/** C's `(int)(a - b)` on two unsigned 32-bit values: the overflowing subtraction libipvs sorts with. */
function cDiff(a: number, b: number): number {
  return (a - b) | 0;
}

function addressWords(address: string): number[] {
  const b = toBytes(address);
  const words: number[] = [];
  for (let i = 0; i < b.length; i += 4) words.push(((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0);
  return words;
}

/** What libipvs compares an endpoint by, worked out once per entry (sorting 100,000 destinations stays fast). */
interface EndpointKey {
  readonly family: number;
  readonly words: readonly number[];
  readonly port: number;
}

function endpointKey(address: string, port: number): EndpointKey {
  return { family: familyOf(address), words: addressWords(address), port };
}

function compareEndpoints(a: EndpointKey, b: EndpointKey): number {
  if (a.family !== b.family) return a.family - b.family;
  let r = 0;
  for (let i = 0; !r && i < a.words.length; i++) r = cDiff(a.words[i], b.words[i]);
  return r || a.port - b.port;
}

/** Sort by a key computed once per item (a stable sort, as glibc's qsort is for these sizes). */
function sortByKey<T, K>(items: readonly T[], key: (t: T) => K, compare: (a: K, b: K) => number): T[] {
  return items
    .map((item) => ({ item, key: key(item) }))
    .sort((a, b) => compare(a.key, b.key))
    .map((x) => x.item);
}

const AF = { 4: 2, 6: 10 } as const; // AF_INET, AF_INET6
const PROTO_NUMBER: Readonly<Record<Proto, number>> = { tcp: 6, udp: 17, sctp: 132 };

/**
 * libipvs's `ipvs_cmp_services`: fwmark, address family, protocol, address,
 * port, with its overflowing subtractions. It is not a total order for every
 * set of addresses, so ipvsadm's own order is not defined in general; where it
 * is consistent (the shared fixture's table is) this reproduces it exactly.
 */
export function compareServices(a: IpvsService, b: IpvsService): number {
  return compareServiceKeys(serviceSortKey(a), serviceSortKey(b));
}

interface ServiceSortKey {
  readonly mark: number;
  readonly af: number;
  readonly proto: number;
  readonly endpoint?: EndpointKey;
}

function serviceSortKey(s: IpvsService): ServiceSortKey {
  if (s.id.kind === 'fwmark') return { mark: s.id.mark, af: AF[s.id.family], proto: 0 };
  return { mark: 0, af: AF[familyOf(s.id.address) as Family], proto: PROTO_NUMBER[s.id.proto], endpoint: endpointKey(s.id.address, s.id.port) };
}

function compareServiceKeys(a: ServiceSortKey, b: ServiceSortKey): number {
  return cDiff(a.mark, b.mark) || a.af - b.af || a.proto - b.proto || (a.endpoint && b.endpoint ? compareEndpoints(a.endpoint, b.endpoint) : 0);
}

/** libipvs's `ipvs_cmp_dests`: address, then port. */
export function compareDestinations(a: { address: string; port: number }, b: { address: string; port: number }): number {
  return compareEndpoints(endpointKey(a.address, a.port), endpointKey(b.address, b.port));
}

// ------------------------------------------------------------------ parsing

/** One line of `ipvsadm -S` (or of rule input) as data. */
export type SaveEntry =
  | { readonly kind: 'service'; readonly service: IpvsService }
  | { readonly kind: 'destination'; readonly service: ServiceId; readonly destination: IpvsDestination };

export type SaveLineResult = { readonly ok: true; readonly entry: SaveEntry } | { readonly ok: false; readonly reason: string };

/** Options that take a value, by every spelling ipvsadm accepts (short and long). */
const VALUE_OPTIONS: Readonly<Record<string, string>> = {
  '-t': 'tcp',
  '--tcp-service': 'tcp',
  '-u': 'udp',
  '--udp-service': 'udp',
  '--sctp-service': 'sctp',
  '-f': 'fwmark',
  '--fwmark-service': 'fwmark',
  '-s': 'scheduler',
  '--scheduler': 'scheduler',
  '-M': 'netmask',
  '--netmask': 'netmask',
  '--pe': 'pe',
  '-b': 'flags',
  '--sched-flags': 'flags',
  '-r': 'server',
  '--real-server': 'server',
  '-w': 'weight',
  '--weight': 'weight',
  '-x': 'upper',
  '--u-threshold': 'upper',
  '-y': 'lower',
  '--l-threshold': 'lower',
  '--tun-type': 'tunType',
  '--tun-port': 'tunPort',
};

/** Options without a value. `ops` is how ipvsadm 1.26 and older printed -o in -S output. */
const FLAG_OPTIONS: Readonly<Record<string, string>> = {
  '-6': 'ipv6',
  '--ipv6': 'ipv6',
  '-o': 'ops',
  '--ops': 'ops',
  ops: 'ops',
  '-g': 'dr',
  '--gatewaying': 'dr',
  '-m': 'nat',
  '--masquerading': 'nat',
  '-i': 'tun',
  '--ipip': 'tun',
  ...Object.fromEntries(TUN_CSUMS.map((c) => [CSUM_OPTION[c], c])),
};

const COMMANDS: Readonly<Record<string, 'service' | 'destination'>> = {
  '-A': 'service',
  '--add-service': 'service',
  '-E': 'service',
  '--edit-service': 'service',
  '-a': 'destination',
  '--add-server': 'destination',
  '-e': 'destination',
  '--edit-server': 'destination',
};

const NUMBER = /^\d+$/;
const U32 = 2 ** 32;

/** A fwmark as ipvsadm prints it; 1.31 prints marks of 2^31 and above as negative numbers. */
export function parseFwmark(text: string): number | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  let n = Number(text);
  if (n < 0) n += U32;
  return n > 0 && n < U32 ? n : undefined;
}

/** A canonical dotted quad and a port: what nearly every endpoint of a large table is (Node's isIPv4 octets: no leading zeros). */
const IPV4_ENDPOINT = /^((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}):(\d{1,5})$/;

/** `10.1.0.100:80`, `[2001:db8::1]:443`, or an address alone (port 0). */
export function parseEndpoint(text: string): { address: string; port: number } | undefined {
  // The common case in one match (a 10,000-service table has 30,000 endpoints per read); the same result as below.
  const v4 = IPV4_ENDPOINT.exec(text);
  if (v4) {
    const port = Number(v4[2]);
    return port > 65535 ? undefined : { address: v4[1], port };
  }
  let host = text;
  let port = '0';
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1];
    port = v6[2] ?? '0';
  } else if (text.split(':').length === 2) {
    [host, port] = text.split(':');
  }
  const address = canonicalAddress(host);
  if (!address || !NUMBER.test(port) || Number(port) > 65535) return undefined;
  if (!v6 && familyOf(address) === 6) return undefined; // an IPv6 endpoint needs brackets
  return { address, port: Number(port) };
}

/** Reads one rule line: what `ipvsadm -S` prints, or `-A/-E/-a/-e ...` as typed. */
export function parseSaveLine(line: string): SaveLineResult {
  const words = line.trim().split(/\s+/);
  const command = COMMANDS[words[0]];
  if (!command) return { ok: false, reason: `not an -A or -a rule` };
  const o: Record<string, string> = {};
  const seen: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    let key: string | undefined;
    let value = '';
    if (w === '-p' || w === '--persistent') {
      key = 'persistent';
      // `-p` alone means ipvsadm's default; -S always prints the number.
      value = NUMBER.test(words[i + 1] ?? '') ? words[++i] : String(DEFAULT_PERSISTENCE);
    } else if (VALUE_OPTIONS[w]) {
      key = VALUE_OPTIONS[w];
      if (i + 1 >= words.length) return { ok: false, reason: `${w} needs a value` };
      value = words[++i];
    } else if (FLAG_OPTIONS[w]) {
      key = FLAG_OPTIONS[w];
    } else {
      return { ok: false, reason: `unknown option ${w}` };
    }
    if (key in o) return { ok: false, reason: `${w} given twice` };
    o[key] = value;
    seen.push(key);
  }

  // The service's identity.
  const idKinds = ['tcp', 'udp', 'sctp', 'fwmark'].filter((k) => k in o);
  if (idKinds.length !== 1) return { ok: false, reason: idKinds.length ? 'more than one service given' : 'no service given' };
  let id: ServiceId;
  if ('fwmark' in o) {
    const mark = parseFwmark(o.fwmark);
    if (mark === undefined) return { ok: false, reason: `bad fwmark ${o.fwmark}` };
    id = { kind: 'fwmark', mark, family: 'ipv6' in o ? 6 : 4 };
  } else {
    const proto = idKinds[0] as Proto;
    const ep = parseEndpoint(o[proto]);
    if (!ep) return { ok: false, reason: `bad service address ${o[proto]}` };
    if ('ipv6' in o) return { ok: false, reason: '-6 is for fwmark services only' };
    id = { kind: 'addr', proto, address: ep.address, port: ep.port };
  }

  const allowed = command === 'service' ? SERVICE_KEYS : DESTINATION_KEYS;
  const stray = seen.find((k) => !allowed.has(k));
  if (stray) return { ok: false, reason: `option ${stray} does not belong on a ${command === 'service' ? '-A' : '-a'} line` };

  if (command === 'service') return parseServiceOptions(id, o);
  return parseDestinationOptions(id, o);
}

const SERVICE_KEYS = new Set(['tcp', 'udp', 'sctp', 'fwmark', 'ipv6', 'scheduler', 'persistent', 'netmask', 'pe', 'ops', 'flags']);
const DESTINATION_KEYS = new Set(['tcp', 'udp', 'sctp', 'fwmark', 'ipv6', 'server', 'dr', 'nat', 'tun', 'weight', 'upper', 'lower', 'tunType', 'tunPort', ...TUN_CSUMS]);

function parseServiceOptions(id: ServiceId, o: Record<string, string>): SaveLineResult {
  const scheduler = o.scheduler ?? DEFAULT_SCHEDULER;
  if (!/^[a-z0-9_]+$/.test(scheduler)) return { ok: false, reason: `bad scheduler ${scheduler}` };
  const flags = 'flags' in o ? canonicalFlags(scheduler, o.flags.split(',')) : [];
  if (!flags) return { ok: false, reason: `unknown scheduler flag in ${o.flags}` };
  if ('netmask' in o && !('persistent' in o)) return { ok: false, reason: '-M without -p' };
  let persistence: IpvsService['persistence'];
  if ('persistent' in o) {
    let netmask: string | undefined = o.netmask;
    if (netmask !== undefined) {
      const family = id.kind === 'fwmark' ? id.family : familyOf(id.address);
      const ok = family === 6 ? NUMBER.test(netmask) && Number(netmask) <= 128 : familyOf(netmask) === 4;
      if (!ok) return { ok: false, reason: `bad netmask ${netmask}` };
      if (family === 6) netmask = String(Number(netmask));
      // The kernel's default (all ones) is what -S leaves out.
      if (netmask === allOnesNetmask(family === 6 ? 6 : 4)) netmask = undefined;
    }
    persistence = netmask === undefined ? { timeout: Number(o.persistent) } : { timeout: Number(o.persistent), netmask };
  }
  const pe = o.pe;
  if (pe !== undefined && !isPersistenceEngine(pe)) return { ok: false, reason: `unknown persistence engine ${pe}` };
  const service: IpvsService = {
    id,
    scheduler,
    flags,
    ...(persistence ? { persistence } : {}),
    ...(pe !== undefined ? { pe } : {}),
    ops: 'ops' in o,
    destinations: [],
  };
  return { ok: true, entry: { kind: 'service', service } };
}

function parseDestinationOptions(id: ServiceId, o: Record<string, string>): SaveLineResult {
  if (!('server' in o)) return { ok: false, reason: 'no real server (-r) given' };
  const ep = parseEndpoint(o.server);
  if (!ep) return { ok: false, reason: `bad real server ${o.server}` };
  const methods = (['dr', 'nat', 'tun'] as const).filter((m) => m in o);
  if (methods.length > 1) return { ok: false, reason: 'more than one forwarding method' };
  const method: Method = methods[0] ?? 'dr'; // ipvsadm's default is -g
  const num = (key: string, fallback: number): number | undefined => {
    if (!(key in o)) return fallback;
    return NUMBER.test(o[key]) ? Number(o[key]) : undefined;
  };
  const weight = num('weight', 1);
  const upper = num('upper', 0);
  const lower = num('lower', 0);
  if (weight === undefined || upper === undefined || lower === undefined) return { ok: false, reason: 'weight and thresholds must be whole numbers' };
  const csums = TUN_CSUMS.filter((c) => c in o);
  if (csums.length > 1) return { ok: false, reason: 'more than one tunnel checksum option' };
  const tunnelOptions = 'tunType' in o || 'tunPort' in o || csums.length > 0;
  if (method !== 'tun') {
    if (tunnelOptions) return { ok: false, reason: 'tunnel options on a destination that is not -i' };
    return { ok: true, entry: { kind: 'destination', service: id, destination: { address: ep.address, port: ep.port, method, weight, upper, lower } } };
  }
  // Tunnels: ipvsadm 1.29 and older print no tunnel options at all; the kernel's type is then ipip.
  const tunType = o.tunType ?? DEFAULT_TUN_TYPE;
  if (!isTunType(tunType)) return { ok: false, reason: `unknown tunnel type ${tunType}` };
  const tunnel = TUNNELS[tunType];
  const d: { -readonly [K in keyof IpvsDestination]: IpvsDestination[K] } = { address: ep.address, port: ep.port, method, tunType, weight, upper, lower };
  if (tunnel.udpPort) {
    if (!('tunPort' in o) || !NUMBER.test(o.tunPort) || Number(o.tunPort) > 65535) return { ok: false, reason: `${tunType} needs --tun-port` };
    d.tunPort = Number(o.tunPort);
  } else if ('tunPort' in o) {
    return { ok: false, reason: `--tun-port is for ${tunTypesWith('udpPort').join(' and ')} only` };
  }
  if (tunnel.checksum) d.tunCsum = csums[0] ?? DEFAULT_TUN_CSUM;
  else if (csums.length) return { ok: false, reason: `checksum options are for ${tunTypesWith('checksum').join(' and ')} only` };
  return { ok: true, entry: { kind: 'destination', service: id, destination: ordered(d) } };
}

/** Destination fields in the declared order (so deep equality and JSON read the same everywhere). */
function ordered(d: IpvsDestination): IpvsDestination {
  return {
    address: d.address,
    port: d.port,
    method: d.method,
    ...(d.tunType !== undefined ? { tunType: d.tunType } : {}),
    ...(d.tunPort !== undefined ? { tunPort: d.tunPort } : {}),
    ...(d.tunCsum !== undefined ? { tunCsum: d.tunCsum } : {}),
    weight: d.weight,
    upper: d.upper,
    lower: d.lower,
  };
}

export interface ParsedTable {
  readonly value: IpvsService[];
  /** Lines that were skipped, and why (quoted as they came). */
  readonly warnings: string[];
}

/**
 * A whole `ipvsadm -Sn` output → services keyed by identity (never by
 * position), each with its destinations. Lines it cannot read, destinations of
 * services it has not seen and duplicates are skipped and reported.
 */
export function parseIpvsadmSave(stdout: string): ParsedTable {
  const services = new Map<string, IpvsService & { destinations: IpvsDestination[] }>();
  const seen = new Map<string, Set<string>>(); // destination keys per service: linear for any table size
  const warnings: string[] = [];
  // The service of the last destination line, by its text (`-t 10.1.0.100:80`): a table lists each service's destinations together.
  let lastText = '';
  let last: { key: string; svc: IpvsService & { destinations: IpvsDestination[] }; seen: Set<string> } | undefined;
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const plain = readPlain(line);
    // A plain line of the last destination line's service: no parse or lookup of the service again.
    let target = plain && plain.serviceText === lastText ? last : undefined;
    const service = plain && !target ? plainService(plain) : undefined;
    let entry: SaveEntry;
    if (target) entry = { kind: 'destination', service: target.svc.id, destination: plain!.destination };
    else if (plain && service) entry = { kind: 'destination', service, destination: plain.destination };
    else {
      if (line.trim() === '') continue;
      const r = parseSaveLine(line);
      if (!r.ok) {
        warnings.push(`skipped ${lineAt(i, line)}: ${r.reason}`);
        continue;
      }
      entry = r.entry;
    }
    if (entry.kind === 'service') {
      const key = serviceKey(entry.service.id);
      if (services.has(key)) {
        warnings.push(`skipped ${lineAt(i, line)}: service ${key} listed twice`);
        continue;
      }
      services.set(key, { ...entry.service, destinations: [] });
      seen.set(key, new Set());
      continue;
    }
    if (!target) {
      const key = serviceKey(entry.service);
      const svc = services.get(key);
      if (!svc) {
        warnings.push(`skipped ${lineAt(i, line)}: no -A line for service ${key} before it`);
        continue;
      }
      target = { key, svc, seen: seen.get(key)! };
      last = service ? target : undefined;
      lastText = service ? plain!.serviceText : '';
    }
    const dkey = destinationKey(entry.destination);
    if (target.seen.has(dkey)) {
      warnings.push(`skipped ${lineAt(i, line)}: real server ${dkey} listed twice`);
      continue;
    }
    target.seen.add(dkey);
    target.svc.destinations.push(entry.destination);
  }
  return { value: [...services.values()], warnings };
}

/** How a warning names a line (made only for a line that gets one). */
function lineAt(i: number, line: string): string {
  return `line ${i + 1} \`${line.trim()}\``;
}

/** The `-a` line of a TCP or UDP destination by DR or NAT, as `ipvsadm -Sn` prints nearly every line of a large table. */
const PLAIN_DESTINATION = new RegExp(`^-a -([tu]) (\\S+) -r ${IPV4_ENDPOINT.source.slice(1, -1)} -([gm]) -w (\\d+)$`);

/**
 * A plain destination line read in one match, or undefined for any other
 * line (parseSaveLine reads those): the same entry parseSaveLine makes of it
 * (compiler/ipvsadm.test.ts checks), at a fraction of the cost.
 */
export function plainDestinationLine(line: string): { entry: SaveEntry & { kind: 'destination' }; serviceText: string } | undefined {
  const plain = readPlain(line);
  const service = plain && plainService(plain);
  return service && plain && { entry: { kind: 'destination', service, destination: plain.destination }, serviceText: plain.serviceText };
}

interface Plain {
  readonly match: RegExpExecArray;
  /** `t10.1.0.100:80`: consecutive lines of one service share one lookup by it. */
  readonly serviceText: string;
  readonly destination: IpvsDestination;
}

function readPlain(line: string): Plain | undefined {
  // The real server's endpoint matched as parseEndpoint's IPv4 case does (an IPv6 one goes to parseSaveLine).
  const m = PLAIN_DESTINATION.exec(line);
  const port = m ? Number(m[4]) : NaN;
  if (!m || port > 65535) return undefined;
  return { match: m, serviceText: m[1] + m[2], destination: { address: m[3], port, method: m[5] === 'g' ? 'dr' : 'nat', weight: Number(m[6]), upper: 0, lower: 0 } };
}

/** The service of a plain line, or undefined when its address is not one (parseSaveLine then says why). */
function plainService(p: Plain): ServiceId | undefined {
  const ep = parseEndpoint(p.match[2]);
  return ep && { kind: 'addr', proto: p.match[1] === 't' ? 'tcp' : 'udp', address: ep.address, port: ep.port };
}

/**
 * The identity on a service line of the `-L` listings: `TCP  10.1.0.100:80 wlc`,
 * `FWM  11 IPv6 rr`, `SCTP 10.0.0.1:80 rr`. Undefined for any other line.
 */
export function parseListServiceLine(line: string): ServiceId | undefined {
  const fw = /^FWM\s+(-?\d+)(\s+IPv6)?(\s|$)/.exec(line);
  if (fw) {
    const mark = parseFwmark(fw[1]);
    return mark === undefined ? undefined : { kind: 'fwmark', mark, family: fw[2] ? 6 : 4 };
  }
  const m = /^(TCP|UDP|SCTP)\s+(\S+)(\s|$)/.exec(line);
  if (!m) return undefined;
  const ep = parseEndpoint(m[2]);
  if (!ep) return undefined;
  return { kind: 'addr', proto: m[1].toLowerCase() as Proto, address: ep.address, port: ep.port };
}
