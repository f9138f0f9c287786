/**
 * The SSH transport against real OpenSSH servers in network namespaces
 * (lab/netns-sshd.ts). Needs root and `ip netns`; CI runs
 * scripts/setup-test-host.sh first. Without them the lab fails loudly.
 *
 * Lab: a (lan + mid), b (mid + back), c (back only) make a two-hop jump chain
 * from the test process; d (lan, port 2222) and e (lan, for killing) are
 * reached directly.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { cmd } from '../../compiler/command.js';
import { execLocal, LAB_USERS, startLab, type Lab } from '../../lab/netns-sshd.js';
import { assertPrograms } from '../../test/support/host.js';
import { connectSsh, type SshEndpoint, type SshOptions } from './ssh.js';
import { TransportError, type Transport, type TransportErrorKind } from './transport.js';

const test = anyTest as TestFn<{ lab: Lab }>;
const open: Transport[] = [];

test.before(async (t) => {
  // An ssh-agent for agent authentication; pgrep to see that a stopped command is gone.
  assertPrograms('agent/transport/ssh.test.ts', ['ssh-agent', 'ssh-add', 'pgrep', 'strace']);
  t.context.lab = await startLab({
    hosts: [
      { name: 'a', networks: ['lan', 'mid'] },
      { name: 'b', networks: ['mid', 'back'] },
      { name: 'c', networks: ['back'] },
      { name: 'd', port: 2222 },
      { name: 'e' },
    ],
  });
});

test.afterEach.always(async () => {
  await Promise.all(open.splice(0).map((transport) => transport.close()));
});

test.after.always(async (t) => {
  await t.context.lab?.stop();
});

async function connect(endpoint: SshEndpoint, options: SshOptions): Promise<Transport> {
  const transport = await connectSsh(endpoint, options);
  open.push(transport);
  return transport;
}

async function failure(promise: Promise<unknown>): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TransportError) return error;
    throw error;
  }
  throw new Error('expected a TransportError, but it succeeded');
}

/**
 * Runs `sleep 30` on the transport and resolves once it is running on the host (its shell said so on
 * stdout), with `ended`, the failure that run ends in: the tests below interrupt a command known to run.
 * (An object: an async function's returned promise would be waited for, not handed over.)
 */
async function running(transport: Transport): Promise<{ ended: Promise<TransportError> }> {
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const ended = failure(transport.run(cmd('sh', '-c', 'echo started; exec sleep 30'), { onStdout: (text) => text.includes('started') && started() }));
  await Promise.race([ready, ended.then((error) => Promise.reject(new Error(`the command ended before it was interrupted: ${error.message}`)))]);
  return { ended };
}

function expectKind(t: { is: (a: unknown, b: unknown, m?: string) => void }, error: TransportError, kind: TransportErrorKind): void {
  t.is(error.kind, kind, `unexpected kind for: ${error.message}`);
}

/** OpenSSH's own fingerprint of a public key file, to check ours against. */
async function opensshFingerprint(pubFile: string): Promise<string> {
  const { stdout } = await execLocal(['ssh-keygen', '-l', '-E', 'sha256', '-f', pubFile]);
  return stdout.split(' ')[1];
}

test.serial('key-file auth on a non-22 port; one connection serves many commands, also at once', async (t) => {
  const { lab } = t.context;
  const transport = await connect(lab.endpoint('d'), lab.sshOptions());
  t.is(transport.host, 'd');
  t.deepEqual(await transport.run(cmd('id', '-un')), { stdout: `${LAB_USERS.sudo}\n`, stderr: '', code: 0 });
  // More commands at once than one connection's channel limit: they queue, none fails.
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => transport.run(cmd('sh', '-c', 'sleep 0.05; echo "$1"', 'x', i))));
  t.deepEqual(
    many.map((r) => r.stdout),
    Array.from({ length: 20 }, (_, i) => `${i}\n`),
  );
  // Every command went over the same SSH connection: sshd logged one accepted login.
  const log = readFileSync(join(lab.dir, 'hosts', 'd', 'sshd.log'), 'utf8');
  t.is(log.match(/Accepted publickey/g)?.length, 1);
});

test.serial('stdin is delivered and ended; exit codes and stderr come back; arguments arrive unchanged', async (t) => {
  const { lab } = t.context;
  const transport = await connect(lab.endpoint('a'), lab.sshOptions());
  const text = 'line one\nline "two" with $HOME and `x`\n\u00e9t\u00e9\n';
  t.deepEqual(await transport.run({ argv: ['cat'], stdin: text }), { stdout: text, stderr: '', code: 0 });
  // No stdin: the command sees end of input at once rather than hanging.
  t.deepEqual(await transport.run(cmd('wc', '-c')), { stdout: '0\n', stderr: '', code: 0 });
  t.deepEqual(await transport.run(cmd('sh', '-c', 'echo out; echo err >&2; exit 3')), { stdout: 'out\n', stderr: 'err\n', code: 3 });
  const awkward = ["it's", 'two words', '$(id)', ';', '*', ''];
  const echoed = await transport.run(cmd('printf', '[%s]', ...awkward));
  t.is(echoed.stdout, awkward.map((a) => `[${a}]`).join(''));
  // Killed by a signal: 128 + signal number, like a shell reports it.
  t.is((await transport.run(cmd('sh', '-c', 'kill -TERM $$'))).code, 128 + 15);
});

