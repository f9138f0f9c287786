/**
 * How a host's steps are carried out, as data: ONE batching pass turns the
 * steps of a phase into typed work units, which apply's executor runs
 * (agent/executor.ts) and `lvsc compile` writes as the host's script
 * (script.ts), so that the script does what apply does.
 *
 * Round trips matter at 100,000 destinations, so:
 * - a run of IPVS edits (`ipvsadm -A/-E/-D/-a/-e/-d`) becomes one `ipvsadm
 *   -R` fed on standard input (`restore`); -R is not atomic and reports only
 *   its last line's status, so the executor reads the table back and checks
 *   each step;
 * - a run of other steps that are plain commands (modules, sysctls,
 *   addresses, routes, links, file removals) becomes one shell script
 *   (`script`), one SSH command and one sudo instead of one per step;
 * - a file is written by the transport (`put`); keepalived's configuration
 *   (`keepalived`) is put beside the live file, checked by `keepalived -t`,
 *   moved into place and then keepalived reloaded (HUP) or started;
 * - a step alone, or one that reads standard input (`nft -f -`), runs its
 *   commands one by one (`commands`).
 * The drain phase has its own shape: the drained destinations go to weight 0
 * together (`weight-zero`: one restore when there are several), then the wait
 * (`wait`, `--drain` long), then the deletions (runs of them as one restore).
 * A drained step's first command is its weight 0, the rest its deletion.
 */
import { posix } from 'node:path';
import { cmd, withStdin, type Command } from './command.js';
import { HEALTH_DIR, KEEPALIVED_CONF, KEEPALIVED_PID } from './keepalived.js';
import type { Step, StepOf } from './plan.js';

/** Which of a step's commands a unit runs: all of them, or (a drained destination) what follows its weight 0. */
export type Stage = 'whole' | 'delete';

export type WorkUnit =
  /** One step's commands, one after the other. */
  | { readonly kind: 'commands'; readonly step: Step; readonly stage: Stage; readonly commands: readonly Command[] }
  /** A rendered file, written by the transport (its directory made first). */
  | { readonly kind: 'put'; readonly step: StepOf<'file'> }
  /** keepalived.conf: the candidate put, checked (`keepalived -t`), moved into place, then keepalived reloaded or started (`keepalivedCommands`). */
  | { readonly kind: 'keepalived'; readonly step: StepOf<'file'>; readonly pidFile: string; readonly healthDir: string }
  /** Two or more steps of plain commands, in one shell script. */
  | { readonly kind: 'script'; readonly steps: readonly Step[] }
  /** Two or more steps of IPVS edits, in one `ipvsadm -R`; the table is read back and each step checked. */
  | { readonly kind: 'restore'; readonly steps: readonly Step[]; readonly stage: Stage; readonly command: Command }
  /** Drained destinations to weight 0, together: one checked restore (`restore`) when there are several plain edits, else each step's first command. */
  | { readonly kind: 'weight-zero'; readonly steps: readonly Step[]; readonly restore?: Command }
  /** The drain: `--drain` long, showing the drained destinations' active connections. */
  | { readonly kind: 'wait'; readonly steps: readonly Step[] }
  /** keepalived stopped (its entries stay in the table: --dont-release-ipvs), then its configuration removed (`keepalivedStop`). */
  | { readonly kind: 'keepalived-stop'; readonly step: StepOf<'file'>; readonly commands: readonly Command[] }
  /**
   * Steps keepalived carries out after a reload (`writer: 'keepalived'`): the
   * table read until it shows them — drained destinations at weight 0
   * (`weight-zero`, their deletion still to come) or gone (`done`).
   */
  | { readonly kind: 'settled'; readonly steps: readonly Step[]; readonly expect: 'weight-zero' | 'done' };

/** Where the keepalived unit looks: the pid file and the notify script's health records (tests point them elsewhere). */
export interface UnitOptions {
  readonly keepalivedPidFile?: string;
  readonly healthDir?: string;
}

/** The message of a director without keepalived: nothing has changed on it. */
export function keepalivedMissing(host: string): string {
  return `keepalived is not installed on ${host}: install the Debian package keepalived`;
}

/**
 * Starts keepalived or makes it reload its configuration, a fixed script ($1
 * the pid file, $2 the health directory): the pid file's process, when it is
 * a live keepalived (/proc/PID/comm), gets SIGHUP; otherwise the health
 * records of an earlier run are cleared and keepalived started: by systemd
 * when PID 1 is systemd (Debian's keepalived.service), else as that unit
 * does — `keepalived $DAEMON_ARGS`, DAEMON_ARGS read from
 * /etc/default/keepalived as systemd's EnvironmentFile= reads it (never run
 * as shell), forking into the background with its pid file — and always with
 * --dont-release-ipvs. Never a restart (which would drop and rebuild the
 * checked services), never an IPVS flush. Prints what it did, one line.
 */
