/**
 * What the end-to-end files share: the lab session every file takes (its
 * `before` and `after.always` hooks), lvsc run in-process against the lab, and
 * the readings a test compares (the director's compiled and live IPVS tables,
 * the pages requests from the client get back).
 *
 * A session takes the lab's hosts in turn with the smoke test and the other
 * files (`labExclusive`), boots or reuses the lab, refuses a director that is
 * not as the lab booted it, and leaves the lab as it found it: the services
 * removed with lvsc (the cluster file without its services), the NAT servers'
 * default routes put back, the modules loaded since unloaded, and a lab it
 * booted stopped.
 */
import type { TestFn } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.js';
import { compileCluster } from '../../compiler/compile.js';
import type { DesiredHost } from '../../compiler/desired.js';
import { check } from '../../compiler/index.js';
import { parseIpvsadmSave } from '../../compiler/ipvsadm.js';
import type { IpvsService } from '../../compiler/state.js';
import { hasErrors } from '../../lang/diagnostics.js';
import { labDown, labExclusive, labUp, type LabUp } from '../../lab/lab.js';
import { repoRoot } from '../../lab/paths.js';
import { assertFreshDirector, loadedModules, sh, unloadModulesSince } from '../../lab/remote.js';
import { HOSTS, addressOf, labHost, type LabService } from '../../lab/topology.js';

/** Per-command limit for lvsc's SSH reads in these tests (apply's own default is 60 s). */
const E2E_COMMAND_TIMEOUT = '180s';

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LvscOptions {
  /** Called with each piece of stderr as lvsc writes it (apply's progress lines), while it runs. */
  readonly onStderr?: (text: string) => void;
}

/** The lab as a test file uses it; set up by the `before` hook `labSession` registers. */
export class LabSession {
  lab!: LabUp;
  /** A temporary folder for this file's cluster variants (and lvsc's HOME). */
  dir!: string;
  /** The lab's cluster file as `lab up` wrote it. */
  clusterText!: string;
  /** Whether an apply may have changed the hosts (then the cleanup must run). Set before the first apply. */
  applied = false;
  modulesBefore: Set<string> | undefined;
  release: (() => void) | undefined;
  /** When the `before` hook had the lab ready (the file's tests' wall time is measured from here). */
  readyAt = 0;

  /**
   * `lvsc ARGV... FILE` in-process, as a person runs it in the repository
   * (the cluster file's `ssh key ".lab/id_ed25519"` is relative to it); plan
   * and apply trust the lab's known_hosts and no ssh_config of the machine's user.
   */
  async lvsc(argv: readonly string[], file: string, options: LvscOptions = {}): Promise<Run> {
    let stdout = '';
    let stderr = '';
    // The lab is an emulated VM: on a loaded machine one fact read inside it has taken over
    // apply's default 60 s per command, so these runs allow more (LVSC_E2E_TIMEOUT overrides).
    const timeout = argv.includes('--timeout') ? [] : ['--timeout', process.env.LVSC_E2E_TIMEOUT ?? E2E_COMMAND_TIMEOUT];
    const live = argv[0] === 'plan' || argv[0] === 'apply' || argv[0] === 'status' ? ['--known-hosts', this.lab.knownHosts, '--ssh-config', join(this.dir, 'no-ssh-config'), ...timeout] : [];
    const code = await main([...argv, ...live, file], {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: {
        write: (s: string) => {
          stderr += s;
          options.onStderr?.(s);
        },
        isTTY: false,
      },
      env: { HOME: this.dir, PATH: process.env.PATH },
      cwd: repoRoot(),
    });
    return { code, stdout, stderr };
  }

  /** The cluster text written to the temp dir under `name` (absolute path). */
  writeCluster(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }
}

/**
 * Registers the file's `before` (lab up, and a director as the lab booted it)
 * and `after.always` (the lab put back) hooks; returns the session they fill in.
 */
