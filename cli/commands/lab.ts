/**
 * `lvsc lab ...`: the lab VM (lab/, a real IPVS kernel under qemu, its hosts
 * network namespaces behind a jump sshd) from lvsc itself. Each subcommand
 * calls lab/lab.ts and prints what it returns (cli/views/lab.ts); `demo`
 * boots the lab, runs lvsc plan and apply on its cluster file in-process, and
 * shows requests through every VIP. scripts/lab.ts (`npm run lab`) runs this.
 */
import { resolve } from 'node:path';
import { labDown, labExclusive, labHosts, labInstall, labRequests, labSegments, labSsh, labSshNames, labStatus, labUp, type LabOptions, type LabUp } from '../../lab/lab.js';
import { repoRoot } from '../../lab/paths.js';
import { suggest } from '../../lang/suggest.js';
import { COMMON_OPTIONS, parseCommandArgs, type OptionSpecs } from '../args.js';
import type { Io, Outcome } from '../io.js';
import { usageLine } from '../views/human.js';
import { demoHints, JsonLabView, renderHints, renderLabInstall, renderLabLog, renderLabUp, renderRequests, TextLabView, type LabView } from '../views/lab.js';
import { applyCommand } from './apply.js';
import type { Command } from './command.js';
import { planCommand } from './plan.js';

const HELP = `Usage: lvsc lab demo|up|down|status|hosts|ssh HOST [-- CMD...]|install [--json]

The lab: a small VM (qemu, no KVM needed) booting a real Debian kernel with
IPVS; each lab host is a network namespace in it with its own sshd, reached
through a jump sshd on 127.0.0.1:2222. examples/lab.lvs describes it as a
cluster with a DR, a NAT and a TUN service. The lab lives in .lab/ of the lvsc
checkout; installing its packages (qemu ...) needs root, the rest does not.

Subcommands:
  demo                  boot the lab (or reuse it), lvsc plan and apply its
                        cluster file, then send requests from the client
                        through each VIP and show which server answered
  up                    boot the lab (or reuse the running one), print what to try
  down                  stop the lab's VM
  status                up or down, qemu pid, port, uptime
  hosts                 the lab's hosts, their addresses and segments
  ssh HOST [-- CMD...]  a shell on a lab host (on a terminal), or CMD run there
  install               only install the packages (as root) and fetch the kernel

Options:
      --json             up, status, hosts: the result as JSON on stdout
      --no-color         no colour
  -h, --help             show this help

LVSC_LAB_KERNEL=6.12 (a series, newest, or a package name) boots another kernel.

Exit codes: 0 done, 1 failed (for ssh: the command failed), 2 usage error.
`;

type Sub = 'demo' | 'up' | 'down' | 'status' | 'hosts' | 'ssh' | 'install';
const SUBS: readonly Sub[] = ['demo', 'up', 'down', 'status', 'hosts', 'ssh', 'install'];
/** Subcommands whose result can be JSON. */
const JSON_SUBS: readonly Sub[] = ['up', 'status', 'hosts'];

/** Requests the demo sends through each VIP: two rounds of rr over two servers, of wrr 2:1, of lc. */
const DEMO_REQUESTS = 6;

export interface LabDeps {
  /** The checkout whose lab to use (default: the one lvsc runs from); tests point it at an empty directory. */
  readonly repo?: string;
  /** Takes the lab's hosts for the demo (default `labExclusive`); a test that holds them already passes its own. */
  readonly holdHosts?: (opts: LabOptions) => Promise<() => void>;
}

export function labCommand(deps: LabDeps = {}): Command {
  return {
    name: 'lab',
    help: HELP,
    run: (args, io) => runLab(args, io, deps),
  };
}

async function runLab(args: readonly string[], io: Io, deps: LabDeps): Promise<Outcome> {
  const { repo } = deps;
  const [first, ...rest] = args;
  if (first === '-h' || first === '--help' || first === 'help') {
    io.stdout.write(HELP);
    return 'ok';
  }
  if (first === undefined) return usage(io, `lab needs a subcommand: ${SUBS.join(', ')} (see lvsc help lab)`);
  const sub = SUBS.find((s) => s === first);
  if (!sub) {
    const near = first.startsWith('-') ? undefined : suggest(first, SUBS);
    return usage(io, `${first.startsWith('-') ? `unknown option ${first}` : `unknown lab subcommand "${first}"`}${near ? ` (did you mean ${near}?)` : ''} (see lvsc help lab)`);
  }

  // ssh passes everything after `--` to the host untouched.
  const dash = sub === 'ssh' ? rest.indexOf('--') : -1;
  const own = dash < 0 ? rest : rest.slice(0, dash);
  const remote = dash < 0 ? [] : rest.slice(dash + 1);
  if (sub === 'ssh') {
    // `lab ssh client curl -s URL`: a command without `--`, whose options would be taken for lvsc's.
    const hostAt = own.findIndex((a) => !a.startsWith('-'));
    const extra = hostAt < 0 ? [] : own.slice(hostAt + 1).filter((a) => !['-h', '--help', '--no-color'].includes(a));
    if (extra.length) return usage(io, `put the command after --: lvsc lab ssh ${own[hostAt]} -- ${extra.join(' ')}`);
  }
  const options: OptionSpecs = JSON_SUBS.includes(sub) ? { ...COMMON_OPTIONS, json: { type: 'boolean' } } : COMMON_OPTIONS;
  const parsed = parseCommandArgs(own, options);
  if (!parsed.ok) return usage(io, `${parsed.message} (see lvsc help lab)`);
  if (parsed.values.help) {
    io.stdout.write(HELP);
    return 'ok';
  }
  const { positionals } = parsed;
  const view: LabView = parsed.values.json === true ? new JsonLabView(io) : new TextLabView(io);
  const ctx: Context = { io, view, repo: repo ?? repoRoot(), holdHosts: deps.holdHosts ?? labExclusive, opts: { ...(repo ? { repo } : {}), log: (line) => io.stderr.write(renderLabLog(line)) } };

  if (sub === 'ssh') {
    const [host] = positionals;
    if (!host) return usage(io, 'lab ssh needs a host: lvsc lab ssh HOST [-- CMD...] (see lvsc help lab)');
    if (!labSshNames().includes(host)) {
      const near = suggest(host, labSshNames());
      return usage(io, `no lab host ${host}${near ? ` (did you mean ${near}?)` : `; the hosts: ${labSshNames().join(', ')}`}`);
    }
    if (!remote.length && !(io.stdin?.isTTY && io.stdout.isTTY)) return usage(io, `lab ssh ${host} opens a shell only on a terminal; give a command: lvsc lab ssh ${host} -- CMD...`);
    return attempt(ctx, sub, () => ssh(ctx, host, remote));
  }
  if (positionals.length) return usage(io, `lab ${sub} takes no arguments, not ${positionals.join(' ')} (see lvsc help lab)`);
  return attempt(ctx, sub, () => SUBCOMMANDS[sub](ctx));
}

