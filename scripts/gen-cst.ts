// Writes lang/cst.ts, the CST node types of the grammar (`npm run gen:cst`).
import { writeFileSync } from 'node:fs';
import { cstTypesText } from '../lang/cst-gen.js';

const target = new URL('../lang/cst.ts', import.meta.url);
writeFileSync(target, cstTypesText());
console.log(`wrote ${target.pathname}`);
