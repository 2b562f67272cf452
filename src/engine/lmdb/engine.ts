// The embedded engine: an LMDB index (records, catalog, snapshots, extent file
// table) plus append-only extent files for bulk array bytes. No server: every
// process (CLI, FUSE mount, mover workers) opens the same home directory, and
// LMDB serializes writers across processes. The engine logic itself lives in
// ../core.ts (generators); this file answers their requests synchronously
// inside LMDB transactions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as lmdb from 'lmdb';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Batch, ContId, EngineUsage, Epoch, SnapshotInfo } from '../types.js';
import { StrataError, fromSystemError } from '../../errors.js';
import { prefixEnd, u64be, uuidBytes } from '../keys.js';
import type { RecordValue } from '../records.js';
import { planBatch, type Piece } from '../batch-plan.js';
import { ExtentFiles, type ExtentRef } from '../extent-files.js';
import { SpaceGuard, lmdbNeed } from '../space.js';
import * as core from '../core.js';
import { applyBatch, CONFLICT, type StoredPieces } from '../batch-apply.js';
import { KvEngine, type FileEntry } from '../kv-engine.js';
import { isFormat2 } from './index-copy.js';
import { ensureFile, makeDir, readAccess, type HomeAccess } from '../home-access.js';

/**
 * Array writes up to this size stay in the index; larger ones go to extent
 * files. Small: LMDB stores a value that does not fit half a 4 KiB page in
 * overflow pages of its own (a 4 KiB file took two pages, 8 KiB, plus the
 * half-empty leaf pages around it), so the index grew to 2.2× the data of a
 * tree of 4 KiB files. Values up to 1 KiB share leaf pages with their keys.
 * A handle whose commits only need to be visible (the mount: one commit per
 * file closed) keeps up to 16 KiB inline: an extent append costs a flush of
 * its own before the index commit, which would double what each close pays.
 */
const INLINE_MAX = { durable: 1024, visible: 16 * 1024 } as const;

interface FileRow { pid: number; host: string; sealed: boolean; live: number }

type Bin = Database<Buffer, Buffer>;

export class LmdbEngine extends KvEngine {
  readonly kind = 'lmdb';
  protected override extentFiles: ExtentFiles;
  private readonly tables: Record<core.Tbl, Bin>;
  private readonly space: SpaceGuard;
  private durability: 'durable' | 'visible' = 'durable';
  /** The env sync running, and the one queued behind it (callers that came meanwhile share it). */
  private syncing: Promise<void> | undefined;
  private syncQueued: Promise<void> | undefined;

  private constructor(
    readonly location: string,
    access: HomeAccess,
    private readonly env: RootDatabase,
    private readonly recs: Bin,
    private readonly opunch: Bin,
    private readonly snaps: Database<{ name?: string; createdAt: string }, Buffer>,
    private readonly catalog: Database<unknown, string>,
    private readonly meta: Database<number, string>,
    private readonly files: Database<FileRow, number>,
    /** Reverse index: extent file number|position -> record key, for compaction. */
    private readonly byFile: Bin,
  ) {
    super();
    this.tables = { records: recs, objpunch: opunch, byfile: byFile };
    this.extentFiles = new ExtentFiles(path.join(location, 'extents'), access, () => this.newFile(), (no) => this.sealFile(no));
    this.space = new SpaceGuard(location);
  }

