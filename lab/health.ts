/**
 * Health checks as the lab sees them, shared by test/e2e/health.test.ts and
 * `npm run bench`'s lab-health section: checks for `waitScript` on lb1's
 * table and keepalived's health records, a change to a real server's daemons
 * timed until lb1 shows it, and continuous requests from the client counted.
 * Every time is the guest's clock (lab_ms), so the SSH round trips to the VM
 * are not in it.
 */
import { serverChangeScript, type ServerChange } from './daemons.js';
import { parseWaited, sh, shOn, waitFor, waitScript, type WaitOptions } from './remote.js';
import { addressOf, labHost, type LabService } from './topology.js';

/** A lab server's address (its only interface's). */
function rip(server: string): string {
  const h = labHost(server);
  if (!h) throw new Error(`no lab host ${server}`);
  return addressOf(h.interfaces[0].cidr);
}

/** The start of a destination's `ipvsadm -Sn` line: `-a -t VIP:PORT -r RIP:PORT `. */
export const lineStart = (service: LabService, server: string) => `-a -t ${service.vip}:${service.port} -r ${rip(server)}:${service.serverPort} `;

/** A waitScript check (round `ipvsadm -Sn`): the destination is in the table with this weight. */
export function hasWeight(service: LabService, server: string, weight: number): string {
  return `while IFS= read -r l; do case "$l " in ${JSON.stringify(lineStart(service, server))}*" -w ${weight} "*) return 0 ;; esac; done <<<"$round"; echo "$round"; return 1`;
}

/** A waitScript check (round `ipvsadm -Sn`): the destination is not in the table. */
export function isGone(service: LabService, server: string): string {
  return `while IFS= read -r l; do case "$l" in ${JSON.stringify(lineStart(service, server))}*) echo "$l"; return 1 ;; esac; done <<<"$round"; return 0`;
}

/** A waitScript check: keepalived's notify script has recorded the server's state. */
export function recorded(service: LabService, server: string, state: 'up' | 'down'): string {
  return `read -r s _ < /run/lvsc/health/tcp_${service.vip}_${service.port}_${rip(server)}_${service.serverPort} && [ "$s" = ${state} ]`;
}

export const ROUND: WaitOptions = { timeoutMs: 120_000, intervalMs: 100, round: 'ipvsadm -Sn' };

/** Each change made, then lb1 waited on until each server's `checks` pass: the time from each change to its server's last check passing, in ms. */
export async function changeAndWait(changes: readonly (readonly [string, ServerChange, readonly string[]])[]): Promise<number[]> {
  const wait = waitScript(changes.flatMap(([, , c]) => c), ROUND);
  const out = await shOn([...changes.map(([s, c]) => [s, serverChangeScript(s, c)] as const), ['lb1', wait]]);
  const seen = parseWaited(out[changes.length]);
  let at = 0;
  return changes.map(([, , c], i) => {
    const last = Math.max(...seen.slice(at, at + c.length));
    at += c.length;
    return last - Number(out[i].trim());
  });
}

export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Requests from the client to VIPs, one after another, in the background until `stop()`: the count of answered and failed ones per VIP. */
export async function traffic(services: readonly LabService[]): Promise<{ stop(): Promise<Map<string, { ok: number; failed: number }>> }> {
  const loops = services.map((s, i) => {
    const base = `/tmp/lvsc-traffic-${i}`;
    return { s, base, start: `rm -f ${base}.*\nsetsid sh -c 'while [ ! -e ${base}.stop ]; do if curl -sf -o /dev/null --max-time 3 http://${s.vip}:${s.port}/; then echo ok; else echo failed; fi; done; echo end' </dev/null >>${base}.log 2>&1 &` };
  });
  await sh('client', loops.map((l) => l.start).join('\n'));
  // Requests are flowing before the change starts.
  await waitFor('client', loops.map((l) => `grep -qx ok ${l.base}.log`), { timeoutMs: 60_000 });
  return {
    async stop() {
      await sh('client', loops.map((l) => `touch ${l.base}.stop`).join('\n'));
      await waitFor('client', loops.map((l) => `grep -qx end ${l.base}.log`), { timeoutMs: 60_000 });
      const outs = await shOn(loops.map((l) => ['client', `echo "$(grep -cx ok ${l.base}.log) $(grep -cx failed ${l.base}.log)"; rm -f ${l.base}.*`] as const));
      return new Map(loops.map((l, i) => {
        const [ok, failed] = outs[i].trim().split(' ').map(Number);
        return [`${l.s.vip}:${l.s.port}`, { ok, failed }];
      }));
    },
  };
}

