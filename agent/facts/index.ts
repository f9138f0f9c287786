/**
 * Every fact a host needs, read in ONE round trip: one `sh -c` script runs
 * each fact's command in turn and frames its output, and `splitBatch` cuts the
 * output back into one `RawOutput` per fact, which that fact's own pure parser
 * reads (`readFact`). Nothing about a fact's parsing lives here.
 *
 * The frame of each section (NONCE is random per run, so no output can forge
 * a marker, whatever a file or a rule holds):
 *
 *   :::lvsc-facts NONCE begin NAME\n
 *   <the command's stdout, byte for byte>
 *   \n:::lvsc-facts NONCE status NAME <exit status>\n
 *   <the command's stderr, trailing newlines trimmed>
 *   \n:::lvsc-facts NONCE end NAME\n
 *
 * and `:::lvsc-facts NONCE done` after the last section, so output cut short
 * is detected. Each command's stdin is /dev/null.
 *
 * Each program is run by its absolute path, found by walking PATH in the
 * script (`lvsc_path`, which sets `lvsc_prog` rather than print it: no
 * subshell, whose fork costs an emulated host tens of milliseconds a fact):
 * busybox `sh` runs its own applet of a name before
 * anything on PATH (its `ip` has no `-j`), and an absolute path bypasses that.
 * A program that is not found gets status 127, like a shell's "command not
 * found", so `readFact` reports "<tool> is not installed". The system's own
 * directories come first on PATH (Debian's root PATH order; a non-login shell
 * may lack /usr/sbin, where ipvsadm lives, and a development PATH may hold an
 * unrelated `nft` from node_modules/.bin), and LC_ALL=C keeps messages in
 * the English the parsers match.
 */
import { randomBytes } from 'node:crypto';
import { cmd, commandLine, type Command } from '../../compiler/command.js';
import { NO_OWNERSHIP, type Ownership } from '../../compiler/diff.js';
import { MANIFEST_PATH } from '../../compiler/manifest.js';
import { emptyHostState, type HostState } from '../../compiler/state.js';
import { addressesFact } from './addresses.js';
import { connectionsFact, type ServiceConnections } from './connections.js';
import { rateFact, statsFact, type ServiceRates, type ServiceTotals } from './counters.js';
import { daemonFact } from './daemon.js';
import { readFact, type Fact, type FactError, type FactResult, type RawOutput } from './fact.js';
import { filesFact } from './files.js';
import { clockFact, keepalivedFact, settledHealth, type KeepalivedFacts } from './keepalived.js';
import { manifestFact, ownershipOf, type ManifestRead } from './manifest.js';
import { ipvsFact } from './ipvs.js';
import { fouFact, linksFact } from './links.js';
import { modulesFact } from './modules.js';
import { nftFact } from './nft.js';
import { routes6Fact, routesFact } from './routes.js';
import { sysctlFact } from './sysctl.js';
import { mergeThresholds, thresholdsFact } from './thresholds.js';
import { timeoutsFact } from './timeouts.js';
import { unitsFact } from './units.js';

export * from './fact.js';

/** What to read on one host. */
export interface FactRequest {
  /** A declared director: its IPVS table, timeouts and sync daemons are read too. */
  readonly director: boolean;
  /** The host must get nftables rules (fwmark services): a missing `nft` is then an error, elsewhere it means no rules. */
  readonly needsNft?: boolean;
  /** sysctl keys (or subtrees) to read: the desired ones and those lvsc set before. */
  readonly sysctlKeys: readonly string[];
  /** Files whose content to read: the ones lvsc renders. */
  readonly files: readonly string[];
  /** Shell patterns of files to read too, whatever their names: every file lvsc may have rendered before. */
  readonly fileGlobs?: readonly string[];
  /** Where lvsc's manifest is (default MANIFEST_PATH); read by the manifest fact, not the files fact. */
  readonly manifest?: string;
  /** A director where keepalived runs checked services: keepalived's state and its view of the servers are read too. */
  readonly keepalived?: boolean;
  /** systemd units lvsc needs enabled at boot: whether each is (compiler/boot.ts). */
  readonly units?: readonly string[];
  /** A director's traffic figures for `lvsc status`: connections (-Ln), totals (--stats) and rates (--rate), in `results`. */
  readonly counters?: boolean;
}

