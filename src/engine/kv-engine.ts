// The Engine methods that are the same on every index store, on top of the
// generators of core.ts. A driver (LMDB, PostgreSQL) supplies how to run a
// generator (read-only, or in a write transaction that serializes with every
// other writer), how to read the bytes of a stored extent, and its extent-file
// table; commit() stays with the driver because where bulk bytes go and how
// transactions are grouped differ.
import fs from 'node:fs';
import type { AkeyInfo, ContId, Engine, EngineUsage, Epoch, Extent, KeyPath, Page, SmallObject, SnapshotInfo, Batch } from './types.js';
import { LATEST } from './types.js';
import { StrataError } from '../errors.js';
import { objPrefix, prefixEnd, uuidBytes } from './keys.js';
import { paintPlan, visibleExtents, visibleSingle, type RecordValue } from './records.js';
import * as core from './core.js';
import * as reclaim from './reclaim.js';
import type { ExtentFiles, ExtentRef } from './extent-files.js';
import { checkEngine, type EngineCheckReport } from './check.js';
import { lockFree } from './writer-lock.js';

export interface FileEntry { no: number; pid: number; host: string; sealed: boolean; live: number }

/**
 * Pause points inside a reclaim pass, for tests that drive an interleaving
 * with another writer deterministically. Only code in the same process can
 * set them (no environment variable or option reaches them); unset, they cost
 * one property read per object.
 */
export const reclaimTestHooks: {
  /** Before the decision about one object. */
  beforeObject?: (cont: ContId, oid: Buffer) => Promise<void>;
  /** After the decision about one object, before its records are deleted. */
  beforeDelete?: (cont: ContId, oid: Buffer) => Promise<void>;
} = {};

export abstract class KvEngine implements Engine {
  abstract readonly kind: string;
  abstract readonly location: string;
  protected closed = false;
  /** Extent files, when this engine keeps bulk bytes in files. */
  protected extentFiles: ExtentFiles | undefined;

  /** Runs a read-only generator (latest committed state). */
  protected abstract runRead<T>(g: core.Gen<T>): Promise<T>;
  /** Runs a generator in a write transaction (its 'lock' request serializes writers). */
  protected abstract runWrite<T>(g: core.Gen<T>): Promise<T>;
  /** Reads len bytes at offset `at` inside a stored extent (file or blob) into dst. */
  protected abstract readStored(v: RecordValue, at: number, len: number, dst: Buffer, dstOff: number): Promise<void>;
  /** Extent-file table (empty when the engine keeps no extent files). */
  protected abstract listFiles(): Promise<FileEntry[]>;
  /** Deletes the given file rows that still hold no live bytes; returns the ones deleted. */
  protected abstract dropFileRows(nos: number[]): Promise<number[]>;
  /** Marks an extent file sealed: it gets no more bytes. */
  protected abstract sealFile(no: number): Promise<void>;

  abstract commit(batch: Batch): Promise<Epoch>;
  abstract currentEpoch(cont?: ContId): Promise<Epoch>;
  abstract allocate(cont: ContId, count: number): Promise<bigint>;
  abstract catGet(key: string): Promise<unknown | undefined>;
  abstract catList(prefix: string, opts?: { after?: string; limit?: number }): Promise<Array<[string, unknown]>>;
  abstract listSnapshots(cont: ContId): Promise<SnapshotInfo[]>;
  abstract usage(): Promise<EngineUsage>;
  abstract close(): Promise<void>;
  abstract destroyContainer(cont: ContId): Promise<void>;
  /** Engine-specific cleanup at the end of reclaim/destroyContainer (e.g. orphaned blobs). */
  protected async afterReclaim(): Promise<void> { /* nothing by default */ }

  /** Commits of this engine are durable when they resolve, whatever the mode (drivers that can defer override both). */
  setDurability(_mode: 'durable' | 'visible'): void { /* always durable */ }
  async sync(): Promise<void> { /* always durable */ }
  /** Reads see the latest commits already (drivers with read snapshots override it). */
  refresh(): void { /* nothing to renew */ }

  protected assertOpen(): void {
    if (this.closed) throw new StrataError('EINVAL', 'engine is closed');
  }

  // ---------- reads ----------

  async get(k: KeyPath, epoch: Epoch = LATEST): Promise<Uint8Array | undefined> {
    const { recs, floor } = await this.runRead(core.loadAkey(k, epoch));
    const v = visibleSingle(recs, epoch, floor);
    return v ? Buffer.from(v) : undefined;
  }

