/**
 * `lvsc plan`'s two views of one PlanReport: the plan as text on stdout
 * (plan-text.ts) with each host that could not be read on stderr, or as one compact JSON
 * document on stdout, written in pieces (plan-json.ts, with the live run's `unreadable` list).
 */
import { printable } from '../../lang/printable.js';
import { HumanCommandView } from './human.js';
import { writePieces } from '../io.js';
import { JsonCommandView } from './json.js';
import { planJsonPieces } from './plan-json.js';
import { renderPlan } from './plan-text.js';
import type { PlanReport, PlanView, Unreadable } from './report.js';

export class TextPlanView extends HumanCommandView implements PlanView {
  plan(r: PlanReport): void {
    this.io.stdout.write(renderPlan(r.plan, { color: this.color }, { totalHosts: r.totalHosts, unreadable: (r.unreadable ?? []).filter((u) => !u.leftOut).length }));
    for (const u of r.unreadable ?? []) this.io.stderr.write(`${u.leftOut ? 'warning' : 'error'}: ${printable(u.host)}: ${printable(u.message, { newlines: true })}\n`);
    for (const f of r.plan.faults ?? []) this.io.stderr.write(`error: ${printable(f.hosts.join(' '))}: ${printable(f.message)}\n`);
  }
}

export class JsonPlanView extends JsonCommandView implements PlanView {
  plan(r: PlanReport): void {
    writePieces(this.io.stdout, planJsonPieces(r.plan, r.unreadable ? { unreadable: unreadableJson(r.unreadable) } : {}));
  }
}

/** The `unreadable` list of the plan and apply documents (README.md). */
export function unreadableJson(unreadable: readonly Unreadable[]): object[] {
  return unreadable.map((u) => ({ host: u.host, message: u.message, ...(u.leftOut ? { leftOut: true } : {}) }));
}
