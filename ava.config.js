// Tests are TypeScript run through tsx: no build step between an edit and a test run.
// `npm test` type-checks the whole tree first, so a type error fails CI too.
export default {
  files: ['scripts/**/*.test.ts', 'lang/**/*.test.ts', 'compiler/**/*.test.ts', 'agent/**/*.test.ts', 'cli/**/*.test.ts', 'lab/**/*.test.ts', 'test/**/*.test.ts', '!test/e2e/**'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '120s',
  workerThreads: false,
};
