/**
 * The `ipvsadm -L` listings (`-Ln`, `-Ln --thresholds`): a title of three
 * lines, then each service line (`TCP  10.1.0.100:80 wlc`, `FWM  20 IPv6 rr`,
 * `FWM  -2147483638 rr` for a mark of 2^31 and above) followed by its
 * destinations (`  -> 10.20.0.11:80   Route   3   0   0`), whose columns after
 * the endpoint depend on the listing. One reader for all of them: the service
 * line by `parseListServiceLine` (compiler/ipvsadm.ts), the destination's
 * endpoint by `parseEndpoint`, its columns by the listing's own `columns`.
 */
import { parseEndpoint, parseListServiceLine } from '../../compiler/ipvsadm.js';
import type { ServiceId } from '../../compiler/state.js';
import { ipvsNotLoaded } from './ipvs.js';
import { clip, type Parsed } from './fact.js';

/** The title lines every `-L` listing starts with. */
const HEADERS = [/^IP Virtual Server version /, /^Prot LocalAddress:Port/, /^\s+-> RemoteAddress:Port(\s|$)/];
const DEST = /^\s+->\s+(\S.*)$/;

export interface ListedService<D, S = unknown> {
  readonly service: ServiceId;
  readonly destinations: (D & { readonly address: string; readonly port: number })[];
  /** What `serviceColumns` read from the service line's words after its identity (absent without it). */
  readonly columns?: S;
}

/** The words of a service line after its identity: `TCP  10.1.0.100:80 wlc` → [wlc]; `FWM  11 IPv6 0 0` → [0, 0]. */
export function serviceWords(line: string): string[] {
  const words = line.trim().split(/\s+/);
  return words.slice(words[0] === 'FWM' && words[2] === 'IPv6' ? 3 : 2);
}

/**
 * A listing's services in the order printed, each with its destinations.
 * `columns` reads the words after a destination's endpoint (undefined: not
 * this listing's shape). A line that is neither is skipped with a warning;
 * the not-loaded line of the ipvsadm facts is an empty table.
 */
export function parseListing<D, S = unknown>(
  stdout: string,
  columns: (words: readonly string[]) => D | undefined,
  serviceColumns?: (words: readonly string[]) => S | undefined,
): Parsed<ListedService<D, S>[]> {
  const value: ListedService<D, S>[] = [];
  const warnings: string[] = [];
  if (ipvsNotLoaded(stdout)) return { value, warnings };
  let current: ListedService<D, S> | undefined;
  for (const line of stdout.split('\n')) {
    if (line.trim() === '' || HEADERS.some((h) => h.test(line))) continue;
    const id = parseListServiceLine(line);
    if (id) {
      if (!serviceColumns) {
        current = { service: id, destinations: [] };
        value.push(current);
        continue;
      }
      const cols = serviceColumns(serviceWords(line));
      if (cols === undefined) {
        // Its destinations would land under the service before: skip them too, with the line.
        current = undefined;
        warnings.push(`skipped \`${clip(line.trim())}\`: not a service line of this listing`);
        continue;
      }
      current = { service: id, destinations: [], columns: cols };
      value.push(current);
      continue;
    }
    const words = DEST.exec(line)?.[1].trim().split(/\s+/);
    const ep = words ? parseEndpoint(words[0]) : undefined;
    const cols = words && ep ? columns(words.slice(1)) : undefined;
    if (!ep || !cols) {
      warnings.push(`skipped \`${clip(line.trim())}\`: not a service or real server line`);
      continue;
    }
    if (!current) {
      warnings.push(`skipped \`${clip(line.trim())}\`: a real server before any service`);
      continue;
    }
    current.destinations.push({ address: ep.address, port: ep.port, ...cols });
  }
  return { value, warnings };
}

/** `n` words, each a whole non-negative number, or undefined. */
export function numbers(words: readonly string[], n: number): number[] | undefined {
  if (words.length !== n || !words.every((w) => /^\d+$/.test(w))) return undefined;
  return words.map(Number);
}
