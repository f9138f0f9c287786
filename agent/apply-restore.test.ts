/**
 * apply's IPVS batches against a fake director (this kernel has no IPVS; the
 * real one is exercised in the lab VM by test/e2e and `npm run bench`): a run
 * of edits goes to the host as one `ipvsadm -R`, then the table is read back
 * (`ipvsadm -Sn` only) and each step is done or failed by what the table
 * shows. Removing many destinations sets their weights to 0 in one restore
 * and deletes them in one more, instead of two commands per destination.
 * And a real server's lock is let go once its own steps are done.
 */
import test from 'ava';
import { applyPlan, type ApplyEvent, type HostResult } from './apply.js';
import { connectionsFact } from './facts/connections.js';
import { commandLine, type Command } from '../compiler/command.js';
import { compileCluster } from '../compiler/compile.js';
import { NO_OWNERSHIP } from '../compiler/diff.js';
import { check } from '../compiler/index.js';
import { parseSaveLine, saveText } from '../compiler/ipvsadm.js';
import { buildPlan } from '../compiler/order.js';
import { destinationKey, emptyHostState, serviceKey, type IpvsDestination, type IpvsService, type ServiceId } from '../compiler/state.js';
import type { RunOptions, RunResult, Transport } from './transport/transport.js';

/** The output of a script of plain commands (agent/executor.ts commandScript) in which every command succeeds; undefined for other commands. */
function scriptRan(command: Command): { output: string; commands: number } | undefined {
  const script = command.argv[0] === 'sh' ? (command.argv[2] ?? '') : '';
  const mark = /^lvsc_m='(:::lvsc-run [^']+)'/.exec(script)?.[1];
  if (!mark) return undefined;
  const commands = script.split('\n').filter((l) => l.startsWith('lvsc_run ')).length;
  return { output: `${`${mark} ok\n`.repeat(commands)}${mark} done\n`, commands };
}

/** A director's IPVS table in memory that runs the commands apply sends it, and records them. */
class FakeDirector implements Transport {
  readonly host = 'lb';
  /** Every command run, as `argv[0] argv[1]` (the lock's shells as `sh lvsc-lock` ...). */
  readonly ran: string[] = [];
  /** When each of `ran` started (Date.now(), the clock apply's drain wait reads). */
  readonly ranAt: number[] = [];
  private readonly table = new Map<string, { service: IpvsService; destinations: Map<string, IpvsDestination> }>();
  private releaseLock: (() => void) | undefined;

  /** `refuse(line)`: a restore line the "kernel" rejects (left out of the table, as -R goes on); `events`: a log shared with other hosts. */
  constructor(
    private readonly refuse: (line: string) => boolean = () => false,
    private readonly events: string[] = [],
  ) {}

  load(services: readonly IpvsService[]): void {
    for (const s of services) this.table.set(serviceKey(s.id), { service: s, destinations: new Map(s.destinations.map((d) => [destinationKey(d), d])) });
  }

  /** Active connections per destination ("ADDR:PORT → tcp VIP:PORT"), for `ipvsadm -Ln`. */
  readonly active = new Map<string, number>();

  /** `ipvsadm -Ln` of the table (TCP services), with `active`'s counts. */
  private listing(): string {
    const lines = ['IP Virtual Server version 1.2.1 (size=4096)', 'Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'];
    for (const { service, destinations } of this.table.values()) {
      if (service.id.kind !== 'addr') continue;
      const vip = `${service.id.address}:${service.id.port}`;
      lines.push(`TCP  ${vip} ${service.scheduler}`);
      for (const d of destinations.values()) {
        const rip = `${d.address}:${d.port}`;
        lines.push(`  -> ${rip.padEnd(28)}Route   ${String(d.weight).padEnd(6)} ${String(this.active.get(`${rip} → tcp ${vip}`) ?? 0).padEnd(10)} 0`);
      }
    }
    return lines.join('\n') + '\n';
  }

  private record(what: string): void {
    this.ran.push(what);
    this.ranAt.push(Date.now());
  }

  /** When the command `what` (as in `ran`) started; it must have run once. */
  startedAt(what: string): number {
    const at = this.ran.filter((r) => r === what);
    if (at.length !== 1) throw new Error(`${what} ran ${at.length} times: ${this.ran.join(', ')}`);
    return this.ranAt[this.ran.indexOf(what)];
  }

  services(): IpvsService[] {
    return [...this.table.values()].map((e) => ({ ...e.service, destinations: [...e.destinations.values()] }));
  }

