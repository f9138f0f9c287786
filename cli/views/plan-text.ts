/**
 * A plan for people, terraform-style: per host in the order apply runs them
 * (real servers first, directors after), `+` add, `~` change, `-` remove, then
 * the rendered files' changes as unified diffs (jsdiff), then one summary line.
 * A pure function from the Plan value to text.
 */
import { structuredPatch } from 'diff';
import type { HostPlan, Plan, Step } from '../../compiler/plan.js';
import { summarize } from '../../compiler/plan.js';
import type { IpvsDestination, IpvsService } from '../../compiler/state.js';
import { sgr } from './ansi.js';

export interface PlanStyle {
  readonly color: boolean;
}

function paints(color: boolean) {
  const paint = sgr(color);
  return { create: paint('32'), update: paint('33'), delete: paint('31'), bold: paint('1'), hunk: paint('36') };
}

const SYMBOL: Record<Step['action'], string> = { create: '+', update: '~', delete: '-' };

const ROLE_TEXT: Record<string, string> = { director: 'director', 'backup-director': 'backup director', 'real-server': 'real server' };

/** Directors after real servers: the order the plan applies in. */
export function hostOrder(plan: Plan): HostPlan[] {
  const rank = (h: HostPlan) => (h.roles.includes('director') ? 2 : h.roles.includes('backup-director') ? 1 : 0);
  return [...plan.hosts].sort((a, b) => rank(a) - rank(b));
}

function ipvsServiceText(s: Partial<IpvsService>): string {
  const parts = [`scheduler ${s.scheduler}`];
  if (s.flags?.length) parts.push(`flags ${s.flags.join(',')}`);
  if (s.persistence) parts.push(`persistence ${s.persistence.timeout}s${s.persistence.netmask ? `/${s.persistence.netmask}` : ''}`);
  if (s.pe) parts.push(`pe ${s.pe}`);
  if (s.ops) parts.push('ops');
  return parts.join('  ');
}

function destText(d: IpvsDestination): string {
  const parts = [d.method + (d.tunType ? ` ${d.tunType}${d.tunPort ? `:${d.tunPort}` : ''}` : ''), `weight ${d.weight}`];
  if (d.upper || d.lower) parts.push(`upper ${d.upper} lower ${d.lower}`);
  return parts.join('  ');
}

/** One line for a step: what, where, and the change. */
export function stepLine(s: Step): string {
  switch (s.kind) {
    case 'ipvs-service':
      return `ipvs service ${s.key}  ${s.action === 'update' ? s.reason : s.action === 'create' ? ipvsServiceText(s.after as IpvsService) : ''}`.trimEnd();
    case 'ipvs-destination':
      if (s.action === 'create') return `ipvs server  ${s.key}  ${destText(s.after as IpvsDestination)}`;
      if (s.action === 'update') return `ipvs server  ${s.key}  ${s.reason}`;
      return `ipvs server  ${s.key}  (${s.drain ? 'drain, then delete' : 'delete'})`;
    case 'address': {
      const [dev, addr] = s.key.split(' ');
      const label = ((s.after ?? s.before) as { label?: string } | undefined)?.label;
      return `address ${addr} on ${dev}${label ? ` (label ${label})` : ''}`;
    }
    case 'sysctl':
      return `sysctl ${s.key} ${s.before ?? '(unset)'} → ${s.after}`;
    case 'module':
      return `module ${s.key}`;
    case 'file':
      return `file ${s.key}`;
    default:
      return `${s.kind} ${s.key}  ${s.reason}`;
  }
}

function fileDiff(path: string, host: string, before: string | undefined, after: string | undefined, p: ReturnType<typeof paints>): string[] {
  const patch = structuredPatch(path, path, before ?? '', after ?? '', '', '', { context: 2 });
  const out = [p.bold(`${path} on ${host}`)];
  for (const h of patch.hunks) {
    out.push('  ' + p.hunk(`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`));
    for (const line of h.lines) {
      if (line.startsWith('\\')) continue;
      const paint = line[0] === '+' ? p.create : line[0] === '-' ? p.delete : (s: string) => s;
      out.push('  ' + paint(line));
    }
  }
  return out;
}

export function renderPlan(plan: Plan, style: PlanStyle, options: { totalHosts?: number } = {}): string {
  const p = paints(style.color);
  const out: string[] = [];
  const diffs: string[] = [];
  for (const h of hostOrder(plan)) {
    if (!h.steps.length) continue;
    const roles = h.roles.map((r) => ROLE_TEXT[r] ?? r).join(', ') || 'no LVS role';
    out.push(p.bold(`${h.host} (${roles})`));
    for (const s of h.steps) {
      out.push(`  ${p[s.action](SYMBOL[s.action])} ${stepLine(s)}`);
      if (s.kind === 'file') diffs.push(...fileDiff(s.key, h.host, s.before as string | undefined, s.after as string | undefined, p), '');
    }
    out.push('');
  }
  out.push(...diffs);
  const sum = summarize(plan);
  if (!sum.create && !sum.update && !sum.delete) {
    out.push(`No changes. ${options.totalHosts ?? sum.hosts} hosts match the cluster description.`);
  } else {
    out.push(`Plan: ${sum.create} to add, ${sum.update} to change, ${sum.delete} to remove, on ${sum.hostsChanged} of ${options.totalHosts ?? sum.hosts} hosts.`);
  }
  return out.join('\n') + '\n';
}
