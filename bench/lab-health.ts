/**
 * Benchmark section `lab-health`: what a real server's failure costs with
 * lvsc's health checks, in the lab VM (lab/README.md). `lvsc apply` of the
 * lab's web-dr service with a TCP check (`every 1s timeout 500ms retries 1`,
 * on-failure quiesce) makes lb1 run keepalived; then, `--lab-health N` times
 * (default 3, 0 skips), web1's web server is stopped while the client sends
 * requests through the VIP one after another, and measured:
 *
 * - the detection time: from the stop to web1 at weight 0 in lb1's table,
 *   both on the guest's clock (no SSH round trip in it), next to what the
 *   file declares (every/2 + retries × every on average);
 * - the requests lost per failure: those that failed from the stop until
 *   keepalived shielded web1 (curl to a stopped server fails at once, so
 *   this is about the requests that reached web1 in the window);
 * - the recovery time once web1's web server is back.
 *
 * Holds the lab (`labExclusive`), boots it when it is down and stops it then,
 * refuses a director that already has a table, and leaves the lab as found:
 * web1's web server running, the services removed by lvsc (which stops
 * keepalived), the modules it loaded unloaded. It prints, never asserts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreServerScript } from '../lab/daemons.js';
import { changeAndWait, hasWeight, median, recorded, ROUND, traffic } from '../lab/health.js';
import { labDown, labExclusive, labUp, type LabUp } from '../lab/lab.js';
import { assertFreshDirector, loadedModules, sh, unloadModulesSince, waitFor } from '../lab/remote.js';
import { SERVICES } from '../lab/topology.js';
import { failed, labHostsText, lvsc, type Context } from './lab.js';
import { figuresSection } from './section.js';

const EVERY_S = 1;
const RETRIES = 1;
/** The lab's services, web-dr with a TCP check of its servers' web port. */
export function checkedLabText(clusterText: string): string {
  const text = clusterText.replace(/^(service web-dr \{[\s\S]*?\n {2}forward dr\n)/m, `$1  check tcp every ${EVERY_S}s timeout 500ms retries ${RETRIES}\n`);
  if (text === clusterText) throw new Error('bug: the lab cluster file has no web-dr service to check');
  return text;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
function log(line: string): void {
  process.stderr.write(`bench lab-health: ${line}\n`);
}

async function measure(lab: LabUp, rounds: number, about: string): Promise<string> {
  try {
    await assertFreshDirector();
  } catch (error) {
    return `skipped: ${(error as Error).message.split('\n')[0]}`;
  }
  const { dr } = SERVICES;
  const modulesBefore = await loadedModules();
  const home = mkdtempSync(join(tmpdir(), 'lvsc-bench-health-'));
  const ctx: Context = { lab, home };
  const clusterText = readFileSync(lab.clusterFile, 'utf8');
  const checkedFile = join(home, 'checked.lvs');
  const cleanupFile = join(home, 'no-services.lvs');
  writeFileSync(checkedFile, checkedLabText(clusterText));
  writeFileSync(cleanupFile, labHostsText(clusterText));
  let applied = false;
  try {
    applied = true;
    log('lvsc apply of the lab with a TCP check on web-dr');
    const apply = await lvsc(ctx, ['apply', '--yes'], checkedFile);
    if (apply.code !== 0) throw failed('lvsc apply of the checked lab', apply);
    await waitFor('lb1', dr.servers.map((x) => recorded(dr, x, 'up')), ROUND);
    const detect: number[] = [];
    const recover: number[] = [];
    const lost: number[] = [];
    let answered = 0;
    for (let i = 0; i < rounds; i++) {
      log(`failure ${i + 1} of ${rounds}: web1's web server stopped`);
      const load = await traffic([dr]);
      detect.push(...(await changeAndWait([['web1', { web: 'stop', port: 80 }, [hasWeight(dr, 'web1', 0)]]])));
      const counts = [...(await load.stop()).values()][0];
      lost.push(counts.failed);
      answered += counts.ok;
      recover.push(...(await changeAndWait([['web1', { web: 'start', port: 80 }, [hasWeight(dr, 'web1', 1), recorded(dr, 'web1', 'up')]]])));
    }
    const declared = (EVERY_S / 2 + RETRIES * EVERY_S) * 1000;
    return [
      `web-dr (DR, web1 and web2) with check tcp every ${EVERY_S}s timeout 500ms retries ${RETRIES} on lb1 (${lab.kernel}, qemu TCG${about ? `; ${about}` : ''}); ${rounds} failures of web1 (its web server stopped):`,
      `  detection time      ${s(median(detect))} median (${detect.map(s).join(', ')}); the file declares about ${s(declared)} (every/2 + retries × every)`,
      `  requests lost       ${lost.join(', ')} per failure (${answered} answered meanwhile, one request at a time from the client)`,
      `  recovery time       ${s(median(recover))} median (${recover.map(s).join(', ')}), from the web server's start to weight 1`,
    ].join('\n');
  } catch (error) {
    return `FAILED: ${(error as Error).message}`;
  } finally {
    await sh('web1', restoreServerScript('web1')).catch((e: Error) => log(`could not restore web1's daemons: ${e.message}`));
    if (applied) {
      const r = await lvsc(ctx, ['apply', '--yes'], cleanupFile);
      if (r.code !== 0) log(`could not remove the services: ${failed('lvsc apply of the hosts without services', r).message}`);
    }
    await unloadModulesSince(modulesBefore).catch((e: Error) => log(`could not unload the modules: ${e.message}`));
    rmSync(home, { recursive: true, force: true });
  }
}

async function benchHealth(rounds: number): Promise<string> {
  const release = await labExclusive({ log });
  let lab: LabUp | undefined;
  try {
    lab = await labUp({ log });
    return await measure(lab, rounds, lab.reused ? 'lab reused' : `lab booted in ${s(lab.bootMs)}`);
  } catch (error) {
    return `FAILED: ${(error as Error).message}`;
  } finally {
    try {
      if (lab && !lab.reused) await labDown({ log });
    } finally {
      release();
    }
  }
}

/** The `lab-health` section for bench/index.ts: `shape.labHealth` failures, 0 skips it. */
export const labHealthSections = [figuresSection('lab-health', '--lab-health', (shape: { labHealth: number }) => shape.labHealth, benchHealth)];
