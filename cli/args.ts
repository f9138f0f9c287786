/**
 * Command-line parsing with `node:util` parseArgs (strict), its errors turned into
 * one-line messages as values: a wrong command line is the user's mistake, not a crash.
 */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** A string option that may be given several times (its value is then a list). */
  readonly multiple?: boolean;
}
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type Values<O extends OptionSpecs> = { [K in keyof O]?: O[K]['type'] extends 'string' ? (O[K] extends { readonly multiple: true } ? string[] : string) : boolean };

export type ParsedArgs<O extends OptionSpecs> =
  | { readonly ok: true; readonly values: Values<O>; readonly positionals: string[] }
  | { readonly ok: false; readonly message: string };

/** Options every command takes. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'no-color': { type: 'boolean' },
} as const satisfies OptionSpecs;

export function parseCommandArgs<O extends OptionSpecs>(args: readonly string[], options: O): ParsedArgs<O> {
  try {
    const r = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { ok: true, values: r.values as Values<O>, positionals: r.positionals };
  } catch (e) {
    if (!isParseArgsError(e)) throw e;
    return { ok: false, message: explain(args, options) ?? firstSentence(e.message) };
  }
}

/**
 * The value of a string option, read leniently (unknown options ignored): the
 * command's view is chosen from it before the strict parse can fail, so that even
 * a usage error comes out in the format the user asked for.
 */
export function peekOption(args: readonly string[], options: OptionSpecs, name: string): string | undefined {
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  let value: string | undefined;
  for (const t of tokens) if (t.kind === 'option' && t.name === name && typeof t.value === 'string') value = t.value;
  return value;
}

/** Whether a boolean option is given, read leniently as `peekOption` reads (to choose the view before the strict parse). */
export function peekFlag(args: readonly string[], options: OptionSpecs, name: string): boolean {
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  return tokens.some((t) => t.kind === 'option' && t.name === name && t.value === undefined);
}

function isParseArgsError(e: unknown): e is Error {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Find the first offending token with a lenient parse and say what is wrong with it. */
function explain(args: readonly string[], options: OptionSpecs): string | undefined {
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (!spec) return `unknown option ${t.rawName}`;
    if (spec.type === 'string' && t.value === undefined) return `option ${t.rawName} needs a value`;
    if (spec.type === 'boolean' && t.value !== undefined) return `option ${t.rawName} takes no value`;
  }
  return undefined;
}

function firstSentence(message: string): string {
  const s = message.split(/\.\s/)[0];
  return s.charAt(0).toLowerCase() + s.slice(1);
}
