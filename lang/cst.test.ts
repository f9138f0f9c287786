/**
 * cst.ts, the CST types to-ast.ts is checked against, is what the grammar
 * generates today: a grammar change without `npm run gen:cst` fails here
 * instead of leaving to-ast.ts typed against labels the parser no longer makes.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { cstTypesText } from './cst-gen.js';

test('lang/cst.ts is what the current grammar generates (npm run gen:cst rewrites it)', (t) => {
  const checkedIn = readFileSync(new URL('./cst.ts', import.meta.url), 'utf8');
  t.is(checkedIn, cstTypesText(), 'lang/cst.ts is stale: run `npm run gen:cst`');
});
