/**
 * Support for the diff tables (compiler/diff.test.ts): what the fact commands
 * print on a host, and how the live side of a case is read.
 *
 * The live side of every case goes through the real fact parsers from raw
 * command output, never from hand-built HostState values. The output comes
 * from one of three places:
 * - a captured real output (`{"capture": "netns"}` = agent/testdata/facts/<fact>/netns.json);
 * - output written in the case (ipvsadm lines copied from the shared fixture, iproute2 JSON);
 * - `"$render"`: what a host that an earlier cluster file was applied to prints,
 *   made here. `ipvsadm -Sn` is printed by the real formatter (`saveText`); the
 *   others are written in the formats of the captures (checked by the table's
 *   own tests: the thresholds listing reproduces the fixture's byte for byte).
 *
 * Ownership is what the real assembly makes of the outputs: the manifest
 * fact's (`$render` prints the manifest the earlier file rendered), or, where
 * a case says the manifest is absent, the migration reading of the files.
 */
import { readFileSync } from 'node:fs';
import { assembleHostState, hostFacts, readFact, type FactRequest, type FactResult, type HostFacts, type RawOutput } from '../../../agent/facts/index.js';
import { compareDestinations, compareServices, saveText } from '../../ipvsadm.js';
import type { DesiredHost } from '../../desired.js';
import type { Host } from '../../ir.js';
import { NFT_CHAIN, NFT_CHAIN_SPEC, NFT_FAMILY, NFT_TABLE } from '../../nft.js';
import { hostPort, type HostState, type IpvsService } from '../../state.js';
import { MANIFEST_PATH } from '../../manifest.js';

const FACTS = new URL('../../../agent/testdata/facts/', import.meta.url);

/** How a case gives one fact's output. */
export type OutputSpec =
  | string
  | string[]
  | { readonly stdout?: string | string[]; readonly stderr?: string; readonly status?: number }
  | { readonly capture: string }
  /** Files fact only: these files present, printed as the fact's command prints them (base64 is unreadable in a table). */
  | { readonly present: Readonly<Record<string, string>> };

/** The raw output a spec stands for (`fact` names the capture folder). */
export function rawOutput(fact: string, spec: OutputSpec): RawOutput {
  const text = (s: string | string[] | undefined) => (Array.isArray(s) ? s.map((l) => `${l}\n`).join('') : (s ?? ''));
  if (typeof spec === 'string' || Array.isArray(spec)) return { stdout: text(spec), stderr: '', status: 0 };
  if ('present' in spec) return { stdout: filesOutput(spec.present), stderr: '', status: 0 };
  if ('capture' in spec) {
    const c = JSON.parse(readFileSync(new URL(`${fact}/${spec.capture}.json`, FACTS), 'utf8')) as { output: string; stderr?: string; status?: number };
    return { stdout: c.output, stderr: c.stderr ?? '', status: c.status ?? 0 };
  }
  return { stdout: text(spec.stdout), stderr: spec.stderr ?? '', status: spec.status ?? 0 };
}

// ------------------------------------------------------------------ what a host prints

const MODULE_MARK = '--- lvsc-modules';

/** The modules fact's three parts: /proc/modules in the kernel's format, an empty modules.builtin, /sys/module. */
function modulesOutput(modules: readonly string[]): string {
  const proc = modules.map((m) => `${m} 16384 0 - Live 0x0000000000000000\n`).join('');
  const sysfs = modules.map((m) => `${m}\n`).join('');
  return (
    `${MODULE_MARK} proc\n${proc}${MODULE_MARK} end proc 0\n` +
    `${MODULE_MARK} builtin\n${MODULE_MARK} end builtin 0\n` +
    `${MODULE_MARK} sysfs\n${sysfs}${MODULE_MARK} end sysfs 0\n`
  );
}

const PROTO_NAME = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' } as const;

