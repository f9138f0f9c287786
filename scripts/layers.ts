/**
 * The layering rule, and a checker for it (`npm run check:layers`, part of
 * `npm run test:unit`; scripts/layers.test.ts runs it too). It reads every .ts
 * file of the checkout, finds its imports (static, `export ... from`, and
 * `import('...')` with a literal path) and names each one that goes the wrong way.
 *
 * The libraries, each importing only those before it:
 *
 *     lang  ←  compiler  ←  agent  ←  lab  ←  cli
 *
 * (lab/ is a library the CLI calls: the VM lab, the SSH lab of sshds in network
 * namespaces, generated clusters; cli/ is the only one that prints or decides
 * exit codes.) Their product code is what dist/ holds; it never imports tests,
 * test helpers, the bench or scripts.
 *
 * Around them, importing from them, and imported by nothing in them:
 * - tests (`*.test.ts`, `testdata/`, `test-support.ts` in a library folder) may
 *   import their own folder, the libraries below cli/ (a compiler test may read
 *   real output through agent's fact parsers) and test/support/; only cli/'s own
 *   tests import cli/;
 * - test/support/ (assertion helpers shared by tests): the libraries below cli/;
 * - test/e2e/: every library and test/support/;
 * - bench/ (it times lvsc itself) and scripts/: every library; never test/.
 * Nothing imports bench/ or scripts/ from outside them.
 *
 * And one package rule: only lang/chevrotain.ts loads 'chevrotain' (the others
 * take it from there, the single-file build that starts five times faster);
 * `import type` from the package is free, as it loads nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The libraries, lowest first. */
export const LIBRARIES = ['lang', 'compiler', 'agent', 'lab', 'cli'] as const;
type Library = (typeof LIBRARIES)[number];

/** Where a file belongs: a library's product code or its tests, or one of the folders around them. */
export type Place =
  | { readonly kind: 'product'; readonly library: Library }
  | { readonly kind: 'test'; readonly library: Library }
  | { readonly kind: 'test/support' | 'test/e2e' | 'bench' | 'scripts' }
  | { readonly kind: 'other' };

export function placeOf(path: string): Place {
  const parts = path.split('/');
  const top = parts[0];
  if (top === 'test') return parts[1] === 'support' ? { kind: 'test/support' } : parts[1] === 'e2e' ? { kind: 'test/e2e' } : { kind: 'other' };
  if (top === 'bench' || top === 'scripts') return { kind: top };
  const library = LIBRARIES.find((l) => l === top);
  if (!library) return { kind: 'other' };
  const name = parts[parts.length - 1];
  const isTest = name.endsWith('.test.ts') || name === 'test-support.ts' || parts.includes('testdata');
  return { kind: isTest ? 'test' : 'product', library };
}

const rank = (l: Library) => LIBRARIES.indexOf(l);
const BELOW_CLI: readonly Library[] = LIBRARIES.filter((l) => l !== 'cli');

function describe(p: Place): string {
  return 'library' in p ? `${p.library}/${p.kind === 'test' ? ' (tests)' : ''}` : p.kind === 'other' ? 'elsewhere' : `${p.kind}/`;
}

/** Why `from` may not import `to`, or undefined when it may. */
export function wrongWay(from: Place, to: Place): string | undefined {
  const product = (libraries: readonly Library[]) => to.kind === 'product' && libraries.includes(to.library);
  const libraryList = (libraries: readonly Library[]) => libraries.join(', ');
  switch (from.kind) {
    case 'product': {
      const allowed = LIBRARIES.filter((l) => rank(l) <= rank(from.library));
      if (product(allowed)) return undefined;
      return `${from.library}/ imports only ${libraryList(allowed)}${allowed.length > 1 ? ' (the libraries below it)' : ''}, never their tests, test/, bench/ or scripts/`;
    }
    case 'test': {
      const libraries = from.library === 'cli' ? LIBRARIES : BELOW_CLI;
      if (product(libraries) || to.kind === 'test/support' || ('library' in to && to.library === from.library)) return undefined;
      return `${from.library}/ tests import their own folder, ${libraryList(libraries)} and test/support/ only`;
    }
    case 'test/support':
      return product(BELOW_CLI) || to.kind === 'test/support' ? undefined : `test/support/ imports ${libraryList(BELOW_CLI)} only`;
    case 'test/e2e':
      return product(LIBRARIES) || to.kind === 'test/support' || to.kind === 'test/e2e' ? undefined : 'test/e2e/ imports the libraries and test/support/ only';
    case 'bench':
    case 'scripts':
      return product(LIBRARIES) || to.kind === from.kind ? undefined : `${from.kind}/ imports the libraries (${libraryList(LIBRARIES)}) and itself only, never test/`;
    case 'other':
      return undefined;
  }
}

export interface Import {
  /** 1-based line of the import. */
  readonly line: number;
  readonly specifier: string;
  /** `import type ...` or `export type ... from`: nothing of it is loaded at run time. */
  readonly typeOnly: boolean;
}

