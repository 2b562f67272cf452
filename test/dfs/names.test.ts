// Entry names: DFS refuses to create '.', '..', names with '/' or NUL; an
// entry stored under such a dkey anyway (a damaged or hostile container, made
// below the DFS API) is hidden from readdir and lookup and reported by the
// DFS check, so no reader is ever handed a name that leads out of its directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDfs, hasCode, collect } from './util.js';
import { checkDfs, encodeEntry, ENTRY_AKEY, ROOT_OID } from '../../src/dfs/index.js';

test('create refuses names that are not names', async () => {
  const { dfs } = await freshDfs();
  for (const bad of ['.', '..', 'a/b', 'a\0b', '']) {
    await assert.rejects(dfs.mkdirAt(ROOT_OID, bad), hasCode('EINVAL'), JSON.stringify(bad));
    await assert.rejects(dfs.createFileAt(ROOT_OID, bad), hasCode('EINVAL'), JSON.stringify(bad));
  }
  await assert.rejects(dfs.renameAt(ROOT_OID, 'x', ROOT_OID, '..'), hasCode('EINVAL'));
  assert.deepEqual(await collect(dfs.readdir('/')), []);
});

test('entries stored under bad dkeys are invisible to readdir and lookup, and flagged by the check', async () => {
  const { dfs, engine, container } = await freshDfs();
  const f = await dfs.createFileAt(ROOT_OID, 'payload');
  const entry = (name: string) => ({
    op: 'put' as const, cont: container.uuid, oid: ROOT_OID.toBytes(), dkey: Buffer.from(name),
    akey: Buffer.from(ENTRY_AKEY), value: encodeEntry({ type: 'file', oid: f.oid }),
  });
  await engine.commit({ ops: [entry('../../escaped'), entry('x/y'), entry('..'), entry('.')] });
  assert.deepEqual((await collect(dfs.readdir('/'))).map((e) => e.name), ['payload']);
  assert.deepEqual((await dfs.readdirPlus(ROOT_OID)).entries.map((e) => e.name), ['payload']);
  await assert.rejects(dfs.lookupAt(ROOT_OID, 'x/y'), hasCode('EINVAL'));
  const report = await checkDfs(engine, container.uuid);
  for (const bad of ['../../escaped', 'x/y', '..', '.']) {
    assert.ok(report.problems.some((p) => p.includes(JSON.stringify(bad)) && p.includes('not a valid name')), `${bad}: ${report.problems.join('; ')}`);
  }
});
