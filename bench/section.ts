/**
 * A benchmark section whose output is one note of figures, sized by one
 * command-line number (0 skips it): the shape of the sections that run
 * something live (fleet, lab). bench/index.ts times the whole section.
 */
export interface FiguresSection<S> {
  readonly name: string;
  readonly inTotal: false;
  readonly note: string;
  run(state: unknown, shape: S): Promise<void>;
}

/** `name`'s section: `figures(size)` when `size(shape)` is above 0, else a note saying `flag 0` skipped it. */
export function figuresSection<S>(name: string, flag: string, size: (shape: S) => number, figures: (size: number) => Promise<string>): FiguresSection<S> {
  let note = '';
  return {
    name,
    inTotal: false,
    get note() {
      return note;
    },
    async run(_state: unknown, shape: S): Promise<void> {
      const n = size(shape);
      note = n > 0 ? await figures(n) : `skipped (${flag} 0)`;
    },
  };
}