test.serial('onStdout hears the output while the command still runs; the result has all of it', async (t) => {
  const { lab } = t.context;
  const transport = await connect(lab.endpoint('a'), lab.sshOptions());
  const heard: string[] = [];
  let ended = false;
  let first: () => void;
  const firstHeard = new Promise<void>((resolve) => (first = resolve));
  // The command waits for a file that is only made once the first line was heard.
  const flag = `/tmp/lvsc-onstdout-${process.pid}`;
  const running = transport
    .run(cmd('sh', '-c', `printf 'ready\\n'; while [ ! -e ${flag} ]; do sleep 0.05; done; rm -f ${flag}; printf 'h\\303\\251\\n'`), {
      onStdout: (text) => {
        heard.push(text);
        first();
      },
    })
    .finally(() => (ended = true));
  await firstHeard;
  t.false(ended, 'heard before the command ended');
  t.is(heard.join(''), 'ready\n');
  await lab.exec('a', ['touch', flag]);
  const result = await running;
  t.is(result.stdout, 'ready\nh\u00e9\n');
  t.is(heard.join(''), result.stdout);
});

test.serial('input reaches the command while it runs, through sudo too, and its end ends the command\'s input', async (t) => {
  const { lab } = t.context;
  const transport = await connect(lab.endpoint('a'), lab.sshOptions());
  for (const sudo of [false, true]) {
    // The second line is sent only once the command has answered the first: it is running, reading its input.
    let answered!: () => void;
    const first = new Promise<void>((resolve) => (answered = resolve));
    async function* lines(): AsyncGenerator<string> {
      yield 'one\n';
      await first;
      yield 'two\n';
    }
    const result = await transport.run(cmd('sh', '-c', 'while read -r line; do echo "got $line $(id -u)"; done; echo end'), {
      sudo,
      input: lines(),
      onStdout: (text) => text.includes('got one') && answered(),
    });
    const uid = sudo ? '0' : (await transport.run(cmd('id', '-u'))).stdout.trim();
    t.deepEqual(result, { stdout: `got one ${uid}\ngot two ${uid}\nend\n`, stderr: '', code: 0 }, sudo ? 'through sudo' : 'plain');
  }
});

test.serial('ssh-agent auth: a real agent holds the key, no key file given', async (t) => {
  const { lab } = t.context;
  const socket = join(lab.dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => {
    agent.kill('SIGTERM');
  });
  // In the foreground (-D) ssh-agent prints its environment once it listens on the socket.
  await new Promise<void>((resolve, reject) => {
    let said = '';
    agent.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()).includes('Agent pid') && resolve());
    agent.on('exit', (code) => reject(new Error(`ssh-agent exited (${code}) before it listened: ${said}`)));
  });
  t.true(existsSync(socket));
  const added = await execLocal(['env', `SSH_AUTH_SOCK=${socket}`, 'ssh-add', lab.keyFile]);
  t.is(added.code, 0, added.stderr);

  const endpoint = lab.endpoint('a', { keyFile: undefined });
  const transport = await connect(endpoint, lab.sshOptions({ agentSocket: socket }));
  t.is((await transport.run(cmd('id', '-un'))).stdout, `${LAB_USERS.sudo}\n`);

  // Without the agent (and no key file anywhere) authentication fails, saying what was tried.
  const refused = await failure(connect(endpoint, lab.sshOptions()));
  expectKind(t, refused, 'auth');
  t.regex(refused.message, /refused every key offered: no key was available/);
  const wrongAgent = await failure(connect(endpoint, lab.sshOptions({ agentSocket: join(lab.dir, 'missing.sock') })));
  expectKind(t, wrongAgent, 'auth');
  t.regex(wrongAgent.message, /ssh-agent socket .*missing\.sock does not exist/);
});