  static async open(dir: string): Promise<LmdbEngine> {
    let access: HomeAccess;
    try {
      // Private (0700, files 0600) unless created shared with a group (home-access.ts).
      access = readAccess(dir);
      makeDir(dir, access);
      makeDir(path.join(dir, 'extents'), access);
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.R_OK | fs.constants.X_OK);
    } catch (e) {
      throw fromSystemError(e, `engine home ${dir} is not usable`);
    }
    const env = openEnv(path.join(dir, 'index.mdb'), access);
    const bin = { keyEncoding: 'binary' as const, encoding: 'binary' as const };
    return new LmdbEngine(
      dir,
      access,
      env,
      env.openDB('records', bin) as unknown as Bin,
      env.openDB('objpunch', bin) as unknown as Bin,
      env.openDB('snapshots', { keyEncoding: 'binary', encoding: 'json' }) as unknown as Database<{ name?: string; createdAt: string }, Buffer>,
      env.openDB('catalog', { encoding: 'json' }) as unknown as Database<unknown, string>,
      env.openDB('meta', { encoding: 'json' }) as unknown as Database<number, string>,
      env.openDB('files', { keyEncoding: 'uint32', encoding: 'json' }) as unknown as Database<FileRow, number>,
      env.openDB('byfile', bin) as unknown as Bin,
    );
  }

  // ---------- the request handler ----------

  private readonly handle = (r: core.Req): unknown => {
    switch (r.t) {
      case 'get': return this.recs.get(r.key);
      case 'ranges': return r.ranges.reduce<core.KV[][]>((all, q) => {
        const db = this.tables[q.tbl];
        const out: core.KV[] = [];
        all.push(out);
        if (q.ifAny !== undefined && all[q.ifAny]!.length === 0) return all;
        if (q.keysOnly) {
          for (const key of db.getKeys({ start: q.start, end: q.end, limit: q.limit })) out.push({ key: Buffer.from(key), value: EMPTY });
        } else {
          for (const { key, value } of db.getRange({ start: q.start, end: q.end, limit: q.limit })) out.push({ key: Buffer.from(key), value });
        }
        return all;
      }, []);
      case 'put': this.tables[r.tbl].putSync(r.key, r.value); return undefined;
      case 'del': this.tables[r.tbl].removeSync(r.key); return undefined;
      case 'lock': return undefined;
      case 'epoch': {
        const epoch = (this.meta.get('epoch') ?? 0) + 1;
        this.meta.putSync('epoch', epoch);
        return epoch;
      }
      case 'snaps': {
        const out: number[] = [];
        for (const key of this.snaps.getKeys({ start: r.cont, end: prefixEnd(r.cont) })) out.push(Number(key.readBigUInt64BE(16)));
        return out;
      }
      case 'snap-put': this.snaps.putSync(Buffer.concat([r.cont, u64be(r.epoch)]), r.info); return undefined;
      case 'snap-del': {
        const key = Buffer.concat([r.cont, u64be(r.epoch)]);
        if (this.snaps.get(key) === undefined) return false;
        this.snaps.removeSync(key);
        return true;
      }
      case 'cat-get': return this.catalog.get(r.key);
      case 'cat-put': this.catalog.putSync(r.key, r.value); return undefined;
      case 'cat-del': this.catalog.removeSync(r.key); return undefined;
      case 'cat-keys': {
        const out: string[] = [];
        for (const key of this.catalog.getKeys({ start: r.prefix, end: r.prefix + '\uffff' })) {
          if (!key.startsWith(r.prefix)) continue;
          out.push(key);
          if (out.length >= r.limit) break;
        }
        return out;
      }
      case 'live': {
        const f = this.files.get(r.file);
        if (f) this.files.putSync(r.file, { ...f, live: f.live + r.delta });
        return undefined;
      }
      case 'blob-del': throw new StrataError('EIO', 'the LMDB engine keeps no blobs (corrupt record)');
    }
  };

  /**
   * One LMDB write transaction. lmdb-js reports a failed commit as "Commit
   * failed" with the cause in a separate rejected promise (commitError), which
   * would also crash the process as an unhandled rejection: unwrap it and say
   * what happened (ENOSPC for a full disk).
   */
  private async txn<T>(fn: () => T, valueBytes = 0): Promise<T> {
    this.space.check(lmdbNeed(valueBytes));
    try {
      // A child transaction of lmdb-js's batch: it commits or aborts whole. A
      // plain transaction() callback that throws keeps the writes it made,
      // and an LMDB error inside it fails the whole batch (MDB_BAD_TXN for
      // every commit sharing it); as a child, only this commit fails.
      const out = await this.env.childTransaction(fn);
      if (this.durability === 'durable') await this.sync();
      return out;
    } catch (e) {
      let cause: unknown = e;
      const pending = (e as { commitError?: Promise<unknown> })?.commitError;
      if (pending && typeof pending.then === 'function') {
        try { await pending; } catch (inner) { cause = inner; }
      }
      const err = cause as { code?: unknown; message?: string };
      // LMDB reports a write that found no room in the filesystem as EIO.
      const full = err?.code === 28 || err?.code === 'ENOSPC' || /No space left/i.test(err?.message ?? '')
        || (err?.code === 5 && this.space.freeNow() < Math.max(lmdbNeed(valueBytes) * 4, 4 << 20));
      if (full) {
        throw new StrataError('ENOSPC', `engine index ${this.location}: no space left on device; nothing was written by this operation`, { cause });
      }
      if (cause instanceof StrataError) throw cause;
      throw fromSystemError(cause, `engine index ${this.location}: commit failed`);
    }
  }

  /** Drops this thread's read snapshot: the next read starts a new one (about 2 µs). */
  override refresh(): void {
    (this.env as unknown as { resetReadTxn(): void }).resetReadTxn();
  }

  override setDurability(mode: 'durable' | 'visible'): void {
    this.durability = mode;
  }

  /**
   * Flushes the index to disk (mdb_env_sync). The environment is opened
   * with noMetaSync: a commit flushes its pages, and the meta page that
   * makes it the current state reaches the disk here (or with the next
   * commit's flush). Syncs asked for while one runs share the next one.
   */
  override sync(): Promise<void> {
    if (!this.syncing) {
      this.syncing = new Promise<void>((resolve, reject) => {
        (this.env as unknown as { sync(cb: (e?: unknown) => void): void }).sync((e) => (e ? reject(e) : resolve()));
      }).finally(() => { this.syncing = undefined; });
      return this.syncing;
    }
    this.syncQueued ??= this.syncing.catch(() => undefined).then(() => { this.syncQueued = undefined; return this.sync(); });
    return this.syncQueued;
  }

  protected async runRead<T>(g: core.Gen<T>): Promise<T> {
    return core.runSync(g, this.handle);
  }

  protected async runWrite<T>(g: core.Gen<T>, valueBytes = 0): Promise<T> {
    return this.txn(() => core.runSync(g, this.handle), valueBytes);
  }

  protected async readStored(v: RecordValue, at: number, len: number, dst: Buffer, dstOff: number): Promise<void> {
    if (v.t !== 'file') throw new StrataError('EIO', `the LMDB engine cannot read a '${v.t}' record`);
    await this.extentFiles.read({ file: v.file, pos: v.pos + at }, len, dst, dstOff);
  }

  async currentEpoch(): Promise<Epoch> {
    return this.meta.get('epoch') ?? 0;
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
    const first = await this.txn(() => {
      const next = this.meta.get(`alloc:${cont}`) ?? 1;
      this.meta.putSync(`alloc:${cont}`, next + count);
      return next;
    });
    return BigInt(first);
  }

  async commit(batch: Batch): Promise<Epoch> {
    this.assertOpen();
    const plan = planBatch(batch.ops);
    const refs: ExtentRef[] = [];
    const stored: StoredPieces = new Map();
    try {
      // Every extent of the commit in one append (a group of small files: one write, one fdatasync).
      const pieces: Array<Piece & { data: Uint8Array }> = [];
      const inlineMax = INLINE_MAX[this.durability];
      for (const p of plan) {
        if (p.op !== 'array') continue;
        for (const piece of p.pieces) if (piece.data && piece.data.length > inlineMax) pieces.push(piece as Piece & { data: Uint8Array });
      }
      if (pieces.length) {
        refs.push(...await this.extentFiles.appendAll(pieces.map((p) => p.data)));
        pieces.forEach((piece, i) => stored.set(piece, { t: 'file', ...refs[i]! }));
        await this.extentFiles.durable();
      }
      const result = await this.runWrite(applyBatch(plan, batch.conditions ?? [], stored, batch.fresh), inlineBytes(batch));
      if (result === CONFLICT) throw new StrataError('ECONFLICT', 'the data changed since it was read (concurrent update); retry');
      return result;
    } catch (e) {
      if (e instanceof StrataError) throw e;
      throw fromSystemError(e, 'engine commit failed');
    } finally {
      if (refs.length) await this.extentFiles.done(refs);
    }
  }

  // ---------- snapshots ----------

  async listSnapshots(cont: ContId): Promise<SnapshotInfo[]> {
    const c = uuidBytes(cont);
    const out: SnapshotInfo[] = [];
    for (const { key, value } of this.snaps.getRange({ start: c, end: prefixEnd(c) })) {
      out.push({ epoch: Number(key.readBigUInt64BE(16)), name: value.name, createdAt: value.createdAt });
    }
    return out;
  }

  async destroyContainer(cont: ContId): Promise<void> {
    await this.destroyContainerData(cont);
    const c = uuidBytes(cont);
    await this.txn(() => {
      for (const key of [...this.snaps.getKeys({ start: c, end: prefixEnd(c) })]) this.snaps.removeSync(key);
      this.meta.removeSync(`alloc:${cont}`);
    });
  }

  // ---------- extent files ----------

  protected async listFiles(): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    for (const { key, value } of this.files.getRange({})) out.push({ no: key, ...value });
    return out;
  }

  protected async dropFileRows(nos: number[]): Promise<number[]> {
    return this.txn(() => {
      const out: number[] = [];
      for (const no of nos) {
        const f = this.files.get(no);
        if (f && f.live <= 0) { this.files.removeSync(no); out.push(no); }
      }
      return out;
    });
  }

  private async newFile(): Promise<number> {
    return this.txn(() => {
      const no = (this.meta.get('nextFile') ?? 0) + 1;
      this.meta.putSync('nextFile', no);
      this.files.putSync(no, { pid: process.pid, host: os.hostname(), sealed: false, live: 0 });
      return no;
    });
  }

  protected async sealFile(no: number): Promise<void> {
    await this.txn(() => {
      const f = this.files.get(no);
      if (f) this.files.putSync(no, { ...f, sealed: true });
    });
  }

  async usage(): Promise<EngineUsage> {
    let index = 0;
    try { index = fs.statSync(path.join(this.location, 'index.mdb')).blocks * 512; } catch { /* not yet written */ }
    let live = 0;
    for (const { value } of this.files.getRange({})) live += Math.max(0, value.live);
    return { totalBytes: index + (await this.extentFiles.sizeOnDisk()), liveDataBytes: live };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.extentFiles.close();
    await this.collectFiles().catch(() => 0); // our sealed, empty files
    await closeEnv(this.env);
  }
}

