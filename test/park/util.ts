// Shared setup for parking tests: an engine with a pool and containers of
// every kind filled with test data.
import crypto from 'node:crypto';
import type { Engine } from '../../src/engine/types.js';
import { createPool, createContainer, openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import { ObjectId, OTYPE, parseObjectClass } from '../../src/object/index.js';

export const MiB = 1024 * 1024;

export async function makePool(engine: Engine, label = 'pool'): Promise<void> {
  await createPool(engine, label);
}

/** A POSIX container with every file kind: regular, sparse, empty, xattrs, symlinks, hard links; with `big`, a 1 GiB file of data and a 1 GiB sparse-ish one. */
export async function fillPosix(engine: Engine, pool: string, label: string, opts: { big?: boolean } = {}): Promise<void> {
  await createContainer(engine, pool, label, { type: 'POSIX', chunkSize: '256K', attrs: { purpose: 'test', bin: new Uint8Array([0, 1, 255]) }, props: { cksum: 'crc32', rd_lvl: 'rank' } });
  const c = await openContainer(engine, pool, label, { write: true });
  const dfs = await mountDfs(c);
  await dfs.mkdir('/dir/sub', { recursive: true });
  await dfs.writeFile('/dir/small.txt', 'hello parking\n');
  await dfs.writeFile('/empty', '');
  await dfs.writeFile('/dir/sub/rand.bin', crypto.randomBytes(700 * 1024));
  // sparse: data at 0, a hole, data at 3 MiB + 17, size beyond the last byte
  const f = await dfs.open('/sparse', { create: true, write: true });
  await f.write(Buffer.from('head'), 0);
  await f.write(crypto.randomBytes(5000), 3 * MiB + 17);
  await f.truncate(8 * MiB);
  await dfs.setxattr('/dir/small.txt', 'user.color', 'blue');
  await dfs.setxattr('/dir', 'user.bin', new Uint8Array([0, 0, 7]));
  await dfs.symlink('dir/small.txt', '/link');
  await dfs.symlink('/nowhere', '/dangling');
  await dfs.link('/dir/small.txt', '/hard');
  await dfs.chmod('/dir/sub', 0o700);
  if (opts.big) {
    // 1 GiB file, mostly holes: a few MiB scattered across it
    const g = await dfs.open('/big', { create: true, write: true });
    for (let i = 0; i < 8; i++) await g.write(crypto.randomBytes(MiB / 2), i * 128 * MiB + i * 4099);
    await g.truncate(1024 * MiB);
    // 1 GiB of data: every MiB differs (its number in the first bytes)
    const d = await dfs.open('/dense', { create: true, write: true });
    const block = crypto.randomBytes(MiB);
    for (let i = 0; i < 1024; i++) {
      block.writeUInt32LE(i, 0);
      await d.write(block, i * MiB);
    }
  }
}

/** A container of another type (HDF5, RAW) written through the object API: many small single values and some arrays. */
export async function fillObjects(engine: Engine, pool: string, label: string, type: 'HDF5' | 'RAW', opts: { objects?: number; akeys?: number } = {}): Promise<void> {
  await createContainer(engine, pool, label, { type, oclass: 'S1', acl: ['A::OWNER@:rwdtTaAo', 'A:G:GROUP@:r', 'A::EVERYONE@:r'] });
  const c = await openContainer(engine, pool, label, { write: true });
  const nObj = opts.objects ?? 200;
  const nAk = opts.akeys ?? 10;
  let tx = c.tx();
  for (let i = 0; i < nObj; i++) {
    const oid = i === 0 ? new ObjectId(0n, 7n) : await c.allocOid(i % 3 === 0 ? OTYPE.ARRAY : OTYPE.MULTI_HASHED, 'S1');
    const obj = c.object(oid);
    for (let d = 0; d < 3; d++) {
      const dkey = d === 2 ? new Uint8Array([0, d, 0xff]) : `dkey-${d}`;
      for (let a = 0; a < nAk; a++) tx.put(obj, dkey, `a${a}`, crypto.randomBytes(1 + ((i * 7 + a) % 40)));
      if (i % 3 === 0) {
        tx.write(obj, dkey, 'arr', 0, crypto.randomBytes(3000));
        tx.write(obj, dkey, 'arr', 10000 + i, crypto.randomBytes(100));
      }
    }
    if (i === 1) tx.put(obj, 'empty', 'v', new Uint8Array(0));
    if (tx.ops.length > 2000) { await tx.commit(); tx = c.tx(); }
  }
  await tx.commit();
  void parseObjectClass;
}
