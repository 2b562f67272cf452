// Regression (found by the crash suite: SIGKILL of `fs put` during its closing
// collect): removing an empty extent file must not leave the file without its
// file-table row if the process dies half-way, or `pool check` reports an
// orphan. The file goes first, then the row; a row without a file is dropped by
// the next collect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { openEngine } from '../../src/engine/open.js';

test('a process dying between the two steps of removing an empty extent file leaves nothing pool check objects to', async () => {
  const dir = tempDir('strata-collect-');
  const cont = '0c0c0c0c-0000-4000-8000-0000000000c1';
  const k = { cont, oid: Buffer.alloc(16, 1), dkey: Buffer.from('d'), akey: Buffer.from('a') };
  const e1 = await openEngine(`lmdb:${dir}`);
  await e1.commit({ ops: [{ op: 'write', ...k, offset: 0, data: Buffer.alloc(100000, 7) }] });
  await e1.commit({ ops: [{ op: 'punch-akey', ...k }] });
  // "Killed" at the first file removal of the collect that close() runs.
  const ef = (e1 as unknown as { extentFiles: { remove(no: number): Promise<void> } }).extentFiles;
  ef.remove = async () => { throw new Error('killed here'); };
  await e1.close();
  const e2 = await openEngine(`lmdb:${dir}`);
  try {
    assert.deepEqual((await e2.check()).problems, []);
    await e2.reclaim(cont);
  } finally {
    await e2.close();
  }
  assert.deepEqual(fs.readdirSync(path.join(dir, 'extents')), []);
  const e3 = await openEngine(`lmdb:${dir}`);
  try { assert.deepEqual((await e3.check()).problems, []); } finally { await e3.close(); }
});