/** The facts for a request, in the order the batch runs them. */
export function hostFacts(request: FactRequest): Fact<unknown>[] {
  // Modules first: later commands may make the kernel load one (`ip fou show` asks for the fou
  // netlink family, nft for nf_tables), and the modules fact must see the host as it was.
  const facts: Fact<unknown>[] = [modulesFact];
  // keepalived's health records are read after the table, and the clock before it: a record that changed meanwhile is left out.
  if (request.director && request.keepalived) facts.push(clockFact);
  if (request.director) facts.push(ipvsFact, thresholdsFact, timeoutsFact, daemonFact);
  if (request.director && request.keepalived) facts.push(keepalivedFact());
  if (request.director && request.counters) facts.push(connectionsFact, statsFact, rateFact);
  facts.push(addressesFact, routesFact, routes6Fact, linksFact, fouFact, nftFact);
  if (request.units?.length) facts.push(unitsFact(request.units));
  if (request.sysctlKeys.length) facts.push(sysctlFact(request.sysctlKeys));
  const manifest = request.manifest ?? MANIFEST_PATH;
  const files = request.files.filter((f) => f !== manifest);
  if (files.length || request.fileGlobs?.length) facts.push(filesFact(files, request.fileGlobs));
  facts.push(manifestFact(manifest));
  return facts;
}

const NAME = /^[a-z0-9-]+$/;
const NONCE = /^[A-Za-z0-9]{8,64}$/;

/** A fresh random nonce for one batch. */
export function newNonce(): string {
  return randomBytes(12).toString('hex');
}

function marker(nonce: string): string {
  return `:::lvsc-facts ${nonce}`;
}

const PRELUDE = `set -f
LC_ALL=C; export LC_ALL
PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\${PATH:+:$PATH}"; export PATH
exec 3>&1
lvsc_path() {
  case $1 in */*) if [ -x "$1" ]; then lvsc_prog=$1; return 0; fi; return 1 ;; esac
  lvsc_ifs=$IFS; IFS=:
  for lvsc_d in $PATH; do
    if [ -f "\${lvsc_d:-.}/$1" ] && [ -x "\${lvsc_d:-.}/$1" ]; then IFS=$lvsc_ifs; lvsc_prog=\${lvsc_d:-.}/$1; return 0; fi
  done
  IFS=$lvsc_ifs; return 1
}
lvsc_section() {
  lvsc_name=$1; shift
  printf '%s begin %s\\n' "$lvsc_m" "$lvsc_name"
  if lvsc_path "$1"; then
    shift
    lvsc_err=$("$lvsc_prog" "$@" </dev/null 2>&1 1>&3 3>&-)
    lvsc_status=$?
  else
    lvsc_err="$1: command not found"
    lvsc_status=127
  fi
  printf '\\n%s status %s %s\\n%s\\n%s end %s\\n' "$lvsc_m" "$lvsc_name" "$lvsc_status" "$lvsc_err" "$lvsc_m" "$lvsc_name"
}
`;

/** The script that runs every fact's command once, framed (see the module comment). Pure. */
export function batchScript(facts: readonly Fact<unknown>[], nonce: string): string {
  if (!NONCE.test(nonce)) throw new Error(`bug: batch nonce ${JSON.stringify(nonce)} is not 8-64 letters or digits`);
  const names = new Set<string>();
  const lines = [PRELUDE + `lvsc_m='${marker(nonce)}'`];
  for (const fact of facts) {
    if (!NAME.test(fact.name) || names.has(fact.name)) throw new Error(`bug: fact name ${fact.name} is not unique or not [a-z0-9-]`);
    names.add(fact.name);
    const command = fact.command();
    if (command.stdin !== undefined) throw new Error(`bug: fact ${fact.name} reads stdin, which a batch cannot give it`);
    lines.push(`lvsc_section ${fact.name} ${commandLine(command)}`);
  }
  lines.push(`printf '%s done\\n' "$lvsc_m"`);
  return lines.join('\n') + '\n';
}

/** The one command a transport runs for the whole batch. */
export function batchCommand(facts: readonly Fact<unknown>[], nonce: string): Command {
  return cmd('sh', '-c', batchScript(facts, nonce));
}

export interface SplitBatch {
  /** Per fact name, what its command printed and returned. */
  readonly outputs: Map<string, RawOutput>;
  /** Facts with no complete section, and a cut-short batch. */
  readonly problems: string[];
}

