/**
 * What a fact is: one command that reads one piece of a host's live state,
 * and a pure parser of that command's output (pyinfra's facts, with the
 * warnings made explicit). Parsers never throw on odd output: they skip what
 * they cannot read and say so in `warnings`, so the caller can tell the
 * operator which host printed what.
 *
 * How a command's exit status is read is the same for every fact
 * (`readFact`): 0 → `parse(stdout)`; 127 → the fact's tool is not installed;
 * anything else → the fact's own `whenFailed` may still answer (nft: "no lvsc
 * table" means no rules) or name the failure, else it is reported as failed
 * with the first lines of stderr.
 */
import type { Command } from '../../compiler/command.js';

export interface Parsed<T> {
  readonly value: T;
  readonly warnings: string[];
  /**
   * What makes the output as a whole unusable (not this command's output: not JSON, lines that are
   * none of the command's, a framing cut short): the fact then fails, and its host with it, rather
   * than being planned against a value that says "nothing there".
   */
  readonly unreadable?: readonly string[];
}

export type FactError =
  /** The program is not on the host's PATH (exit status 127). */
  | { readonly kind: 'missing-tool'; readonly tool: string; readonly message: string }
  /** The program ran but the kernel lacks what it reads (no IPVS, no nf_tables, ...). */
  | { readonly kind: 'unsupported'; readonly message: string }
  /** Any other failure. */
  | { readonly kind: 'failed'; readonly status: number; readonly message: string };

export interface Fact<T> {
  /** Unique within a host's batch; also the section name there and the testdata folder. */
  readonly name: string;
  /** The program whose absence (exit status 127) is reported as "<tool> is not installed". */
  readonly tool: string;
  command(): Command;
  parse(stdout: string): Parsed<T>;
  /** A non-zero exit status that still answers the question, or names the failure better. */
  whenFailed?(status: number, stderr: string, stdout: string): Parsed<T> | FactError | undefined;
}

/** What running a command produced. */
export interface RawOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

export type FactResult<T> = ({ readonly ok: true } & Parsed<T>) | { readonly ok: false; readonly error: FactError };

/** The status a POSIX shell gives a command it cannot find. */
export const NOT_FOUND = 127;

/** Interpret one command's output as a fact's value or error. Pure. */
export function readFact<T>(fact: Fact<T>, raw: RawOutput): FactResult<T> {
  try {
    return interpret(fact, raw);
  } catch (error) {
    // A parser must not throw; if one does on what a host printed, that host's fact failed, not the run.
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ok: false, error: { kind: 'failed', status: raw.status, message: `its output could not be read (${message})` } };
  }
}

function interpret<T>(fact: Fact<T>, raw: RawOutput): FactResult<T> {
  if (raw.status === 0) return usable(fact.parse(raw.stdout), raw.status);
  if (raw.status === NOT_FOUND) {
    return { ok: false, error: { kind: 'missing-tool', tool: fact.tool, message: `${fact.tool} is not installed (not found on PATH)` } };
  }
  const special = fact.whenFailed?.(raw.status, raw.stderr, raw.stdout);
  if (special && 'kind' in special) return { ok: false, error: special };
  if (special) return usable(special, raw.status);
  return { ok: false, error: { kind: 'failed', status: raw.status, message: firstLines(raw.stderr) || `exit status ${raw.status}` } };
}

/** A parse as the fact's result: failed when its output could not be read as a whole. */
function usable<T>(parsed: Parsed<T>, status: number): FactResult<T> {
  const { unreadable, ...rest } = parsed;
  if (!unreadable?.length) return { ok: true, ...rest };
  const more = unreadable.length > 1 ? ` (and ${unreadable.length - 1} more)` : '';
  return { ok: false, error: { kind: 'failed', status, message: `its output could not be read: ${unreadable[0]}${more}` } };
}

/** The first lines of an error output, joined, for a one-line message. */
export function firstLines(text: string, max = 3): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(0, max)
    .join(' / ');
}

/** Parse JSON output, or a warning saying why not. */
export function parseJson(stdout: string, what: string): { ok: true; value: unknown } | { ok: false; warning: string } {
  try {
    return { ok: true, value: JSON.parse(stdout) };
  } catch (error) {
    return { ok: false, warning: `${what}: output is not JSON (${(error as Error).message})` };
  }
}

/** A line a host printed, quoted in a warning: at most `max` characters, then `…`. */
export function clip(line: string, max = 120): string {
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/**
 * A JSON value as one short line for a warning, like `JSON.stringify(value)`
 * cut to `max` characters, but never deeper than `depth` levels (deeper ones
 * read `…`) and never longer than it needs: a host may print JSON nested
 * tens of thousands deep, which `JSON.stringify` meets with a RangeError.
 */
export function preview(value: unknown, max = 120, depth = 8): string {
  let out = '';
  const walk = (v: unknown, level: number): void => {
    if (out.length >= max) return;
    if (Array.isArray(v) || isRecord(v)) {
      const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
      if (level >= depth) {
        out += `${open}…${close}`;
        return;
      }
      out += open;
      const entries = Array.isArray(v) ? v.map((x) => [undefined, x] as const) : Object.entries(v);
      for (let i = 0; i < entries.length && out.length < max; i++) {
        const [key, x] = entries[i];
        if (i) out += ',';
        if (key !== undefined) out += `${JSON.stringify(key.slice(0, max))}:`;
        walk(x, level + 1);
      }
      out += close;
      return;
    }
    out += typeof v === 'string' ? JSON.stringify(v.slice(0, max)) : String(JSON.stringify(v));
  };
  walk(value, 0);
  return out.slice(0, max);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
