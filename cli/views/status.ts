/**
 * `lvsc status`'s two views of one ClusterStatus (agent/status.ts): text for
 * people, and one JSON document (schema in README.md, `statusJson`). With
 * `--watch` the text view redraws in place on a terminal and writes plain
 * blocks, one per read, elsewhere; the JSON view writes one document per line.
 *
 *   lb1  director  active (holds 3 of 3 VIPs)  keepalived running (pid 812)  sync master eth1 id 7
 *
 *   web-nat  tcp 10.10.0.100:80  wrr  on lb1   4 conn/s  in 1.2 KiB/s  out 3.0 KiB/s
 *     server  address          weight  health    active  inact  conn/s   in/s      out/s
 *     web3    10.20.0.13:8080  2       up        0       31     3        812 B     2.0 KiB
 *     web4    10.20.0.14:8080  1 ≠ 0   down 42s  0       0      0        0 B       0 B     !
 *     ! web4 10.20.0.14:8080: ~ weight 0 → 1
 */
import type { ClusterStatus, DirectorStatus, Drift, Health, ServerStatus, ServiceStatus } from '../../agent/status.js';
import { STATUS_VERSION } from '../../agent/status.js';
import { ACTION_SYMBOL } from '../../compiler/plan.js';
import { hostPort } from '../../compiler/state.js';
import { printable, printableJson } from '../../lang/printable.js';
import { sgr, type Paint } from './ansi.js';
import { HumanCommandView } from './human.js';
import { document, JsonCommandView } from './json.js';

export interface StatusView {
  /** One read of the cluster; `watch`: more follow (redraw in place on a terminal). */
  status(s: ClusterStatus, watch: boolean): void;
  error(message: string): void;
}

/** `1536` → `1.5 KiB`: binary units, one decimal below 10. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** `125` → `2m05s`: how long, for people. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

function healthText(h: Health, at: number): string {
  switch (h.state) {
    case 'up':
      return 'up';
    case 'down':
      return `down ${duration(at / 1000 - h.since)}`;
    case 'draining':
      return 'draining';
    case 'unknown':
      return h.why === 'unchecked' ? 'unchecked' : 'unknown';
  }
}

interface Palette {
  readonly bold: Paint;
  readonly dim: Paint;
  readonly ok: Paint;
  readonly bad: Paint;
  readonly warn: Paint;
}

function healthPaint(h: Health, p: Palette): Paint {
  return h.state === 'up' ? p.ok : h.state === 'down' ? p.bad : h.state === 'draining' ? p.warn : p.dim;
}

/** Columns padded to their widest cell; `paint` styles a cell after padding, so colour codes do not count. */
function table(rows: readonly (readonly { text: string; paint?: Paint }[])[], indent: string): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c.text].length)));
  return rows.map((r) =>
    (
      indent +
      r
        .map((c, i) => {
          const cell = i === r.length - 1 ? c.text : c.text + ' '.repeat(widths[i] - [...c.text].length);
          return c.paint ? c.paint(cell) : cell;
        })
        .join('  ')
    ).trimEnd(),
  );
}

function directorLine(d: DirectorStatus, p: Palette): string {
  const parts = [p.bold(printable(d.name)), d.declared === 'active' ? 'director' : 'backup director'];
  if (d.role === 'unknown') parts.push(p.bad('not read'));
  else {
    const role = d.role === 'split' ? p.bad('split') : d.role === 'active' ? p.ok('active') : 'backup';
    parts.push(`${role} (holds ${d.vipsHeld} of ${d.vips} VIP${d.vips === 1 ? '' : 's'})`);
  }
  if (d.keepalived) {
    const k = d.keepalived;
    parts.push(!k.installed ? 'keepalived not installed' : k.running ? `keepalived running (pid ${k.pid})` : p.warn('keepalived not running'));
  }
  if (d.sync.live) {
    const live = d.sync.live.map((s) => `${s.state} ${printable(s.mcastInterface)} id ${s.syncid}`);
    const want = d.sync.declared;
    const matches = want ? d.sync.live.some((s) => s.state === want.state && s.mcastInterface === want.mcastInterface && s.syncid === want.syncid) : d.sync.live.length === 0;
    const text = `sync ${live.length ? live.join(', ') : 'none'}`;
    parts.push(matches ? text : p.bad(`${text} (declared: ${want ? `${want.state} ${printable(want.mcastInterface)} id ${want.syncid}` : 'none'}) !`));
  }
  return parts.join('  ');
}

