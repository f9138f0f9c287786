/**
 * The options of the commands that connect to hosts (plan, apply), read into
 * the fleet's options (cli/commands/plan.ts `fleetOptions`): how many hosts at
 * once (`--parallel`, which agent/fleet.ts's `pool` keeps to).
 */
import test from 'ava';
import { fleetOptions } from './commands/plan.js';

test('--parallel: 10 hosts at once by default, any whole number from 1, anything else is refused', (t) => {
  const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: '/' };
  const parallel = (value: string | undefined) => {
    const r = fleetOptions(value === undefined ? {} : { parallel: value }, io);
    return r.ok ? r.options.parallel : r.message;
  };
  t.is(parallel(undefined), 10);
  t.is(parallel('1'), 1);
  t.is(parallel('64'), 64);
  for (const bad of ['0', '-2', '2.5', 'ten']) t.is(parallel(bad), `--parallel ${bad}: give a whole number of hosts, 1 or more`);
});
