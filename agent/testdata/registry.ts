/**
 * The facts the testdata folders are named after (agent/testdata/facts/<name>/),
 * built from a case's `args` where the fact takes parameters. Shared by the
 * table-driven test and by capture.sh, which asks it for each fact's command line.
 */
import { addressesFact } from '../facts/addresses.js';
import { connectionsFact } from '../facts/connections.js';
import { daemonFact } from '../facts/daemon.js';
import type { Fact } from '../facts/fact.js';
import { filesFact } from '../facts/files.js';
import { ipvsFact } from '../facts/ipvs.js';
import { manifestFact } from '../facts/manifest.js';
import { fouFact, linksFact } from '../facts/links.js';
import { modulesFact } from '../facts/modules.js';
import { nftFact } from '../facts/nft.js';
import { routes6Fact, routesFact } from '../facts/routes.js';
import { sysctlFact } from '../facts/sysctl.js';
import { thresholdsFact } from '../facts/thresholds.js';
import { timeoutsFact } from '../facts/timeouts.js';
import { unitsFact } from '../facts/units.js';

export interface CaseArgs {
  readonly keys?: readonly string[];
  readonly paths?: readonly string[];
  readonly globs?: readonly string[];
  readonly units?: readonly string[];
}

const FIXED: Readonly<Record<string, Fact<unknown>>> = {
  ipvs: ipvsFact,
  thresholds: thresholdsFact,
  connections: connectionsFact,
  timeouts: timeoutsFact,
  daemon: daemonFact,
  addresses: addressesFact,
  routes: routesFact,
  routes6: routes6Fact,
  links: linksFact,
  fou: fouFact,
  modules: modulesFact,
  nft: nftFact,
};

export function factFor(name: string, args: CaseArgs = {}): Fact<unknown> {
  if (name === 'sysctl') return sysctlFact(args.keys ?? []);
  if (name === 'files') return filesFact(args.paths ?? [], args.globs ?? []);
  if (name === 'manifest') return manifestFact(args.paths?.[0]);
  if (name === 'units') return unitsFact(args.units ?? [], args.paths?.[0]);
  const fact = FIXED[name];
  if (!fact) throw new Error(`no fact named ${name} (testdata folder agent/testdata/facts/${name})`);
  return fact;
}
