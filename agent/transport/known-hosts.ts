/**
 * OpenSSH known_hosts: reading, matching a presented host key, and adding a
 * new one. Follows sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT": comma-separated host
 * patterns (`*`, `?`, `!negation`), hashed names (`|1|salt|hash`), the
 * `[host]:port` form for ports other than 22, and the `@revoked` and
 * `@cert-authority` markers.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
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

function globMatch(pattern: string, text: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(text);
}

/** Judges a presented host key against the entries, the way OpenSSH does. */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const keyType = keyTypeOf(key);
  const forHost = entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, name));
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
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  const types = entries.filter((e) => e.marker === undefined && entryMatches(e, name)).map((e) => e.keyType);
  return [...new Set(types)];
}

export function readKnownHosts(file: string): KnownHostEntry[] {
  if (!existsSync(file)) return [];
  return parseKnownHosts(readFileSync(file, 'utf8'), file);
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
export function appendKnownHost(file: string, line: string): void {
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
