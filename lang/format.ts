/**
 * `lvsc fmt`: the canonical text of a file. A file with errors is never
 * formatted (text is undefined and the diagnostics say why).
 *
 * The canonical form:
 * - two-space indentation, one statement per line, one space between tokens;
 *   `{` ends the line that opens a block, `}` stands alone; an empty block is `{}`.
 * - exactly one blank line between top-level items; elsewhere a blank line is
 *   kept where the file had one or more, and never after `{` or before `}`.
 * - options in a fixed order, the order of the language reference:
 *   `ssh TARGET user U key "K" port N via HOST sudo`,
 *   `server HOST address A port N weight W upper U lower L drain forward ... check ...`,
 *   `forward METHOD TUNTYPE port N CSUM`, `persistence D netmask M engine E`,
 *   `check KIND "PROGRAM" args ... port N path "P" status S host "H" name "N" type T
 *   every D timeout D retries N`, `sorry HOST address A port N`;
 * - a `director` with a block keeps it (`director A B {` ... `}`), one statement a line.
 *   lists as `ports 80,443` and `flags a b`.
 * - literals exactly as written (`15m` stays `15m`, `[2001:db8::1]` keeps its brackets).
 * - `defaults` always as a block with one statement per line: the one-line
 *   `defaults { ssh user deploy key "K" sudo }` becomes a block holding that one
 *   `ssh` line, and the multi-line form (`ssh user deploy` / `ssh key "K"` /
 *   `sudo`) keeps its lines. Merging them would change the tree the file parses
 *   to, and the formatter only ever changes layout.
 * - comments stay where they were: a comment on its own line goes before the
 *   statement it precedes, at that statement's indentation (or before the `}`
 *   that follows it); a comment after a statement stays on its line, two spaces
 *   after it. When a statement written over several lines carries several
 *   comments, all but its last go on their own lines before it.
 *
 * The output parses to the same tree (spans aside), and formatting it again
 * changes nothing.
 */
import type * as A from './ast.js';
import { hasErrors, type Diagnostic } from './diagnostics.js';
import { parse } from './index.js';
import { hasBlankLine, isLineBreak, type SourceFile } from './source.js';

export interface FormatResult {
  /** The canonical text, or undefined when the file has errors. */
  readonly text: string | undefined;
  readonly diagnostics: Diagnostic[];
}

export function format(source: SourceFile): FormatResult {
  const { file, diagnostics } = parse(source);
  if (hasErrors(diagnostics)) return { text: undefined, diagnostics };
  return { text: print(file, source.text), diagnostics };
}

/** One output line, with the source range it stands for (for comments and blank lines). */
interface Unit {
  readonly kind: 'open' | 'close' | 'line';
  readonly depth: number;
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** The last line of a top-level item (one exactly blank line follows it). */
  readonly endsItem: boolean;
  readonly comments: A.Comment[];
}

interface OutLine {
  readonly depth: number;
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly kind: 'open' | 'close' | 'line' | 'comment';
  readonly endsItem: boolean;
}

function print(file: A.AstFile, text: string): string {
  const units = unitsOf(file, text);
  const trailingOfFile = attachComments(file.comments, units, text);
  const lines = layout(units, trailingOfFile, text);
  if (lines.length === 0) return '';
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (i > 0 && blankBetween(lines[i - 1], line, text)) out.push('');
    out.push(line.text === '' ? '' : '  '.repeat(line.depth) + line.text);
  }
  return out.join('\n') + '\n';
}

// ------------------------------------------------------------------ units

function unitsOf(file: A.AstFile, text: string): Unit[] {
  const units: Unit[] = [];
  const line = (depth: number, start: number, end: number, content: string, endsItem = false) =>
    units.push({ kind: 'line', depth, text: content, start, end, endsItem, comments: [] });
  const block = (depth: number, start: number, headerEnd: number, end: number, header: string, body: () => void) => {
    const brace = braceAfter(text, headerEnd);
    units.push({ kind: 'open', depth, text: `${header} {`, start, end: brace + 1, endsItem: false, comments: [] });
    body();
    units.push({ kind: 'close', depth, text: '}', start: end - 1, end, endsItem: depth === 0, comments: [] });
  };

  for (const item of file.items) {
    const s = item.span;
    switch (item.kind) {
      case 'defaults':
        block(0, s.start, s.start + 'defaults'.length, s.end, 'defaults', () => {
          for (const st of item.body) line(1, st.span.start, st.span.end, st.bare ? 'sudo' : sshText(st, text));
        });
        break;
      case 'host':
        block(0, s.start, item.name.span.end, s.end, `host ${item.name.text}`, () => {
          for (const st of item.body) line(1, st.span.start, st.span.end, hostStmtText(st, text));
        });
        break;
      case 'director':
        if (item.body) {
          const header = directorText(item);
          const headerEnd = item.sync?.span.end ?? item.hosts[item.hosts.length - 1].span.end;
          block(0, s.start, headerEnd, s.end, header, () => {
            for (const st of item.body!) line(1, st.span.start, st.span.end, directorStmtText(st));
          });
        } else line(0, s.start, s.end, directorText(item), true);
        break;
      case 'timeouts':
        block(0, s.start, s.start + 'timeouts'.length, s.end, 'timeouts', () => {
          for (const st of item.body) line(1, st.span.start, st.span.end, `${st.which.text} ${st.duration.text}`);
        });
        break;
      case 'service':
        block(0, s.start, item.name.span.end, s.end, `service ${item.name.text}`, () => {
          for (const st of item.body) {
            if (st.kind === 'fwmark' && st.matches.length > 0) {
              block(1, st.span.start, st.mark.span.end, st.span.end, `fwmark ${st.mark.text}`, () => {
                for (const m of st.matches) line(2, m.span.start, m.span.end, matchText(m));
              });
            } else line(1, st.span.start, st.span.end, serviceStmtText(st));
          }
        });
        break;
    }
  }
  return units;
}

