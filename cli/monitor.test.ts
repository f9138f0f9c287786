/**
 * `lvsc monitor` against real OpenSSH servers in network namespaces
 * (lab/netns-sshd.ts), served on loopback and fetched over HTTP: the page and
 * its own assets under a strict Content-Security-Policy, /metrics, and the
 * event stream pushing each read, with the event a change of health makes
 * (keepalived's record on the director, written as its notify script
 * writes it). The token, where one is set, is required by everything. The
 * director's table reads empty on this kernel (no IPVS): figures are checked
 * in the lab VM (test/e2e/status.test.ts). Prometheus itself (Debian's
 * package, started here on loopback) scrapes /metrics with the token, and a
 * PromQL query through its HTTP API finds the servers with their health. A
 * real browser (Debian's chromium, headless) runs the page's script and draws
 * every service and server with its health; a screenshot is left in
 * .artifacts/monitor.png.
 */
import anyTest, { type TestFn } from 'ava';
import { writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Script } from 'node:vm';
import type { Lab } from '../lab/netns-sshd.js';
import { checkedCluster, directorLab, labVip, type DirectorLab } from '../test/support/director-lab.js';
import { assertPrograms } from '../test/support/host.js';
import { startMonitor, type RunningMonitor } from '../test/support/monitor.js';
import { main } from './main.js';
import { PAGE_JS } from './monitor/page.js';

const test = anyTest as TestFn<DirectorLab>;

directorLab(test, 'cli/monitor.test.ts');

const vip = labVip;

const cluster = checkedCluster;

async function sh(lab: Lab, host: string, line: string, ...args: string[]): Promise<void> {
  const r = await lab.exec(host, ['sh', '-c', line, 'sh', ...args]);
  if (r.code !== 0) throw new Error(`${host}: \`${line}\` failed: ${r.stderr}`);
}

const record = (lab: Lab, state: 'up' | 'down', server: string, since: number) => `${state} tcp ${vip(lab)} 80 ${lab.host(server).address} 80 ${since}`;

/** `lvsc monitor --listen 127.0.0.1:0 ARGV... FILE` of the lab's cluster, with the lab's known_hosts and no ssh_config. */
async function monitor(t: { context: DirectorLab }, argv: string[]): Promise<RunningMonitor> {
  const { lab, dir } = t.context;
  const file = join(dir, 'cluster.lvs');
  writeFileSync(file, cluster(lab));
  return startMonitor(main, ['--listen', '127.0.0.1:0', ...argv, '--known-hosts', lab.knownHostsFile, '--ssh-config', join(lab.homeDir, 'no-config'), file], { env: { HOME: lab.homeDir, NO_COLOR: '1' }, cwd: dir });
}

interface Response {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(url: URL, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Pushed {
  status: { services: { name: string; servers: { name: string; health: { state: string } }[] }[]; hosts: { name: string; ok: boolean }[] };
  events: { seq: number; kind: string; level: string; text: string }[];
}

/** Reads the event stream until `until` accepts a message; resolves with the messages read. */
function events(url: URL, until: (m: Pushed) => boolean, headers: Record<string, string> = {}): Promise<Pushed[]> {
  return new Promise((resolve, reject) => {
    const seen: Pushed[] = [];
    const req = request(new URL('/events', url), { headers }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`/events answered ${res.statusCode}`));
      if (!String(res.headers['content-type']).startsWith('text/event-stream')) return reject(new Error(`content-type ${res.headers['content-type']}`));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buffer += c;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!block.startsWith('event: status\n') || !data) return reject(new Error(`not a status event: ${block}`));
          const m = JSON.parse(data.slice(6)) as Pushed;
          seen.push(m);
          if (until(m)) {
            req.destroy();
            return resolve(seen);
          }
        }
      });
    });
    req.on('error', (e) => (seen.length && (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    req.end();
  });
}

