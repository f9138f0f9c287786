/**
 * Traffic counters of the IPVS table, per service and per destination, for
 * `lvsc status`: `ipvsadm -Ln --stats --exact` (totals since each entry was
 * added: connections, packets and bytes in and out) and `ipvsadm -Ln --rate
 * --exact` (the kernel estimator's per-second rates of the same, refreshed
 * about every 2 s). `--exact` prints whole numbers: without it ipvsadm cuts
 * large ones to `12345K`, `678M`. ipvsadm prints one listing per call (given
 * `--stats --rate` it prints only the stats: agent/testdata/lab-captures/),
 * hence two facts.
 *
 * The listing's shape is `-L`'s (agent/facts/listing.ts) with five numbers
 * after the service's identity and after each destination's endpoint; an IPv6
 * fwmark service line reads `FWM  11 IPv6   0 0 0 0 0`.
 */
import type { Fact } from './fact.js';
import { ipvsadmCommand, ipvsadmFailure } from './ipvs.js';
import { numbers, parseListing, type ListedService } from './listing.js';

/** `--stats`: totals since the entry was added. */
export interface Totals {
  readonly conns: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

/** `--rate`: per second, as the kernel's estimator last computed them. */
export interface Rates {
  readonly cps: number;
  readonly inPps: number;
  readonly outPps: number;
  readonly inBps: number;
  readonly outBps: number;
}

export type ServiceTotals = ListedService<Totals, Totals>;
export type ServiceRates = ListedService<Rates, Rates>;

const totals = (words: readonly string[]): Totals | undefined => {
  const n = numbers(words, 5);
  return n && { conns: n[0], inPackets: n[1], outPackets: n[2], inBytes: n[3], outBytes: n[4] };
};

const rates = (words: readonly string[]): Rates | undefined => {
  const n = numbers(words, 5);
  return n && { cps: n[0], inPps: n[1], outPps: n[2], inBps: n[3], outBps: n[4] };
};

export const statsFact: Fact<ServiceTotals[]> = {
  name: 'stats',
  tool: 'ipvsadm',
  command: () => ipvsadmCommand('-Ln', '--stats', '--exact'),
  parse: (stdout) => parseListing(stdout, totals, totals),
  whenFailed: ipvsadmFailure,
};

export const rateFact: Fact<ServiceRates[]> = {
  name: 'rate',
  tool: 'ipvsadm',
  command: () => ipvsadmCommand('-Ln', '--rate', '--exact'),
  parse: (stdout) => parseListing(stdout, rates, rates),
  whenFailed: ipvsadmFailure,
};
