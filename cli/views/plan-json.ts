/**
 * The plan as JSON (`--json`), schema version 1 — documented in README.md:
 *
 *   { "version": 1,
 *     "hosts": [ { "host", "roles": [..],
 *                  "steps": [ { "action": "create|update|delete", "kind", "key", "id", "phase",
 *                               "reason", "drain"?, "before"?, "after"?,
 *                               "commands": [ { "argv": [..], "stdin"? } ] } ],
 *                  "health"?: [ { "state": "down", "key", "service", "dest", "since" } ],
 *                  "vrrp"?: { "role": "master|backup|partial", "holds": [..], "keepalived": "running|stopped" } } ],
 *     "dependencies": [ { "host", "phase", "after": { "host", "phase" } } ],
 *     "summary": { "create", "update", "delete", "hostsChanged", "hosts" },
 *     "faults"?: [ { "hosts": [..], "message" } ] }
 *
 * The same Plan value the text view and apply consume. `planJson` is the
 * document as a value; `planJsonPieces` is the same document as compact text
 * in pieces (one line per host head and per step), for a view to write as it
 * goes: pretty-printed in one string, the plan of 100,000 destinations was
 * 191 MB and 1.7 GB of memory.
 */
import type { HostPlan, Plan, Step } from '../../compiler/plan.js';
import { summarize } from '../../compiler/plan.js';
import { printableJson } from '../../lang/printable.js';
import { hostOrder } from './plan-text.js';

function stepJson(s: Step): object {
  return {
    action: s.action,
    kind: s.kind,
    key: s.label,
    id: s.id,
    phase: s.phase,
    reason: s.reason,
    ...(s.drain ? { drain: true } : {}),
    ...(s.before !== undefined ? { before: s.before } : {}),
    ...(s.after !== undefined ? { after: s.after } : {}),
    commands: s.commands.map((c) => (c.stdin !== undefined ? { argv: c.argv, stdin: c.stdin } : { argv: c.argv })),
  };
}

function healthJson(h: HostPlan): object {
  return {
    ...(h.down?.length ? { health: h.down.map((d) => ({ state: 'down', key: d.label, service: d.service, dest: d.dest, since: d.since })) } : {}),
    ...(h.vrrp ? { vrrp: { role: h.vrrp.role, holds: h.vrrp.holds, keepalived: h.vrrp.keepalived ? 'running' : 'stopped' } } : {}),
  };
}

/** The plan's faults (README: `faults`), when there are any. */
function faultsJson(plan: Plan): object {
  return plan.faults?.length ? { faults: plan.faults.map((f) => ({ hosts: f.hosts, message: f.message })) } : {};
}

export function planJson(plan: Plan): object {
  return {
    version: 1,
    hosts: hostOrder(plan).map((h) => ({ host: h.host, roles: h.roles, steps: h.steps.map(stepJson), ...healthJson(h) })),
    dependencies: plan.dependencies,
    summary: summarize(plan),
    ...faultsJson(plan),
  };
}

/** JSON text without raw control characters (see document() in json.ts). */
const json = (value: unknown) => printableJson(JSON.stringify(value));

/**
 * `planJson(plan)` with `extra`'s fields after its own, as compact JSON text in
 * pieces, ending in a line break: `JSON.parse` of their concatenation is that value.
 */
export function* planJsonPieces(plan: Plan, extra: object = {}): Generator<string> {
  yield '{"version":1,"hosts":[';
  const hosts = hostOrder(plan);
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i];
    yield `${i ? ',' : ''}\n{"host":${json(h.host)},"roles":${json(h.roles)},"steps":[`;
    for (let k = 0; k < h.steps.length; k++) yield `${k ? ',' : ''}\n${json(stepJson(h.steps[k]))}`;
    // The health field, if any, after the steps: its object's text without the braces.
    const health = json(healthJson(h)).slice(1, -1);
    yield `]${health ? `,${health}` : ''}}`;
  }
  const tail = json({ dependencies: plan.dependencies, summary: summarize(plan), ...faultsJson(plan), ...extra });
  yield `\n],${tail.slice(1)}\n`;
}
