// File data: a regular file is a byte array split in chunk_size chunks
// (dkey = chunk index as u64Key, akey "d", offsets within the chunk). The file
// size is a u64 single value merged with put-max by writers, so parallel
// writers to different chunks never conflict; truncate sets it with put and
// punches the data beyond it. Holes are never stored and read as zeros.
import { StrataError } from '../errors.js';
import { keyBytes, u64FromKey, u64Key } from '../object/keys.js';
import type { ObjectId } from '../object/oid.js';
import type { Extent } from '../engine/types.js';
import type { DfsCore, Inode } from './core.js';
import { xattrsFrom } from './xattr.js';
import { A_ATTR, A_CTIME, A_MTIME, A_SIZE, DATA_AKEY, INODE_DKEY, XATTR_DKEY, fromU64le } from './layout.js';
import { LATEST } from '../engine/types.js';
import { addData, expectInode, setattrOf, type SetAttr } from './at.js';

export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;

export interface DfsFileOptions {
  /** Open for writing. */
  write?: boolean;
  /** For messages. */
  path?: string;
  /**
   * Pin the inode while this handle is open: if its last link is removed
   * meanwhile it stays readable and writable through this handle and goes
   * away at close() (unlink while open, within this process).
   */
  pin?: boolean;
}

export interface WriteOptions {
  /** Raise mtime/ctime to now (default true); false leaves the times for a later setattr. */
  touch?: boolean;
}

export class DfsFile {
  readonly writable: boolean;
  readonly path: string;
  private pinned: boolean;

  constructor(
    private readonly core: DfsCore,
    readonly oid: ObjectId,
    readonly chunkSize: number,
    opts: DfsFileOptions | boolean = {},
    path?: string,
  ) {
    const o: DfsFileOptions = typeof opts === 'boolean' ? { write: opts, path } : opts;
    this.writable = !!o.write;
    this.path = o.path ?? path ?? oid.toString();
    this.pinned = !!o.pin;
    if (this.pinned) core.pin(oid);
  }

  private get o() { return this.core.obj(this.oid); }

  /** Current size (at the mount epoch). */
  async size(): Promise<number> {
    return Number(fromU64le(await this.o.get(INODE_DKEY, A_SIZE, this.core.epoch)));
  }

  /**
   * Reads up to `length` bytes at `offset`; shorter at end of file. With
   * `size` (the size the caller knows) the size is not read again.
   */
  async read(offset: number, length: number, opts: { size?: number; into?: Buffer } = {}): Promise<Buffer> {
    checkRange(offset, length, this.path);
    const size = opts.size ?? await this.size();
    const end = Math.min(size, offset + length);
    if (end <= offset) { await this.stillThere(); return Buffer.alloc(0); }
    const out = opts.into && opts.into.length >= end - offset ? opts.into.subarray(0, end - offset) : Buffer.allocUnsafe(end - offset);
    const cs = this.chunkSize;
    const jobs: Array<Promise<void>> = [];
    for (let pos = offset; pos < end;) {
      const idx = Math.floor(pos / cs);
      const inChunk = pos - idx * cs;
      const n = Math.min(cs - inChunk, end - pos);
      const at = pos - offset;
      jobs.push(this.o.read(u64Key(idx), DATA_AKEY, inChunk, n, this.core.epoch, out.subarray(at, at + n)).then(() => undefined));
      pos += n;
    }
    await Promise.all(jobs);
    await this.stillThere();
    return out;
  }

  /**
   * At the latest state, a file another client removed or replaced while it
   * was read reads as zeros or as empty (its data and size go with it): say
   * so, as NFS does (ESTALE), rather than hand those out. A snapshot never changes.
   */
  private async stillThere(): Promise<void> {
    if (this.core.epoch === LATEST && !(await this.o.get(INODE_DKEY, A_ATTR, LATEST))) {
      throw new StrataError('ESTALE', `${this.path}: the file was removed or replaced while being read`);
    }
  }