interface Context {
  readonly io: Io;
  /** How up, status and hosts show their result (text, or --json). */
  readonly view: LabView;
  /** The checkout the lab belongs to. */
  readonly repo: string;
  readonly holdHosts: NonNullable<LabDeps['holdHosts']>;
  readonly opts: LabOptions;
}

const SUBCOMMANDS: Record<Exclude<Sub, 'ssh'>, (ctx: Context) => Promise<Outcome>> = {
  async up({ view, opts }) {
    view.up(await labUp(opts));
    return 'ok';
  },
  demo,
  async down({ opts }) {
    // lab.ts says what it stopped (or that nothing ran) through the log.
    await labDown(opts);
    return 'ok';
  },
  async status({ view, opts }) {
    view.status(await labStatus(opts));
    return 'ok';
  },
  async hosts({ view }) {
    view.hosts(labHosts(), labSegments());
    return 'ok';
  },
  async install({ io, opts }) {
    io.stdout.write(renderLabInstall(await labInstall(opts)));
    return 'ok';
  },
};

async function ssh({ io, opts }: Context, host: string, command: readonly string[]): Promise<Outcome> {
  if (!(await labStatus(opts)).up) return failed(io, 'the lab is not running: boot it first (lvsc lab up)');
  // A shell takes over the terminal; a command's output comes back through lvsc's streams.
  const code = command.length ? await labSsh(host, command, { ...opts, output: io, stdin: io.stdin === process.stdin }) : await labSsh(host, [], opts);
  return code === 0 ? 'ok' : 'failed';
}

/**
 * `lab demo`: the lab up, then what a newcomer would type (lvsc plan, lvsc
 * apply --yes, requests through the VIPs) run in-process with its output
 * shown, holding the lab's hosts (`labExclusive`) so no test changes them
 * meanwhile. The services stay for the user to try; lab down ends them.
 */
async function demo({ io, opts, repo, holdHosts }: Context): Promise<Outcome> {
  if (resolve(io.cwd) !== resolve(repo)) {
    return failed(io, `lab demo runs in the checkout the lab belongs to (its cluster file names the key .lab/id_ed25519 relative to it): cd ${repo} first`);
  }
  const release = await holdHosts(opts);
  try {
    const up = await labUp(opts);
    io.stdout.write(renderLabUp(up, io.cwd));
    const c = up.commands;
    for (const [command, line, fine] of [
      [planCommand, c.plan, ['ok', 'changes']],
      [applyCommand, `${c.apply} --yes`, ['ok']],
    ] as const) {
      io.stdout.write(`\n$ ${line}\n`);
      const outcome = await command.run(argvOf(up, line).slice(1), io);
      if (!(fine as readonly Outcome[]).includes(outcome)) return failed(io, `lab demo stopped: lvsc ${command.name} failed (above); the lab stays up (lvsc lab down stops it)`);
    }

    io.stdout.write(`\n$ ${c.lvsc} lab ssh client -- curl -s http://VIP/   # ${DEMO_REQUESTS} times through each VIP; who answered:\n`);
    const results = await labRequests(DEMO_REQUESTS, opts);
    io.stdout.write(renderRequests(results));
    const silent = results.filter((r) => r.servers.some((s) => s === undefined)).map((r) => `${r.service.method.toUpperCase()} ${r.service.vip}`);
    if (silent.length) return failed(io, `lab demo: requests through ${silent.join(', ')} went unanswered (lvsc lab ssh lb1 -- ipvsadm -Ln shows the director's table)`);

    io.stdout.write(`\n${renderHints('The lab balances three services now. Try', demoHints(up), up, io.cwd)}`);
    return 'ok';
  } finally {
    release();
  }
}

/** The argv of one of the lab's lvsc commands (its paths have no spaces: they are relative to the checkout). */
function argvOf(up: LabUp, line: string): string[] {
  return line.slice(up.commands.lvsc.length + 1).split(' ');
}

/** Runs a subcommand; an error from the lab (no root for apt, a boot timeout...) fails it with its message. */
async function attempt(ctx: Context, sub: Sub, fn: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await fn();
  } catch (e) {
    // A programming error is a bug: main reports it as one.
    if (!(e instanceof Error) || e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError) throw e;
    return failed(ctx.io, `lab ${sub}: ${e.message}`);
  }
}

function usage(io: Io, message: string): Outcome {
  io.stderr.write(usageLine(message));
  return 'usage';
}

function failed(io: Io, message: string): Outcome {
  io.stderr.write(usageLine(message));
  return 'failed';
}
