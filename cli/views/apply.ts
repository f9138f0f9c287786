/**
 * `lvsc apply`'s two views: text (the plan, then which steps ran where, what
 * still differs, and one closing sentence) or one JSON document at the end
 * (README.md, "lvsc apply --json"). Progress while it runs is progress.ts's,
 * on stderr, whichever view.
 */
import { summarize, type Plan } from '../../compiler/plan.js';
import { printable } from '../../lang/printable.js';
import { document, JsonCommandView } from './json.js';
import { factWarningsJson, unreadableJson, TextPlanView } from './plan.js';
import { planJson } from './plan-json.js';
import { renderPlan } from './plan-text.js';
import { applyResultsJson, renderApplySummary } from './progress.js';
import type { ApplyReport, ApplyView, PlanReport, Unreadable } from './report.js';

/** The question asked on the terminal before anything changes (only `yes` goes ahead). */
export function applyQuestion(plan: Plan): string {
  const s = summarize(plan);
  return `\nApply ${s.create + s.update + s.delete} change(s) to ${s.hostsChanged} host(s)? Only 'yes' goes ahead: `;
}

const CANCELLED = 'Apply cancelled: nothing was changed.\n';

/** The hosts that failed before apply: they could not be read (a host `--target` left out is not one). */
function failedBefore(unreadable: readonly Unreadable[]): Unreadable[] {
  return unreadable.filter((u) => !u.leftOut);
}

/** The plan as plan prints it (TextPlanView), then the results. */
export class TextApplyView extends TextPlanView implements ApplyView {
  /** The plan said "No changes." already. */
  nothingToDo(): void {}

  cancelled(): void {
    this.io.stderr.write(CANCELLED);
  }

  result(r: ApplyReport): void {
    const out = this.io.stdout;
    const color = this.color;
    const before = failedBefore(r.planned.unreadable);
    out.write('\n' + renderApplySummary(r.results, { color }));
    for (const u of before) out.write(`${printable(u.host)}: failed before apply, nothing ran: ${printable(u.message, { newlines: true })}\n`);
    if (!r.verified) {
      out.write('\nAfter apply, the hosts still differ from the cluster description:\n');
      out.write(renderPlan(r.remaining, { color }));
      for (const { host, message } of r.rereadFailed) out.write(`${printable(host)}: could not be read again: ${printable(message, { newlines: true })}\n`);
    }
    const ran = r.results.reduce((n, h) => n + h.steps.filter((s) => s.status === 'done').length, 0);
    const done = r.results.filter((h) => h.status === 'done').length;
    const failed = r.results.filter((h) => h.status === 'failed').length + before.length;
    const skipped = r.results.filter((h) => h.status === 'skipped').length;
    const verdict = done ? `; ${r.verified ? 'verified: the applied hosts match the cluster' : 'NOT verified'}` : '';
    out.write(`\nApply ${r.ok ? 'complete' : 'FAILED'}: ${ran} step(s) ran; ${done} host(s) done, ${failed} failed, ${skipped} skipped${verdict}.\n`);
  }
}

export class JsonApplyView extends JsonCommandView implements ApplyView {
  /** The document comes at the end, with the results. */
  plan(): void {}

  nothingToDo(r: PlanReport & { readonly unreadable: readonly Unreadable[] }): void {
    this.io.stdout.write(document({ version: 1, plan: planJson(r.plan), unreadable: unreadableJson(r.unreadable), warnings: factWarningsJson(r.warnings ?? []), hosts: [], verified: true }));
  }

  cancelled(): void {
    this.io.stderr.write(CANCELLED);
  }

  result(r: ApplyReport): void {
    const { plan, unreadable } = r.planned;
    this.io.stdout.write(
      document({
        version: 1,
        plan: planJson(plan),
        unreadable: unreadableJson(unreadable),
        warnings: factWarningsJson(r.planned.warnings ?? []),
        hosts: [...applyResultsJson(r.results), ...failedBefore(unreadable).map((u) => ({ host: u.host, status: 'failed', message: u.message, steps: [] }))],
        verified: r.verified,
        ...(r.verified ? {} : { remaining: planJson(r.remaining), rereadFailed: r.rereadFailed.map(({ host, message }) => ({ host, message })) }),
      }),
    );
  }
}
