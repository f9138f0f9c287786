/**
 * known_hosts reading and matching, as tables. Keys are made here; the hashed
 * form is checked against OpenSSH's own `ssh-keygen -H` in ssh.test.ts.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import test from 'ava';
import { checkHostKey, entryMatches, fingerprint, keyTypeOf, knownHostName, knownHostsLine, knownKeyTypes, parseKnownHosts } from './known-hosts.js';

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
