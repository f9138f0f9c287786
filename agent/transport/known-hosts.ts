/**
 * OpenSSH known_hosts: reading, matching a presented host key, and adding a
 * new one. Follows sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT": comma-separated host
 * patterns (`*`, `?`, `!negation`), hashed names (`|1|salt|hash`), the
 * `[host]:port` form for ports other than 22, and the `@revoked` and
 * `@cert-authority` markers.
 *
 * A file is parsed once per process while it does not change
 * (`loadKnownHosts`), and indexed (`KnownHosts`): a line of plain names is
 * found by name in a Map; only lines with wildcards or negations, and hashed
 * lines (each with its own salt, so no index can hold them), are tried one by
 * one, once per name looked up. Connecting to every host of a fleet once no
 * longer reads and matches the whole file twice per host.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync, type BigIntStats } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  file: string;
  /** 1-based line number, for messages. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  names: { hashed: { salt: Buffer; hash: Buffer } } | { patterns: string[] };
  /** Key type as found inside the key blob (e.g. `ssh-ed25519`). */
  keyType: string;
  key: Buffer;
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  /** The host has a key of this type on record, and it is a different key. */
  | { status: 'changed'; entry: KnownHostEntry }
  /** The presented key is listed as `@revoked`. */
  | { status: 'revoked'; entry: KnownHostEntry }
  /** The host is on record only with keys of other types. */
  | { status: 'other-types'; entries: KnownHostEntry[] }
  | { status: 'unknown' };

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key type written at the start of an SSH public key blob. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const length = blob.readUInt32BE(0);
  if (length > blob.length - 4) return '';
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** OpenSSH's fingerprint format: `SHA256:` + unpadded base64 of the blob's SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Parses known_hosts text; lines it cannot read are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i].trim().split(/[ \t]+/);
    if (fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else continue;
    }
    if (fields.length < 3) continue;
    const [hostField, , keyField] = fields;
    const key = Buffer.from(keyField, 'base64');
    const keyType = keyTypeOf(key);
    if (keyType === '') continue;
    const names = parseNames(hostField);
    if (names === undefined) continue;
    entries.push({ file, line: i + 1, ...(marker ? { marker } : {}), names, keyType, key });
  }
  return entries;
}

function parseNames(field: string): KnownHostEntry['names'] | undefined {
  if (!field.startsWith('|')) return { patterns: field.toLowerCase().split(',').filter((p) => p !== '') };
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return undefined;
  const salt = Buffer.from(parts[2], 'base64');
  const hash = Buffer.from(parts[3], 'base64');
  if (salt.length !== 20 || hash.length !== 20) return undefined;
  return { hashed: { salt, hash } };
}

/** Whether a known_hosts line names `name` (already in `knownHostName` form). */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  const lower = name.toLowerCase();
  if ('hashed' in entry.names) {
    const { salt, hash } = entry.names.hashed;
    return createHmac('sha1', salt).update(lower).digest().equals(hash);
  }
  let matched = false;
  for (const pattern of entry.names.patterns) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), lower)) return false;
    } else if (globMatch(pattern, lower)) {
      matched = true;
    }
  }
  return matched;
}

/** OpenSSH's match_pattern: `*` is any run of characters, `?` any one; nothing else is special. */
function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      // Let the last `*` take one more character and try again from there.
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** A pattern that names one host exactly (no wildcard, not a negation): a Map key. */
const isExactName = (pattern: string): boolean => !pattern.startsWith('!') && !pattern.includes('*') && !pattern.includes('?');

/** known_hosts entries indexed for finding a host's lines by name. */
export class KnownHosts {
  private readonly all: KnownHostEntry[] = [];
  /** Position of each entry in the file, to give lines back in file order. */
  private readonly position = new Map<KnownHostEntry, number>();
  /** Lines of plain names, under each name (lower case). */
  private readonly byName = new Map<string, KnownHostEntry[]>();
  /** Lines with a wildcard or a negation, and hashed lines: tried one by one. */
  private readonly tried: KnownHostEntry[] = [];
  /** What `forName` found, per name: a connection looks its host up twice. */
  private readonly found = new Map<string, readonly KnownHostEntry[]>();

  constructor(entries: readonly KnownHostEntry[] = []) {
    for (const entry of entries) this.add(entry);
  }

  get entries(): readonly KnownHostEntry[] {
    return this.all;
  }

  /** Adds a line at the end of the file (one lvsc appended). */
  add(entry: KnownHostEntry): void {
    this.position.set(entry, this.all.length);
    this.all.push(entry);
    if ('patterns' in entry.names && entry.names.patterns.every(isExactName)) {
      for (const name of new Set(entry.names.patterns)) {
        const list = this.byName.get(name);
        if (list) list.push(entry);
        else this.byName.set(name, [entry]);
      }
    } else {
      this.tried.push(entry);
    }
    this.found.clear();
  }

  /** Every line that names `name` (in `knownHostName` form), markers included, in file order. */
  forName(name: string): readonly KnownHostEntry[] {
    const lower = name.toLowerCase();
    let lines = this.found.get(lower);
    if (lines === undefined) {
      const exact = this.byName.get(lower) ?? [];
      const matched = this.tried.filter((e) => entryMatches(e, lower));
      lines = matched.length === 0 ? exact : [...exact, ...matched].sort((a, b) => this.position.get(a)! - this.position.get(b)!);
      this.found.set(lower, lines);
    }
    return lines;
  }
}