  /** Writes data at offset (one atomic transaction); the size grows with put-max. */
  async write(data: Uint8Array, offset: number, opts: WriteOptions = {}): Promise<number> {
    await this.writev([{ data, offset }], opts);
    return data.length;
  }

  /**
   * Writes several pieces in one transaction (one durable commit): the bulk
   * path for writers that gather many chunks. The size grows with put-max.
   */
  async writev(pieces: ReadonlyArray<{ data: Uint8Array; offset: number }>, opts: WriteOptions = {}): Promise<void> {
    if (!this.writable) throw new StrataError('EINVAL', `${this.path}: not open for writing`);
    const what = `write ${this.path}`;
    this.core.checkWritable(what);
    let end = -1;
    for (const p of pieces) {
      checkRange(p.offset, p.data.length, this.path);
      if (p.data.length > 0) end = Math.max(end, p.offset + p.data.length);
    }
    if (end < 0) return;
    // Conditioned on the inode still existing (expectInode): a conflict is a
    // change of its attributes or links meanwhile, so the write is redone.
    await this.core.retry(what, async () => {
      const tx = this.core.tx(what);
      await expectInode(this.core, tx, this.oid, what);
      for (const p of pieces) if (p.data.length > 0) addData(this.core, tx, this.oid, this.chunkSize, p.data, p.offset);
      const o = this.o;
      tx.putMax(o, INODE_DKEY, A_SIZE, BigInt(end));
      if (opts.touch !== false) {
        const now = this.core.now();
        tx.putMax(o, INODE_DKEY, A_MTIME, now);
        tx.putMax(o, INODE_DKEY, A_CTIME, now);
      }
      await tx.commit();
    });
  }

  /** Sets the size; data beyond it is punched (kept in snapshots only). */
  async truncate(size: number): Promise<void> {
    if (!this.writable) throw new StrataError('EINVAL', `${this.path}: not open for writing`);
    await setattrOf(this.core, this.oid, { size });
  }

  /**
   * One-transaction setattr of this file: e.g. the exact size and mtime at
   * the end of a write stream (`{ size, mtimeNs }`), mode, owner, atime.
   */
  async setattr(a: SetAttr): Promise<void> {
    if (!this.writable) throw new StrataError('EINVAL', `${this.path}: not open for writing`);
    await setattrOf(this.core, this.oid, a);
  }

  /** Stored (non-hole) byte ranges of the file, in order, clamped to its size. */
  async extents(size?: number): Promise<Extent[]> {
    return fileExtents(this.core, this.oid, this.chunkSize, size ?? await this.size());
  }

  /** Bytes of data actually stored for the file. */
  async allocated(): Promise<number> {
    return (await this.extents()).reduce((s, e) => s + e.length, 0);
  }

  /** A buffered bulk writer: several chunks per transaction, commits in the background (see BulkWriter). */
  writer(opts: BulkWriterOptions = {}): BulkWriter {
    if (!this.writable) throw new StrataError('EINVAL', `${this.path}: not open for writing`);
    return new BulkWriter(this, opts);
  }

  /** Releases the handle (drops its pin: an unlinked pinned file goes away with its last handle). */
  async close(): Promise<void> {
    if (!this.pinned) return;
    this.pinned = false;
    await this.core.unpin(this.oid);
  }
}

export interface BulkWriterOptions {
  /** Bytes gathered per transaction (default 8 MiB). */
  batchBytes?: number;
  /** Transactions in flight (default 2); write() waits beyond that. */
  inflight?: number;
  /** Copy written buffers (the caller reuses them); default false: the caller hands them over. */
  copy?: boolean;
  /** Raise mtime/ctime to now with each commit (default true). */
  touch?: boolean;
  /**
   * Without `copy`: gets each handed-over buffer back once the transaction
   * holding it is done (committed or failed) or it was discarded (a pooled
   * read buffer goes back to its pool).
   */
  release?: (data: Uint8Array) => void;
}