/** A service line of the `-L` listings, as ipvsadm 1.31 prints it (`TCP  10.1.0.100:443 wrr persistent 1800 mask 255.255.255.0`). */
function listServiceLine(s: IpvsService): string {
  const id = s.id.kind === 'fwmark' ? `FWM  ${s.id.mark}${s.id.family === 6 ? ' IPv6' : ''}` : `${PROTO_NAME[s.id.proto].padEnd(4)} ${hostPort(s.id.address, s.id.port)}`;
  let line = `${id} ${s.scheduler}`;
  if (s.flags.length) line += ` (${flagOrder(s.scheduler, s.flags).join(',')})`;
  if (s.persistence) {
    line += ` persistent ${s.persistence.timeout}`;
    if (s.persistence.netmask) line += ` mask ${s.persistence.netmask}`;
    if (s.pe) line += ` pe ${s.pe}`;
  }
  if (s.ops) line += ' ops';
  return line;
}

/** ipvsadm prints flags first bit first: fallback before port. */
function flagOrder(_scheduler: string, flags: readonly string[]): string[] {
  const rank = (f: string) => (/fallback|flag-1/.test(f) ? 0 : /port|flag-2/.test(f) ? 1 : 2);
  return [...flags].sort((a, b) => rank(a) - rank(b));
}

