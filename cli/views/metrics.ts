/**
 * The cluster's status (agent/status.ts) in the Prometheus text exposition
 * format (version 0.0.4), for `lvsc monitor`'s `/metrics`. The names follow
 * node_exporter's IPVS collector (`node_ipvs_connections_total`,
 * `node_ipvs_backend_connections_active`, `node_ipvs_backend_weight`, ...)
 * under the prefix `lvsc_`, so the two never collide when both are scraped;
 * the labels are lvsc's names (`director`, `service`, `server`) beside
 * node_exporter's address labels (`proto`, `local_address`, `local_port`,
 * `local_mark`, `remote_address`, `remote_port`). What node_exporter lacks:
 * the declared weight, keepalived's health, drift, each director's role.
 *
 * Label sets are bounded by the cluster file and the directors' tables: one
 * series per service, per destination, per director and per host; health and
 * role are state sets with a fixed list of states. Nothing per connection.
 */
import type { ClusterStatus, DirectorRole, Health, ServiceStatus } from '../../agent/status.js';
import type { Totals } from '../../agent/facts/counters.js';

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly samples: { readonly labels: Labels; readonly value: number }[];
}

/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed escaped (quotes stay). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function sampleLine(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`bug: label name ${k}`);
    return `${k}="${escapeLabelValue(v)}"`;
  });
  const text = Number.isFinite(value) ? String(value) : Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  return `${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${text}`;
}