const RELOAD_SCRIPT = [
  'pid=',
  '[ -r "$1" ] && read -r pid < "$1"',
  "case $pid in ''|*[!0-9]*) pid= ;; esac",
  'comm=',
  '[ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && read -r comm < "/proc/$pid/comm"',
  'if [ -n "$pid" ] && [ "$comm" = keepalived ]; then',
  `  printf 'lvsc-keepalived reload %s\\n' "$pid"`,
  '  exec kill -HUP "$pid"',
  'fi',
  'rm -f -- "$2"/*',
  'init=',
  '[ -r /proc/1/comm ] && read -r init < /proc/1/comm',
  'if [ "$init" = systemd ]; then',
  `  printf 'lvsc-keepalived start systemd\\n'`,
  '  exec systemctl start keepalived',
  'fi',
  'args=',
  'if [ -r /etc/default/keepalived ]; then',
  '  while IFS= read -r line || [ -n "$line" ]; do',
  '    case $line in DAEMON_ARGS=*) args=${line#DAEMON_ARGS=} ;; esac',
  '  done < /etc/default/keepalived',
  'fi',
  `case $args in \\"*\\") args=\${args#\\"} args=\${args%\\"} ;; \\'*\\') args=\${args#\\'} args=\${args%\\'} ;; esac`,
  'case " $args " in',
  '  *" --dont-release-ipvs "*|*" -X "*) ;;',
  '  *) args="--dont-release-ipvs $args" ;;',
  'esac',
  `printf 'lvsc-keepalived start daemon\\n'`,
  'set -f',
  '# $args unquoted: split at whitespace as systemd splits $DAEMON_ARGS (no globbing).',
  'exec keepalived --pid "$1" $args',
].join('\n');

/**
 * Stops keepalived for good, a fixed script ($1 the pid file, $2 the health
 * directory): when the pid file names a live keepalived, only if it runs with
 * --dont-release-ipvs (-X), so that its entries stay in the table as it
 * exits; stopped through systemd when PID 1 is systemd, else by SIGTERM to
 * its PID, then waited for (30 s at most). The health records go with it.
 * Prints what it did, one line.
 */
const STOP_SCRIPT = [
  'pid=',
  '[ -r "$1" ] && read -r pid < "$1"',
  "case $pid in ''|*[!0-9]*) pid= ;; esac",
  'comm=',
  '[ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && read -r comm < "/proc/$pid/comm"',
  'if [ -z "$pid" ] || [ "$comm" != keepalived ]; then',
  '  rm -f -- "$2"/*',
  `  printf 'lvsc-keepalived not running\n'`,
  '  exit 0',
  'fi',
  `if ! tr '\\000' '\\n' < "/proc/$pid/cmdline" | grep -qx -e --dont-release-ipvs -e -X; then`,
  `  printf 'keepalived (PID %s) runs without --dont-release-ipvs: stopping it would take its services out of the IPVS table; start it with DAEMON_ARGS="--dont-release-ipvs" (/etc/default/keepalived) first\n' "$pid" >&2`,
  '  exit 1',
  'fi',
  'init=',
  '[ -r /proc/1/comm ] && read -r init < /proc/1/comm',
  'if [ "$init" = systemd ]; then systemctl stop keepalived; else kill -TERM "$pid"; fi',
  'n=0',
  'while [ -r "/proc/$pid/comm" ] && read -r comm < "/proc/$pid/comm" && [ "$comm" = keepalived ]; do',
  '  n=$((n + 1))',
  `  [ "$n" -le 300 ] || { printf 'keepalived (PID %s) did not exit within 30 s\n' "$pid" >&2; exit 1; }`,
  '  sleep 0.1',
  'done',
  'rm -f -- "$2"/*',
  `printf 'lvsc-keepalived stopped %s\n' "$pid"`,
].join('\n');

/** The command that stops keepalived without emptying its entries from the table (STOP_SCRIPT). */
export function keepalivedStop(pidFile: string = KEEPALIVED_PID, healthDir: string = HEALTH_DIR): Command {
  return cmd('sh', '-c', STOP_SCRIPT, 'sh', pidFile, healthDir);
}

