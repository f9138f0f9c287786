/**
 * Progress while lvsc talks to hosts, and the apply summary. On a terminal a
 * single live status line (host ✓/✗/…) is redrawn in place; elsewhere (CI,
 * a pipe) each event is one plain line. Subscribes to the fleet's and apply's
 * events; the summary is a pure function of apply's results.
 */
import type { ApplyEvent, HostResult, StepStatus } from '../../agent/apply.js';
import type { FleetEvent } from '../../agent/fleet.js';
import { describeHolder } from '../../agent/lock.js';
import { ACTION_SYMBOL } from '../../compiler/plan.js';
import { printable } from '../../lang/printable.js';
import type { Writer } from '../io.js';
import { sgr } from './ansi.js';
import { stepLine } from './plan-text.js';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export class ProgressView {
  private readonly status = new Map<string, string>();
  private readonly paint: ReturnType<typeof sgr>;
  private title = '';
  private started = Date.now();
  private drawn = false;
  /** Questions open at the terminal (a passphrase): nothing is drawn over them; plain lines wait. */
  private holds = 0;
  private held: string[] = [];

  constructor(
    private readonly out: Writer,
    private readonly options: { live: boolean; color: boolean },
  ) {
    this.paint = sgr(options.color);
  }

  /** A new stage ("Reading live state", "Applying"), with the hosts in it (or later, by `hosts()`). */
  begin(title: string, hosts?: readonly string[]): void {
    this.title = title;
    this.status.clear();
    this.started = Date.now();
    if (hosts) this.hosts(hosts);
  }

  /** The hosts of the stage, each pending. */
  hosts(hosts: readonly string[]): void {
    for (const h of hosts) this.status.set(h, '·');
    if (!this.options.live) this.write(`${this.title}: ${hosts.length} host${hosts.length === 1 ? '' : 's'}\n`);
    else this.draw();
  }

  /** Ends the stage: the live line stays with the elapsed time. */
  end(): void {
    if (this.options.live) {
      this.draw(`   (${this.status.size} hosts, ${seconds(Date.now() - this.started)})`);
      this.out.write('\n');
      this.drawn = false;
    } else this.out.write(`${this.title}: finished in ${seconds(Date.now() - this.started)}\n`);
  }

  /** A question is about to be asked on the terminal: stop drawing until `release()`. */
  hold(): void {
    if (this.holds++ === 0 && this.options.live && this.drawn) {
      // The question goes on a line of its own; the status line is drawn afresh afterwards.
      this.out.write('\n');
      this.drawn = false;
    }
  }

  release(): void {
    if (this.holds === 0 || --this.holds > 0) return;
    if (this.options.live) this.draw();
    else for (const line of this.held.splice(0)) this.out.write(line);
  }

  readonly fleet = (e: FleetEvent): void => {
    const ok = this.paint('32')('✓');
    const bad = this.paint('31')('✗');
    if (e.type === 'hosts') this.hosts(e.hosts);
    else if (e.type === 'connecting') this.set(e.host, '…', `${e.host}: connecting`);
    else if (e.type === 'locking') this.set(e.host, '…', `${e.host}: taking the lvsc lock`);
    else if (e.type === 'broke') this.set(e.host, '…', `${e.host}: broke the lvsc lock of ${describeHolder(e.holder)}`);
    else if (e.type === 'reading') this.set(e.host, '…', `${e.host}: reading facts`);
    else if (e.type === 'read') this.set(e.host, ok, `${e.host}: read (${seconds(e.ms)})`);
    else this.set(e.host, bad, `${e.host}: failed: ${e.message}`);
  };

  readonly apply = (e: ApplyEvent): void => {
    const ok = this.paint('32')('✓');
    const bad = this.paint('31')('✗');
    switch (e.type) {
      case 'host-start':
        this.set(e.host, `0/${e.steps}`, `${e.host}: ${e.steps} step${e.steps === 1 ? '' : 's'} to run`);
        break;
      case 'waiting':
        this.set(e.host, printable(`waits for ${e.on.join(', ')}`), `${e.host}: ${e.phase} waits for ${e.on.join(', ')}`);
        break;
      case 'step-start':
        this.set(e.host, `${e.index}/${e.total}`, `${e.host}: ${ACTION_SYMBOL[e.step.action]} ${stepLine(e.step)}`);
        break;
      case 'step-done':
        if (!this.options.live) this.write(`${e.host}:   done\n`);
        break;
      case 'step-failed':
        this.set(e.host, bad, `${e.host}:   failed: ${e.message}`);
        break;
      case 'drain':
        this.set(e.host, `draining ${seconds(e.remainingMs)}${e.active !== undefined ? `, ${e.active} active` : ''}`, `${e.host}: draining, ${seconds(e.remainingMs)} left${e.active !== undefined ? `, ${e.active} active connection(s)` : ''}`);
        break;
      case 'host-done':
        this.set(e.host, e.status === 'done' || e.status === 'unchanged' ? ok : bad, `${e.host}: ${e.status}${e.message ? `: ${e.message}` : ''}`);
        break;
    }
  };

  /** `line` may quote a host (a failing command's stderr): escaped here, before it is written. */
  private set(host: string, short: string, line: string): void {
    this.status.set(host, short);
    if (this.options.live) this.draw();
    else this.write(`${printable(line, { newlines: true })}\n`);
  }

  private write(text: string): void {
    if (this.holds) this.held.push(text);
    else this.out.write(text);
  }

  private draw(suffix = ''): void {
    if (this.holds) return;
    const parts = [...this.status].map(([h, s]) => `${printable(h)} ${s}`);
    this.out.write(`${this.drawn ? '\r\x1b[K' : ''}${this.title}: ${parts.join('  ')}${suffix}`);
    this.drawn = true;
  }
}

const MARK: Record<StepStatus, string> = { done: '✓', failed: '✗', pending: '·', skipped: '-' };
const WORD: Record<StepStatus, string> = { done: 'done', failed: 'FAILED', pending: 'not run', skipped: 'skipped' };

/** Which steps ran on which host, what failed and why, and what did not run. */
export function renderApplySummary(results: readonly HostResult[], options: { color: boolean }): string {
  const paint = sgr(options.color);
  const colour: Record<StepStatus, (s: string) => string> = { done: paint('32'), failed: paint('31'), pending: paint('2'), skipped: paint('33') };
  const out: string[] = [];
  for (const h of results) {
    if (h.status === 'unchanged') continue;
    const ran = h.steps.filter((s) => s.status === 'done').length;
    out.push(paint('1')(`${printable(h.host)}: ${h.status}, ${ran} of ${h.steps.length} step${h.steps.length === 1 ? '' : 's'} ran`));
    if (h.message && h.status !== 'done') out.push(`  ${printable(h.message, { newlines: true })}`);
    for (const s of h.steps) {
      out.push(`  ${colour[s.status](MARK[s.status])} ${ACTION_SYMBOL[s.step.action]} ${stepLine(s.step)}  ${colour[s.status](WORD[s.status])}${s.message ? `: ${printable(s.message, { newlines: true })}` : ''}`);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

export function applyResultsJson(results: readonly HostResult[]): object[] {
  return results.map((h) => ({
    host: h.host,
    status: h.status,
    ...(h.message ? { message: h.message } : {}),
    steps: h.steps.map((s) => ({ action: s.step.action, kind: s.step.kind, key: s.step.label, id: s.step.id, phase: s.step.phase, status: s.status, ...(s.message ? { message: s.message } : {}) })),
  }));
}
