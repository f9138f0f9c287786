/**
 * `lvsc plan`: what lvsc would change on the hosts. Against live hosts it
 * connects to every host in parallel over SSH, reads their facts, and prints
 * the per-host steps and file diffs; `--offline` plans against empty hosts
 * without connecting. The helpers here (the SSH and fleet options, reading the
 * live hosts) are shared with `lvsc apply`.
 */
import { openFleet, FleetError, type Fleet, type FleetOptions } from '../../agent/fleet.js';
import { MAX_OUTPUT_BYTES } from '../../agent/transport/ssh.js';
import type { Cluster } from '../../compiler/ir.js';
import { planCluster } from '../../compiler/compile.js';
import { isEmpty } from '../../compiler/plan.js';
import { suggest } from '../../lang/suggest.js';
import { COMMON_OPTIONS, parseCommandArgs, peekFlag } from '../args.js';
import { useColor, type Io, type Outcome } from '../io.js';
import { loadCluster } from '../load.js';
import { passphrasePrompt } from '../prompt.js';
import { JsonPlanView, TextPlanView } from '../views/plan.js';
import { ProgressView } from '../views/progress.js';
import type { CommandView, FactWarning, PlanView, Unreadable } from '../views/report.js';
import type { Command } from './command.js';

/** Options of every command that connects to hosts. */
export const LIVE_OPTIONS = {
  parallel: { type: 'string' },
  target: { type: 'string', multiple: true },
  'known-hosts': { type: 'string' },
  'ssh-config': { type: 'string' },
  'accept-new-host-keys': { type: 'boolean' },
  timeout: { type: 'string' },
  'max-output': { type: 'string' },
} as const;

const PARALLEL_HELP = `      --parallel N       hosts connected and read at once (default 10)`;
const TARGET_HELP = `      --target HOST      only this host and the hosts whose steps wait for its
                         (repeatable); dependencies on hosts left out are not waited for`;
/** The help of the options that connect, but --target (lvsc status reads every host). */
export const CONNECT_HELP = `${PARALLEL_HELP}
      --known-hosts FILE host keys to trust (default ~/.ssh/known_hosts)
      --accept-new-host-keys
                         add unknown host keys to known_hosts (OpenSSH accept-new);
                         a changed key is always refused
      --ssh-config FILE  ssh client config (default ~/.ssh/config)
      --timeout DUR      limit for connecting (per hop) and for each command
                         (default 10s to connect, 60s per command)
      --max-output SIZE  the most one command on a host may print, such as 200MiB
                         (default 64MiB); a host that prints more fails`;

export const LIVE_HELP = CONNECT_HELP.replace(PARALLEL_HELP, `${PARALLEL_HELP}\n${TARGET_HELP}`);

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...LIVE_OPTIONS,
  offline: { type: 'boolean' },
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
} as const;

/** `30s`, `2m`, `500ms`, `1h`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** `64MiB`, `64M`, `512KiB`, `512k`, `1GiB`, or a bare number of bytes → bytes (binary units). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?|b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * unit);
}

type LiveValues = {
  parallel?: string;
  target?: string[];
  'known-hosts'?: string;
  'ssh-config'?: string;
  'accept-new-host-keys'?: boolean;
  timeout?: string;
  'max-output'?: string;
};

/** The fleet options from the command line, or a message saying which one is wrong. */
export function fleetOptions(values: LiveValues, io: Io): { ok: true; options: FleetOptions } | { ok: false; message: string } {
  const parallel = values.parallel === undefined ? 10 : Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) return { ok: false, message: `--parallel ${values.parallel}: give a whole number of hosts, 1 or more` };
  const timeout = values.timeout === undefined ? undefined : parseDuration(values.timeout);
  if (values.timeout !== undefined && !timeout) return { ok: false, message: `--timeout ${values.timeout}: give a duration such as 30s or 2m` };
  const maxOutput = values['max-output'] === undefined ? undefined : parseSize(values['max-output']);
  if (values['max-output'] !== undefined && (maxOutput === undefined || maxOutput < 1024 || maxOutput > MAX_OUTPUT_BYTES)) {
    return { ok: false, message: `--max-output ${values['max-output']}: give a size from 1KiB to ${Math.floor(MAX_OUTPUT_BYTES / 1024 ** 2)}MiB, such as 200MiB` };
  }
  const resolvePath = (p: string | undefined) => (p === undefined ? undefined : p.startsWith('/') ? p : `${io.cwd}/${p}`);
  const knownHostsFile = resolvePath(values['known-hosts']);
  const passphrase = passphrasePrompt(io);
  const sshConfigFile = resolvePath(values['ssh-config']);
  return {
    ok: true,
    options: {
      parallel,
      ...(values.target?.length ? { targets: values.target } : {}),
      ssh: {
        ...(knownHostsFile ? { knownHostsFile } : {}),
        ...(sshConfigFile ? { sshConfigFile } : {}),
        ...(io.env.HOME ? { homeDir: io.env.HOME } : {}),
        agentSocket: io.env.SSH_AUTH_SOCK ?? '',
        acceptNewHostKeys: values['accept-new-host-keys'] === true,
        // Encrypted key files: asked for on a terminal, once per key for the whole run.
        ...(passphrase ? { passphrase } : {}),
        ...(timeout ? { connectTimeoutMs: timeout, commandTimeoutMs: timeout, keepaliveIntervalMs: Math.min(5_000, Math.max(500, Math.floor(timeout / 4))) } : {}),
        ...(maxOutput !== undefined ? { maxOutputBytes: maxOutput } : {}),
      },
    },
  };
}

