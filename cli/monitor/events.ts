/**
 * What changed between two reads of the cluster, as the monitor's event list
 * says it: a server shielded (keepalived reports it down) or back, a director
 * taking or losing the VIPs (a failover), drift found or gone, a host that
 * could not be read or is back. Pure: two ClusterStatus values in, events out.
 */
import type { ClusterStatus, Health } from '../../agent/status.js';

export interface MonitorEvent {
  /** When the read that found it finished, in milliseconds since the epoch. */
  readonly at: number;
  readonly kind: 'health' | 'role' | 'drift' | 'host';
  /** bad: something to look at; good: it is over; info: neither. */
  readonly level: 'bad' | 'good' | 'info';
  readonly text: string;
}

function healthWord(h: Health): string {
  return h.state === 'unknown' ? (h.why === 'unchecked' ? 'unchecked' : 'unknown') : h.state;
}

/** The events from `before` to `after` (nothing before the first read: the first read is the starting point). */
export function statusEvents(before: ClusterStatus | undefined, after: ClusterStatus): MonitorEvent[] {
  if (!before) return [];
  const at = after.at;
  const out: MonitorEvent[] = [];
  const hostsBefore = new Map(before.hosts.map((h) => [h.name, h]));
  for (const h of after.hosts) {
    const was = hostsBefore.get(h.name);
    if (!was || was.ok === h.ok) continue;
    out.push(h.ok ? { at, kind: 'host', level: 'good', text: `${h.name} can be read again` } : { at, kind: 'host', level: 'bad', text: `${h.name} cannot be read: ${h.error ?? ''}` });
  }
  const rolesBefore = new Map(before.directors.map((d) => [d.name, d.role]));
  for (const d of after.directors) {
    const was = rolesBefore.get(d.name);
    if (was === undefined || was === d.role) continue;
    const level = d.role === 'split' || d.role === 'unknown' ? 'bad' : 'info';
    out.push({ at, kind: 'role', level, text: `${d.name}: ${was} → ${d.role} (holds ${d.vipsHeld} of ${d.vips} VIPs)` });
  }
  const servicesBefore = new Map(before.services.map((s) => [s.name, s]));
  for (const s of after.services) {
    const was = servicesBefore.get(s.name);
    if (!was) continue;
    if ((was.drift.length > 0) !== (s.drift.length > 0)) {
      out.push(s.drift.length ? { at, kind: 'drift', level: 'bad', text: `${s.name}: the live service differs from the files` } : { at, kind: 'drift', level: 'good', text: `${s.name}: the live service matches the files again` });
    }
    const serversBefore = new Map(was.servers.map((v) => [`${v.name} ${v.dest.address} ${v.dest.port}`, v]));
    for (const v of s.servers) {
      const w = serversBefore.get(`${v.name} ${v.dest.address} ${v.dest.port}`);
      if (!w) continue;
      if (w.health.state !== v.health.state) {
        const text =
          v.health.state === 'down'
            ? `${v.name} in ${s.name}: shielded (its check fails)`
            : w.health.state === 'down'
              ? `${v.name} in ${s.name}: back (${healthWord(v.health)})`
              : `${v.name} in ${s.name}: ${healthWord(w.health)} → ${healthWord(v.health)}`;
        out.push({ at, kind: 'health', level: v.health.state === 'down' ? 'bad' : w.health.state === 'down' ? 'good' : 'info', text });
      }
      if ((w.drift.length > 0) !== (v.drift.length > 0)) {
        out.push(v.drift.length ? { at, kind: 'drift', level: 'bad', text: `${v.name} in ${s.name}: ${v.drift.map((d) => d.reason).join('; ')}` } : { at, kind: 'drift', level: 'good', text: `${v.name} in ${s.name}: matches the files again` });
      }
    }
  }
  return out;
}
