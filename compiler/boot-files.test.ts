/**
 * What brings a director's marks and timeouts back after a reboot: the files
 * render.ts writes for them say exactly what apply runs (the same nft table,
 * the same `ipvsadm --set`), only on directors, and only when the file asks
 * for them. (Their removal with the service is compiler/testdata/diff/
 * fwmark-service-removed-with-boot-files.json; their effect at a boot,
 * test/e2e/schedulers-changes.test.ts.)
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { compileCluster } from './compile.js';
import { replaceNftTable } from './host-commands.js';
import { check } from './index.js';
import { setTimeouts } from './ipvsadm.js';
import { PATHS } from './templates/render.js';

function compiled(example: string, edit: (text: string) => string = (t) => t) {
  const text = edit(readFileSync(new URL(`../examples/${example}`, import.meta.url), 'utf8'));
  const r = check([{ path: example, text }]);
  if (!r.cluster || r.diagnostics.length) throw new Error(`${example} does not validate: ${r.diagnostics.map((d) => d.summary).join('; ')}`);
  return new Map(compileCluster(r.cluster).map((h) => [h.name, h]));
}

const BOOT = [PATHS.fwmarkNft, PATHS.ipvsadmUnit, PATHS.nftablesUnit];
const execs = (unit: string | undefined, key: string) => [...(unit ?? '').matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);

test('a director with a fwmark service: its nft file is the table apply loads, which the ipvsadm and nftables services load again at boot', (t) => {
  const hosts = compiled('shop-fwmark.lvs');
  for (const name of ['lb1', 'lb2']) {
    const { state } = hosts.get(name)!;
    const nft = state.files[PATHS.fwmarkNft];
    t.truthy(nft, `${name} has ${PATHS.fwmarkNft}`);
    t.is(replaceNftTable(state.fwmarkRules).stdin, nft.replace(/^#.*\n/gm, ''), `${name}: the file without its comments is apply's nft -f input`);
    t.deepEqual(execs(state.files[PATHS.ipvsadmUnit], 'ExecStartPost'), [`-/usr/sbin/nft -f ${PATHS.fwmarkNft}`]);
    t.deepEqual(execs(state.files[PATHS.nftablesUnit], 'ExecStartPost'), [`-/usr/sbin/nft -f ${PATHS.fwmarkNft}`]);
    t.deepEqual(execs(state.files[PATHS.nftablesUnit], 'ExecReload'), [`-/usr/sbin/nft -f ${PATHS.fwmarkNft}`]);
  }
  for (const name of ['shop1', 'shop2']) t.deepEqual(BOOT.filter((p) => p in hosts.get(name)!.state.files), [], `${name} (a real server) gets none of them`);
});

test('a director with timeouts: the ipvsadm service sets them after its restore, as apply does; without fwmark services, no nft file', (t) => {
  const { state } = compiled('web-dr.lvs').get('lb1')!;
  t.truthy(state.timeouts);
  const argv = setTimeouts(state.timeouts!).argv;
  t.deepEqual(execs(state.files[PATHS.ipvsadmUnit], 'ExecStartPost'), [`-/sbin/${argv.join(' ')}`]);
  t.false(PATHS.fwmarkNft in state.files);
  t.false(PATHS.nftablesUnit in state.files);
});

test('a director with neither timeouts nor fwmark services gets no boot unit', (t) => {
  const { state } = compiled('web-dr.lvs', (text) => text.replace(/^timeouts \{[^}]*\}\n/m, '')).get('lb1')!;
  t.is(state.timeouts, null);
  t.deepEqual(BOOT.filter((p) => p in state.files), []);
});
