/** Helpers for cli/ tests: `main()` in-process with captured streams, and files in a temporary directory. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { main } from './main.js';

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `lvsc ARGV` in `cwd`, no terminal, an empty environment. Output is kept in pieces, joined once (it may be 100 MB). */
export async function lvsc(argv: readonly string[], cwd: string): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main([...argv], {
    stdout: { write: (s: string) => stdout.push(s), isTTY: false },
    stderr: { write: (s: string) => stderr.push(s), isTTY: false },
    env: {},
    cwd,
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

/** A temporary directory holding the given files (paths relative to it). */
export function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-cli-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