test.serial('encrypted key: the passphrase callback is asked, and only then', async (t) => {
  const { lab } = t.context;
  const endpoint = lab.endpoint('a', { keyFile: lab.encryptedKeyFile });
  const asked: string[] = [];
  const transport = await connect(
    endpoint,
    lab.sshOptions({
      passphrase: async (file) => {
        asked.push(file);
        return lab.passphrase;
      },
    }),
  );
  t.deepEqual(asked, [lab.encryptedKeyFile]);
  t.is((await transport.run(cmd('true'))).code, 0);
  // The same prompt (one lvsc run) connecting to another host is not asked again.
  const prompt = async (file: string): Promise<string> => {
    asked.push(file);
    return lab.passphrase;
  };
  await connect(endpoint, lab.sshOptions({ passphrase: prompt }));
  await connect(lab.endpoint('d', { keyFile: lab.encryptedKeyFile }), lab.sshOptions({ passphrase: prompt }));
  t.is(asked.length, 2);

  // Hosts connecting at once (a fleet) wait for the one answer: one prompt per key per run.
  let answer!: (passphrase: string) => void;
  const slowPrompt = (file: string): Promise<string> => {
    asked.push(file);
    return new Promise((resolve) => (answer = resolve));
  };
  const parallel = ['a', 'd', 'e'].map((name) => connect(lab.endpoint(name, { keyFile: lab.encryptedKeyFile }), lab.sshOptions({ passphrase: slowPrompt, connectTimeoutMs: 1_000 })));
  // Longer than the connect timeout: a person typing does not count against it.
  await new Promise((r) => setTimeout(r, 1_500));
  t.is(asked.length, 3, 'asked once for three hosts');
  answer(lab.passphrase);
  for (const transport of await Promise.all(parallel)) t.is((await transport.run(cmd('true'))).code, 0);
  t.is(asked.length, 3);

  const noPrompt = await failure(connect(endpoint, lab.sshOptions()));
  expectKind(t, noPrompt, 'auth');
  t.is(
    noPrompt.message,
    `cannot authenticate to a (${LAB_USERS.sudo}@${lab.host('a').address}): key file ${lab.encryptedKeyFile} is encrypted and there is no terminal to ask for its passphrase; ` +
      `load it into ssh-agent (ssh-add ${lab.encryptedKeyFile}) or run lvsc on a terminal`,
  );
  t.notRegex(noPrompt.message, /\n/);

  let tries = 0;
  const wrong = await failure(
    connect(
      endpoint,
      lab.sshOptions({
        passphrase: async () => {
          tries++;
          return 'not it';
        },
      }),
    ),
  );
  expectKind(t, wrong, 'auth');
  t.regex(wrong.message, /wrong passphrase/);
  t.is(tries, 3);
});

test.serial('unknown host key: refused with the SHA256 fingerprint and how to accept it', async (t) => {
  const { lab } = t.context;
  const knownHostsFile = join(lab.dir, 'kh-unknown', 'known_hosts');
  const error = await failure(connect(lab.endpoint('a'), lab.sshOptions({ knownHostsFile })));
  expectKind(t, error, 'host-key');
  const expected = await opensshFingerprint(lab.host('a').hostKeyPubFile);
  t.regex(expected, /^SHA256:[A-Za-z0-9+/]{43}$/);
  t.true(error.message.includes(`ssh-ed25519 ${expected}`), error.message);
  t.true(error.message.includes('--accept-new-host-keys'));
  t.false(existsSync(knownHostsFile), 'a refused key is not written anywhere');
});

test.serial('accept-new adds an unknown key (file created 0600) and it is then known', async (t) => {
  const { lab } = t.context;
  const knownHostsFile = join(lab.dir, 'kh-new', 'sub', 'known_hosts');
  const first = await connect(lab.endpoint('d'), lab.sshOptions({ knownHostsFile, acceptNewHostKeys: true }));
  t.is((await first.run(cmd('true'))).code, 0);
  t.is(statSync(knownHostsFile).mode & 0o777, 0o600);
  const d = lab.host('d');
  // OpenSSH itself finds the entry, in [host]:port form for port 2222.
  const found = await execLocal(['ssh-keygen', '-F', `[${d.address}]:2222`, '-f', knownHostsFile]);
  t.is(found.code, 0, `ssh-keygen -F did not find the added key in:\n${readFileSync(knownHostsFile, 'utf8')}`);
  t.true(found.stdout.includes(d.hostKeyPub.split(' ')[1]));

  // Known now: connecting without accept-new works, and nothing more is added.
  const before = readFileSync(knownHostsFile, 'utf8');
  const second = await connect(lab.endpoint('d'), lab.sshOptions({ knownHostsFile }));
  t.is((await second.run(cmd('true'))).code, 0);
  t.is(readFileSync(knownHostsFile, 'utf8'), before);

  // Appending keeps other entries and fixes a missing final newline.
  const other = join(lab.dir, 'kh-new', 'other');
  writeFileSync(other, '# a comment\nsomehost ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGhY0BuJv1UH2IGIiUxdEhpMO6DSD3yS0yyRNa3M0JW');
  await connect(lab.endpoint('a'), lab.sshOptions({ knownHostsFile: other, acceptNewHostKeys: true }));
  const lines = readFileSync(other, 'utf8').split('\n');
  t.is(lines.length, 4);
  t.is(lines[2], `${lab.host('a').address} ${lab.host('a').hostKeyPub}`);
});

