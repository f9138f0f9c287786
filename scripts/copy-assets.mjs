// tsc copies only code; the build copies what the compiled code reads beside
// itself: the compiler's handlebars templates (dist/compiler/templates/) and
// the lab guest's boot files (dist/lab/guest/, for `lvsc lab up` when built).
import { cpSync, mkdirSync, readdirSync } from 'node:fs';

const assets = [
  ['compiler/templates/', (name) => name.endsWith('.hbs')],
  ['lab/guest/', () => true],
];
for (const [dir, wanted] of assets) {
  const from = new URL(`../${dir}`, import.meta.url);
  const to = new URL(`../dist/${dir}`, import.meta.url);
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).filter(wanted)) cpSync(new URL(name, from), new URL(name, to));
}
