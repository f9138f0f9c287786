/**
 * The passphrase prompt (cli/prompt.ts) on an injected terminal: a stream
 * marked as a TTY whose raw mode is recorded, and a stderr that records what
 * the person would see. The prompt against a real sshd is in cli/live.test.ts.
 */
import test from 'ava';
import { PassThrough } from 'node:stream';
import type { Io } from './io.js';
import { canPrompt, passphrasePrompt, PromptCancelled, readHidden } from './prompt.js';

interface Terminal {
  io: Io;
  input: PassThrough & { isTTY: boolean; setRawMode(raw: boolean): void };
  /** Every setRawMode call, in order. */
  raw: boolean[];
  shown(): string;
}

function terminal(opts: { stdinTTY?: boolean; stderrTTY?: boolean; rawMode?: boolean } = {}): Terminal {
  const raw: boolean[] = [];
  const input = Object.assign(new PassThrough(), {
    isTTY: opts.stdinTTY ?? true,
    setRawMode(mode: boolean) {
      raw.push(mode);
    },
  });
  if (opts.rawMode === false) delete (input as { setRawMode?: unknown }).setRawMode;
  let text = '';
  const io: Io = { stdout: { write: () => true }, stderr: { write: (s: string) => (text += s), isTTY: opts.stderrTTY ?? true }, env: {}, cwd: '/', stdin: input };
  return { io, input, raw, shown: () => text };
}

/** Waits until the terminal shows `count` questions. */
async function questions(term: Terminal, count: number): Promise<void> {
  const deadline = Date.now() + 2_000;
  while ((term.shown().match(/Enter passphrase/g) ?? []).length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} question(s), saw: ${JSON.stringify(term.shown())}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('the answer is read in raw mode and never echoed; the terminal is given back', async (t) => {
  const term = terminal();
  const answer = readHidden(term.input, term.io.stderr, 'Passphrase: ');
  t.deepEqual(term.raw, [true]);
  term.input.write('s3cret pass');
  term.input.write('\r');
  t.is(await answer, 's3cret pass');
  t.deepEqual(term.raw, [true, false]);
  t.is(term.shown(), 'Passphrase: \n');
  t.true(term.input.isPaused(), 'stdin is paused again, so the process can exit');
  t.is(term.input.listenerCount('data'), 0);
});

test('backspace and Ctrl-U edit the line; Enter (CR or LF) ends it, typed in one chunk or many', async (t) => {
  const term = terminal();
  const first = readHidden(term.input, term.io.stderr, '? ');
  term.input.write('abX\u007fc\bd');
  term.input.write('\n');
  t.is(await first, 'abd');
  const second = readHidden(term.input, term.io.stderr, '? ');
  term.input.write('wrong\u0015right\r');
  t.is(await second, 'right');
  const third = readHidden(term.input, term.io.stderr, '? ');
  term.input.write('pässwörd🔑\u007f\r\nyes\n');
  t.is(await third, 'pässwörd');
  // Typed ahead: left for whoever reads next (apply's confirmation).
  t.is(String(term.input.read()), 'yes\n');
});

test('Ctrl-C, Ctrl-D on an empty line and the end of input cancel; the terminal is given back each time', async (t) => {
  for (const [keys, why] of [
    ['abc\u0003', /Ctrl-C/],
    ['\u0004', /Ctrl-D/],
  ] as const) {
    const term = terminal();
    const answer = readHidden(term.input, term.io.stderr, '? ');
    term.input.write(keys);
    const error = await t.throwsAsync(answer, { instanceOf: PromptCancelled });
    t.regex(error!.message, why);
    t.deepEqual(term.raw, [true, false]);
  }
  const term = terminal();
  const answer = readHidden(term.input, term.io.stderr, '? ');
  term.input.end('partial');
  await t.throwsAsync(answer, { instanceOf: PromptCancelled, message: 'end of input' });
  t.deepEqual(term.raw, [true, false]);
});

test('no terminal, nobody to ask: no prompt (stdin or stderr not a TTY, or no raw mode to hide the input)', (t) => {
  t.true(canPrompt(terminal().io));
  t.false(canPrompt(terminal({ stdinTTY: false }).io));
  t.false(canPrompt(terminal({ stderrTTY: false }).io));
  t.false(canPrompt(terminal({ rawMode: false }).io));
  t.is(passphrasePrompt(terminal({ stdinTTY: false }).io), undefined);
  t.is(passphrasePrompt({ ...terminal().io, stdin: undefined }), undefined);
});

test('the passphrase prompt names the key file; two keys are asked one after the other, never at once', async (t) => {
  const term = terminal();
  const ask = passphrasePrompt(term.io)!;
  const a = ask('/keys/a');
  const b = ask('/keys/b');
  await questions(term, 1);
  await new Promise((r) => setTimeout(r, 20));
  t.is(term.shown(), "Enter passphrase for key '/keys/a': ", 'the second question waits for the first answer');
  term.input.write('alpha\r');
  t.is(await a, 'alpha');
  await questions(term, 2);
  t.is(term.shown(), "Enter passphrase for key '/keys/a': \nEnter passphrase for key '/keys/b': ");
  term.input.write('beta\r');
  t.is(await b, 'beta');
  // A cancelled question does not block the next one.
  const c = ask('/keys/c');
  await questions(term, 3);
  term.input.write('\u0003');
  await t.throwsAsync(c, { instanceOf: PromptCancelled });
  const d = ask('/keys/d');
  await questions(term, 4);
  term.input.write('delta\r');
  t.is(await d, 'delta');
});