export function labSession(test: TestFn): LabSession {
  const s = new LabSession();
  test.before('lab up, and a director as the lab booted it', async (t) => {
    t.timeout(30 * 60_000, 'installing packages and downloading a kernel can take minutes; another run may hold the lab');
    s.release = await labExclusive({ log: (line) => t.log(line) });
    s.lab = await labUp({ log: (line) => t.log(line) });
    t.log(s.lab.reused ? `reusing qemu ${s.lab.pid} on port ${s.lab.port}` : `booted ${s.lab.kernel} in ${(s.lab.bootMs / 1000).toFixed(1)} s`);
    await assertFreshDirector();
    s.modulesBefore = await loadedModules();
    s.dir = mkdtempSync(join(tmpdir(), 'lvsc-e2e-'));
    s.clusterText = readFileSync(s.lab.clusterFile, 'utf8');
    s.readyAt = Date.now();
  });

  test.after.always('remove what lvsc applied, put the modules back, stop a lab this file booted', async (t) => {
    t.timeout(10 * 60_000);
    const cleanup = Date.now();
    if (s.readyAt) t.log(`the tests took ${((cleanup - s.readyAt) / 1000).toFixed(1)} s`);
    try {
      if (s.applied) {
        // The same hosts, no services: lvsc removes the VIPs, the table, its sysctls, routes and files.
        const r = await s.lvsc(['apply', '--yes'], s.writeCluster('no-services.lvs', withoutServices(s.clusterText)));
        if (r.code !== 0) throw new Error(`lvsc apply of the cluster without services exited ${r.code}:\n${r.stdout}${r.stderr}`);
        // lvsc deletes the NAT servers' default route it owned; the lab booted them with the router's.
        await Promise.all(
          HOSTS.filter((h) => h.role === 'real-server').map(async (h) => {
            if ((await defaultGateway(h.name)) !== h.gateway) await sh(h.name, `ip route replace default via ${h.gateway}`);
          }),
        );
        await assertFreshDirector();
      }
      if (s.modulesBefore) await unloadModulesSince(s.modulesBefore);
      t.log(`the lab put back in ${((Date.now() - cleanup) / 1000).toFixed(1)} s`);
    } finally {
      try {
        if (s.dir) rmSync(s.dir, { recursive: true, force: true });
        if (s.lab && !s.lab.reused) {
          const { stopped } = await labDown({ log: (line) => t.log(line) });
          if (stopped !== s.lab.pid) throw new Error(`lab down stopped ${stopped}, not the qemu this file started (${s.lab.pid})`);
        }
      } finally {
        s.release?.();
      }
    }
  });
  return s;
}

/** The cluster text with every `service` block removed (the same hosts and director). */
export function withoutServices(text: string): string {
  const empty = text.replace(/^service [\s\S]*?^}\n/gm, '');
  if (/^service /m.test(empty)) throw new Error('bug: the cluster without services still has a service');
  return empty;
}

/** Every declared host's desired state (with its rendered files), compiled from `text`. */
export function compiled(text: string): DesiredHost[] {
  const r = check([{ path: 'cluster.lvs', text }]);
  if (!r.cluster || hasErrors(r.diagnostics)) throw new Error(`the cluster does not validate: ${r.diagnostics.map((d) => `${d.code} ${d.summary}`).join('; ')}`);
  return compileCluster(r.cluster);
}

/** The director's desired IPVS table, compiled from `text`. */
export function desiredTable(text: string): readonly IpvsService[] {
  const lb1 = compiled(text).find((h) => h.name === 'lb1');
  if (!lb1?.state.ipvs) throw new Error('lb1 is not a director in the cluster');
  return lb1.state.ipvs;
}

export { keyed } from '../support/table.js';

/** The director's live table as `ipvsadm -Sn` prints it, parsed; every line must parse. */
export async function liveTable(): Promise<IpvsService[]> {
  const parsed = parseIpvsadmSave(await sh('lb1', 'ipvsadm -Sn'));
  if (parsed.warnings.length) throw new Error(`ipvsadm -Sn lines lvsc cannot read: ${parsed.warnings.join('; ')}`);
  return parsed.value;
}

/** `n` requests from the client through the service's VIP, one after another: answering page → count ("web1 port 80" → 3). */
export async function requests(service: LabService, n: number): Promise<Map<string, number>> {
  const out = await sh('client', `for i in $(seq ${n}); do curl -s --max-time 5 http://${service.vip}:${service.port}/ || echo "request $i failed"; done`);
  const counts = new Map<string, number>();
  for (const line of out.trim().split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/** The page a server of `service` answers with. */
export function page(service: LabService, server: string): string {
  return `${server} port ${service.serverPort}`;
}

/** A lab server's address (its only interface's). */
export function rip(server: string): string {
  return addressOf(labHost(server)!.interfaces[0].cidr);
}

/**
 * How `n` consecutive requests split over the service's servers under rr or
 * wrr with the weights of `table` (any `n` that is a whole number of the
 * scheduler's cycles, i.e. a multiple of the weights' sum).
 */
export function proportional(service: LabService, table: readonly IpvsService[], n: number): Map<string, number> {
  const svc = table.find((s) => s.id.kind === 'addr' && s.id.address === service.vip && s.id.port === service.port)!;
  const weight = (server: string) => (svc.scheduler === 'rr' ? 1 : svc.destinations.find((d) => d.address === rip(server))!.weight);
  const total = service.servers.reduce((sum, s) => sum + weight(s), 0);
  if (n % total) throw new Error(`bug: ${n} requests are not whole cycles of weights summing to ${total}`);
  return new Map(service.servers.map((s) => [page(service, s), (n / total) * weight(s)]));
}

export const sorted = (m: ReadonlyMap<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** A host's default gateway, from `ip -j route`. */
export async function defaultGateway(host: string): Promise<string | undefined> {
  const routes = JSON.parse(await sh(host, 'ip -j route show default')) as { dst: string; gateway?: string }[];
  return routes.find((r) => r.dst === 'default')?.gateway;
}

/** Plan steps of `lvsc plan --json` (or of apply's `plan`), flattened with their host. */
export function steps(plan: { hosts: { host: string; steps: { action: string; kind: string; key: string }[] }[] }): string[] {
  return plan.hosts.flatMap((h) => h.steps.map((s) => `${h.host}: ${s.action} ${s.kind} ${s.key}`));
}
