/**
 * Which of the given systemd units are enabled at boot: for each, whether
 * multi-user.target's wants directory (compiler/boot.ts) holds a link (or
 * anything) by its name, which is what `systemctl enable` makes for a unit
 * with `WantedBy=multi-user.target`. Read the same on a host without systemd
 * (where lvsc makes the link itself), and without asking systemctl, whose
 * answer would need systemd's own files to be complete.
 *
 * One `sh -c` with a fixed script: the directory and the unit names reach it
 * as positional arguments; it prints `lvsc-unit enabled|disabled NAME` per
 * unit, in order.
 */
import { WANTS_DIR } from '../../compiler/boot.js';
import { cmd } from '../../compiler/command.js';
import { clip, type Fact } from './fact.js';

const SCRIPT = [
  'd=$1',
  'shift',
  'for u do',
  `  if [ -e "$d/$u" ] || [ -L "$d/$u" ]; then printf 'lvsc-unit enabled %s\\n' "$u"; else printf 'lvsc-unit disabled %s\\n' "$u"; fi`,
  'done',
].join('\n');

const UNIT = /^[A-Za-z0-9@_.:-]+\.service$/;
const LINE = /^lvsc-unit (enabled|disabled) (\S+)$/;

/** The units of `units` that are enabled (in the order asked). */
export function unitsFact(units: readonly string[], wantsDir: string = WANTS_DIR): Fact<string[]> {
  for (const u of units) if (!UNIT.test(u)) throw new Error(`bug: ${JSON.stringify(u)} is not a unit name the units fact asks about`);
  return {
    name: 'units',
    tool: 'sh',
    command: () => cmd('sh', '-c', SCRIPT, 'sh', wantsDir, ...units),
    parse(stdout) {
      const unreadable: string[] = [];
      const answers = new Map<string, boolean>();
      for (const line of stdout.split('\n')) {
        if (line === '') continue;
        const m = LINE.exec(line);
        if (!m || !units.includes(m[2]) || answers.has(m[2])) unreadable.push(`\`${clip(line)}\` is not one answer for a unit asked about`);
        else answers.set(m[2], m[1] === 'enabled');
      }
      for (const u of units) if (!answers.has(u)) unreadable.push(`no answer for ${u}`);
      return { value: units.filter((u) => answers.get(u) === true), warnings: [], unreadable };
    },
  };
}
