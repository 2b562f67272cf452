// Regression (found by the crash suite: `fs copy` from a container SIGKILLed
// between taking its snapshot and writing its journal leaked the snapshot
// forever). The snapshot and its run-snap marker now commit together; the
// marker lasts until the journal records the snapshot; the next copy removes
// snapshots of dead processes' markers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openEngine } from '../../src/engine/open.js';
import { catalogKeys } from '../../src/container/index.js';
import { crashEnv, ok } from './util.js';

test('a copy killed before its journal leaves no snapshot behind once another copy ran', async () => {
  const { home, env } = crashEnv('snap');
  const src = path.join(home, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'a'), 'a\n');
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c', '-q']);
  // What a killed copy leaves: a snapshot and the marker naming a dead process.
  const dead = spawnSync('true').pid!;
  const e = await openEngine(`lmdb:${env.STRATA_HOME}`);
  try {
    const pool = (await e.catList(catalogKeys.pools))[0]![1] as { uuid: string };
    const cont = ((await e.catList(catalogKeys.conts(pool.uuid)))[0]![1] as { uuid: string }).uuid;
    const epoch = await e.createSnapshot(cont);
    await e.commit({ ops: [{ op: 'cat-put', key: `run-snap/${cont}/${epoch}`, value: { host: os.hostname(), pid: dead, start: '', at: new Date().toISOString() } }] });
  } finally {
    await e.close();
  }
  assert.match((await ok(env, ['container', 'list-snaps', 'tank', 'c'])).stdout, /\d/);
  await ok(env, ['fs', 'copy', '--src', 'daos://tank/c', '--dst', path.join(home, 'out'), '-q']);
  assert.doesNotMatch((await ok(env, ['container', 'list-snaps', 'tank', 'c'])).stdout, /\d/);
  const e2 = await openEngine(`lmdb:${env.STRATA_HOME}`);
  try { assert.deepEqual(await e2.catList('run-snap/'), []); } finally { await e2.close(); }
});
