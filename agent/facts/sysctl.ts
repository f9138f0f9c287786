/**
 * `sysctl -e KEY...` → the values of the given keys, as `sysctl -n` prints
 * them (several values stay tab-separated). A key may also name a subtree
 * (`net.ipv4.vs`): every key under it is returned.
 *
 * `-e` makes sysctl skip keys that do not exist instead of failing: such keys
 * (a device that is not there yet, a module not loaded) are simply absent from
 * the value and reported as warnings. procps and busybox sysctl print the same
 * `key = value` lines.
 *
 * Only plain key names reach the command: a key with `=` would make sysctl
 * write it, so such keys are refused here and reported.
 */
import { cmd } from '../../compiler/command.js';
import { clip, firstLines, type Fact, type Parsed } from './fact.js';

/** A sysctl key as sysctl names it (`/` stands for a `.` in a device name: `net.ipv4.conf.eth0/100.arp_ignore`). */
export const SYSCTL_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/;
const KEY = SYSCTL_KEY;

export function sysctlFact(keys: readonly string[]): Fact<Record<string, string>> {
  const valid = [...new Set(keys.filter((k) => KEY.test(k)))];
  const refused = keys.filter((k) => !KEY.test(k));
  const parse = (stdout: string): Parsed<Record<string, string>> => {
    const value: Record<string, string> = {};
    const warnings = refused.map((k) => `refused to read sysctl \`${k}\`: not a key name`);
    const unreadable: string[] = [];
    for (const line of stdout.split('\n')) {
      if (line === '') continue;
      const eq = line.indexOf(' = ');
      // A key whose value is empty prints as `key = ` (the trailing space may be lost on the way).
      const key = eq > 0 ? line.slice(0, eq) : line.endsWith(' =') ? line.slice(0, -2) : '';
      if (!KEY.test(key)) {
        unreadable.push(`\`${clip(line)}\` is not a key = value line`);
        continue;
      }
      value[key] = eq > 0 ? line.slice(eq + 3) : '';
    }
    // A key that is not there (its module not loaded, its device not made yet) is simply absent from the value:
    // that is how a host is before lvsc's first apply, not something odd to warn about.
    return { value, warnings, unreadable };
  };
  return {
    name: 'sysctl',
    tool: 'sysctl',
    command: () => cmd('sysctl', '-e', ...valid),
    parse,
    // sysctl fails on a key it may not read (permission denied) but still prints the others,
    // and with no key at all (every key given was refused) it only complains.
    whenFailed(status, stderr, stdout) {
      if (valid.length === 0) return parse('');
      if (stdout.trim() === '') return undefined;
      const parsed = parse(stdout);
      return { value: parsed.value, warnings: [...parsed.warnings, `sysctl exited with status ${status}: ${firstLines(stderr)}`] };
    },
  };
}
