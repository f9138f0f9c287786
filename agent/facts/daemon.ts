/**
 * `ipvsadm -Ln --daemon` → the connection sync daemons: a master line, a
 * backup line, both or none (empty output). ipvsadm 1.31 adds
 * `maxlen, group, port, ttl` inside the parentheses; older ones print only
 * `mcast` and `syncid`. lvsc configures the interface and the sync id.
 */
import type { SyncDaemon } from '../../compiler/state.js';
import { ipvsadmCommand, ipvsadmFailure, ipvsNotLoaded } from './ipvs.js';
import { clip, type Fact } from './fact.js';

const LINE = /^(master|backup) sync daemon \((.*)\)\s*$/;

export const daemonFact: Fact<SyncDaemon[]> = {
  name: 'daemon',
  tool: 'ipvsadm',
  command: () => ipvsadmCommand('-Ln', '--daemon'),
  parse(stdout) {
    if (ipvsNotLoaded(stdout)) return { value: [], warnings: [] };
    const value: SyncDaemon[] = [];
    const warnings: string[] = [];
    const unreadable: string[] = [];
    for (const line of stdout.split('\n')) {
      if (line.trim() === '') continue;
      const m = LINE.exec(line.trim());
      const fields = new Map<string, string>();
      for (const part of m ? m[2].split(',') : []) {
        const eq = part.indexOf('=');
        if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
      }
      const iface = fields.get('mcast');
      const syncid = fields.get('syncid');
      if (!m || !iface || !syncid || !/^\d+$/.test(syncid)) {
        unreadable.push(`\`${clip(line.trim())}\` is not a sync daemon line`);
        continue;
      }
      const state = m[1] as SyncDaemon['state'];
      if (value.some((d) => d.state === state)) {
        warnings.push(`skipped \`${clip(line.trim())}\`: a second ${state} daemon`);
        continue;
      }
      value.push({ state, mcastInterface: iface, syncid: Number(syncid) });
    }
    return { value, warnings, unreadable };
  },
  whenFailed: ipvsadmFailure,
};
