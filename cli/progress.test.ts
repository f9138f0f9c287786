/**
 * The progress view (cli/views/progress.ts) on an injected stream: one line
 * redrawn in place on a terminal, plain lines elsewhere, and nothing drawn
 * over a question (a passphrase) while it is open. The same view against
 * real hosts, through `lvsc apply`, is in cli/live.test.ts.
 */
import test from 'ava';
import { ProgressView } from './views/progress.js';

function view(live: boolean): { progress: ProgressView; out: () => string } {
  let text = '';
  const progress = new ProgressView({ write: (s: string) => (text += s), isTTY: live }, { live, color: false });
  return { progress, out: () => text };
}

test('on a terminal: one line, redrawn in place, ending with the host count and time', (t) => {
  const { progress, out } = view(true);
  progress.begin('Reading live state');
  progress.fleet({ type: 'hosts', hosts: ['web1', 'web2'] });
  progress.fleet({ type: 'connecting', host: 'web1' });
  progress.fleet({ type: 'read', host: 'web1', ms: 120 });
  progress.fleet({ type: 'failed', host: 'web2', message: 'refused' });
  progress.end();
  t.is(
    out().replace(/\d+\.\d s\)/, 'T)'),
    [
      'Reading live state: web1 ·  web2 ·',
      '\r\x1b[KReading live state: web1 …  web2 ·',
      '\r\x1b[KReading live state: web1 ✓  web2 ·',
      '\r\x1b[KReading live state: web1 ✓  web2 ✗',
      '\r\x1b[KReading live state: web1 ✓  web2 ✗   (2 hosts, T)\n',
    ].join(''),
  );
});

test('without a terminal: one plain line per event, no control sequences', (t) => {
  const { progress, out } = view(false);
  progress.begin('Reading live state');
  progress.fleet({ type: 'hosts', hosts: ['web1', 'web2'] });
  progress.fleet({ type: 'connecting', host: 'web1' });
  progress.fleet({ type: 'read', host: 'web1', ms: 120 });
  progress.fleet({ type: 'failed', host: 'web2', message: 'refused' });
  progress.end();
  t.is(
    out().replace(/finished in \d+\.\d s/, 'finished in T'),
    'Reading live state: 2 hosts\nweb1: connecting\nweb1: read (0.1 s)\nweb2: failed: refused\nReading live state: finished in T\n',
  );
});

test('while a question is open nothing is drawn; then the line is drawn afresh below it', (t) => {
  const { progress, out } = view(true);
  progress.begin('Reading live state', ['web1', 'web2']);
  progress.hold();
  t.is(out(), 'Reading live state: web1 ·  web2 ·\n', 'the status line is ended: the question gets its own line');
  progress.hold(); // a second question waiting behind the first
  progress.fleet({ type: 'connecting', host: 'web1' });
  progress.release();
  progress.fleet({ type: 'read', host: 'web1', ms: 5 });
  t.is(out(), 'Reading live state: web1 ·  web2 ·\n', 'still held by the second question');
  progress.release();
  t.is(out(), 'Reading live state: web1 ·  web2 ·\nReading live state: web1 ✓  web2 ·', 'drawn afresh, without erasing the question line');
  progress.release(); // more releases than holds change nothing
  progress.fleet({ type: 'read', host: 'web2', ms: 5 });
  t.true(out().endsWith('\r\x1b[KReading live state: web1 ✓  web2 ✓'));
});

test('without a terminal, lines that come during a question wait for it, in order', (t) => {
  const { progress, out } = view(false);
  progress.begin('Reading live state', ['web1']);
  progress.hold();
  progress.fleet({ type: 'connecting', host: 'web1' });
  progress.fleet({ type: 'read', host: 'web1', ms: 5 });
  t.is(out(), 'Reading live state: 1 host\n');
  progress.release();
  t.is(out(), 'Reading live state: 1 host\nweb1: connecting\nweb1: read (0.0 s)\n');
});

test('a drain (apply --drain): the time left and the leaving servers\' active connections, on a terminal and off it', (t) => {
  // The events apply sends while a removed destination drains (agent/apply-restore.test.ts checks that it sends them).
  const drains = [
    { type: 'drain', host: 'lb', remainingMs: 1_500, active: 3 },
    { type: 'drain', host: 'lb', remainingMs: 500, active: 3 },
    { type: 'drain', host: 'lb', remainingMs: 0, active: undefined },
  ] as const;
  const plain = view(false);
  plain.progress.begin('Applying', ['lb']);
  for (const e of drains) plain.progress.apply(e);
  t.is(plain.out(), 'Applying: 1 host\nlb: draining, 1.5 s left, 3 active connection(s)\nlb: draining, 0.5 s left, 3 active connection(s)\nlb: draining, 0.0 s left\n');
  const live = view(true);
  live.progress.begin('Applying', ['lb']);
  for (const e of drains) live.progress.apply(e);
  t.is(live.out(), 'Applying: lb ·\r\x1b[KApplying: lb draining 1.5 s, 3 active\r\x1b[KApplying: lb draining 0.5 s, 3 active\r\x1b[KApplying: lb draining 0.0 s');
});
