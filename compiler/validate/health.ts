/**
 * Health checks: timing keepalived can keep, HTTP statuses that exist, exec
 * programs that never meet a shell, a port to connect to, DNS types keepalived
 * knows, and text (paths, names) keepalived.conf can carry as written. Plus
 * the service settings that only mean something with checks (`sorry`,
 * `on-failure`) and a sorry server that is not also one of the servers.
 */
import { diag } from '../../lang/diagnostics.js';
import { suggest } from '../../lang/suggest.js';
import { activeCheck, isChecked } from '../ir.js';
import { DNS_TYPES, dnsNameProblem, dnsType, execPathProblem, execWordProblem, hostNameProblem, httpPathProblem } from '../keepalived-syntax.js';
import type { CheckRule, ServerRule, ServiceRule } from './context.js';

/** A duration as the language writes it: `2s`, `500ms`. */
function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function where(owner: Parameters<CheckRule>[1]): string {
  return owner.server ? `the check of server ${owner.server.host} in ${owner.service.name}` : `the check of service ${owner.service.name}`;
}

/** A check must finish before the next one starts: `timeout` shorter than `every`. */
export const checkTimeoutBelowEvery: CheckRule = (check, owner, ctx) => {
  if (check.kind === 'none') return;
  const t = check.timing;
  if (t.timeoutMs < t.everyMs) return;
  ctx.accept(
    diag('check-timing', {
      summary: `${where(owner)} may take ${formatDuration(t.timeoutMs)}, not shorter than its period of ${formatDuration(t.everyMs)}`,
      detail: `keepalived starts a check every ${formatDuration(t.everyMs)} (\`every\`) and gives up on one after ${formatDuration(t.timeoutMs)} (\`timeout\`); a timeout as long as the period runs each check into the next. Write a \`timeout\` shorter than \`every\` (the defaults are \`every 2s timeout 1s\`).`,
      subject: t.timeoutSpan ?? t.everySpan ?? check.origin,
      context: check.origin,
    }),
  );
};

/** An HTTP status is 100..599, and a range runs upwards. */
export const checkStatusRange: CheckRule = (check, owner, ctx) => {
  if (check.kind !== 'http' && check.kind !== 'https') return;
  const { min, max } = check.status;
  const outside = [min, max].find((c) => c < 100 || c > 599);
  if (outside === undefined && min <= max) return;
  ctx.accept(
    diag('check-status', {
      summary: outside !== undefined ? `HTTP status ${outside} does not exist` : `status range ${min}-${max} runs downwards`,
      detail:
        outside !== undefined
          ? `HTTP statuses are 100..599 (keepalived refuses others). Write the status ${where(owner)} expects, e.g. \`status 200\` or \`status 200-299\`.`
          : `A status range is LOW-HIGH: write \`status ${max}-${min}\`.`,
      subject: check.statusSpan ?? check.origin,
      context: check.origin,
    }),
  );
};

/** The program of an exec check is an absolute path, and neither it nor its arguments hold shell syntax. */
export const checkExecProgram: CheckRule = (check, _owner, ctx) => {
  if (check.kind !== 'exec') return;
  const pathProblem = execPathProblem(check.path);
  if (pathProblem)
    ctx.accept(
      diag('check-exec', {
        summary: `exec check program \`${check.path}\` is refused: ${pathProblem}`,
        detail:
          'keepalived runs the program itself on the director, never through a shell, and lvsc passes it the server\'s address and port as its last two arguments. Name it by its absolute path made of letters, digits and `_ @ % + = : , . / -`; wrap anything fancier in a script at such a path.',
        subject: check.pathSpan,
        context: check.origin,
      }),
    );
  for (const arg of check.args) {
    const problem = execWordProblem(arg.value);
    if (!problem) continue;
    ctx.accept(
      diag('check-exec', {
        summary: `exec check argument \`${arg.value}\` is refused: ${problem}`,
        detail: 'Each argument reaches the program as one word, as written, never through a shell: letters, digits and `_ @ % + = : , . / -` only. Split it into several `args` words, or let the program read its settings from a file.',
        subject: arg.span,
        context: check.origin,
      }),
    );
  }
};

/** A DNS check's query type is one keepalived knows. */
export const checkDnsType: CheckRule = (check, _owner, ctx) => {
  if (check.kind !== 'dns' || dnsType(check.type)) return;
  const guess = suggest(check.type.toUpperCase(), [...DNS_TYPES]);
  ctx.accept(
    diag('check-dns-type', {
      summary: `unknown DNS query type \`${check.type}\``,
      detail: `${guess ? `Did you mean \`${guess}\`? ` : ''}keepalived's DNS_CHECK asks for one of ${DNS_TYPES.join(', ')}.`,
      subject: check.typeSpan ?? check.origin,
      context: check.origin,
    }),
  );
};

