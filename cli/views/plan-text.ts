/**
 * A plan for people, terraform-style: per host in the order apply runs them
 * (real servers first, directors after), `+` add, `~` change, `-` remove, then
 * the rendered files' changes as unified diffs (jsdiff), then one summary line.
 * A pure function from the Plan value to text.
 */
import { structuredPatch } from 'diff';
import type { HostPlan, Plan, ServerDown, Step, VrrpRole } from '../../compiler/plan.js';
import { ACTION_SYMBOL, summarize } from '../../compiler/plan.js';
import type { IpvsDestination } from '../../compiler/state.js';
import { printable } from '../../lang/printable.js';
import { sgr } from './ansi.js';

export interface PlanStyle {
  readonly color: boolean;
}

function paints(color: boolean) {
  const paint = sgr(color);
  return { create: paint('32'), update: paint('33'), delete: paint('31'), bold: paint('1'), hunk: paint('36') };
}

const ROLE_TEXT: Record<string, string> = { director: 'director', 'backup-director': 'backup director', 'real-server': 'real server' };

/** Directors after real servers: the order the plan applies in. */
export function hostOrder(plan: Plan): HostPlan[] {
  const rank = (h: HostPlan) => (h.roles.includes('director') ? 2 : h.roles.includes('backup-director') ? 1 : 0);
  return [...plan.hosts].sort((a, b) => rank(a) - rank(b));
}

function destText(d: IpvsDestination): string {
  const parts = [d.method + (d.tunType ? ` ${d.tunType}${d.tunPort ? `:${d.tunPort}` : ''}` : ''), `weight ${d.weight}`];
  if (d.upper || d.lower) parts.push(`upper ${d.upper} lower ${d.lower}`);
  return parts.join('  ');
}

/** One line for a step: what, where, and the change; a host's or the file's control characters escaped (lang/printable.ts). */
export function stepLine(s: Step): string {
  return printable(rawStepLine(s));
}

function rawStepLine(s: Step): string {
  switch (s.kind) {
    case 'ipvs-service':
      // A created service's reason is its settings; an update's, what changed.
      return `ipvs service ${s.label}  ${s.action === 'delete' ? '' : s.reason}`.trimEnd();
    case 'ipvs-destination':
      if (s.action === 'create' && s.after) return `ipvs server  ${s.label}  ${destText(s.after)}`;
      if (s.action === 'update') return `ipvs server  ${s.label}  ${s.reason}`;
      return `ipvs server  ${s.label}  (${s.drain ? 'drain, then delete' : 'delete'})`;
    case 'address': {
      const label = (s.after ?? s.before)?.label;
      return `address ${s.id.address}/${s.id.prefix} on ${s.id.dev}${label ? ` (label ${label})` : ''}`;
    }
    case 'sysctl':
      return `sysctl ${s.label} ${s.before ?? '(unset)'} → ${s.after}`;
    case 'module':
    case 'file':
      return `${s.kind} ${s.label}`;
    default:
      return `${s.kind} ${s.label}  ${s.reason}`;
  }
}

