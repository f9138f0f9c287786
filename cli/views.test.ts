/**
 * The views of plan and apply on hand-made reports over a real plan (the web-dr
 * example, from empty hosts): the JSON documents as README.md documents them
 * (fields, their order, what is left out when), the text's stream for each
 * line, and apply's closing sentence. The same views against real hosts,
 * through `lvsc plan` and `lvsc apply`, are in cli/apply.test.ts and live.test.ts.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { HostResult } from '../agent/apply.js';
import { planCluster } from '../compiler/compile.js';
import { check } from '../compiler/index.js';
import type { Plan } from '../compiler/plan.js';
import { applyQuestion, JsonApplyView, TextApplyView } from './views/apply.js';
import { indexSources } from './views/locate.js';
import { JsonPlanView, TextPlanView } from './views/plan.js';
import { planJson } from './views/plan-json.js';
import type { ApplyReport, ApplyView, FactWarning, Unreadable } from './views/report.js';
import { streams } from '../test/support/io.js';

function webPlan(): Plan {
  const path = 'examples/web-dr.lvs';
  const r = check([{ path, text: readFileSync(new URL(`../${path}`, import.meta.url), 'utf8') }]);
  if (!r.cluster) throw new Error(`${path} does not validate`);
  return planCluster(r.cluster).plan;
}

const plan = webPlan();
const EMPTY: Plan = { hosts: [], dependencies: [] };
/** What a host printed that its facts skipped: one with terminal controls in it. */
const WARNINGS: FactWarning[] = [
  { host: 'web1', fact: 'links', message: 'skipped a link entry without ifname: {"ifindex":8,"flags":["NOARP"]}' },
  { host: 'lb1', fact: 'nft', message: 'skipped rule 9 in chain prerouting of table inet lvsc: expression {"x\u001b]0;pwned\u0007":1} not understood (hand edit?)' },
];

const UNREADABLE: Unreadable[] = [
  { host: 'web3', message: 'cannot connect to web3 (root@10.1.0.13:2222): connection refused' },
  { host: 'lb2', message: 'left out of this --target run because it could not be read: timed out', leftOut: true },
];

/** web1 applied, web2 failed at its second step, lb1 skipped (it waited for web2). */
function results(): HostResult[] {
  const steps = (host: string) => plan.hosts.find((h) => h.host === host)!.steps;
  const web1 = steps('web1').map((step) => ({ step, status: 'done' as const }));
  const web2 = steps('web2').map((step, i) =>
    i === 0 ? { step, status: 'done' as const } : i === 1 ? { step, status: 'failed' as const, message: 'exit 1: RTNETLINK answers: File exists' } : { step, status: 'pending' as const },
  );
  const lb1 = steps('lb1').map((step) => ({ step, status: 'skipped' as const }));
  return [
    { host: 'web1', status: 'done', steps: web1 },
    { host: 'web2', status: 'failed', message: 'step 2 failed', steps: web2 },
    { host: 'lb1', status: 'skipped', message: 'waited for web2 (prepare), which failed', steps: lb1 },
  ];
}

function report(over: Partial<ApplyReport> = {}): ApplyReport {
  return {
    planned: { plan, totalHosts: 5, unreadable: UNREADABLE, warnings: WARNINGS },
    results: results(),
    verified: false,
    remaining: plan,
    rereadFailed: [{ host: 'web1', message: 'connection reset' }],
    ok: false,
    ...over,
  };
}

test('plan --json: offline the plan document alone; live with its unreadable list, leftOut marked', (t) => {
  const offline = streams();
  new JsonPlanView(offline.io).plan({ plan });
  t.deepEqual(JSON.parse(offline.out.stdout), planJson(plan));
  t.false('unreadable' in JSON.parse(offline.out.stdout));

  const live = streams();
  new JsonPlanView(live.io).plan({ plan, totalHosts: 5, unreadable: UNREADABLE, warnings: WARNINGS });
  t.false(/[\x1b\x07]/.test(live.out.stdout), 'no raw control character in the document');
  const doc = JSON.parse(live.out.stdout) as Record<string, unknown>;
  t.deepEqual(Object.keys(doc), ['version', 'hosts', 'dependencies', 'summary', 'unreadable', 'warnings']);
  t.deepEqual(doc.warnings, WARNINGS);
  t.deepEqual(doc.unreadable, [
    { host: 'web3', message: UNREADABLE[0].message },
    { host: 'lb2', message: UNREADABLE[1].message, leftOut: true },
  ]);
  t.is(live.out.stderr, '', 'JSON: the unreadable hosts are in the document only');
});

