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
import { HEALTH_DIR, KEEPALIVED_CONF, KEEPALIVED_PID } from './keepalived.js';
import { keepalivedCommands, keepalivedInstalled, needsKeepalived, phaseUnits, unitCommands, type WorkUnit } from './units.js';

/** A unit as `kind(step labels)`, the stage where it matters. */
function shape(u: WorkUnit): string {
  switch (u.kind) {
    case 'commands':
      return `commands${u.stage === 'delete' ? '(delete)' : ''}[${u.step.label}: ${u.commands.map((c) => c.argv.slice(0, 2).join(' ')).join(', ')}]`;
    case 'put':
      return `put[${u.step.label}]`;
    case 'keepalived':
      return `keepalived[${u.step.label}]`;
    case 'script':
      return `script[${u.steps.length}: ${u.steps.map((s) => s.kind).join(' ')}]`;
    case 'restore':
      return `restore${u.stage === 'delete' ? '(delete)' : ''}[${u.steps.length}]`;
    case 'weight-zero':
      return `weight-zero${u.restore ? '(restore)' : ''}[${u.steps.length}]`;
    case 'wait':
      return `wait[${u.steps.length}]`;
    case 'keepalived-stop':
      return `keepalived-stop[${u.step.label}]`;
    case 'settled':
      return `settled(${u.expect})[${u.steps.length}]`;
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

test('keepalived.conf is the keepalived unit, last of the table phase (after the real servers are ready), with the pid file and health directory it is given', (t) => {
  const steps = example('health-checks').hosts.find((h) => h.host === 'lb1')!.steps;
  t.false(phaseUnits(steps.filter((s) => s.phase === 'prepare')).some((u) => u.kind === 'keepalived'));
  const prepare = phaseUnits(steps.filter((s) => s.phase === 'table'));
  const last = prepare[prepare.length - 1];
  t.is(shape(last), `keepalived[${KEEPALIVED_CONF}]`);
  t.is(prepare.filter((u) => u.kind === 'keepalived').length, 1);
  t.false(prepare.some((u) => u.kind === 'put' && u.step.id.path === KEEPALIVED_CONF));
  if (last.kind !== 'keepalived') return t.fail();
  t.deepEqual([last.pidFile, last.healthDir], [KEEPALIVED_PID, HEALTH_DIR]);
  const moved = phaseUnits(steps.filter((s) => s.phase === 'table'), { keepalivedPidFile: '/tmp/x/keepalived.pid', healthDir: '/tmp/x/health' }).find((u) => u.kind === 'keepalived');
  t.like(moved, { pidFile: '/tmp/x/keepalived.pid', healthDir: '/tmp/x/health' });

  const k = keepalivedCommands(last);
  t.is(k.candidate, `${KEEPALIVED_CONF}.lvsc-new`);
  t.deepEqual(k.move.argv, ['mv', '-f', '--', `${KEEPALIVED_CONF}.lvsc-new`, KEEPALIVED_CONF]);
  t.deepEqual(k.test.argv.slice(-2), ['sh', `${KEEPALIVED_CONF}.lvsc-new`]);
  t.deepEqual(k.reload.argv.slice(-3), ['sh', KEEPALIVED_PID, HEALTH_DIR]);
  t.deepEqual(keepalivedInstalled('lb1').argv.slice(-1), ['keepalived is not installed on lb1: install the Debian package keepalived']);
  t.true(needsKeepalived(steps));
  t.false(needsKeepalived(example('health-checks').hosts.find((h) => h.host === 'web1')!.steps));
  // The scripts are fixed: no text of the configuration is in any command's argv.
  const conf = last.step.after ?? '';
  t.true(conf.includes('virtual_server'));
  for (const c of unitCommands(last)) t.false(c.argv.some((a) => a.includes('virtual_server')), c.argv.join(' '));
  // Never a restart, never a flush of what keepalived programmed.
  for (const c of unitCommands(last)) t.notRegex(c.argv.join(' '), /restart|lvs_flush|ipvsadm -C/);
});

test('lvsc compile writes the keepalived unit as apply runs it: keepalived there first, then the candidate, keepalived -t, mv, reload or start', (t) => {
  const plan = example('health-checks').hosts.find((h) => h.host === 'lb1')!;
  const text = renderHostScript(plan);
  const at = (needle: string) => {
    const i = text.indexOf(needle);
    t.true(i >= 0, needle);
    return i;
  };
  const order = [
    at('# --- before anything changes\n'),
    at(`command -v keepalived >/dev/null || { printf '\\''%s\\n'\\'' "$1" >&2; exit 1; }' sh 'keepalived is not installed on lb1: install the Debian package keepalived'\n`),
    at('# --- prepare\n'),
    at('# --- table\n'),
    at(`# + file ${KEEPALIVED_CONF}`),
    at(`sh -c 'cat > "$1"' sh ${KEEPALIVED_CONF}.lvsc-new <<'LVSC_EOF'\n# Rendered by lvsc for director lb1`),
    at(`sh -c 'keepalived -t -f "$1" || { s=$?; rm -f -- "$1"; exit "$s"; }' sh ${KEEPALIVED_CONF}.lvsc-new`),
    at(`mv -f -- ${KEEPALIVED_CONF}.lvsc-new ${KEEPALIVED_CONF}\n`),
    at(`exec kill -HUP "$pid"`),
    at('  *) args="--dont-release-ipvs $args" ;;\n'),
    at(`exec keepalived --pid "$1" $args' sh ${KEEPALIVED_PID} ${HEALTH_DIR}\n`),
  ];
  t.deepEqual([...order].sort((a, b) => a - b), order);
  t.false(text.includes(`${KEEPALIVED_CONF}.lvsc-tmp`), 'not written as a plain file');
});