/** The families as text: HELP and TYPE once before each family's samples, a line feed after the last line. */
export function exposition(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`bug: metric name ${f.name}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(sampleLine(f.name, s.labels, s.value));
  }
  return out.join('\n') + '\n';
}

/** The content type of the text format, for the HTTP response. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const HEALTH_STATES: readonly Health['state'][] = ['up', 'down', 'draining', 'unknown'];
const ROLES: readonly DirectorRole[] = ['active', 'backup', 'split', 'unknown'];

/** node_exporter's address labels of a service: proto, local_address, local_port, local_mark (empty where they do not apply). */
function serviceLabels(s: ServiceStatus): Labels {
  const id = s.id;
  const where = id.kind === 'addr' ? { proto: id.proto, local_address: id.address, local_port: String(id.port), local_mark: '' } : { proto: 'fwmark', local_address: '', local_port: '0', local_mark: String(id.mark) };
  return { director: s.director ?? '', service: s.name, ...where };
}

function family(name: string, type: Family['type'], help: string): Family {
  return { name, type, help, samples: [] };
}

const TOTALS: readonly (readonly [keyof Totals, string, string])[] = [
  ['conns', 'connections_total', 'Connections scheduled'],
  ['inPackets', 'incoming_packets_total', 'Packets from clients'],
  ['outPackets', 'outgoing_packets_total', 'Packets to clients (through the director: NAT only)'],
  ['inBytes', 'incoming_bytes_total', 'Bytes from clients'],
  ['outBytes', 'outgoing_bytes_total', 'Bytes to clients (through the director: NAT only)'],
];

/** Every family of `/metrics` from one status read. Pure. */
export function statusMetrics(status: ClusterStatus): string {
  const serviceTotals = TOTALS.map(([, name, help]) => family(`lvsc_ipvs_${name}`, 'counter', `${help}, per service (node_ipvs_${name} by lvsc's names).`));
  const backendTotals = TOTALS.map(([, name, help]) => family(`lvsc_ipvs_backend_${name}`, 'counter', `${help}, per real server.`));
  const active = family('lvsc_ipvs_backend_connections_active', 'gauge', 'Active connections per real server (ActiveConn).');
  const inactive = family('lvsc_ipvs_backend_connections_inactive', 'gauge', 'Inactive connections per real server (InActConn).');
  const weight = family('lvsc_ipvs_backend_weight', 'gauge', "The real server's weight in the director's live table.");
  const declared = family('lvsc_ipvs_backend_declared_weight', 'gauge', "The real server's weight in the cluster files.");
  const live = family('lvsc_ipvs_backend_live', 'gauge', "1 when the real server is in the director's live table, else 0.");
  const health = family('lvsc_ipvs_backend_health', 'gauge', "keepalived's view of the real server: 1 for its state (up, down, draining, unknown), 0 for the others.");
  const drift = family('lvsc_ipvs_backend_drift', 'gauge', 'Steps lvsc plan would take on the real server\'s live entry (0: it matches the files).');
  const serviceDrift = family('lvsc_ipvs_service_drift', 'gauge', "Steps lvsc plan would take on the service's live entry (0: it matches the files).");
  const role = family('lvsc_director_role', 'gauge', 'The role a director plays now (from the VIPs it holds): 1 for its role (active, backup, split, unknown), 0 for the others.');
  const declaredRole = family('lvsc_director_declared_active', 'gauge', '1 for the director the files declare active, 0 for the backup.');
  const keepalived = family('lvsc_director_keepalived_running', 'gauge', '1 when keepalived runs on the director.');
  const hostUp = family('lvsc_host_read', 'gauge', '1 when lvsc could connect to and read the host in the last round.');
  const changes = family('lvsc_host_changes', 'gauge', 'Steps lvsc plan would run on the host.');
  const at = family('lvsc_status_timestamp_seconds', 'gauge', 'When the last read of the cluster finished, in seconds since the epoch.');

  for (const s of status.services) {
    const labels = serviceLabels(s);
    if (s.totals) TOTALS.forEach(([k], i) => serviceTotals[i].samples.push({ labels, value: s.totals![k] }));
    serviceDrift.samples.push({ labels, value: s.drift.length });
    const rows = [
      ...s.servers.map((v) => ({ server: v.name, dest: v.dest, live: v.live, declared: v.weight as number | undefined, health: v.health as Health | undefined, drift: v.drift.length })),
      ...s.undeclared.map((u) => ({ server: '', dest: u.dest, live: u.live, declared: undefined, health: undefined, drift: u.drift.length })),
    ];
    for (const r of rows) {
      const b: Labels = { ...labels, server: r.server, remote_address: r.dest.address, remote_port: String(r.dest.port) };
      live.samples.push({ labels: b, value: r.live ? 1 : 0 });
      drift.samples.push({ labels: b, value: r.drift });
      if (r.declared !== undefined) declared.samples.push({ labels: b, value: r.declared });
      if (r.health) for (const state of HEALTH_STATES) health.samples.push({ labels: { ...b, state }, value: r.health.state === state ? 1 : 0 });
      if (!r.live) continue;
      weight.samples.push({ labels: b, value: r.live.weight });
      active.samples.push({ labels: b, value: r.live.active });
      inactive.samples.push({ labels: b, value: r.live.inactive });
      if (r.live.totals) TOTALS.forEach(([k], i) => backendTotals[i].samples.push({ labels: b, value: r.live!.totals![k] }));
    }
  }
  for (const d of status.directors) {
    for (const r of ROLES) role.samples.push({ labels: { director: d.name, role: r }, value: d.role === r ? 1 : 0 });
    declaredRole.samples.push({ labels: { director: d.name }, value: d.declared === 'active' ? 1 : 0 });
    if (d.keepalived) keepalived.samples.push({ labels: { director: d.name }, value: d.keepalived.running ? 1 : 0 });
  }
  for (const h of status.hosts) {
    hostUp.samples.push({ labels: { host: h.name }, value: h.ok ? 1 : 0 });
    if (h.changes !== undefined) changes.samples.push({ labels: { host: h.name }, value: h.changes });
  }
  at.samples.push({ labels: {}, value: status.at / 1000 });
  return exposition([...serviceTotals, ...backendTotals, active, inactive, weight, declared, live, health, drift, serviceDrift, role, declaredRole, keepalived, hostUp, changes, at]);
}