test.serial('the page, its own assets, /metrics and the event stream; a server whose check fails turns shielded, as an event', async (t) => {
  const { lab } = t.context;
  await sh(lab, 'lb', 'umask 077 && mkdir -p /run/lvsc/health && printf "%s\\n" "$1" > /run/lvsc/health/a && printf "%s\\n" "$2" > /run/lvsc/health/b', record(lab, 'up', 'web1', 1_700_000_000), record(lab, 'up', 'web2', 1_700_000_000));
  const m = await monitor(t, []);
  try {
    t.is(m.url.hostname, '127.0.0.1');
    const page = await get(m.url, '/');
    t.is(page.status, 200);
    t.regex(String(page.headers['content-type']), /^text\/html/);
    t.regex(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    t.regex(page.body, /<script src="app\.js"><\/script>/);
    // The last read is in the page (drawn before the stream's first event), as JSON that cannot close its element.
    const initial = /<script type="application\/json" id="initial">([^<]*)<\/script>/.exec(page.body);
    t.truthy(initial);
    t.is((JSON.parse(initial![1]) as Pushed).status.services[0].name, 'www');
    t.notRegex(page.body, /https?:\/\//, 'nothing from another origin');
    const js = await get(m.url, '/app.js');
    t.is(js.status, 200);
    t.is(js.body, PAGE_JS);
    t.notThrows(() => new Script(js.body), 'the script parses');
    t.is((await get(m.url, '/app.css')).status, 200);
    t.is((await get(m.url, '/nothing')).status, 404);

    const metrics = await get(m.url, '/metrics');
    t.is(metrics.status, 200);
    t.is(metrics.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    t.regex(metrics.body, /^lvsc_host_read\{host="lb"\} 1$/m);
    t.regex(metrics.body, new RegExp(`^lvsc_ipvs_backend_health\\{director="lb",service="www",proto="tcp",local_address="${vip(lab).replace(/\./g, '\\.')}",local_port="80",local_mark="",server="web1",remote_address="[0-9.]+",remote_port="80",state="up"\\} 1$`, 'm'));

    const first = await events(m.url, () => true);
    t.deepEqual(first[0].status.services[0].servers.map((s) => [s.name, s.health.state]), [['web1', 'up'], ['web2', 'up']]);
    t.deepEqual(first[0].events, []);

    // keepalived's check of web1 fails: its notify script records it down.
    await sh(lab, 'lb', 'printf "%s\\n" "$1" > /run/lvsc/health/a', record(lab, 'down', 'web1', 1_700_000_500));
    const pushed = await events(m.url, (p) => p.events.some((e) => e.kind === 'health'));
    const last = pushed.at(-1)!;
    t.deepEqual(last.events.map((e) => [e.kind, e.level, e.text]), [['health', 'bad', 'web1 in www: shielded (its check fails)']]);
    t.is(last.status.services[0].servers[0].health.state, 'down');
    t.regex((await get(m.url, '/metrics')).body, /server="web1",remote_address="[0-9.]+",remote_port="80",state="down"\} 1$/m);
    t.is((await get(m.url, '/status.json')).status, 200);
  } finally {
    t.is(await m.stop(), 0, m.stderr());
  }
});

test.serial('a host whose connection drops is shown as not read, then connected again and shown back, without restarting', async (t) => {
  const { lab } = t.context;
  const m = await monitor(t, []);
  try {
    await events(m.url, () => true);
    // The SSH sessions to web1 end (its sshd still listens): the next read fails, the one after reconnects.
    await lab.killSessions('web1');
    const pushed = await events(m.url, (p) => p.events.some((e) => e.text === 'web1 can be read again'));
    const texts = pushed.at(-1)!.events.map((e) => e.text);
    const lost = texts.findIndex((x) => x.startsWith('web1 cannot be read: '));
    t.true(lost >= 0 && lost < texts.indexOf('web1 can be read again'), texts.join('\n'));
    t.true(pushed.at(-1)!.status.hosts.every((h) => h.ok));
  } finally {
    t.is(await m.stop(), 0, m.stderr());
  }
});

test.serial('with a token, nothing is served without it: Bearer for /metrics, ?token= for the page, which then carries a cookie', async (t) => {
  const tokenFile = join(t.context.dir, 'token');
  const token = 'a-token-of-enough-length-42';
  writeFileSync(tokenFile, `${token}\n`);
  const m = await monitor(t, ['--token-file', tokenFile]);
  try {
    for (const path of ['/', '/app.js', '/metrics', '/events', '/status.json']) t.is((await get(m.url, path)).status, 401, path);
    t.is((await get(m.url, '/metrics', { authorization: 'Bearer not-the-token' })).status, 401);
    t.is((await get(m.url, '/metrics', { authorization: `Bearer ${token}` })).status, 200);
    const page = await get(m.url, `/?token=${token}`);
    t.is(page.status, 200);
    const cookie = String(page.headers['set-cookie']).split(';')[0];
    t.regex(String(page.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
    t.is((await get(m.url, '/app.js', { cookie })).status, 200);
    const pushed = await events(m.url, () => true, { cookie });
    t.is(pushed.length, 1);
  } finally {
    t.is(await m.stop(), 0, m.stderr());
  }
});

test.serial('an address other than loopback is refused without --allow-remote, before anything connects', async (t) => {
  const { lab, dir } = t.context;
  const file = join(dir, 'cluster.lvs');
  writeFileSync(file, cluster(lab));
  let stderr = '';
  const code = await main(['monitor', '--listen', '0.0.0.0:9847', file], { stdout: { write: () => {} }, stderr: { write: (s: string) => (stderr += s) }, env: { NO_COLOR: '1' }, cwd: dir });
  t.is(code, 2);
  t.regex(stderr, /--listen 0\.0\.0\.0:9847: not a loopback address; add --allow-remote/);
  t.notRegex(stderr, /Reading live state/);
});

/** A port free on 127.0.0.1 now (the system's choice for port 0, released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test.serial('Prometheus scrapes /metrics with the token; promtool reads it; PromQL returns each server with its health', async (t) => {
  assertPrograms('cli/monitor.test.ts', ['/usr/bin/prometheus', '/usr/bin/promtool']);
  t.timeout(5 * 60_000);
  const { lab, dir } = t.context;
  await sh(lab, 'lb', 'umask 077 && mkdir -p /run/lvsc/health && printf "%s\\n" "$1" > /run/lvsc/health/a && printf "%s\\n" "$2" > /run/lvsc/health/b', record(lab, 'down', 'web1', 1_700_000_000), record(lab, 'up', 'web2', 1_700_000_000));
  const token = 'prometheus-scrapes-with-this-token';
  const tokenFile = join(dir, 'prom-token');
  writeFileSync(tokenFile, `${token}\n`);
  const m = await monitor(t, ['--token-file', tokenFile]);
  const promDir = join(dir, 'prometheus');
  mkdirSync(promDir, { recursive: true });
  const port = await freePort();
  writeFileSync(
    join(promDir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: lvsc',
      '    authorization:',
      `      credentials_file: ${tokenFile}`,
      '    static_configs:',
      `      - targets: ['${m.url.host}']`,
      '',
    ].join('\n'),
  );
  const prom = spawn('/usr/bin/prometheus', [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const ready = new Promise<void>((resolve, reject) => {
    prom.stderr.on('data', (c: Buffer) => {
      log += c.toString();
      if (log.includes('Server is ready to receive web requests')) resolve();
    });
    prom.on('exit', (code) => reject(new Error(`prometheus exited ${code}:\n${log}`)));
  });
  try {
    const metrics = await get(m.url, '/metrics', { authorization: `Bearer ${token}` });
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: metrics.body, encoding: 'utf8' });
    // Neither a parse error (exit 1) nor a lint remark (exit 3, naming and HELP conventions).
    t.is(check.status, 0, check.stdout + check.stderr);

    await ready;
    const query = 'lvsc_ipvs_backend_health == 1';
    type Result = { metric: Record<string, string>; value: [number, string] };
    let result: Result[] = [];
    // Until Prometheus has scraped once (every second, by the config above); bounded by the test's timeout.
    while (result.length < 2) {
      const r = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as { status: string; data: { result: Result[] } };
      t.is(r.status, 'success');
      result = r.data.result;
      if (result.length < 2) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    t.deepEqual(result.map((r) => [r.metric.service, r.metric.server, r.metric.state, r.metric.director, r.metric.remote_address]).sort(), [
      ['www', 'web1', 'down', 'lb', lab.host('web1').address],
      ['www', 'web2', 'up', 'lb', lab.host('web2').address],
    ]);
    const targets = (await (await fetch(`http://127.0.0.1:${port}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
    t.like(targets.data.activeTargets[0], { health: 'up', lastError: '' });
  } finally {
    prom.kill('SIGTERM');
    await new Promise((resolve) => (prom.exitCode !== null ? resolve(undefined) : prom.once('exit', resolve)));
    t.is(await m.stop(), 0, m.stderr());
  }
});

/** The page as Debian's chromium draws it (headless; as root it needs --no-sandbox); not spawnSync, since the monitor answers from this process. */
function browse(url: URL, screenshot?: string): Promise<string> {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--window-size=1280,900', '--timeout=10000', ...(screenshot ? [`--screenshot=${screenshot}`] : ['--dump-dom']), url.href];
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/chromium', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`chromium exited ${code}: ${err}`))));
  });
}

test.serial('a real browser draws every service and server of the cluster with its health, and a server turning shielded', async (t) => {
  assertPrograms('cli/monitor.test.ts', ['/usr/bin/chromium']);
  t.timeout(5 * 60_000);
  const { lab } = t.context;
  await sh(lab, 'lb', 'umask 077 && mkdir -p /run/lvsc/health && printf "%s\\n" "$1" > /run/lvsc/health/a && printf "%s\\n" "$2" > /run/lvsc/health/b', record(lab, 'up', 'web1', 1_700_000_000), record(lab, 'up', 'web2', 1_700_000_000));
  const m = await monitor(t, []);
  try {
    const drawn = (dom: string) => [...dom.matchAll(/<div class="server (\w+)" data-server="([\w-]+)" data-health="(\w+)">/g)].map((x) => [x[2], x[3]]);
    const dom = await browse(m.url);
    t.regex(dom, /<div class="card service" data-service="www">/);
    t.deepEqual(drawn(dom), [['web1', 'up'], ['web2', 'up']]);
    t.regex(dom, /<div class="card director backup">/);

    await sh(lab, 'lb', 'printf "%s\\n" "$1" > /run/lvsc/health/a', record(lab, 'down', 'web1', 1_700_000_500));
    // After the monitor's next read (its event stream has pushed the change), a page opened shows it.
    await events(m.url, (p) => p.events.some((e) => e.kind === 'health'));
    const shielded = await browse(m.url);
    t.deepEqual(drawn(shielded), [['web1', 'down'], ['web2', 'up']]);
    t.regex(shielded, /<div class="health">down \d+d\d\dh<\/div>/, 'down since 2023, in days and hours');
    t.regex(shielded, /<li class="bad"><time>[^<]*<\/time>web1 in www: shielded \(its check fails\)<\/li>/);
    const artifacts = join(new URL('..', import.meta.url).pathname, '.artifacts');
    mkdirSync(artifacts, { recursive: true });
    await browse(m.url, join(artifacts, 'monitor.png'));
    t.log(`screenshot: ${join(artifacts, 'monitor.png')}`);
  } finally {
    t.is(await m.stop(), 0, m.stderr());
  }
});