test('plan as text: the plan on stdout, "on N of M hosts"; each unreadable host one line on stderr, error or warning', (t) => {
  const { io, out } = streams();
  new TextPlanView(io, false).plan({ plan, totalHosts: 5, unreadable: UNREADABLE });
  t.regex(out.stdout, /^Plan: \d+ to add, \d+ to change, 0 to remove, on 4 of 5 hosts\.\n$/m);
  t.is(out.stderr, `error: web3: ${UNREADABLE[0].message}\nwarning: lb2: ${UNREADABLE[1].message}\n`);
});

test("plan and apply as text: the facts' warnings on stderr, one line each, escaped; at most 10 a host, then how many more", (t) => {
  const { io, out } = streams();
  new TextPlanView(io, false).plan({ plan, totalHosts: 5, unreadable: [], warnings: WARNINGS });
  t.is(
    out.stderr,
    [
      `warning: web1: links: ${WARNINGS[0].message}`,
      'warning: lb1: nft: skipped rule 9 in chain prerouting of table inet lvsc: expression {"x\\x1b]0;pwned\\x07":1} not understood (hand edit?)',
      '',
    ].join('\n'),
  );
  const many = streams();
  const twelve = Array.from({ length: 12 }, (_, i) => ({ host: 'web1', fact: 'routes', message: `skipped route ${i}` }));
  new TextApplyView(many.io, false).plan({ plan, totalHosts: 5, unreadable: [], warnings: twelve });
  const lines = many.out.stderr.split('\n').filter(Boolean);
  t.deepEqual(lines.slice(0, 10), twelve.slice(0, 10).map((w) => `warning: web1: routes: ${w.message}`));
  t.deepEqual(lines.slice(10), ['warning: web1: 2 more warnings from its facts (lvsc plan --json lists them all)']);
});

test('a server keepalived reports down: shown under its host, not as a change, and in --json as the host\'s health list', (t) => {
  const service = { kind: 'addr', proto: 'tcp', address: '10.1.0.100', port: 80 } as const;
  const down = { service, dest: { address: '10.1.0.12', port: 80 }, label: '10.1.0.12:80 → tcp 10.1.0.100:80', since: 1_700_000_000 };
  const healthOnly: Plan = { hosts: [{ host: 'lb1', roles: ['director'], steps: [], down: [down] }, { host: 'web1', roles: ['real-server'], steps: [] }], dependencies: [] };
  const text = streams();
  new TextPlanView(text.io, true).plan({ plan: healthOnly, totalHosts: 2 });
  t.is(
    text.out.stdout,
    [
      'lb1 (director)',
      '    health  10.1.0.12:80 → tcp 10.1.0.100:80  down (check failing since 2023-11-14T22:13:20Z)',
      '',
      'No changes. 2 hosts match the cluster description.',
      '1 checked server down: keepalived keeps it out of the rotation until the check passes (health, not a change).',
      '',
    ].join('\n'),
  );
  const json = streams();
  new JsonPlanView(json.io).plan({ plan: healthOnly });
  const doc = JSON.parse(json.out.stdout) as { hosts: Record<string, unknown>[]; summary: Record<string, number> };
  t.deepEqual(doc.hosts.map((h) => h.host), ['web1', 'lb1'], 'in the order apply runs them');
  t.deepEqual(doc.hosts[1].health, [{ state: 'down', key: down.label, service, dest: down.dest, since: 1_700_000_000 }]);
  t.false('health' in doc.hosts[0], 'a host with no server down has no health list');
  t.deepEqual([doc.summary.create, doc.summary.update, doc.summary.delete, doc.summary.hostsChanged], [0, 0, 0, 0]);
});