/** Cut a batch's stdout back into each fact's output. Pure and linear. */
export function splitBatch(stdout: string, names: readonly string[], nonce: string): SplitBatch {
  const m = marker(nonce);
  const outputs = new Map<string, RawOutput>();
  const problems: string[] = [];
  let pos = 0;
  for (const name of names) {
    const begin = `${m} begin ${name}\n`;
    const start = stdout.indexOf(begin, pos);
    if (start < 0) {
      problems.push(`no output for fact ${name}: the batch was cut short`);
      continue;
    }
    const bodyStart = start + begin.length;
    const statusMark = `\n${m} status ${name} `;
    const statusAt = stdout.indexOf(statusMark, bodyStart);
    const statusLineEnd = statusAt < 0 ? -1 : stdout.indexOf('\n', statusAt + 1);
    const endAt = statusLineEnd < 0 ? -1 : stdout.indexOf(`\n${m} end ${name}\n`, statusLineEnd + 1);
    if (endAt < 0) {
      problems.push(`the output of fact ${name} was cut short`);
      break;
    }
    pos = endAt + 1;
    const statusText = stdout.slice(statusAt + statusMark.length, statusLineEnd);
    if (!/^\d+$/.test(statusText)) {
      problems.push(`fact ${name}: unreadable exit status ${JSON.stringify(statusText)}`);
      continue;
    }
    outputs.set(name, { stdout: stdout.slice(bodyStart, statusAt), stderr: stdout.slice(statusLineEnd + 1, endAt), status: Number(statusText) });
  }
  if (!stdout.includes(`${m} done\n`, pos)) problems.push('the batch did not finish (no final marker): output cut short or the script was killed');
  return { outputs, problems };
}

export interface FactProblem {
  readonly fact: string;
  readonly message: string;
}

export interface HostFacts {
  /**
   * The live state. Where a fact failed its part holds the empty value, so a
   * caller must look at `errors` before diffing: planning against a fact that
   * could not be read would "create" what is already there.
   */
  readonly state: HostState;
  /** Facts that could not be read: the tool is missing, the kernel lacks the feature, the command failed. */
  readonly errors: readonly (FactProblem & { readonly error?: FactError })[];
  /** Facts that were read, with lines that were skipped or values that are not there. */
  readonly warnings: readonly FactProblem[];
  /** What lvsc owns on the host: its manifest's record, or (none yet) what its rendered files say. */
  readonly ownership: Ownership;
  /** Each fact's own result, by name (for views and debugging). */
  readonly results: ReadonlyMap<string, FactResult<unknown>>;
  /** keepalived on a director that runs it (FactRequest.keepalived): installed, running, and its view of each checked server. */
  readonly keepalived?: KeepalivedFacts;
  /** A director's traffic figures (FactRequest.counters). */
  readonly counters?: DirectorCounters;
}

/** What `lvsc status` shows of a director's table beyond its configuration. */
export interface DirectorCounters {
  readonly connections: readonly ServiceConnections[];
  readonly totals: readonly ServiceTotals[];
  readonly rates: readonly ServiceRates[];
}

/**
 * The facts' results → a host's live state and what lvsc owns there. On a
 * host that is not a director the IPVS parts stay null (lvsc neither reads
 * nor changes its table). A missing `nft` counts as no rules (without nft
 * lvsc can never have made its table there), and is an error only where the
 * host needs rules now. The manifest's text is one of the host's files (the
 * diff renders it like the others); without a manifest (or without the
 * manifest fact in the batch) ownership is what lvsc's rendered files say.
 */
