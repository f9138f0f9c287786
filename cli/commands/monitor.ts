/**
 * `lvsc monitor`: a web page that shows the cluster as `lvsc status` reads it,
 * kept up to date. lvsc connects to every host once (plan's transport and
 * facts), reads them again every `--every` over the same connections, and
 * serves the page, its event stream, `/status.json` and `/metrics` from
 * node:http (cli/monitor/). It reads, never changes.
 *
 * Safe by default: it listens on loopback only. Any other address needs
 * `--allow-remote` and a token (from `--token-file`, else a random one
 * printed once on stderr) that the page and `/metrics` then require.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { fleetStatus, StatusReader } from '../../agent/status.js';
import { printable } from '../../lang/printable.js';
import { COMMON_OPTIONS, parseCommandArgs, peekFlag } from '../args.js';
import type { Io, Outcome } from '../io.js';
import { loadCluster } from '../load.js';
import { statusEvents } from '../monitor/events.js';
import { startMonitorServer } from '../monitor/server.js';
import { HumanCommandView } from '../views/human.js';
import type { Command } from './command.js';
import { CONNECT_HELP, failWith, fleetOptions, parseDuration, readLive } from './plan.js';
import { MIN_WATCH_MS, OWN_LIVE_OPTIONS, pause } from './status.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...OWN_LIVE_OPTIONS,
  listen: { type: 'string' },
  every: { type: 'string' },
  'allow-remote': { type: 'boolean' },
  'token-file': { type: 'string' },
} as const;

export const DEFAULT_LISTEN = '127.0.0.1:9847';

/** `HOST:PORT`, `[V6]:PORT` or `PORT` (on 127.0.0.1) → host and port, or why not. */
export function parseListen(text: string): { host: string; port: number } | string {
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]+)):)?(\d{1,5})$/.exec(text);
  if (!m) return `--listen ${text}: give HOST:PORT, [IPv6]:PORT or PORT`;
  const port = Number(m[3]);
  if (port > 65535) return `--listen ${text}: the port must be 0 to 65535`;
  const host = m[1] ?? m[2] ?? '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0) return `--listen ${text}: give an IP address (or localhost), not a name`;
  if (m[1] && isIP(m[1]) !== 6) return `--listen ${text}: [${m[1]}] is not an IPv6 address`;
  return { host, port };
}

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x) and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

export const monitorCommand: Command = {
  name: 'monitor',
  help: `Usage: lvsc monitor [--listen HOST:PORT] [--every DURATION] [options] FILES|DIRS...

Serves a web page that shows the cluster as lvsc status reads it, kept up to
date: the directors with their role, each service with its VIP and scheduler,
each real server with its forwarding method and health as colour, charts of
its connections over the last minutes, and a list of events (a server
shielded or back, a failover, drift found). Also /metrics (Prometheus text
format; names in README.md) and /status.json. It reads, never changes.

Options:
      --listen HOST:PORT where to listen (default ${DEFAULT_LISTEN}: loopback only)
      --allow-remote     allow an address other than loopback; a token is then
                         required by the page and /metrics
      --token-file FILE  the token (its first line); without it, --allow-remote
                         makes a random one and prints it on stderr. Give it as
                         Authorization: Bearer TOKEN, or open /?token=TOKEN
      --every DURATION   read the hosts again this often (default and least 2s)
${CONNECT_HELP}
  -h, --help             show this help

Runs until interrupted. Exit codes: 0 stopped, 1 errors (files, hosts, the
address taken), 2 usage error.
`,

  async run(args: readonly string[], io: Io): Promise<Outcome> {
    const view = new HumanCommandView(io, peekFlag(args, OPTIONS, 'no-color'));
    const parsed = parseCommandArgs(args, OPTIONS);
    const usage = (message: string): Outcome => {
      view.error(`${message} (see lvsc help monitor)`);
      return 'usage';
    };
    if (!parsed.ok) return usage(parsed.message);
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(this.help);
      return 'ok';
    }
    const listen = parseListen(values.listen ?? DEFAULT_LISTEN);
    if (typeof listen === 'string') return usage(listen);
    const remote = !isLoopback(listen.host);
    if (remote && !values['allow-remote']) return usage(`--listen ${values.listen}: not a loopback address; add --allow-remote to serve other machines (a token is then required)`);
    let every = MIN_WATCH_MS;
    if (values.every !== undefined) {
      const ms = parseDuration(values.every);
      if (ms === undefined) return usage(`--every ${values.every}: give a duration such as 5s or 1m`);
      every = Math.max(ms, MIN_WATCH_MS);
    }
    let token: string | undefined;
    if (values['token-file'] !== undefined) {
      const path = resolve(io.cwd, values['token-file']);
      try {
        token = (await readFile(path, 'utf8')).split('\n')[0].trim();
      } catch (e) {
        return failWith(view, `--token-file ${values['token-file']}: ${(e as Error).message}`);
      }
      if (token.length < 16) return failWith(view, `--token-file ${values['token-file']}: the token must be at least 16 characters`);
    } else if (remote) token = randomBytes(24).toString('base64url');

    const live = fleetOptions(values, io);
    if (!live.ok) return usage(live.message);
    const loaded = await loadCluster(positionals, io, { strict: false, help: 'lvsc help monitor', usage: 'failed' }, view);
    if ('outcome' in loaded) return loaded.outcome;
    const read = await readLive(loaded.cluster, { ...live.options, status: true }, io, false, view, values['no-color'] === true);
    if ('outcome' in read) return read.outcome;
    const { fleet } = read;
    const reader = new StatusReader(fleet, { ...(live.options.parallel ? { parallel: live.options.parallel } : {}), ...(live.options.ssh ? { ssh: live.options.ssh } : {}) });
    try {
      let server;
      try {
        server = await startMonitorServer({ host: listen.host, port: listen.port, ...(token !== undefined ? { token } : {}) });
      } catch (e) {
        return failWith(view, `cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message}`);
      }
      try {
        let status = fleetStatus(fleet);
        server.publish(status, []);
        const host = server.address.includes(':') ? `[${server.address}]` : server.address;
        const url = `http://${host}:${server.port}/`;
        io.stderr.write(`lvsc monitor: ${url}${token !== undefined && values['token-file'] === undefined ? `?token=${token}` : ''}  (reading ${fleet.hosts.length} host${fleet.hosts.length === 1 ? '' : 's'} every ${every / 1000} s; interrupt to stop)\n`);
        for (const h of status.hosts) if (!h.ok) io.stderr.write(`warning: ${printable(h.name)}: ${printable(h.error ?? '', { newlines: true })}\n`);
        while (!(await pause(every, io.signal))) {
          const next = await reader.read();
          server.publish(next, statusEvents(status, next));
          status = next;
        }
        return 'ok';
      } finally {
        await server.close();
      }
    } finally {
      await reader.close();
      await fleet.close();
    }
  },
};