test('a failover pair: which director holds the VIPs under each, VRRP state and not a change; faults on stderr and in --json', (t) => {
  const master = { role: 'master', holds: ['10.3.0.100/24 dev eth0'], keepalived: true } as const;
  const pair: Plan = {
    hosts: [
      { host: 'lb1', roles: ['director'], steps: [], vrrp: master },
      { host: 'lb2', roles: ['backup-director'], steps: [], vrrp: { role: 'backup', holds: [], keepalived: false } },
    ],
    dependencies: [],
    faults: [{ hosts: ['lb2'], message: 'keepalived is not running on lb2: it cannot take the VIPs if the other director fails' }],
  };
  const text = streams();
  new TextPlanView(text.io, false).plan({ plan: pair, totalHosts: 2 });
  t.is(
    text.out.stdout,
    [
      'lb2 (backup director)',
      '    vrrp  backup, keepalived not running',
      '',
      'lb1 (director)',
      '    vrrp  master (holds 10.3.0.100/24 dev eth0)',
      '',
      'No changes. 2 hosts match the cluster description.',
      'VRRP: lb1 holds the VIPs (VRRP state, not a change).',
      '',
    ].join('\n'),
  );
  t.is(text.out.stderr, 'error: lb2: keepalived is not running on lb2: it cannot take the VIPs if the other director fails\n');
  const json = streams();
  new JsonPlanView(json.io).plan({ plan: pair });
  const doc = JSON.parse(json.out.stdout) as { hosts: Record<string, unknown>[]; faults: unknown };
  t.deepEqual(doc.hosts.map((h) => [h.host, h.vrrp]), [
    ['lb2', { role: 'backup', holds: [], keepalived: 'stopped' }],
    ['lb1', { role: 'master', holds: ['10.3.0.100/24 dev eth0'], keepalived: 'running' }],
  ]);
  t.deepEqual(doc.faults, [{ hosts: ['lb2'], message: pair.faults![0].message }]);
  t.deepEqual(planJson(pair), JSON.parse(json.out.stdout), 'the document in pieces is the document');
});

test('plan as text with no changes: never "N hosts match" when some or all of them could not be read', (t) => {
  const none = streams();
  new TextPlanView(none.io, false).plan({ plan: EMPTY, totalHosts: 2, unreadable: [UNREADABLE[0], { host: 'web2', message: 'connection refused' }] });
  t.is(none.out.stdout, 'Nothing planned: none of the 2 hosts could be read.\n');
  const some = streams();
  new TextPlanView(some.io, false).plan({ plan: EMPTY, totalHosts: 5, unreadable: UNREADABLE });
  t.is(some.out.stdout, 'No changes on the 4 of 5 hosts that were read (1 could not be read).\n');
  const all = streams();
  new TextPlanView(all.io, false).plan({ plan: EMPTY, totalHosts: 5, unreadable: [] });
  t.is(all.out.stdout, 'No changes. 5 hosts match the cluster description.\n');
});

test('apply --json: plan, unreadable, hosts (the failed-before ones last, without steps), verified, and what still differs', (t) => {
  const { io, out } = streams();
  const view: ApplyView = new JsonApplyView(io);
  view.plan({ plan });
  t.is(out.stdout, '', 'nothing before the end');
  view.result(report());
  const doc = JSON.parse(out.stdout) as Record<string, unknown> & { hosts: { host: string; status: string; message?: string; steps: { status: string; message?: string }[] }[] };
  t.deepEqual(Object.keys(doc), ['version', 'plan', 'unreadable', 'warnings', 'hosts', 'verified', 'remaining', 'rereadFailed']);
  t.deepEqual(doc.warnings, WARNINGS);
  t.is(doc.version, 1);
  t.deepEqual(doc.plan, planJson(plan));
  t.deepEqual(doc.remaining, planJson(plan));
  t.deepEqual(doc.unreadable, [
    { host: 'web3', message: UNREADABLE[0].message },
    { host: 'lb2', message: UNREADABLE[1].message, leftOut: true },
  ]);
  t.deepEqual(
    doc.hosts.map((h) => [h.host, h.status, h.message]),
    [
      ['web1', 'done', undefined],
      ['web2', 'failed', 'step 2 failed'],
      ['lb1', 'skipped', 'waited for web2 (prepare), which failed'],
      ['web3', 'failed', UNREADABLE[0].message],
    ],
  );
  t.deepEqual(doc.hosts[3], { host: 'web3', status: 'failed', message: UNREADABLE[0].message, steps: [] });
  const web2 = doc.hosts[1].steps;
  t.deepEqual(Object.keys(web2[1]), ['action', 'kind', 'key', 'id', 'phase', 'status', 'message']);
  t.deepEqual(web2.map((s) => s.status).slice(0, 3), ['done', 'failed', 'pending']);
  t.is(doc.verified, false);
  t.deepEqual(doc.rereadFailed, [{ host: 'web1', message: 'connection reset' }]);
  t.is(out.stderr, '');
});

test('apply --json when verified has no remaining or rereadFailed; with nothing to do: the plan, hosts [] and verified', (t) => {
  const done = streams();
  new JsonApplyView(done.io).result(report({ verified: true, remaining: EMPTY, rereadFailed: [], ok: false }));
  t.deepEqual(Object.keys(JSON.parse(done.out.stdout)), ['version', 'plan', 'unreadable', 'warnings', 'hosts', 'verified']);

  const nothing = streams();
  new JsonApplyView(nothing.io).nothingToDo({ plan: EMPTY, totalHosts: 2, unreadable: [], warnings: WARNINGS.slice(0, 1) });
  t.deepEqual(JSON.parse(nothing.out.stdout), { version: 1, plan: planJson(EMPTY), unreadable: [], warnings: WARNINGS.slice(0, 1), hosts: [], verified: true });
});

