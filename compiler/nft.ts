/**
 * lvsc's nftables table, which sets the firewall marks of fwmark services:
 * the script that makes the table hold exactly the given rules (`nft -f -`),
 * and the shape the nft fact reads back (agent/facts/nft.ts).
 *
 * The table is lvsc's alone: `table inet lvsc`, one chain `prerouting`
 * (filter hook at mangle priority, so the mark is set before IPVS looks at the
 * packet), one rule per match:
 *
 *   ip daddr 10.2.0.100 tcp dport { 80, 443 } meta mark set 10
 *   ip6 daddr 2001:db8:2::100 tcp dport 443 meta mark set 11
 *   ip daddr 10.2.0.102 meta l4proto sctp meta mark set 12      (no ports: every port)
 *
 * The script adds the table (a no-op if it exists), deletes it, and creates it
 * again with its rules, all in one `nft -f` transaction: the rules are
 * replaced with no moment without marks, and hand edits inside the table are
 * reverted. With no rules it only removes the table.
 */
import { canonicalAddress, familyOf } from '../lang/address.js';
import type { FwmarkRule } from './state.js';

export const NFT_FAMILY = 'inet';
export const NFT_TABLE = 'lvsc';
export const NFT_CHAIN = 'prerouting';
/** The chain's declaration as nft lists it. */
export const NFT_CHAIN_SPEC = { type: 'filter', hook: 'prerouting', prio: -150, policy: 'accept' } as const;

/** One rule's text, as `nft list` prints it (marks in decimal rather than nft's hex). */
export function nftRule(rule: FwmarkRule): string {
  if (canonicalAddress(rule.address) !== rule.address || familyOf(rule.address) !== rule.family) {
    throw new Error(`bug: fwmark rule address ${rule.address} is not a canonical IPv${rule.family} address`);
  }
  const ports = [...new Set(rule.ports)].sort((a, b) => a - b);
  const parts = [rule.family === 6 ? 'ip6' : 'ip', 'daddr', rule.address];
  if (ports.length === 0) parts.push('meta', 'l4proto', rule.proto);
  else if (ports.length === 1) parts.push(rule.proto, 'dport', String(ports[0]));
  else parts.push(rule.proto, 'dport', `{ ${ports.join(', ')} }`);
  parts.push('meta', 'mark', 'set', String(rule.mark));
  return parts.join(' ');
}

/** The `nft -f` input that leaves the table holding exactly these rules (none: no table). */
export function nftScript(rules: readonly FwmarkRule[]): string {
  const t = `${NFT_FAMILY} ${NFT_TABLE}`;
  const lines = [`table ${t}`, `delete table ${t}`];
  if (rules.length) {
    const c = NFT_CHAIN_SPEC;
    lines.push(
      `table ${t} {`,
      `\tchain ${NFT_CHAIN} {`,
      `\t\ttype ${c.type} hook ${c.hook} priority mangle; policy ${c.policy};`,
      ...rules.map((r) => `\t\t${nftRule(r)}`),
      '\t}',
      '}',
    );
  }
  return lines.map((l) => `${l}\n`).join('');
}
