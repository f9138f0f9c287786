/**
 * The one batching pass (units.ts) on plans the planner makes: which work
 * units a phase's steps become, in order. apply runs these units and `lvsc
 * compile` writes them, so both batch alike.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { compileCluster } from './compile.js';
import { NO_OWNERSHIP } from './diff.js';
import { check } from './index.js';
import { parseIpvsadmSave } from './ipvsadm.js';
import { buildPlan } from './order.js';
import { PHASES, type Step } from './plan.js';
import { renderHostScript } from './script.js';
import { emptyHostState, type IpvsService } from './state.js';
import { phaseUnits, type WorkUnit } from './units.js';

/** A unit as `kind(step labels)`, the stage where it matters. */
function shape(u: WorkUnit): string {
  switch (u.kind) {
    case 'commands':
      return `commands${u.stage === 'delete' ? '(delete)' : ''}[${u.step.label}: ${u.commands.map((c) => c.argv.slice(0, 2).join(' ')).join(', ')}]`;
    case 'put':
      return `put[${u.step.label}]`;
    case 'script':
      return `script[${u.steps.length}: ${u.steps.map((s) => s.kind).join(' ')}]`;
    case 'restore':
      return `restore${u.stage === 'delete' ? '(delete)' : ''}[${u.steps.length}]`;
    case 'weight-zero':
      return `weight-zero${u.restore ? '(restore)' : ''}[${u.steps.length}]`;
    case 'wait':
      return `wait[${u.steps.length}]`;
  }
}

function byPhase(steps: readonly Step[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const phase of PHASES) {
    const units = phaseUnits(steps.filter((s) => s.phase === phase));
    if (units.length) out[phase] = units.map(shape);
  }
  return out;
}

function example(name: string) {
  const path = `examples/${name}.lvs`;
  const r = check([{ path, text: readFileSync(new URL(`../${path}`, import.meta.url), 'utf8') }]);
  if (!r.cluster) throw new Error(`${path} does not validate`);
  return buildPlan(compileCluster(r.cluster));
}

const table = (...lines: string[]): IpvsService[] => parseIpvsadmSave(lines.join('\n')).value;

function directorSteps(live: readonly IpvsService[], want: readonly IpvsService[]): Step[] {
  const plan = buildPlan([{ name: 'lb', roles: ['director'], state: { ...emptyHostState(), ipvs: [...want] }, gateways: [] }], new Map([['lb', { state: { ...emptyHostState(), ipvs: [...live] }, ownership: NO_OWNERSHIP }]]));
  return [...plan.hosts[0].steps];
}

test('a real server from nothing: its plain commands as one script, each file put', (t) => {
  const web1 = example('web-dr').hosts.find((h) => h.host === 'web1')!;
  t.deepEqual(byPhase(web1.steps), {
    prepare: ['script[7: sysctl sysctl sysctl sysctl sysctl sysctl address]', 'put[/etc/sysctl.d/90-lvsc.conf]', 'put[/etc/systemd/network/50-lvsc-lo.network]', 'put[/var/lib/lvsc/manifest.json]'],
  });
});

test('a director from nothing: its table as one restore; a plain command alone runs alone; nft reads its input, so it runs alone', (t) => {
  const lb1 = example('shop-fwmark').hosts.find((h) => h.host === 'lb1')!;
  const units = byPhase(lb1.steps);
  t.regex(units.prepare[0], /^script\[\d+: module/);
  t.deepEqual(
    units.table.map((u) => u.replace(/\[\d+\]$/, '[n]')),
    ['restore[n]', 'commands[master: ipvsadm --start-daemon]', 'commands[table inet lvsc: nft -f]'],
  );
  t.deepEqual(units.vip, ['script[2: address address]']);
});

test('one IPVS edit is a command of its own, several are one restore', (t) => {
  const live = table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 1');
  t.deepEqual(byPhase(directorSteps(live, table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 2'))), { table: ['commands[10.0.0.3:80 → tcp 10.0.0.100:80: ipvsadm -e]'] });
  t.deepEqual(byPhase(directorSteps(live, table('-A -t 10.0.0.100:80 -s wrr', '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 2'))), { table: ['restore[2]'] });
});

test('the drain phase: weight 0 together, the wait, then the deletions; one restore each when there are several', (t) => {
  const live = table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 1', '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -g -w 1', '-a -t 10.0.0.100:80 -r 10.0.0.5:80 -g -w 1');
  t.deepEqual(byPhase(directorSteps(live, table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 1'))), { drain: ['weight-zero(restore)[2]', 'wait[2]', 'restore(delete)[2]'] });
  t.deepEqual(byPhase(directorSteps(live, table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 1', '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -g -w 1'))), {
    drain: ['weight-zero[1]', 'wait[1]', 'commands(delete)[10.0.0.5:80 → tcp 10.0.0.100:80: ipvsadm -d]'],
  });
  const gone = byPhase(directorSteps(live, []));
  t.deepEqual(gone, { drain: ['weight-zero(restore)[3]', 'wait[3]', 'restore(delete)[3]'], untable: ['commands[tcp 10.0.0.100:80: ipvsadm -D]'] });
});

test('lvsc compile writes the drain as apply runs it: weight 0 in one restore, the wait, the deletions in another', (t) => {
  const live = table('-A -t 10.0.0.100:80 -s rr', '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 1', '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -g -w 1');
  const steps = directorSteps(live, table('-A -t 10.0.0.100:80 -s rr'));
  const text = renderHostScript({ host: 'lb', roles: ['director'], steps });
  const drain = text.slice(text.indexOf('# --- drain'));
  t.regex(drain, /# \* ipvs batch 2 drained destinations to weight 0 in one restore\nipvsadm -R <<'LVSC_EOF'\n-e -t 10\.0\.0\.100:80 -r 10\.0\.0\.3:80 -g -w 0\n-e -t 10\.0\.0\.100:80 -r 10\.0\.0\.4:80 -g -w 0\nLVSC_EOF\n/);
  t.regex(drain, /# · wait --drain {2}\(lvsc apply waits here while the drained destinations finish their connections\)\n# \* ipvs batch 2 IPVS edits in one restore\nipvsadm -R <<'LVSC_EOF'\n-d -t 10\.0\.0\.100:80 -r 10\.0\.0\.3:80\n-d -t 10\.0\.0\.100:80 -r 10\.0\.0\.4:80\nLVSC_EOF\n/);
});
