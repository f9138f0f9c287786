/**
 * Every case under agent/testdata/facts/<fact>/<case>.json, pyinfra-style:
 * the fact must still run the recorded command, and reading the recorded
 * output (and exit status) must give exactly the recorded value and warnings,
 * or the recorded error. How each case was produced is in its `source` and in
 * agent/testdata/capture.sh.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { commandLine } from '../../compiler/command.js';
import { nftScript } from '../../compiler/nft.js';
import type { FwmarkRule } from '../../compiler/state.js';
import { factFor, type CaseArgs } from '../testdata/registry.js';
import { readFact, type FactError } from './fact.js';

interface Case {
  source: string;
  command: string;
  args?: CaseArgs;
  output: string;
  status?: number;
  stderr?: string;
  value?: unknown;
  warnings?: string[];
  error?: Partial<FactError>;
  /** nft cases: the script that was applied before the capture. */
  applied?: string;
}

const ROOT = new URL('../testdata/facts/', import.meta.url);

for (const factName of readdirSync(ROOT).sort()) {
  for (const file of readdirSync(new URL(`${factName}/`, ROOT)).filter((f) => f.endsWith('.json')).sort()) {
    const c = JSON.parse(readFileSync(new URL(`${factName}/${file}`, ROOT), 'utf8')) as Case;
    test(`${factName}/${file}`, (t) => {
      t.truthy(c.source, 'every case says where its output came from');
      const fact = factFor(factName, c.args);
      t.is(commandLine(fact.command()), c.command, 'the fact still runs the command the output was captured with');
      if (!('value' in c) && !('error' in c)) return t.fail('no expectation: read the output and write `value` (and `warnings`) or `error`');
      const result = readFact(fact, { stdout: c.output, stderr: c.stderr ?? '', status: c.status ?? 0 });
      if (c.error) {
        t.false(result.ok, 'the case expects an error');
        if (!result.ok) t.like(result.error, c.error);
        return;
      }
      t.true(result.ok, result.ok ? '' : `unexpected error: ${result.error.message}`);
      if (!result.ok) return;
      t.deepEqual(result.value, c.value);
      t.deepEqual(result.warnings, c.warnings ?? []);
      if (c.applied !== undefined) t.is(nftScript(c.value as FwmarkRule[]), c.applied, 'nftScript still writes the rules that were applied');
    });
  }
}