/** Staging buffers of copying writers, reused across writers (allocating a fresh one per write costs more than the copy). */
const stagingFree: Buffer[] = [];
const STAGING_KEEP = 8;

/**
 * Gathers writes of one file and commits them several chunks per transaction
 * (fewer, larger durable commits), up to `inflight` transactions at a time.
 * write() returns once the data is buffered; an error of a background commit
 * is thrown by the next write() or flush().
 */
export class BulkWriter {
  private pieces: Array<{ data: Uint8Array; offset: number }> = [];
  private bytes = 0;
  /** With `copy`: the buffer the pending pieces were copied into, and how much of it is used. */
  private stage: Buffer | undefined;
  private staged = 0;
  private readonly running = new Set<Promise<void>>();
  private error: unknown;
  private readonly batchBytes: number;
  private readonly inflight: number;
  /** End offset of data written but not yet committed (0 when clean). */
  dirtyEnd = 0;

  constructor(private readonly file: DfsFile, private readonly opts: BulkWriterOptions = {}) {
    this.batchBytes = opts.batchBytes ?? 8 << 20;
    this.inflight = opts.inflight ?? 2;
  }

  get dirty(): boolean { return this.bytes > 0 || this.running.size > 0; }
  get buffered(): number { return this.bytes; }

  async write(data: Uint8Array, offset: number): Promise<void> {
    this.throwError();
    if (data.length === 0) return;
    this.pieces.push({ data: this.opts.copy ? this.copyIn(data) : data, offset });
    this.bytes += data.length;
    this.dirtyEnd = Math.max(this.dirtyEnd, offset + data.length);
    if (this.bytes >= this.batchBytes) await this.dispatch();
  }

  private copyIn(data: Uint8Array): Uint8Array {
    if (data.length > this.batchBytes) return Buffer.from(data);
    if (this.stage && this.staged + data.length > this.stage.length) this.releaseStage();
    const stage = (this.stage ??= stagingFree.pop() ?? Buffer.allocUnsafe(this.batchBytes));
    if (stage.length < this.batchBytes) { this.stage = undefined; return this.copyIn(data); }
    stage.set(data, this.staged);
    const out = stage.subarray(this.staged, this.staged + data.length);
    this.staged += data.length;
    return out;
  }

  /** Stops filling the current staging buffer (it goes back to the pool once its commit is done). */
  private releaseStage(): Buffer | undefined {
    const s = this.stage;
    this.stage = undefined;
    this.staged = 0;
    return s;
  }

  private async dispatch(): Promise<void> {
    if (this.pieces.length === 0) return;
    const pieces = this.pieces;
    const stage = this.releaseStage();
    this.pieces = [];
    this.bytes = 0;
    const p: Promise<void> = this.file.writev(pieces, { touch: this.opts.touch }).then(() => undefined, (e: unknown) => { this.error ??= e; })
      .finally(() => {
        this.running.delete(p);
        if (stage && stagingFree.length < STAGING_KEEP) stagingFree.push(stage);
        this.release(pieces);
      });
    this.running.add(p);
    while (this.running.size >= this.inflight) await Promise.race(this.running);
  }

  private release(pieces: Array<{ data: Uint8Array }>): void {
    const r = this.opts.release;
    if (r && !this.opts.copy) for (const pc of pieces) r(pc.data);
  }

  private throwError(): void {
    if (this.error !== undefined) {
      const e = this.error;
      this.error = undefined;
      throw e;
    }
  }

  /** Commits everything buffered and waits; throws the first error since the last report. */
  async flush(): Promise<void> {
    await this.dispatch();
    while (this.running.size > 0) await Promise.all([...this.running]);
    this.dirtyEnd = 0;
    this.throwError();
  }

