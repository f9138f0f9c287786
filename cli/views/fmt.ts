/** `lvsc fmt`'s view: canonical text or file names on stdout; diagnostics and errors on stderr. */
import { HumanCommandView } from './human.js';
import type { FmtView } from './report.js';

export class TextFmtView extends HumanCommandView implements FmtView {
  formatted(text: string): void {
    this.io.stdout.write(text);
  }

  listed(path: string): void {
    this.io.stdout.write(`${path}\n`);
  }
}
