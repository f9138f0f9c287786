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

/** What `lvscOnHosts` needs of a test's context: the netns SSH hosts (lab/netns-sshd.ts) and a folder for cluster files. */
export interface HostsContext {
  readonly context: { readonly lab: { readonly knownHostsFile: string; readonly homeDir: string }; readonly dir: string };
}

let clusterFileSeq = 0;

/**
 * `lvsc ARGV... FILE` in-process against the netns SSH hosts: `text` is written to a new
 * cluster file in the context's folder, the hosts' known_hosts is trusted and no ssh_config
 * of the machine's user is read. `onStderr` sees each piece of stderr as it is written.
 * With `terminal`, stdin is that stream and stdin and stderr count as a terminal (apply asks).
 */
export async function lvscOnHosts(
  t: HostsContext,
  text: string,
  argv: readonly string[],
  options: { env?: Record<string, string>; onStderr?: (s: string) => void; terminal?: NodeJS.ReadableStream } = {},
): Promise<Run> {
  const { lab, dir } = t.context;
  const file = join(dir, `cluster-${++clusterFileSeq}.lvs`);
  writeFileSync(file, text);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main([...argv, '--known-hosts', lab.knownHostsFile, '--ssh-config', join(lab.homeDir, 'no-config'), file], {
    stdout: { write: (s: string) => stdout.push(s), isTTY: false },
    stderr: {
      write: (s: string) => {
        stderr.push(s);
        options.onStderr?.(s);
      },
      isTTY: options.terminal !== undefined,
    },
    env: { HOME: lab.homeDir, ...options.env },
    cwd: dir,
    ...(options.terminal ? { stdin: Object.assign(options.terminal, { isTTY: true }) } : {}),
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}
