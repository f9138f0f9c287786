/**
 * What error recovery costs, counted rather than timed: to recover from a
 * syntax error, Chevrotain asks which tokens may follow the grammar position it
 * stands at, and works that out by walking the grammar from the top rule. The
 * answer depends on the position only, and this grammar has few positions, so
 * the parser walks each once: a file of 4,000 unclosed blocks walks the grammar
 * as often as one of 1,000 (it used to walk it for every error, 80% of the time
 * of such a file: 50,000 `service a {` lines took 3.7 CPU-seconds, now 1.6).
 */
import test from 'ava';
import { CstParser } from './chevrotain.js';
import { lex } from './lexer.js';
import { LvsParser } from './parser.js';
import { source } from './test-support.js';

/** How often one parse of `text` by a fresh parser calls Chevrotain's own `method` (below whatever LvsParser puts in front of it), and the syntax errors it recovered from. */
function callsToParse(method: 'getNextPossibleTokenTypes' | 'LA', text: string): { calls: number; errors: number } {
  let owner: object | null = CstParser.prototype;
  while (owner && !Object.hasOwn(owner, method)) owner = Object.getPrototypeOf(owner);
  if (!owner) throw new Error(`Chevrotain has no ${method}: what this test counts has changed`);
  const target = owner as Record<string, (...args: unknown[]) => unknown>;
  const original = target[method];
  let calls = 0;
  target[method] = function (this: unknown, ...args: unknown[]) {
    calls++;
    return original.apply(this, args);
  };
  try {
    const parser = new LvsParser();
    const { errors } = parser.parseFile(lex(source(text)).tokens, text);
    return { calls, errors: errors.length };
  } finally {
    target[method] = original;
  }
}

/** The grammar walks of one parse of `text`, and its syntax errors. */
function walksToParse(text: string): { walks: number; errors: number } {
  const { calls, errors } = callsToParse('getNextPossibleTokenTypes', text);
  return { walks: calls, errors };
}

const SHAPES = {
  'unclosed services': 'service a {\n',
  'unclosed hosts': 'host a {\n  ssh 10.0.0.1\n',
  'unclosed fwmark blocks in a service': 'service a {\n  fwmark 1 {\n',
  'services without a name': 'service {\n',
  'servers of unclosed services': 'service a { server b\n',
};

for (const [name, unit] of Object.entries(SHAPES)) {
  test(`recovering from ${name} walks the grammar once per position, not once per error`, (t) => {
    const n = 1000;
    const small = walksToParse(unit.repeat(n));
    const large = walksToParse(unit.repeat(4 * n));
    t.true(small.errors >= n, `every block is an error (${small.errors})`);
    t.is(large.errors, 4 * small.errors, 'four times the blocks, four times the errors');
    t.is(large.walks, small.walks, `walks for ${n} and ${4 * n} blocks`);
    t.true(small.walks <= 50, `a walk per grammar position met (${small.walks})`);
  });
}

/** Tokens looked at (Chevrotain's `LA`) in one parse of `text`, and its syntax errors. */
function lookaheadsToParse(text: string): { lookaheads: number; errors: number } {
  const { calls, errors } = callsToParse('LA', text);
  return { lookaheads: calls, errors };
}

/** A stray word on every server line of one block: each is an error recovered inside the service's repetition of statements. */
const strayWords = (n: number) => 'service www {\n' + '  server web1 weight 3 4\n'.repeat(n) + '}\n';

test('recovering from stray words in one block looks ahead in proportion to the block, not to its square', (t) => {
  const n = 1000;
  const small = lookaheadsToParse(strayWords(n));
  const large = lookaheadsToParse(strayWords(4 * n));
  t.is(small.errors, n);
  t.is(large.errors, 4 * n);
  // Each error used to walk to the block's `}` (8,000 of them took 33 s).
  t.true(large.lookaheads < 5 * small.lookaheads, `lookaheads for ${n} and ${4 * n} stray words: ${small.lookaheads}, ${large.lookaheads}`);
});

test('20,000 errors recovered in one block do not overflow the stack', (t) => {
  // Chevrotain recovers in a repetition by calling it again from within: 1,600 such errors crashed lvsc.
  const { errors } = walksToParse(strayWords(20_000));
  t.is(errors, 20_000);
});
