/**
 * The name rules' work grows with the file, not with its square: counted, not
 * timed. Each case runs a rule at n and 4n declarations and counts the steps it
 * takes: linear work (a·n + b) takes four times the steps at 4n, give or take
 * its constant b, quadratic work sixteen times; the bound is five.
 *
 * - duplicates were grouped by copying each group for every member (10,000
 *   duplicate services: 50 million element copies); counted: array elements
 *   iterated (spreads and for-of both iterate).
 * - `via` loops were found by walking the chain from every host, with a list
 *   lookup per step (a chain of 4,000 hosts took 80 s); counted: host lookups
 *   by name.
 * - a VIP was compared with every interface of every host, per service;
 *   counted: reads of a host's interfaces.
 */
import test from 'ava';
import type { Diagnostic } from '../../lang/diagnostics.js';
import { parse } from '../../lang/index.js';
import type { Cluster, Host } from '../ir.js';
import { lower } from '../lower.js';
import type { RuleContext } from './context.js';
import { duplicateHosts, duplicateServices, vipNotHostAddress, viaChain } from './names.js';

function cluster(text: string): Cluster {
  return lower([parse({ path: 'scale.lvs', text }).file], () => {});
}

function context(c: Cluster): { ctx: RuleContext; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  return { ctx: { cluster: c, accept: (d) => diagnostics.push(d) }, diagnostics };
}

/** Array elements iterated while `run` runs (by spreads, for-of, Array.from ...). */
function arrayStepsOf(run: () => void): number {
  const iterate = Array.prototype[Symbol.iterator];
  let steps = 0;
  Array.prototype[Symbol.iterator] = function (this: unknown[]) {
    steps += this.length;
    return iterate.call(this);
  };
  try {
    run();
  } finally {
    Array.prototype[Symbol.iterator] = iterate;
  }
  return steps;
}

function linear(t: { true(value: boolean, message?: string): boolean }, steps: (n: number) => number, n: number, what: string): void {
  const small = steps(n);
  const large = steps(4 * n);
  t.true(small > 0, `${what}: the count counts something`);
  t.true(large <= 5 * small, `${what}: ${small} steps for ${n}, ${large} for ${4 * n} (linear: about ${4 * small}, quadratic ${16 * small})`);
}

test('duplicate hosts and services are grouped in one pass: the steps grow as the declarations', (t) => {
  const duplicates = (n: number) => {
    let text = '';
    for (let i = 0; i < n; i++) text += 'host h {\n  ssh 10.0.0.1\n}\nservice s {\n  vip 10.0.0.100 tcp 80\n}\n';
    return cluster(text);
  };
  const steps = (n: number) => {
    const c = duplicates(n);
    const { ctx, diagnostics } = context(c);
    const counted = arrayStepsOf(() => {
      duplicateHosts(c, ctx);
      duplicateServices(c, ctx);
    });
    // Every declaration is reported, by name and (services) by VIP.
    t.is(diagnostics.length, 3 * n);
    return counted;
  };
  linear(t, steps, 1000, 'duplicates');
});

/** A Map that counts its lookups. */
class CountingMap<K, V> extends Map<K, V> {
  lookups = 0;
  override get(key: K): V | undefined {
    this.lookups++;
    return super.get(key);
  }
  override has(key: K): boolean {
    this.lookups++;
    return super.has(key);
  }
}

test('jump host chains and loops are followed once for the whole cluster: the lookups grow as the hosts', (t) => {
  // A chain h0 ← h1 ← ... and a loop l0 → l1 → ... → l0, n hosts each.
  const hosts = (n: number) => {
    let text = 'host h0 {\n  ssh 10.0.0.1\n}\n';
    for (let i = 1; i < n; i++) text += `host h${i} {\n  ssh 10.0.0.1 via h${i - 1}\n}\n`;
    for (let i = 0; i < n; i++) text += `host l${i} {\n  ssh 10.0.0.1 via l${(i + 1) % n}\n}\n`;
    return cluster(text);
  };
  const lookups = (n: number) => {
    const c = hosts(n);
    const byName = new CountingMap(c.hostsByName);
    const counted = { ...c, hostsByName: byName };
    const { ctx, diagnostics } = context(counted);
    for (const h of counted.hosts) viaChain(h, ctx);
    t.is(diagnostics.length, n, 'each host of the loop is reported');
    return byName.lookups;
  };
  linear(t, lookups, 300, 'via');
});

test('a long loop is named by its first hosts and its end, not host by host in each of its messages', (t) => {
  let text = '';
  for (let i = 0; i < 1000; i++) text += `host l${i} {\n  ssh 10.0.0.1 via l${(i + 1) % 1000}\n}\n`;
  const c = cluster(text);
  const { ctx, diagnostics } = context(c);
  for (const h of c.hosts) viaChain(h, ctx);
  t.is(diagnostics.length, 1000);
  t.is(
    /goes (.*)\. A jump/.exec(diagnostics[5].detail!)![1],
    'l5 → l6 → l7 → l8 → l9 → l10 → l11 → l12 → … (991 more) → l4 → l5',
  );
});

test('a loop message names the hosts of a short loop in order, from the host reported', (t) => {
  const c = cluster('host a {\n  ssh 10.0.0.1 via b\n}\nhost b {\n  ssh 10.0.0.2 via c\n}\nhost c {\n  ssh 10.0.0.3 via a\n}\nhost d {\n  ssh 10.0.0.4 via a\n}\n');
  const { ctx, diagnostics } = context(c);
  for (const h of c.hosts) viaChain(h, ctx);
  t.deepEqual(
    diagnostics.map((d) => /goes (.*)\. A jump/.exec(d.detail!)![1]),
    ['a → b → c → a', 'b → c → a → b', 'c → a → b → c'],
    'd leads into the loop but is not on it',
  );
});

test('VIPs are compared with an index of interface addresses built once: the reads grow as the hosts and services', (t) => {
  const reads = (n: number) => {
    let text = '';
    for (let i = 0; i < n; i++) text += `host h${i} {\n  interface eth0 10.0.${i >> 8}.${i & 255}/16\n}\n`;
    for (let i = 0; i < n; i++) text += `service s${i} {\n  vip 10.1.${i >> 8}.${i & 255} tcp 80\n}\n`;
    // One VIP that is a host's address, so the rule has something to say.
    text += 'service clash {\n  vip 10.0.0.0 tcp 80\n}\n';
    const c = cluster(text);
    let count = 0;
    const hosts = c.hosts.map((h) =>
      Object.create(h, {
        interfaces: {
          get: () => {
            count++;
            return h.interfaces;
          },
        },
      }) as Host,
    );
    const counted = { ...c, hosts };
    const { ctx, diagnostics } = context(counted);
    for (const s of counted.services) vipNotHostAddress(s, ctx);
    t.deepEqual(
      diagnostics.map((d) => d.summary),
      ['VIP 10.0.0.0 is also an interface address of host h0'],
    );
    return count;
  };
  linear(t, reads, 300, 'vips');
});