/** A time keepalived recorded (seconds since the epoch), in UTC: `2023-11-14T22:13:20Z`. */
export function healthTime(since: number): string {
  return new Date(since * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A server keepalived shields, under its host: health, not a change (no `+ ~ -`). */
/** A failover director's VRRP role: `vrrp  master (holds 10.3.0.100/24 dev eth0, ...)`, `vrrp  backup`, `keepalived not running` appended where so. */
export function vrrpLine(v: VrrpRole): string {
  const holds = v.role === 'backup' ? '' : ` (holds ${v.holds.join(', ')})`;
  return printable(`vrrp  ${v.role}${holds}${v.keepalived ? '' : ', keepalived not running'}`);
}

export function downLine(d: ServerDown): string {
  return `health  ${printable(d.label)}  down (check failing since ${healthTime(d.since)})`;
}

export interface Hunk {
  readonly oldStart: number;
  readonly oldLines: number;
  readonly newStart: number;
  readonly newLines: number;
  /** `+line`, `-line`, ` line`, and `\\ No newline at end of file` as jsdiff gives them. */
  readonly lines: readonly string[];
}

/**
 * The unified-diff hunks (context 2) from `before` to `after`, as jsdiff's
 * structuredPatch gives them. A file created or removed whole is one hunk of
 * its lines, made directly: jsdiff's edit-distance search costs 0.8 s on the
 * 30,000-line files of a 100,000-destination director, for nothing to search.
 */
export function fileHunks(before: string, after: string): readonly Hunk[] {
  if (before === after) return [];
  if (before === '' || after === '') {
    const sign = before === '' ? '+' : '-';
    const text = before || after;
    const lines = text.split('\n');
    const last = lines.pop()!;
    for (let i = 0; i < lines.length; i++) lines[i] = sign + lines[i];
    if (last !== '') lines.push(sign + last, '\\ No newline at end of file');
    const n = lines.length - (last !== '' ? 1 : 0);
    return [{ oldStart: 1, oldLines: sign === '-' ? n : 0, newStart: 1, newLines: sign === '+' ? n : 0, lines }];
  }
  return structuredPatch('', '', before, after, '', '', { context: 2 }).hunks;
}

/** A rendered file's change as unified-diff lines. */
function* fileDiff(path: string, host: string, before: string | undefined, after: string | undefined, p: ReturnType<typeof paints>): Generator<string> {
  yield p.bold(printable(`${path} on ${host}`));
  for (const h of fileHunks(before ?? '', after ?? '')) {
    yield '  ' + p.hunk(`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`);
    for (const line of h.lines) {
      if (line.startsWith('\\')) continue;
      const paint = line[0] === '+' ? p.create : line[0] === '-' ? p.delete : (s: string) => s;
      // Per line: a live file's content may hold any bytes; the line breaks are the diff's own.
      yield '  ' + paint(printable(line));
    }
  }
}

export interface PlanTextOptions {
  /** The hosts of the run, `unreadable` of them could not be read (so not planned). */
  readonly totalHosts?: number;
  readonly unreadable?: number;
}

/** The plan as text, in one string. */
export function renderPlan(plan: Plan, style: PlanStyle, options: PlanTextOptions = {}): string {
  return [...planLines(plan, style, options)].join('\n') + '\n';
}

/** The plan's text in pieces, for a view to write as it goes (at 100,000 destinations: 22 MB). */
export function* planTextPieces(plan: Plan, style: PlanStyle, options: PlanTextOptions = {}): Generator<string> {
  for (const line of planLines(plan, style, options)) yield line + '\n';
}

/** The plan's lines: each host's steps, then the files' diffs (made host by host again, never held), then the summary. */
function* planLines(plan: Plan, style: PlanStyle, options: PlanTextOptions): Generator<string> {
  const p = paints(style.color);
  const hosts = hostOrder(plan);
  let down = 0;
  for (const h of hosts) {
    if (!h.steps.length && !h.down?.length && !h.vrrp) continue;
    const roles = h.roles.map((r) => ROLE_TEXT[r] ?? r).join(', ') || 'no LVS role';
    yield p.bold(printable(`${h.host} (${roles})`));
    for (const s of h.steps) yield `  ${p[s.action](ACTION_SYMBOL[s.action])} ${stepLine(s)}`;
    for (const d of h.down ?? []) yield `    ${downLine(d)}`;
    if (h.vrrp) yield `    ${vrrpLine(h.vrrp)}`;
    down += h.down?.length ?? 0;
    yield '';
  }
  for (const h of hosts) {
    if (!h.steps.length && !h.down?.length && !h.vrrp) continue;
    for (const s of h.steps) {
      if (s.kind !== 'file') continue;
      yield* fileDiff(s.id.path, h.host, s.before, s.after, p);
      yield '';
    }
  }
  const sum = summarize(plan);
  const total = options.totalHosts ?? sum.hosts;
  const unreadable = options.unreadable ?? 0;
  if (!sum.create && !sum.update && !sum.delete) {
    // A host that could not be read was not compared: it matches nothing.
    if (unreadable && unreadable >= total) yield `Nothing planned: none of the ${total} hosts could be read.`;
    else if (unreadable) yield `No changes on the ${total - unreadable} of ${total} hosts that were read (${unreadable} could not be read).`;
    else yield `No changes. ${total} hosts match the cluster description.`;
  } else {
    yield `Plan: ${sum.create} to add, ${sum.update} to change, ${sum.delete} to remove, on ${sum.hostsChanged} of ${total} hosts.`;
  }
  const masters = plan.hosts.filter((h) => h.vrrp?.role === 'master').map((h) => h.host);
  if (masters.length) yield printable(`VRRP: ${masters.join(' and ')} ${masters.length === 1 ? 'holds' : 'hold'} the VIPs (VRRP state, not a change).`);
  if (down) yield `${down} checked server${down === 1 ? '' : 's'} down: keepalived keeps ${down === 1 ? 'it' : 'them'} out of the rotation until the check passes (health, not a change).`;
}
