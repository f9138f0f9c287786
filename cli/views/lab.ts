/**
 * `lvsc lab ...` for people: what lab/lab.ts returns (the booted lab, its
 * status, its hosts, the requests sent through its VIPs) as text, pure
 * functions from data to text; and the views of `lab up`, `status` and
 * `hosts`, text or (`--json`) the same data as one document.
 */
import { relative } from 'node:path';
import type { LabCommands, LabHostInfo, LabRequests, LabStatus, LabUp } from '../../lab/lab.js';
import { printable } from '../../lang/printable.js';
import type { Io } from '../io.js';
import { document } from './json.js';

type Segments = readonly { readonly name: string; readonly network: string; readonly jump: string }[];

/** What `lab up`, `lab status` and `lab hosts` show. */
export interface LabView {
  up(up: LabUp): void;
  status(status: LabStatus): void;
  hosts(hosts: readonly LabHostInfo[], segments: Segments): void;
}

export class TextLabView implements LabView {
  constructor(private readonly io: Pick<Io, 'stdout' | 'cwd'>) {}

  up(up: LabUp): void {
    this.io.stdout.write(`${renderLabUp(up, this.io.cwd)}\n${renderHints('Try', upHints(up), up, this.io.cwd)}`);
  }

  status(status: LabStatus): void {
    this.io.stdout.write(renderLabStatus(status));
  }

  hosts(hosts: readonly LabHostInfo[], segments: Segments): void {
    this.io.stdout.write(renderLabHosts(hosts, segments));
  }
}

export class JsonLabView implements LabView {
  constructor(private readonly io: Pick<Io, 'stdout'>) {}

  up(up: LabUp): void {
    this.io.stdout.write(document(up));
  }

  status(status: LabStatus): void {
    this.io.stdout.write(document(status));
  }

  hosts(hosts: readonly LabHostInfo[], segments: Segments): void {
    this.io.stdout.write(document({ hosts, segments }));
  }
}

