/**
 * Command-line paths → source files → a checked cluster. A directory stands for
 * every `*.lvs` file directly inside it (sorted by name; subdirectories are not
 * searched). A path given twice, or a file also reached through its directory,
 * is read once. An input that cannot be read is a usage error: the message says
 * which and why.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Cluster } from '../compiler/ir.js';
import { check } from '../compiler/index.js';
import { hasErrors, sortDiagnostics, strict } from '../lang/diagnostics.js';
import type { SourceFile } from '../lang/source.js';
import type { Io, Outcome } from './io.js';
import { indexSources } from './views/locate.js';
import type { CommandView } from './views/report.js';

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
  ENAMETOOLONG: 'file name too long',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
};

/** `cannot read web.lvs: permission denied` */
export function cannot(what: string, path: string, e: unknown): { ok: false; message: string } {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && REASONS[code]) ?? (e instanceof Error ? e.message : String(e));
  return { ok: false, message: `cannot ${what} ${path}: ${reason}` };
}

export interface LoadClusterOptions {
  /** Warnings count as errors. */
  readonly strict: boolean;
  /** Where the command's help is, for the no-input message: `lvsc help plan`. */
  readonly help: string;
  /** How a wrong command line (no input, an unreadable file) ends: `usage` (exit 2), or `failed` where 2 means something else (plan). */
  readonly usage: Outcome;
}

/**
 * Loads and checks the cluster named on the command line, handing its
 * diagnostics (warnings too) to the command's view. The cluster, or the outcome
 * to end with once everything is reported: errors in the files are `failed`, a
 * wrong command line is `opts.usage`.
 */
export async function loadCluster(positionals: readonly string[], io: Pick<Io, 'cwd'>, opts: LoadClusterOptions, view: CommandView): Promise<{ cluster: Cluster } | { outcome: Outcome }> {
  const usage = (message: string) => {
    view.error(message);
    return { outcome: opts.usage };
  };
  if (!positionals.length) return usage(`no input: give .lvs files or directories (see ${opts.help})`);
  const loaded = await loadSources(positionals, io.cwd);
  if (!loaded.ok) return usage(loaded.message);
  const result = check(loaded.sources);
  const diagnostics = sortDiagnostics(opts.strict ? strict(result.diagnostics) : result.diagnostics);
  const stopped = hasErrors(diagnostics) || !result.cluster;
  view.diagnostics({ sources: indexSources(loaded.sources), diagnostics, stopped });
  return result.cluster && !stopped ? { cluster: result.cluster } : { outcome: 'failed' };
}
