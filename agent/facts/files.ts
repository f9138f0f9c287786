/**
 * The contents of the files lvsc renders (/etc/ipvsadm.rules, its sysctl.d
 * file, ...) in one command: for each path, in order, a header line
 * `lvsc-file present|absent|unreadable PATH` and, for a present file, its
 * bytes in base64 (so any content, trailing newlines included, comes back
 * exact, and no content can look like a header: base64 has no spaces).
 * A missing file is absent from the value, not an error; an unreadable one
 * (a directory, no permission) is absent too, and reported.
 *
 * Paths reach the script as positional arguments, never inside its text.
 */
import { cmd } from '../../compiler/command.js';
import type { Fact } from './fact.js';

const SCRIPT = [
  'for f do',
  `  if [ ! -e "$f" ] && [ ! -L "$f" ]; then printf 'lvsc-file absent %s\\n' "$f"`,
  `  elif [ -f "$f" ] && b=$(base64 < "$f"); then printf 'lvsc-file present %s\\n%s\\n' "$f" "$b"`,
  `  else printf 'lvsc-file unreadable %s\\n' "$f"`,
  '  fi',
  'done',
].join('\n');

const HEADER = /^lvsc-file (present|absent|unreadable) (.*)$/;

export function filesFact(paths: readonly string[]): Fact<Record<string, string>> {
  const list = [...new Set(paths)];
  return {
    name: 'files',
    tool: 'sh',
    command: () => cmd('sh', '-c', SCRIPT, 'sh', ...list),
    parse(stdout) {
      const value: Record<string, string> = {};
      const warnings: string[] = [];
      const blocks: { state: string; path: string; base64: string[] }[] = [];
      for (const line of stdout.split('\n')) {
        const h = HEADER.exec(line);
        if (h) blocks.push({ state: h[1], path: h[2], base64: [] });
        else if (blocks.length && blocks[blocks.length - 1].state === 'present') blocks[blocks.length - 1].base64.push(line.trim());
        else if (line.trim() !== '') warnings.push(`skipped \`${line}\`: outside any file`);
      }
      list.forEach((path, i) => {
        const b = blocks[i];
        if (!b || b.path !== path) {
          warnings.push(`no answer for ${path} (the output was cut short?)`);
          return;
        }
        if (b.state === 'present') value[path] = Buffer.from(b.base64.join(''), 'base64').toString('utf8');
        else if (b.state === 'unreadable') warnings.push(`${path} exists but could not be read (not a regular file, or no permission)`);
      });
      if (blocks.length > list.length) warnings.push(`${blocks.length - list.length} answer(s) for files that were not asked for`);
      return { value, warnings };
    },
  };
}
