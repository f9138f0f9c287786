/**
 * `lvsc monitor` run in-process for a test, until the test stops it: resolves
 * once it says where it listens (its stderr's `lvsc monitor: URL` line), or
 * rejects with its stderr when it exits before that.
 */
/** lvsc's `main` (cli/main.ts), handed in: test/support sits below cli in the layering. */
export type Main = (argv: readonly string[], io: { stdout: { write(s: string): unknown; isTTY?: boolean }; stderr: { write(s: string): unknown; isTTY?: boolean }; env: Readonly<Record<string, string | undefined>>; cwd: string; signal?: AbortSignal }) => Promise<number>;

export interface RunningMonitor {
  readonly url: URL;
  readonly stderr: () => string;
  /** Interrupts it and resolves with its exit code. */
  stop(): Promise<number>;
}

export async function startMonitor(main: Main, argv: readonly string[], io: { readonly env: Readonly<Record<string, string | undefined>>; readonly cwd: string }): Promise<RunningMonitor> {
  const stop = new AbortController();
  let stderr = '';
  let listening!: (url: URL) => void;
  let failed!: (e: Error) => void;
  const ready = new Promise<URL>((res, rej) => ((listening = res), (failed = rej)));
  const done = main(['monitor', ...argv], {
    stdout: { write: () => {}, isTTY: false },
    stderr: {
      write: (s: string) => {
        stderr += s;
        const m = /^lvsc monitor: (http:\/\/\S+)/m.exec(stderr);
        if (m) listening(new URL(m[1]));
      },
      isTTY: false,
    },
    env: io.env,
    cwd: io.cwd,
    signal: stop.signal,
  });
  void done.then((code) => failed(new Error(`lvsc monitor exited ${code} before listening:\n${stderr}`)));
  return { url: await ready, stderr: () => stderr, stop: () => (stop.abort(), done) };
}
