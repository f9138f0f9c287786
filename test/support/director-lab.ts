/**
 * The namespace lab of the status and monitor tests (lab/netns-sshd.ts): a
 * director `lb` and real servers `web1` and `web2` on one segment, with
 * keepalived's directories private per host, on a kernel without IPVS (the
 * director's table reads empty; figures are checked in the lab VM). The
 * `before` and `after.always` hooks are registered on the test file.
 */
import type { TestFn } from 'ava';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_USERS, startLab, type Lab } from '../../lab/netns-sshd.js';
import { assertKernelWithoutIpvs, assertPrograms } from './host.js';

export interface DirectorLab {
  lab: Lab;
  dir: string;
}

export function directorLab(test: TestFn<DirectorLab>, who: string): void {
  test.before(async (t) => {
    assertPrograms(who, ['ipvsadm', 'modprobe', 'sysctl']);
    assertKernelWithoutIpvs(who, "the director's table reads empty");
    // Private per host, so the directory must exist here (/run is a tmpfs: nothing is left after a reboot).
    mkdirSync('/run/lvsc', { recursive: true });
    t.context.lab = await startLab({
      hosts: [{ name: 'lb' }, { name: 'web1' }, { name: 'web2' }],
      privateDirs: ['/etc/sysctl.d', '/etc/systemd/network', '/etc/modules-load.d', '/var/lib/lvsc', '/etc/keepalived', '/run/lvsc'],
    });
    t.context.dir = mkdtempSync(join(tmpdir(), 'lvsc-director-lab-'));
  });
  test.after.always(async (t) => {
    await t.context.lab?.stop();
  });
}

/** The VIP of the lab's service: .100 on the segment. */
export const labVip = (lab: Lab) => lab.host('lb').address.split('.').slice(0, 3).concat('100').join('.');

/** The cluster of this lab: `lb` directing `www` (DR, `check tcp`) to web1 and web2, logged in as the lab's sudo user. */
export function checkedCluster(lab: Lab): string {
  const host = (name: string) => `host ${name} {\n  ssh ${lab.host(name).address}\n  interface eth0 ${lab.host(name).address}/24\n}\n`;
  return [
    `defaults {\n  ssh user ${LAB_USERS.sudo}\n  ssh key "${lab.keyFile}"\n  sudo\n}\n`,
    ...['lb', 'web1', 'web2'].map(host),
    'director lb\n',
    `service www {\n  vip ${labVip(lab)} tcp 80\n  forward dr\n  check tcp\n  server web1\n  server web2\n}\n`,
  ].join('\n');
}
