/**
 * The vocabulary (compiler/lvs.ts) drives the compiler: each tunnel type in
 * TUNNELS, over either family, compiles to what that type needs on both sides,
 * and every sysctl the compiler sets has a kernel default to go back to. The
 * cases come from the vocabulary itself, so a new tunnel type is tested here
 * without a new test.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { hasErrors } from '../lang/diagnostics.js';
import { compileCluster } from './compile.js';
import type { DesiredHost } from './desired.js';
import { check } from './index.js';
import { saveLines } from './ipvsadm.js';
import { deviceSysctl, FOU_MODULE, fouLinkName, OWN_LABEL_SUFFIX, sysctlDefault, TUN_TYPES, TUNNELS } from './lvs.js';
import { buildPlan } from './order.js';
import type { Family } from './state.js';

const FAMILIES: readonly Family[] = [4, 6];
const GUE_PORT = 6080;

/** One director and one real server on a shared segment; one TUN service per tunnel type and family. */
function tunnelCluster(): string {
  const services = TUN_TYPES.flatMap((type, i) =>
    FAMILIES.map((family) =>
      [
        `service ${type}${family} {`,
        `  vip ${family === 4 ? `192.0.2.${100 + i}` : `[2001:db8::${100 + i}]`} tcp 80`,
        `  forward tun ${type}${TUNNELS[type].udpPort ? ` port ${GUE_PORT}` : ''}`,
        '  server rs1',
        '}',
      ].join('\n'),
    ),
  );
  return [
    'defaults {\n  ssh user root\n}',
    'host lb1 {\n  ssh 192.0.2.2\n  interface eth0 192.0.2.2/24\n  interface eth0 2001:db8::2/64\n  gateway 192.0.2.1\n}',
    'host rs1 {\n  ssh 192.0.2.21\n  interface eth0 192.0.2.21/24\n  interface eth0 2001:db8::21/64\n  gateway 192.0.2.1\n}',
    'director lb1',
    ...services,
  ].join('\n\n') + '\n';
}

function compile(path: string, text: string): DesiredHost[] {
  const r = check([{ path, text }]);
  if (!r.cluster || hasErrors(r.diagnostics)) throw new Error(`${path} does not validate: ${r.diagnostics.map((d) => `${d.code} ${d.summary}`).join('; ')}`);
  return compileCluster(r.cluster);
}

test('every tunnel type over IPv4 and IPv6: the real server gets its device, module and rp_filter, the VIP on that device in a file of lvsc\'s own; the director\'s rule names the type', (t) => {
  const desired = compile('tunnels.lvs', tunnelCluster());
  const rs = desired.find((d) => d.name === 'rs1')!.state;
  const lb = desired.find((d) => d.name === 'lb1')!.state;
  const rules = saveLines(lb.ipvs!);
  TUN_TYPES.forEach((type, i) => {
    const tunnel = TUNNELS[type];
    for (const family of FAMILIES) {
      const device = tunnel.devices[family];
      const vip = family === 4 ? `192.0.2.${100 + i}` : `2001:db8::${100 + i}`;
      const what = `${type} over IPv${family}`;
      t.true(rs.modules.includes(device.module), `${what}: module ${device.module}`);
      t.deepEqual(rs.links.find((l) => l.name === device.name), { name: device.name, kind: device.kind, up: true }, `${what}: ${device.name} up`);
      t.is(rs.sysctls[deviceSysctl(device.name, 'rp_filter')], '0', `${what}: no reverse-path filter on ${device.name}`);
      const address = rs.addresses.find((a) => a.address === vip);
      t.is(address?.dev, device.name, `${what}: the VIP on ${device.name}`);
      if (family === 4) t.is(address?.label, `${device.name}${OWN_LABEL_SUFFIX}`, `${what}: the VIP carries lvsc's label`);
      t.true(rs.files[`/etc/systemd/network/50-lvsc-${device.name}.network`]?.includes(vip), `${what}: ${device.name} is a device lvsc owns, with a networkd file of its own`);
      const rule = rules.find((l) => l.startsWith('-a ') && l.includes(family === 4 ? `${vip}:80 ` : `[${vip}]:80 `));
      t.regex(rule ?? '', new RegExp(` -i .*--tun-type ${type}(\\s|$)`), `${what}: the director's rule`);
      t.is(rule?.includes('--tun-port'), tunnel.udpPort, `${what}: a tunnel port exactly when the type has one`);
      t.is(rule?.includes('csum'), tunnel.checksum, `${what}: a checksum option exactly when the type has one`);
    }
    if (tunnel.udpPort) {
      t.true(rs.modules.includes(FOU_MODULE), `${type}: fou`);
      t.deepEqual(rs.links.find((l) => l.kind === 'fou'), { name: fouLinkName(GUE_PORT), kind: 'fou', up: true, port: GUE_PORT }, `${type}: its UDP port open`);
    }
  });
  // And an empty host is brought there: each device is set up.
  const plan = buildPlan(desired).hosts.find((h) => h.host === 'rs1')!;
  for (const type of TUN_TYPES) {
    for (const family of FAMILIES) {
      const name = TUNNELS[type].devices[family].name;
      t.true(
        plan.steps.some((s) => s.kind === 'link' && s.id.name === name),
        `the plan sets ${name} up`,
      );
    }
  }
});

test('every sysctl the compiler sets, in the examples and on every tunnel, has a kernel default lvsc can put back', (t) => {
  const examples = new URL('../examples/', import.meta.url);
  const clusters = readdirSync(examples)
    .filter((f) => f.endsWith('.lvs'))
    .map((f) => compile(`examples/${f}`, readFileSync(new URL(f, examples), 'utf8')));
  const keys = new Set([...clusters, compile('tunnels.lvs', tunnelCluster())].flat().flatMap((h) => Object.keys(h.state.sysctls)));
  t.true(keys.size > 10, `${keys.size} sysctls`);
  for (const key of keys) t.not(sysctlDefault(key), undefined, key);
});

test('a VLAN device\'s sysctl key writes the dot of its name as sysctl reads it: eth0.100 → eth0/100', (t) => {
  t.is(deviceSysctl('eth0.100', 'arp_ignore'), 'net.ipv4.conf.eth0/100.arp_ignore');
  t.is(deviceSysctl('bond0.7.12', 'rp_filter'), 'net.ipv4.conf.bond0/7/12.rp_filter');
  t.is(deviceSysctl('eth0', 'arp_announce'), 'net.ipv4.conf.eth0.arp_announce');
  t.is(sysctlDefault(deviceSysctl('eth0.100', 'arp_ignore')), '0');
});
