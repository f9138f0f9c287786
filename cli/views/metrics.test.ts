/**
 * `/metrics` in the Prometheus text format (exposition format 0.0.4): read
 * back here by a strict reader of that format's grammar (a HELP and a TYPE
 * line before each family's samples, every family in one block, every series
 * once, label values escaped), on the status of test/support/cluster-status.ts.
 * Prometheus itself scrapes it in the monitor's end-to-end test.
 */
import test from 'ava';
import { AT, status } from '../../test/support/cluster-status.js';
import { escapeHelp, escapeLabelValue, exposition, statusMetrics } from './metrics.js';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The text format's grammar, strictly: anything else throws. */
function read(text: string): { samples: Sample[]; types: Map<string, string> } {
  if (!text.endsWith('\n')) throw new Error('the last line must end with a line feed');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const seen = new Set<string>();
  const done = new Set<string>();
  let current = '';
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[2] !== current) {
        if (done.has(meta[2])) throw new Error(`family ${meta[2]} in two blocks`);
        if (current) done.add(current);
        current = meta[2];
      }
      if (meta[1] === 'HELP') {
        if (/\\[^\\n]/.test(meta[3].replace(/\\\\/g, ''))) throw new Error(`bad escape in HELP: ${line}`);
        helped.add(meta[2]);
      } else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(meta[3])) throw new Error(line);
        if (samples.some((s) => s.name === meta[2])) throw new Error(`TYPE after samples: ${line}`);
        types.set(meta[2], meta[3]);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    if (m[1] !== current || !types.has(m[1]) || !helped.has(m[1])) throw new Error(`sample outside its family's block: ${line}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest) {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      if (!l) throw new Error(`bad labels in ${line}`);
      if (l[1] in labels) throw new Error(`label ${l[1]} twice in ${line}`);
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value in ${line}`);
    const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`series twice: ${line}`);
    seen.add(key);
    samples.push({ name: m[1], labels, value });
  }
  return { samples, types };
}

function find(samples: readonly Sample[], name: string, labels: Record<string, string>): number[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).map((s) => s.value);
}

test('label values and HELP text are escaped as the text format says: backslash, double quote (labels only), line feed', (t) => {
  t.is(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  t.is(escapeHelp('a\\b"c\nd'), 'a\\\\b"c\\nd');
  const text = exposition([{ name: 'x_total', type: 'counter', help: 'two\nlines \\ "quoted"', samples: [{ labels: { path: 'C:\\tmp\\"new"\nline' }, value: 3 }] }]);
  t.is(text, '# HELP x_total two\\nlines \\\\ "quoted"\n# TYPE x_total counter\nx_total{path="C:\\\\tmp\\\\\\"new\\"\\nline"} 3\n');
  t.deepEqual(read(text).samples, [{ name: 'x_total', labels: { path: 'C:\\tmp\\"new"\nline' }, value: 3 }]);
});

test('the status as metrics: node_exporter\'s names under lvsc_, labelled by lvsc\'s names and the addresses', (t) => {
  const { samples, types } = read(statusMetrics(status()));
  const web4 = { director: 'lb1', service: 'web-nat', server: 'web4', proto: 'tcp', local_address: '10.10.0.100', local_port: '80', remote_address: '10.20.0.14', remote_port: '8080' };
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_weight', web4), [5]);
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_declared_weight', web4), [1]);
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_connections_inactive', web4), [2]);
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_drift', web4), [1]);
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_health', { ...web4, state: 'down' }), [1]);
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_health', { ...web4, state: 'up' }), [0]);
  t.deepEqual(find(samples, 'lvsc_ipvs_connections_total', { service: 'web-nat', local_mark: '' }), [40]);
  t.deepEqual(find(samples, 'lvsc_ipvs_incoming_bytes_total', { service: 'web-nat' }), [20_000]);
  t.deepEqual(find(samples, 'lvsc_director_role', { director: 'lb1', role: 'split' }), [1]);
  t.deepEqual(find(samples, 'lvsc_director_role', { director: 'lb1' }).sort(), [0, 0, 0, 1]);
  t.deepEqual(find(samples, 'lvsc_director_keepalived_running', { director: 'lb1' }), [1]);
  t.deepEqual(find(samples, 'lvsc_host_read', { host: 'web4' }), [0]);
  t.deepEqual(find(samples, 'lvsc_status_timestamp_seconds', {}), [AT / 1000]);
  // The destination the file does not declare: live, without a server name, health or declared weight.
  const undeclared = { service: 'web-nat', remote_address: '10.20.0.19' };
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_live', undeclared), [1]);
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_declared_weight', undeclared), []);
  t.is(types.get('lvsc_ipvs_backend_connections_total'), 'counter');
  t.is(types.get('lvsc_ipvs_backend_weight'), 'gauge');
  for (const [name, type] of types) if (name.endsWith('_total')) t.is(type, 'counter', name);
});

test('bounded label sets: health and role are state sets, nothing per connection; a server not live has no figures', (t) => {
  const s = status();
  const notLive = { ...s, services: [{ ...s.services[0], servers: [{ ...s.services[0].servers[0], live: null }], undeclared: [] }] };
  const { samples } = read(statusMetrics(notLive));
  const labelNames = new Set(samples.flatMap((x) => Object.keys(x.labels)));
  t.deepEqual([...labelNames].sort(), ['director', 'host', 'local_address', 'local_mark', 'local_port', 'proto', 'remote_address', 'remote_port', 'role', 'server', 'service', 'state']);
  t.is(find(samples, 'lvsc_ipvs_backend_health', { server: 'web3' }).length, 4);
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_live', { server: 'web3' }), [0]);
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_weight', { server: 'web3' }), []);
  t.deepEqual(find(samples, 'lvsc_ipvs_backend_connections_total', { server: 'web3' }), []);
});

test('a fwmark service: proto fwmark, its mark, no address', (t) => {
  const s = status();
  const fwm = { ...s, services: [{ ...s.services[0], id: { kind: 'fwmark' as const, mark: 10, family: 4 as const }, key: 'fwmark 10' }] };
  const { samples } = read(statusMetrics(fwm));
  t.deepEqual(find(samples, 'lvsc_ipvs_connections_total', { proto: 'fwmark', local_mark: '10', local_address: '', local_port: '0' }), [40]);
});