/** `ipvsadm -Ln --thresholds`, in ipvsadm's order and column layout. */
export function thresholdsOutput(services: readonly IpvsService[]): string {
  const lines = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ',
    '  -> RemoteAddress:Port',
  ];
  for (const s of [...services].sort(compareServices)) {
    lines.push(listServiceLine(s));
    for (const d of [...s.destinations].sort(compareDestinations)) {
      lines.push(`  -> ${hostPort(d.address, d.port).padEnd(28)} ${[d.upper, d.lower, 0, 0].map((n) => String(n).padEnd(10)).join(' ')}`);
    }
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** `ip -j addr show`: lo, the host's declared interfaces, and the desired addresses on their devices. */
function addressesOutput(host: Host | undefined, state: HostState): string {
  const links = new Map<string, { family: string; local: string; prefixlen: number; scope: string; label?: string }[]>([
    ['lo', [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' }]],
  ]);
  const add = (dev: string, address: string, prefix: number, label?: string) => {
    if (!links.has(dev)) links.set(dev, []);
    const v6 = address.includes(':');
    links.get(dev)!.push({ family: v6 ? 'inet6' : 'inet', local: address, prefixlen: prefix, scope: 'global', ...(v6 ? {} : { label: label ?? dev }) });
  };
  for (const i of host?.interfaces ?? []) add(i.dev, i.address, i.prefix);
  for (const a of state.addresses) add(a.dev, a.address, a.prefix, a.label);
  links.get('lo')!.push({ family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' });
  const json = [...links].map(([ifname, addr_info], i) => ({
    ifindex: i + 1,
    ifname,
    flags: ifname === 'lo' ? ['LOOPBACK', 'UP', 'LOWER_UP'] : ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: ifname === 'lo' ? 65536 : 1500,
    operstate: ifname === 'lo' ? 'UNKNOWN' : 'UP',
    addr_info: addr_info.map((a) => ({ ...a, valid_life_time: 4294967295, preferred_life_time: 4294967295 })),
  }));
  return JSON.stringify(json) + '\n';
}

/** `ip -j route show` (family 4) or `ip -j -6 route show`: connected routes, the desired routes (proto 76), else the declared gateway. */
function routesOutput(host: Host | undefined, state: HostState, family: 4 | 6): string {
  const out: Record<string, unknown>[] = [];
  const mine = state.routes.filter((r) => (r.via ?? r.dst).includes(':') === (family === 6));
  const def = mine.find((r) => r.dst === 'default');
  const gw = host?.gateways.find((g) => g.family === family);
  const gwDev = gw && host?.interfaces.find((i) => i.family === family)?.dev;
  if (def) out.push({ dst: 'default', gateway: def.via, dev: def.dev, protocol: '76', flags: [] });
  else if (gw) out.push({ dst: 'default', gateway: gw.address, dev: gwDev, flags: [] });
  for (const i of host?.interfaces ?? []) if (i.family === family) out.push({ dst: i.network, dev: i.dev, protocol: 'kernel', scope: 'link', prefsrc: i.address, flags: [] });
  for (const r of mine) if (r.dst !== 'default') out.push({ dst: r.dst, gateway: r.via, dev: r.dev, protocol: '76', flags: [] });
  return JSON.stringify(out) + '\n';
}

const LINK_KIND = { ipip: 'ipip', gre: 'gre', ip6tnl: 'ip6tnl' } as const;

/** `ip -j -d link show`: lo, the declared interfaces (veth) and the desired tunnel devices. */
function linksOutput(host: Host | undefined, state: HostState): string {
  const json: Record<string, unknown>[] = [{ ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], link_type: 'loopback' }];
  for (const dev of new Set(host?.interfaces.map((i) => i.dev))) json.push({ ifindex: json.length + 1, ifname: dev, flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], link_type: 'ether', linkinfo: { info_kind: 'veth' } });
  for (const l of state.links) {
    if (l.kind === 'fou') continue;
    json.push({ ifindex: json.length + 1, ifname: l.name, flags: l.up ? ['NOARP', 'UP', 'LOWER_UP'] : ['NOARP'], link_type: l.kind, linkinfo: { info_kind: LINK_KIND[l.kind] } });
  }
  return JSON.stringify(json) + '\n';
}

/** `ip -j fou show`: the ports, or (none open, no fou module) what this machine's kernel answers. */
function fouOutput(state: HostState): RawOutput {
  const ports = state.links.filter((l) => l.kind === 'fou');
  if (!ports.length) return rawOutput('fou', { capture: 'no-fou-kernel' });
  return { stdout: JSON.stringify(ports.map((p) => ({ port: p.port, gue: null }))) + '\n', stderr: '', status: 0 };
}

/** `nft -j list table inet lvsc`: the table as nft 1.0.6 lists it, or "No such file" when there is none. */
function nftOutput(state: HostState): RawOutput {
  if (!state.fwmarkRules.length) return rawOutput('nft', { capture: 'no-table' });
  const items: unknown[] = [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: NFT_FAMILY, name: NFT_TABLE, handle: 2 } },
    { chain: { family: NFT_FAMILY, table: NFT_TABLE, name: NFT_CHAIN, handle: 1, ...NFT_CHAIN_SPEC } },
  ];
  state.fwmarkRules.forEach((r, i) => {
    const ports = [...new Set(r.ports)].sort((a, b) => a - b);
    const expr: unknown[] = [{ match: { op: '==', left: { payload: { protocol: r.family === 6 ? 'ip6' : 'ip', field: 'daddr' } }, right: r.address } }];
    if (ports.length === 0) expr.push({ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: r.proto } });
    else expr.push({ match: { op: '==', left: { payload: { protocol: r.proto, field: 'dport' } }, right: ports.length === 1 ? ports[0] : { set: ports } } });
    expr.push({ mangle: { key: { meta: { key: 'mark' } }, value: r.mark } });
    items.push({ rule: { family: NFT_FAMILY, table: NFT_TABLE, chain: NFT_CHAIN, handle: 3 + i, expr } });
  });
  return { stdout: JSON.stringify({ nftables: items }) + '\n', stderr: '', status: 0 };
}

/** The files fact's output: a header per path, and a present file's bytes in base64, 76 columns as coreutils wraps. */
export function filesOutput(files: Readonly<Record<string, string>>): string {
  let out = '';
  for (const [path, content] of Object.entries(files)) {
    const b = Buffer.from(content, 'utf8').toString('base64');
    out += `lvsc-file present ${path}\n${(b.match(/.{1,76}/g) ?? ['']).join('\n')}\n`;
  }
  return out;
}