const EMPTY = Buffer.alloc(0);
const LMDB_MAP_SIZE = 2 ** 36;

/** Bytes of a batch that may land in the index itself (small values and small array pieces, at the larger threshold). */
function inlineBytes(batch: Batch): number {
  let n = 0;
  for (const op of batch.ops) {
    // keys and record headers, and the small values (punches only free space)
    if (op.op === 'put') n += 128 + op.value.length;
    else if (op.op === 'write') n += 128 + (op.data.length <= INLINE_MAX.visible ? op.data.length : 0);
  }
  return n;
}

// When a commit fails (a full disk), lmdb-js rejects, besides the promise of
// the transaction we await, internal promises nobody holds, with the same
// "Commit failed" error (it carries `commitError`). The failure already reaches
// the caller through txn(); these echoes must not crash the process.
let echoesIgnored = false;
function ignoreCommitFailureEchoes(): void {
  if (echoesIgnored) return;
  echoesIgnored = true;
  process.on('unhandledRejection', (reason) => {
    if (reason && typeof reason === 'object' && 'commitError' in reason) {
      (reason as { commitError: Promise<unknown> }).commitError.catch(() => undefined);
      return;
    }
    throw reason;
  });
}

// lmdb-js keeps one environment per file in a process: share it between
// engine instances and close it with the last one.
const envs = new Map<string, { env: RootDatabase; refs: number }>();

