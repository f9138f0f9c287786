/**
 * Questions to the person at the terminal: a passphrase for an encrypted SSH
 * key, read without echo. Only on a terminal (stdin and stderr both TTYs);
 * elsewhere there is nobody to ask, and the SSH layer says so in its error.
 */
import type { Io, Writer } from './io.js';

/** A terminal's input as lvsc reads it: process.stdin fits, and so does a test's stream marked as a TTY. */
export type TerminalInput = NonNullable<Io['stdin']>;

/** The person declined to answer (Ctrl-C, Ctrl-D, end of input). */
export class PromptCancelled extends Error {
  override readonly name = 'PromptCancelled';
}

const ENTER = /[\r\n]/;
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const BACKSPACE = /^[\u0008\u007f]$/;

/**
 * Writes `question` on `output` and reads one line from `input` in raw mode,
 * so nothing typed is echoed. Backspace and Ctrl-U edit; Enter ends; Ctrl-C,
 * or Ctrl-D on an empty line, cancels. The terminal is left as it was found.
 */
export function readHidden(input: TerminalInput, output: Writer, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (outcome: () => void): void => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      outcome();
    };
    const onEnd = (): void => finish(() => reject(new PromptCancelled('end of input')));
    const onData = (chunk: Buffer | string): void => {
      const chars = [...(typeof chunk === 'string' ? chunk : chunk.toString('utf8'))];
      for (const [i, ch] of chars.entries()) {
        if (ENTER.test(ch)) {
          // What was typed ahead (the next answer) stays for the next reader.
          const rest = chars.slice(i + (ch === '\r' && chars[i + 1] === '\n' ? 2 : 1)).join('');
          return finish(() => {
            if (rest) input.unshift(Buffer.from(rest, 'utf8'));
            resolve(answer);
          });
        }
        if (ch === CTRL_C) return finish(() => reject(new PromptCancelled('cancelled with Ctrl-C')));
        if (ch === CTRL_D) {
          if (answer === '') return finish(() => reject(new PromptCancelled('cancelled with Ctrl-D')));
          continue;
        }
        if (ch === CTRL_U) answer = '';
        else if (BACKSPACE.test(ch)) answer = [...answer].slice(0, -1).join('');
        else if (ch >= ' ') answer += ch;
      }
    };
    output.write(question);
    input.setRawMode?.(true);
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}

/** Whether a person can be asked: input that is a terminal we can stop echoing on, and a terminal to ask on. */
export function canPrompt(io: Io): boolean {
  const input = io.stdin;
  return input?.isTTY === true && typeof input.setRawMode === 'function' && io.stderr.isTTY === true;
}

/**
 * The passphrase callback for one lvsc run (SshOptions.passphrase), or
 * undefined without a terminal. Questions never overlap: a second key's
 * prompt waits until the first is answered. (The SSH layer asks once per key
 * per callback, however many hosts use it.)
 */
export function passphrasePrompt(io: Io): ((keyFile: string) => Promise<string>) | undefined {
  if (!canPrompt(io)) return undefined;
  const input = io.stdin!;
  let queue: Promise<unknown> = Promise.resolve();
  return (keyFile) => {
    const asked = queue.then(() => readHidden(input, io.stderr, `Enter passphrase for key '${keyFile}': `));
    queue = asked.catch(() => undefined);
    return asked;
  };
}
