/**
 * `npx tsx lab/cli.ts up|install|down|status|hosts|ssh HOST [-- CMD...]|capture [DIR]`:
 * a thin view over lab/lab.ts (the project's CLI will expose the same
 * functions as `lvsc lab ...`). Exit codes: 0 ok, 1 error, or ssh's own.
 */
import { pathToFileURL } from 'node:url';
import { labCapture } from './capture.js';
import { labDown, labHosts, labInstall, labSegments, labSsh, labStatus, labUp, type LabUp } from './lab.js';

const USAGE = `usage: npm run lab -- COMMAND   (or npx tsx lab/cli.ts COMMAND)
  up                    (the default) boot the lab (or reuse the running one); LVSC_LAB_KERNEL=6.12 or =newest picks another kernel
  install               only install the packages (needs root) and fetch the kernel: a CI setup step
  down                  stop the lab's qemu
  status                up or down, pid, port, uptime
  hosts                 the lab's hosts, addresses and segments
  ssh HOST [-- CMD...]  a shell on a lab host, or run CMD there (through the jump host)
  capture [DIR]         record real command output for parser tests (default agent/testdata/lab-captures)`;

function printUp(up: LabUp): void {
  const how = up.reused ? 'already running' : `booted in ${(up.bootMs / 1000).toFixed(1)} s`;
  console.log(`lab is up (${how}): qemu pid ${up.pid}, kernel ${up.kernel}, jump host root@127.0.0.1:${up.port}`);
  if (up.installed.length) console.log(`installed: ${up.installed.join(' ')}`);
  console.log(`cluster file: ${up.clusterFile}${up.clusterFileWritten ? ' (written)' : ''}`);
  console.log(`ssh config:   ${up.sshConfig}`);
  console.log('\nTry:');
  for (const line of up.next) console.log(`  ${line}`);
}

function printHosts(): void {
  const rows = labHosts().flatMap((h) => h.interfaces.map((i, n) => [n ? '' : [h.name, ...h.aliases].join('/'), n ? '' : h.role, `${i.dev} ${i.cidr}`, i.segment, n ? '' : (h.gateway ?? '-')]));
  const header = ['host', 'role', 'interface', 'segment', 'gateway'];
  const widths = header.map((_, c) => Math.max(header[c].length, ...rows.map((r) => r[c].length)));
  for (const r of [header, ...rows]) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  console.log('\nsegments (bridges in the VM; the jump host has a leg on each):');
  for (const s of labSegments()) console.log(`  ${s.name.padEnd(8)} ${s.network.padEnd(13)} jump ${s.jump}`);
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'up':
      printUp(await labUp());
      return 0;
    case 'install': {
      const { installed, kernel } = await labInstall();
      console.log(`${installed.length ? `installed: ${installed.join(' ')}` : 'every package was installed already'}; kernel ${kernel} is cached`);
      return 0;
    }
    case 'down':
      await labDown();
      return 0;
    case 'status': {
      const s = await labStatus();
      if (!s.up) console.log('lab is down');
      else if (s.port === undefined) console.log(`lab qemu ${s.pid} runs, but .lab/state.json does not describe it (run lab down, then lab up)`);
      else console.log(`lab is up: qemu pid ${s.pid}, port ${s.port}, kernel ${s.kernel}, up ${s.uptimeSeconds} s, booted in ${((s.bootMs ?? 0) / 1000).toFixed(1)} s, ssh ${s.sshAnswers ? 'answers' : 'does NOT answer'}`);
      return 0;
    }
    case 'hosts':
      printHosts();
      return 0;
    case 'ssh': {
      const [host, sep, ...cmd] = rest;
      if (!host || (sep !== undefined && sep !== '--')) {
        console.error('usage: npx tsx lab/cli.ts ssh HOST [-- CMD...]');
        return 1;
      }
      return labSsh(host, cmd);
    }
    case 'capture': {
      const written = await labCapture({ dir: rest[0] });
      for (const f of written) console.log(f);
      return 0;
    }
    default:
      console.error(USAGE);
      return command === 'help' || command === '--help' ? 0 : 1;
  }
}

// Run only as a script (`npx tsx lab/cli.ts ...`); importing `main` runs nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (e) {
    console.error(`lab: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
