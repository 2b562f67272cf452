// The embedded engine: an LMDB index (records, catalog, snapshots, extent file
// table) plus append-only extent files for bulk array bytes. No server: every
// process (CLI, FUSE mount, mover workers) opens the same home directory, and
// LMDB serializes writers across processes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { AkeyInfo, Batch, Condition, ContId, Engine, EngineUsage, Epoch, Extent, KeyPath, Page, SnapshotInfo } from '../types.js';
import { LATEST } from '../types.js';
import { StrataError, fromSystemError } from '../../errors.js';
import {
  KIND_DKEY_PUNCH, akeyPrefix, dkeyPrefix, dkeyPunchPrefix, epochBytes, objPrefix, parseKey, prefixEnd, recordKey, u64be, uuidBytes,
} from '../keys.js';
import {
  akeyLive, decodeRecord, encodeRecord, extentLength, isArrayRecord, paintPlan, recordsToKeep, visibleExtents, visibleRecords, visibleSingle,
  type Rec, type RecordValue,
} from '../records.js';
import { planBatch, type PlannedOp } from '../batch-plan.js';
import { ExtentFiles, type ExtentRef } from '../extent-files.js';

/** Array writes up to this size stay in the index; larger ones go to extent files. */
const INLINE_MAX = 16 * 1024;
const MAX64 = (1n << 64n) - 1n;
const CONFLICT = Symbol('conflict');

interface FileEntry { pid: number; host: string; sealed: boolean; live: number }

type Bin = Database<Buffer, Buffer>;

