// `npm run test:e2e` (the second half of `npm test`): the end-to-end tests in test/e2e/,
// which configure the lab VM with lvsc (lab/README.md). `npm run test:unit` runs the rest,
// the lab's smoke test included. One file at a time: each file changes the lab's hosts
// (the files also take turns through labExclusive, with any other run on this checkout).
import base from './ava.config.js';

export default {
  ...base,
  files: ['test/e2e/**/*.test.ts'],
  serial: true,
  concurrency: 1,
};
