/**
 * The text of cst.ts: the CST node types Chevrotain's `generateCstDts` derives
 * from the grammar's productions, under a header that says where they come
 * from. `npm run gen:cst` writes it; cst.test.ts fails when the checked-in
 * file is not what the current grammar generates.
 */
import { generateCstDts } from './chevrotain.js';
import { parser } from './parser.js';

const HEADER = `// Generated from the grammar in parser.ts by Chevrotain's generateCstDts: do not edit.
// Regenerate with \`npm run gen:cst\` after a grammar change (lang/cst.test.ts fails until then).
// A child the grammar requires can still be absent after error recovery: to-ast.ts reads
// every child list through Partial<...> and treats a missing one as not written.

`;

export function cstTypesText(): string {
  return HEADER + generateCstDts(parser.getGAstProductions(), { includeVisitorInterface: false });
}