/** The lines for `name`: through the index, or (a plain list) by trying each. */
function linesFor(known: KnownHosts | readonly KnownHostEntry[], name: string): readonly KnownHostEntry[] {
  return known instanceof KnownHosts ? known.forName(name) : known.filter((e) => entryMatches(e, name));
}

/** Judges a presented host key against the entries, the way OpenSSH does. */
export function checkHostKey(known: KnownHosts | readonly KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const keyType = keyTypeOf(key);
  const forHost = linesFor(known, name).filter((e) => e.marker !== 'cert-authority');
  const revoked = forHost.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.key.equals(key));
  if (same) return { status: 'known', entry: same };
  const changed = plain.find((e) => e.keyType === keyType);
  if (changed) return { status: 'changed', entry: changed };
  if (plain.length > 0) return { status: 'other-types', entries: plain };
  return { status: 'unknown' };
}

/** Key types on record for a host, to prefer them when negotiating (as OpenSSH does). */
export function knownKeyTypes(known: KnownHosts | readonly KnownHostEntry[], name: string): string[] {
  const types = linesFor(known, name)
    .filter((e) => e.marker === undefined)
    .map((e) => e.keyType);
  return [...new Set(types)];
}

/** A file as last parsed: valid while the file's identity, size and times are the same. */
interface Parsed {
  signature: string;
  known: KnownHosts;
  /** The number the next appended line gets. */
  nextLine: number;
  /**
   * The file's bytes, kept while its modification time was too recent to
   * trust: file times have a coarse clock (a few ms), so a rewrite within the
   * same tick to the same size would look unchanged (git's "racy" files). Such
   * a file is compared byte for byte until its time is old enough.
   */
  bytes?: Buffer;
}

const parsedFiles = new Map<string, Parsed>();
/** A file modified this recently (ns) may change again without its times or size showing it. */
const RACY_NS = 2_000_000_000n;

function signatureOf(stat: BigIntStats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

const isRacy = (stat: BigIntStats): boolean => BigInt(Date.now()) * 1_000_000n - stat.mtimeNs < RACY_NS;

/** The parse of `file` if it still matches the file, after refreshing what "racy" needs. */
function stillParsed(file: string, stat: BigIntStats): Parsed | undefined {
  const parsed = parsedFiles.get(file);
  if (parsed === undefined || parsed.signature !== signatureOf(stat)) return undefined;
  if (parsed.bytes === undefined) return parsed;
  if (!readFileSync(file).equals(parsed.bytes)) return undefined;
  if (!isRacy(stat)) parsed.bytes = undefined;
  return parsed;
}

/**
 * The entries of a known_hosts file, indexed; parsed once while the file does
 * not change (a missing file has none). Throws when it cannot be read.
 */
export function loadKnownHosts(file: string): KnownHosts {
  const stat = statSync(file, { bigint: true, throwIfNoEntry: false });
  if (stat === undefined) {
    parsedFiles.delete(file);
    return new KnownHosts();
  }
  const parsed = stillParsed(file, stat);
  if (parsed) return parsed.known;
  const bytes = readFileSync(file);
  const text = bytes.toString('utf8');
  const lines = text.split('\n').length;
  const fresh: Parsed = {
    signature: signatureOf(stat),
    known: new KnownHosts(parseKnownHosts(text, file)),
    nextLine: text === '' || text.endsWith('\n') ? lines : lines + 1,
    ...(isRacy(stat) ? { bytes } : {}),
  };
  parsedFiles.set(file, fresh);
  return fresh.known;
}

/** Appends `line` (one host key, as `knownHostsLine` makes it) and adds it to the file's parse, if it is current. */
export function addKnownHost(file: string, line: string): void {
  const before = statSync(file, { bigint: true, throwIfNoEntry: false });
  const parsed = before === undefined ? undefined : stillParsed(file, before);
  appendKnownHost(file, line);
  const [entry] = parseKnownHosts(line, file);
  if (parsed === undefined || entry === undefined) {
    parsedFiles.delete(file);
    return;
  }
  parsed.known.add({ ...entry, line: parsed.nextLine++ });
  const after = statSync(file, { bigint: true });
  parsed.signature = signatureOf(after);
  parsed.bytes = isRacy(after) ? readFileSync(file) : undefined;
}

/** One known_hosts line; hashed like `ssh-keygen -H` when asked. */
export function knownHostsLine(name: string, key: Buffer, hashed = false): string {
  const type = keyTypeOf(key);
  let names = name;
  if (hashed) {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update(name.toLowerCase()).digest();
    names = `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
  }
  return `${names} ${type} ${key.toString('base64')}`;
}

/**
 * Appends one line, creating the file 0600 (and its directory 0700) when
 * missing. Synchronous, so two connections of one process cannot interleave.
 */
function appendKnownHost(file: string, line: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, 'a+', 0o600);
  try {
    const size = fstatSync(fd).size;
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    writeSync(fd, `${prefix}${line}\n`);
  } finally {
    closeSync(fd);
  }
}
