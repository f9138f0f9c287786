/**
 * Chevrotain, loaded from its single-file build. The package's entry point
 * (lib/src/api.js) is an unbundled module tree of about 700 files (lodash-es
 * among them) that costs Node some 0.4 CPU-seconds to load, more than all of
 * `lvsc validate` on a small file; the same version's bundle, lib/chevrotain.mjs,
 * ships in the package (its `files`) but is not in its `exports`, so it is found
 * beside the entry point. Types come from the package as usual. Should a later
 * version stop shipping the bundle, the entry point is loaded instead (slower
 * start-up, same behaviour; `bundled` says which, lang/lexer.test.ts checks it).
 *
 * Every file in lang/ takes Chevrotain from here, never from 'chevrotain'
 * directly: two copies in one process would not share token types.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

type Chevrotain = typeof import('chevrotain');

const entry = createRequire(import.meta.url).resolve('chevrotain');
const bundle = join(dirname(entry), '..', 'chevrotain.mjs');

/** True when the single-file build was found and loaded. */
export const bundled = existsSync(bundle);

const chevrotain = (await (bundled ? import(pathToFileURL(bundle).href) : import('chevrotain'))) as Chevrotain;

export const { CstParser, EOF, Lexer, createToken, generateCstDts, tokenMatcher } = chevrotain;
export type CstParser = import('chevrotain').CstParser;
export type Lexer = import('chevrotain').Lexer;
export type { CstElement, CstNode, IParserErrorMessageProvider, IRecognitionException, IToken, ITokenGrammarPath, TokenType } from 'chevrotain';
