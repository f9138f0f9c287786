/**
 * Text from elsewhere (a host's banner, a command's stderr, a server's
 * disconnect reason) made safe to print on a terminal: every character that
 * a terminal would act on rather than show is written as an escape instead,
 * so a host cannot clear the screen, move the cursor, set the window title,
 * hide text or reorder it. Used by the SSH transport for every message it
 * builds, and by the views for anything a host printed.
 *
 * Escaped: the C0 controls (ESC, CR, BEL, backspace, ...), DEL, the C1
 * controls (U+0080–U+009F: 0x9b is a one-byte CSI on some terminals), the
 * Unicode bidirectional controls (U+061C, U+200E/F, U+202A–U+202E,
 * U+2066–U+2069, which reorder what is shown) and the line and paragraph
 * separators. Kept: printable text of any script, tab, and newline when
 * `newlines` is set. Written as `\xHH` below U+0100 and `\uHHHH` above.
 * Backslashes are left alone, so the result reads naturally; it is for a
 * person, not meant to be parsed back.
 */

export interface PrintableOptions {
  /** Keep `\n` (for text shown on several lines, such as a command's stderr). Default: escape it too, for one-line messages. */
  readonly newlines?: boolean;
}

/** Above C0: DEL, C1, the bidi controls, the line and paragraph separators. */
const ABOVE_C0 = '\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
const UNSAFE = new RegExp(`[\\x00-\\x08\\x0a-\\x1f${ABOVE_C0}]`, 'g');
const UNSAFE_BUT_NEWLINE = new RegExp(`[\\x00-\\x08\\x0b-\\x1f${ABOVE_C0}]`, 'g');
const UNSAFE_IN_JSON = new RegExp(`[${ABOVE_C0}]`, 'g');

function escape(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * JSON text (JSON.stringify's, which escapes C0 only) with the other control
 * characters above written as `\uHHHH` too: they can only be inside its
 * strings, so the document parses to the same value.
 */
export function printableJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `text` with every terminal control character escaped (see above); the same string when there is none. */
export function printable(text: string, options: PrintableOptions = {}): string {
  return text.replace(options.newlines ? UNSAFE_BUT_NEWLINE : UNSAFE, escape);
}