/** Every fact's output on a host whose state is `host.state` and whose declared network is `ir`. */
export function renderOutputs(host: DesiredHost, ir: Host | undefined): Record<string, RawOutput> {
  const s = host.state;
  const ok = (stdout: string): RawOutput => ({ stdout, stderr: '', status: 0 });
  const out: Record<string, RawOutput> = {
    modules: ok(modulesOutput(s.modules)),
    addresses: ok(addressesOutput(ir, s)),
    routes: ok(routesOutput(ir, s, 4)),
    routes6: ok(routesOutput(ir, s, 6)),
    links: ok(linksOutput(ir, s)),
    fou: fouOutput(s),
    nft: nftOutput(s),
  };
  // A planner asks for sysctls and files only where there are some to ask for.
  if (Object.keys(s.sysctls).length) out.sysctl = ok(Object.entries(s.sysctls).map(([k, v]) => `${k} = ${v}\n`).join(''));
  const { [MANIFEST_PATH]: manifest, ...files } = s.files;
  if (Object.keys(files).length) out.files = ok(filesOutput(files));
  out.manifest = manifest === undefined ? rawOutput('manifest', { capture: 'absent' }) : ok(manifest);
  // The units fact's script, on a host where each unit lvsc wants is enabled.
  if (s.enabledUnits.length) out.units = ok(s.enabledUnits.map((u) => `lvsc-unit enabled ${u}\n`).join(''));
  if (s.ipvs) {
    out.ipvs = ok(saveText(s.ipvs));
    out.thresholds = ok(thresholdsOutput(s.ipvs));
    // Fields the file leaves at 0 keep the kernel's defaults (900 120 300).
    const t = s.timeouts;
    out.timeouts = ok(`Timeout (tcp tcpfin udp): ${t?.tcp || 900} ${t?.tcpfin || 120} ${t?.udp || 300}\n`);
    out.daemon = ok(
      s.syncDaemons
        .map((d) => `${d.state} sync daemon (mcast=${d.mcastInterface}, syncid=${d.syncid}, maxlen=1472, group=224.0.0.81, port=8848${d.state === 'master' ? ', ttl=1' : ''})\n`)
        .join(''),
    );
  }
  return out;
}

// ------------------------------------------------------------------ reading a host

/** The request a planner would make: IPVS facts on directors, the sysctl keys and files the outputs answer for. */
export function requestFor(director: boolean, outputs: Readonly<Record<string, RawOutput>>): FactRequest {
  const sysctlKeys = [...(outputs.sysctl?.stdout ?? '').matchAll(/^([A-Za-z0-9_][A-Za-z0-9_.\/-]*) =/gm)].map((m) => m[1]);
  const files = [...(outputs.files?.stdout ?? '').matchAll(/^lvsc-file (?:present|absent|unreadable) (.*)$/gm)].map((m) => m[1]);
  const units = [...(outputs.units?.stdout ?? '').matchAll(/^lvsc-unit (?:enabled|disabled) (\S+)$/gm)].map((m) => m[1]);
  return { director, sysctlKeys, files, ...(units.length ? { units } : {}) };
}

/**
 * A host's live state from its facts' raw outputs, through each fact's own
 * parser and the real assembly. A fact the request does not read (IPVS on a
 * host that is not a director) must not be given: that is a mistake in a case.
 */
export function readHost(director: boolean, outputs: Readonly<Record<string, RawOutput>>): HostFacts {
  const request = requestFor(director, outputs);
  const facts = hostFacts(request);
  const names = new Set(facts.map((f) => f.name));
  const stray = Object.keys(outputs).filter((n) => !names.has(n));
  if (stray.length) throw new Error(`outputs given for facts this host does not read: ${stray.join(', ')} (director: ${director})`);
  const results = new Map<string, FactResult<unknown>>();
  for (const fact of facts) {
    const raw = outputs[fact.name];
    if (raw) results.set(fact.name, readFact(fact, raw));
  }
  return assembleHostState(results, request);
}
