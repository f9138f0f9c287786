/**
 * Properties over generated input (fast-check, bounded runs):
 * 1. random valid configurations, with random layout and comments, parse
 *    cleanly; their formatted text parses to the same tree and is a fixpoint;
 * 2. random mutations of the examples, and random text, never make parse or
 *    format throw: they produce diagnostics with spans inside the file, and a
 *    mutant that is still valid keeps the round-trip property.
 */
import test from 'ava';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { AstFile } from './ast.js';
import { hasErrors } from './diagnostics.js';
import { format } from './format.js';
import { parse } from './index.js';
import { source, withoutSpans } from './test-support.js';
import { keywords, keywordText } from './tokens.js';

const RUNS = 200;

// ---------------------------------------------------------------- values

const KEYWORDS = new Set(keywords.map(keywordText));
const plainName = fc.stringMatching(/^[a-z][a-z0-9_-]{0,7}$/).filter((n) => !KEYWORDS.has(n));
/** A name is known by its position: keywords are names too (`service ssh`, `server drain`). */
const name = fc.oneof(plainName, plainName, fc.constantFrom(...KEYWORDS));
/**
 * A director's names, where a keyword that starts what may follow them stays
 * that keyword: `sync` after the first name, a top-level keyword before a word.
 */
const TOP_LEVEL = ['defaults', 'host', 'director', 'timeouts', 'service'];
const directorHost = name.filter((n) => !TOP_LEVEL.includes(n) && n !== 'sync');
const device = fc.stringMatching(/^[a-z][a-z0-9.]{0,9}$/).filter((n) => !KEYWORDS.has(n));
const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/).filter((n) => !KEYWORDS.has(n));
const v4 = fc.ipV4();
const v6 = fc.ipV6();
const bracketed = v6.map((a) => `[${a}]`);
const address = fc.oneof(v4, v4, v6, bracketed);
const cidr = fc.oneof(
  fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`),
);
const num = (min: number, max: number) => fc.integer({ min, max }).map(String);
const port = num(1, 65535);
const duration = fc.oneof(
  num(1, 100_000).map((n) => `${n}s`),
  num(1, 1000).map((n) => `${n}m`),
  num(1, 700).map((n) => `${n}h`),
  fc.integer({ min: 1, max: 5000 }).map((n) => `${n * 1000}ms`),
  fc.tuple(fc.integer({ min: 1, max: 23 }), fc.integer({ min: 1, max: 59 })).map(([h, m]) => `${h}h${m}m`),
);
const quoted = fc.stringMatching(/^[A-Za-z0-9~/._ -]{0,16}$/).map((s) => `"${s}"`);
const user = fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,7}$/).filter((n) => !KEYWORDS.has(n));

/** Option groups (`['weight', '3']`) in any order. */
function optionGroups(groups: fc.Arbitrary<string[]>[]): fc.Arbitrary<string[][]> {
  return fc
    .tuple(...groups.map((g) => fc.option(g, { nil: undefined })))
    .chain((present) => fc.shuffledSubarray(present.filter((x): x is string[] => x !== undefined), { minLength: 0 }));
}

/** Option groups in any order, flattened to tokens. */
function options(groups: fc.Arbitrary<string[]>[]): fc.Arbitrary<string[]> {
  return optionGroups(groups).map((gs) => gs.flat());
}

const kw = (k: string, value: fc.Arbitrary<string>) => value.map((v) => [k, v]);
const flag = (k: string) => fc.constant<string[]>([k]);

// ---------------------------------------------------------------- statements

const sshOptionGroups = optionGroups([kw('user', user), kw('key', quoted), kw('port', port), kw('via', name), flag('sudo')]);
const sshOptions = sshOptionGroups.map((gs) => gs.flat());
const sshTarget = fc.oneof(
  v4,
  fc.tuple(user, v4).map(([u, a]) => `${u}@${a}`),
  fc.tuple(v4, port).map(([a, p]) => `${a}:${p}`),
  fc.tuple(v6, port).map(([a, p]) => `[${a}]:${p}`),
  plainName,
);
const defaultsSsh = sshOptions.map((o) => ['ssh', ...o]);
const hostStmt = fc.oneof(
  // A target's `user@` or `:port` is not given again as an option.
  fc
    .tuple(fc.option(sshTarget, { nil: undefined }), sshOptionGroups)
    .map(([t, gs]) => [
      'ssh',
      ...(t ? [t] : []),
      ...gs.filter(([k]) => !(k === 'user' && t?.includes('@')) && !(k === 'port' && /:\d+$/.test(t ?? ''))).flat(),
    ]),
  fc.tuple(device, cidr, fc.option(name, { nil: undefined })).map(([d, c, s]) => ['interface', d, c, ...(s ? ['segment', s] : [])]),
  address.map((a) => ['gateway', a]),
  fc.tuple(fc.oneof(cidr, fc.constant('default')), address).map(([d, v]) => ['route', d, 'via', v]),
);
const proto = fc.constantFrom('tcp', 'udp', 'sctp');
const listOf = (item: fc.Arbitrary<string>, max: number) =>
  fc
    .tuple(fc.uniqueArray(item, { minLength: 1, maxLength: max }), fc.constantFrom(',', ' '))
    .map(([items, sepr]) => (sepr === ',' ? [items.join(',')] : items));
const match = fc.tuple(proto, address, listOf(port, 4)).map(([p, a, ports]) => ['match', p, a, 'ports', ...ports]);
const forwardSpec = fc.oneof(
  fc.constantFrom<string[]>(['nat'], ['dr'], ['tun']),
  fc
    .tuple(fc.constantFrom('ipip', 'gue', 'gre'), fc.option(port, { nil: undefined }), fc.option(fc.constantFrom('csum', 'nocsum', 'remcsum'), { nil: undefined }))
    .chain(([type, p, csum]) => fc.shuffledSubarray([[type], ...(p ? [['port', p]] : []), ...(csum ? [[csum]] : [])], { minLength: 1 }))
    .map((groups) => ['tun', ...groups.flat()]),
  word.map((w) => [w]),
);
const durationMs = (maxSeconds: number, minMs: number) =>
  fc.oneof(num(minMs, maxSeconds * 1000).map((n) => `${n}ms`), num(Math.max(1, Math.ceil(minMs / 1000)), maxSeconds).map((n) => `${n}s`));
const status = fc.oneof(num(0, 9999), fc.tuple(num(0, 9999), num(0, 9999)).map(([a, b]) => `${a}-${b}`));
/** `KIND ["PROGRAM"] options...`: the grammar takes any option with any kind (lowering sorts them out). */
const checkSpec = fc
  .tuple(
    fc.oneof(fc.constantFrom('tcp', 'http', 'https', 'dns', 'exec', 'none'), word),
    fc.option(quoted, { nil: undefined }),
    options([
      kw('port', port),
      kw('path', quoted),
      kw('status', status),
      kw('host', quoted),
      kw('name', quoted),
      kw('type', word),
      fc.array(quoted, { minLength: 1, maxLength: 3 }).map((a) => ['args', ...a]),
      kw('every', durationMs(3600, 100)),
      kw('timeout', durationMs(3600, 10)),
      kw('retries', num(0, 255)),
    ]),
  )
  .map(([kind, program, o]) => [kind, ...(program ? [program] : []), ...o]);
const serviceStmt = fc.oneof(
  // A VIP's port may be 0: every port (validation asks for persistence).
  fc.tuple(address, proto, fc.oneof(port, fc.constant('0'))).map(([a, p, n]) => ['vip', a, p, n]),
  fc
    .tuple(num(1, 2 ** 32 - 1), fc.array(match, { maxLength: 3 }), fc.boolean())
    .map(([m, ms, braces]) => (ms.length || braces ? ['fwmark', m, '{', ...ms.flat(), '}'] : ['fwmark', m])),
  fc.tuple(word, fc.option(listOf(word, 3), { nil: undefined })).map(([s, f]) => ['scheduler', s, ...(f ? ['flags', ...f] : [])]),
  options([duration.map((d) => [d]), kw('netmask', fc.oneof(v4, num(1, 128))), kw('engine', word)]).map((o) => ['persistence', ...o]),
  fc.constant<string[]>(['ops']),
  // On a line of its own: after a server on the same line, `forward` would be that server's.
  forwardSpec.map((f) => ['\nforward', ...f]),
  // The same for `check`.
  checkSpec.map((c) => ['\ncheck', ...c]),
  word.map((m) => ['on-failure', m]),
  fc
    .tuple(name, optionGroups([kw('address', address), kw('port', port)]))
    .map(([h, gs]) => ['sorry', h, ...gs.flat()]),
  fc
    .tuple(
      name,
      options([kw('address', address), kw('port', port), kw('weight', num(0, 65535)), kw('upper', num(0, 2 ** 31 - 1)), kw('lower', num(0, 2 ** 31 - 1)), flag('drain')]),
      // A server's forward goes last but for its check: a `port` after it would be the tunnel's.
      fc.option(forwardSpec, { nil: undefined }),
      // A server's check goes last: a `port` after it is the check's.
      fc.option(checkSpec, { nil: undefined }),
    )
    .map(([h, o, f, c]) => ['server', h, ...o, ...(f ? ['forward', ...f] : []), ...(c ? ['check', ...c] : [])]),
);

const directorStmt = fc.oneof(
  fc.tuple(word, num(0, 2 ** 32 - 1), device, fc.boolean()).map(([p, id, d, u]) => ['failover', p, id, 'on', d, ...(u ? ['unicast'] : [])]),
  durationMs(255, 10).map((d) => ['advert', d]),
  fc.oneof(durationMs(1000, 0).map((d) => ['failback', 'after', d]), fc.constant(['failback', 'never'])),
  fc.tuple(cidr, device).map(([c, d]) => ['floating', c, 'on', d]),
  fc.tuple(device, fc.option(num(0, 255), { nil: undefined })).map(([d, id]) => ['sync', d, ...(id ? ['id', id] : [])]),
);

const block = (head: string[], body: fc.Arbitrary<string[]>) => fc.array(body, { maxLength: 5 }).map((b) => [...head, '{', ...b.flat(), '}']);
const item = fc.oneof(
  // A bare `sudo` only first: after an ssh line on the same line it would be that line's option.
  fc.tuple(fc.boolean(), block(['defaults'], defaultsSsh)).map(([sudo, b]) => (sudo ? ['defaults', '{', 'sudo', ...b.slice(2)] : b)),
  name.chain((n) => block(['host', n], hostStmt)),
  fc
    .tuple(
      fc.tuple(name.filter((n) => !TOP_LEVEL.includes(n)), fc.option(directorHost, { nil: undefined })).map(([a, b]) => (b ? [a, b] : [a])),
      fc.option(fc.tuple(device, fc.option(num(0, 255), { nil: undefined })), { nil: undefined }),
      fc.option(fc.array(directorStmt, { maxLength: 5 }), { nil: undefined }),
    )
    .map(([hs, sync, body]) => [
      'director',
      ...hs,
      ...(sync ? ['sync', sync[0], ...(sync[1] ? ['id', sync[1]] : [])] : []),
      ...(body ? ['{', ...body.flat(), '}'] : []),
    ]),
  block(['timeouts'], fc.tuple(fc.constantFrom('tcp', 'tcpfin', 'udp'), duration).map(([w, d]) => [w, d])),
  name.chain((n) => block(['service', n], serviceStmt)),
);

/** Layout between tokens: spaces, tabs, newlines, blank lines and comments. */
const separator = fc.constantFrom(' ', ' ', ' ', '  ', '\t', '\n', '\n', '\n  ', '\n\n', '\n\n\n', ' # note\n', '\n# own line\n  ', '  #\n');

const config = fc.tuple(fc.array(item, { maxLength: 6 }), fc.array(separator, { minLength: 1, maxLength: 40 }), fc.boolean()).map(([items, seps, header]) => {
  const tokens = items.flat();
  let text = header ? '# a generated file\n\n' : '';
  tokens.forEach((tok, i) => {
    text += tok + seps[i % seps.length];
  });
  return text;
});

// ---------------------------------------------------------------- properties

function meaning(file: AstFile): unknown {
  return { items: withoutSpans(file.items), comments: file.comments.map((c) => c.text) };
}

test('generated valid configurations parse cleanly, and format round-trips and is a fixpoint', (t) => {
  fc.assert(
    fc.property(config, (text) => {
      const first = parse(source(text));
      if (first.diagnostics.length) {
        throw new Error(`generated text does not parse:\n${text}\n${first.diagnostics.map((d) => `${d.code}: ${d.summary} @${d.subject?.start}`).join('\n')}`);
      }
      const out = format(source(text)).text;
      if (out === undefined) throw new Error('a clean file did not format');
      const again = parse(source(out));
      if (again.diagnostics.length) throw new Error(`formatted text does not parse:\n${out}`);
      if (!isDeepStrictEqual(meaning(again.file), meaning(first.file))) {
        throw new Error(`formatting changed the tree:\n--- input\n${text}\n--- output\n${out}`);
      }
      if (format(source(out)).text !== out) throw new Error(`format is not a fixpoint:\n${out}`);
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

const exampleDir = new URL('../examples/', import.meta.url).pathname;
const exampleTexts = readdirSync(exampleDir)
  .filter((f) => f.endsWith('.lvs'))
  .sort()
  .map((f) => readFileSync(join(exampleDir, f), 'utf8'));

/** Characters that matter to the lexer and parser, and some that are foreign to it. */
const noise = fc.oneof(
  fc.constantFrom('{', '}', '"', '#', ',', '\n', ' ', '[', ']', ':', '/', '@', '.', ';', '=', '\u201c', '\u00e9', '\t', '\\'),
  fc.constantFrom('host', 'service', 'server', 'vip', 'forward', 'sudo', 'port', 'weight', 'tcp', 'sync', 'fwmark', 'match', 'defaults', 'check', 'sorry', 'failover', 'on'),
  fc.stringMatching(/^[a-z0-9.:]{1,6}$/),
  fc.string({ maxLength: 4 }),
);

type Mutation = (text: string) => string;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 20 })).map(([at, len]) => (s: string) => {
    const i = at % (s.length + 1);
    return s.slice(0, i) + s.slice(i + len);
  }),
  fc.tuple(fc.nat(), noise).map(([at, ins]) => (s: string) => {
    const i = at % (s.length + 1);
    return s.slice(0, i) + ins + s.slice(i);
  }),
  fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 40 })).map(([from, to, len]) => (s: string) => {
    const a = from % (s.length + 1);
    const b = to % (s.length + 1);
    return s.slice(0, b) + s.slice(a, a + len) + s.slice(b);
  }),
);

function checkRobust(text: string): void {
  const r = parse(source(text));
  for (const d of r.diagnostics) {
    const s = d.subject;
    if (!s || !(s.start >= 0 && s.start <= s.end && s.end <= text.length) || !d.summary || !d.detail) {
      throw new Error(`bad diagnostic ${JSON.stringify(d)} for:\n${text}`);
    }
  }
  const f = format(source(text));
  if (hasErrors(r.diagnostics)) {
    if (f.text !== undefined) throw new Error(`a file with errors was formatted:\n${text}`);
    return;
  }
  // Still a valid file: the round trip must hold for it too.
  if (f.text === undefined) throw new Error(`a clean file did not format:\n${text}`);
  const again = parse(source(f.text));
  if (again.diagnostics.length || !isDeepStrictEqual(meaning(again.file), meaning(r.file))) {
    throw new Error(`formatting a valid mutant changed it:\n--- input\n${text}\n--- output\n${f.text}`);
  }
  if (format(source(f.text)).text !== f.text) throw new Error(`format is not a fixpoint:\n${f.text}`);
}

test('mutated examples never make parse or format throw, and report within the file', (t) => {
  fc.assert(
    fc.property(fc.nat({ max: exampleTexts.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 5 }), (which, mutations) => {
      checkRobust(mutations.reduce((text, m) => m(text), exampleTexts[which]));
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

test('arbitrary text never makes parse or format throw', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200, unit: 'grapheme' }), fc.array(noise, { maxLength: 60 }).map((p) => p.join(' '))), (text) => {
      checkRobust(text);
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

test('a file parsed in pieces (lang/index.ts) is the file parsed whole: items, spans, comments, diagnostics', (t) => {
  let cut = 0;
  const text = fc.oneof(
    config,
    fc.tuple(fc.nat({ max: exampleTexts.length - 1 }), fc.array(mutation, { maxLength: 3 })).map(([which, mutations]) => mutations.reduce((s, m) => m(s), exampleTexts[which])),
  );
  fc.assert(
    fc.property(text, fc.integer({ min: 1, max: 300 }), (input, pieceChars) => {
      const whole = parse(source(input), { pieceChars: Infinity });
      const pieces = parse(source(input), { pieceChars });
      if (!isDeepStrictEqual(pieces, whole)) throw new Error(`pieces of ${pieceChars} characters read differently:\n${input}`);
      if (!whole.diagnostics.length && /\}[^{]*\nservice /.test(input)) cut++;
    }),
    { numRuns: RUNS * 2 },
  );
  t.true(cut > 20, `only ${cut} clean inputs with a place to cut`);
});