/** Paths and names go into keepalived.conf as written: only characters it reads literally. */
export const checkText: CheckRule = (check, _owner, ctx) => {
  const report = (what: string, value: string, problem: string, fix: string, subject: Parameters<typeof diag>[1]['subject']) =>
    ctx.accept(diag('check-text', { summary: `${what} \`${value}\` is refused: ${problem}`, detail: fix, subject, context: check.origin }));
  if (check.kind === 'http' || check.kind === 'https') {
    const p = httpPathProblem(check.path);
    if (p) report('HTTP check path', check.path, p, 'Write the path and query the check requests, starting with `/`: letters, digits, `- . _ ~ % ! & \' ( ) * + , ; = : @ / ?`, anything else %-escaped (e.g. a space as `%20`).', check.pathSpan ?? check.origin);
    if (check.host !== undefined) {
      const h = hostNameProblem(check.host);
      if (h) report('HTTP check host', check.host, h, 'The host is the name the check sends in its Host header (and as the TLS server name): a DNS name such as `www.example.org`, optionally with `:PORT`.', check.hostSpan ?? check.origin);
    }
  }
  if (check.kind === 'dns') {
    const p = dnsNameProblem(check.name);
    if (p) report('DNS check name', check.name, p, 'The name is the one the check asks the server for, such as `health.example.org` (letters, digits, `-` and `_` between dots).', check.nameSpan);
  }
};

/** `check none` turns the check off for one server; in a service it means nothing. */
export const checkNoneOnServer: CheckRule = (check, owner, ctx) => {
  if (check.kind !== 'none' || owner.server) return;
  ctx.accept(
    diag('misplaced-setting', {
      summary: `\`check none\` in service ${owner.service.name}`,
      detail: '`check none` on a `server` line exempts that server from the service\'s check. A service without checks simply has no `check`: remove this line.',
      subject: check.origin,
    }),
  );
};

/** A checked server has a port to check: the check's `port`, else the server's (a fwmark or every-port service has none of its own). */
export const checkHasPort: ServerRule = (server, service, ctx) => {
  const check = activeCheck(server);
  if (!check || check.kind === 'exec' || check.port !== undefined) return;
  const a = service.address;
  if (!a || server.port !== undefined || (a.kind === 'vip' && a.port !== 0)) return;
  const kind = a.kind === 'vip' ? `an every-port service (port 0 of ${a.address})` : 'a firewall-mark service';
  ctx.accept(
    diag('check-port', {
      summary: `${check.kind} check of server ${server.host} has no port to connect to`,
      detail: `Service ${service.name} is ${kind}, so ${server.host} has no port of its own for the check to default to. Give the check one: \`check ${check.kind} port N ...\`.`,
      subject: server.hostSpan,
      context: service.origin,
      notes: [{ message: 'the check is here', span: check.origin }],
    }),
  );
};

/** `sorry` and `on-failure` act on failing checks: in a service without any they do nothing. */
export const failureSettingsNeedCheck: ServiceRule = (service, ctx) => {
  if (isChecked(service)) return;
  for (const [what, span] of [
    ['sorry', service.sorry?.origin],
    ['on-failure', service.onFailure.origin],
  ] as const) {
    if (!span) continue;
    ctx.accept(
      diag('check-unused', {
        summary: `\`${what}\` in service ${service.name}, whose servers have no check`,
        detail: `\`${what}\` acts when a server fails its health check, and no server of ${service.name} is checked, so it never does. Add a \`check\` (e.g. \`check tcp\`) to the service, or remove \`${what}\`.`,
        subject: span,
      }),
    );
  }
};

/** The sorry server is not also one of the service's servers (IPVS holds one destination per address and port). */
export const sorryNotAServer: ServiceRule = (service, ctx) => {
  const sorry = service.sorry;
  if (!sorry) return;
  const same = service.servers.find((s) => s.host === sorry.host && s.port === sorry.port && s.address === sorry.address);
  if (!same) return;
  ctx.accept(
    diag('duplicate-server', {
      summary: `sorry server ${sorry.host} is also a server of ${service.name}`,
      detail: 'The sorry server takes the traffic when every server fails its check; as one of those servers it would fail with them, and IPVS holds one destination per address and port. Name another host, or another `port` (NAT only).',
      subject: sorry.hostSpan,
      notes: [{ message: 'listed as a server here', span: same.hostSpan }],
    }),
  );
};
