// A parked container is gone from the tier but not lost: every caller that
// still names it — the library, a link, a script with its uuid — is told
// where it went and how to bring it back, not "no container".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ok, makeTree, tierEnv } from './util.js';
import { openEngine } from '../../src/engine/open.js';
import { openContainer, containerAway } from '../../src/container/index.js';
import { resolveUnsPath, findLink } from '../../src/uns/index.js';
import { copy } from '../../src/mover/index.js';
import { isStrataError } from '../../src/errors.js';

test('a parked container: the library, uns and the container layer say where it went; unpark clears it', async () => {
  const { home, env } = tierEnv('away');
  await ok(env, 'pool', 'create', 'tank');
  const dir = path.join(home, 'proj');
  fs.mkdirSync(dir);
  makeTree(dir, { files: 5 });
  await ok(env, 'tier', 'archive', dir);
  const cold = path.join(home, 'cold');
  await ok(env, 'tier', 'park', dir, '--to', cold);
  const link = findLink(dir)!.link;
  const url = `lmdb:${env.STRATA_HOME}`;
  const want = new RegExp(`is not in the tier: parked in ${cold}; run strata tier unpark ${dir}`);

  const engine = await openEngine(url);
  try {
    assert.deepEqual(await containerAway(engine, link.cont), { pool: link.pool, note: `parked in ${cold}; run strata tier unpark ${dir}` });
    await assert.rejects(openContainer(engine, link.pool, link.cont), (e) => isStrataError(e, 'ENOENT') && want.test(e.message));
    const info = await resolveUnsPath(engine, path.join(dir, 'sub'));
    assert.equal(info.dangling, false, "a parked link is away, not dangling");
    assert.equal(info.away, `parked in ${cold}; run strata tier unpark ${dir}`);
  } finally {
    await engine.close();
  }
  // uns scan lists it as away, not as a dangling link.
  const scan = await ok(env, 'uns', 'scan', home);
  assert.match(scan, new RegExp(`${dir}\txattr\tPOSIX\t${link.pool}/${link.cont} AWAY \\(parked in ${cold}; run strata tier unpark ${dir}\\)`));
  const json = JSON.parse(await ok(env, 'uns', 'scan', home, '--json')) as Array<{ path: string; dangling: boolean; away?: string }>;
  assert.deepEqual(json.filter((j) => j.path === dir).map((j) => [j.dangling, j.away]), [[false, `parked in ${cold}; run strata tier unpark ${dir}`]]);
  // A library copy from below the link (no CLI guard in between).
  await assert.rejects(copy(dir, path.join(home, 'out'), { engine: url }), (e) => isStrataError(e, 'ENOENT') && want.test(e.message));

  await ok(env, 'tier', 'unpark', dir);
  const again = await openEngine(url);
  try {
    assert.equal(await containerAway(again, link.cont), undefined);
    const l2 = findLink(dir)!.link;
    assert.equal((await resolveUnsPath(again, dir)).dangling, false);
    assert.ok(await openContainer(again, l2.pool, l2.cont));
  } finally {
    await again.close();
  }
});