test.serial('a changed host key is always refused, even with accept-new', async (t) => {
  const { lab } = t.context;
  const knownHostsFile = join(lab.dir, 'kh-changed');
  // known_hosts says a's address has b's key.
  const original = `# stale entry\n${lab.host('a').address} ${lab.host('b').hostKeyPub}\n`;
  writeFileSync(knownHostsFile, original);
  for (const acceptNewHostKeys of [false, true]) {
    const error = await failure(connect(lab.endpoint('a'), lab.sshOptions({ knownHostsFile, acceptNewHostKeys })));
    expectKind(t, error, 'host-key');
    t.regex(error.message, /HAS CHANGED/);
    t.true(error.message.includes(`${knownHostsFile}:2`), 'names the file and line of the old key');
    t.true(error.message.includes(await opensshFingerprint(lab.host('a').hostKeyPubFile)));
    t.true(error.message.includes(await opensshFingerprint(lab.host('b').hostKeyPubFile)));
    t.true(error.message.includes('ssh-keygen -R'));
  }
  t.is(readFileSync(knownHostsFile, 'utf8'), original, 'known_hosts is left alone');

  // A key marked @revoked is refused too.
  writeFileSync(knownHostsFile, `${lab.host('a').address} ${lab.host('a').hostKeyPub}\n@revoked * ${lab.host('a').hostKeyPub}\n`);
  const revoked = await failure(connect(lab.endpoint('a'), lab.sshOptions({ knownHostsFile, acceptNewHostKeys: true })));
  expectKind(t, revoked, 'host-key');
  t.regex(revoked.message, /@revoked/);
});

test.serial('the key type known_hosts has is the one negotiated; a new type for a known host is refused', async (t) => {
  const { lab } = t.context;
  const d = lab.host('d');
  const knownHostsFile = join(lab.dir, 'kh-ecdsa');
  // d offers ed25519 (preferred by default) and ECDSA; only its ECDSA key is on record.
  writeFileSync(knownHostsFile, `[${d.address}]:2222 ${d.ecdsaHostKeyPub}\n`);
  const transport = await connect(lab.endpoint('d'), lab.sshOptions({ knownHostsFile }));
  t.is((await transport.run(cmd('true'))).code, 0);

  // On record with a key type the host does not offer: not "unknown", so accept-new does not add it.
  writeFileSync(knownHostsFile, `[${d.address}]:2222 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7\n`);
  const error = await failure(connect(lab.endpoint('d'), lab.sshOptions({ knownHostsFile, acceptNewHostKeys: true })));
  expectKind(t, error, 'host-key');
  t.regex(error.message, /presented ssh-ed25519 SHA256:\S+, but .* has only ssh-rsa/);
});

test.serial('hashed known_hosts entries (ssh-keygen -H) match, on port 22 and in [host]:port form', async (t) => {
  const { lab } = t.context;
  const text = readFileSync(lab.hashedKnownHostsFile, 'utf8');
  t.regex(text, /^\|1\|/);
  t.false(text.includes(lab.host('a').address));
  const options = lab.sshOptions({ knownHostsFile: lab.hashedKnownHostsFile });
  for (const name of ['a', 'd']) {
    const transport = await connect(lab.endpoint(name), options);
    t.is((await transport.run(cmd('true'))).code, 0);
  }
});

test.serial('~/.ssh/config: Host alias with HostName, User, Port and IdentityFile; explicit values win', async (t) => {
  const { lab } = t.context;
  const sshConfigFile = join(lab.dir, 'ssh_config_alias');
  writeFileSync(
    sshConfigFile,
    [
      'Host web-alias',
      `  HostName ${lab.host('d').address}`,
      `  User ${LAB_USERS.noSudo}`,
      '  Port 2222',
      `  IdentityFile ${lab.keyFile}`,
      '',
    ].join('\n'),
  );
  const options = lab.sshOptions({ sshConfigFile });
  const viaConfig = await connect({ name: 'web', host: 'web-alias' }, options);
  t.is((await viaConfig.run(cmd('id', '-un'))).stdout, `${LAB_USERS.noSudo}\n`);
  t.true((await viaConfig.run(cmd('ip', '-4', '-o', 'addr'))).stdout.includes(lab.host('d').address));

  const explicitUser = await connect({ name: 'web', host: 'web-alias', user: LAB_USERS.sudo }, options);
  t.is((await explicitUser.run(cmd('id', '-un'))).stdout, `${LAB_USERS.sudo}\n`);
  // An explicit port beats the config's: nothing listens on d's port 22.
  const wrongPort = await failure(connect({ name: 'web', host: 'web-alias', port: 22 }, options));
  expectKind(t, wrongPort, 'connect');
  t.regex(wrongPort.message, /connection refused/);
});

