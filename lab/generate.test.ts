/**
 * The bench's generated cluster and its keepalived.conf twin (bench/versus.ts
 * compares `lvsc validate` with `keepalived -t` on them): keepalived 2.2.7
 * accepts the file without a word, and it describes exactly the IPVS table
 * lvsc compiles for the director from the .lvs text.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCluster } from '../compiler/compile.js';
import { check } from '../compiler/index.js';
import { assertPrograms } from '../test/support/host.js';
import { generateCluster, generateKeepalivedConf } from './generate.js';

const KEEPALIVED = '/usr/sbin/keepalived';
const shape = { services: 40, serversPerService: 5 };

test('keepalived -t accepts the generated keepalived.conf and says nothing', (t) => {
  assertPrograms('lab/generate.test.ts', [KEEPALIVED]);
  const dir = mkdtempSync(join(tmpdir(), 'lvsc-generate-'));
  try {
    const file = join(dir, 'keepalived.conf');
    writeFileSync(file, generateKeepalivedConf(shape));
    const r = spawnSync(KEEPALIVED, ['-t', '-f', file], { encoding: 'utf8' });
    t.is(r.status, 0, `${r.stdout}${r.stderr}`);
    t.is(`${r.stdout}${r.stderr}`.trim(), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** One line per destination: the service's address, scheduler, method, persistence, and the server's address, weight, thresholds. */
function fromKeepalived(text: string): string[] {
  const out: string[] = [];
  for (const block of text.split(/^(?=virtual_server )/m).slice(1)) {
    const [, vip, port] = /^virtual_server (\S+) (\d+) \{$/m.exec(block)!;
    const sched = /^ {2}lvs_sched (\S+)$/m.exec(block)![1];
    const method = /^ {2}lvs_method (\S+)$/m.exec(block)![1].toLowerCase();
    const timeout = /^ {2}persistence_timeout (\d+)$/m.exec(block)?.[1] ?? '-';
    const mask = /^ {2}persistence_granularity (\S+)$/m.exec(block)?.[1] ?? '-';
    for (const rs of block.split(/^(?= {2}real_server )/m).slice(1)) {
      const [, address, rport] = /^ {2}real_server (\S+) (\d+) \{$/m.exec(rs)!;
      const weight = /^ {4}weight (\d+)$/m.exec(rs)![1];
      const upper = /^ {4}uthreshold (\d+)$/m.exec(rs)?.[1] ?? '0';
      const lower = /^ {4}lthreshold (\d+)$/m.exec(rs)?.[1] ?? '0';
      out.push(`${vip}:${port} ${sched} ${method} ${timeout} ${mask} ${address}:${rport} ${weight} ${upper} ${lower}`);
    }
  }
  return out.sort();
}

test('the keepalived.conf holds the same services, servers, weights, thresholds, schedulers and persistence as the .lvs text', (t) => {
  const r = check([{ path: 'generated.lvs', text: generateCluster(shape).text }]);
  t.deepEqual(r.diagnostics, []);
  const lb1 = compileCluster(r.cluster!).find((h) => h.name === 'lb1')!;
  const fromLvsc = lb1.state.ipvs!.flatMap((s) => {
    if (s.id.kind !== 'addr') throw new Error('the generated cluster has no fwmark services');
    const svc = `${s.id.address}:${s.id.port} ${s.scheduler}`;
    const persistence = s.persistence ? `${s.persistence.timeout} ${s.persistence.netmask ?? '-'}` : '- -';
    return s.destinations.map((d) => `${svc} ${d.method} ${persistence} ${d.address}:${d.port} ${d.weight} ${d.upper} ${d.lower}`);
  });
  t.is(fromLvsc.length, shape.services * shape.serversPerService);
  t.deepEqual(fromKeepalived(generateKeepalivedConf(shape)), fromLvsc.sort());
});
