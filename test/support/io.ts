/** The standard streams a command or view writes to, captured as strings: not a terminal, no environment, cwd `/`. */
export function streams() {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: { write: (s: string) => (out.stdout += s), isTTY: false },
    stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
    env: {},
    cwd: '/',
  };
  return { io, out };
}
