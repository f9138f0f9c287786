/**
 * End to end in the lab VM: a director whose `ipvsadm -Sn` prints garbage. Its
 * table is real (lvsc applied the lab's services), but what lvsc reads of it is
 * not a table: planned against "nothing there", lvsc would add every service
 * again. lvsc must fail that director, saying what it printed (escaped), plan
 * nothing for it and change nothing there; the real servers are planned as usual.
 *
 * The garbage comes from a wrapper in the guest's /usr/local/sbin (made here; first on
 * the PATH lvsc's fact batch sets) that answers `-Sn` and hands every other call
 * to the real ipvsadm.
 *
 * Run with `npx ava --config ava.e2e.config.js test/e2e/hostile-director.test.ts`
 * (under `flock /work/wt/lab.lock` on a shared machine).
 */
import { dirname } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { sh } from '../../lab/remote.js';
import { labSession } from './support.js';

const test = anyTest as TestFn;
const session = labSession(test);

const WRAPPER = '/usr/local/sbin/ipvsadm';

test.serial("a director whose ipvsadm -Sn prints garbage fails with what it printed, and nothing is planned or changed there", async (t) => {
  t.timeout(15 * 60_000);
  const file = session.writeCluster('lab.lvs', session.clusterText);
  session.applied = true;
  const apply = await session.lvsc(['apply', '--yes'], file);
  t.is(apply.code, 0, apply.stdout + apply.stderr);
  const table = await sh('lb1', '/usr/sbin/ipvsadm -Sn');
  t.regex(table, /^-A /m, 'lb1 has a table');

  await sh('lb1', `mkdir -p ${dirname(WRAPPER)}
cat > ${WRAPPER} <<'EOF'
#!/bin/sh
if [ "$*" = "-Sn" ]; then printf 'IPVS: table corrupted \\033]0;pwned\\007\\033[2J\\n-A -t garbage\\n'; exit 0; fi
exec /usr/sbin/ipvsadm "$@"
EOF
chmod 755 ${WRAPPER}`);
  t.teardown(() => sh('lb1', `rm -f ${WRAPPER}; rmdir ${dirname(WRAPPER)} 2>/dev/null || :`).then(() => undefined));

  const plan = await session.lvsc(['plan'], file);
  t.is(plan.code, 1, plan.stdout + plan.stderr);
  t.regex(plan.stderr, /^error: lb1: ipvs: its output could not be read: skipped line 1 `IPVS: table corrupted \\x1b\]0;pwned\\x07\\x1b\[2J`: .* \(and 1 more\)$/m);
  t.false(/[\x1b\x07]/.test(plan.stdout + plan.stderr), 'no raw control character');
  t.notRegex(plan.stdout, /ipvs service/, 'no service planned again on lb1');
  t.notRegex(plan.stdout, /^lb1/m);

  const again = await session.lvsc(['apply', '--yes'], file);
  t.is(again.code, 1, again.stdout + again.stderr);
  // Nothing to do on the hosts that were read: apply says so, and names lb1 as unreadable, on stderr as plan does.
  t.regex(again.stdout, /\(1 could not be read\)/);
  t.regex(again.stderr, /^error: lb1: ipvs: its output could not be read/m);
  t.is(await sh('lb1', '/usr/sbin/ipvsadm -Sn'), table, "lb1's table is as it was");

  await sh('lb1', `rm -f ${WRAPPER}`);
  const clean = await session.lvsc(['plan'], file);
  t.is(clean.code, 0, clean.stdout + clean.stderr);
});
