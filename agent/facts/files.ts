/**
 * The contents of the files lvsc renders (/etc/ipvsadm.rules, its sysctl.d
 * file, ...) in one command: for each path, in order, a header line
 * `lvsc-file present|absent|unreadable PATH` and, for a present file, its
 * bytes in base64 (so any content, trailing newlines included, comes back
 * exact, and no content can look like a header: base64 has no `-`).
 * A missing file is absent from the value, not an error; an unreadable one
 * (a directory, no permission) is absent too, and reported. base64 writes
 * straight to the output: kept in a shell variable first, a 10,000-service
 * /etc/ipvsadm.rules (1.4 MB) cost the lab's emulated director 3.3 s instead
 * of 1 s. A read that fails part-way is followed by an `unreadable` header
 * for the same path, which stands for the whole file.
 *
 * Then the files that match lvsc's own name patterns (`globs`), whatever
 * their names: a GUE port removed from the cluster file leaves a
 * `50-lvsc-fou<port>.netdev` that no known path names. Each match is one
 * `lvsc-glob present|unreadable PATH` block (a pattern that matches nothing
 * prints nothing); a match that is also a listed path is read once.
 *
 * Paths and patterns reach the script as positional arguments (a `--`
 * between them), never inside its text; patterns are expanded by the shell
 * on the host, with no word splitting.
 */
import { cmd } from '../../compiler/command.js';
import { clip, type Fact } from './fact.js';

const SCRIPT = [
  'lvsc_show() {',
  `  if [ ! -e "$2" ] && [ ! -L "$2" ]; then printf 'lvsc-%s absent %s\\n' "$1" "$2"`,
  `  elif [ -f "$2" ] && [ -r "$2" ]; then printf 'lvsc-%s present %s\\n' "$1" "$2"; base64 < "$2" || printf '\\nlvsc-%s unreadable %s\\n' "$1" "$2"`,
  `  else printf 'lvsc-%s unreadable %s\\n' "$1" "$2"`,
  '  fi',
  '}',
  // Every path shown so far, one per line (lvsc's paths have no newline).
  "nl='",
  "'",
  'listed=$nl',
  'while [ $# -gt 0 ] && [ "$1" != -- ]; do lvsc_show file "$1"; listed="$listed$1$nl"; shift; done',
  '[ $# -gt 0 ] && shift',
  'IFS=',
  'for pattern do',
  '  for f in $pattern; do',
  `    if [ ! -e "$f" ] && [ ! -L "$f" ]; then continue; fi`,
  '    case $listed in *"$nl$f$nl"*) continue ;; esac',
  '    listed="$listed$f$nl"',
  '    lvsc_show glob "$f"',
  '  done',
  'done',
].join('\n');

const HEADER = /^lvsc-(file|glob) (present|absent|unreadable) (.*)$/;

export function filesFact(paths: readonly string[], globs: readonly string[] = []): Fact<Record<string, string>> {
  const list = [...new Set(paths)];
  const patterns = [...new Set(globs)];
  return {
    name: 'files',
    tool: 'sh',
    command: () => cmd('sh', '-c', SCRIPT, 'sh', ...list, ...(patterns.length ? ['--', ...patterns] : [])),
    parse(stdout) {
      const value: Record<string, string> = {};
      const warnings: string[] = [];
      const unreadable: string[] = [];
      const blocks: { kind: string; state: string; path: string; base64: string[] }[] = [];
      for (const line of stdout.split('\n')) {
        const h = HEADER.exec(line);
        const last = blocks[blocks.length - 1];
        // A read that failed part-way: its unreadable header replaces what was read of it.
        if (h && h[2] === 'unreadable' && last?.state === 'present' && last.kind === h[1] && last.path === h[3]) blocks.pop();
        if (h) blocks.push({ kind: h[1], state: h[2], path: h[3], base64: [] });
        else if (blocks.length && blocks[blocks.length - 1].state === 'present') blocks[blocks.length - 1].base64.push(line.trim());
        else if (line.trim() !== '') unreadable.push(`\`${clip(line)}\` is outside any file`);
      }
      const listed = blocks.filter((b) => b.kind === 'file');
      const read = (b: (typeof blocks)[number]) => {
        if (b.state === 'present') value[b.path] = Buffer.from(b.base64.join(''), 'base64').toString('utf8');
        else if (b.state === 'unreadable') warnings.push(`${b.path} exists but could not be read (not a regular file, or no permission)`);
      };
      list.forEach((path, i) => {
        const b = listed[i];
        if (!b || b.path !== path) {
          unreadable.push(`no answer for ${path} (the output was cut short?)`);
          return;
        }
        read(b);
      });
      if (listed.length > list.length) warnings.push(`${listed.length - list.length} answer(s) for files that were not asked for`);
      for (const b of blocks.filter((x) => x.kind === 'glob')) {
        if (!patterns.length) warnings.push(`${b.path}: a pattern's match, but no pattern was asked for`);
        else if (b.state === 'absent') warnings.push(`${b.path}: a pattern's match that is not there`);
        else read(b);
      }
      return { value, warnings, unreadable };
    },
  };
}
