/**
 * A host's plan as a reviewable shell script (`lvsc compile --out DIR`): its
 * work units (units.ts), the same ones apply runs, in order.
 */
import { posix } from 'node:path';
import { cmd, withStdin, type Command } from './command.js';
import { ACTION_SYMBOL, PHASES, type HostPlan, type Step } from './plan.js';
import { template } from './templates/render.js';
import { keepalivedCommands, keepalivedInstalled, needsKeepalived, phaseUnits, type WorkUnit } from './units.js';

interface Entry {
  readonly symbol: string;
  readonly kind: string;
  readonly key: string;
  readonly reason: string;
  readonly commands: readonly { argv: readonly string[]; stdin?: string }[];
  readonly files: readonly { path: string; dir: string; content: string }[];
}

const argv = (commands: readonly Command[]) => commands.map((c) => ({ argv: c.argv, stdin: c.stdin }));

function stepEntry(s: Step, commands: readonly Command[], reason = s.reason): Entry {
  const files = s.kind === 'file' && s.action !== 'delete' ? [{ path: s.id.path, dir: posix.dirname(s.id.path), content: s.after ?? '' }] : [];
  return { symbol: ACTION_SYMBOL[s.action], kind: s.kind, key: s.label, reason, commands: argv(commands), files };
}

function batchEntry(key: string, command: Command): Entry {
  return { symbol: '*', kind: 'ipvs batch', key, reason: '', commands: argv([command]), files: [] };
}

function entries(unit: WorkUnit): Entry[] {
  switch (unit.kind) {
    case 'commands':
      return [stepEntry(unit.step, unit.commands)];
    case 'put':
      return [stepEntry(unit.step, [])];
    case 'keepalived': {
      // What apply does: the candidate written beside the live file (apply puts it), checked, moved into place, keepalived reloaded or started.
      const k = keepalivedCommands(unit);
      const write = withStdin(cmd('sh', '-c', 'cat > "$1"', 'sh', k.candidate), unit.step.after ?? '');
      const entry = stepEntry(unit.step, [k.mkdir, write, k.test, k.move, k.reload], [unit.step.reason, 'checked by keepalived -t, then keepalived reloaded or started'].filter(Boolean).join('; '));
      return [{ ...entry, files: [] }];
    }
    case 'script':
      return unit.steps.map((s) => stepEntry(s, s.commands));
    case 'restore':
      return [batchEntry(`${unit.steps.length} IPVS edits in one restore`, unit.command)];
    case 'weight-zero':
      if (unit.restore) return [batchEntry(`${unit.steps.length} drained destinations to weight 0 in one restore`, unit.restore)];
      return unit.steps.map((s) => stepEntry(s, s.commands.slice(0, 1), 'weight 0, to drain'));
    case 'wait':
      return [{ symbol: '·', kind: 'wait', key: '--drain', reason: 'lvsc apply waits here while the drained destinations finish their connections', commands: [], files: [] }];
    case 'keepalived-stop':
      return [stepEntry(unit.step, unit.commands)];
    case 'settled': {
      const what = unit.expect === 'weight-zero' ? 'at weight 0 (keepalived.conf holds them so, reloaded above)' : 'gone (keepalived.conf without them, reloaded above)';
      return [{ symbol: '·', kind: 'wait', key: 'keepalived', reason: `lvsc apply reads the table here until keepalived has ${unit.steps.length} drained destination(s) ${what}`, commands: [], files: [] }];
    }
  }
}

export function renderHostScript(plan: HostPlan): string {
  const phases = PHASES.map((name) => ({ name, steps: phaseUnits(plan.steps.filter((s) => s.phase === name)).flatMap(entries) })).filter((p) => p.steps.length);
  // What apply checks before the host's first change: keepalived, when the plan installs its configuration.
  const prerequisites = needsKeepalived(plan.steps) ? [{ argv: keepalivedInstalled(plan.host).argv }] : [];
  return template('host-script.sh.hbs')({ host: plan.host, roles: plan.roles.join(', ') || 'no LVS role', prerequisites, phases });
}