function weightText(s: ServerStatus): string {
  if (!s.live) return `${s.weight}`;
  return s.live.weight === s.weight ? `${s.weight}` : `${s.weight} ≠ ${s.live.weight}`;
}

function driftLines(label: string, drift: readonly Drift[], p: Palette): string[] {
  return drift.map((d) => p.bad(`    ! ${label}: ${ACTION_SYMBOL[d.action]} ${printable(d.reason)}`));
}

function serviceBlock(s: ServiceStatus, at: number, p: Palette): string[] {
  const head = [p.bold(printable(s.name)), printable(s.key), printable(s.scheduler)];
  if (s.director === undefined) head.push(p.bad('no director read'));
  else {
    head.push(`on ${printable(s.director)}`);
    if (s.liveScheduler === null) head.push(p.bad('not in the live table !'));
    else if (s.liveScheduler !== s.scheduler) head.push(p.bad(`live scheduler ${printable(s.liveScheduler)} !`));
    if (s.rates) head.push(`${s.rates.cps} conn/s  in ${bytes(s.rates.inBps)}/s  out ${bytes(s.rates.outBps)}/s`);
  }
  const out = ['  ' + head.join('  ')];
  const rows: { text: string; paint?: Paint }[][] = [['server', 'address', 'weight', 'health', 'active', 'inact', 'conn/s', 'in/s', 'out/s', ''].map((text) => ({ text, paint: p.dim }))];
  for (const v of s.servers) {
    const l = v.live;
    const marked = v.drift.length > 0 || (l !== null && l.weight !== v.weight && v.health.state !== 'down');
    rows.push([
      { text: printable(v.name) + (v.role === 'sorry' ? ' (sorry)' : '') },
      { text: hostPort(v.dest.address, v.dest.port) },
      { text: weightText(v) },
      { text: healthText(v.health, at), paint: healthPaint(v.health, p) },
      { text: l ? `${l.active}` : '-' },
      { text: l ? `${l.inactive}` : '-' },
      { text: l?.rates ? `${l.rates.cps}` : '-' },
      { text: l?.rates ? bytes(l.rates.inBps) : '-' },
      { text: l?.rates ? bytes(l.rates.outBps) : '-' },
      { text: marked ? '!' : l === null && s.director !== undefined ? 'not live !' : '', paint: p.bad },
    ]);
  }
  for (const u of s.undeclared) {
    const l = u.live;
    rows.push([
      { text: '(undeclared)', paint: p.bad },
      { text: hostPort(u.dest.address, u.dest.port) },
      { text: `- ≠ ${l.weight}` },
      { text: '' },
      { text: `${l.active}` },
      { text: `${l.inactive}` },
      { text: l.rates ? `${l.rates.cps}` : '-' },
      { text: l.rates ? bytes(l.rates.inBps) : '-' },
      { text: l.rates ? bytes(l.rates.outBps) : '-' },
      { text: '!', paint: p.bad },
    ]);
  }
  out.push(...table(rows, '    '));
  out.push(...driftLines(printable(s.key), s.drift, p));
  for (const v of s.servers) out.push(...driftLines(`${printable(v.name)} ${hostPort(v.dest.address, v.dest.port)}`, v.drift, p));
  for (const u of s.undeclared) out.push(...driftLines(hostPort(u.dest.address, u.dest.port), u.drift, p));
  return out;
}