  async run(command: Command, options?: RunOptions): Promise<RunResult> {
    const [program, first, , name] = command.argv;
    const ok = (stdout = ''): RunResult => ({ stdout, stderr: '', code: 0 });
    // The connections fact (`ipvsadm -Ln`, run where IPVS is loaded).
    if (commandLine(command) === commandLine(connectionsFact.command())) {
      this.record('ipvsadm -Ln');
      this.events.push('lb ipvsadm -Ln');
      return ok(this.listing());
    }
    if (program === 'sh' && first === '-c') {
      // The lock: the holder says it has it and stays until released; the release succeeds.
      if (name === 'lvsc-lock') {
        this.record('sh lvsc-lock');
        options?.onStdout?.('locked\n');
        return new Promise((resolve) => (this.releaseLock = () => resolve(ok())));
      }
      if (name === 'lvsc-unlock') {
        this.events.push('lb unlock');
        this.releaseLock?.();
        return ok();
      }
      const script = scriptRan(command);
      if (script) {
        this.events.push(`lb script of ${script.commands}`);
        return ok(script.output);
      }
      // The table read back: a fact batch of ipvsadm -Sn alone, framed by its nonce.
      const marker = /lvsc_m='([^']+)'/.exec(command.argv[2])?.[1];
      if (!marker) throw new Error(`unexpected shell command: ${command.argv[2].slice(0, 200)}`);
      this.record('read table');
      const sections = [...command.argv[2].matchAll(/^lvsc_section (\S+)/gm)].map((m) => m[1]);
      if (sections.join() !== 'ipvs') throw new Error(`the read back runs more than ipvsadm -Sn: ${sections.join(', ')}`);
      return ok(`${marker} begin ipvs\n${saveText(this.services())}\n${marker} status ipvs 0\n\n${marker} end ipvs\n${marker} done\n`);
    }
    this.record(`${program} ${first}`);
    this.events.push(`lb ${program} ${first}`);
    if (program === 'mkdir' || program === 'ip') return ok();
    if (program !== 'ipvsadm') throw new Error(`unexpected command ${command.argv.join(' ')}`);
    const lines = first === '-R' ? (command.stdin ?? '').split('\n').filter(Boolean) : [command.argv.slice(1).join(' ')];
    let code = 0;
    for (const line of lines) code = this.edit(line) ? 0 : 2;
    return { stdout: '', stderr: code ? 'Memory allocation problem\n' : '', code };
  }

  /** One ipvsadm edit; false when refused or wrong (as the kernel would say "not defined" or "exists"). */
  private edit(line: string): boolean {
    if (this.refuse(line)) return false;
    const [op] = line.split(' ');
    // -d and -D name what they remove as -a and -A would.
    const parsed = parseSaveLine(line.replace(/^-d /, '-a ').replace(/^-D /, '-A '));
    if (!parsed.ok) throw new Error(`unreadable edit ${line}: ${parsed.reason}`);
    const e = parsed.entry;
    const id: ServiceId = e.kind === 'service' ? e.service.id : e.service;
    const entry = this.table.get(serviceKey(id));
    switch (op) {
      case '-A':
        if (entry || e.kind !== 'service') return false;
        this.table.set(serviceKey(id), { service: e.service, destinations: new Map() });
        return true;
      case '-D':
        return this.table.delete(serviceKey(id));
      case '-a':
      case '-e': {
        if (!entry || e.kind !== 'destination') return false;
        const key = destinationKey(e.destination);
        if (entry.destinations.has(key) !== (op === '-e')) return false;
        entry.destinations.set(key, e.destination);
        return true;
      }
      case '-d':
        return e.kind === 'destination' && Boolean(entry?.destinations.delete(destinationKey(e.destination)));
      default:
        throw new Error(`unexpected edit ${line}`);
    }
  }

  async put(): Promise<void> {
    this.record('put');
  }

  async close(): Promise<void> {}
}

/** A real server: takes the lock, runs scripts of plain commands (all succeed), logs both to `events`. */
class FakeServer implements Transport {
  private releaseLock: (() => void) | undefined;

  constructor(
    readonly host: string,
    private readonly events: string[],
  ) {}

  async run(command: Command, options?: RunOptions): Promise<RunResult> {
    const ok = (stdout = ''): RunResult => ({ stdout, stderr: '', code: 0 });
    const name = command.argv[3];
    if (name === 'lvsc-lock') {
      this.events.push(`${this.host} lock`);
      options?.onStdout?.('locked\n');
      return new Promise((resolve) => (this.releaseLock = () => resolve(ok())));
    }
    if (name === 'lvsc-unlock') {
      this.events.push(`${this.host} unlock`);
      this.releaseLock?.();
      return ok();
    }
    if (command.argv[0] === 'mkdir') return ok();
    const script = scriptRan(command);
    if (!script) throw new Error(`unexpected command ${command.argv.join(' ').slice(0, 200)}`);
    this.events.push(`${this.host} script of ${script.commands}`);
    return ok(script.output);
  }