  /** Drops what is buffered (not committed) and waits for the commits in flight. */
  async discard(): Promise<void> {
    this.release(this.pieces);
    this.pieces = [];
    this.bytes = 0;
    const stage = this.releaseStage();
    if (stage && stagingFree.length < STAGING_KEEP) stagingFree.push(stage);
    while (this.running.size > 0) await Promise.all([...this.running]);
    this.error = undefined;
    this.dirtyEnd = 0;
  }
}

function checkRange(offset: number, length: number, path: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new StrataError('EINVAL', `${path}: bad offset ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new StrataError('EINVAL', `${path}: bad length ${length}`);
  if (offset + length > MAX_FILE_SIZE) throw new StrataError('EFBIG', `${path}: offset beyond the maximum file size`);
}

/** Chunk indexes holding data, in order, starting after `afterIdx` (exclusive, -1 = from 0). */
/** A small file read whole (readSmallFile). */
export interface SmallFile {
  /** Size, mtime, ...: read with the data, or the ones the caller knew (`known`). */
  size: number;
  /** The inode as read with the data; undefined when the caller's `known` stood for it. */
  inode?: Inode;
  xattrs: Array<[string, Buffer]>;
  data: Buffer;
}

/** Index records readSmallFile takes in its one read (inode akeys, xattrs, a few data extents, older versions a snapshot keeps). */
const SMALL_FILE_RECORDS = 64;
const INODE_KEY = keyBytes(INODE_DKEY);
const XATTR_KEY = keyBytes(XATTR_DKEY);
const DATA_KEY = keyBytes(DATA_AKEY);

/**
 * A small regular file's inode, xattrs and data in one engine read: they are
 * neighbours in the index (the object's chunk dkeys, "\0inode" and
 * "\0xattr"), so one request over the object holds them all. With `known`
 * (size and chunk size from a listing at this view) the inode is not read
 * again, on a snapshot only: there nothing changes between the listing and
 * this read. Undefined when the file is not small enough for one read (over
 * `maxBytes`, or more index records than one read takes): read it key by
 * key. ENOENT when it is gone.
 */
export async function readSmallFile(core: DfsCore, oid: ObjectId, maxBytes: number, known?: { size: number; chunkSize: number }): Promise<SmallFile | undefined> {
  const c = core.container;
  const trust = known && core.epoch !== LATEST ? known : undefined;
  const got = await c.engine.readSmallObject(c.uuid, oid.toBytes(), { epoch: core.epoch, maxRecords: SMALL_FILE_RECORDS, maxBytes, without: trust ? [INODE_KEY] : [] });
  if (!got) return undefined;
  const inodeValues: Array<{ akey: Uint8Array; value: Uint8Array }> = [];
  const xattrValues: Array<{ akey: Uint8Array; value: Uint8Array }> = [];
  for (const s of got.singles) {
    if (Buffer.compare(s.dkey, INODE_KEY) === 0) inodeValues.push(s);
    else if (Buffer.compare(s.dkey, XATTR_KEY) === 0) xattrValues.push(s);
  }
  let inode: Inode | undefined;
  if (!trust) {
    inode = core.inodeOf(oid, inodeValues, 'file');
    if (!inode) throw new StrataError('ENOENT', `inode ${oid} is gone`);
  }
  const size = trust ? trust.size : inode!.size;
  if (size > maxBytes) return undefined; // mostly holes
  const cs = (trust ? trust.chunkSize : inode!.chunkSize) || core.chunkSize;
  const data = Buffer.alloc(size);
  for (const a of got.arrays) {
    if (a.dkey.length !== 8 || Buffer.compare(a.akey, DATA_KEY) !== 0) continue;
    const start = Number(u64FromKey(a.dkey)) * cs;
    if (start >= size) continue;
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.length).copy(data, start, 0, Math.min(a.data.length, cs, size - start));
  }
  return { size, inode, xattrs: xattrsFrom(xattrValues), data };
}

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

export async function truncateObject(core: DfsCore, oid: ObjectId, _cs: number, size: number, _path: string): Promise<void> {
  await setattrOf(core, oid, { size });
}
