// `npm run test:e2e`: the lab's smoke test and the end-to-end tests, which need the lab VM
// (lab/README.md). Kept out of `npm test` (ava.config.js) for CI time. Run with --serial:
// both files change the lab's hosts, one file at a time.
import base from './ava.config.js';

export default {
  ...base,
  files: ['lab/**/*.test.ts', 'test/e2e/**/*.test.ts'],
};
