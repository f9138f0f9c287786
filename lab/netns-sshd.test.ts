/**
 * The lab harness itself: what it builds, and that stop() leaves nothing behind.
 */
import { existsSync } from 'node:fs';
import test from 'ava';
import { alive } from './proc.js';
import { execLocal, startLab } from './netns-sshd.js';
import { assertPrograms } from '../test/support/host.js';

test('a lab: namespaces with sshd, a private /run with /run/lock, networks only where asked; stop() removes it all', async (t) => {
  assertPrograms('the lab harness test', ['ss']);
  const lab = await startLab({ hosts: [{ name: 'x', networks: ['lan', 'inner'] }, { name: 'y', networks: ['inner'], port: 2200 }] });
  t.teardown(() => lab.stop());
  const [x, y] = lab.hosts;

  t.regex(x.address, /^10\.251\.\d+\.10$/);
  t.regex(y.address, /^192\.168\.\d+\.11$/);
  t.is(x.addresses.inner.replace(/\d+$/, ''), y.address.replace(/\d+$/, ''));
  // The root namespace has only its own leg on lan, and no route to the inner network.
  const rootRoutes = (await execLocal(['ip', '-4', 'route', 'show'])).stdout;
  t.true(rootRoutes.includes(`${lab.rootAddress.replace(/\.1$/, '.0')}/24`));
  t.false(rootRoutes.includes(y.address.replace(/\.11$/, '.0/24')));
  // y has no lan address (the SSH tests reach it through x).
  t.false((await lab.exec('y', ['ip', '-4', '-o', 'addr'])).stdout.includes('10.251.'));
  t.regex((await lab.exec('y', ['ss', '-ltn'])).stdout, /0\.0\.0\.0:2200/);

  // /run is private to each host, with a world-writable /run/lock as on Debian.
  t.is((await lab.exec('x', ['sh', '-c', 'echo mine > /run/lock/lab-probe && cat /run/lock/lab-probe'])).stdout, 'mine\n');
  t.is((await lab.exec('y', ['ls', '/run/lock'])).stdout, '');
  t.false(existsSync('/run/lock/lab-probe'));
  t.is((await lab.exec('x', ['stat', '-c', '%a %U', '/run', '/run/lock', '/run/sshd'])).stdout, '755 root\n1777 root\n755 root\n');
  t.is((await lab.exec('x', ['sh', '-c', 'echo mine > /run/lab-probe && cat /run/lab-probe'])).stdout, 'mine\n');
  t.is((await lab.exec('y', ['ls', '/run/lab-probe'])).code, 2, 'not on the other host');
  t.false(existsSync('/run/lab-probe'));

  const pids = lab.hosts.map((h) => h.sshdPid);
  t.true(pids.every(alive));
  const rootLink = (await execLocal(['ip', '-o', 'addr', 'show', 'to', lab.rootAddress])).stdout.split(/\s+/)[1];
  t.regex(rootLink, /^lvsct\d+$/);

  await lab.stop();
  t.false(pids.some(alive), 'the sshds are gone');
  const namespaces = (await execLocal(['ip', 'netns', 'list'])).stdout;
  for (const host of lab.hosts) t.false(namespaces.includes(host.ns));
  t.not((await execLocal(['ip', 'link', 'show', rootLink])).code, 0, 'the root veth is gone');
  t.false(existsSync(lab.dir));
  await lab.stop();
});
