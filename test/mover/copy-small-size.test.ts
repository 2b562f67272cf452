// A tree of small files copied into a container takes about its data size in
// the engine home. 4 KiB values kept in the LMDB index went to overflow
// pages of their own (two 4 KiB pages each, plus half-empty leaf pages): the
// home grew to 2.2× the data. Small extents now go to the extent files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { moverEnv, ok } from './util.js';

/** Bytes of every file under dir, as `du -sb` counts them. */
function apparentSize(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? apparentSize(p) : fs.lstatSync(p).size;
  }
  return n;
}

test('copy of 4 KiB files: the engine home holds them in at most 1.3× their size', async () => {
  const { home, env } = moverEnv();
  const src = path.join(home, 'src');
  const dirs = 30, perDir = 100, size = 4096;
  let seed = 1;
  for (let d = 0; d < dirs; d++) {
    fs.mkdirSync(path.join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < perDir; f++) {
      const b = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4) { seed = (seed * 1103515245 + 12345) >>> 0; b.writeUInt32LE(seed, i); }
      fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), b);
    }
  }
  const data = dirs * perDir * size;
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['container', 'create', 'tank', 'c', '--type', 'POSIX']);
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c']);
  const stored = apparentSize(env.STRATA_HOME!);
  assert.ok(stored <= 1.3 * data, `engine home holds ${stored} bytes for ${data} bytes of data (${(stored / data).toFixed(2)}×)`);
  // And reads back the same bytes.
  assert.equal((await ok(env, ['fs', 'compare', src, 'daos://tank/c/src'])).code, 0);
});
