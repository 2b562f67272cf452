// File data: a regular file is a byte array split in chunk_size chunks
// (dkey = chunk index as u64Key, akey "d", offsets within the chunk). The file
// size is a u64 single value merged with put-max by writers, so parallel
// writers to different chunks never conflict; truncate sets it with put and
// punches the data beyond it. Holes are never stored and read as zeros.
import { StrataError } from '../errors.js';
import { u64FromKey, u64Key } from '../object/keys.js';
import type { ObjectId } from '../object/oid.js';
import type { Extent } from '../engine/types.js';
import type { DfsCore } from './core.js';
import { A_CTIME, A_MTIME, A_SIZE, DATA_AKEY, INODE_DKEY, fromU64le, u64le } from './layout.js';

export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;

export class DfsFile {
  constructor(
    private readonly core: DfsCore,
    readonly oid: ObjectId,
    readonly chunkSize: number,
    readonly writable: boolean,
    readonly path: string,
  ) {}

  private get o() { return this.core.obj(this.oid); }

  /** Current size (at the mount epoch). */
  async size(): Promise<number> {
    return Number(fromU64le(await this.o.get(INODE_DKEY, A_SIZE, this.core.epoch)));
  }

  /** Reads up to `length` bytes at `offset`; shorter at end of file. */
  async read(offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length, this.path);
    const size = await this.size();
    const end = Math.min(size, offset + length);
    if (end <= offset) return Buffer.alloc(0);
    const out = Buffer.alloc(end - offset);
    const cs = this.chunkSize;
    const jobs: Array<Promise<void>> = [];
    for (let pos = offset; pos < end;) {
      const idx = Math.floor(pos / cs);
      const inChunk = pos - idx * cs;
      const n = Math.min(cs - inChunk, end - pos);
      const at = pos - offset;
      jobs.push(this.o.read(u64Key(idx), DATA_AKEY, inChunk, n, this.core.epoch).then((b) => { out.set(b.subarray(0, n), at); }));
      pos += n;
    }
    await Promise.all(jobs);
    return out;
  }

  /** Writes data at offset (one atomic transaction); the size grows with put-max. */
  async write(data: Uint8Array, offset: number): Promise<number> {
    if (!this.writable) throw new StrataError('EINVAL', `${this.path}: not open for writing`);
    checkRange(offset, data.length, this.path);
    const tx = this.core.tx(`write ${this.path}`);
    if (data.length === 0) return 0;
    const cs = this.chunkSize;
    const o = this.o;
    for (let pos = 0; pos < data.length;) {
      const abs = offset + pos;
      const idx = Math.floor(abs / cs);
      const inChunk = abs - idx * cs;
      const n = Math.min(cs - inChunk, data.length - pos);
      tx.write(o, u64Key(idx), DATA_AKEY, inChunk, data.subarray(pos, pos + n));
      pos += n;
    }
    const now = this.core.now();
    tx.putMax(o, INODE_DKEY, A_SIZE, BigInt(offset + data.length));
    tx.putMax(o, INODE_DKEY, A_MTIME, now);
    tx.putMax(o, INODE_DKEY, A_CTIME, now);
    await tx.commit();
    return data.length;
  }

  /** Sets the size; data beyond it is punched (kept in snapshots only). */
  async truncate(size: number): Promise<void> {
    if (!this.writable) throw new StrataError('EINVAL', `${this.path}: not open for writing`);
    await truncateObject(this.core, this.oid, this.chunkSize, size, this.path);
  }

  /** Stored (non-hole) byte ranges of the file, in order, clamped to its size. */
  async extents(): Promise<Extent[]> {
    return fileExtents(this.core, this.oid, this.chunkSize, await this.size());
  }

  /** Bytes of data actually stored for the file. */
  async allocated(): Promise<number> {
    return (await this.extents()).reduce((s, e) => s + e.length, 0);
  }

  close(): void { /* stateless: nothing to release */ }
}

function checkRange(offset: number, length: number, path: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new StrataError('EINVAL', `${path}: bad offset ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new StrataError('EINVAL', `${path}: bad length ${length}`);
  if (offset + length > MAX_FILE_SIZE) throw new StrataError('EFBIG', `${path}: offset beyond the maximum file size`);
}

/** Chunk indexes holding data, in order, starting after `afterIdx` (exclusive, -1 = from 0). */
export async function* chunkIndexes(core: DfsCore, oid: ObjectId, afterIdx = -1): AsyncGenerator<number> {
  const after = afterIdx < 0 ? undefined : u64Key(afterIdx);
  for await (const k of core.obj(oid).dkeys({ epoch: core.epoch, pageSize: 256, after })) {
    if (k.length === 8) yield Number(u64FromKey(k));
  }
}

export async function fileExtents(core: DfsCore, oid: ObjectId, cs: number, size: number): Promise<Extent[]> {
  const out: Extent[] = [];
  const o = core.obj(oid);
  for await (const idx of chunkIndexes(core, oid)) {
    const base = idx * cs;
    if (base >= size) break;
    for (const e of await o.extents(u64Key(idx), DATA_AKEY, core.epoch)) {
      const start = base + e.offset;
      const end = Math.min(size, start + e.length);
      if (end <= start) continue;
      const prev = out[out.length - 1];
      if (prev && prev.offset + prev.length === start) prev.length += end - start;
      else out.push({ offset: start, length: end - start });
    }
  }
  return out;
}

export async function truncateObject(core: DfsCore, oid: ObjectId, cs: number, size: number, path: string): Promise<void> {
  checkRange(size, 0, path);
  const tx = core.tx(`truncate ${path}`);
  const o = core.obj(oid);
  const keep = Math.floor(size / cs); // chunk that holds the new end (partially kept)
  const inChunk = size - keep * cs;
  // Chunks after `keep` go away entirely; the tail of chunk `keep` is punched.
  for await (const idx of chunkIndexes(core, oid, keep - 1)) {
    if (idx === keep && inChunk > 0) tx.punchRange(o, u64Key(idx), DATA_AKEY, inChunk, cs - inChunk);
    else if (idx >= keep) tx.punchDkey(o, u64Key(idx));
  }
  const now = core.now();
  tx.put(o, INODE_DKEY, A_SIZE, u64le(size));
  tx.putMax(o, INODE_DKEY, A_MTIME, now);
  tx.putMax(o, INODE_DKEY, A_CTIME, now);
  await tx.commit();
}
