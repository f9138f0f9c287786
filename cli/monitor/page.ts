/**
 * The monitor's page: one HTML document, its stylesheet and its script, all
 * served by lvsc itself (no CDN, nothing fetched from elsewhere; the
 * Content-Security-Policy allows only the page's own origin). The script
 * listens to `/events` (server-sent events, each the status document of
 * `lvsc status --json` with the monitor's event list), draws the directors
 * with their role, each service with its VIP and scheduler, and each real
 * server with its forwarding method, health as colour, and charts of its
 * active connections and connections per second over the last minutes, drawn
 * as SVG by the script itself. Every text from the cluster goes in through
 * `textContent`, never as markup.
 */

/** The page, with the last read (the event stream's message) in it, so that it is drawn before the stream's first event arrives. */
export function pageHtml(initial: string): string {
  // JSON inside <script>: no `<` may close the element, whatever a host printed.
  const safe = initial.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return PAGE_HTML.replace('<!--initial-->', () => `<script type="application/json" id="initial">${safe}</script>`);
}

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lvsc monitor</title>
<link rel="stylesheet" href="app.css">
</head>
<body>
<header><h1>lvsc monitor</h1><span id="state">connecting…</span></header>
<main>
<section id="directors" aria-label="directors"></section>
<section id="services" aria-label="services"></section>
<section id="hosts" aria-label="hosts"></section>
<aside><h2>Events</h2><ol id="events"></ol></aside>
</main>
<!--initial-->
<script src="app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `
:root { --up: #1a7f37; --down: #cf222e; --drain: #bf8700; --unknown: #6e7781; --bg: #f6f8fa; --card: #fff; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: #1f2328; }
header { display: flex; gap: 1em; align-items: baseline; padding: .6em 1.2em; background: #24292f; color: #fff; }
header h1 { font-size: 1.1em; margin: 0; }
#state.stale { color: #ffb3b3; }
main { display: grid; grid-template-columns: 1fr 22em; gap: 1em; padding: 1em; }
#directors, #services, #hosts { grid-column: 1; }
aside { grid-column: 2; grid-row: 1 / span 3; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .5em 1em; max-height: 90vh; overflow: auto; }
aside ol { list-style: none; padding: 0; margin: 0; }
aside li { border-left: 4px solid var(--unknown); padding: .2em .5em; margin: .3em 0; }
aside li.bad { border-color: var(--down); } aside li.good { border-color: var(--up); }
aside time { color: var(--unknown); font-size: .85em; display: block; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6em 1em; margin-bottom: 1em; }
.director { display: inline-block; margin-right: 1em; border-top: 4px solid var(--unknown); }
.director.active { border-top-color: var(--up); } .director.split, .director.unknown { border-top-color: var(--down); }
.card h2 { font-size: 1.05em; margin: 0 0 .3em; }
.meta { color: #57606a; }
.drift { color: var(--down); font-weight: 600; }
.servers { display: flex; flex-wrap: wrap; gap: .6em; margin-top: .5em; }
.server { border: 1px solid var(--line); border-left: 6px solid var(--unknown); border-radius: 4px; padding: .4em .6em; min-width: 16em; }
.server.up { border-left-color: var(--up); } .server.down { border-left-color: var(--down); background: #fff5f5; } .server.draining { border-left-color: var(--drain); }
.server .name { font-weight: 600; }
.server .figures { font-variant-numeric: tabular-nums; color: #57606a; }
svg.chart { display: block; width: 15em; height: 2.5em; }
svg.chart polyline { fill: none; stroke-width: 1.5; }
svg.chart .active { stroke: #0969da; } svg.chart .cps { stroke: #8250df; }
`;

export const PAGE_JS = `'use strict';
(function () {
  var HISTORY = 300; // points kept per server: 10 minutes at a read every 2 s
  var history = new Map();
  var lastSeq = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  function bytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0, v = n;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return i === 0 ? n + ' B' : (v < 10 ? v.toFixed(1) : Math.round(v)) + ' ' + u[i];
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  // As the text view says it (cli/views/status.ts): 59s, 2m05s, 5h07m, 3d02h.
  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm' + pad(s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h' + pad(Math.floor((s % 3600) / 60)) + 'm';
    return Math.floor(s / 86400) + 'd' + pad(Math.floor((s % 86400) / 3600)) + 'h';
  }

  function healthText(h, at) {
    if (h.state === 'down') return 'down ' + duration(at / 1000 - h.since);
    if (h.state === 'unknown') return h.why === 'unchecked' ? 'unchecked' : 'unknown';
    return h.state;
  }

  function chart(points) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'chart');
    svg.setAttribute('viewBox', '0 0 ' + HISTORY + ' 40');
    svg.setAttribute('preserveAspectRatio', 'none');
    [['active', 'active'], ['cps', 'cps']].forEach(function (k) {
      var max = 1;
      points.forEach(function (p) { if (p[k[0]] > max) max = p[k[0]]; });
      var line = document.createElementNS(ns, 'polyline');
      line.setAttribute('class', k[1]);
      var offset = HISTORY - points.length;
      line.setAttribute('points', points.map(function (p, i) { return (offset + i) + ',' + (38 - 36 * p[k[0]] / max).toFixed(1); }).join(' '));
      svg.appendChild(line);
    });
    var title = document.createElementNS(ns, 'title');
    title.textContent = 'active connections (blue) and connections per second (purple), last ' + Math.round(points.length * 2 / 60) + ' min';
    svg.appendChild(title);
    return svg;
  }

  function draw(msg) {
    var s = msg.status;
    var at = Date.parse(s.at);
    document.getElementById('state').textContent = 'read ' + new Date(at).toLocaleTimeString() + ' · ' + s.hosts.filter(function (h) { return h.ok; }).length + ' of ' + s.hosts.length + ' hosts';
    document.getElementById('state').className = '';

    var directors = document.getElementById('directors');
    directors.replaceChildren();
    s.directors.forEach(function (d) {
      var c = el('div', 'card director ' + d.role);
      c.appendChild(el('h2', '', d.name));
      c.appendChild(el('div', '', d.role + ' (holds ' + d.vipsHeld + ' of ' + d.vips + ' VIPs)' + (d.declared === 'backup' ? ' · declared backup' : '')));
      var k = d.keepalived;
      c.appendChild(el('div', 'meta', k ? (k.installed ? (k.running ? 'keepalived running' : 'keepalived not running') : 'keepalived not installed') : 'not read'));
      if (d.sync.live) c.appendChild(el('div', 'meta', 'sync ' + (d.sync.live.length ? d.sync.live.map(function (x) { return x.state + ' ' + x.mcastInterface + ' id ' + x.syncid; }).join(', ') : 'none')));
      d.undeclared.forEach(function (u) { c.appendChild(el('div', 'drift', 'undeclared ' + u.key)); });
      directors.appendChild(c);
    });

    var services = document.getElementById('services');
    services.replaceChildren();
    s.services.forEach(function (v) {
      var c = el('div', 'card service');
      c.dataset.service = v.name;
      c.appendChild(el('h2', '', v.name));
      var meta = v.key + ' · ' + v.scheduler + (v.director ? ' · on ' + v.director : '');
      if (v.rates) meta += ' · ' + v.rates.cps + ' conn/s · in ' + bytes(v.rates.inBps) + '/s · out ' + bytes(v.rates.outBps) + '/s';
      c.appendChild(el('div', 'meta', meta));
      if (v.director && v.liveScheduler === null) c.appendChild(el('div', 'drift', 'not in the live table'));
      v.drift.forEach(function (d) { c.appendChild(el('div', 'drift', d.reason)); });
      var list = el('div', 'servers');
      v.servers.forEach(function (x) {
        var key = v.name + ' ' + x.address + ':' + x.port;
        var h = history.get(key) || [];
        h.push({ active: x.live ? x.live.active : 0, cps: x.live && x.live.rates ? x.live.rates.cps : 0 });
        if (h.length > HISTORY) h.shift();
        history.set(key, h);
        var b = el('div', 'server ' + x.health.state);
        b.dataset.server = x.name;
        b.dataset.health = x.health.state;
        b.appendChild(el('div', 'name', x.name + (x.role === 'sorry' ? ' (sorry)' : '')));
        b.appendChild(el('div', 'meta', x.address + ':' + x.port + ' · ' + x.method + ' · weight ' + x.weight + (x.live && x.live.weight !== x.weight ? ' (live ' + x.live.weight + ')' : '')));
        b.appendChild(el('div', 'health', healthText(x.health, at)));
        var f = x.live ? x.live.active + ' active · ' + x.live.inactive + ' inactive' + (x.live.rates ? ' · ' + x.live.rates.cps + ' conn/s · in ' + bytes(x.live.rates.inBps) + '/s' : '') : 'not in the live table';
        b.appendChild(el('div', 'figures', f));
        x.drift.forEach(function (d) { b.appendChild(el('div', 'drift', d.reason)); });
        b.appendChild(chart(h));
        list.appendChild(b);
      });
      c.appendChild(list);
      services.appendChild(c);
    });

    var hosts = document.getElementById('hosts');
    hosts.replaceChildren();
    var troubled = s.hosts.filter(function (h) { return !h.ok || h.changes; });
    if (troubled.length) {
      var c = el('div', 'card');
      c.appendChild(el('h2', '', 'Hosts'));
      troubled.forEach(function (h) { c.appendChild(el('div', h.ok ? 'meta' : 'drift', h.name + ': ' + (h.ok ? h.changes + ' change(s) to make (lvsc plan)' : 'not read: ' + h.error))); });
      hosts.appendChild(c);
    }

    var events = document.getElementById('events');
    msg.events.filter(function (e) { return e.seq > lastSeq; }).forEach(function (e) {
      var li = el('li', e.level);
      li.appendChild(el('time', '', new Date(e.at).toLocaleTimeString()));
      li.appendChild(document.createTextNode(e.text));
      events.insertBefore(li, events.firstChild);
    });
    msg.events.forEach(function (e) { if (e.seq > lastSeq) lastSeq = e.seq; });
  }

  var initial = document.getElementById('initial');
  if (initial) {
    var first = JSON.parse(initial.textContent);
    if (first.status) draw(first);
  }
  var source = new EventSource('events');
  source.addEventListener('status', function (m) { draw(JSON.parse(m.data)); });
  source.onerror = function () {
    var s = document.getElementById('state');
    s.textContent = 'connection to lvsc lost, retrying…';
    s.className = 'stale';
  };
})();
`;