test.serial('~/.ssh/config ProxyJump: a two-hop chain of aliases, host keys checked on every hop', async (t) => {
  const { lab } = t.context;
  const sshConfigFile = join(lab.dir, 'ssh_config_jump');
  writeFileSync(
    sshConfigFile,
    [
      'Host inner',
      `  HostName ${lab.host('c').addresses.back}`,
      '  ProxyJump jump-a,jump-b',
      'Host jump-a',
      `  HostName ${lab.host('a').address}`,
      'Host jump-b',
      `  HostName ${lab.host('b').addresses.mid}`,
      'Host *',
      `  User ${LAB_USERS.sudo}`,
      `  IdentityFile ${lab.keyFile}`,
      '',
    ].join('\n'),
  );
  const transport = await connect({ name: 'c', host: 'inner' }, lab.sshOptions({ sshConfigFile }));
  const addresses = (await transport.run(cmd('ip', '-4', '-o', 'addr'))).stdout;
  t.true(addresses.includes(lab.host('c').addresses.back), addresses);

  // The middle hop's key missing from known_hosts stops the chain there.
  const knownHostsFile = join(lab.dir, 'kh-no-b');
  writeFileSync(
    knownHostsFile,
    readFileSync(lab.knownHostsFile, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith(`${lab.host('b').addresses.mid} `))
      .join('\n'),
  );
  const error = await failure(connect({ name: 'c', host: 'inner' }, lab.sshOptions({ sshConfigFile, knownHostsFile })));
  expectKind(t, error, 'host-key');
  t.regex(error.message, /host key of jump-b \(192\.168\.\d+\.\d+\) is not known/);
});

test.serial('via: a chain of two jump hosts reaches a host only they can reach', async (t) => {
  const { lab } = t.context;
  const a = lab.endpoint('a');
  const b = lab.endpoint('b', { host: lab.host('b').addresses.mid, via: a });
  const c = lab.endpoint('c', { host: lab.host('c').addresses.back, via: b });
  const transport = await connect(c, lab.sshOptions());
  t.is(transport.host, 'c');
  t.true((await transport.run(cmd('ip', '-4', '-o', 'addr'))).stdout.includes(lab.host('c').addresses.back));
  t.is((await transport.run(cmd('id', '-u'), { sudo: true })).stdout, '0\n');

  // A jump host that cannot reach the next hop says which hop failed.
  const nowhere = lab.endpoint('c', { host: lab.host('c').addresses.back, port: 2200, via: b });
  const error = await failure(connect(nowhere, lab.sshOptions()));
  expectKind(t, error, 'connect');
  t.regex(error.message, /jump host b .*could not connect to 192\.168\.\d+\.\d+:2200/);
});

test.serial('an unreachable jump host is named once, with its address once', async (t) => {
  const { lab } = t.context;
  // Nothing listens on a's port 2222: the jump host itself refuses.
  const a = lab.endpoint('a', { port: 2222 });
  const error = await failure(connect(lab.endpoint('c', { host: lab.host('c').addresses.back, via: a }), lab.sshOptions()));
  expectKind(t, error, 'connect');
  t.is(error.host, 'c');
  t.is(error.message, `cannot connect to a (${LAB_USERS.sudo}@${lab.host('a').address}:2222): connection refused (is sshd running on that port?)`);

  // A jump host that answers but cannot reach the next hop: the jump host with its address, the hop with its own.
  const b = lab.endpoint('b', { host: lab.host('b').addresses.mid, port: 2200, via: lab.endpoint('a') });
  const unreachable = await failure(connect(lab.endpoint('c', { host: lab.host('c').addresses.back, via: b }), lab.sshOptions()));
  t.regex(unreachable.message, new RegExp(`^jump host a \\(${LAB_USERS.sudo}@${lab.host('a').address.replace(/\./g, '\\.')}\\) could not connect to ${lab.host('b').addresses.mid.replace(/\./g, '\\.')}:2200 for b: `));
});

test.serial('put writes atomically (new file replaces the old), with the mode, through sudo', async (t) => {
  const { lab } = t.context;
  const dir = join(lab.dir, 'put target');
  mkdirSync(dir, { mode: 0o755 });
  const path = join(dir, "it's a file.conf");
  writeFileSync(path, 'old contents\n');
  const inodeBefore = statSync(path).ino;
  const transport = await connect(lab.endpoint('a'), lab.sshOptions());
  const data = 'net.ipv4.vs.conntrack = 1\n# "quoted" $(not run)\n';
  await transport.put(path, data, 0o640);
  const after = statSync(path);
  t.is(readFileSync(path, 'utf8'), data);
  t.is(after.mode & 0o777, 0o640);
  t.is(after.uid, 0, 'written as root through sudo');
  t.not(after.ino, inodeBefore, 'renamed into place, not rewritten in place');
  t.deepEqual(readdirSync(dir), ["it's a file.conf"], 'no temporary file left behind');

  await transport.put(join(dir, 'empty'), '');
  t.is(readFileSync(join(dir, 'empty'), 'utf8'), '');
  t.is(statSync(join(dir, 'empty')).mode & 0o777, 0o644);

  const error = await failure(transport.put(join(dir, 'missing', 'x'), 'x'));
  expectKind(t, error, 'write');
  t.regex(error.message, /could not write .*missing\/x on a/);
});

