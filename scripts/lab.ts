/**
 * `npm run lab [-- COMMAND]` (or `npx tsx scripts/lab.ts COMMAND`): `lvsc lab
 * COMMAND` (cli/commands/lab.ts) from source, without building lvsc first;
 * no COMMAND is `lvsc lab demo`. Only `capture [DIR]`, a developer's tool
 * that records real command output for the parser tests (lab/capture.ts), is
 * this file's own. It lives here, not in lab/: lab/ is a library the CLI
 * calls, and imports nothing of cli/. Exit codes are lvsc's: 0 ok, 1 failed,
 * 2 usage error.
 */
import { pathToFileURL } from 'node:url';
import { main as lvsc } from '../cli/main.js';
import { labCapture } from '../lab/capture.js';

const CAPTURE_HELP = `
Also, with npm run lab -- (or npx tsx scripts/lab.ts) only:
  capture [DIR]         record real command output for parser tests (default agent/testdata/lab-captures)
`;

export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'capture') {
    try {
      for (const file of await labCapture({ dir: argv[1] })) console.log(file);
      return 0;
    } catch (e) {
      console.error(`lab: capture: ${(e as Error).message}`);
      return 1;
    }
  }
  const code = await lvsc(['lab', ...(argv.length ? argv : ['demo'])]);
  if (['help', '--help', '-h'].includes(argv[0] ?? '')) process.stdout.write(CAPTURE_HELP);
  return code;
}

// Run only as a script (`npx tsx scripts/lab.ts ...`); importing `main` runs nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
