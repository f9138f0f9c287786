/**
 * What the fleet asks of each host (`factRequestFor`): the IPVS facts only on
 * directors, nftables required only where the host must mark packets, the
 * files lvsc renders there; on the shared example clusters. And how many
 * hosts are worked on at once (`pool`; the `--parallel` option that sets it
 * is read in cli/commands/plan.ts and tested in cli/options.test.ts).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { compileCluster } from '../compiler/compile.js';
import { check } from '../compiler/index.js';
import { hasErrors } from '../lang/diagnostics.js';
import { factRequestFor, pool } from './fleet.js';
import type { FactRequest } from './facts/index.js';
import { MANIFEST_PATH } from '../compiler/manifest.js';
import { KEEPALIVED_NOTIFY } from '../compiler/keepalived.js';

function requests(example: string) {
  const path = `examples/${example}.lvs`;
  const r = check([{ path, text: readFileSync(new URL(`../${path}`, import.meta.url), 'utf8') }]);
  if (!r.cluster || hasErrors(r.diagnostics)) throw new Error(`${path} does not validate`);
  const cluster = r.cluster;
  return new Map(compileCluster(cluster).map((h) => [h.name, factRequestFor(cluster, h)]));
}

test('nft is needed only on a director with fwmark services; IPVS is read only on directors', (t) => {
  const shop = requests('shop-fwmark');
  const web = requests('web-dr');
  const needing = (m: ReturnType<typeof requests>) => [...m].filter(([, r]) => r.needsNft).map(([name]) => name);
  const directors = (m: ReturnType<typeof requests>) => [...m].filter(([, r]) => r.director).map(([name]) => name);
  // shop-fwmark: the pair lb1 and lb2 mark packets for `fwmark 10`; its real servers do not.
  t.deepEqual(needing(shop).sort(), ['lb1', 'lb2']);
  t.deepEqual(directors(shop).sort(), ['lb1', 'lb2']);
  t.deepEqual(needing(web), [], 'no fwmark service, no host needs nft');
  t.deepEqual(directors(web), ['lb1']);
  // lvsc's files are under /etc, but for keepalived's notify script (a program, in /usr/local/lib/lvsc).
  for (const [name, r] of web) t.true(r.files.every((f) => f.startsWith('/etc/') || f === KEEPALIVED_NOTIFY), `${name}: ${r.files.join(' ')}`);
});

test('whether keepalived is enabled at boot is read on the directors with checked services, and nowhere else', (t) => {
  const ha = requests('ha-web');
  t.deepEqual([...ha].filter(([, r]) => r.units?.length).map(([name, r]) => `${name} ${r.units!.join(' ')}`).sort(), ['lb1 keepalived.service', 'lb2 keepalived.service']);
  t.deepEqual([...requests('web-dr')].filter(([, r]) => r.units), [], 'no checks, no unit to read');
});

test('every file lvsc renders on some host is read on every host, so one it no longer renders there is found', (t) => {
  const examples = readdirSync(new URL('../examples/', import.meta.url)).filter((f) => f.endsWith('.lvs')).map((f) => f.slice(0, -4));
  const rendered = new Set<string>();
  const all: FactRequest[] = [];
  for (const example of examples) {
    const path = `examples/${example}.lvs`;
    const r = check([{ path, text: readFileSync(new URL(`../${path}`, import.meta.url), 'utf8') }]);
    if (!r.cluster || hasErrors(r.diagnostics)) continue;
    for (const h of compileCluster(r.cluster)) {
      for (const f of Object.keys(h.state.files)) rendered.add(f);
      all.push(factRequestFor(r.cluster, h));
    }
  }
  t.true(rendered.has('/etc/keepalived/keepalived.conf'), [...rendered].join(' '));
  // networkd files are read by their name patterns; the manifest by a fact of its own.
  const fixed = [...rendered].filter((f) => !f.startsWith('/etc/systemd/network/') && f !== MANIFEST_PATH);
  for (const request of all) {
    for (const f of fixed) t.true(request.files.includes(f), f);
    t.is(request.manifest, MANIFEST_PATH);
    t.false(request.files.includes(MANIFEST_PATH));
  }
});

test('pool works on every item, never more than the limit at once, and the limit is reached', async (t) => {
  for (const [items, limit] of [[25, 10], [3, 10], [7, 1]] as const) {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await pool(Array.from({ length: items }, (_, i) => i), limit, async (i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5 + (i % 3) * 5));
      seen.push(i);
      running--;
    });
    t.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: items }, (_, i) => i), `${items} items, limit ${limit}`);
    t.is(most, Math.min(items, limit), `${items} items, limit ${limit}`);
  }
});
