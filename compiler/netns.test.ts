/**
 * Plans round-tripped through a real kernel: for a real server of each
 * forwarding method this machine's kernel can do, a throwaway network
 * namespace is the host. The plan's commands for that host run inside it
 * (`ip netns exec NS sh -c <command line>`, stdin as the step gives it), the
 * host is read back with the REAL fact batch (`factBatch`, one `sh -c` in the
 * namespace) and planning again must find nothing to do. Then a service leaves
 * the cluster file: the plan against the live state (with the ownership lvsc's
 * manifest records) removes exactly what lvsc added, and leaves what was added
 * by hand.
 *
 * - DR: VIP/32 (and an IPv6 VIP/128) on lo with lvsc's label, the ARP sysctls
 *   on all, lo and eth0.
 * - NAT: the default route through the director's DIP, tagged proto 76.
 * - TUN is not here: it needs the ipip module (tunl0), which this kernel does
 *   not have. The VM lab (lab/, `npm run lab -- up`, shared lab-notes.md)
 *   boots a Debian kernel that has it.
 *
 * Files: `file` steps carry their content for the transport to write; here
 * they are written under a temporary root instead of /etc (namespaces share
 * the file system), and the files fact reads them back from there, so the
 * rendered files go through the same round trip. A file removal step's
 * `rm -f` is done on the temporary path.
 *
 * Needs root and `ip netns`; fails (does not skip) without them. Each test
 * deletes the namespace it created, and only that one.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { factBatch } from '../agent/facts/index.js';
import { hasErrors } from '../lang/diagnostics.js';
import { execIn, execLocal } from '../lab/netns-sshd.js';
import { commandLine } from './command.js';
import { compileCluster } from './compile.js';
import type { DesiredHost } from './desired.js';
import { check } from './index.js';
import { MANIFEST_PATH } from './manifest.js';
import { buildPlan, type LiveHost } from './order.js';
import type { Step } from './plan.js';
import type { HostState } from './state.js';

const CLUSTER = `
host lb1 {
  ssh 10.77.0.2
  interface eth0 10.77.0.2/24
  interface eth0 2001:db8:77::2/64
  interface eth1 192.168.77.1/24
  gateway 10.77.0.1
}

host web1 {
  ssh 10.77.0.11
  interface eth0 10.77.0.11/24
  interface eth0 2001:db8:77::11/64
  gateway 10.77.0.1
}

host app1 {
  ssh 192.168.77.11 via lb1
  interface eth0 192.168.77.11/24
  gateway 192.168.77.1
}

director lb1

service www {
  vip 10.77.0.100 tcp 80
  scheduler wlc
  forward dr
  server web1 weight 3
}

service www6 {
  vip [2001:db8:77::100] tcp 80
  scheduler wlc
  forward dr
  server web1
}

service api {
  vip 10.77.0.100 tcp 8080
  scheduler rr
  forward nat
  server app1 port 8080
}
`;

function desiredHost(text: string, host: string): DesiredHost {
  const r = check([{ path: 'netns.lvs', text }]);
  if (!r.cluster || hasErrors(r.diagnostics)) throw new Error(`the test cluster does not validate: ${r.diagnostics.map((d) => d.summary).join('; ')}`);
  const d = compileCluster(r.cluster).find((h) => h.name === host);
  if (!d) throw new Error(`no host ${host}`);
  return d;
}

/** The cluster text without one service block. */
function withoutService(text: string, name: string): string {
  const at = text.indexOf(`service ${name} {`);
  if (at < 0) throw new Error(`no service ${name}`);
  return text.slice(0, at) + text.slice(text.indexOf('}\n', at) + 2);
}

let seq = 0;

/** A fresh namespace with lo up and eth0 (a veth whose peer stays in the namespace, both up), deleted at teardown. */
async function namespace(t: ExecutionContext, addresses: string[]): Promise<string> {
  if (process.getuid?.() !== 0) throw new Error('compiler/netns.test.ts must run as root: it creates network namespaces');
  const ns = `lvscrt-${process.pid}-${++seq}`;
  const run = async (...argv: string[]) => {
    const r = await execLocal(argv);
    if (r.code !== 0) throw new Error(`\`${argv.join(' ')}\` failed (exit ${r.code}): ${r.stderr.trim()}`);
  };
  await run('ip', 'netns', 'add', ns);
  t.teardown(() => {
    spawnSync('ip', ['netns', 'delete', ns]);
  });
  await run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  await run('ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer');
  for (const a of addresses) await run('ip', '-n', ns, 'addr', 'add', a, 'dev', 'eth0', ...(a.includes(':') ? ['nodad'] : []));
  await run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
  await run('ip', '-n', ns, 'link', 'set', 'eth0-peer', 'up');
  return ns;
}

