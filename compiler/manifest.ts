/**
 * What lvsc owns on a host, as data: the manifest, a JSON file lvsc renders
 * beside its other files (MANIFEST_PATH) and reads back through a fact
 * (agent/facts/manifest.ts, which parses it strictly). It lists what lvsc may
 * remove there later and would not otherwise recognise as its own: the
 * addresses it added (IPv6 addresses carry no label), the sysctl keys it set,
 * the fou ports it opened and the files it rendered. IPv4 addresses with its
 * `:lvs` label, routes with its route protocol, its nftables table and a
 * director's IPVS table are recognised on the host itself.
 *
 * The file is rendered from the desired state, so it is written with the
 * other files (in `prepare`) and, like them, removed when a host has nothing
 * of lvsc's left.
 *
 *   {
 *     "format": "lvsc-manifest",
 *     "version": 1,
 *     "host": "web1",
 *     "addresses": ["lo 2001:db8:2::100/128"],
 *     "sysctls": ["net.ipv4.conf.lo.arp_ignore"],
 *     "fouPorts": [6080],
 *     "files": ["/etc/sysctl.d/90-lvsc.conf"]
 *   }
 *
 * An address is `DEV ADDRESS/PREFIX`, the address in canonical form (RFC 5952
 * for IPv6). Every list is sorted and holds no duplicates; `files` does not
 * name the manifest itself (a manifest that is there is always lvsc's).
 */
import type { HostState } from './state.js';

export const MANIFEST_PATH = '/var/lib/lvsc/manifest.json';
export const MANIFEST_FORMAT = 'lvsc-manifest';
export const MANIFEST_VERSION = 1;

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  /** The host it was rendered for (for people reading it; not checked). */
  readonly host: string;
  /** `DEV ADDRESS/PREFIX`: `lo 2001:db8:2::100/128`. */
  readonly addresses: readonly string[];
  readonly sysctls: readonly string[];
  readonly fouPorts: readonly number[];
  readonly files: readonly string[];
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The manifest of a host whose desired state is `state` and whose other rendered files are `files`. */
export function manifestOf(host: string, state: HostState, files: readonly string[]): Manifest {
  const fou = new Set(state.links.filter((l) => l.kind === 'fou' && l.port !== undefined).map((l) => l.port!));
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    host,
    addresses: [...new Set(state.addresses.map((a) => `${a.dev} ${a.address}/${a.prefix}`))].sort(byText),
    sysctls: [...new Set(Object.keys(state.sysctls))].sort(byText),
    fouPorts: [...fou].sort((a, b) => a - b),
    files: [...new Set(files)].filter((f) => f !== MANIFEST_PATH).sort(byText),
  };
}

/** The manifest's file text: JSON, two-space indented, one trailing newline. */
export function manifestText(manifest: Manifest): string {
  return JSON.stringify(manifest, null, 2) + '\n';
}