function openEnv(file: string, access: HomeAccess): RootDatabase {
  const shared = envs.get(file);
  if (shared) { shared.refs++; return shared.env; }
  checkLmdbBuild(file);
  ignoreCommitFailureEchoes();
  // LMDB would create the index and its lock file with mode 0644 (less the
  // umask): create them first with the home's mode (LMDB initializes an
  // empty file as a new index).
  try {
    ensureFile(file, access);
    ensureFile(`${file}-lock`, access);
  } catch (e) {
    throw fromSystemError(e, `cannot create engine index ${file}`);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      // A map reserved once (address space only: the file grows as pages are
      // used). lmdb-js otherwise starts at 128 KiB and grows the map inside
      // write transactions, which, with several processes writing, failed
      // commits with MDB_BAD_TXN (mdb_page_touch) and left the environment
      // unusable. Past 64 GiB of index lmdb-js still grows it.
      // overlappingSync off: a commit resolves once its pages are on disk
      // (lmdb-js otherwise resolves before the flush). noMetaSync: the meta
      // page naming the new state is flushed by LmdbEngine.sync(), which a
      // durable write waits for and a 'visible' one does not (LMDB keeps its
      // consistency either way; an OS crash may only undo unsynced commits).
      const env = open({ path: file, maxDbs: 16, mapSize: LMDB_MAP_SIZE, overlappingSync: false, noMetaSync: true });
      envs.set(file, { env, refs: 1 });
      return env;
    } catch (e) {
      // Many processes opening one index at the same instant can make lmdb-js
      // fail its first read transaction (EINVAL "No transaction to renew"):
      // transient, so try again after a short pause.
      if (attempt < 8 && /No transaction to renew|No current read transaction/i.test(String((e as Error)?.message ?? e))) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.random() * 40);
        continue;
      }
      throw fromSystemError(e, `cannot open engine index ${file}`);
    }
  }
}

