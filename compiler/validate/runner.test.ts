/** The rule runner: a rule that throws becomes an `internal` diagnostic on its node, and the rules after it still run. */
import test from 'ava';
import type { Diagnostic } from '../../lang/diagnostics.js';
import type { Span } from '../../lang/source.js';
import type { Cluster } from '../ir.js';
import type { RuleContext } from './context.js';
import { runOn } from './index.js';

const at: Span = { file: 'x.lvs', start: 3, end: 9 };

test('a crashing rule is reported on the node and the next rules run', (t) => {
  const diagnostics: Diagnostic[] = [];
  const ctx: RuleContext = { cluster: {} as Cluster, accept: (d) => diagnostics.push(d) };
  const ran: string[] = [];
  const first = (n: string) => void ran.push(`first ${n}`);
  const broken = (): void => {
    throw new Error('boom');
  };
  const last = (n: string) => void ran.push(`last ${n}`);
  const alsoBroken = (): void => {
    throw new Error('bang');
  };
  runOn([first, broken, last, alsoBroken], 'node', at, ctx);
  t.deepEqual(ran, ['first node', 'last node']);
  t.deepEqual(
    diagnostics.map((d) => [d.code, d.summary, d.subject]),
    [
      ['internal', 'validation rule broken crashed', at],
      ['internal', 'validation rule alsoBroken crashed', at],
    ],
  );
  t.regex(diagnostics[0].detail ?? '', /boom/);
});