/** Whether a host's steps install keepalived.conf: then keepalived must be installed before anything on the host changes. */
export function needsKeepalived(steps: readonly Step[]): boolean {
  return steps.some(keepalivedConf);
}

/** Exits non-zero, saying so on stderr (`keepalivedMissing`), when keepalived is not on PATH. */
export function keepalivedInstalled(host: string): Command {
  return cmd('sh', '-c', 'command -v keepalived >/dev/null || { printf \'%s\\n\' "$1" >&2; exit 1; }', 'sh', keepalivedMissing(host));
}

/** The commands of a keepalived unit, in order (the candidate's content is put between `mkdir` and `test`). */
export function keepalivedCommands(unit: Extract<WorkUnit, { kind: 'keepalived' }>) {
  const live = unit.step.id.path;
  // Beside the live file (the same file system, so the `mv` is atomic).
  const candidate = `${live}.lvsc-new`;
  return {
    live,
    candidate,
    mkdir: cmd('mkdir', '-p', posix.dirname(live)),
    /** `keepalived -t` on the candidate; a refused candidate is removed, keepalived's status and messages kept. */
    test: cmd('sh', '-c', 'keepalived -t -f "$1" || { s=$?; rm -f -- "$1"; exit "$s"; }', 'sh', candidate),
    move: cmd('mv', '-f', '--', candidate, live),
    reload: cmd('sh', '-c', RELOAD_SCRIPT, 'sh', unit.pidFile, unit.healthDir),
  };
}

/** A plain IPVS edit (`ipvsadm -A/-E/-D/-a/-e/-d ...`): one line of an `ipvsadm -R`. */
export function isRestoreLine(c: Command): boolean {
  return c.argv[0] === 'ipvsadm' && !c.stdin && /^-[AEaeDd]$/.test(c.argv[1] ?? '');
}

/** One `ipvsadm -R` running these plain edits in order (each `isRestoreLine`). */
export function restoreCommand(commands: readonly Command[]): Command {
  return withStdin(cmd('ipvsadm', '-R'), commands.map((c) => c.argv.slice(1).join(' ')).join('\n') + '\n');
}

/** The commands a unit runs for a step at a stage: a drained destination's deletion is what follows its weight 0. */
export function stageCommands(step: Step, stage: Stage): readonly Command[] {
  return stage === 'delete' && step.drain ? step.commands.slice(1) : step.commands;
}

/** A step that is IPVS edits only (never a drained one outside the drain phase's own units). */
function ipvsEdits(commands: readonly Command[]): boolean {
  return commands.length > 0 && commands.every(isRestoreLine);
}

/** keepalived's own configuration: written only through the keepalived unit. */
function keepalivedConf(step: Step): step is StepOf<'file'> {
  return step.kind === 'file' && step.action !== 'delete' && step.id.path === KEEPALIVED_CONF;
}

/** keepalived's configuration removed: keepalived is stopped first (the keepalived-stop unit). */
function keepalivedGone(step: Step): boolean {
  return step.kind === 'file' && step.action === 'delete' && step.id.path === KEEPALIVED_CONF;
}

/** A step whose commands can run in a shell script with others: commands without input (not a file's put, not a drain). */
function scriptable(step: Step): boolean {
  return !step.drain && !keepalivedGone(step) && (step.kind !== 'file' || step.action === 'delete') && step.commands.length > 0 && step.commands.every((c) => c.stdin === undefined);
}

/** A step run on its own: a file is put, anything else runs its commands. */
function single(step: Step, stage: Stage = 'whole', options: UnitOptions = {}): WorkUnit {
  if (keepalivedConf(step) && stage === 'whole') return { kind: 'keepalived', step, pidFile: options.keepalivedPidFile ?? KEEPALIVED_PID, healthDir: options.healthDir ?? HEALTH_DIR };
  if (keepalivedGone(step)) return { kind: 'keepalived-stop', step: step as StepOf<'file'>, commands: [keepalivedStop(options.keepalivedPidFile, options.healthDir), ...step.commands.slice(1)] };
  if (step.kind === 'file' && step.action !== 'delete' && stage === 'whole') return { kind: 'put', step };
  return { kind: 'commands', step, stage, commands: stageCommands(step, stage) };
}

/**
 * The work units of one phase's steps (in plan order), the one batching pass.
 * Outside the drain phase: runs of IPVS edits → `restore`; then runs of the
 * remaining steps that are plain commands → `script`; each other step alone,
 * keepalived.conf's (`keepalived`) last of all.
 * The drain phase: `weight-zero` and `wait` for the drained steps, then the
 * deletions of every step there: runs of IPVS edits → `restore`, others alone.
 */