/** The status as text: the time, the directors, each service with its servers, the hosts that could not be read or differ. */
export function renderStatus(s: ClusterStatus, options: { color: boolean }): string {
  const paint = sgr(options.color);
  const p: Palette = { bold: paint('1'), dim: paint('2'), ok: paint('32'), bad: paint('31'), warn: paint('33') };
  const out: string[] = [];
  const read = s.hosts.filter((h) => h.ok).length;
  out.push(p.dim(`${new Date(s.at).toISOString().replace(/\.\d+Z$/, 'Z')}  ${read} of ${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'} read`));
  out.push('');
  for (const d of s.directors) out.push(directorLine(d, p));
  for (const d of s.directors) {
    for (const u of d.undeclared) out.push(p.bad(`  ! ${printable(d.name)} has ${printable(u.key)} (${printable(u.scheduler)}, ${u.destinations} server${u.destinations === 1 ? '' : 's'}), which the file does not declare`));
  }
  for (const svc of s.services) {
    out.push('');
    out.push(...serviceBlock(svc, s.at, p));
  }
  const troubled = s.hosts.filter((h) => !h.ok || (h.changes ?? 0) > 0);
  if (troubled.length) out.push('');
  for (const h of troubled) {
    if (!h.ok) out.push(p.bad(`${printable(h.name)}: not read: ${printable(h.error ?? '', { newlines: true })}`));
    else out.push(p.warn(`${printable(h.name)}: ${h.changes} change${h.changes === 1 ? '' : 's'} to make (lvsc plan shows them)`));
  }
  return out.join('\n') + '\n';
}

/** Move to the top left and clear the screen: the next block replaces the last. */
const REDRAW = '\x1b[H\x1b[2J';

export class TextStatusView extends HumanCommandView implements StatusView {
  status(s: ClusterStatus, watch: boolean): void {
    const text = renderStatus(s, { color: this.color });
    if (watch && this.io.stdout.isTTY) this.io.stdout.write(REDRAW + text);
    else this.io.stdout.write(watch ? `${text}\n` : text);
  }
}

/** The status document (`lvsc status --json`), version STATUS_VERSION: README.md documents every field. */
export function statusJson(s: ClusterStatus): object {
  return {
    version: STATUS_VERSION,
    at: new Date(s.at).toISOString(),
    hosts: s.hosts.map((h) => ({ name: h.name, roles: h.roles, ok: h.ok, ...(h.error !== undefined ? { error: h.error } : {}), ...(h.ms !== undefined ? { ms: h.ms } : {}), ...(h.changes !== undefined ? { changes: h.changes } : {}) })),
    directors: s.directors.map((d) => ({
      name: d.name,
      declared: d.declared,
      role: d.role,
      vipsHeld: d.vipsHeld,
      vips: d.vips,
      keepalived: d.keepalived ? { installed: d.keepalived.installed, running: d.keepalived.running, ...(d.keepalived.version ? { version: d.keepalived.version } : {}), ...(d.keepalived.pid !== undefined ? { pid: d.keepalived.pid } : {}) } : null,
      sync: { declared: d.sync.declared ?? null, live: d.sync.live ?? null },
      undeclared: d.undeclared.map((u) => ({ key: u.key, id: u.id, scheduler: u.scheduler, destinations: u.destinations })),
    })),
    services: s.services.map((v) => ({
      name: v.name,
      key: v.key,
      id: v.id,
      scheduler: v.scheduler,
      director: v.director ?? null,
      liveScheduler: v.liveScheduler,
      totals: v.totals ?? null,
      rates: v.rates ?? null,
      drift: v.drift,
      servers: v.servers.map((x) => ({
        name: x.name,
        role: x.role,
        address: x.dest.address,
        port: x.dest.port,
        method: x.method,
        weight: x.weight,
        live: x.live ? liveJson(x.live) : null,
        health: x.health,
        drift: x.drift,
      })),
      undeclared: v.undeclared.map((u) => ({ address: u.dest.address, port: u.dest.port, live: liveJson(u.live), drift: u.drift })),
    })),
  };
}

function liveJson(l: NonNullable<ServerStatus['live']>): object {
  return { weight: l.weight, forward: l.forward, active: l.active, inactive: l.inactive, totals: l.totals ?? null, rates: l.rates ?? null };
}

export class JsonStatusView extends JsonCommandView implements StatusView {
  status(s: ClusterStatus, watch: boolean): void {
    // One document; with --watch one per line (JSON Lines), so a reader can take each as it comes.
    this.io.stdout.write(watch ? `${printableJson(JSON.stringify(statusJson(s)))}\n` : document(statusJson(s)));
  }
}
