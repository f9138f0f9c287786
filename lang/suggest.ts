/**
 * "Did you mean ...?": the candidate nearest to a misspelt word by Levenshtein
 * distance, if it is near enough to be a typo rather than another word
 * (as hashicorp/hcl's didyoumean.go does).
 */

/** The largest edit distance still read as a typo. */
const MAX_DISTANCE = 2;

/**
 * The candidate nearest to `word`, or undefined when none is within
 * MAX_DISTANCE edits and closer than the word's own length (so `ab` never
 * "means" `xy`). Ties go to the first candidate, so callers order by preference.
 * A word that is itself a candidate needs no suggestion.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.includes(word)) return undefined;
  const limit = Math.min(MAX_DISTANCE, word.length - 1);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (Math.abs(candidate.length - word.length) > limit) continue;
    const d = levenshtein(word, candidate, limit);
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Edit distance (insert, delete, substitute, and transposing two neighbours
 * counts as one edit: `wcl` → `wlc`), giving up early once every path exceeds `limit`.
 */
export function levenshtein(a: string, b: string, limit = Infinity): number {
  if (a === b) return 0;
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  // Three rows of the matrix, reused across calls (suggestions run for every misspelt word of a file).
  if (rows[0].length <= m) rows = [new Int32Array(m + 1), new Int32Array(m + 1), new Int32Array(m + 1)];
  let [prevPrev, prev, cur] = rows;
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      const bj = b.charCodeAt(j - 1);
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ai === bj ? 0 : 1));
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) v = Math.min(v, prevPrev[j - 2] + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return rowMin;
    [prevPrev, prev, cur] = [prev, cur, prevPrev];
  }
  return prev[m];
}

let rows: [Int32Array, Int32Array, Int32Array] = [new Int32Array(32), new Int32Array(32), new Int32Array(32)];

/** A word from another tool (`gate`, ipvsadm's `-g`) and what it means there. */
export interface ForeignWord {
  /** The lvsc word for it. */
  readonly word: string;
  /** Whose word it is and what it means there: "ipvsadm's and ldirectord's word for direct routing". */
  readonly whose: string;
}

/**
 * What an unknown word most likely means: the known word in other letter case
 * (`DR`, keepalived's `WRR`), a word operators bring from another tool
 * (`aliases`: `gate` → `dr`), or the nearest known word by spelling. The first
 * two come before the spelling, which would read `gate` as `nat`.
 */
export function suggestWord(
  word: string,
  known: readonly string[],
  aliases: Readonly<Record<string, ForeignWord>> = {},
): { readonly word: string; readonly why?: string } | undefined {
  const lower = word.toLowerCase();
  if (lower !== word && known.includes(lower)) return { word: lower, why: `lvsc's words are lower case` };
  const alias = Object.hasOwn(aliases, lower) ? aliases[lower] : undefined;
  if (alias) return { word: alias.word, why: `\`${word}\` is ${alias.whose}` };
  const near = suggest(word, known) ?? (lower !== word ? suggest(lower, known) : undefined);
  return near ? { word: near } : undefined;
}
