/**
 * Local processes for the lab and the test harnesses: run a program (capture
 * its output, fail with the program's own words, never through a shell), and
 * ask whether a process is still alive.
 */
import { spawn } from 'node:child_process';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly input?: string | Buffer;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the program (SIGKILL) after this long; the result then has code 124. */
  readonly timeoutMs?: number;
}

/** Runs `program args`, collecting stdout and stderr as text; never rejects for a non-zero exit. */
export function run(program: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runRaw(program, args, opts).then((r) => ({ code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') }));
}

/** Like `run`, with stdout as bytes (cpio archives, decompressed modules). */
export function runRaw(program: string, args: readonly string[], opts: RunOptions = {}): Promise<{ code: number; stdout: Buffer; stderr: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${program}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: timedOut ? 124 : (code ?? (signal ? 128 : 1)), stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
    // A program that exits without reading its input must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs and returns stdout; a non-zero exit throws with the command and the tail of its stderr. */
export async function must(program: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(program, args, opts);
  if (r.code !== 0) throw new Error(`${[program, ...args].join(' ')} failed (exit ${r.code}): ${tail(r.stderr || r.stdout, 15)}`);
  return r.stdout;
}

/** The last `lines` lines of a text, for error messages. */
export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Whether a process is still running (signal 0 probes without signalling; a PID of another user's process counts as running). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
