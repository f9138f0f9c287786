/**
 * Round trips matter at 100,000 destinations: consecutive IPVS edits of one
 * phase go to the kernel as one `ipvsadm -R` (restore) fed on standard input,
 * not one SSH exec each. `ipvsadm -R` is not atomic and reports only its last
 * line's status, so whoever runs a batch must read the table back (apply does).
 */
import { cmd, withStdin, type Command } from './command.js';
import type { Step } from './plan.js';

export interface Batch {
  readonly steps: readonly Step[];
  readonly commands: readonly Command[];
}

/** A plain IPVS edit (`ipvsadm -A/-E/-D/-a/-e/-d ...`): one line of an `ipvsadm -R`. */
export function isRestoreLine(c: Command): boolean {
  return c.argv[0] === 'ipvsadm' && !c.stdin && /^-[AEaeDd]$/.test(c.argv[1] ?? '');
}

/** One `ipvsadm -R` running these plain edits in order (each `isRestoreLine`). */
export function restoreCommand(commands: readonly Command[]): Command {
  return withStdin(cmd('ipvsadm', '-R'), commands.map((c) => c.argv.slice(1).join(' ')).join('\n') + '\n');
}

function isPlainIpvsadm(step: Step): boolean {
  return !step.drain && step.commands.length > 0 && step.commands.every(isRestoreLine);
}

/** Group a host's ordered steps into batches: runs of plain ipvsadm edits within one phase become one restore. */
export function batchSteps(steps: readonly Step[]): Batch[] {
  const out: Batch[] = [];
  let run: Step[] = [];
  const flush = () => {
    if (!run.length) return;
    if (run.length === 1) out.push({ steps: run, commands: run[0].commands });
    else out.push({ steps: run, commands: [restoreCommand(run.flatMap((s) => s.commands))] });
    run = [];
  };
  for (const s of steps) {
    if (isPlainIpvsadm(s) && (!run.length || run[0].phase === s.phase)) {
      run.push(s);
      continue;
    }
    flush();
    if (isPlainIpvsadm(s)) run.push(s);
    else out.push({ steps: [s], commands: s.commands });
  }
  flush();
  return out;
}