/**
 * The engine runs on LMDB 0.9 only (native/lmdb/build.mjs builds lmdb-js on
 * it). lmdb-js's prebuilt addon runs its own LMDB branch (0.9.90), which
 * damaged indexes shared by several processes (docs/engine.md). An index that
 * branch wrote (its data format 2) cannot be opened by LMDB 0.9: say so, and
 * how to upgrade it, rather than LMDB's "not an LMDB file".
 */
function checkLmdbBuild(file: string): void {
  const lmdbVersion = (lmdb as unknown as { version: { major: number; minor: number; patch: number; versionString: string } }).version;
  if (lmdbVersion.major !== 0 || lmdbVersion.minor !== 9 || lmdbVersion.patch >= 90) {
    throw new StrataError('ENOTSUP', `the LMDB engine needs lmdb-js built on LMDB 0.9, but it loaded ${lmdbVersion.versionString} (lmdb-js's prebuilt addon, unsafe with several processes on one index): run \`npm run build\` to build it`);
  }
  if (!fs.existsSync(file) && fs.existsSync(`${file}.format1`)) {
    throw new StrataError('EBUSY', `engine index ${file}: an upgrade of its format was interrupted; run \`strata engine init\` to finish it`);
  }
  if (isFormat2(file)) {
    throw new StrataError('ENOTSUP', `engine index ${file} is in LMDB data format 2 (written by lmdb-js's prebuilt LMDB 0.9.90); run \`strata engine init\` once to rewrite it in LMDB 0.9's format 1 (the old file is kept)`);
  }
}

async function closeEnv(env: RootDatabase): Promise<void> {
  for (const [file, s] of envs) {
    if (s.env !== env) continue;
    if (--s.refs === 0) { envs.delete(file); await env.close(); }
    return;
  }
}