/** A directory that stands in for / when files are written and read. */
function fileRoot(t: ExecutionContext): string {
  const root = mkdtempSync(join(tmpdir(), 'lvsc-netns-files-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

/**
 * The host as the real fact batch reads it inside the namespace: the files
 * lvsc renders now or rendered before (under `root`), and the sysctls it
 * wants now or wanted before (`before`: the desired state of an earlier file).
 */
async function readLive(t: ExecutionContext, ns: string, root: string, want: HostState, before?: HostState): Promise<LiveHost> {
  const paths = [...new Set([...Object.keys(want.files), ...Object.keys(before?.files ?? {})])];
  const keys = [...new Set([...Object.keys(want.sysctls), ...Object.keys(before?.sysctls ?? {})])];
  const batch = factBatch({ director: false, sysctlKeys: keys, files: paths.map((p) => join(root, p)), manifest: join(root, MANIFEST_PATH) });
  const r = await execLocal(['ip', 'netns', 'exec', ns, ...batch.command.argv]);
  t.is(r.code, 0, r.stderr);
  const read = batch.read({ stdout: r.stdout, stderr: r.stderr, status: r.code });
  t.deepEqual(read.errors, [], 'every fact read');
  const files = Object.fromEntries(Object.entries(read.state.files).map(([p, c]) => [p.slice(root.length), c]));
  const state = { ...read.state, files };
  return { state, ownership: read.ownership };
}

/** Runs a host's steps in the namespace, in plan order; file steps go to `root`. */
async function apply(t: ExecutionContext, ns: string, root: string, steps: readonly Step[]): Promise<void> {
  for (const s of steps) {
    if (s.kind === 'file') {
      const path = join(root, s.id.path);
      if (s.action === 'delete') rmSync(path, { force: true });
      else {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, s.after ?? '');
      }
      continue;
    }
    for (const c of s.commands) {
      const r = await execIn(ns, ['sh', '-c', commandLine(c)], c.stdin);
      if (r.code !== 0) throw new Error(`${s.kind} ${s.label}: \`${commandLine(c)}\` failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
  }
}

function planFor(host: DesiredHost, live: LiveHost): Step[] {
  return [...buildPlan([host], new Map([[host.name, live]])).hosts[0].steps];
}

const describe = (steps: readonly Step[]) => steps.map((s) => `${s.action} ${s.kind} ${s.label}`);

test('DR real server: VIPs on lo with the ARP settings, then the services leave and only lvsc\'s part goes', async (t) => {
  const ns = await namespace(t, ['10.77.0.11/24', '2001:db8:77::11/64']);
  const root = fileRoot(t);
  const want = desiredHost(CLUSTER, 'web1');

  const first = planFor(want, await readLive(t, ns, root, want.state));
  t.deepEqual(
    describe(first.filter((s) => s.kind === 'address')),
    ['create address lo 10.77.0.100/32', 'create address lo 2001:db8:77::100/128'],
    'the fresh namespace needs both VIPs',
  );
  t.true(first.some((s) => s.kind === 'sysctl' && s.id.name === 'net.ipv4.conf.lo.arp_ignore'));
  await apply(t, ns, root, first);

  const applied = await readLive(t, ns, root, want.state);
  t.deepEqual(describe(planFor(want, applied)), [], 'after apply, the namespace is what the file says');
  const lo = applied.state.addresses.filter((a) => a.dev === 'lo');
  t.true(lo.some((a) => a.address === '10.77.0.100' && a.prefix === 32 && a.label === 'lo:lvs'), JSON.stringify(lo));
  t.true(lo.some((a) => a.address === '2001:db8:77::100' && a.prefix === 128), JSON.stringify(lo));
  for (const dev of ['all', 'lo', 'eth0']) {
    t.is(applied.state.sysctls[`net.ipv4.conf.${dev}.arp_ignore`], '1', dev);
    t.is(applied.state.sysctls[`net.ipv4.conf.${dev}.arp_announce`], '2', dev);
  }

  // An operator's own addresses on lo, one of each family, with no lvsc label and in no lvsc file.
  t.is((await execIn(ns, ['ip', 'addr', 'add', '10.77.0.101/32', 'dev', 'lo'])).code, 0);
  t.is((await execIn(ns, ['ip', '-6', 'addr', 'add', '2001:db8:77::101/128', 'dev', 'lo', 'nodad'])).code, 0);
  t.deepEqual(describe(planFor(want, await readLive(t, ns, root, want.state))), [], 'hand-added addresses are not lvsc\'s business');

  const gone = desiredHost(withoutService(withoutService(CLUSTER, 'www'), 'www6'), 'web1');
  t.deepEqual(gone.roles, []);
  const removal = planFor(gone, await readLive(t, ns, root, gone.state, want.state));
  t.deepEqual(describe(removal.filter((s) => s.kind === 'address')), ['delete address lo 10.77.0.100/32', 'delete address lo 2001:db8:77::100/128']);
  await apply(t, ns, root, removal);

  const after = await readLive(t, ns, root, gone.state, want.state);
  t.deepEqual(describe(planFor(gone, after)), [], 'after the removal, nothing is left to do');
  const left = after.state.addresses.filter((a) => a.dev === 'lo').map((a) => `${a.address}/${a.prefix}${a.label ? ` ${a.label}` : ''}`);
  t.false(left.includes('10.77.0.100/32 lo:lvs'), left.join(', '));
  t.false(left.some((a) => a.startsWith('2001:db8:77::100/')), left.join(', '));
  t.true(left.includes('10.77.0.101/32'), `the hand-added IPv4 address stays: ${left.join(', ')}`);
  t.true(left.includes('2001:db8:77::101/128'), `the hand-added IPv6 address stays: ${left.join(', ')}`);
  for (const dev of ['all', 'lo', 'eth0']) t.is(after.state.sysctls[`net.ipv4.conf.${dev}.arp_ignore`], '0', `${dev} arp_ignore back to the kernel default`);
  t.deepEqual(Object.keys(after.state.files), [], 'lvsc\'s files are removed');
});

/**
 * app1 in the NAT service, then out of it with `gateway` as `leaving` declares
 * it (a line, or none): lvsc's default route goes back to the declared gateway,
 * or, with none declared, away; the operator's own route stays either way.
 */
async function natServerLeaves(t: ExecutionContext, gateway: string | undefined): Promise<void> {
  const ns = await namespace(t, ['192.168.77.11/24']);
  const root = fileRoot(t);
  const want = desiredHost(CLUSTER, 'app1');

  const first = planFor(want, await readLive(t, ns, root, want.state));
  t.deepEqual(describe(first.filter((s) => s.kind === 'route')), ['create route default']);
  await apply(t, ns, root, first);

  const applied = await readLive(t, ns, root, want.state);
  t.deepEqual(describe(planFor(want, applied)), [], 'after apply, the namespace is what the file says');
  t.deepEqual(
    applied.state.routes.filter((r) => r.dst === 'default'),
    [{ dst: 'default', via: '192.168.77.1', dev: 'eth0', proto: '76' }],
    'the default route goes through the DIP and carries lvsc\'s protocol tag',
  );

  // The operator's own route, without lvsc's tag.
  t.is((await execIn(ns, ['ip', 'route', 'add', '203.0.113.0/24', 'via', '192.168.77.254', 'dev', 'eth0'])).code, 0);
  t.deepEqual(describe(planFor(want, await readLive(t, ns, root, want.state))), []);

  const declared = '  gateway 192.168.77.1\n';
  if (!CLUSTER.includes(declared)) throw new Error('bug: app1 no longer declares the DIP as its gateway');
  const gone = desiredHost(withoutService(CLUSTER, 'api').replace(declared, gateway ? `  gateway ${gateway}\n` : ''), 'app1');
  const removal = planFor(gone, await readLive(t, ns, root, gone.state, want.state));
  t.deepEqual(describe(removal.filter((s) => s.kind === 'route')), [gateway ? 'update route default' : 'delete route default']);
  await apply(t, ns, root, removal);

  const after = await readLive(t, ns, root, gone.state, want.state);
  t.deepEqual(describe(planFor(gone, after)), []);
  const defaults = after.state.routes.filter((r) => r.dst === 'default');
  if (gateway) {
    t.deepEqual(defaults.map((r) => r.via), [gateway], 'the default route is the declared gateway again');
    t.not(defaults[0]?.proto, '76', 'and no longer lvsc\'s');
  } else {
    t.deepEqual(defaults, [], 'lvsc\'s default route is gone, and there was none declared to put back');
  }
  t.true(after.state.routes.some((r) => r.dst === '203.0.113.0/24' && r.via === '192.168.77.254'), 'the hand-made route stays');
  t.deepEqual(Object.keys(after.state.files), []);
}

test('NAT real server: default route through the director; when the server leaves, back to its declared gateway', (t) => natServerLeaves(t, '192.168.77.254'));

test('NAT real server: default route through the director; when the server leaves with no gateway declared, none', (t) => natServerLeaves(t, undefined));
