/**
 * IPv4/IPv6 addresses and prefixes: parsing, canonical text, containment and
 * the address classes the validation rules reason about. Node's `net.isIP`
 * decides what is an address; this module only normalises and compares.
 */
import { isIP } from 'node:net';

export type Family = 4 | 6;

export interface Cidr {
  readonly address: string; // canonical
  readonly prefix: number;
  readonly family: Family;
}

export function familyOf(address: string): Family | 0 {
  return parsed(address).family;
}

/**
 * An address's family and bytes, parsed once: the validation rules and the
 * compiler ask about the same few hundred host addresses once per
 * destination (100,000 times in a large table). Bounded: cleared when full.
 */
interface Parsed {
  readonly family: Family | 0;
  /** Empty when family is 0. */
  readonly bytes: readonly number[];
}
const PARSED_MAX = 50_000;
const parsedAddresses = new Map<string, Parsed>();
function parsed(address: string): Parsed {
  let p = parsedAddresses.get(address);
  if (p) return p;
  const family = isIP(address) as Family | 0;
  p = { family, bytes: family ? parseBytes(address, family) : [] };
  if (parsedAddresses.size >= PARSED_MAX) parsedAddresses.clear();
  parsedAddresses.set(address, p);
  return p;
}

/** 16 bytes (IPv6) or 4 bytes (IPv4) of an address already known to be valid. */
export function toBytes(address: string): number[] {
  const p = parsed(address);
  return p.family ? [...p.bytes] : parseBytes(address, 6);
}

function parseBytes(address: string, family: Family): number[] {
  if (family === 4) return address.split('.').map(Number);
  let text = address;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    text = text.slice(0, v4.index) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const zeros = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array(zeros).fill('0'), ...t].map((g) => parseInt(g, 16));
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 255);
  return bytes;
}

export function fromBytes(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952: compress the longest run (of two or more) of zero groups, the first on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

/** The canonical text of an address (IPv6 per RFC 5952), or undefined if it is not one. */
export function canonicalAddress(text: string): string | undefined {
  const family = isIP(text);
  if (family === 4) {
    // isIP accepts only canonical dotted quads (no leading zeros), so this is already canonical.
    return text;
  }
  if (family === 6) {
    if (text.includes('%')) return undefined; // zone indices have no place in a cluster file
    return fromBytes(toBytes(text));
  }
  return undefined;
}

/**
 * `addr/prefix` read, or which part is wrong: no `/` at all, the address
 * before the last `/` (`text.slice(0, slash)`), or the prefix length after
 * it for the address's family. The one CIDR reader: parseCidr and the
 * language's messages (values.ts) both use it.
 */
export type CidrReading =
  | { readonly ok: true; readonly cidr: Cidr }
  | { readonly ok: false; readonly problem: 'no-prefix' }
  | { readonly ok: false; readonly problem: 'address'; readonly slash: number }
  | { readonly ok: false; readonly problem: 'prefix'; readonly slash: number; readonly family: Family };

export function readCidr(text: string): CidrReading {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return { ok: false, problem: 'no-prefix' };
  const address = canonicalAddress(text.slice(0, slash));
  if (!address) return { ok: false, problem: 'address', slash };
  const family = familyOf(address) as Family;
  const prefixText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix(family)) return { ok: false, problem: 'prefix', slash, family };
  return { ok: true, cidr: { address, prefix: Number(prefixText), family } };
}

/** The longest prefix length of a family: 32 or 128. */
export function maxPrefix(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** Parse `addr/prefix`; the address keeps its host bits (10.1.0.2/24 is an interface address). */
export function parseCidr(text: string): Cidr | undefined {
  const r = readCidr(text);
  return r.ok ? r.cidr : undefined;
}

/** The network of an address under a prefix: 10.1.0.2/24 → 10.1.0.0/24. */
export function networkOf(cidr: Cidr): Cidr {
  const bytes = toBytes(cidr.address);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, cidr.prefix - i * 8));
    bytes[i] &= (0xff << (8 - bits)) & 0xff;
  }
  return { address: fromBytes(bytes), prefix: cidr.prefix, family: cidr.family };
}

export function cidrText(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

/** Whether `address` lies inside `cidr` (same family only). */
export function contains(cidr: Cidr, address: string): boolean {
  const pa = parsed(address);
  if (pa.family !== cidr.family) return false;
  const a = pa.bytes;
  const n = parsed(cidr.address).bytes;
  let bits = cidr.prefix;
  for (let i = 0; i < a.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i] & mask) !== (n[i] & mask)) return false;
  }
  return true;
}

const CLASS_RANGES: { cls: AddressClass; cidr: Cidr }[] = (
  [
    ['private', '10.0.0.0/8'],
    ['private', '172.16.0.0/12'],
    ['private', '192.168.0.0/16'],
    ['private', 'fc00::/7'],
    ['loopback', '127.0.0.0/8'],
    ['loopback', '::1/128'],
    ['link-local', '169.254.0.0/16'],
    ['link-local', 'fe80::/10'],
  ] as const
).map(([cls, text]) => ({ cls, cidr: parseCidr(text)! }));

export type AddressClass = 'private' | 'loopback' | 'link-local' | 'routable';

/**
 * What kind of address this is for routing purposes. Documentation ranges
 * (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) count as routable.
 */
export function addressClass(address: string): AddressClass {
  for (const r of CLASS_RANGES) if (contains(r.cidr, address)) return r.cls;
  return 'routable';
}

/** A dotted IPv4 netmask (contiguous ones) → its prefix length, or undefined. */
export function netmaskPrefix(mask: string): number | undefined {
  if (isIP(mask) !== 4) return undefined;
  const n = mask.split('.').reduce((acc, b) => acc * 256 + Number(b), 0);
  let prefix = 0;
  while (prefix < 32 && n & (2 ** (31 - prefix))) prefix++;
  const expected = prefix === 0 ? 0 : (2 ** 32 - 2 ** (32 - prefix));
  return n === expected ? prefix : undefined;
}

export function prefixNetmask(prefix: number): string {
  const n = prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix);
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) & 255).join('.');
}

/** The last address of a subnet (IPv4's directed broadcast): 10.1.0.2/24 → 10.1.0.255. */
export function lastAddressOf(cidr: Cidr): string {
  const bytes = toBytes(cidr.address);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, cidr.prefix - i * 8));
    bytes[i] |= 0xff >> bits;
  }
  return fromBytes(bytes);
}

const SPECIAL_RANGES: { why: SpecialAddress; cidr: Cidr }[] = (
  [
    ['unspecified', '0.0.0.0/8'],
    ['unspecified', '::/128'],
    ['broadcast', '255.255.255.255/32'],
    ['multicast', '224.0.0.0/4'],
    ['multicast', 'ff00::/8'],
  ] as const
).map(([why, text]) => ({ why, cidr: parseCidr(text)! }));

export type SpecialAddress = 'unspecified' | 'loopback' | 'multicast' | 'broadcast' | 'link-local';

/**
 * Whether an address is one of those no service can be reached at: "this
 * host" (0.0.0.0/8, ::), loopback, multicast, the limited broadcast, or
 * link-local (not routed, and scoped to one link); undefined for any other.
 */
export function specialAddress(address: string): SpecialAddress | undefined {
  for (const r of SPECIAL_RANGES) if (contains(r.cidr, address)) return r.why;
  const cls = addressClass(address);
  return cls === 'loopback' || cls === 'link-local' ? cls : undefined;
}