  async put(): Promise<void> {
    this.events.push(`${this.host} put`);
  }

  async close(): Promise<void> {}
}

/** A director with `count` DR services of three servers each. */
function cluster(count: number): string {
  const hosts = ['lb', 'web1', 'web2', 'web3'].map((h, i) => `host ${h} {\n  ssh 10.0.0.${i + 2}\n  interface eth0 10.0.0.${i + 2}/24\n}\n`);
  const services = Array.from({ length: count }, (_, i) => `service s${i} {\n  vip 10.0.0.100 tcp ${1000 + i}\n  scheduler wrr\n  forward dr\n  server web1\n  server web2 weight ${1 + (i % 3)}\n  server web3\n}\n`);
  return [...hosts, 'director lb\n', ...services].join('\n');
}

function directorTable(text: string): readonly IpvsService[] {
  const r = check([{ path: 'cluster.lvs', text }]);
  if (!r.cluster) throw new Error(`the cluster does not validate: ${r.diagnostics.map((d) => d.summary).join('; ')}`);
  return compileCluster(r.cluster).find((h) => h.name === 'lb')!.state.ipvs!;
}

/** Applies, to the fake director alone, the IPVS steps that take its table from `live` to `want`. */
async function applyTable(director: FakeDirector, live: readonly IpvsService[], want: readonly IpvsService[]): Promise<HostResult> {
  director.load(live);
  const state = { ...emptyHostState(), ipvs: [...want] };
  const plan = buildPlan([{ name: 'lb', roles: ['director'], state, gateways: [] }], new Map([['lb', { state: { ...emptyHostState(), ipvs: [...live] }, ownership: NO_OWNERSHIP }]]));
  const [result] = await applyPlan({ plan, dependencies: [], transports: new Map([['lb', director]]) }, { owner: 'test@bench' });
  return result;
}

const sorted = (services: readonly IpvsService[]) => saveText(services);

/** The failed steps: key and message. */
const failures = (result: HostResult) => result.steps.filter((s) => s.status === 'failed').map((s) => [s.step.label, s.message]);

test('a new table is one restore and one read back; every step is done', async (t) => {
  const want = directorTable(cluster(50));
  const director = new FakeDirector();
  const result = await applyTable(director, [], want);
  t.is(result.status, 'done', result.message);
  t.is(result.steps.length, 200);
  t.true(result.steps.every((s) => s.status === 'done'));
  t.deepEqual(director.ran, ['sh lvsc-lock', 'ipvsadm -R', 'read table']);
  t.is(sorted(director.services()), sorted(want));
});

test('removing 100 services: weights to 0 in one restore, the deletions in another, each read back; not two commands per destination', async (t) => {
  const live = directorTable(cluster(100));
  const director = new FakeDirector();
  const result = await applyTable(director, live, []);
  t.is(result.status, 'done', result.message);
  t.is(result.steps.length, 400);
  t.true(result.steps.every((s) => s.status === 'done'));
  // drain: weight 0, read back, delete, read back; untable: the services.
  t.deepEqual(director.ran, ['sh lvsc-lock', 'ipvsadm -R', 'read table', 'ipvsadm -R', 'read table', 'ipvsadm -R', 'read table']);
  t.deepEqual(director.services(), []);
});

test('a deletion the kernel refuses fails that step, with why; the host stops before untable', async (t) => {
  const live = directorTable(cluster(3));
  const director = new FakeDirector((line) => line.startsWith('-d -t 10.0.0.100:1001 -r 10.0.0.4:1001'));
  const result = await applyTable(director, live, []);
  t.is(result.status, 'failed');
  t.deepEqual(failures(result), [['10.0.0.4:1001 → tcp 10.0.0.100:1001', 'not in the table after ipvsadm -R']]);
  t.regex(result.message!, /ipvs-destination 10\.0\.0\.4:1001 → tcp 10\.0\.0\.100:1001/);
  // The other deletions ran (one restore); the services stay: untable never started.
  t.is(result.steps.filter((s) => s.step.phase === 'drain' && s.status === 'done').length, 8);
  t.true(result.steps.filter((s) => s.step.phase === 'untable').every((s) => s.status === 'pending'));
  t.is(director.services().length, 3);
});