function tailEpoch(key: Uint8Array): number {
  const b = Buffer.from(key.buffer, key.byteOffset, key.length);
  return Number(MAX64 - b.readBigUInt64BE(b.length - 16));
}
function tailOffset(key: Uint8Array): number {
  const b = Buffer.from(key.buffer, key.byteOffset, key.length);
  return Number(b.readBigUInt64BE(b.length - 8));
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export class LmdbEngine implements Engine {
  readonly kind = 'lmdb';
  private readonly extentFiles: ExtentFiles;
  private closed = false;

  private constructor(
    readonly location: string,
    private readonly env: RootDatabase,
    private readonly recs: Bin,
    private readonly opunch: Bin,
    private readonly snaps: Database<{ name?: string; createdAt: string }, Buffer>,
    private readonly catalog: Database<unknown, string>,
    private readonly meta: Database<number, string>,
    private readonly files: Database<FileEntry, number>,
    /** Reverse index: extent file number|position -> record key, for compaction. */
    private readonly byFile: Bin,
  ) {
    this.extentFiles = new ExtentFiles(path.join(location, 'extents'), () => this.newFile(), (no) => this.sealFile(no));
  }

  static async open(dir: string): Promise<LmdbEngine> {
    try {
      fs.mkdirSync(path.join(dir, 'extents'), { recursive: true });
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.R_OK | fs.constants.X_OK);
    } catch (e) {
      throw fromSystemError(e, `engine home ${dir} is not usable`);
    }
    const env = openEnv(path.join(dir, 'index.mdb'));
    const bin = { keyEncoding: 'binary' as const, encoding: 'binary' as const };
    return new LmdbEngine(
      dir,
      env,
      env.openDB('records', bin) as unknown as Bin,
      env.openDB('objpunch', bin) as unknown as Bin,
      env.openDB('snapshots', { keyEncoding: 'binary', encoding: 'json' }) as unknown as Database<{ name?: string; createdAt: string }, Buffer>,
      env.openDB('catalog', { encoding: 'json' }) as unknown as Database<unknown, string>,
      env.openDB('meta', { encoding: 'json' }) as unknown as Database<number, string>,
      env.openDB('files', { keyEncoding: 'uint32', encoding: 'json' }) as unknown as Database<FileEntry, number>,
      env.openDB('byfile', bin) as unknown as Bin,
    );
  }

  // ---------- reads ----------

  private akeyRecs(prefix: Buffer): Rec[] {
    const out: Rec[] = [];
    for (const { key, value } of this.recs.getRange({ start: prefix, end: prefixEnd(prefix) })) {
      out.push({ epoch: tailEpoch(key), offset: tailOffset(key), v: decodeRecord(value), key });
    }
    return out;
  }

  /** Punch epochs of an object (newest first). */
  private objPunches(cont: Buffer, oid: Uint8Array): number[] {
    const p = objPrefix(cont, oid);
    const out: number[] = [];
    for (const key of this.opunch.getKeys({ start: p, end: prefixEnd(p) })) out.push(tailEpochPunch(key));
    return out;
  }

  private dkeyPunches(cont: Buffer, oid: Uint8Array, dkey: Uint8Array): number[] {
    const p = dkeyPunchPrefix(cont, oid, dkey);
    const out: number[] = [];
    for (const key of this.recs.getKeys({ start: p, end: prefixEnd(p) })) out.push(tailEpoch(key));
    return out;
  }

  private floor(cont: Buffer, oid: Uint8Array, dkey: Uint8Array, view: number): number {
    let f = 0;
    for (const e of this.objPunches(cont, oid)) if (e <= view && e > f) f = e;
    for (const e of this.dkeyPunches(cont, oid, dkey)) if (e <= view && e > f) f = e;
    return f;
  }

  private load(k: KeyPath, view: number): { recs: Rec[]; floor: number } {
    const c = uuidBytes(k.cont);
    return { recs: this.akeyRecs(akeyPrefix(c, k.oid, k.dkey, k.akey)), floor: this.floor(c, k.oid, k.dkey, view) };
  }

  async currentEpoch(): Promise<Epoch> {
    return this.meta.get('epoch') ?? 0;
  }

  async get(k: KeyPath, epoch: Epoch = LATEST): Promise<Uint8Array | undefined> {
    const { recs, floor } = this.load(k, epoch);
    const v = visibleSingle(recs, epoch, floor);
    return v ? Buffer.from(v) : undefined;
  }

  async read(k: KeyPath, offset: number, length: number, epoch: Epoch = LATEST): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { recs, floor } = this.load(k, epoch);
        const dst = Buffer.alloc(length);
        for (const { rec, span } of paintPlan(recs, epoch, floor, { start: offset, end: offset + length })) {
          const v = rec.v;
          if (v.t === 'inline') Buffer.from(v.data.buffer, v.data.byteOffset, v.data.length).copy(dst, span.start - offset, span.start - rec.offset, span.end - rec.offset);
          else if (v.t === 'file') await this.extentFiles.read({ file: v.file, pos: v.pos + (span.start - rec.offset) }, span.end - span.start, dst, span.start - offset);
        }
        return dst;
      } catch (e) {
        // A concurrent overwrite may have removed the extent file we were about to read: re-read the index.
        if (attempt < 3 && e instanceof StrataError && e.code === 'ENOENT') continue;
        throw e;
      }
    }
  }

  async extents(k: KeyPath, epoch: Epoch = LATEST): Promise<Extent[]> {
    const { recs, floor } = this.load(k, epoch);
    return visibleExtents(recs, epoch, floor).map((s) => ({ offset: s.start, length: s.end - s.start }));
  }

  private versionOf(k: KeyPath): number {
    const { recs, floor } = this.load(k, LATEST);
    if (!akeyLive(recs, LATEST, floor)) return 0;
    let v = 0;
    for (const r of visibleRecords(recs, LATEST, floor)) v = Math.max(v, r.epoch);
    return v;
  }

  async version(k: KeyPath): Promise<Epoch> {
    return this.versionOf(k);
  }

  /**
   * Walks records from `start` (inclusive) to `end`, grouped by akey, calling
   * visit(parsedFirstKey, recs) for each normal akey group. visit returns a key
   * to jump to (skip), 'stop', or undefined to go on.
   */
  private scanAkeys(start: Buffer, end: Buffer, visit: (first: ReturnType<typeof parseKey>, recs: Rec[]) => Buffer | 'stop' | undefined): void {
    let from = start;
    outer: for (;;) {
      let group: { first: ReturnType<typeof parseKey>; prefix: Buffer; recs: Rec[] } | undefined;
      for (const { key, value } of this.recs.getRange({ start: from, end })) {
        const kb = Buffer.from(key.buffer, key.byteOffset, key.length);
        if (group && kb.length >= group.prefix.length && kb.subarray(0, group.prefix.length).equals(group.prefix) && kb.length === group.prefix.length + 16) {
          group.recs.push({ epoch: tailEpoch(kb), offset: tailOffset(kb), v: decodeRecord(value), key: kb });
          continue;
        }
        if (group) {
          const r = visit(group.first, group.recs);
          group = undefined;
          if (r === 'stop') return;
          if (r) { from = r; continue outer; }
        }
        const pk = parseKey(kb);
        if (pk.kind === KIND_DKEY_PUNCH) continue;
        group = { first: pk, prefix: kb.subarray(0, pk.akeyEnd), recs: [{ epoch: pk.epoch, offset: pk.offset, v: decodeRecord(value), key: kb }] };
      }
      if (group) visit(group.first, group.recs);
      return;
    }
  }

  async listObjects(cont: ContId, page: Page = {}): Promise<Uint8Array[]> {
    const c = uuidBytes(cont);
    const view = page.epoch ?? LATEST;
    const limit = page.limit ?? 1024;
    const out: Uint8Array[] = [];
    const start = page.after ? prefixEnd(objPrefix(c, page.after)) : c;
    this.scanAkeys(start, prefixEnd(c), (pk, recs) => {
      if (!akeyLive(recs, view, this.floor(c, pk.oid, pk.dkey, view))) return undefined;
      out.push(Buffer.from(pk.oid));
      if (out.length >= limit) return 'stop';
      return prefixEnd(objPrefix(c, pk.oid));
    });
    return out;
  }

  async listDkeys(cont: ContId, oid: Uint8Array, page: Page = {}): Promise<Uint8Array[]> {
    const c = uuidBytes(cont);
    const view = page.epoch ?? LATEST;
    const limit = page.limit ?? 1024;
    const op = objPrefix(c, oid);
    const out: Uint8Array[] = [];
    const start = page.after ? prefixEnd(dkeyPrefix(c, oid, page.after)) : op;
    const objFloor = Math.max(0, ...this.objPunches(c, oid).filter((e) => e <= view));
    let dkeyFloor: { dkey: Buffer; floor: number } | undefined;
    this.scanAkeys(start, prefixEnd(op), (pk, recs) => {
      if (!dkeyFloor || !dkeyFloor.dkey.equals(pk.dkey)) {
        dkeyFloor = { dkey: pk.dkey, floor: Math.max(objFloor, ...this.dkeyPunches(c, oid, pk.dkey).filter((e) => e <= view)) };
      }
      if (!akeyLive(recs, view, dkeyFloor.floor)) return undefined;
      out.push(pk.dkey);
      if (out.length >= limit) return 'stop';
      return prefixEnd(dkeyPrefix(c, oid, pk.dkey));
    });
    return out;
  }

  async listAkeys(cont: ContId, oid: Uint8Array, dkey: Uint8Array, page: Page = {}): Promise<AkeyInfo[]> {
    const c = uuidBytes(cont);
    const view = page.epoch ?? LATEST;
    const limit = page.limit ?? 1024;
    const dp = dkeyPrefix(c, oid, dkey);
    const floor = this.floor(c, oid, dkey, view);
    const out: AkeyInfo[] = [];
    const start = page.after ? prefixEnd(akeyPrefix(c, oid, dkey, page.after)) : dp;
    this.scanAkeys(start, prefixEnd(dp), (pk, recs) => {
      const kind = akeyLive(recs, view, floor);
      if (!kind) return undefined;
      out.push({ akey: pk.akey, kind });
      return out.length >= limit ? 'stop' : undefined;
    });
    return out;
  }

  // ---------- catalog ----------

  async catGet(key: string): Promise<unknown | undefined> {
    return this.catalog.get(key);
  }

  async catList(prefix: string, opts: { after?: string; limit?: number } = {}): Promise<Array<[string, unknown]>> {
    const out: Array<[string, unknown]> = [];
    const limit = opts.limit ?? Infinity;
    for (const { key, value } of this.catalog.getRange({ start: opts.after ?? prefix, end: prefix + '\uffff' })) {
      if (!key.startsWith(prefix) || (opts.after !== undefined && key <= opts.after)) continue;
      out.push([key, value]);
      if (out.length >= limit) break;
    }
    return out;
  }

  // ---------- writes ----------

  async allocate(cont: ContId, count: number): Promise<bigint> {
    if (!Number.isInteger(count) || count < 1) throw new StrataError('EINVAL', `bad allocation count ${count}`);
    uuidBytes(cont);
    const first = await this.env.transaction(() => {
      const next = this.meta.get(`alloc:${cont}`) ?? 1;
      this.meta.put(`alloc:${cont}`, next + count);
      return next;
    });
    return BigInt(first);
  }

  async commit(batch: Batch): Promise<Epoch> {
    this.assertOpen();
    const plan = planBatch(batch.ops);
    const refs: ExtentRef[] = [];
    const fileRefs = new Map<object, ExtentRef>();
    try {
      for (const p of plan) {
        if (p.op !== 'array') continue;
        for (const piece of p.pieces) {
          if (piece.data && piece.data.length > INLINE_MAX) {
            const ref = await this.extentFiles.append(piece.data);
            refs.push(ref);
            fileRefs.set(piece, ref);
          }
        }
      }
      if (refs.length) await this.extentFiles.durable();
      const result = await this.env.transaction(() => this.apply(plan, batch.conditions ?? [], fileRefs));
      if (result === CONFLICT) throw new StrataError('ECONFLICT', 'the data changed since it was read (concurrent update); retry');
      return result;
    } catch (e) {
      if (e instanceof StrataError) throw e;
      throw fromSystemError(e, 'engine commit failed');
    } finally {
      if (refs.length) await this.extentFiles.done(refs);
    }
  }

  private checkCondition(c: Condition): boolean {
    switch (c.kind) {
      case 'akey': return this.versionOf(c) === c.version;
      case 'cat-absent': return this.catalog.get(c.key) === undefined;
      case 'cat-present': return this.catalog.get(c.key) !== undefined;
    }
  }

  private snapEpochs(cont: Buffer): number[] {
    const out: number[] = [];
    for (const key of this.snaps.getKeys({ start: cont, end: prefixEnd(cont) })) out.push(Number(key.readBigUInt64BE(16)));
    return out;
  }

  private release(v: RecordValue): void {
    if (v.t !== 'file') return;
    const f = this.files.get(v.file);
    if (f) this.files.put(v.file, { ...f, live: f.live - v.len });
    this.byFile.remove(fileKey(v.file, v.pos));
  }

  private removeRec(key: Uint8Array): void {
    const raw = this.recs.get(key as Buffer);
    if (raw === undefined) return;
    this.release(decodeRecord(raw));
    this.recs.remove(key as Buffer);
  }

  private putRec(key: Buffer, v: RecordValue): void {
    if (this.recs.get(key) !== undefined) this.removeRec(key);
    if (v.t === 'file') {
      const f = this.files.get(v.file);
      if (f) this.files.put(v.file, { ...f, live: f.live + v.len });
      this.byFile.put(fileKey(v.file, v.pos), key);
    }
    this.recs.put(key, encodeRecord(v));
  }

  /** Deletes every record in [start, end) that no snapshot can see (all, when there are none). */
  private dropRange(start: Buffer, end: Buffer, snaps: number[]): void {
    const newestSnap = Math.max(0, ...snaps);
    const doomed: Buffer[] = [];
    for (const key of this.recs.getKeys({ start, end })) {
      if (snaps.length === 0 || tailEpoch(key) > newestSnap) doomed.push(Buffer.from(key));
    }
    for (const k of doomed) this.removeRec(k);
  }

  /** Runs inside one LMDB write transaction. Synchronous by LMDB's rules. */
  private apply(plan: PlannedOp[], conditions: Condition[], fileRefs: Map<object, ExtentRef>): Epoch | typeof CONFLICT {
    for (const c of conditions) if (!this.checkCondition(c)) return CONFLICT;
    const epoch = (this.meta.get('epoch') ?? 0) + 1;
    this.meta.put('epoch', epoch);
    const snapCache = new Map<string, number[]>();
    const snapsOf = (cont: string) => {
      let s = snapCache.get(cont);
      if (!s) { s = this.snapEpochs(uuidBytes(cont)); snapCache.set(cont, s); }
      return s;
    };
    for (const op of plan) {
      switch (op.op) {
        case 'cat-put': this.catalog.put(op.key, op.value); break;
        case 'cat-del': this.catalog.remove(op.key); break;
        case 'put':
        case 'put-max': {
          const c = uuidBytes(op.cont);
          const prefix = akeyPrefix(c, op.oid, op.dkey, op.akey);
          const old = this.akeyRecs(prefix);
          let value: Uint8Array;
          if (op.op === 'put-max') {
            const cur = visibleSingle(old, LATEST, this.floor(c, op.oid, op.dkey, LATEST));
            const curN = cur && cur.length === 8 ? Buffer.from(cur).readBigUInt64LE(0) : 0n;
            const b = Buffer.alloc(8);
            b.writeBigUInt64LE(curN > op.value ? curN : op.value);
            value = b;
          } else value = op.value;
          this.putRec(recordKey(prefix, epoch, 0), { t: 'single', data: value });
          this.reclaimHidden(old, snapsOf(op.cont), epoch);
          break;
        }
        case 'punch-akey': {
          const prefix = akeyPrefix(uuidBytes(op.cont), op.oid, op.dkey, op.akey);
          const old = this.akeyRecs(prefix);
          const snaps = snapsOf(op.cont);
          let kept = 0;
          for (const r of old) {
            if (snaps.some((s) => s >= r.epoch)) kept++;
            else this.removeRec(r.key!);
          }
          if (kept) this.putRec(recordKey(prefix, epoch, 0), { t: 'tomb' });
          break;
        }
        case 'array': {
          const prefix = akeyPrefix(uuidBytes(op.kp.cont), op.kp.oid, op.kp.dkey, op.kp.akey);
          const snaps = snapsOf(op.kp.cont);
          const old = this.akeyRecs(prefix);
          for (const piece of op.pieces) {
            const end = piece.offset + piece.length;
            let overlapsKept = false;
            for (const r of old) {
              if (!r.key || !isArrayRecord(r.v)) continue;
              const rs = r.offset, re = r.offset + extentLength(r.v);
              if (re <= piece.offset || rs >= end) continue;
              if (rs >= piece.offset && re <= end && !snaps.some((s) => s >= r.epoch)) { this.removeRec(r.key); r.key = undefined; }
              else overlapsKept = true;
            }
            const key = recordKey(prefix, epoch, piece.offset);
            if (!piece.data) {
              if (overlapsKept) this.putRec(key, { t: 'hole', len: piece.length });
            } else {
              const ref = fileRefs.get(piece);
              this.putRec(key, ref ? { t: 'file', ...ref } : { t: 'inline', data: piece.data });
            }
          }
          break;
        }
        case 'punch-dkey': {
          const c = uuidBytes(op.cont);
          const snaps = snapsOf(op.cont);
          const dp = dkeyPrefix(c, op.oid, op.dkey);
          this.dropRange(dp, prefixEnd(dp), snaps);
          if (snaps.length) this.putRec(recordKey(dkeyPunchPrefix(c, op.oid, op.dkey), epoch, 0), { t: 'dpunch' });
          break;
        }
        case 'punch-obj': {
          const c = uuidBytes(op.cont);
          const snaps = snapsOf(op.cont);
          const p = objPrefix(c, op.oid);
          this.dropRange(p, prefixEnd(p), snaps);
          if (snaps.length) this.opunch.put(Buffer.concat([p, epochBytes(epoch)]), Buffer.alloc(0));
          else for (const key of [...this.opunch.getKeys({ start: p, end: prefixEnd(p) })]) this.opunch.remove(key);
          break;
        }
      }
    }
    return epoch;
  }

  /** After a new single value at `epoch`, drops older versions that no snapshot sees. */
  private reclaimHidden(old: Rec[], snaps: number[], epoch: number): void {
    const sorted = old.filter((r) => r.epoch < epoch).sort((a, b) => b.epoch - a.epoch);
    let newer = epoch;
    for (const r of sorted) {
      if (!snaps.some((s) => s >= r.epoch && s < newer)) this.removeRec(r.key!);
      newer = r.epoch;
    }
  }

  // ---------- snapshots and reclaiming ----------

  async createSnapshot(cont: ContId, name?: string): Promise<Epoch> {
    const c = uuidBytes(cont);
    return this.env.transaction(() => {
      const epoch = (this.meta.get('epoch') ?? 0) + 1;
      this.meta.put('epoch', epoch);
      this.snaps.put(Buffer.concat([c, u64be(epoch)]), { name, createdAt: new Date().toISOString() });
      return epoch;
    });
  }

  async listSnapshots(cont: ContId): Promise<SnapshotInfo[]> {
    const c = uuidBytes(cont);
    const out: SnapshotInfo[] = [];
    for (const { key, value } of this.snaps.getRange({ start: c, end: prefixEnd(c) })) {
      out.push({ epoch: Number(key.readBigUInt64BE(16)), name: value.name, createdAt: value.createdAt });
    }
    return out;
  }

  async destroySnapshot(cont: ContId, epoch: Epoch): Promise<void> {
    const key = Buffer.concat([uuidBytes(cont), u64be(epoch)]);
    const existed = await this.env.transaction(() => {
      if (this.snaps.get(key) === undefined) return false;
      this.snaps.remove(key);
      return true;
    });
    if (!existed) throw new StrataError('ENOENT', `no snapshot at epoch ${epoch}`);
    await this.reclaim(cont);
  }

  async reclaim(cont: ContId): Promise<void> {
    this.assertOpen();
    const c = uuidBytes(cont);
    const views = [...this.snapEpochs(c), LATEST];
    // One object at a time: decide from a consistent read, delete in a short write transaction.
    let from: Buffer = c;
    for (;;) {
      let oid: Buffer | undefined;
      for (const key of this.recs.getKeys({ start: from, end: prefixEnd(c), limit: 1 })) oid = Buffer.from(key.subarray(16, 32));
      if (!oid) break;
      const doomed = this.aggregateObject(c, oid, views);
      if (doomed.recs.length || doomed.punches.length) {
        await this.env.transaction(() => {
          for (const k of doomed.recs) this.removeRec(k);
          for (const k of doomed.punches) this.opunch.remove(k);
        });
      }
      from = prefixEnd(objPrefix(c, oid));
    }
    await this.compactFiles();
    await this.collectFiles();
  }

  private aggregateObject(c: Buffer, oid: Buffer, views: number[]): { recs: Buffer[]; punches: Buffer[] } {
    const op = objPrefix(c, oid);
    const objPunchKeys = [...this.opunch.getKeys({ start: op, end: prefixEnd(op) })].map((k) => Buffer.from(k));
    const objPunch = objPunchKeys.map(tailEpochPunch);
    const doomed: Buffer[] = [];
    let objMinKept = Infinity;
    let dkey: { prefix: Buffer; punches: Array<{ epoch: number; key: Buffer }>; minKept: number } | undefined;
    const closeDkey = () => {
      if (!dkey) return;
      for (const p of dkey.punches) if (!(dkey.minKept < p.epoch)) doomed.push(p.key);
      dkey = undefined;
    };
    let group: { prefix: Buffer; recs: Rec[] } | undefined;
    const closeGroup = () => {
      if (!group || !dkey) return;
      const punches = dkey.punches.map((p) => p.epoch);
      const floorAt = (v: number) => Math.max(0, ...objPunch.filter((e) => e <= v), ...punches.filter((e) => e <= v));
      const keep = recordsToKeep(group.recs, views, floorAt);
      for (const r of group.recs) {
        if (keep.has(r)) { dkey.minKept = Math.min(dkey.minKept, r.epoch); objMinKept = Math.min(objMinKept, r.epoch); }
        else doomed.push(r.key as Buffer);
      }
      group = undefined;
    };
    for (const { key, value } of this.recs.getRange({ start: op, end: prefixEnd(op) })) {
      const kb = Buffer.from(key);
      if (group && kb.length === group.prefix.length + 16 && kb.subarray(0, group.prefix.length).equals(group.prefix)) {
        group.recs.push({ epoch: tailEpoch(kb), offset: tailOffset(kb), v: decodeRecord(value), key: kb });
        continue;
      }
      closeGroup();
      const pk = parseKey(kb);
      const dp = kb.subarray(0, pk.dkeyEnd);
      if (!dkey || !dkey.prefix.equals(dp)) { closeDkey(); dkey = { prefix: Buffer.from(dp), punches: [], minKept: Infinity }; }
      if (pk.kind === KIND_DKEY_PUNCH) { dkey.punches.push({ epoch: pk.epoch, key: kb }); continue; }
      group = { prefix: kb.subarray(0, pk.akeyEnd), recs: [{ epoch: pk.epoch, offset: pk.offset, v: decodeRecord(value), key: kb }] };
    }
    closeGroup();
    closeDkey();
    const punches = objPunchKeys.filter((_, i) => !(objMinKept < objPunch[i]!));
    return { recs: doomed, punches };
  }

  async destroyContainer(cont: ContId): Promise<void> {
    this.assertOpen();
    const c = uuidBytes(cont);
    for (const db of [this.recs, this.opunch]) {
      for (;;) {
        const keys = [...db.getKeys({ start: c, end: prefixEnd(c), limit: 5000 })].map((k) => Buffer.from(k));
        if (keys.length === 0) break;
        await this.env.transaction(() => {
          for (const k of keys) { if (db === this.recs) this.removeRec(k); else db.remove(k); }
        });
      }
    }
    await this.env.transaction(() => {
      for (const key of [...this.snaps.getKeys({ start: c, end: prefixEnd(c) })]) this.snaps.remove(key);
      this.meta.remove(`alloc:${cont}`);
    });
    await this.collectFiles();
  }

  // ---------- extent files ----------

  /**
   * Moves the live extents out of sealed files that are mostly dead, so that
   * collectFiles() can delete them: overwrites and destroyed snapshots then
   * give disk space back even when old and new data shared a file.
   */
  async compactFiles(maxLiveRatio = 0.5): Promise<number> {
    const active = new Set(this.extentFiles.activeFiles());
    const victims: number[] = [];
    for (const { key, value } of this.files.getRange({})) {
      if (!value.sealed || active.has(key) || value.live <= 0) continue;
      let size = 0;
      try { size = fs.statSync(this.extentFiles.filePath(key)).size; } catch { continue; }
      if (value.live <= size * maxLiveRatio) victims.push(key);
    }
    for (const no of victims) {
      let from = fileKey(no, 0);
      const end = fileKey(no + 1, 0);
      for (;;) {
        const found: Array<{ recKey: Buffer; rec: { file: number; pos: number; len: number } }> = [];
        let bytes = 0;
        for (const { key, value } of this.byFile.getRange({ start: from, end })) {
          from = Buffer.from(prefixEnd(key));
          const recKey = Buffer.from(value);
          const raw = this.recs.get(recKey);
          const rec = raw && decodeRecord(raw);
          if (!rec || rec.t !== 'file' || rec.file !== no) continue;
          found.push({ recKey, rec });
          bytes += rec.len;
          if (bytes >= 64 << 20) break;
        }
        const moves: Array<{ recKey: Buffer; old: { file: number; pos: number; len: number }; ref: ExtentRef }> = [];
        for (const { recKey, rec } of found) {
          const data = Buffer.alloc(rec.len);
          await this.extentFiles.read(rec, rec.len, data, 0);
          moves.push({ recKey, old: rec, ref: await this.extentFiles.append(data) });
        }
        if (moves.length === 0) break;
        await this.extentFiles.durable();
        try {
          await this.env.transaction(() => {
            for (const m of moves) {
              const raw = this.recs.get(m.recKey);
              const cur = raw && decodeRecord(raw);
              // Only if the record still points where we copied from (it may have been overwritten meanwhile).
              if (cur && cur.t === 'file' && cur.file === m.old.file && cur.pos === m.old.pos) this.putRec(m.recKey, { t: 'file', ...m.ref });
            }
          });
        } finally {
          await this.extentFiles.done(moves.map((m) => m.ref));
        }
      }
    }
    return victims.length;
  }

  private async newFile(): Promise<number> {
    return this.env.transaction(() => {
      const no = (this.meta.get('nextFile') ?? 0) + 1;
      this.meta.put('nextFile', no);
      this.files.put(no, { pid: process.pid, host: os.hostname(), sealed: false, live: 0 });
      return no;
    });
  }

  private async sealFile(no: number): Promise<void> {
    await this.env.transaction(() => {
      const f = this.files.get(no);
      if (f) this.files.put(no, { ...f, sealed: true });
    });
  }

  /** Removes extent files that hold no referenced bytes and get no more writes. */
  async collectFiles(): Promise<number> {
    const active = new Set(this.extentFiles.activeFiles());
    const host = os.hostname();
    const victims = await this.env.transaction(() => {
      const out: number[] = [];
      for (const { key, value } of this.files.getRange({})) {
        if (value.live > 0 || active.has(key)) continue;
        const writerGone = value.sealed || (value.host === host && !pidAlive(value.pid));
        if (writerGone) out.push(key);
      }
      for (const no of out) this.files.remove(no);
      return out;
    });
    for (const no of victims) await this.extentFiles.remove(no);
    return victims.length;
  }

  async usage(): Promise<EngineUsage> {
    let index = 0;
    try { index = fs.statSync(path.join(this.location, 'index.mdb')).blocks * 512; } catch { /* not yet written */ }
    let live = 0;
    for (const { value } of this.files.getRange({})) live += Math.max(0, value.live);
    return { totalBytes: index + (await this.extentFiles.sizeOnDisk()), liveDataBytes: live };
  }

  private assertOpen(): void {
    if (this.closed) throw new StrataError('EINVAL', 'engine is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.extentFiles.close();
    await this.collectFiles().catch(() => 0); // our sealed, empty files
    await closeEnv(this.env);
  }
}

// lmdb-js keeps one environment per file in a process: share it between
// engine instances and close it with the last one.
const envs = new Map<string, { env: RootDatabase; refs: number }>();

function openEnv(file: string): RootDatabase {
  const shared = envs.get(file);
  if (shared) { shared.refs++; return shared.env; }
  try {
    const env = open({ path: file, maxDbs: 16 });
    envs.set(file, { env, refs: 1 });
    return env;
  } catch (e) {
    throw fromSystemError(e, `cannot open engine index ${file}`);
  }
}

async function closeEnv(env: RootDatabase): Promise<void> {
  for (const [file, s] of envs) {
    if (s.env !== env) continue;
    if (--s.refs === 0) { envs.delete(file); await env.close(); }
    return;
  }
}

function fileKey(file: number, pos: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(file, 0);
  b.writeBigUInt64BE(BigInt(pos), 4);
  return b;
}

function tailEpochPunch(key: Uint8Array): number {
  const b = Buffer.from(key.buffer, key.byteOffset, key.length);
  return Number(MAX64 - b.readBigUInt64BE(b.length - 8));
}

