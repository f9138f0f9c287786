/**
 * The plan as JSON (`--json`), schema version 1 — documented in README.md:
 *
 *   { "version": 1,
 *     "hosts": [ { "host", "roles": [..],
 *                  "steps": [ { "action": "create|update|delete", "kind", "key", "id", "phase",
 *                               "reason", "drain"?, "before"?, "after"?,
 *                               "commands": [ { "argv": [..], "stdin"? } ] } ],
 *                  "health"?: [ { "state": "down", "key", "service", "dest", "since" } ] } ],
 *     "dependencies": [ { "host", "phase", "after": { "host", "phase" } } ],
 *     "summary": { "create", "update", "delete", "hostsChanged", "hosts" } }
 *
 * The same Plan value the text view and apply consume.
 */
import type { Plan } from '../../compiler/plan.js';
import { summarize } from '../../compiler/plan.js';
import { hostOrder } from './plan-text.js';

export function planJson(plan: Plan): object {
  return {
    version: 1,
    hosts: hostOrder(plan).map((h) => ({
      host: h.host,
      roles: h.roles,
      steps: h.steps.map((s) => ({
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
      })),
      ...(h.down?.length ? { health: h.down.map((d) => ({ state: 'down', key: d.label, service: d.service, dest: d.dest, since: d.since })) } : {}),
    })),
    dependencies: plan.dependencies,
    summary: summarize(plan),
  };
}
