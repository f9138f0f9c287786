/**
 * `lvsc status`'s views on a status built here (the live reads travel the real
 * way in cli/status.test.ts and test/e2e/status.test.ts): what a table with
 * traffic, a hand-edited weight, a split director and entries the file does
 * not declare look like; --watch on a terminal and in JSON; a host's bytes
 * never reach the terminal raw.
 */
import test from 'ava';
import { AT, server, status } from '../../test/support/cluster-status.js';
import { streams } from '../../test/support/io.js';
import { bytes, duration, JsonStatusView, renderStatus, statusJson, TextStatusView } from './status.js';

test('bytes and durations for people', (t) => {
  t.deepEqual([0, 1023, 1024, 1536, 10 * 1024, 5 * 1024 ** 3].map(bytes), ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10 KiB', '5.0 GiB']);
  t.deepEqual([0, 59, 125, 3600 * 5 + 60 * 7, 86400 * 3 + 3600 * 2].map(duration), ['0s', '59s', '2m05s', '5h07m', '3d02h']);
});

test('the text: a split director, its sync differing from the file, each server by name with its figures, drift marked', (t) => {
  const lines = renderStatus(status(), { color: false }).split('\n');
  t.is(lines[0], '2026-12-02T17:00:00Z  2 of 3 hosts read');
  t.is(lines[2], 'lb1  director  split (holds 1 of 2 VIPs)  keepalived running (pid 812)  sync none (declared: master eth1 id 7) !');
  t.is(lines[3], '  ! lb1 has tcp 10.9.9.9:80 (rr, 1 server), which the file does not declare');
  t.is(lines[5], '  web-nat  tcp 10.10.0.100:80  wrr  on lb1  8 conn/s  in 3.0 KiB/s  out 12 KiB/s');
  t.is(lines[6], '    server        address          weight  health      active  inact  conn/s  in/s     out/s');
  t.is(lines[7], '    web3          10.20.0.13:8080  2       up          3       17     4       1.5 KiB  5.9 KiB');
  t.is(lines[8], '    web4          10.20.0.14:8080  1 ≠ 5   down 2m05s  0       2      0       0 B      0 B      !');
  t.is(lines[9], '    (undeclared)  10.20.0.19:8080  - ≠ 1               1       0      -       -        -        !');
  t.true(lines.includes('    ! web4 10.20.0.14:8080: ~ weight 5 → 1'));
  t.true(lines.includes('    ! 10.20.0.19:8080: - drain, then delete'));
  t.true(lines.includes('lb1: 1 change to make (lvsc plan shows them)'));
  t.true(lines.includes('web4: not read: connection refused'));
});

test('a down server keeps its weight quiesced by keepalived without a marker; a hand edit on a healthy one gets one', (t) => {
  const s = status();
  const quiesced = server('web5', '10.20.0.15', { weight: 1, live: { ...server('x', 'y').live!, weight: 0 }, health: { state: 'down', since: AT / 1000 - 5 } });
  const edited = server('web6', '10.20.0.16', { weight: 1, live: { ...server('x', 'y').live!, weight: 0 } });
  const text = renderStatus({ ...s, services: [{ ...s.services[0], servers: [quiesced, edited], undeclared: [] }] }, { color: false });
  t.regex(text, /^ {4}web5 .* 1 ≠ 0 .* down 5s .*B$/m);
  t.regex(text, /^ {4}web6 .* 1 ≠ 0 .*!$/m);
});

test('what a host printed reaches the terminal escaped: a scheduler or an error with control characters', (t) => {
  const s = status();
  const hostile = { ...s, services: [{ ...s.services[0], liveScheduler: 'rr\x1b[2J' }], hosts: [{ name: 'web4', roles: [], ok: false, error: 'bad\x07\x1b]0;x\x07' }] };
  const text = renderStatus(hostile, { color: false });
  t.false(text.includes('\x1b'), JSON.stringify(text));
  t.false(text.includes('\x07'));
});

test('--watch on a terminal redraws in place; elsewhere, blocks one after another; --json --watch writes one document per line', (t) => {
  const tty = streams();
  const view = new TextStatusView({ ...tty.io, stdout: { write: (x: string) => (tty.out.stdout += x), isTTY: true } }, true);
  view.status(status(), true);
  view.status(status(), true);
  t.is(tty.out.stdout.split('\x1b[H\x1b[2J').length, 3, 'each read clears the screen first');

  const plain = streams();
  new TextStatusView(plain.io, true).status(status(), true);
  new TextStatusView(plain.io, true).status(status(), true);
  t.false(plain.out.stdout.includes('\x1b'));
  t.is(plain.out.stdout.match(/^2026-12-02T17:00:00Z/gm)?.length, 2);

  const json = streams();
  const jv = new JsonStatusView(json.io);
  jv.status(status(), true);
  jv.status(status(), true);
  const docs = json.out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { version: number; at: string });
  t.deepEqual(docs.map((d) => [d.version, d.at]), [[1, '2026-12-02T17:00:00.000Z'], [1, '2026-12-02T17:00:00.000Z']]);
});

test('the JSON document: versioned, identities as data, null where there is nothing live', (t) => {
  const doc = statusJson(status()) as { version: number; services: { servers: { name: string; address: string; port: number; live: { weight: number } | null; health: unknown }[]; undeclared: { address: string; live: { totals: unknown } }[] }[]; directors: { keepalived: unknown; sync: unknown }[] };
  t.is(doc.version, 1);
  t.deepEqual(doc.directors[0].keepalived, { installed: true, running: true, version: 'Keepalived v2.2.7', pid: 812 });
  t.deepEqual(doc.directors[0].sync, { declared: { state: 'master', mcastInterface: 'eth1', syncid: 7 }, live: [] });
  t.like(doc.services[0].servers[1], { name: 'web4', address: '10.20.0.14', port: 8080, live: { weight: 5 }, health: { state: 'down', since: AT / 1000 - 125 } });
  t.like(doc.services[0].undeclared[0], { address: '10.20.0.19', live: { totals: null } });
});
