/** A host's plan as a reviewable shell script (`lvsc compile --out DIR`), batched as apply runs it. */
import { posix } from 'node:path';
import { batchSteps } from './batch.js';
import { ACTION_SYMBOL, PHASES, type HostPlan } from './plan.js';
import { template } from './templates/render.js';

export function renderHostScript(plan: HostPlan): string {
  const phases = PHASES.map((name) => {
    const steps = plan.steps.filter((s) => s.phase === name);
    return {
      name,
      steps: batchSteps(steps).map((b) => ({
        symbol: b.steps.length > 1 ? '*' : ACTION_SYMBOL[b.steps[0].action],
        kind: b.steps.length > 1 ? 'ipvs batch' : b.steps[0].kind,
        key: b.steps.length > 1 ? `${b.steps.length} IPVS edits in one restore` : b.steps[0].label,
        reason: b.steps.length > 1 ? '' : b.steps[0].reason,
        commands: b.commands.map((c) => ({ argv: c.argv, stdin: c.stdin })),
        files: b.steps.flatMap((s) =>
          s.kind === 'file' && s.action !== 'delete' ? [{ path: s.id.path, dir: posix.dirname(s.id.path), content: s.after ?? '' }] : [],
        ),
      })),
    };
  }).filter((p) => p.steps.length);
  return template('host-script.sh.hbs')({ host: plan.host, roles: plan.roles.join(', ') || 'no LVS role', phases });
}