test.serial('sudo: passwordless sudo works; no sudo rights or a password prompt fails fast with kind sudo', async (t) => {
  const { lab } = t.context;
  const withSudo = await connect(lab.endpoint('d'), lab.sshOptions());
  t.is((await withSudo.run(cmd('id', '-u'), { sudo: true })).stdout, '0\n');
  t.not((await withSudo.run(cmd('id', '-u'))).stdout, '0\n', 'sudo only when asked');
  // sudo gets the command line quoted as one argument to sh -c, stdin included.
  const quoted = await withSudo.run({ argv: ['sh', '-c', 'cat; printf "[%s]" "$1"', 'x', "it's $(id)"], stdin: 'in\n' }, { sudo: true });
  t.is(quoted.stdout, "in\n[it's $(id)]");

  // Not configured for sudo: the flag is ignored and the command runs as the login user.
  const noSudoEndpoint = await connect(lab.endpoint('d', { sudo: false }), lab.sshOptions());
  t.is((await noSudoEndpoint.run(cmd('id', '-un'), { sudo: true })).stdout, `${LAB_USERS.sudo}\n`);

  for (const user of [LAB_USERS.noSudo, LAB_USERS.passwordSudo]) {
    const transport = await connect(lab.endpoint('d', { user }), lab.sshOptions({ commandTimeoutMs: 30_000 }));
    const started = Date.now();
    const error = await failure(transport.run(cmd('id', '-u'), { sudo: true }));
    expectKind(t, error, 'sudo');
    // A prompt that waited for an answer would end at the 30 s timeout (kind timeout); failing at once takes
    // well under a second, and 15 s leaves a loaded machine room while still telling the two apart.
    t.true(Date.now() - started < 15_000, 'fails at once, not at the timeout');
    t.regex(error.message, /a password is required/);
    t.true(error.message.includes(`'${user} ALL=(root) NOPASSWD: ALL'`), error.message);
    // The connection stays usable for commands without sudo.
    t.is((await transport.run(cmd('id', '-un'))).stdout, `${user}\n`);
  }
});

