// The build starts from an empty dist/, so nothing a former build (or a file
// since moved or deleted) left there is packed or run.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true });