/** Connects to and reads the run's hosts, showing progress on stderr (a live line on a terminal). */
export async function readLive(cluster: Cluster, options: FleetOptions, io: Io, json: boolean, view: CommandView, noColor: boolean): Promise<{ fleet: Fleet } | { outcome: Outcome }> {
  // A host name the cluster does not have is a mistake on the command line: said before anything connects.
  const names = cluster.hosts.map((h) => h.name);
  for (const target of options.targets ?? []) {
    if (names.includes(target)) continue;
    const near = suggest(target, names);
    return { outcome: fail(view, `--target ${target}: no such host in the cluster${near ? ` (did you mean ${near}?)` : ''}`) };
  }
  const progress = new ProgressView(io.stderr, { live: io.stderr.isTTY === true && !json, color: useColor(io.stderr, io.env, noColor) });
  // The fleet names the hosts it reads (not the jump-only ones).
  progress.begin('Reading live state');
  // While a passphrase is asked for, the progress line keeps off the question's line.
  const ask = options.ssh?.passphrase;
  const passphrase = ask
    ? async (keyFile: string) => {
        progress.hold();
        try {
          return await ask(keyFile);
        } finally {
          progress.release();
        }
      }
    : undefined;
  try {
    const fleet = await openFleet(cluster, { ...options, ...(passphrase ? { ssh: { ...options.ssh, passphrase } } : {}), onEvent: progress.fleet });
    progress.end();
    return { fleet };
  } catch (error) {
    progress.end();
    if (error instanceof FleetError) return { outcome: fail(view, error.message) };
    throw error;
  }
}

/** The warnings of the facts of the run's hosts that were read, host by host in the run's order. */
export function factWarningsOf(fleet: Fleet): FactWarning[] {
  return fleet.hosts.flatMap((host) => {
    const read = fleet.reads.get(host);
    return read?.ok ? read.facts.warnings.map((w) => ({ host, fact: w.fact, message: w.message })) : [];
  });
}

/** The hosts of the run that could not be read, then those `--target` would have brought along but could not read. */
export function unreadableOf(fleet: Fleet): Unreadable[] {
  return [...[...fleet.failed].map(([host, message]) => ({ host, message })), ...[...fleet.leftOut].map(([host, message]) => ({ host, message, leftOut: true as const }))];
}

export const planCommand: Command = {
  name: 'plan',
  help: `Usage: lvsc plan [--offline] [--json] [--strict] [options] FILES|DIRS...

Validates the cluster, connects to every host over SSH (in parallel), reads
its live state, and prints, host by host in the order apply runs them (real
servers first, then the directors), every step: + add, ~ change, - remove,
and the rendered files (/etc/ipvsadm.rules, /etc/sysctl.d, networkd units) as
unified diffs. --offline plans against empty hosts, without connecting.

Options:
      --offline          assume empty hosts; connect to nothing
      --json             the plan as JSON on stdout (schema in README.md)
      --strict           treat warnings as errors
${LIVE_HELP}
      --no-color         no colour (NO_COLOR in the environment does the same)
  -h, --help             show this help

Exit codes (as terraform plan -detailed-exitcode):
  0  no changes
  1  errors (in the files, on the command line, or a host that could not be read)
  2  changes to make
`,

  async run(args: readonly string[], io: Io): Promise<Outcome> {
    const json = peekFlag(args, OPTIONS, 'json');
    const view: PlanView = json ? new JsonPlanView(io) : new TextPlanView(io, peekFlag(args, OPTIONS, 'no-color'));
    const parsed = parseCommandArgs(args, OPTIONS);
    // A usage error exits 1 here: 2 means "changes" for plan.
    if (!parsed.ok) return fail(view, `${parsed.message} (see lvsc help plan)`);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    const live = fleetOptions(values, io);
    if (!live.ok) return fail(view, live.message);
    const loaded = await loadCluster(positionals, io, { strict: Boolean(values.strict), help: 'lvsc help plan', usage: 'failed' }, view);
    if ('outcome' in loaded) return loaded.outcome;

    if (values.offline) {
      const { plan } = planCluster(loaded.cluster);
      view.plan({ plan });
      return isEmpty(plan) ? 'ok' : 'changes';
    }

    const read = await readLive(loaded.cluster, live.options, io, json, view, peekFlag(args, OPTIONS, 'no-color'));
    if ('outcome' in read) return read.outcome;
    const { fleet } = read;
    try {
      view.plan({ plan: fleet.plan, totalHosts: fleet.hosts.length, unreadable: unreadableOf(fleet), warnings: factWarningsOf(fleet) });
      // A fault of the pair's VRRP (keepalived down, the VIPs on both directors or neither) is an error, not a change.
      if (fleet.failed.size || fleet.plan.faults?.length) return 'failed';
      return isEmpty(fleet.plan) ? 'ok' : 'changes';
    } finally {
      await fleet.close();
    }
  },
};

/** What stops the command before it starts: one line from the view, and exit 1. */
function fail(view: CommandView, message: string): Outcome {
  view.error(message);
  return 'failed';
}

export { fail as failWith };