export function phaseUnits(phaseSteps: readonly Step[], options: UnitOptions = {}): WorkUnit[] {
  if (phaseSteps.some((s) => s.phase === 'drain')) return drainUnits(phaseSteps, options);
  // keepalived stopped first: lvsc's ipvsadm writes its entries only once it no longer does.
  // keepalived.conf last: a keepalived it starts finds the files it reads (its notify script, its defaults) in place.
  const steps = [...phaseSteps.filter(keepalivedGone), ...phaseSteps.filter((s) => !keepalivedConf(s) && !keepalivedGone(s)), ...phaseSteps.filter(keepalivedConf)];
  // Runs of IPVS edits first: a run of one stays a step of its own (and may join a script).
  const groups: Step[][] = [];
  for (const s of steps) {
    const last = groups[groups.length - 1];
    const edit = !s.drain && ipvsEdits(s.commands);
    if (edit && last && last.length && !last[0].drain && ipvsEdits(last[0].commands)) last.push(s);
    else groups.push([s]);
  }
  const units: WorkUnit[] = [];
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && groups[j].length === 1 && scriptable(groups[j][0])) j++;
    if (j - i > 1) {
      units.push({ kind: 'script', steps: groups.slice(i, j).map((g) => g[0]) });
      i = j;
      continue;
    }
    const group = groups[i++];
    if (group.length === 1) units.push(single(group[0], 'whole', options));
    else units.push({ kind: 'restore', steps: group, stage: 'whole', command: restoreCommand(group.flatMap((s) => s.commands)) });
  }
  return units;
}

/**
 * The drain phase. Destinations lvsc writes go to weight 0 with ipvsadm;
 * those keepalived writes (`writer: 'keepalived'`) were put at weight 0 by
 * the keepalived.conf of the table phase, and the table is read until it
 * shows them so. The wait is for all of them; then lvsc's deletions, and
 * keepalived.conf without keepalived's (reloaded) and the table read until
 * they are gone.
 */
function drainUnits(phaseSteps: readonly Step[], options: UnitOptions): WorkUnit[] {
  const units: WorkUnit[] = [];
  const byKeepalived = phaseSteps.filter((s) => s.writer === 'keepalived');
  const steps = phaseSteps.filter((s) => s.writer !== 'keepalived');
  const drained = steps.filter((s) => s.drain);
  if (drained.length) {
    const zero = drained.map((s) => s.commands[0]);
    units.push(drained.length > 1 && zero.every(isRestoreLine) ? { kind: 'weight-zero', steps: drained, restore: restoreCommand(zero) } : { kind: 'weight-zero', steps: drained });
  }
  if (byKeepalived.length) units.push({ kind: 'settled', steps: byKeepalived, expect: 'weight-zero' });
  if (drained.length || byKeepalived.length) units.push({ kind: 'wait', steps: [...drained, ...byKeepalived] });
  // Then the deletions: runs of plain IPVS edits as one restore each, anything else on its own.
  const restorable = (s: Step) => ipvsEdits(stageCommands(s, 'delete'));
  for (let i = 0; i < steps.length; ) {
    let j = i;
    while (j < steps.length && restorable(steps[j])) j++;
    if (j - i > 1) {
      const run = steps.slice(i, j);
      units.push({ kind: 'restore', steps: run, stage: 'delete', command: restoreCommand(run.flatMap((s) => stageCommands(s, 'delete'))) });
      i = j;
      continue;
    }
    const s = steps[i++];
    units.push(single(s, keepalivedConf(s) ? 'whole' : 'delete', options));
  }
  if (byKeepalived.length) units.push({ kind: 'settled', steps: byKeepalived, expect: 'done' });
  return units;
}

/** Every command the units send to a host (a restore as the one `ipvsadm -R` it is). */
export function unitCommands(unit: WorkUnit): Command[] {
  switch (unit.kind) {
    case 'commands':
      return [...unit.commands];
    case 'put':
      return [];
    case 'keepalived': {
      const k = keepalivedCommands(unit);
      return [k.mkdir, k.test, k.move, k.reload];
    }
    case 'script':
      return unit.steps.flatMap((s) => s.commands);
    case 'restore':
      return [unit.command];
    case 'weight-zero':
      return unit.restore ? [unit.restore] : unit.steps.map((s) => s.commands[0]);
    case 'wait':
      return [];
    case 'keepalived-stop':
      return [...unit.commands];
    case 'settled':
      return [];
  }
}
