// SIGKILL of `tier archive` at seeded random delays (not at chosen steps, as
// test/tier/crash.test.ts does). After every kill: pool check passes and the
// data is whole somewhere; `tier recover`, then `tier archive` again if the
// directory is still local, ends archived: the link's container is identical
// to a copy kept aside, no leftovers, no journal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers.js';
import { makeTree, tierEnv, sh, exists, hiddenSiblings } from '../tier/util.js';
import { Tally, cliPoolCheck, killAfter, poolCheck, suiteRng } from './util.js';

test('tier archive: SIGKILL at random points, then recover / re-run: archived and identical', async () => {
  const r = suiteRng('tier');
  const tally = new Tally('tier archive', 10, 150, 1200);
  const { home, env } = tierEnv('crash-random');
  const run = async (...args: string[]) => {
    const x = await runCli(args, { env });
    assert.equal(x.code, 0, `strata ${args.join(' ')}: ${x.stderr}`);
    return x;
  };
  await run('pool', 'create', 'tank');
  const ws = path.join(home, 'ws');
  fs.mkdirSync(ws);
  for (let round = 0; tally.more(); round++) {
    const dir = path.join(ws, `t${round}`);
    const kept = path.join(home, `kept${round}`);
    fs.mkdirSync(dir);
    makeTree(dir, { files: 30 });
    sh(`cp -a '${dir}' '${kept}'`);
    const k = await killAfter(['tier', 'archive', dir, '-j', '2'], env, tally.delay(r));
    await poolCheck(env, `tier kill ${round}`);
    tally.count(k.killed, k.ms);
    if (!k.killed) assert.equal(k.code, 0, k.out);
    // Whole somewhere: the directory, the moved-aside copy, or the container behind the link.
    assert.ok(exists(dir) || hiddenSiblings(dir).length > 0, `round ${round}: the data is gone`);
    await run('tier', 'recover');
    if (fs.lstatSync(dir).isDirectory() && !sh(`getfattr -n user.daos '${dir}' 2>/dev/null || true`)) await run('tier', 'archive', dir);
    const cmp = await runCli(['fs', 'compare', kept, dir, '--xattrs', 'non-lustre'], { env });
    assert.equal(cmp.code, 0, `round ${round}: ${cmp.stdout}${cmp.stderr}`);
    assert.deepEqual(hiddenSiblings(dir), []);
    assert.match((await run('tier', 'recover')).stderr, /nothing to do/);
    await poolCheck(env, `tier round ${round}`);
  }
  await cliPoolCheck(env);
  tally.report();
});
