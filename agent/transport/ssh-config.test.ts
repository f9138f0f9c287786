/**
 * Endpoint + ~/.ssh/config → hops. The connections themselves are tested
 * against real sshd in ssh.test.ts; this covers the resolution rules.
 */
import test from 'ava';
import SSHConfig from 'ssh-config';
import { resolveEndpoint, type Hop, type SshEndpoint } from './ssh-config.js';
import { TransportError } from './transport.js';

const home = '/home/op';

function resolve(endpoint: Partial<SshEndpoint> & { host: string }, config?: string): Hop {
  return resolveEndpoint({ name: 'web1', ...endpoint }, { config: config === undefined ? undefined : SSHConfig.parse(config), homeDir: home, localUser: 'op' });
}

/** The chain as `user@host:port` strings, outermost jump first. */
function chain(hop: Hop): string[] {
  const out: string[] = [];
  for (let h: Hop | undefined = hop; h; h = h.via) out.unshift(`${h.user}@${h.host}:${h.port}`);
  return out;
}

const CONFIG = `
Host web-*
  User deploy
  Port 2200
  IdentityFile ~/.ssh/id_%h
Host web-1
  HostName 10.1.0.11
Host bastion
  HostName bastion.example
  User jump
  IdentityFile /keys/bastion
Host inner
  HostName 10.9.0.5
  ProxyJump bastion,admin@mid:2022
Host direct
  HostName 10.9.0.6
  ProxyJump none
Host piped
  ProxyCommand nc %h %p
Host *
  HashKnownHosts yes
`;

test('no config: the endpoint and OpenSSH defaults', (t) => {
  const hop = resolve({ host: '10.0.0.1' });
  t.deepEqual(
    { ...hop, keyFiles: hop.keyFiles.map((k) => `${k.path}${k.explicit ? '' : ' (default)'}`) },
    {
      label: 'web1',
      host: '10.0.0.1',
      port: 22,
      user: 'op',
      keyFiles: ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((k) => `${home}/.ssh/${k} (default)`),
      hashKnownHosts: false,
      sudo: false,
    },
  );
});

test('alias: HostName, User, Port, IdentityFile with ~ and %h; first matching value wins', (t) => {
  const hop = resolve({ host: 'web-1', sudo: true }, CONFIG);
  t.is(hop.host, '10.1.0.11');
  t.is(hop.user, 'deploy');
  t.is(hop.port, 2200);
  t.true(hop.sudo);
  t.true(hop.hashKnownHosts);
  t.deepEqual(hop.keyFiles, [{ path: `${home}/.ssh/id_10.1.0.11`, explicit: true }]);
});

test('explicit endpoint values win over the config', (t) => {
  const hop = resolve({ host: 'web-1', user: 'root', port: 22, keyFile: '~/k/lvsc' }, CONFIG);
  t.deepEqual([hop.host, hop.user, hop.port], ['10.1.0.11', 'root', 22]);
  t.deepEqual(
    hop.keyFiles.map((k) => k.path),
    [`${home}/k/lvsc`, `${home}/.ssh/id_10.1.0.11`],
  );
});

test('ProxyJump chain: each hop resolved through the config, user@host:port honoured', (t) => {
  const hop = resolve({ host: 'inner' }, CONFIG);
  t.deepEqual(chain(hop), ['jump@bastion.example:22', 'admin@mid:2022', 'op@10.9.0.5:22']);
  t.is(hop.via?.label, 'mid');
  t.deepEqual(hop.via?.via?.keyFiles.map((k) => k.path), ['/keys/bastion']);
});

test('an explicit via (chained) wins over ProxyJump; ProxyJump none means direct', (t) => {
  const via: SshEndpoint = { name: 'b', host: '192.168.1.2', via: { name: 'a', host: 'bastion' } };
  t.deepEqual(chain(resolve({ host: 'inner', via }, CONFIG)), ['jump@bastion.example:22', 'op@192.168.1.2:22', 'op@10.9.0.5:22']);
  t.deepEqual(chain(resolve({ host: 'direct' }, CONFIG)), ['op@10.9.0.6:22']);
});

test('jump specs: ssh:// form and bracketed IPv6', (t) => {
  const hop = resolve({ host: 'x' }, 'Host x\n  ProxyJump ssh://u@[fd00::1]:2200,v@host2\n');
  t.deepEqual(chain(hop), ['u@fd00::1:2200', 'v@host2:22', 'op@x:22']);
});

const refusals: Array<[string, string, RegExp]> = [
  ['ProxyCommand is refused, not silently bypassed', 'Host piped\n  ProxyCommand nc %h %p\n', /ProxyCommand .* use ProxyJump/],
  ['an unreadable ProxyJump entry', 'Host piped\n  ProxyJump user@@host\n', /cannot read: 'user@@host'/],
  ['a Port that is not a number', 'Host piped\n  Port ssh\n', /Port 'ssh'/],
  ['a ProxyJump loop', 'Host piped\n  ProxyJump loop\nHost loop\n  ProxyJump piped\n', /more than 8 jump hosts .* loop/],
];
for (const [title, config, message] of refusals) {
  test(`refused: ${title}`, (t) => {
    const error = t.throws(() => resolve({ host: 'piped' }, config), { instanceOf: TransportError });
    t.is(error?.kind, 'connect');
    t.is(error?.host, 'web1');
    t.regex(error?.message ?? '', message);
  });
}
