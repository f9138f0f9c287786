/**
 * What lvsc owns on a host: its manifest (compiler/manifest.ts), read with
 * `cat` and parsed strictly. A manifest is all or nothing: one field out of
 * place (an unknown key, another version, an address that is not canonical, a
 * file outside lvsc's paths) makes the whole file unreadable, and the host is
 * not planned (a guess could remove what is not lvsc's, or keep what is).
 *
 * Hosts configured before lvsc wrote manifests have none, only the files it
 * rendered: `legacyOwnership` reads those as the one migration path, strictly
 * too — a file is lvsc's only at one of its paths and with its header (or
 * /etc/ipvsadm.rules on a declared director), its addresses only from
 * `Address=` lines of the `[Address]` sections lvsc writes, its sysctl keys
 * only from `key = value` lines, a fou port only from a netdev file whose name
 * and `Port=` agree. Anything else there is skipped and said. The next apply
 * writes the manifest, and the host is read from it from then on.
 */
import { cmd } from '../../compiler/command.js';
import type { Ownership } from '../../compiler/diff.js';
import { MANIFEST_FORMAT, MANIFEST_PATH, MANIFEST_VERSION, type Manifest } from '../../compiler/manifest.js';
import { isLvscPath, PATHS } from '../../compiler/templates/render.js';
import { parseCidr } from '../../lang/address.js';
import { clip, isRecord, preview, type Fact, type Parsed } from './fact.js';
import { SYSCTL_KEY } from './sysctl.js';

export type ManifestRead =
  | { readonly state: 'absent' }
  | { readonly state: 'present'; readonly text: string; readonly manifest: Manifest }
  /** There, but not a manifest this lvsc reads; `text` is kept so the file can still be diffed. */
  | { readonly state: 'invalid'; readonly text: string; readonly reason: string };

/** `cat` of the manifest; a missing file is `absent` (cat's "No such file or directory"), not an error. */
export function manifestFact(path: string = MANIFEST_PATH): Fact<ManifestRead> {
  return {
    name: 'manifest',
    tool: 'cat',
    command: () => cmd('cat', '--', path),
    parse(stdout) {
      const parsed = parseManifest(stdout);
      return { value: parsed.ok ? { state: 'present', text: stdout, manifest: parsed.manifest } : { state: 'invalid', text: stdout, reason: parsed.reason }, warnings: [] };
    },
    whenFailed(status, stderr) {
      if (status === 1 && /No such file or directory/.test(stderr)) return { value: { state: 'absent' }, warnings: [] };
      return undefined;
    },
  };
}

const KEYS = ['format', 'version', 'host', 'addresses', 'sysctls', 'fouPorts', 'files'] as const;
const HOST = /^[a-z][a-z0-9_-]*$/;
/** A Linux interface name: 1-15 characters, no `/`, no white space. */
const DEV = /^[A-Za-z0-9_.:@+-]{1,15}$/;

/** The manifest in `text`, or why it is not one this lvsc reads. Pure. */
export function parseManifest(text: string): { ok: true; manifest: Manifest } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // (The engine's own message differs between Node versions.)
    return { ok: false, reason: 'not JSON: cut short, or not written by lvsc' };
  }
  if (!isRecord(value)) return { ok: false, reason: 'not a JSON object' };
  if (value.format !== MANIFEST_FORMAT) return { ok: false, reason: `format is ${preview(value.format)}, not "${MANIFEST_FORMAT}"` };
  if (value.version !== MANIFEST_VERSION) {
    const newer = typeof value.version === 'number' && value.version > MANIFEST_VERSION;
    return { ok: false, reason: `version ${preview(value.version)}${newer ? ', written by a newer lvsc' : ''}; this lvsc reads version ${MANIFEST_VERSION}` };
  }
  const stray = Object.keys(value).filter((k) => !(KEYS as readonly string[]).includes(k));
  if (stray.length) return { ok: false, reason: `unknown field(s) ${stray.join(', ')}` };
  const missing = KEYS.filter((k) => !(k in value));
  if (missing.length) return { ok: false, reason: `missing field(s) ${missing.join(', ')}` };
  if (typeof value.host !== 'string' || !HOST.test(value.host)) return { ok: false, reason: `host ${preview(value.host)} is not a host name` };

  /** A list field, each item read by `read` (or why not), none twice. */
  const list = <T>(field: string, read: (item: unknown) => { ok: T } | { not: string }, key: (item: T) => string): T[] | string => {
    const items = value[field];
    if (!Array.isArray(items)) return `${field} is not a list`;
    const out: T[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      const r = read(item);
      if ('not' in r) return `${field}: ${r.not}`;
      const k = key(r.ok);
      if (seen.has(k)) return `${field}: ${k} is listed twice`;
      seen.add(k);
      out.push(r.ok);
    }
    return out;
  };
  const addresses = list<string>(
    'addresses',
    (a) => {
      const [dev, cidrText, ...more] = typeof a === 'string' ? a.split(' ') : [];
      const cidr = cidrText === undefined ? undefined : parseCidr(cidrText);
      if (typeof a !== 'string' || more.length || dev === undefined || !DEV.test(dev) || !cidr) return { not: `${preview(a)} is not "DEV ADDRESS/PREFIX"` };
      if (`${cidr.address}/${cidr.prefix}` !== cidrText) return { not: `${preview(a)}: the address is not in canonical form` };
      return { ok: a };
    },
    (a) => a,
  );
  if (typeof addresses === 'string') return { ok: false, reason: addresses };
  const sysctls = list<string>('sysctls', (k) => (typeof k === 'string' && SYSCTL_KEY.test(k) ? { ok: k } : { not: `${preview(k)} is not a sysctl key` }), (k) => k);
  if (typeof sysctls === 'string') return { ok: false, reason: sysctls };
  const fouPorts = list<number>('fouPorts', (p) => (typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535 ? { ok: p } : { not: `${preview(p)} is not a UDP port` }), String);
  if (typeof fouPorts === 'string') return { ok: false, reason: fouPorts };
  const files = list<string>('files', (f) => (typeof f === 'string' && f !== MANIFEST_PATH && isLvscPath(f) ? { ok: f } : { not: `${preview(f)} is not a path lvsc renders` }), (f) => f);
  if (typeof files === 'string') return { ok: false, reason: files };
  return { ok: true, manifest: { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, host: value.host, addresses, sysctls, fouPorts, files } };
}

