/**
 * known_hosts reading and matching, as tables. Keys are made here; the hashed
 * form is checked against OpenSSH's own `ssh-keygen -H` in ssh.test.ts.
 * Then the index (`KnownHosts`) against trying every line, on generated files,
 * and the parse kept per file (`loadKnownHosts`) for as long as the file is the same.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import {
  addKnownHost,
  checkHostKey,
  entryMatches,
  fingerprint,
  keyTypeOf,
  knownHostName,
  knownHostsLine,
  KnownHosts,
  knownKeyTypes,
  loadKnownHosts,
  parseKnownHosts,
} from './known-hosts.js';

/** The SSH wire blob of a fresh ed25519 public key. */
function ed25519Blob(): Buffer {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const raw = Buffer.from(jwk.x!, 'base64url');
  return sshBlob('ssh-ed25519', raw);
}

function sshBlob(type: string, ...parts: Buffer[]): Buffer {
  const fields = [Buffer.from(type), ...parts];
  return Buffer.concat(
    fields.flatMap((field) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(field.length);
      return [length, field];
    }),
  );
}

const keyA = ed25519Blob();
const keyB = ed25519Blob();
const ecdsa = sshBlob('ecdsa-sha2-nistp256', Buffer.from('nistp256'), Buffer.alloc(65, 4));
const b64 = (key: Buffer): string => key.toString('base64');

test('knownHostName: plain on port 22, [host]:port otherwise', (t) => {
  t.is(knownHostName('10.0.0.1', 22), '10.0.0.1');
  t.is(knownHostName('10.0.0.1', 2222), '[10.0.0.1]:2222');
  t.is(knownHostName('::1', 2222), '[::1]:2222');
});

test('fingerprint: OpenSSH SHA256 format, unpadded base64', (t) => {
  t.regex(fingerprint(keyA), /^SHA256:[A-Za-z0-9+/]{43}$/);
  t.not(fingerprint(keyA), fingerprint(keyB));
  t.is(keyTypeOf(keyA), 'ssh-ed25519');
  t.is(keyTypeOf(Buffer.from([0, 0, 0, 99])), '');
});

const matching: Array<[string, string, boolean]> = [
  ['web1', 'web1', true],
  ['WEB1', 'web1', true],
  ['web1,10.0.0.1', '10.0.0.1', true],
  ['web*', 'web12', true],
  ['web?', 'web12', false],
  ['10.0.0.*,!10.0.0.5', '10.0.0.4', true],
  ['10.0.0.*,!10.0.0.5', '10.0.0.5', false],
  ['!10.0.0.5', '10.0.0.4', false],
  ['[10.0.0.1]:2222', '[10.0.0.1]:2222', true],
  ['10.0.0.1', '[10.0.0.1]:2222', false],
  ['[10.0.0.1]:*', '[10.0.0.1]:2222', true],
  ['web.example', 'webxexample', false],
];
for (const [patterns, name, expected] of matching) {
  test(`host patterns '${patterns}' ${expected ? 'match' : 'do not match'} ${name}`, (t) => {
    const [entry] = parseKnownHosts(`${patterns} ssh-ed25519 ${b64(keyA)}`, 'kh');
    t.is(entryMatches(entry, name), expected);
  });
}

