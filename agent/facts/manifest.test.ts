/**
 * Ownership as data: the manifest lvsc renders reads back as what it
 * records, and a host configured before lvsc wrote manifests (its rendered
 * files, no manifest) is recognised by the one migration reading as owning
 * exactly what its manifest would have said. The migration reading is
 * strict: only lvsc's paths with its header, only the lines lvsc writes.
 * (The fact's command and its real outputs: agent/testdata/facts/manifest/.)
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { compileCluster } from '../../compiler/compile.js';
import type { Ownership } from '../../compiler/diff.js';
import { check } from '../../compiler/index.js';
import { MANIFEST_PATH } from '../../compiler/manifest.js';
import { PATHS } from '../../compiler/templates/render.js';
import { legacyOwnership, manifestOwnership, ownershipOf, parseManifest, type ManifestRead } from './manifest.js';

const EXAMPLES = ['examples/web-dr.lvs', 'examples/api-nat.lvs', 'examples/cdn-tun.lvs', 'examples/shop-fwmark.lvs'];

function compile(path: string) {
  const r = check([{ path, text: readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8') }]);
  if (!r.cluster) throw new Error(`${path} does not validate`);
  return compileCluster(r.cluster);
}

const sorted = (o: Ownership) => ({ addresses: [...o.addresses].sort(), sysctls: [...o.sysctls].sort(), fouPorts: [...o.fouPorts].sort(), files: [...o.files].sort() });

test('every example host: its manifest reads back, and records what the migration reading finds in its other rendered files', (t) => {
  let hosts = 0;
  for (const example of EXAMPLES) {
    for (const host of compile(example)) {
      const files = host.state.files;
      const text = files[MANIFEST_PATH];
      if (!Object.keys(files).length) continue;
      hosts++;
      t.truthy(text, `${example} ${host.name} has a manifest`);
      const parsed = parseManifest(text);
      if (!parsed.ok) return t.fail(`${example} ${host.name}: ${parsed.reason}`);
      t.is(parsed.manifest.host, host.name);
      const director = host.roles.includes('director') || host.roles.includes('backup-director');
      const { [MANIFEST_PATH]: _m, ...old } = files;
      const legacy = legacyOwnership(old, director);
      t.deepEqual(legacy.warnings, [], `${example} ${host.name}`);
      // The migration reading knows no manifest file: beside that, the two agree.
      const fromManifest = manifestOwnership(parsed.manifest);
      t.deepEqual(sorted({ ...legacy.value, files: new Set([...legacy.value.files, MANIFEST_PATH]) }), sorted(fromManifest), `${example} ${host.name}`);
      // What lvsc must recognise on hosts of these examples: IPv6 VIPs, its sysctls, its GUE port.
      for (const a of host.state.addresses) t.true(fromManifest.addresses.has(`${a.dev} ${a.address}/${a.prefix}`));
      for (const k of Object.keys(host.state.sysctls)) t.true(fromManifest.sysctls.has(k));
      for (const l of host.state.links) if (l.kind === 'fou') t.true(fromManifest.fouPorts.has(l.port!));
    }
  }
  t.true(hosts >= 10, `${hosts} hosts`);
});

test('a manifest that is there is the record: a rendered file listing more is not read', (t) => {
  const shop1 = compile('examples/shop-fwmark.lvs').find((h) => h.name === 'shop1')!;
  const parsed = parseManifest(shop1.state.files[MANIFEST_PATH]);
  if (!parsed.ok) return t.fail(parsed.reason);
  const trimmed = { ...parsed.manifest, addresses: parsed.manifest.addresses.filter((a) => !a.includes(':')) };
  const read: ManifestRead = { state: 'present', text: '', manifest: trimmed };
  const owned = ownershipOf(read, shop1.state.files, false);
  if (!owned.ok) return t.fail(owned.message);
  t.false(owned.value.addresses.has('lo 2001:db8:2::100/128'), 'the networkd file still lists it, the manifest does not');
  t.true(owned.value.addresses.has('lo 10.2.0.100/32'));
});

test('an unreadable manifest fails the host with what to do; none at all means the migration reading', (t) => {
  const invalid = ownershipOf({ state: 'invalid', text: '{', reason: 'not JSON: cut short, or not written by lvsc' }, {}, false);
  t.false(invalid.ok);
  if (!invalid.ok) t.regex(invalid.message, /^\/var\/lib\/lvsc\/manifest\.json is not a manifest this lvsc can read \(not JSON: .*\); fix it, or move it away/);
  const sysctl = `# Rendered by lvsc for host web1: the kernel settings LVS needs here.\nnet.ipv4.conf.lo.arp_ignore = 1\n`;
  for (const read of [{ state: 'absent' } as const, undefined]) {
    const owned = ownershipOf(read, { [PATHS.sysctl]: sysctl }, false);
    t.true(owned.ok);
    if (owned.ok) t.deepEqual(sorted(owned.value), { addresses: [], sysctls: ['net.ipv4.conf.lo.arp_ignore'], fouPorts: [], files: [PATHS.sysctl] });
  }
});

test('the migration reading is strict: lvsc\'s paths with its header, and only the lines lvsc writes', (t) => {
  const lo = `${PATHS.networkDir}/50-lvsc-lo.network`;
  const dropIn = `${PATHS.networkDir}/eth0.network.d/lvsc.conf`;
  const fou = `${PATHS.networkDir}/50-lvsc-fou6080.netdev`;
  const badFou = `${PATHS.networkDir}/50-lvsc-fou7000.netdev`;
  const files = {
    [lo]: '# Rendered by lvsc for host web1: the VIPs lvsc keeps on lo\n[Match]\nName=lo\n\n[Network]\nAddress=10.9.9.9/32\n\n[Address]\nAddress=2001:DB8::100/128\n\n[Address]\nAddress=not-an-address\n',
    [dropIn]: '# Rendered by lvsc for host web1: lvsc\'s additions to eth0\n[Network]\n\n[Address]\nAddress=10.1.0.100/32\nLabel=eth0:lvs\n',
    [fou]: '# Rendered by lvsc for host web1: GUE decapsulation on UDP port 6080\n[NetDev]\nName=fou6080\nKind=fou\n\n[FooOverUDP]\nPort=6080\n',
    [badFou]: '# Rendered by lvsc for host web1: GUE decapsulation on UDP port 7000\n[NetDev]\nName=fou7000\nKind=fou\n\n[FooOverUDP]\nPort=7001\n',
    [PATHS.sysctl]: '# Rendered by lvsc for host web1: the kernel settings LVS needs here.\n# lvsc owns this file; edit the cluster description instead.\nnet.ipv4.conf.lo.arp_ignore = 1\nnet.ipv4.conf.lo.arp_announce=2\n',
    // The operator's: no header, or not at one of lvsc's paths.
    [PATHS.modules]: 'ip_vs\n',
    [`${PATHS.networkDir}/10-eth0.network`]: '# Rendered by lvsc\n[Address]\nAddress=10.1.0.2/24\n',
    [PATHS.ipvsadmRules]: '-A -t 10.1.0.100:80 -s wlc\n',
  };
  const onServer = legacyOwnership(files, false);
  t.deepEqual(sorted(onServer.value), {
    addresses: ['eth0 10.1.0.100/32', 'lo 2001:db8::100/128'],
    sysctls: ['net.ipv4.conf.lo.arp_ignore'],
    fouPorts: [6080],
    files: [PATHS.sysctl, dropIn, fou, badFou, lo].sort(),
  });
  t.deepEqual(onServer.warnings, [
    `${lo}: skipped \`Address=not-an-address\`: not an address lvsc wrote`,
    `${badFou}: its [FooOverUDP] Port= (7001) is not the port its name says (7000): not taken as lvsc's fou port`,
    `${PATHS.sysctl}: skipped \`net.ipv4.conf.lo.arp_announce=2\`: not a key = value line lvsc wrote`,
  ]);
  // /etc/ipvsadm.rules has no header: lvsc's on a declared director only (the ipvsadm package ships one everywhere).
  t.true(legacyOwnership(files, true).value.files.has(PATHS.ipvsadmRules));
  t.false(onServer.value.files.has(PATHS.ipvsadmRules));
});
