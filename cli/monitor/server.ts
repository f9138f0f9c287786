/**
 * The monitor's HTTP server (node:http): the page and its assets, `/events`
 * (server-sent events: each read of the cluster, with the event list),
 * `/status.json` (the last read, as `lvsc status --json`) and `/metrics`
 * (Prometheus text format). It only serves what the poller hands it
 * (`publish`); it reads, never changes, and answers GET and HEAD only.
 *
 * With a token every request must carry it: `Authorization: Bearer TOKEN`
 * (Prometheus's `authorization` setting), `?token=TOKEN` (a link to the
 * page), or the cookie the page gets when opened with `?token=` (so its
 * script, stylesheet and event stream need no token in their URLs). Tokens
 * are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClusterStatus } from '../../agent/status.js';
import { printableJson } from '../../lang/printable.js';
import { METRICS_CONTENT_TYPE, statusMetrics } from '../views/metrics.js';
import { statusJson } from '../views/status.js';
import type { MonitorEvent } from './events.js';
import { PAGE_CSS, PAGE_JS, pageHtml } from './page.js';

/** The events kept and sent to a page that opens (the newest). */
export const EVENTS_KEPT = 200;

const COOKIE = 'lvsc_monitor_token';

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface MonitorServer {
  /** Where it listens (the port the system gave for port 0). */
  readonly address: string;
  readonly port: number;
  /** The next read: pushed to every open page, served by /metrics and /status.json from now on. */
  publish(status: ClusterStatus, events: readonly MonitorEvent[]): void;
  close(): Promise<void>;
}

export interface MonitorServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token?: string;
}

type Sequenced = MonitorEvent & { readonly seq: number };

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export async function startMonitorServer(options: MonitorServerOptions): Promise<MonitorServer> {
  let status: ClusterStatus | undefined;
  let kept: Sequenced[] = [];
  let seq = 0;
  const streams = new Set<ServerResponse>();
  const expected = options.token === undefined ? undefined : digest(options.token);

  const matches = (given: string | undefined) => given !== undefined && expected !== undefined && timingSafeEqual(digest(given), expected);

  const snapshot = () => printableJson(JSON.stringify({ status: status ? statusJson(status) : null, events: kept }));
  const message = () => `event: status\ndata: ${snapshot()}\n\n`;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://monitor.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', ...SECURITY_HEADERS }).end();
      return;
    }
    const headers: Record<string, string> = { ...SECURITY_HEADERS };
    if (expected) {
      const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const query = url.searchParams.get('token') ?? undefined;
      if (!matches(bearer) && !matches(query) && !matches(cookieToken(req))) {
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="lvsc monitor"', ...SECURITY_HEADERS }).end('this monitor needs its token: open the page with ?token=TOKEN, or send Authorization: Bearer TOKEN\n');
        return;
      }
      if (matches(query)) headers['set-cookie'] = `${COOKIE}=${encodeURIComponent(query!)}; HttpOnly; SameSite=Strict; Path=/`;
    }
    const send = (type: string, body: string) => {
      res.writeHead(200, { 'content-type': type, ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    switch (url.pathname) {
      case '/':
        return send('text/html; charset=utf-8', pageHtml(snapshot()));
      case '/app.js':
        return send('text/javascript; charset=utf-8', PAGE_JS);
      case '/app.css':
        return send('text/css; charset=utf-8', PAGE_CSS);
      case '/metrics':
        if (!status) {
          res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end('no read of the cluster yet\n');
          return;
        }
        return send(METRICS_CONTENT_TYPE, statusMetrics(status));
      case '/status.json':
        if (!status) {
          res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end('no read of the cluster yet\n');
          return;
        }
        return send('application/json', printableJson(JSON.stringify(statusJson(status), null, 2)) + '\n');
      case '/events':
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', ...headers });
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        streams.add(res);
        req.on('close', () => streams.delete(res));
        if (status) res.write(message());
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('not found\n');
    }
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: bound.address,
    port: bound.port,
    publish(next, events) {
      status = next;
      kept = [...kept, ...events.map((e) => ({ ...e, seq: ++seq }))].slice(-EVENTS_KEPT);
      const text = message();
      for (const res of streams) res.write(text);
    },
    async close() {
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
