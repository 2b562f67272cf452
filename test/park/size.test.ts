// What parked files cost on disk: a container of small files parks in at most
// 1.1 times its stored bytes (the daos-serialize layout took 1.27 times for
// 4 KiB files: a variable-length row and heap object per key and value, a
// dataset per file), a large file in at most 1.02 times; the space bound that
// `tier park` checks stays above what the files take; and the files give the
// container back whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { tempDir, tempEngine } from '../helpers.js';
import { serializeContainer, deserializeContainer, checkContainer, serializedBytesBound } from '../../src/park/index.js';
import { createContainer, destroyContainer, openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import type { Engine } from '../../src/engine/types.js';
import { makePool } from './util.js';

/** A POSIX container of files of the given sizes (random bytes) in a few directories; returns its stored bytes. */
async function fill(engine: Engine, label: string, sizes: number[]): Promise<number> {
  await createContainer(engine, 'pool', label, { type: 'POSIX' });
  const dfs = await mountDfs(await openContainer(engine, 'pool', label, { write: true }));
  for (let d = 0; d < 4; d++) await dfs.mkdir(`/d${d}`);
  const block = crypto.randomBytes(4 << 20);
  for (let i = 0; i < sizes.length; i++) {
    const f = await dfs.open(`/d${i % 4}/f${i}`, { create: true, write: true });
    block.writeUInt32LE(i, 0); // every file differs
    for (let off = 0; off < sizes[i]!; off += block.length) await f.write(block.subarray(0, Math.min(block.length, sizes[i]! - off)), off);
  }
  return (await dfs.du('/')).storedBytes;
}

async function parkedBytes(engine: Engine, url: string, label: string, jobs: number): Promise<{ bytes: number; dir: string; uuid: string }> {
  const dir = tempDir();
  const s = await serializeContainer(engine, 'pool', label, { outputDir: dir, jobs, engineUrl: url });
  return { bytes: s.files.reduce((a, f) => a + fs.statSync(f).size, 0), dir, uuid: s.uuid };
}

test('3000 files of 4 KiB park in at most 1.1x their stored bytes (-j 1 and -j 2), within the bound, and come back identical', { timeout: 300_000 }, async () => {
  const { engine, url } = await tempEngine();
  await makePool(engine);
  const stored = await fill(engine, 'small', Array(3000).fill(4096));
  assert.equal(stored, 3000 * 4096);
  const before = await checkContainer(engine, 'pool', 'small');
  for (const jobs of [1, 2]) {
    const p = await parkedBytes(engine, url, 'small', jobs);
    assert.ok(p.bytes <= 1.1 * stored, `-j ${jobs}: the files take ${p.bytes} bytes, ${(p.bytes / stored).toFixed(3)}x the ${stored} stored`);
    const bound = await serializedBytesBound(engine, p.uuid, undefined, { ranks: jobs });
    assert.ok(bound >= p.bytes, `-j ${jobs}: bound ${bound} < files ${p.bytes}`);
    const d = await deserializeContainer(engine, 'pool', [p.dir], { label: `copy${jobs}`, jobs, engineUrl: url });
    const after = await checkContainer(engine, 'pool', d.label);
    assert.equal(after.digest, before.digest);
    assert.equal(after.metaDigest, before.metaDigest);
    await destroyContainer(engine, 'pool', d.label);
  }
  await engine.close();
});

test('a large file parks in at most 1.02x its bytes; files of mixed sizes too; the bound holds for both', { timeout: 300_000 }, async () => {
  const { engine, url } = await tempEngine();
  await makePool(engine);
  const cases: Array<[string, number[]]> = [
    ['large', [48 << 20]],
    // 1 byte .. 4 MiB, spread evenly on a log scale
    ['mixed', Array.from({ length: 200 }, (_, i) => Math.max(1, Math.floor(Math.exp(((i * 37) % 200) / 200 * Math.log(4 << 20)))))],
  ];
  for (const [label, sizes] of cases) {
    const stored = await fill(engine, label, sizes);
    const p = await parkedBytes(engine, url, label, 1);
    assert.ok(p.bytes <= 1.02 * stored, `${label}: the files take ${p.bytes} bytes, ${(p.bytes / stored).toFixed(4)}x the ${stored} stored`);
    const bound = await serializedBytesBound(engine, p.uuid);
    assert.ok(bound >= p.bytes, `${label}: bound ${bound} < files ${p.bytes}`);
  }
  await engine.close();
});
