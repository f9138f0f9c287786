/**
 * Issue 10: text from a host (a sysctl value, a live file's content, a failing
 * command's stderr, why a host could not be read, what a lab server answered)
 * and from the cluster file (a snippet line, a quoted string) reaches the
 * views with terminal escape sequences in it. Every view writes it escaped
 * (lang/printable.ts): no raw control character in the output, the escape
 * visible instead, and lvsc's own colours still there.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import type { HostResult } from '../agent/apply.js';
import { planCluster } from '../compiler/compile.js';
import { check } from '../compiler/index.js';
import type { Plan, Step } from '../compiler/plan.js';
import type { Diagnostic } from '../lang/diagnostics.js';
import { JsonApplyView, TextApplyView } from './views/apply.js';
import { HumanCommandView, renderDiagnostic, usageLine } from './views/human.js';
import { JsonValidateView } from './views/json.js';
import { renderLabStatus, renderRequests } from './views/lab.js';
import { indexSources } from './views/locate.js';
import { JsonPlanView, TextPlanView } from './views/plan.js';
import { renderPlan } from './views/plan-text.js';
import { ProgressView, renderApplySummary } from './views/progress.js';
import type { ApplyReport, Unreadable } from './views/report.js';
import { streams } from '../test/support/io.js';

/** ESC/CSI (clear the screen), OSC (set the title, ended by BEL), a lone CR, a bidi override, a one-byte C1 CSI. */
const HOSTILE = 'a\x1b[2Jb\x1b]0;x\x07c\rd\u202ee\x9bf';
/** The same, as the views show it. */
const SHOWN = 'a\\x1b[2Jb\\x1b]0;x\\x07c\\x0dd\\u202ee\\x9bf';

