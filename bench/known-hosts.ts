/**
 * Benchmark section `known_hosts`: what checking one host's key against a
 * large known_hosts file costs per SSH connection (default 5,000 lines; the
 * lookups a connection makes: the key types to offer, then the key itself).
 * Printed side by side, for a file of plain lines (addresses, `[addr]:port`,
 * a few `name,addr` and a wildcard line) and for the same hosts hashed
 * (`ssh-keygen -H`):
 *
 * - before: what each connection did until lvsc kept one parse per file:
 *   read and parse the whole file, then try every line, twice. (The code then
 *   also compiled a RegExp per pattern per lookup: 186 ms per connection at
 *   5,000 plain lines, 211 ms hashed, measured on the 2-CPU build machine
 *   under load; this section times the same work with today's matcher.)
 * - now: `loadKnownHosts` (parsed once while the file is unchanged) and the
 *   index: plain names come from a Map; hashed lines still cost one HMAC each
 *   per host looked up, as in OpenSSH, but once per connection.
 *
 * The file is dated an hour back, as a real known_hosts is (a file written in
 * the last two seconds is compared byte for byte on every lookup). Figures,
 * not a test. `--known-hosts-lines N` changes the size, 0 skips it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHostKey, knownHostName, knownHostsLine, knownKeyTypes, loadKnownHosts, parseKnownHosts } from '../agent/transport/known-hosts.js';
import { figuresSection } from './section.js';

/** An ssh-ed25519 public key blob with random key bytes (known_hosts never checks them). */
function keyBlob(): Buffer {
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([field(Buffer.from('ssh-ed25519')), field(randomBytes(32))]);
}

function address(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** `count` line numbers spread evenly over `lines`. */
function spread(count: number, lines: number): number[] {
  const n = Math.min(count, lines);
  return Array.from({ length: n }, (_, j) => Math.floor((j * lines) / n));
}

/** Per connection: the key types to offer, then the verdict on the key presented. */
function lookUpBefore(file: string, name: string, key: Buffer): string {
  knownKeyTypes(parseKnownHosts(readFileSync(file, 'utf8'), file), name);
  return checkHostKey(parseKnownHosts(readFileSync(file, 'utf8'), file), name, key).status;
}

function lookUpNow(file: string, name: string, key: Buffer): string {
  knownKeyTypes(loadKnownHosts(file), name);
  return checkHostKey(loadKnownHosts(file), name, key).status;
}

/** Mean ms per connection over `names`, checking every verdict is `known`. */
function perConnection(lookUp: (file: string, name: string, key: Buffer) => string, file: string, hosts: readonly number[], names: readonly string[], keys: readonly Buffer[]): number {
  const started = performance.now();
  for (const i of hosts) {
    const status = lookUp(file, names[i], keys[i]);
    if (status !== 'known') throw new Error(`bench known_hosts: ${names[i]} came out ${status}`);
  }
  return (performance.now() - started) / hosts.length;
}

async function benchKnownHosts(lines: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-bench-known-hosts-'));
  try {
    const names = Array.from({ length: lines }, (_, i) => knownHostName(address(i), i % 5 === 0 ? 2222 : 22));
    const keys = names.map(() => keyBlob());
    const ms = (x: number) => (x < 1 ? `${x.toFixed(3)} ms` : `${x.toFixed(1)} ms`);
    const rows: string[] = [];
    for (const hashed of [false, true]) {
      const text = names.map((name, i) => knownHostsLine(!hashed && i % 50 === 7 ? `host${i}.example,${name}` : name, keys[i], hashed));
      if (!hashed) text.push(`*.example.org ${knownHostsLine('x', keys[0]).split(' ').slice(1).join(' ')}`);
      const file = join(dir, hashed ? 'known_hosts.hashed' : 'known_hosts');
      writeFileSync(file, `${text.join('\n')}\n`);
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(file, hourAgo, hourAgo);
      // Hosts spread over the file (a hashed lookup costs a pass over it, before and now).
      const before = perConnection(lookUpBefore, file, spread(20, lines), names, keys);
      const parseStarted = performance.now();
      loadKnownHosts(file);
      const parseMs = performance.now() - parseStarted;
      const now = perConnection(lookUpNow, file, spread(200, lines), names, keys);
      rows.push(`${hashed ? 'hashed' : 'plain'}: before ${ms(before)}, now ${ms(now)} (${Math.round(before / now).toLocaleString('en-US')}×; the one parse ${ms(parseMs)})`);
    }
    return `${lines.toLocaleString('en-US')} lines, per connection (key types, then the key): ${rows.join('; ')}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const knownHostsSections = [figuresSection('known_hosts', '--known-hosts-lines', (shape: { knownHostsLines: number }) => shape.knownHostsLines, benchKnownHosts)];