test.serial('command timeout: the command is stopped, the connection stays usable', async (t) => {
  const { lab } = t.context;
  const transport = await connect(lab.endpoint('a'), lab.sshOptions({ commandTimeoutMs: 700 }));
  // The commands would end on their own after 31 s: stopped at their timeouts (0.7 s, 0.3 s) they end within
  // a few seconds even on a loaded machine; 15 s tells the two apart.
  let started = Date.now();
  const error = await failure(transport.run(cmd('sleep', '31.5')));
  expectKind(t, error, 'timeout');
  t.true(Date.now() - started < 15_000, `stopped after ${Date.now() - started} ms`);
  t.regex(error.message, /did not finish within 0\.7 s and was stopped: sleep 31\.5/);
  // A per-call timeout overrides the default, both ways.
  started = Date.now();
  expectKind(t, await failure(transport.run(cmd('sleep', '31.6'), { timeoutMs: 300 })), 'timeout');
  t.true(Date.now() - started < 15_000, `stopped after ${Date.now() - started} ms`);
  // Through sudo too: sudo passes the signal on to the (root) command.
  expectKind(t, await failure(transport.run(cmd('sleep', '31.7'), { timeoutMs: 300, sudo: true })), 'timeout');
  t.is((await transport.run(cmd('sh', '-c', 'sleep 1; echo done'), { timeoutMs: 5_000 })).stdout, 'done\n');
  t.is((await transport.run(cmd('echo', 'still here'))).stdout, 'still here\n');
  // The remote processes were killed, not left running (looking only at host a's network namespace:
  // the machine's other processes, another run of this file included, are not ours).
  let left = '';
  for (let i = 0; i < 50; i++) {
    left = (await execLocal(['pgrep', '--ns', String(lab.host('a').sshdPid), '--nslist', 'net', '-f', 'sleep 31\\.[567]'])).stdout;
    if (left === '') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.is(left, '');
});

test.serial('connect failures: nothing listening, and a dead address, fail clearly and in time', async (t) => {
  const { lab } = t.context;
  const refused = await failure(connect(lab.endpoint('a', { port: 2222 }), lab.sshOptions()));
  expectKind(t, refused, 'connect');
  t.regex(refused.message, /cannot connect to a \(lvsc-test@10\.251\.\d+\.\d+:2222\): connection refused/);

  // An address on the lab network that nobody has, with a neighbour entry to a MAC nobody has: the SYNs go out
  // and vanish, and no ARP failure (~3 s) ends the attempt early. The kernel would retry the SYN for about
  // 2 min; the 0.8 s connect timeout ends it within a few seconds even on a loaded machine.
  const deadAddress = lab.rootAddress.replace(/\.1$/, '.250');
  const rootLink = (await execLocal(['ip', '-o', 'addr', 'show', 'to', lab.rootAddress])).stdout.split(/\s+/)[1];
  const neighbour = await execLocal(['ip', 'neigh', 'replace', deadAddress, 'lladdr', '02:00:00:00:00:fa', 'dev', rootLink, 'nud', 'permanent']);
  t.is(neighbour.code, 0, neighbour.stderr);
  t.teardown(() => execLocal(['ip', 'neigh', 'del', deadAddress, 'dev', rootLink]).then(() => undefined));
  const dead = lab.endpoint('a', { host: deadAddress });
  const started = Date.now();
  const error = await failure(connect(dead, lab.sshOptions({ connectTimeoutMs: 800 })));
  expectKind(t, error, 'timeout');
  t.true(Date.now() - started < 15_000, `the connect timeout, not the kernel's (${Date.now() - started} ms)`);
  t.regex(error.message, /could not connect to a .* within 0\.8 s/);
});

test.serial('killed sessions: the running command and every later one fail with kind closed', async (t) => {
  const { lab } = t.context;
  const transport = await connect(lab.endpoint('e'), lab.sshOptions());
  t.is((await transport.run(cmd('true'))).code, 0);
  const sleeping = await running(transport);
  const started = Date.now();
  await lab.killSessions('e');
  const error = await sleeping.ended;
  expectKind(t, error, 'closed');
  // The command's own end is 30 s away; the closed connection is heard at once (15 s: room for a loaded machine).
  t.true(Date.now() - started < 15_000, `noticed after ${Date.now() - started} ms`);
  t.regex(error.message, /connection to e .* was lost/);
  const later = await failure(transport.run(cmd('true')));
  expectKind(t, later, 'closed');
  t.regex(later.message, /not run: true/);
  await failure(transport.put('/tmp/x', 'x')).then((e) => expectKind(t, e, 'closed'));
});

test.serial('a host that dies mid-run (link down, sshd killed) fails that host without hanging', async (t) => {
  const { lab } = t.context;
  const options = lab.sshOptions({ keepaliveIntervalMs: 250, keepaliveCountMax: 2 });
  const transport = await connect(lab.endpoint('e'), options);
  const bystander = await connect(lab.endpoint('d'), options);
  const sleeping = await running(transport);
  const started = Date.now();
  await lab.takeDown('e');
  const error = await sleeping.ended;
  expectKind(t, error, 'closed');
  // Two unanswered keepalives 250 ms apart: under a second, and the message says it was the keepalive. 15 s
  // leaves a loaded machine room and stays below the 20 s command timeout that would end it otherwise.
  t.true(Date.now() - started < 15_000, `noticed after ${Date.now() - started} ms`);
  t.regex(error.message, /Keepalive timeout/);
  expectKind(t, await failure(transport.run(cmd('true'))), 'closed');
  // Reconnecting fails within the connect timeout; other hosts are unaffected.
  const again = await failure(connect(lab.endpoint('e'), lab.sshOptions({ connectTimeoutMs: 800 })));
  t.true(again.kind === 'timeout' || again.kind === 'connect', again.message);
  t.is((await bystander.run(cmd('echo', 'ok'))).stdout, 'ok\n');
});

test.serial('close: later calls fail with kind closed; closing twice is fine', async (t) => {
  const { lab } = t.context;
  const transport = await connectSsh(lab.endpoint('a'), lab.sshOptions());
  const sleeping = await running(transport);
  await transport.close();
  expectKind(t, await sleeping.ended, 'closed');
  const later = await failure(transport.run(cmd('true')));
  expectKind(t, later, 'closed');
  t.regex(later.message, /transport was closed/);
  await transport.close();
});

// ---------------------------------------------------------------------------
// Hardening and speed (issues 10 and 11): TCP_NODELAY on every socket, host
// bytes escaped in messages, a cap on what a command may print. Servers that
// are not SSH servers at all are in hostile-server.test.ts.
// ---------------------------------------------------------------------------

/** One socket the traced process made: where it connected, and whether TCP_NODELAY was set on it. */
interface TracedSocket {
  to?: string;
  noDelay: boolean;
}

/** The sockets in an strace log of socket/connect/setsockopt/close (`strace -f -qq`). */
function tracedSockets(log: string): TracedSocket[] {
  const all: TracedSocket[] = [];
  const open = new Map<number, TracedSocket>();
  for (const line of log.split('\n')) {
    const created = /\bsocket\(AF_INET6?, SOCK_STREAM.*\) = (\d+)$/.exec(line);
    if (created) {
      const socket = { noDelay: false };
      open.set(Number(created[1]), socket);
      all.push(socket);
      continue;
    }
    const connected = /\bconnect\((\d+), \{sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([\d.]+)"\)/.exec(line);
    if (connected && open.has(Number(connected[1]))) open.get(Number(connected[1]))!.to = `${connected[3]}:${connected[2]}`;
    const noDelay = /\bsetsockopt\((\d+), SOL_TCP, TCP_NODELAY, \[1\], 4\) = 0/.exec(line);
    if (noDelay && open.has(Number(noDelay[1]))) open.get(Number(noDelay[1]))!.noDelay = true;
    const closed = /\bclose\((\d+)\)/.exec(line);
    if (closed) open.delete(Number(closed[1]));
  }
  return all;
}

test.serial('every TCP socket lvsc opens has Nagle off (TCP_NODELAY), direct and to the first of a jump chain', async (t) => {
  const { lab } = t.context;
  const repo = new URL('../..', import.meta.url).pathname;
  const direct = lab.endpoint('d');
  const chained = lab.endpoint('c', { host: lab.host('c').addresses.back, via: lab.endpoint('b', { host: lab.host('b').addresses.mid, via: lab.endpoint('a') }) });
  const script = [
    `import { connectSsh } from ${JSON.stringify(`${repo}agent/transport/ssh.ts`)};`,
    'const [endpoints, options] = JSON.parse(process.argv[1]);',
    "for (const e of endpoints) { const c = await connectSsh(e, options); const r = await c.run({ argv: ['true'] }); if (r.code !== 0) process.exit(3); await c.close(); }",
  ].join('\n');
  const log = join(lab.dir, 'nodelay.strace');
  const run = await execLocal([
    'strace', '-f', '-qq', '-e', 'trace=socket,connect,setsockopt,close', '-o', log,
    process.execPath, '--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify([[direct, chained], lab.sshOptions()]),
  ]);
  t.is(run.code, 0, run.stderr);
  const sockets = tracedSockets(readFileSync(log, 'utf8')).filter((s) => s.to !== undefined && !s.to.startsWith('127.'));
  // Exactly the two TCP connections: to d, and to a (b and c are reached through channels inside it).
  t.deepEqual(sockets.map((s) => s.to).sort(), [`${lab.host('a').address}:22`, `${lab.host('d').address}:2222`].sort());
  for (const socket of sockets) t.true(socket.noDelay, `no TCP_NODELAY on the socket to ${socket.to}`);
});

test.serial("what a host sends is escaped in transport errors: a path with an escape sequence in put's stderr", async (t) => {
  const { lab } = t.context;
  const transport = await connect(lab.endpoint('a'), lab.sshOptions());
  const error = await failure(transport.put('/nonexistent-\x1b[2J\x1b]0;owned\x07/x', 'x'));
  expectKind(t, error, 'write');
  t.notRegex(error.message, /[\x00-\x1f\x7f]/, 'no raw control characters');
  t.true(error.message.includes('/nonexistent-\\x1b[2J\\x1b]0;owned\\x07/'), error.message);
});

test.serial('a command that prints more than the output limit is stopped and fails with kind output; the connection stays usable', async (t) => {
  const { lab } = t.context;
  const where = `a (${LAB_USERS.sudo}@${lab.host('a').address})`;
  // The default limit, 64 MiB.
  const byDefault = await connect(lab.endpoint('a'), lab.sshOptions());
  const over = await failure(byDefault.run(cmd('head', '-c', '65M', '/dev/zero')));
  expectKind(t, over, 'output');
  t.is(over.message, `output exceeded 64 MiB: a command on ${where} printed more than that and was stopped (--max-output raises the limit): head -c 65M /dev/zero`);
  t.is((await byDefault.run(cmd('echo', 'still here'))).stdout, 'still here\n');

  // A limit of its own: stdout and stderr count together; up to the limit is fine.
  const small = await connect(lab.endpoint('a'), lab.sshOptions({ maxOutputBytes: 1024 * 1024 }));
  t.is((await small.run(cmd('head', '-c', '1M', '/dev/zero'))).stdout.length, 1024 * 1024);
  const both = await failure(small.run(cmd('sh', '-c', 'head -c 600K /dev/zero; head -c 600K /dev/zero >&2')));
  expectKind(t, both, 'output');
  t.regex(both.message, /^output exceeded 1 MiB: /);
  // A command that would print for ever is stopped on the host, not left running.
  const endless = await failure(small.run(cmd('sh', '-c', 'exec yes lvsc-endless-output')));
  expectKind(t, endless, 'output');
  let left = '';
  for (let i = 0; i < 50; i++) {
    left = (await execLocal(['pgrep', '--ns', String(lab.host('a').sshdPid), '--nslist', 'net', '-f', 'yes lvsc-endless-output'])).stdout;
    if (left === '') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.is(left, '');
  t.is((await small.run(cmd('echo', 'still here'))).stdout, 'still here\n');
});