  async read(k: KeyPath, offset: number, length: number, epoch: Epoch = LATEST, into?: Uint8Array): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { recs, floor } = await this.runRead(core.loadAkey(k, epoch));
        if (into && into.length < length) throw new StrataError('EINVAL', `read: a buffer of ${into.length} bytes cannot hold ${length}`);
        const dst = into ? Buffer.from(into.buffer, into.byteOffset, length) : Buffer.allocUnsafe(length);
        const reads: Array<Promise<void>> = [];
        const plan = paintPlan(recs, epoch, floor, { start: offset, end: offset + length });
        // What no record paints reads as zeros.
        let zeroFrom = offset;
        for (const { span } of [...plan].sort((a, b) => a.span.start - b.span.start)) {
          if (span.start > zeroFrom) dst.fill(0, zeroFrom - offset, span.start - offset);
          zeroFrom = Math.max(zeroFrom, span.end);
        }
        if (zeroFrom < offset + length) dst.fill(0, zeroFrom - offset, length);
        for (const { rec, span } of plan) {
          const v = rec.v;
          if (v.t === 'inline') Buffer.from(v.data.buffer, v.data.byteOffset, v.data.length).copy(dst, span.start - offset, span.start - rec.offset, span.end - rec.offset);
          else reads.push(this.readStored(v, span.start - rec.offset, span.end - span.start, dst, span.start - offset));
        }
        await Promise.all(reads);
        return dst;
      } catch (e) {
        // A concurrent overwrite may have removed the bytes we were about to
        // read: re-read the index, from a fresh view (the handle's read
        // snapshot may still point at the file another process collected).
        if (attempt < 3 && e instanceof StrataError && e.code === 'ENOENT') { this.refresh(); continue; }
        throw e;
      }
    }
  }

  async fetchDkey(cont: ContId, oid: Uint8Array, dkey: Uint8Array, epoch: Epoch = LATEST): Promise<Array<{ akey: Uint8Array; value: Uint8Array }>> {
    return this.runRead(core.fetchDkey(cont, oid, dkey, epoch));
  }

  async fetchDkeys(cont: ContId, items: ReadonlyArray<{ oid: Uint8Array; dkey: Uint8Array }>, epoch: Epoch = LATEST): Promise<Array<Array<{ akey: Uint8Array; value: Uint8Array }>>> {
    return this.runRead(core.fetchDkeys(cont, items, epoch));
  }

  async readSmallObject(cont: ContId, oid: Uint8Array, opts: { epoch?: Epoch; maxRecords: number; maxBytes: number; without?: ReadonlyArray<Uint8Array> }): Promise<SmallObject | undefined> {
    const epoch = opts.epoch ?? LATEST;
    for (let attempt = 0; ; attempt++) {
      try {
        const found = await this.runRead(core.readSmallObject(cont, oid, epoch, opts.maxRecords, opts.maxBytes, opts.without));
        if (!found) return undefined;
        const reads: Array<Promise<void>> = [];
        const arrays = found.arrays.map(({ dkey, akey, size, plan }) => {
          const dst = Buffer.alloc(size); // what no record paints reads as zeros
          for (const { rec, span } of plan) {
            const v = rec.v;
            if (v.t === 'inline') Buffer.from(v.data.buffer, v.data.byteOffset, v.data.length).copy(dst, span.start, span.start - rec.offset, span.end - rec.offset);
            else reads.push(this.readStored(v, span.start - rec.offset, span.end - span.start, dst, span.start));
          }
          return { dkey, akey, data: dst };
        });
        await Promise.all(reads);
        return { singles: found.singles, arrays };
      } catch (e) {
        // As read(): bytes a concurrent overwrite collected meanwhile; look again from a fresh view.
        if (attempt < 3 && e instanceof StrataError && e.code === 'ENOENT') { this.refresh(); continue; }
        throw e;
      }
    }
  }

  async listValues(cont: ContId, oid: Uint8Array, akey: Uint8Array, page: Page = {}): Promise<Array<{ dkey: Uint8Array; value: Uint8Array }>> {
    return this.runRead(core.listValues(cont, oid, akey, page.after, page.epoch ?? LATEST, page.limit ?? 1024));
  }

  async extents(k: KeyPath, epoch: Epoch = LATEST): Promise<Extent[]> {
    const { recs, floor } = await this.runRead(core.loadAkey(k, epoch));
    return visibleExtents(recs, epoch, floor).map((s) => ({ offset: s.start, length: s.end - s.start }));
  }

  async version(k: KeyPath): Promise<Epoch> {
    return this.runRead(core.versionOf(k));
  }

  async listObjects(cont: ContId, page: Page = {}): Promise<Uint8Array[]> {
    return this.runRead(core.listObjects(cont, page.after, page.epoch ?? LATEST, page.limit ?? 1024));
  }

  async listDkeys(cont: ContId, oid: Uint8Array, page: Page = {}): Promise<Uint8Array[]> {
    return this.runRead(core.listDkeys(cont, oid, page.after, page.epoch ?? LATEST, page.limit ?? 1024));
  }

  async listAkeys(cont: ContId, oid: Uint8Array, dkey: Uint8Array, page: Page = {}): Promise<AkeyInfo[]> {
    return this.runRead(core.listAkeys(cont, oid, dkey, page.after, page.epoch ?? LATEST, page.limit ?? 1024));
  }

  async check(opts: { repair?: boolean } = {}): Promise<EngineCheckReport> {
    this.assertOpen();
    const ef = this.extentFiles;
    return checkEngine({
      runRead: (g) => this.runRead(g),
      runWrite: (g) => this.runWrite(g),
      listFiles: () => this.listFiles(),
      extentDir: ef?.dir,
      filePath: ef ? (no) => ef.filePath(no) : undefined,
      activeFiles: ef ? () => ef.activeFiles() : undefined,
    }, opts);
  }

  // ---------- snapshots and reclaiming ----------

  async createSnapshot(cont: ContId, name?: string, record?: { keyPrefix: string; value: unknown }): Promise<Epoch> {
    this.assertOpen();
    return this.runWrite(reclaim.createSnapshot(cont, name, record));
  }

  async destroySnapshot(cont: ContId, epoch: Epoch): Promise<void> {
    this.assertOpen();
    const d = await this.runWrite(reclaim.destroySnapshotEntry(cont, epoch));
    if (!d.existed) throw new StrataError('ENOENT', `no snapshot at epoch ${epoch}`);
    const left = (await this.listSnapshots(cont)).map((x) => x.epoch).sort((a, b) => a - b);
    // Nothing written since the snapshot was taken (the run snapshot of a copy
    // out of a container): every version it saw is still the latest one, so
    // none becomes free and no object is read.
    if (!d.writtenAfter) {
      // nothing to reclaim
    } else if ((await this.catGet(reclaim.touchedMarker(cont, epoch))) === undefined) {
      await this.reclaim(cont); // a snapshot older than the index of written objects: the whole container
    } else {
      // Only objects written after the snapshot and up to the next view can hold versions no view needs now.
      await this.reclaimObjects(cont, this.touchedAfter(cont, epoch, left.find((e) => e > epoch) ?? Infinity));
    }
    await this.pruneTouched(cont, false);
  }

  /** OIDs written at epochs in (from, to], from the touched index, a page at a time (a repeated OID is harmless). */
  private async *touchedAfter(cont: ContId, from: number, to: number): AsyncGenerator<Buffer> {
    const prefix = reclaim.touchedPrefix(cont);
    let after = `${reclaim.touchedAt(cont, from)}~`; // past every key of epoch `from`
    for (;;) {
      const page = await this.catList(prefix, { after, limit: 1024 });
      const seen = new Set<string>();
      for (const [key] of page) {
        const t = reclaim.parseTouchedKey(key, cont);
        if (t.epoch > to) return;
        if (t.oid && !seen.has(key.slice(-32))) { seen.add(key.slice(-32)); yield t.oid; }
      }
      if (page.length < 1024) return;
      after = page[page.length - 1]![0];
    }
  }

  /** Drops index entries no remaining snapshot can use (epochs below the oldest, decided in each write transaction; all with `all`). */
  private async pruneTouched(cont: ContId, all: boolean): Promise<void> {
    for (;;) {
      const { listed, deleted } = await this.runWrite(reclaim.pruneTouched(cont, all, 1000));
      if (deleted < listed || listed < 1000) return;
    }
  }

  /** Drops every version no view (snapshot or latest) needs, in every object of the container. */
  async reclaim(cont: ContId): Promise<void> {
    const c = uuidBytes(cont);
    const engine = this;
    await this.reclaimObjects(cont, (async function* () {
      let from: Buffer = c;
      for (;;) {
        const oid = await engine.runRead(reclaim.nextObject(c, from));
        if (!oid) return;
        yield oid;
        from = prefixEnd(objPrefix(c, oid));
      }
    })());
  }

  /** Drops the versions no view needs in the given objects, then frees extent files. */
  private async reclaimObjects(cont: ContId, oids: AsyncIterable<Buffer>): Promise<void> {
    this.assertOpen();
    const c = uuidBytes(cont);
    // One object at a time. A read first: most objects have nothing to free,
    // and a read holds up no writer. Where it finds something, the write
    // transaction decides again against the snapshots it reads itself, so a
    // snapshot created by another process meanwhile keeps what it sees.
    for await (const oid of oids) {
      await reclaimTestHooks.beforeObject?.(cont, oid);
      const doomed = await this.runRead(reclaim.aggregateObject(c, oid));
      await reclaimTestHooks.beforeDelete?.(cont, oid);
      if (doomed.recs.length || doomed.punches.length) await this.runWrite(reclaim.reclaimObject(c, oid));
    }
    await this.compactFiles();
    await this.collectFiles();
    await this.afterReclaim();
  }

  /** Removes all data and snapshots of a container except its snapshot list (the driver's). */
  protected async destroyContainerData(cont: ContId): Promise<void> {
    this.assertOpen();
    const c = uuidBytes(cont);
    while ((await this.runWrite(reclaim.destroySome(c, 2000))) > 0) { /* next slice */ }
    await this.commit({ ops: [{ op: 'cat-del', key: reclaim.lastWriteKey(cont) }] });
    await this.pruneTouched(cont, true);
    await this.collectFiles();
  }

  // ---------- extent files ----------

  /**
   * Moves the live extents out of sealed files that are mostly dead, so that
   * collectFiles() can delete them: overwrites and destroyed snapshots then
   * give disk space back even when old and new data shared a file.
   */
  async compactFiles(maxLiveRatio = 0.5): Promise<number> {
    const ef = this.extentFiles;
    if (!ef) return 0;
    const active = new Set(ef.activeFiles());
    const victims: number[] = [];
    for (const f of await this.listFiles()) {
      if (active.has(f.no) || f.live <= 0) continue;
      if (!f.sealed) {
        // A writer that is gone (its lock can be taken: writer-lock.ts)
        // left its file unsealed: seal it for it, so its dead bytes can go.
        if (lockFree(ef.filePath(f.no)) !== true) continue;
        await this.sealFile(f.no);
      }
      let size = 0;
      try { size = fs.statSync(ef.filePath(f.no)).size; } catch { continue; }
      if (f.live <= size * maxLiveRatio) victims.push(f.no);
    }
    for (const no of victims) {
      let from: number | undefined = 0;
      while (from !== undefined) {
        const refs: Awaited<ReturnType<typeof this.fileRefsOf>> = await this.fileRefsOf(no, from);
        const found = refs.found;
        from = refs.next;
        const moves: Array<{ recKey: Buffer; old: { file: number; pos: number; len: number }; ref: ExtentRef }> = [];
        for (const { recKey, rec } of found) {
          const data = Buffer.alloc(rec.len);
          await ef.read(rec, rec.len, data, 0);
          moves.push({ recKey, old: rec, ref: await ef.append(data) });
        }
        if (moves.length === 0) continue;
        await ef.durable();
        try {
          await this.runWrite(reclaim.repoint(moves));
        } finally {
          await ef.done(moves.map((m) => m.ref));
        }
      }
    }
    return victims.length;
  }

  private fileRefsOf(no: number, from: number) {
    return this.runRead(reclaim.fileRefs(no, from, 64 << 20));
  }

  /** Removes extent files that hold no referenced bytes and get no more writes. */
  async collectFiles(): Promise<number> {
    const ef = this.extentFiles;
    if (!ef) return 0;
    const active = new Set(ef.activeFiles());
    // A file not sealed is its writer's until that writer is proven gone:
    // its lock can be taken (writer-lock.ts; hostname and pid cannot tell).
    const candidates = (await this.listFiles())
      .filter((f) => f.live <= 0 && !active.has(f.no) && (f.sealed || lockFree(ef.filePath(f.no)) === true))
      .map((f) => f.no);
    if (candidates.length === 0) return 0;
    // The commits that dropped the last references (perhaps 'visible' ones,
    // of this process or another, not yet flushed) must be on disk before a
    // file goes: an OS crash would otherwise bring back an index pointing
    // into a deleted file.
    await this.sync();
    // Files first, rows second: a process killed in between leaves rows
    // without files (live 0, dropped by the next collect), never extent files
    // without rows (orphans that only `pool check --repair` would remove).
    // Safe: the live count of a sealed file or of one whose writer is gone
    // never grows again (writes and compaction go to a process's own file).
    for (const no of candidates) await ef.remove(no);
    const victims = await this.dropFileRows(candidates);
    return victims.length;
  }
}
