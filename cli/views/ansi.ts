/** ANSI styling for the text views: one place that knows the escape sequences. */

export type Paint = (text: string) => string;

/**
 * `sgr(color)('1;31')` paints bold red when colour is on and is the identity when
 * it is off; whether colour is on is decided once, by `useColor` in cli/io.ts.
 */
export function sgr(color: boolean): (open: string) => Paint {
  return (open) => (color ? (s) => `\x1b[${open}m${s}\x1b[0m` : (s) => s);
}