test('apply as text: what ran where, the hosts that failed before, what still differs, and one closing sentence', (t) => {
  const { io, out } = streams();
  new TextApplyView(io, false).result(report());
  t.regex(out.stdout, /^web2: failed, 1 of \d+ steps ran\n {2}step 2 failed\n/m);
  t.true(out.stdout.includes(`\nweb3: failed before apply, nothing ran: ${UNREADABLE[0].message}\n`), out.stdout);
  t.false(out.stdout.includes('lb2: failed before apply'), 'a host --target left out did not fail');
  t.true(out.stdout.includes('\nAfter apply, the hosts still differ from the cluster description:\n'));
  t.true(out.stdout.includes('\nweb1: could not be read again: connection reset\n'));
  const ran = 1 + plan.hosts.find((h) => h.host === 'web1')!.steps.length;
  t.true(out.stdout.endsWith(`\nApply FAILED: ${ran} step(s) ran; 1 host(s) done, 2 failed, 1 skipped; NOT verified.\n`), out.stdout);

  const good = streams();
  const all = results().slice(0, 1);
  new TextApplyView(good.io, false).result({ ...report(), planned: { plan, unreadable: [] }, results: all, verified: true, remaining: EMPTY, rereadFailed: [], ok: true });
  t.true(good.out.stdout.endsWith(`\nApply complete: ${all[0].steps.length} step(s) ran; 1 host(s) done, 0 failed, 0 skipped; verified: the applied hosts match the cluster.\n`), good.out.stdout);
  t.false(good.out.stdout.includes('After apply'));

  const none = streams();
  new TextApplyView(none.io, false).result({ ...report(), results: [], planned: { plan, unreadable: [UNREADABLE[0]] } });
  t.true(none.out.stdout.endsWith('\nApply FAILED: 0 step(s) ran; 0 host(s) done, 1 failed, 0 skipped.\n'), 'no host finished: nothing to verify');
});

test('the question before apply counts the changes and the hosts; a no changes nothing, on stderr whichever view', (t) => {
  const s = plan.hosts.reduce((n, h) => n + h.steps.length, 0);
  t.is(applyQuestion(plan), `\nApply ${s} change(s) to 4 host(s)? Only 'yes' goes ahead: `);
  for (const view of [(io: ReturnType<typeof streams>['io']) => new TextApplyView(io, false), (io: ReturnType<typeof streams>['io']) => new JsonApplyView(io)]) {
    const { io, out } = streams();
    view(io).cancelled();
    t.deepEqual(out, { stdout: '', stderr: 'Apply cancelled: nothing was changed.\n' });
  }
});

test("the files' diagnostics: text on stderr, warnings too; JSON on stdout only when they stop the command", (t) => {
  const source = { path: 'a.lvs', text: 'director lb9\n' };
  const warning = { severity: 'warning' as const, code: 'no-servers' as const, summary: 'w', subject: { file: 'a.lvs', start: 9, end: 12 } };
  const error = { ...warning, severity: 'error' as const, code: 'unknown-host' as const, summary: 'e' };
  const sources = indexSources([source]);

  const text = streams();
  new TextPlanView(text.io, false).diagnostics({ sources, diagnostics: [warning], stopped: false });
  t.regex(text.out.stderr, /^warning\[no-servers\]: w\n/);
  t.is(text.out.stdout, '');

  const lax = streams();
  new JsonPlanView(lax.io).diagnostics({ sources, diagnostics: [warning], stopped: false });
  t.deepEqual(lax.out, { stdout: '', stderr: '' });

  const stopped = streams();
  new JsonApplyView(stopped.io).diagnostics({ sources, diagnostics: [error], stopped: true });
  t.like(JSON.parse(stopped.out.stdout), { version: 1, errors: 1, warnings: 0, diagnostics: [{ code: 'unknown-host', start: { line: 1, column: 10 } }] });
  t.is(stopped.out.stderr, '');

  const line = streams();
  new JsonPlanView(line.io).error('--target web9: no such host in the cluster');
  t.deepEqual(line.out, { stdout: '', stderr: 'lvsc: --target web9: no such host in the cluster\n' });
});
