// Extent files: a commit's pieces go back to back, in one gathered write per
// file, and writes to one file run one at a time (many 1 MiB writes at once
// to one file only contend for its lock in the kernel).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { ExtentFiles, type ExtentRef } from '../../src/engine/extent-files.js';
import { PRIVATE } from '../../src/engine/home-access.js';

function piece(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE((seed * 2654435761 + i * 40503) >>> 0, i);
  return b;
}

test('concurrent commits: each commit\'s pieces back to back, one write at a time per file, every byte where its ref says', async () => {
  const dir = path.join(tempDir('strata-ext-'), 'extents');
  fs.mkdirSync(dir);
  let next = 0;
  const ef = new ExtentFiles(dir, PRIVATE, async () => ++next, async () => undefined);
  // Watch the writes the process makes (the files are real; this only counts).
  const calls = { inflight: 0, max: 0, total: 0 };
  const orig = { write: fs.write, writev: fs.writev };
  const watch = <F extends (...a: never[]) => void>(f: F) => ((...args: unknown[]) => {
    const cb = args[args.length - 1] as (...r: unknown[]) => void;
    calls.inflight++; calls.total++;
    calls.max = Math.max(calls.max, calls.inflight);
    (f as unknown as (...a: unknown[]) => void)(...args.slice(0, -1), (...r: unknown[]) => { calls.inflight--; cb(...r); });
  }) as unknown as F;
  (fs as { write: unknown }).write = watch(orig.write);
  (fs as { writev: unknown }).writev = watch(orig.writev);
  let results: Array<{ datas: Buffer[]; refs: ExtentRef[] }>;
  try {
    results = await Promise.all(Array.from({ length: 8 }, async (_, c) => {
      const datas = Array.from({ length: 6 }, (_x, i) => piece(100_000 + i * 1000 + c, c * 10 + i));
      return { datas, refs: await ef.appendAll(datas) };
    }));
  } finally {
    (fs as { write: unknown }).write = orig.write;
    (fs as { writev: unknown }).writev = orig.writev;
  }
  assert.equal(calls.max, 1, 'one write at a time to the file');
  assert.equal(calls.total, 8, 'one gathered write per commit');
  await ef.durable();
  for (const { datas, refs } of results) {
    for (let i = 1; i < refs.length; i++) assert.equal(refs[i]!.pos, refs[i - 1]!.pos + refs[i - 1]!.len, 'back to back');
    for (let i = 0; i < refs.length; i++) {
      const got = Buffer.alloc(refs[i]!.len);
      await ef.read(refs[i]!, refs[i]!.len, got, 0);
      assert.ok(got.equals(datas[i]!), `piece ${i} where its ref says`);
    }
    await ef.done(refs);
  }
  await ef.close();
});
