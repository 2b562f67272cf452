// putFile (`fs put`): a file is whole under its final name or not there, in
// few transactions (PUT_BATCH bytes each, not one per chunk), holes kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { freshDfs, collect } from './util.js';
import { tempDir } from '../helpers.js';
import { putFile, PUT_BATCH } from '../../src/dfs/transfer.js';
import type { Engine } from '../../src/engine/types.js';

const KiB = 1024;

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE((seed * 2654435761 + i * 40503) >>> 0, i);
  return b;
}

/** Counts the engine's commits (the engine is real; this only watches it). */
function countCommits(engine: Engine): () => number {
  let n = 0;
  const commit = engine.commit.bind(engine);
  engine.commit = (b) => { n++; return commit(b); };
  return () => n;
}

test('put of a large file: a few transactions of PUT_BATCH bytes, holes stay holes, the exact size', async () => {
  const { dfs, engine } = await freshDfs(64 * KiB);
  const src = path.join(tempDir('strata-put-'), 'big');
  const size = 3 * PUT_BATCH + 5000;
  const data = bytes(size, 3);
  data.fill(0, PUT_BATCH, PUT_BATCH + 256 * KiB); // four whole zero chunks: not stored
  data.fill(0, size - 5000); // a zero tail: not stored, the size still exact
  fs.writeFileSync(src, data);
  const commits = countCommits(engine);
  const r = await putFile(dfs, src, '/big');
  assert.equal(r.bytes, size);
  assert.equal(r.dataBytes, size - 256 * KiB - 5000);
  // Before: one commit per 64 KiB chunk (~400). Now the temporary entry, four batches, the rename.
  assert.ok(commits() <= Math.ceil(size / PUT_BATCH) + 2, `${commits()} commits`);
  assert.ok((await dfs.readFile('/big')).equals(data));
  const f = await dfs.open('/big');
  assert.equal(await f.allocated(), size - 256 * KiB - 5000);
  assert.deepEqual((await collect(dfs.readdir('/'))).map((e) => e.name), ['big'], 'no temporary entry left');
});

test('put of a small file replaces the old one in one transaction', async () => {
  const { dfs, engine } = await freshDfs(64 * KiB);
  await dfs.writeFile('/s', 'old contents');
  const commits = countCommits(engine);
  await putFile(dfs, Readable.from([Buffer.from('new '), Buffer.from('contents')]), '/s', { mode: 0o640 });
  assert.equal(commits(), 1);
  assert.equal((await dfs.readFile('/s')).toString(), 'new contents');
  assert.equal((await dfs.stat('/s')).perm, 0o640);
});

test('a put that fails half-way leaves the old file whole and no temporary entry', async () => {
  const { dfs } = await freshDfs(64 * KiB);
  await dfs.writeFile('/keep', 'the old version');
  async function* failing() {
    for (let i = 0; i < 3 * PUT_BATCH / (256 * KiB); i++) yield bytes(256 * KiB, i);
    throw new Error('source went away');
  }
  await assert.rejects(putFile(dfs, Readable.from(failing()), '/keep'), /source went away/);
  assert.equal((await dfs.readFile('/keep')).toString(), 'the old version');
  assert.deepEqual((await collect(dfs.readdir('/'))).map((e) => e.name), ['keep']);
  await assert.rejects(putFile(dfs, Readable.from([Buffer.from('x')]), '/'), (e: { code?: string }) => e.code === 'EISDIR' || e.code === 'EBUSY');
});
