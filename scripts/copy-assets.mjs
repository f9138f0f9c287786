// The compiled compiler reads its handlebars templates beside itself
// (dist/compiler/templates/); tsc copies only code, so the build copies these.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';

const from = new URL('../compiler/templates/', import.meta.url);
const to = new URL('../dist/compiler/templates/', import.meta.url);
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from).filter((f) => f.endsWith('.hbs'))) cpSync(new URL(name, from), new URL(name, to));
