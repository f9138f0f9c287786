/**
 * The kernel modules a host has: loaded ones, and built-in ones (which
 * `/proc/modules` never lists, yet need no `modprobe`).
 *
 * Decision: three sources in one `sh -c`, and the value is their union:
 * - `/proc/modules`: loaded modules (first field of each line). Missing on a
 *   kernel without loadable-module support.
 * - `/lib/modules/$(uname -r)/modules.builtin`: every built-in module, as
 *   paths (`kernel/net/netfilter/ipvs/ip_vs_rr.ko`). The authoritative list;
 *   missing on hosts without the kernel's module tree (minimal VMs).
 * - `ls /sys/module`: loaded modules plus built-ins that have parameters. No
 *   false positives, but a parameterless built-in (most IPVS schedulers) is
 *   not there, so it is only a fallback for hosts without modules.builtin.
 * Names use underscores, as the kernel reports them (`ip_vs_rr`). A missing
 * source is reported as a warning that says what cannot be seen.
 */
import { cmd } from '../../compiler/command.js';
import { clip, type Fact } from './fact.js';

const MARK = '--- lvsc-modules';

/** The script; each part is `MARK NAME`, its output (stderr included), `MARK end NAME STATUS`. */
const SCRIPT = [
  `for p in proc builtin sysfs; do`,
  `  printf '%s %s\\n' '${MARK}' "$p"`,
  `  case $p in`,
  `    proc) cat /proc/modules ;;`,
  `    builtin) cat "/lib/modules/$(uname -r)/modules.builtin" ;;`,
  `    sysfs) ls /sys/module ;;`,
  `  esac 2>&1`,
  `  printf '%s end %s %s\\n' '${MARK}' "$p" "$?"`,
  `done`,
].join('\n');

const NAME = /^[A-Za-z0-9_-]+$/;
const BEGIN = new RegExp(`^${MARK} (\\w+)$`);
const END = new RegExp(`^${MARK} end (\\w+) (\\d+)$`);
/**
 * The module a modules.builtin line names (`kernel/net/netfilter/ipvs/ip_vs_rr.ko` → `ip_vs_rr`).
 * The file name is cut off at the last `/` first: an unanchored `([^/]+)\.ko$` would try every
 * position of a long line that has none, quadratic (a 200 KB line took minutes).
 */
function builtinName(path: string): string | undefined {
  return /^([^/]+)\.ko(\.[a-z]+)?$/.exec(path.slice(path.lastIndexOf('/') + 1))?.[1];
}

const norm = (name: string) => name.replace(/-/g, '_');

export const modulesFact: Fact<string[]> = {
  name: 'modules',
  tool: 'sh',
  command: () => cmd('sh', '-c', SCRIPT),
  parse(stdout) {
    const warnings: string[] = [];
    const unreadable: string[] = [];
    const parts = new Map<string, { lines: string[]; status: number }>();
    let current: { lines: string[]; status: number } | undefined;
    for (const line of stdout.split('\n')) {
      const end = END.exec(line);
      if (end && current) {
        current.status = Number(end[2]);
        current = undefined;
        continue;
      }
      const begin = BEGIN.exec(line);
      if (begin) {
        current = { lines: [], status: -1 };
        parts.set(begin[1], current);
        continue;
      }
      if (current) current.lines.push(line);
      else if (line !== '') unreadable.push(`\`${clip(line)}\` is outside any part`);
    }
    const names = new Set<string>();
    const ok = (p: string) => parts.get(p)?.status === 0;
    const proc = parts.get('proc');
    if (ok('proc')) {
      for (const line of proc!.lines) {
        const name = line.split(' ')[0];
        if (NAME.test(name)) names.add(norm(name));
        else if (line.trim() !== '') warnings.push(`skipped \`${clip(line)}\` in /proc/modules`);
      }
    } else {
      warnings.push(`no /proc/modules (${proc?.lines.join(' ').trim() || 'not read'}): the kernel cannot load modules, so what is not built in is not available`);
    }
    const builtin = parts.get('builtin');
    if (ok('builtin')) {
      for (const line of builtin!.lines) {
        const name = builtinName(line.trim());
        if (name) names.add(norm(name));
        else if (line.trim() !== '') warnings.push(`skipped \`${clip(line)}\` in modules.builtin`);
      }
    }
    if (ok('sysfs')) {
      for (const line of parts.get('sysfs')!.lines) if (NAME.test(line.trim())) names.add(norm(line.trim()));
    }
    if (!ok('builtin')) {
      warnings.push(
        `no modules.builtin for the running kernel (${builtin?.lines.join(' ').trim() || 'not read'}): built-in modules are known only when they have parameters in /sys/module`,
      );
    }
    return { value: [...names].sort(), warnings, unreadable };
  },
};