/** The offset of the `{` that opens a block, the first one after its header (comments skipped). */
function braceAfter(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '{') return i;
    if (ch === '#') {
      while (i < text.length && !isLineBreak(text.charCodeAt(i))) i++;
      continue;
    }
    i++;
  }
  throw new Error(`format: no "{" after offset ${from} in a file that parsed without errors`);
}

// ------------------------------------------------------------------ comments

/**
 * Give every comment to the unit it belongs with: a comment after code on its
 * line goes with the unit holding that code; a comment on its own line goes
 * with the unit it stands inside, or else the next unit. Comments after the
 * last unit are returned for the end of the file.
 */
function attachComments(comments: readonly A.Comment[], units: Unit[], text: string): A.Comment[] {
  const atEnd: A.Comment[] = [];
  // Units are in source order; a moving index suffices since comments are too.
  let u = 0;
  for (const c of comments) {
    const at = c.span.start;
    while (u < units.length && units[u].start <= at) u++;
    // units[u - 1] is the last unit starting before the comment.
    const before = u > 0 ? units[u - 1] : undefined;
    if (isTrailing(text, at) && before) {
      before.comments.push(c);
    } else if (before && at < before.end) {
      before.comments.push(c);
    } else if (u < units.length) {
      units[u].comments.push(c);
    } else {
      atEnd.push(c);
    }
  }
  return atEnd;
}

/** Whether code stands before this offset on its line. */
function isTrailing(text: string, offset: number): boolean {
  for (let i = offset - 1; i >= 0; i--) {
    const code = text.charCodeAt(i);
    if (isLineBreak(code)) return false;
    if (code !== 32 && code !== 9) return true; // not a space or tab
  }
  return false;
}

// ------------------------------------------------------------------ layout

function layout(units: Unit[], atEnd: A.Comment[], text: string): OutLine[] {
  const lines: OutLine[] = [];
  const comment = (c: A.Comment, depth: number) =>
    lines.push({ depth, text: c.text, start: c.span.start, end: c.span.end, kind: 'comment', endsItem: false });

  for (let i = 0; i < units.length; i++) {
    const unit = units[i];
    // Comments before a `}` sit at the indentation of the block's statements.
    const commentDepth = unit.kind === 'close' ? unit.depth + 1 : unit.depth;
    const last = unit.comments.at(-1);
    const trailing = last && last.span.start >= unit.start && isTrailing(text, last.span.start) ? last : undefined;
    for (const c of unit.comments) if (c !== trailing) comment(c, commentDepth);

    // An empty block prints as `{}` on its opening line.
    const next = units[i + 1];
    if (unit.kind === 'open' && next?.kind === 'close' && !trailing && !next.comments.some((c) => !isTrailing(text, c.span.start))) {
      const closeTrailing = next.comments.at(-1);
      lines.push({
        depth: unit.depth,
        text: unit.text + '}' + (closeTrailing ? `  ${closeTrailing.text}` : ''),
        start: unit.start,
        end: next.end,
        kind: 'line',
        endsItem: next.endsItem,
      });
      i++;
      continue;
    }
    lines.push({
      depth: unit.depth,
      text: unit.text + (trailing ? `  ${trailing.text}` : ''),
      start: unit.start,
      end: trailing ? trailing.span.end : unit.end,
      kind: unit.kind,
      endsItem: unit.endsItem,
    });
  }
  for (const c of atEnd) comment(c, 0);
  return lines;
}

function blankBetween(a: OutLine, b: OutLine, text: string): boolean {
  if (a.kind === 'open' || b.kind === 'close') return false;
  if (a.endsItem) return true;
  if (a.end > b.start) return false;
  return hasBlankLine(text, a.end, b.start);
}

// ------------------------------------------------------------------ statements

