/**
 * `nft -j list table inet lvsc` → the fwmark rules in lvsc's own table
 * (compiler/nft.ts writes them). No table yet is no rules, not an error (nft
 * says "No such file or directory"). A rule this parser does not recognise, or
 * one outside lvsc's chain, is skipped and reported: the live rules then differ
 * from the desired ones and the plan rewrites the table, which is what a hand
 * edit inside lvsc's table should get.
 */
import { cmd } from '../../compiler/command.js';
import { NFT_CHAIN, NFT_CHAIN_SPEC, NFT_FAMILY, NFT_TABLE } from '../../compiler/nft.js';
import type { Family, FwmarkRule, Proto } from '../../compiler/state.js';
import { canonicalAddress, familyOf } from '../../lang/address.js';
import { firstLines, isRecord, parseJson, preview, type Fact } from './fact.js';

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

function ports(right: unknown): number[] | undefined {
  if (typeof right === 'number') return [right];
  if (!isRecord(right) || !Array.isArray(right.set)) return undefined;
  const out: number[] = [];
  for (const e of right.set) {
    if (typeof e === 'number') out.push(e);
    else if (isRecord(e) && Array.isArray(e.range) && typeof e.range[0] === 'number' && typeof e.range[1] === 'number') {
      for (let p = e.range[0]; p <= e.range[1]; p++) out.push(p);
    } else return undefined;
  }
  return out;
}

/** One rule's expressions → a fwmark rule, or why not. */
function readRule(expr: unknown[]): FwmarkRule | string {
  let address: string | undefined;
  let family: Family | undefined;
  let proto: Proto | undefined;
  let portList: number[] = [];
  let mark: number | undefined;
  for (const e of expr) {
    if (isRecord(e) && isRecord(e.match) && e.match.op === '==' && isRecord(e.match.left)) {
      const { left, right } = e.match as { left: Record<string, unknown>; right: unknown };
      const payload = isRecord(left.payload) ? left.payload : undefined;
      const meta = isRecord(left.meta) ? left.meta : undefined;
      if (payload && (payload.protocol === 'ip' || payload.protocol === 'ip6') && payload.field === 'daddr') {
        if (isRecord(right) && isRecord(right.prefix)) return `destination ${String(right.prefix.addr)}/${String(right.prefix.len)} is a network, not one address`;
        address = typeof right === 'string' ? canonicalAddress(right) : undefined;
        family = payload.protocol === 'ip6' ? 6 : 4;
        if (!address || familyOf(address) !== family) return `destination ${preview(right)} is not one IPv${family} address`;
        continue;
      }
      if (payload && typeof payload.protocol === 'string' && PROTOS.has(payload.protocol) && payload.field === 'dport') {
        const p = ports(right);
        if (!p) return `ports ${preview(right)} not understood`;
        proto = payload.protocol as Proto;
        portList = p;
        continue;
      }
      if (meta && meta.key === 'l4proto' && typeof right === 'string' && PROTOS.has(right)) {
        proto = right as Proto;
        continue;
      }
    }
    if (isRecord(e) && isRecord(e.mangle) && isRecord(e.mangle.key) && isRecord(e.mangle.key.meta) && e.mangle.key.meta.key === 'mark' && typeof e.mangle.value === 'number') {
      mark = e.mangle.value;
      continue;
    }
    return `expression ${preview(e, 100)} not understood`;
  }
  if (!address || !family || !proto || mark === undefined) return 'not a destination + protocol + mark rule';
  return { family, proto, address, ports: [...new Set(portList)].sort((a, b) => a - b), mark };
}

export const nftFact: Fact<FwmarkRule[]> = {
  name: 'nft',
  tool: 'nft',
  command: () => cmd('nft', '-j', 'list', 'table', NFT_FAMILY, NFT_TABLE),
  parse(stdout) {
    const value: FwmarkRule[] = [];
    const warnings: string[] = [];
    const json = parseJson(stdout, 'nft -j list table');
    if (!json.ok) return { value, warnings: [], unreadable: [json.warning] };
    const items = isRecord(json.value) && Array.isArray(json.value.nftables) ? json.value.nftables : undefined;
    if (!items) return { value, warnings: [], unreadable: ['nft -j list table: no "nftables" list in the output'] };
    const ourChain = (c: Record<string, unknown>) =>
      c.name === NFT_CHAIN && c.type === NFT_CHAIN_SPEC.type && c.hook === NFT_CHAIN_SPEC.hook && c.prio === NFT_CHAIN_SPEC.prio && c.policy === NFT_CHAIN_SPEC.policy;
    const chains = new Map<string, boolean>();
    for (const item of items) {
      if (!isRecord(item)) continue;
      if (isRecord(item.chain) && typeof item.chain.name === 'string') {
        const ok = ourChain(item.chain);
        chains.set(item.chain.name, ok);
        if (!ok) warnings.push(`chain ${item.chain.name} of table ${NFT_FAMILY} ${NFT_TABLE} is not the one lvsc creates (hand edit?): its rules are not counted`);
        continue;
      }
      if (!isRecord(item.rule)) continue;
      const r = item.rule;
      const where = `rule ${String(r.handle)} in chain ${String(r.chain)}`;
      if (!chains.get(String(r.chain))) continue;
      const rule = Array.isArray(r.expr) ? readRule(r.expr) : 'no expressions';
      if (typeof rule === 'string') warnings.push(`skipped ${where} of table ${NFT_FAMILY} ${NFT_TABLE}: ${rule} (hand edit?)`);
      else value.push(rule);
    }
    return { value, warnings };
  },
  whenFailed(status, stderr) {
    if (/No such file or directory/.test(stderr)) return { value: [], warnings: [] }; // no lvsc table yet
    if (/not supported/i.test(stderr)) return { kind: 'unsupported', message: `the kernel has no nf_tables: ${firstLines(stderr, 1)}` };
    return undefined;
  },
};
