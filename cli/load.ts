/**
 * Command-line paths → source files. A directory stands for every `*.lvs` file
 * directly inside it (sorted by name; subdirectories are not searched). A path
 * given twice, or a file also reached through its directory, is read once.
 * An input that cannot be read is a usage error: the message says which and why.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SourceFile } from '../lang/source.js';

export type Loaded = { readonly ok: true; readonly sources: SourceFile[] } | { readonly ok: false; readonly message: string };

export async function loadSources(paths: readonly string[], cwd: string): Promise<Loaded> {
  const files: string[] = [];
  for (const path of paths) {
    const full = resolve(cwd, path);
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(full)).isDirectory();
    } catch (e) {
      return cannot('read', path, e);
    }
    if (!isDirectory) {
      files.push(path);
      continue;
    }
    let names: string[];
    try {
      names = (await readdir(full, { withFileTypes: true })).filter((d) => d.name.endsWith('.lvs') && !d.isDirectory()).map((d) => d.name);
    } catch (e) {
      return cannot('read directory', path, e);
    }
    if (!names.length) return { ok: false, message: `no .lvs files in directory ${path}` };
    for (const name of names.sort()) files.push(join(path, name));
  }

  const seen = new Set<string>();
  const sources: SourceFile[] = [];
  for (const path of files) {
    const full = resolve(cwd, path);
    if (seen.has(full)) continue;
    seen.add(full);
    try {
      sources.push({ path, text: await readFile(full, 'utf8') });
    } catch (e) {
      return cannot('read', path, e);
    }
  }
  return { ok: true, sources };
}

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many symbolic links',
};

/** `cannot read web.lvs: permission denied` */
export function cannot(what: string, path: string, e: unknown): { ok: false; message: string } {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && REASONS[code]) ?? (e instanceof Error ? e.message : String(e));
  return { ok: false, message: `cannot ${what} ${path}: ${reason}` };
}
