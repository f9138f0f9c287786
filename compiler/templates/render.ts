/**
 * Rendered host files (handlebars): what makes a host come back the same after
 * a reboot — /etc/ipvsadm.rules in `ipvsadm-save -n` format, /etc/sysctl.d,
 * /etc/modules-load.d, systemd-networkd units, lvsc's nftables table and the
 * drop-ins that make Debian's ipvsadm and nftables services load it (and set
 * the IPVS timeouts, which ipvsadm-save leaves out), and on a director with
 * health checks /etc/keepalived/keepalived.conf —, the manifest of what lvsc
 * owns on the host (compiler/manifest.ts), and each host's plan as a
 * shell script. One handlebars environment with `noEscape` (nothing here is
 * HTML) and one `sh` helper that shell-quotes every value it prints.
 */
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { commandLine, shellQuote, type Command } from '../command.js';
import type { DesiredHost } from '../desired.js';
import { saveLines, setTimeouts } from '../ipvsadm.js';
import { nftScript } from '../nft.js';
import { MANIFEST_PATH, manifestOf, manifestText } from '../manifest.js';
import { HEALTH_DIR, KEEPALIVED_CONF, KEEPALIVED_NOTIFY, type KeepalivedConfig } from '../keepalived.js';
import { OWNED_DEVICES, ROUTE_PROTO } from '../lvs.js';
import type { HostState } from '../state.js';

const hb = Handlebars.create();
hb.registerHelper('sh', (value: unknown) => {
  if (Array.isArray(value)) return commandLine({ argv: value.map(String) });
  return shellQuote(String(value));
});

const cache = new Map<string, Handlebars.TemplateDelegate>();
export function template(name: string): Handlebars.TemplateDelegate {
  let t = cache.get(name);
  if (!t) {
    const text = readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
    t = hb.compile(text, { noEscape: true, strict: false });
    cache.set(name, t);
  }
  return t;
}

export const PATHS = {
  ipvsadmRules: '/etc/ipvsadm.rules',
  ipvsadmDefault: '/etc/default/ipvsadm',
  sysctl: '/etc/sysctl.d/90-lvsc.conf',
  modules: '/etc/modules-load.d/lvsc.conf',
  networkDir: '/etc/systemd/network',
  manifest: MANIFEST_PATH,
  keepalived: KEEPALIVED_CONF,
  keepalivedDefault: '/etc/default/keepalived',
  keepalivedNotify: KEEPALIVED_NOTIFY,
  /** lvsc's nftables table (fwmark services), as an `nft -f` file. */
  fwmarkNft: '/etc/nftables.d/lvsc.nft',
  /** Drop-in for Debian's ipvsadm service: the timeouts and the marks after its restore. */
  ipvsadmUnit: '/etc/systemd/system/ipvsadm.service.d/lvsc.conf',
  /** Drop-in for Debian's nftables service: lvsc's table again after /etc/nftables.conf's `flush ruleset`. */
  nftablesUnit: '/etc/systemd/system/nftables.service.d/lvsc.conf',
  /** Drop-in for Debian's keepalived service: after the ipvsadm service, whose start flushes the table. */
  keepalivedUnit: '/etc/systemd/system/keepalived.service.d/lvsc.conf',
} as const;

/** The programs a unit's Exec lines run, by absolute path (systemd runs no shell; before v239 it searched no PATH). */
const UNIT_PROGRAMS: Readonly<Record<string, string>> = { ipvsadm: '/sbin/ipvsadm', nft: '/usr/sbin/nft' };

/** A command as a systemd Exec line: its program's absolute path, then arguments that need no quoting in a unit file. */
function execLine(c: Command): string {
  const program = UNIT_PROGRAMS[c.argv[0]];
  if (!program || c.stdin !== undefined || !c.argv.slice(1).every((a) => /^[A-Za-z0-9_./:=-]+$/.test(a))) throw new Error(`bug: \`${commandLine(c)}\` cannot be a systemd Exec line`);
  return [program, ...c.argv.slice(1)].join(' ');
}

/** Every file lvsc renders lives at one of these paths (so it knows which files are its own). */
export function isLvscPath(path: string): boolean {
  return (
    path === PATHS.ipvsadmRules ||
    path === PATHS.ipvsadmDefault ||
    path === PATHS.sysctl ||
    path === PATHS.modules ||
    path === PATHS.manifest ||
    path === PATHS.keepalived ||
    path === PATHS.keepalivedDefault ||
    path === PATHS.keepalivedNotify ||
    path === PATHS.fwmarkNft ||
    path === PATHS.ipvsadmUnit ||
    path === PATHS.nftablesUnit ||
    path === PATHS.keepalivedUnit ||
    (path.startsWith(`${PATHS.networkDir}/`) && /\/(50-lvsc-[^/]+\.(network|netdev)|[^/]+\.network\.d\/lvsc\.conf)$/.test(path))
  );
}

/**
 * Shell patterns for every networkd file lvsc may have rendered (the
 * networkd part of `isLvscPath`): read by pattern on the host, so a file
 * whose name no longer follows from the cluster file (a removed GUE port's
 * `50-lvsc-fou<port>.netdev`, a drop-in of a renamed interface) is still found.
 */
export const NETWORK_FILE_GLOBS: readonly string[] = [`${PATHS.networkDir}/50-lvsc-*.network`, `${PATHS.networkDir}/50-lvsc-*.netdev`, `${PATHS.networkDir}/*.network.d/lvsc.conf`];

/** keepalived.conf for a director's keepalived configuration. */
export function renderKeepalivedConf(config: KeepalivedConfig): string {
  return template('keepalived.conf.hbs')(config);
}

