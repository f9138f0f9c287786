/** A host's plan as a reviewable shell script (`lvsc compile --out DIR`), batched as apply runs it. */
import { batchSteps } from './batch.js';
import { PHASES, type HostPlan, type Step } from './plan.js';
import { template } from './templates/render.js';

const SYMBOL: Record<Step['action'], string> = { create: '+', update: '~', delete: '-' };

export function renderHostScript(plan: HostPlan): string {
  const phases = PHASES.map((name) => {
    const steps = plan.steps.filter((s) => s.phase === name);
    return {
      name,
      steps: batchSteps(steps).map((b) => ({
        symbol: b.steps.length > 1 ? '*' : SYMBOL[b.steps[0].action],
        kind: b.steps.length > 1 ? 'ipvs batch' : b.steps[0].kind,
        key: b.steps.length > 1 ? `${b.steps.length} IPVS edits in one restore` : b.steps[0].key,
        reason: b.steps.length > 1 ? '' : b.steps[0].reason,
        commands: b.commands.map((c) => ({ argv: c.argv, stdin: c.stdin })),
        files: b.steps
          .filter((s) => s.kind === 'file' && s.action !== 'delete')
          .map((s) => ({ path: s.key, dir: s.key.slice(0, s.key.lastIndexOf('/')) || '/', content: String(s.after) })),
      })),
    };
  }).filter((p) => p.steps.length);
  return template('host-script.sh.hbs')({ host: plan.host, roles: plan.roles.join(', ') || 'no LVS role', phases });
}