export function assembleHostState(results: ReadonlyMap<string, FactResult<unknown>>, request: FactRequest, problems: readonly string[] = []): HostFacts {
  const errors: (FactProblem & { error?: FactError })[] = problems.map((message) => ({ fact: 'batch', message }));
  const warnings: FactProblem[] = [];
  function get<T>(fact: Fact<T> | string): T | undefined {
    const name = typeof fact === 'string' ? fact : fact.name;
    const r = results.get(name) as FactResult<T> | undefined;
    if (!r) return undefined;
    if (!r.ok) {
      if (name === nftFact.name && !request.needsNft && r.error.kind === 'missing-tool') return [] as T;
      errors.push({ fact: name, message: r.error.message, error: r.error });
      return undefined;
    }
    for (const w of r.warnings) warnings.push({ fact: name, message: w });
    return r.value;
  }
  const empty = emptyHostState();
  let ipvs: HostState['ipvs'] = null;
  let timeouts: HostState['timeouts'] = null;
  let syncDaemons: HostState['syncDaemons'] = [];
  if (request.director) {
    const services = get(ipvsFact);
    const thresholds = get(thresholdsFact);
    ipvs = services ?? [];
    if (services && thresholds) {
      const merged = mergeThresholds(services, thresholds);
      ipvs = merged.value;
      for (const w of merged.warnings) warnings.push({ fact: thresholdsFact.name, message: w });
    }
    timeouts = get(timeoutsFact) ?? null;
    syncDaemons = get(daemonFact) ?? [];
  }
  const manifestPath = request.manifest ?? MANIFEST_PATH;
  const manifest = get<ManifestRead>('manifest');
  const files = get<Record<string, string>>('files') ?? {};
  const state: HostState = {
    ...empty,
    ipvs,
    timeouts,
    syncDaemons,
    addresses: get(addressesFact) ?? [],
    routes: [...(get(routesFact) ?? []), ...(get(routes6Fact) ?? [])],
    sysctls: get<Record<string, string>>('sysctl') ?? {},
    modules: get(modulesFact) ?? [],
    links: [...(get(linksFact) ?? []), ...(get(fouFact) ?? [])],
    fwmarkRules: get(nftFact) ?? [],
    enabledUnits: get<string[]>('units') ?? [],
    files: manifest && manifest.state !== 'absent' ? { ...files, [manifestPath]: manifest.text } : files,
  };
  let ownership = NO_OWNERSHIP;
  const owned = ownershipOf(manifest, state.files, request.director, manifestPath);
  if (!owned.ok) errors.push({ fact: 'manifest', message: owned.message });
  else {
    ownership = owned.value;
    for (const w of owned.warnings) warnings.push({ fact: 'manifest', message: w });
  }
  const read = request.director && request.keepalived ? get<KeepalivedFacts>('keepalived') : undefined;
  const keepalived = read && { ...read, health: settledHealth(read.health, get(clockFact)) };
  let counters: DirectorCounters | undefined;
  if (request.director && request.counters) {
    const connections = get(connectionsFact);
    const totals = get(statsFact);
    const rates = get(rateFact);
    if (connections && totals && rates) counters = { connections, totals, rates };
  }
  return { state, ownership, errors, warnings, results, ...(keepalived ? { keepalived } : {}), ...(counters ? { counters } : {}) };
}

/** A batch ready to run: the command to send, and how to read its output. */
export interface FactBatch {
  readonly facts: readonly Fact<unknown>[];
  readonly command: Command;
  read(output: RawOutput): HostFacts;
}

/**
 * Everything for one host's facts: `transport.run(batch.command)`, then
 * `batch.read(result)`. A batch whose shell could not even start (sh missing,
 * sudo refusing) shows up as a batch error with the shell's stderr.
 */
export function factBatch(request: FactRequest, nonce: string = newNonce()): FactBatch {
  return batchOf(hostFacts(request), request, nonce);
}

/**
 * Only the IPVS table (`ipvsadm -Sn`), as a batch: what apply reads back after
 * an `ipvsadm -R`. Its state has the table and nothing else of the host; one
 * program instead of a dozen, and one dump of a table that may hold 100,000
 * destinations instead of two. `thresholds` adds the second dump (`-Ln
 * --thresholds`, which -Sn lacks), for when they are part of what to check.
 */
export function ipvsTableBatch(options: { readonly thresholds?: boolean } = {}, nonce: string = newNonce()): FactBatch {
  return batchOf(options.thresholds ? [ipvsFact, thresholdsFact] : [ipvsFact], { director: true, sysctlKeys: [], files: [] }, nonce);
}

function batchOf(facts: Fact<unknown>[], request: FactRequest, nonce: string): FactBatch {
  const names = facts.map((f) => f.name);
  return {
    facts,
    command: batchCommand(facts, nonce),
    read(output: RawOutput): HostFacts {
      const split = splitBatch(output.stdout, names, nonce);
      const problems = [...split.problems];
      if (problems.length && output.stderr.trim()) problems.push(`the batch printed on stderr: ${output.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
      const results = new Map<string, FactResult<unknown>>();
      for (const fact of facts) {
        const raw = split.outputs.get(fact.name);
        if (raw) results.set(fact.name, readFact(fact, raw));
        else if (!split.problems.some((p) => p.includes(`fact ${fact.name}`))) problems.push(`no output for fact ${fact.name}`);
      }
      return assembleHostState(results, request, problems);
    },
  };
}