test('a weight 0 the kernel refuses fails that step as "setting weight 0", before anything is deleted', async (t) => {
  const live = directorTable(cluster(3));
  const director = new FakeDirector((line) => line.startsWith('-e -t 10.0.0.100:1002 -r 10.0.0.3:1002'));
  const result = await applyTable(director, live, []);
  t.is(result.status, 'failed');
  t.deepEqual(failures(result), [['10.0.0.3:1002 → tcp 10.0.0.100:1002', 'setting weight 0: not in the table after ipvsadm -R']]);
  t.deepEqual(director.ran, ['sh lvsc-lock', 'ipvsadm -R', 'read table']);
  t.is(director.services().reduce((n, s) => n + s.destinations.length, 0), 9, 'nothing deleted');
});

test('one destination to remove: its two commands on their own, no restore to read back', async (t) => {
  const live = directorTable(cluster(1));
  const want = directorTable(cluster(1).replace('  server web3\n', ''));
  const director = new FakeDirector();
  const result = await applyTable(director, live, want);
  t.is(result.status, 'done', result.message);
  t.deepEqual(director.ran, ['sh lvsc-lock', 'ipvsadm -e', 'ipvsadm -d']);
});

test('a real server lets its lock go after its last phase with steps, not when the director it waits on is done', async (t) => {
  const events: string[] = [];
  const text = cluster(2);
  const r = check([{ path: 'cluster.lvs', text }]);
  const desired = compileCluster(r.cluster!).filter((h) => h.name === 'lb' || h.name === 'web1');
  const plan = buildPlan(desired);
  const transports = new Map<string, Transport>([
    ['lb', new FakeDirector(undefined, events)],
    ['web1', new FakeServer('web1', events)],
  ]);
  const results = await applyPlan({ plan, dependencies: plan.dependencies, transports }, { owner: 'test@bench' });
  t.deepEqual(
    results.map((h) => [h.host, h.status]),
    [
      ['lb', 'done'],
      ['web1', 'done'],
    ],
  );
  // web1's prepare (its sysctls and VIP as one script, then its files and its manifest), then its lock is freed, before lb programs its table.
  t.deepEqual(events.filter((e) => e.startsWith('web1')), ['web1 lock', 'web1 script of 7', 'web1 put', 'web1 put', 'web1 put', 'web1 unlock']);
  t.true(events.indexOf('web1 unlock') < events.indexOf('lb ipvsadm -R'), events.join(', '));
});

test('a drained removal: weight 0 first, then --drain waited out while the server\'s active connections are shown, then the deletion', async (t) => {
  const live = directorTable(cluster(1));
  const want = directorTable(cluster(1).replace('  server web3\n', ''));
  const director = new FakeDirector();
  director.load(live);
  director.active.set('10.0.0.5:1000 → tcp 10.0.0.100:1000', 3);
  director.active.set('10.0.0.3:1000 → tcp 10.0.0.100:1000', 7);
  const plan = buildPlan([{ name: 'lb', roles: ['director'], state: { ...emptyHostState(), ipvs: [...want] }, gateways: [] }], new Map([['lb', { state: { ...emptyHostState(), ipvs: [...live] }, ownership: NO_OWNERSHIP }]]));
  const events: ApplyEvent[] = [];
  // Three seconds: reports at about 0, 1 and 2 s, so at least two of them even when a loaded machine runs
  // apply's one-second timer late by anything under two seconds.
  const drainMs = 3_000;
  const [result] = await applyPlan(
    { plan, dependencies: [], transports: new Map([['lb', director]]) },
    {
      owner: 'test@bench',
      drainMs,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'drain') t.is(director.services()[0].destinations.find((d) => d.address === '10.0.0.5')?.weight, 0, 'weight 0 while it drains');
      },
    },
  );
  t.is(result.status, 'done', result.message);
  t.deepEqual(director.ran.filter((r) => r !== 'ipvsadm -Ln'), ['sh lvsc-lock', 'ipvsadm -e', 'ipvsadm -d']);
  // The deletion came the whole drain after weight 0 (the director's own record of when each ran).
  const drained = director.startedAt('ipvsadm -d') - director.startedAt('ipvsadm -e');
  t.true(drained >= drainMs, `waited the drain out between weight 0 and the deletion (${drained} ms)`);
  const drains = events.filter((e): e is Extract<ApplyEvent, { type: 'drain' }> => e.type === 'drain');
  t.true(drains.length >= 2, `${drains.length} drain reports, about one a second`);
  t.deepEqual([...new Set(drains.map((e) => e.active))], [3], 'the leaving server\'s connections only');
  t.true(drains.every((e, i) => i === 0 || e.remainingMs < drains[i - 1].remainingMs), 'counting down');
  // How the progress view shows these events: cli/progress.test.ts.
  t.deepEqual(director.services()[0].destinations.map((d) => d.address).sort(), ['10.0.0.3', '10.0.0.4']);
});
