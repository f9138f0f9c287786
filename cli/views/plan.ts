/**
 * `lvsc plan`'s two views of one PlanReport: the plan as text on stdout
 * (plan-text.ts) with each host that could not be read and the facts' warnings on stderr, or as
 * one compact JSON document on stdout, written in pieces (plan-json.ts, with the live run's
 * `unreadable` and `warnings` lists).
 */
import { printable } from '../../lang/printable.js';
import { HumanCommandView } from './human.js';
import { writePieces } from '../io.js';
import { JsonCommandView } from './json.js';
import { planJsonPieces } from './plan-json.js';
import { planTextPieces } from './plan-text.js';
import type { FactWarning, PlanReport, PlanView, Unreadable } from './report.js';

/** At most this many of one host's fact warnings are shown as text (all of them are in the JSON). */
const WARNINGS_SHOWN = 10;

export class TextPlanView extends HumanCommandView implements PlanView {
  plan(r: PlanReport): void {
    writePieces(this.io.stdout, planTextPieces(r.plan, { color: this.color }, { totalHosts: r.totalHosts, unreadable: (r.unreadable ?? []).filter((u) => !u.leftOut).length }));
    for (const u of r.unreadable ?? []) this.io.stderr.write(`${u.leftOut ? 'warning' : 'error'}: ${printable(u.host)}: ${printable(u.message, { newlines: true })}\n`);
    for (const f of r.plan.faults ?? []) this.io.stderr.write(`error: ${printable(f.hosts.join(' '))}: ${printable(f.message)}\n`);
    this.io.stderr.write(renderFactWarnings(r.warnings ?? []));
  }
}

export class JsonPlanView extends JsonCommandView implements PlanView {
  plan(r: PlanReport): void {
    writePieces(this.io.stdout, planJsonPieces(r.plan, r.unreadable ? { unreadable: unreadableJson(r.unreadable), warnings: factWarningsJson(r.warnings ?? []) } : {}));
  }
}

/** The facts' warnings, `warning: HOST: FACT: MESSAGE` a line (escaped), at most WARNINGS_SHOWN per host, then how many more. */
export function renderFactWarnings(warnings: readonly FactWarning[]): string {
  const byHost = new Map<string, FactWarning[]>();
  for (const w of warnings) {
    const list = byHost.get(w.host);
    if (list) list.push(w);
    else byHost.set(w.host, [w]);
  }
  let out = '';
  for (const [host, list] of byHost) {
    for (const w of list.slice(0, WARNINGS_SHOWN)) out += `warning: ${printable(host)}: ${printable(w.fact)}: ${printable(w.message)}\n`;
    if (list.length > WARNINGS_SHOWN) out += `warning: ${printable(host)}: ${list.length - WARNINGS_SHOWN} more warnings from its facts (lvsc plan --json lists them all)\n`;
  }
  return out;
}

/** The `warnings` list of the plan and apply documents (README.md). */
export function factWarningsJson(warnings: readonly FactWarning[]): object[] {
  return warnings.map((w) => ({ host: w.host, fact: w.fact, message: w.message }));
}

/** The `unreadable` list of the plan and apply documents (README.md). */
export function unreadableJson(unreadable: readonly Unreadable[]): object[] {
  return unreadable.map((u) => ({ host: u.host, message: u.message, ...(u.leftOut ? { leftOut: true } : {}) }));
}