test('hashed names: |1|salt|HMAC-SHA1(salt, name)', (t) => {
  const salt = Buffer.alloc(20, 7);
  const hash = createHmac('sha1', salt).update('[10.0.0.1]:2222').digest();
  const [entry] = parseKnownHosts(`|1|${b64(salt)}|${b64(hash)} ssh-ed25519 ${b64(keyA)}`, 'kh');
  t.true(entryMatches(entry, '[10.0.0.1]:2222'));
  t.false(entryMatches(entry, '10.0.0.1'));
  // Our own hashed lines read back.
  const [ours] = parseKnownHosts(knownHostsLine('Web1', keyA, true), 'kh');
  t.true(entryMatches(ours, 'web1'));
  t.regex(knownHostsLine('web1', keyA, true), /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
});

test('unreadable lines, comments and unknown markers are skipped; line numbers kept', (t) => {
  const text = [
    '# comment',
    '',
    'onlyhost',
    `web1 ssh-ed25519 not-base64-key!!`,
    `|1|short|hash ssh-ed25519 ${b64(keyA)}`,
    `@unknown-marker web1 ssh-ed25519 ${b64(keyA)}`,
    `  web1  ssh-ed25519  ${b64(keyA)}  comment here\r`,
    `@cert-authority *.example ssh-ed25519 ${b64(keyB)}`,
  ].join('\n');
  const entries = parseKnownHosts(text, 'kh');
  t.deepEqual(
    entries.map((e) => [e.line, e.marker ?? '', e.keyType]),
    [
      [7, '', 'ssh-ed25519'],
      [8, 'cert-authority', 'ssh-ed25519'],
    ],
  );
});

test('checkHostKey: known, unknown, changed, revoked, other key types', (t) => {
  const entries = parseKnownHosts(
    [
      `web1 ssh-ed25519 ${b64(keyA)}`,
      `web2 ecdsa-sha2-nistp256 ${b64(ecdsa)}`,
      `@revoked * ssh-ed25519 ${b64(keyB)}`,
      `@cert-authority web3 ssh-ed25519 ${b64(keyA)}`,
    ].join('\n'),
    'kh',
  );
  t.is(checkHostKey(entries, 'web1', keyA).status, 'known');
  const changed = checkHostKey(entries, 'web1', ed25519Blob());
  t.is(changed.status, 'changed');
  t.is(changed.status === 'changed' && changed.entry.line, 1);
  t.is(checkHostKey(entries, 'web1', keyB).status, 'revoked', 'revoked wins even over an unknown host');
  t.is(checkHostKey(entries, 'web9', keyB).status, 'revoked');
  t.is(checkHostKey(entries, 'web2', keyA).status, 'other-types');
  t.is(checkHostKey(entries, 'web3', keyA).status, 'unknown', 'a CA line is not a host key');
  t.is(checkHostKey(entries, 'web9', keyA).status, 'unknown');
  t.deepEqual(knownKeyTypes(entries, 'web2'), ['ecdsa-sha2-nistp256']);
  t.deepEqual(knownKeyTypes(entries, 'web9'), []);
});

test('a host listed twice with one key right and one stale is known (OpenSSH takes any match)', (t) => {
  const entries = parseKnownHosts(`web1 ssh-ed25519 ${b64(keyB)}\nweb1 ssh-ed25519 ${b64(keyA)}`, 'kh');
  t.is(checkHostKey(entries, 'web1', keyA).status, 'known');
});

test('host patterns match as OpenSSH globs: * any run, ? any one character, nothing else special', (t) => {
  const glob = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  fc.assert(
    fc.property(fc.stringMatching(/^[ab.*?\[\]:]{1,8}$/), fc.stringMatching(/^[ab.\[\]:]{0,8}$/), (p, name) => {
      const [entry] = parseKnownHosts(`${p} ssh-ed25519 ${b64(keyA)}`, 'kh');
      t.is(entryMatches(entry, name), glob(p).test(name), `${p} ~ ${name}`);
    }),
    { numRuns: 2000 },
  );
});

// ---------------------------------------------------------------- the index

const keys = [keyA, keyB, ecdsa];
const hostName = fc.constantFrom('web1', 'web2', 'WEB1', 'db.example', '10.0.0.1', '10.0.0.5', '[10.0.0.1]:2222', 'x');
const pattern = fc.oneof(
  hostName,
  fc.constantFrom('web*', '*', 'web?', '10.0.0.*', '[10.0.0.1]:*', '*.example', '!web2', '!10.0.0.5', '!*.example', ''),
);
const line = fc.record({
  marker: fc.constantFrom('', '@revoked ', '@cert-authority '),
  names: fc.oneof({ weight: 4, arbitrary: fc.array(pattern, { minLength: 1, maxLength: 3 }).map((ps) => ps.join(',')) }, { weight: 1, arbitrary: hostName.map((n) => `hashed:${n}`) }),
  key: fc.nat(keys.length - 1),
});
const lineText = (l: { marker: string; names: string; key: number }) =>
  l.names.startsWith('hashed:') ? `${l.marker}${knownHostsLine(l.names.slice(7), keys[l.key], true)}` : `${l.marker}${l.names} ${keyTypeOf(keys[l.key])} ${b64(keys[l.key])}`;

test('the index finds exactly the lines that trying every line finds, in file order: names, wildcards, negations, hashed, markers', (t) => {
  fc.assert(
    fc.property(fc.array(line, { maxLength: 12 }), fc.array(hostName, { minLength: 1, maxLength: 4 }), (lines, names) => {
      const entries = parseKnownHosts(lines.map(lineText).join('\n'), 'kh');
      const known = new KnownHosts(entries);
      for (const name of names) {
        const expected = entries.filter((e) => entryMatches(e, name));
        // Asked twice: the second answer comes from the per-name memo.
        for (let i = 0; i < 2; i++) t.deepEqual(known.forName(name), expected, `${name} in\n${lines.map(lineText).join('\n')}`);
        for (const key of keys) t.deepEqual(checkHostKey(known, name, key), checkHostKey(entries, name, key));
        t.deepEqual(knownKeyTypes(known, name), knownKeyTypes(entries, name));
      }
    }),
    { numRuns: 300 },
  );
});

test('a line added to the index is found, after what was already found for that name', (t) => {
  const known = new KnownHosts(parseKnownHosts(`web* ssh-ed25519 ${b64(keyB)}`, 'kh'));
  t.is(checkHostKey(known, 'web1', keyA).status, 'changed');
  const [added] = parseKnownHosts(`web1 ssh-ed25519 ${b64(keyA)}`, 'kh');
  known.add({ ...added, line: 2 });
  t.deepEqual(
    known.forName('web1').map((e) => e.line),
    [1, 2],
  );
  t.is(checkHostKey(known, 'web1', keyA).status, 'known');
});

// ---------------------------------------------------------------- one parse per file

const dir = mkdtempSync(join(tmpdir(), 'lvsc-known-hosts-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let fileSeq = 0;
const freshFile = () => join(dir, `known_hosts-${++fileSeq}`);
const anHourAgo = () => new Date(Date.now() - 3_600_000);

test('loadKnownHosts parses a file once while it is unchanged (also when just written), and again once it changes', (t) => {
  const file = freshFile();
  t.is(loadKnownHosts(file).entries.length, 0, 'a missing file has no entries');
  writeFileSync(file, `web1 ssh-ed25519 ${b64(keyA)}\n`);
  const first = loadKnownHosts(file);
  t.is(checkHostKey(first, 'web1', keyA).status, 'known');
  t.is(loadKnownHosts(file), first, 'the same parse');
  // Rewritten at once to the same size: file times are too coarse to show it; the bytes do.
  writeFileSync(file, `web1 ssh-ed25519 ${b64(keyB)}\n`);
  const rewritten = loadKnownHosts(file);
  t.not(rewritten, first);
  t.is(checkHostKey(rewritten, 'web1', keyA).status, 'changed');
  t.is(loadKnownHosts(file), rewritten);

  // An old file is trusted by its times and size alone; a change of its contents changes its ctime.
  utimesSync(file, anHourAgo(), anHourAgo());
  const old = loadKnownHosts(file);
  t.is(loadKnownHosts(file), old);
  const mtime = anHourAgo();
  writeFileSync(file, `web1 ssh-ed25519 ${b64(keyA)}\n`);
  utimesSync(file, mtime, mtime);
  t.is(checkHostKey(loadKnownHosts(file), 'web1', keyA).status, 'known', 'same size, mtime put back: still noticed');
  rmSync(file);
  t.is(loadKnownHosts(file).entries.length, 0);
});

test('addKnownHost appends the line and adds it to the current parse, with its line number', (t) => {
  for (const ending of ['\n', '']) {
    const file = freshFile();
    writeFileSync(file, `# comment\nweb1 ssh-ed25519 ${b64(keyA)}${ending}`);
    utimesSync(file, anHourAgo(), anHourAgo());
    const known = loadKnownHosts(file);
    addKnownHost(file, knownHostsLine('web2', keyB));
    addKnownHost(file, knownHostsLine('[web3]:2222', ecdsa, true));
    t.is(loadKnownHosts(file), known, 'not parsed again');
    const verdict = checkHostKey(known, 'web2', keyA);
    t.is(verdict.status, 'changed');
    t.is(verdict.status === 'changed' && verdict.entry.line, 3);
    t.is(checkHostKey(known, '[web3]:2222', ecdsa).status, 'known');
    // The same as parsing the file afresh.
    t.deepEqual(known.entries, parseKnownHosts(readText(file), file));
  }
  // A file that changed behind lvsc's back since it was parsed is parsed again.
  const file = freshFile();
  writeFileSync(file, `web1 ssh-ed25519 ${b64(keyA)}\n`);
  const known = loadKnownHosts(file);
  writeFileSync(file, `web1 ssh-ed25519 ${b64(keyB)}\n`);
  addKnownHost(file, knownHostsLine('web2', keyB));
  const now = loadKnownHosts(file);
  t.not(now, known);
  t.deepEqual(now.entries, parseKnownHosts(readText(file), file));
});

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