function sshText(st: A.SshStmt, text: string): string {
  const parts = ['ssh'];
  if (st.target) parts.push(text.slice(st.target.span.start, st.target.span.end));
  if (st.user) parts.push('user', st.user.text);
  if (st.key) parts.push('key', st.key.text);
  if (st.port) parts.push('port', st.port.text);
  if (st.via) parts.push('via', st.via.text);
  if (st.sudo) parts.push('sudo');
  return parts.join(' ');
}

function hostStmtText(st: A.HostStmt, text: string): string {
  switch (st.kind) {
    case 'ssh':
      return sshText(st, text);
    case 'interface':
      return `interface ${st.dev.text} ${st.cidr.text}${st.segment ? ` segment ${st.segment.text}` : ''}`;
    case 'gateway':
      return `gateway ${st.address.text}`;
    case 'route':
      return `route ${st.dst.text} via ${st.via.text}`;
  }
}

function directorText(d: A.DirectorNode): string {
  const parts = ['director', ...d.hosts.map((h) => h.text)];
  if (d.sync) {
    parts.push('sync', d.sync.iface.text);
    if (d.sync.id) parts.push('id', d.sync.id.text);
  }
  return parts.join(' ');
}

function directorStmtText(st: A.DirectorStmt): string {
  switch (st.kind) {
    case 'failover':
      return `failover ${st.protocol.text} ${st.id.text} on ${st.iface.text}${st.unicast ? ' unicast' : ''}`;
    case 'advert':
      return `advert ${st.interval.text}`;
    case 'failback':
      return st.after ? `failback after ${st.after.text}` : 'failback never';
    case 'floating':
      return `floating ${st.cidr.text} on ${st.iface.text}`;
    case 'sync':
      return `sync ${st.iface.text}${st.id ? ` id ${st.id.text}` : ''}`;
  }
}

/** `check KIND "PROGRAM" args "A"... port N path "P" status S host "H" name "N" type T every D timeout D retries N`. */
function checkText(c: A.CheckSpec): string {
  const parts = ['check', c.kind.text];
  if (c.program) parts.push(c.program.text);
  if (c.args) parts.push('args', ...c.args.values.map((a) => a.text));
  if (c.port) parts.push('port', c.port.text);
  if (c.path) parts.push('path', c.path.text);
  if (c.status) parts.push('status', c.status.text);
  if (c.host) parts.push('host', c.host.text);
  if (c.name) parts.push('name', c.name.text);
  if (c.type) parts.push('type', c.type.text);
  if (c.every) parts.push('every', c.every.text);
  if (c.timeout) parts.push('timeout', c.timeout.text);
  if (c.retries) parts.push('retries', c.retries.text);
  return parts.join(' ');
}

function matchText(m: A.MatchStmt): string {
  return `match ${m.proto.text} ${m.address.text} ports ${m.ports.map((p) => p.text).join(',')}`;
}

function forwardText(f: A.ForwardSpec): string {
  const parts = ['forward', f.method.text];
  if (f.tunType) parts.push(f.tunType.text);
  if (f.tunPort) parts.push('port', f.tunPort.text);
  if (f.csum) parts.push(f.csum.text);
  return parts.join(' ');
}

function serviceStmtText(st: A.ServiceStmt): string {
  switch (st.kind) {
    case 'vip':
      return `vip ${st.address.text} ${st.proto.text} ${st.port.text}`;
    case 'fwmark':
      return `fwmark ${st.mark.text}`;
    case 'scheduler':
      return `scheduler ${st.name.text}${st.flags.length ? ` flags ${st.flags.map((f) => f.text).join(' ')}` : ''}`;
    case 'persistence': {
      const parts = ['persistence'];
      if (st.timeout) parts.push(st.timeout.text);
      if (st.netmask) parts.push('netmask', st.netmask.text);
      if (st.engine) parts.push('engine', st.engine.text);
      return parts.join(' ');
    }
    case 'ops':
      return 'ops';
    case 'forward':
      return forwardText(st.spec);
    case 'check':
      return checkText(st.spec);
    case 'on-failure':
      return `on-failure ${st.mode.text}`;
    case 'sorry':
      return `sorry ${st.host.text}${st.address ? ` address ${st.address.text}` : ''}${st.port ? ` port ${st.port.text}` : ''}`;
    case 'server': {
      const parts = ['server', st.host.text];
      if (st.address) parts.push('address', st.address.text);
      if (st.port) parts.push('port', st.port.text);
      if (st.weight) parts.push('weight', st.weight.text);
      if (st.upper) parts.push('upper', st.upper.text);
      if (st.lower) parts.push('lower', st.lower.text);
      if (st.drain) parts.push('drain');
      if (st.forward) parts.push(forwardText(st.forward));
      // Last: everything after `check` on the line is the check's (its `port` too).
      if (st.check) parts.push(checkText(st.check));
      return parts.join(' ');
    }
  }
}
