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
import { CstParser, type ITokenGrammarPath, type TokenType } from './chevrotain.js';
import { lex } from './lexer.js';
import { LvsParser } from './parser.js';
import { source } from './test-support.js';

/** The grammar walks of one parse of `text` by a fresh parser, and the syntax errors it recovered from. */
function walksToParse(text: string): { walks: number; errors: number } {
  // Chevrotain's own implementation, below whatever LvsParser puts in front of it.
  let owner: object | null = CstParser.prototype;
  while (owner && !Object.hasOwn(owner, 'getNextPossibleTokenTypes')) owner = Object.getPrototypeOf(owner);
  if (!owner) throw new Error('Chevrotain has no getNextPossibleTokenTypes: the recovery this test counts has changed');
  const walker = owner as { getNextPossibleTokenTypes(path: ITokenGrammarPath): TokenType[] };
  const walk = walker.getNextPossibleTokenTypes;
  let walks = 0;
  walker.getNextPossibleTokenTypes = function (this: unknown, path: ITokenGrammarPath) {
    walks++;
    return walk.call(this, path);
  };
  try {
    const parser = new LvsParser();
    const { errors } = parser.parseFile(lex(source(text)).tokens, text);
    return { walks, errors: errors.length };
  } finally {
    walker.getNextPossibleTokenTypes = walk;
  }
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