/**
 * The module specifiers a TypeScript file imports: `import ... from`, `import '...'`,
 * `export ... from`, and `import('...')` with a literal. Comments are skipped, and
 * so is the text inside string and template literals (a test's sample code is not
 * an import).
 */
export function importsOf(text: string): Import[] {
  const code = masked(text);
  const found: Import[] = [];
  const patterns = [
    // import x from '...', import type { y } from '...', export * from '...', export { z } from '...' (over several lines too)
    /(?:^|[;\n}])\s*(?:import|export)\s+(type\s+)?[^'";]*?\sfrom\s*(['"])([^'"\n]+)\2/g,
    // import '...' (side effects only)
    /(?:^|[;\n}])\s*import\s*()(['"])([^'"\n]+)\2/g,
    // import('...')
    /\bimport\s*\(\s*()(['"])([^'"\n]+)\2\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of code.matchAll(re)) {
      const at = m.index + m[0].lastIndexOf(m[2] + m[3]) + 1;
      // The specifier as written (the masked code has the same offsets).
      found.push({ line: lineOf(code, at), specifier: text.slice(at, at + m[3].length), typeOnly: Boolean(m[1]) });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

/**
 * The text with comments and template literals blanked (newlines kept, so offsets
 * and lines stay), and the inside of each quoted string replaced by `_`: its
 * quotes stay, so an import's specifier is still found where it is, but nothing
 * inside a string looks like code.
 */
function masked(text: string): string {
  let out = '';
  let i = 0;
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    let end: number;
    if (c === '/' && next === '/') {
      end = text.indexOf('\n', i);
      if (end < 0) end = text.length;
      out += blank(text.slice(i, end));
    } else if (c === '/' && next === '*') {
      end = text.indexOf('*/', i + 2);
      end = end < 0 ? text.length : end + 2;
      out += blank(text.slice(i, end));
    } else if (c === "'" || c === '"' || c === '`') {
      end = i + 1;
      while (end < text.length && text[end] !== c && !(c !== '`' && text[end] === '\n')) end += text[end] === '\\' ? 2 : 1;
      end = Math.min(end + 1, text.length);
      const inside = text.slice(i + 1, end - 1);
      out += c === '`' ? blank(text.slice(i, end)) : c + inside.replace(/[^\n]/g, '_') + text.slice(end - 1, end);
    } else {
      end = i + 1;
      out += c;
    }
    i = end;
  }
  return out;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export interface Violation {
  /** The importing file, relative to the checkout. */
  readonly file: string;
  readonly line: number;
  /** The import as written. */
  readonly specifier: string;
  /** The imported file, relative to the checkout. */
  readonly target: string;
  readonly why: string;
}

/** Packages that one file alone imports, and why. */
const PACKAGE_HOMES: Readonly<Record<string, { readonly file: string; readonly why: string }>> = {
  chevrotain: { file: 'lang/chevrotain.ts', why: "take Chevrotain from lang/chevrotain.ts (its single-file build), not from the package's 700-file module tree" },
};

/** Every import among these files (paths relative to the checkout) that goes the wrong way. */
export function violations(files: readonly { readonly path: string; readonly text: string }[]): Violation[] {
  const out: Violation[] = [];
  for (const { path, text } of files) {
    const from = placeOf(path);
    for (const { line, specifier, typeOnly } of importsOf(text)) {
      if (!specifier.startsWith('.')) {
        // Packages and node: builtins: free, but for the few with one home.
        const home = PACKAGE_HOMES[specifier.split('/')[0]];
        if (home && home.file !== path && !typeOnly) out.push({ file: path, line, specifier, target: specifier, why: home.why });
        continue;
      }
      const target = normalize(join(dirname(path), specifier)).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) {
        out.push({ file: path, line, specifier, target, why: 'imports from outside the checkout' });
        continue;
      }
      const why = wrongWay(from, placeOf(target));
      if (why) out.push({ file: path, line, specifier, target, why: `${why}; ${target} is in ${describe(placeOf(target))}` });
    }
  }
  return out;
}

/** The checkout's .ts files (not node_modules, dist or dot-folders), relative paths, sorted. */
export function sourceFiles(root: string): { path: string; text: string }[] {
  const found: { path: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'dist') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push({ path: relative(root, full), text: readFileSync(full, 'utf8') });
    }
  };
  walk(root);
  return found.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: import '${v.specifier}' goes the wrong way: ${v.why}`;
}

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// `npx tsx scripts/layers.ts`: exit 1 naming every wrong-way import.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = sourceFiles(ROOT);
  const wrong = violations(files);
  for (const v of wrong) console.error(formatViolation(v));
  if (wrong.length) {
    console.error(`\n${wrong.length} import(s) against the layering (scripts/layers.ts says the rule)`);
    process.exitCode = 1;
  } else console.log(`layers: ${files.length} files, every import goes downward`);
}
