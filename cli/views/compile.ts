/** `lvsc compile`'s view: one line saying what was written; diagnostics and errors on stderr. */
import { HumanCommandView } from './human.js';
import type { CompileView } from './report.js';

export class TextCompileView extends HumanCommandView implements CompileView {
  wrote(hosts: number, dir: string): void {
    this.io.stdout.write(`Wrote ${hosts} hosts' plans and files to ${dir}\n`);
  }
}