/** Any character a terminal acts on, but newline and tab. */
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** The sequences lvsc itself writes: SGR colours, and the progress line's redraw. */
const OWN = /\x1b\[[0-9;]*m|\r\x1b\[K/g;

function safe(t: ExecutionContext, text: string, shown = SHOWN): void {
  t.false(RAW.test(text.replace(OWN, '')), JSON.stringify(text));
  t.true(text.includes(shown), text);
}

function webPlan(): Plan {
  const path = 'examples/web-dr.lvs';
  const r = check([{ path, text: readFileSync(new URL(`../${path}`, import.meta.url), 'utf8') }]);
  if (!r.cluster) throw new Error(`${path} does not validate`);
  return planCluster(r.cluster).plan;
}

/** web1's sysctl read back as HOSTILE, its sysctl.d file live with HOSTILE in it, lb1's timeouts with a HOSTILE reason. */
function hostilePlan(): Plan {
  const plan = webPlan();
  const change = (s: Step): Step => {
    if (s.kind === 'sysctl' && s.label === 'net.ipv4.conf.all.arp_announce') return { ...s, action: 'update', before: HOSTILE };
    if (s.kind === 'file' && s.label === '/etc/sysctl.d/90-lvsc.conf') return { ...s, action: 'update', before: `# lvsc\n${HOSTILE}\n` };
    if (s.kind === 'timeouts') return { ...s, reason: HOSTILE };
    return s;
  };
  return { ...plan, hosts: plan.hosts.map((h) => ({ ...h, steps: h.steps.map(change) })) };
}

const UNREADABLE: Unreadable[] = [{ host: 'web3', message: `cannot read web3: ${HOSTILE}` }];

/** web1's first step failed with HOSTILE on stderr, over two lines. */
function results(plan: Plan): HostResult[] {
  const steps = plan.hosts.find((h) => h.host === 'web1')!.steps;
  return [
    {
      host: 'web1',
      status: 'failed',
      message: `step 1 failed: ${HOSTILE}`,
      steps: steps.map((step, i) => (i === 0 ? { step, status: 'failed' as const, message: `exit 1: ${HOSTILE}\nsecond line` } : { step, status: 'pending' as const })),
    },
  ];
}

function report(plan: Plan): ApplyReport {
  return {
    planned: { plan, totalHosts: 5, unreadable: UNREADABLE },
    results: results(plan),
    verified: false,
    remaining: plan,
    rereadFailed: [{ host: 'web1', message: `reset: ${HOSTILE}` }],
    ok: false,
  };
}

test('plan as text: a sysctl value, a step reason and a live file diff escaped (per line), colours kept', (t) => {
  for (const color of [false, true]) {
    const text = renderPlan(hostilePlan(), { color });
    safe(t, text);
    t.true(text.includes(`sysctl net.ipv4.conf.all.arp_announce ${SHOWN} → 2`), 'the sysctl value');
    t.true(text.includes(`timeouts tcp tcpfin udp  ${SHOWN}`), 'the reason');
    // The diff keeps its lines: the hostile line is one removed line of its own.
    t.true(text.includes(color ? `  \x1b[31m-${SHOWN}\x1b[0m\n` : `  -${SHOWN}\n`), 'the diff line');
    if (color) t.true(text.includes('\x1b[33m~\x1b[0m'), "lvsc's own colour");
  }
});

test('plan as text: an unreadable host\'s message escaped on stderr', (t) => {
  const { io, out } = streams();
  new TextPlanView(io, true).plan({ plan: webPlan(), totalHosts: 5, unreadable: UNREADABLE });
  safe(t, out.stderr);
  t.true(out.stderr.includes(`error: web3: cannot read web3: ${SHOWN}\n`));
});

test('apply as text: a failing command\'s stderr, host messages, the hosts that failed before and could not be read again, escaped', (t) => {
  const { io, out } = streams();
  new TextApplyView(io, true).result(report(hostilePlan()));
  safe(t, out.stdout);
  t.true(out.stdout.includes(`FAILED: exit 1: ${SHOWN}\nsecond line\n`), 'the stderr, its newline kept');
  t.true(out.stdout.includes(`  step 1 failed: ${SHOWN}\n`), "the host's message");
  t.true(out.stdout.includes(`web3: failed before apply, nothing ran: cannot read web3: ${SHOWN}\n`));
  t.true(out.stdout.includes(`web1: could not be read again: reset: ${SHOWN}\n`));
  safe(t, renderApplySummary(results(hostilePlan()), { color: true }));
});

test('progress: a failed step\'s message and a host that failed, escaped on a terminal and off it', (t) => {
  const step = hostilePlan().hosts.find((h) => h.host === 'lb1')!.steps.find((s) => s.kind === 'timeouts')!;
  for (const live of [false, true]) {
    let text = '';
    const progress = new ProgressView({ write: (s: string) => (text += s), isTTY: live }, { live, color: true });
    progress.begin('Reading live state');
    progress.fleet({ type: 'hosts', hosts: ['lb1', 'web1'] });
    progress.fleet({ type: 'failed', host: 'web1', message: HOSTILE });
    progress.end();
    progress.begin('Applying', ['lb1']);
    progress.apply({ type: 'step-start', host: 'lb1', step, index: 1, total: 1 } as never);
    progress.apply({ type: 'step-failed', host: 'lb1', step, message: `exit 1: ${HOSTILE}` } as never);
    progress.apply({ type: 'host-done', host: 'lb1', status: 'failed', message: HOSTILE } as never);
    progress.end();
    if (live) t.false(RAW.test(text.replace(OWN, '')), JSON.stringify(text));
    else {
      safe(t, text);
      t.true(text.includes(`web1: failed: ${SHOWN}\n`));
      t.true(text.includes(`lb1:   failed: exit 1: ${SHOWN}\n`));
      t.true(text.includes(`lb1: ~ timeouts tcp tcpfin udp  ${SHOWN}\n`));
    }
  }
});

test('diagnostics: the snippet line, the summary, detail and note quoting the file, escaped; the caret under the escaped text', (t) => {
  const path = 'hostile.lvs';
  // A lone CR ends a line in a cluster file (lang/source.ts), so the snippet line has every other one.
  const line = `host "${HOSTILE.replace('\r', '')}" {`;
  const text = `# x\n${line}\n}\n`;
  const start = text.indexOf('{');
  const d: Diagnostic = {
    severity: 'error',
    code: 'syntax',
    summary: `unexpected "${HOSTILE}"`,
    detail: `the name "${HOSTILE}" is not one`,
    subject: { file: path, start, end: start + 1 },
    notes: [{ message: `see "${HOSTILE}"` }],
  };
  for (const color of [false, true]) {
    const out = renderDiagnostic(d, indexSources([{ path, text }]), { color, width: 200 });
    safe(t, out);
    if (!color) {
      const lines = out.split('\n');
      const snippet = lines.findIndex((l) => l.startsWith('2 | '));
      t.is(lines[snippet], `2 | host "${SHOWN.replace('\\x0d', '')}" {`);
      t.is(lines[snippet + 1].indexOf('^'), lines[snippet].indexOf('{'), 'the caret under the brace');
      t.true(out.includes(`= detail: the name "${SHOWN}" is not one`));
      t.true(out.includes(`= note: see "${SHOWN}"`));
    } else t.true(out.includes('\x1b[1;31merror[syntax]\x1b[0m'), "lvsc's own colour");
  }
});

test('lab: what a server answered and the kernel string, escaped', (t) => {
  const requests = renderRequests([{ service: { method: 'dr', vip: '10.1.0.100', port: 80, serverPort: 80 }, servers: [HOSTILE, undefined] } as never]);
  safe(t, requests);
  t.true(requests.includes(`→ ${SHOWN} NO-ANSWER`));
  safe(t, renderLabStatus({ up: true, pid: 1, port: 2222, kernel: HOSTILE, uptimeSeconds: 3, bootMs: 1000, sshAnswers: true } as never));
});

test('the JSON views: no raw control character (C1, DEL and bidi too), and the text reads back unchanged', (t) => {
  const plan = hostilePlan();
  const docs: string[] = [];
  for (const write of [
    (io: ReturnType<typeof streams>['io']) => new JsonPlanView(io).plan({ plan, totalHosts: 5, unreadable: UNREADABLE }),
    (io: ReturnType<typeof streams>['io']) => new JsonApplyView(io).result(report(plan)),
    (io: ReturnType<typeof streams>['io']) =>
      new JsonValidateView(io.stdout).report({ diagnostics: [{ severity: 'error', code: 'syntax', summary: `${HOSTILE}\x7f\u2028\u2066` }], sources: indexSources([]) } as never),
  ]) {
    const { io, out } = streams();
    write(io);
    docs.push(out.stdout);
  }
  for (const doc of docs) {
    t.false(RAW.test(doc), doc);
    t.true(doc.includes('\\u001b[2J') && doc.includes('\\u009b') && doc.includes('\\u202e'), doc);
    t.notThrows(() => JSON.parse(doc));
  }
  t.is(JSON.parse(docs[2]).diagnostics[0].summary, `${HOSTILE}\x7f\u2028\u2066`, 'the same text, read back');
  t.true(JSON.parse(docs[0]).hosts.some((h: { steps: { before?: string }[] }) => h.steps.some((s) => s.before === HOSTILE)));
});

test('what stops a command (an option, a path it quotes) escaped, on stderr, in the text and the JSON views', (t) => {
  safe(t, usageLine(`unknown option --${HOSTILE}`));
  t.is(usageLine(`unknown option --${HOSTILE}`), `lvsc: unknown option --${SHOWN}\n`);
  const { io, out } = streams();
  new HumanCommandView(io, true).error(`cannot read ${HOSTILE}.lvs`);
  t.is(out.stderr, `lvsc: cannot read ${SHOWN}.lvs\n`);
  const json = streams();
  new JsonPlanView(json.io).error(`cannot read ${HOSTILE}.lvs`);
  t.is(json.out.stderr, `lvsc: cannot read ${SHOWN}.lvs\n`);
});