/**
 * The files that persist a host's desired state across reboots, and the
 * manifest of what lvsc owns there (compiler/manifest.ts) when it owns anything.
 */
export function renderFiles(host: DesiredHost): Record<string, string> {
  const s = host.state;
  const files: Record<string, string> = {};
  if (s.ipvs) {
    // keepalived programs its own services (at boot too): the rules file restores only lvsc's.
    files[PATHS.ipvsadmRules] = template('ipvsadm.rules.hbs')({ lines: saveLines(s.ipvs.filter((x) => x.owner !== 'keepalived'), { thresholds: true }) });
    const sync = s.syncDaemons[0];
    files[PATHS.ipvsadmDefault] = template('ipvsadm.default.hbs')({ host: host.name, daemon: sync?.state ?? 'none', iface: sync?.mcastInterface ?? '', syncid: sync?.syncid ?? 0 });
    Object.assign(files, renderBootUnits(host.name, s));
  }
  if (host.keepalived) {
    files[PATHS.keepalived] = renderKeepalivedConf(host.keepalived);
    files[PATHS.keepalivedDefault] = template('keepalived.default.hbs')({ host: host.name });
    files[PATHS.keepalivedUnit] = template('keepalived.service.conf.hbs')({ host: host.name });
    if (host.keepalived.virtualServers.some((v) => v.realServers.some((r) => r.notify))) files[PATHS.keepalivedNotify] = template('keepalived-notify.sh.hbs')({ stateDir: HEALTH_DIR });
  }
  if (Object.keys(s.sysctls).length) files[PATHS.sysctl] = template('sysctl.conf.hbs')({ host: host.name, sysctls: s.sysctls });
  if (s.modules.length) files[PATHS.modules] = template('modules.conf.hbs')({ host: host.name, modules: s.modules });
  Object.assign(files, renderNetwork(host.name, s));
  if (Object.keys(files).length) files[PATHS.manifest] = manifestText(manifestOf(host.name, s, Object.keys(files)));
  return files;
}

/**
 * What no distribution file restores at boot: the IPVS timeouts (`ipvsadm
 * --set`; ipvsadm-save leaves them out) and lvsc's nftables table. Both run
 * after Debian's ipvsadm service has restored /etc/ipvsadm.rules, from a
 * drop-in of that service (which lvsc already relies on, and the package
 * enables); the table is an `nft -f` file that Debian's nftables service,
 * when the operator enables it, loads again after /etc/nftables.conf (whose
 * `flush ruleset` would remove it), so the operator's nftables.conf is never
 * touched.
 */
function renderBootUnits(host: string, s: HostState): Record<string, string> {
  const files: Record<string, string> = {};
  const lines: string[] = [];
  const what: string[] = [];
  const t = s.timeouts;
  if (t && (t.tcp || t.tcpfin || t.udp)) {
    lines.push(execLine(setTimeouts(t)));
    what.push('the IPVS timeouts (ipvsadm-save leaves them out)');
  }
  if (s.fwmarkRules.length) {
    const load = execLine({ argv: ['nft', '-f', PATHS.fwmarkNft] });
    files[PATHS.fwmarkNft] = template('fwmark.nft.hbs')({ host, script: nftScript(s.fwmarkRules).trimEnd() });
    files[PATHS.nftablesUnit] = template('nftables.service.conf.hbs')({ host, load });
    lines.push(load);
    what.push(`the firewall marks of fwmark services (${PATHS.fwmarkNft})`);
  }
  if (lines.length) files[PATHS.ipvsadmUnit] = template('ipvsadm.service.conf.hbs')({ host, lines, what });
  return files;
}

// Devices lvsc owns whole get their own .network file; others a drop-in beside the operator's `<dev>.network`.

function renderNetwork(host: string, s: HostState): Record<string, string> {
  const byDev = new Map<string, { addresses: HostState['addresses'][number][]; routes: HostState['routes'][number][] }>();
  const entry = (dev: string) => {
    let e = byDev.get(dev);
    if (!e) byDev.set(dev, (e = { addresses: [], routes: [] }));
    return e;
  };
  for (const a of s.addresses) entry(a.dev).addresses.push(a);
  for (const r of s.routes) if (r.dev) entry(r.dev).routes.push(r);
  const files: Record<string, string> = {};
  for (const [dev, e] of [...byDev].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const owned = OWNED_DEVICES.has(dev);
    const path = owned ? `${PATHS.networkDir}/50-lvsc-${dev}.network` : `${PATHS.networkDir}/${dev}.network.d/lvsc.conf`;
    const text = template('device.network.hbs')({
      host,
      dev,
      purpose: owned ? `the VIPs lvsc keeps on ${dev}` : `lvsc's additions to ${dev} (a drop-in for ${dev}.network)`,
      keepConfiguration: dev === 'lo',
      addresses: e.addresses.map((a) => ({ ...a, ipv6: a.address.includes(':') })),
      routes: e.routes.map((r) => ({ via: r.via, proto: ROUTE_PROTO })),
    });
    files[path] = owned ? text : text.replace(/\[Match\]\nName=[^\n]*\n\n/, '');
  }
  for (const l of s.links) {
    if (l.kind !== 'fou') continue;
    files[`${PATHS.networkDir}/50-lvsc-fou${l.port}.netdev`] = template('tunnel.netdev.hbs')({ host, purpose: `GUE decapsulation on UDP port ${l.port}`, name: `fou${l.port}`, kind: 'fou', fouPort: l.port });
  }
  return files;
}