/** A path as the user can type it from `cwd`: relative below it (or straight above it, `..`), else absolute. */
function shown(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && (!rel.startsWith('..') || /^\.\.(\/\.\.)*$/.test(rel)) ? rel : path;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A line of lab/lab.ts's progress log, as written on stderr. It carries bytes from elsewhere (the guest's
 * ready line from its serial console, the lab's state file), so they are escaped.
 */
export function renderLabLog(line: string): string {
  return `lab: ${printable(line)}\n`;
}

/** What `lab install` did: the packages it installed, and the kernel it cached (named by apt's lists or the cache). */
export function renderLabInstall(result: { readonly installed: readonly string[]; readonly kernel: string }): string {
  const installed = result.installed.length ? `installed: ${result.installed.map((p) => printable(p)).join(' ')}` : 'every package was installed already';
  return `${installed}; kernel ${printable(result.kernel)} is cached\n`;
}

/** What `lab up` booted or found: one line for the VM, then the files lvsc uses with it. */
export function renderLabUp(up: LabUp, cwd: string): string {
  const how = up.reused ? 'already running' : `booted in ${seconds(up.bootMs)}`;
  return [
    `lab is up (${how}): qemu pid ${up.pid}, kernel ${printable(up.kernel)}, jump host root@127.0.0.1:${up.port}`,
    ...(up.installed.length ? [`installed: ${up.installed.map((p) => printable(p)).join(' ')}`] : []),
    `cluster file: ${shown(up.clusterFile, cwd)}${up.clusterFileWritten ? ' (written)' : ''}`,
    `ssh config:   ${shown(up.sshConfig, cwd)}`,
    '',
  ].join('\n');
}

/** A command to suggest, and what it does. */
export interface Hint {
  readonly command: string;
  readonly about: string;
}

/** A hint per command of the lab: which one, and what it does there. */
type HintList = readonly (readonly [keyof LabCommands, string])[];

/** What `lab up` suggests: plan, apply, a request, or all of it at once; then down. */
const UP_HINTS: HintList = [
  ['plan', "what lvsc would change on the lab's hosts"],
  ['apply', 'make those changes (it asks first)'],
  ['request', 'then a request from the client through the DR VIP'],
  ['demo', 'or all three at once, with requests through every VIP'],
  ['down', 'stop the lab'],
];

/** What the demo suggests once the services answer. */
const DEMO_HINTS: HintList = [
  ['request', 'another request through the DR VIP'],
  ['table', "the director's IPVS table and its connections"],
  ['plan', 'no changes now: the hosts match the file'],
  ['down', 'stop the lab (the end-to-end tests need a fresh one)'],
];

export function upHints(up: LabUp): Hint[] {
  return UP_HINTS.map(([name, about]) => ({ command: up.commands[name], about }));
}

export function demoHints(up: LabUp): Hint[] {
  return DEMO_HINTS.map(([name, about]) => ({ command: up.commands[name], about }));
}

/**
 * The hints under a title, comments aligned; they are typed in the lab's
 * checkout, so a `cd` there comes first when the user is elsewhere.
 */
export function renderHints(title: string, hints: readonly Hint[], up: Pick<LabUp, 'repo' | 'commands'>, cwd: string): string {
  const all = relative(cwd, up.repo) ? [{ command: `cd ${shown(up.repo, cwd)}`, about: 'these commands run in the checkout the lab belongs to' }, ...hints] : hints;
  const width = Math.max(...all.map((h) => h.command.length));
  const lines = all.map((h) => `  ${h.command.padEnd(width)}   # ${h.about}`);
  return `${title} (${up.commands.lvsc} is lvsc here; \`npm link\` puts lvsc on your PATH):\n${lines.join('\n')}\n`;
}

export function renderLabStatus(s: LabStatus): string {
  if (!s.up) return 'lab is down\n';
  if (s.port === undefined) return `lab qemu ${s.pid} runs, but .lab/state.json does not describe it (lvsc lab down, then lvsc lab up)\n`;
  return `lab is up: qemu pid ${s.pid}, port ${s.port}, kernel ${printable(String(s.kernel))}, up ${s.uptimeSeconds} s, booted in ${seconds(s.bootMs ?? 0)}, ssh ${s.sshAnswers ? 'answers' : 'does NOT answer'}\n`;
}

/** The hosts as a table (one row per interface), then the segments. */
export function renderLabHosts(hosts: readonly LabHostInfo[], segments: Segments): string {
  const rows = hosts.flatMap((h) => h.interfaces.map((i, n) => [n ? '' : [h.name, ...h.aliases].join('/'), n ? '' : h.role, `${i.dev} ${i.cidr}`, i.segment, n ? '' : (h.gateway ?? '-')]));
  const header = ['host', 'role', 'interface', 'segment', 'gateway'];
  const widths = header.map((_, c) => Math.max(header[c].length, ...rows.map((r) => r[c].length)));
  const table = [header, ...rows].map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  const segs = segments.map((s) => `  ${s.name.padEnd(8)} ${s.network.padEnd(13)} jump ${s.jump}`);
  return [...table, '', 'segments (bridges in the VM; the jump host has a leg on each):', ...segs, ''].join('\n');
}

/** One line per service: its method and VIP, then which server answered each request, in order. */
export function renderRequests(results: readonly LabRequests[]): string {
  const rows = results.map(({ service: s, servers }) => {
    const where = `${s.method.toUpperCase()} ${s.vip}:${s.port}`;
    const remap = s.serverPort !== s.port ? `   (the servers answer on ${s.serverPort})` : '';
    // The names are what the servers answered: escaped, a server cannot drive the terminal.
    return [where, `${servers.map((name) => (name === undefined ? 'NO-ANSWER' : printable(name))).join(' ')}${remap}`];
  });
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([where, answers]) => `  ${where.padEnd(width)}  → ${answers}`).join('\n') + '\n';
}