/** The ownership a manifest records: its lists, and the manifest file itself (at its path on the host). */
export function manifestOwnership(manifest: Manifest): Ownership {
  return {
    addresses: new Set(manifest.addresses),
    sysctls: new Set(manifest.sysctls),
    fouPorts: new Set(manifest.fouPorts),
    files: new Set([...manifest.files, MANIFEST_PATH]),
  };
}

// ------------------------------------------------------------------ migration: hosts without a manifest

const HEADER = '# Rendered by lvsc';

/** The device a networkd `.network` file of lvsc's is for: `50-lvsc-DEV.network` or `DEV.network.d/lvsc.conf`. */
function networkDevice(path: string): string | undefined {
  if (!path.startsWith(`${PATHS.networkDir}/`)) return undefined;
  const name = path.slice(PATHS.networkDir.length + 1);
  const own = /^50-lvsc-([^/]+)\.network$/.exec(name);
  const dropIn = /^([^/]+)\.network\.d\/lvsc\.conf$/.exec(name);
  const dev = own?.[1] ?? dropIn?.[1];
  return dev !== undefined && DEV.test(dev) ? dev : undefined;
}

/** `[Section]` → its `Key=Value` lines, in order, as networkd files hold them; comments and blank lines skipped. */
function iniSections(text: string): { section: string; key: string; value: string; line: string }[] {
  const out: { section: string; key: string; value: string; line: string }[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
    const s = /^\[([A-Za-z]+)\]$/.exec(l);
    if (s) {
      section = s[1];
      continue;
    }
    const eq = l.indexOf('=');
    out.push({ section, key: eq > 0 ? l.slice(0, eq) : '', value: eq > 0 ? l.slice(eq + 1) : '', line: l });
  }
  return out;
}

/**
 * What lvsc owned on a host it configured before it wrote manifests, from
 * the files it rendered there (see the module comment). Pure.
 */
export function legacyOwnership(allFiles: Readonly<Record<string, string>>, director: boolean): Parsed<Ownership> {
  const warnings: string[] = [];
  const files = new Set<string>();
  const addresses = new Set<string>();
  const sysctls = new Set<string>();
  const fouPorts = new Set<number>();
  for (const [path, content] of Object.entries(allFiles)) {
    if (path === MANIFEST_PATH || !isLvscPath(path)) continue;
    const rendered = content.startsWith(HEADER);
    if (!rendered && !(director && path === PATHS.ipvsadmRules)) continue;
    files.add(path);
    if (!rendered) continue;
    const dev = path.endsWith('.network') || path.endsWith('/lvsc.conf') ? networkDevice(path) : undefined;
    if (dev !== undefined) {
      for (const e of iniSections(content)) {
        if (e.section !== 'Address' || e.key !== 'Address') continue;
        const cidr = parseCidr(e.value);
        if (cidr) addresses.add(`${dev} ${cidr.address}/${cidr.prefix}`);
        else warnings.push(`${path}: skipped \`${e.line}\`: not an address lvsc wrote`);
      }
    } else if (path === PATHS.sysctl) {
      for (const line of content.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const m = /^([^ =]+) = (.*)$/.exec(line);
        if (m && SYSCTL_KEY.test(m[1])) sysctls.add(m[1]);
        else warnings.push(`${path}: skipped \`${clip(line)}\`: not a key = value line lvsc wrote`);
      }
    } else {
      const fou = /\/50-lvsc-fou(\d{1,5})\.netdev$/.exec(path);
      if (!fou) continue;
      const port = Number(fou[1]);
      const declared = iniSections(content).filter((e) => e.section === 'FooOverUDP' && e.key === 'Port').map((e) => e.value);
      if (declared.length === 1 && declared[0] === String(port) && port >= 1 && port <= 65535) fouPorts.add(port);
      else warnings.push(`${path}: its [FooOverUDP] Port= (${declared.join(', ') || 'none'}) is not the port its name says (${fou[1]}): not taken as lvsc's fou port`);
    }
  }
  return { value: { addresses, sysctls, fouPorts, files }, warnings };
}

/**
 * What lvsc owns on a host: the manifest's record, or (no manifest yet) the
 * migration reading of its rendered files; an unreadable manifest is an error
 * (`path`: where it was read, for the message).
 */
export function ownershipOf(read: ManifestRead | undefined, files: Readonly<Record<string, string>>, director: boolean, path: string = MANIFEST_PATH): ({ ok: true } & Parsed<Ownership>) | { ok: false; message: string } {
  if (read?.state === 'present') return { ok: true, value: manifestOwnership(read.manifest), warnings: [] };
  if (read?.state === 'invalid') {
    return { ok: false, message: `${path} is not a manifest this lvsc can read (${read.reason}); fix it, or move it away to have lvsc read its rendered files as on a host it configured before it wrote manifests` };
  }
  const legacy = legacyOwnership(files, director);
  return { ok: true, value: legacy.value, warnings: legacy.warnings };
}
