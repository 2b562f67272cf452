// The shared engine: the index, catalog and small values in PostgreSQL, large
// array extents either in PostgreSQL (`blobs`, the default) or in extent files
// under a directory every node mounts (`?data=/shared/dir`). Many processes on
// many nodes use one database.
//
// Transactions: READ COMMITTED plus explicit locks (commit-group.ts). Every
// write transaction first locks the rows of the containers it writes
// (`cont_epoch`, in byte order; catalog writers lock everything instead),
// draws its epochs from one sequence, then reads, checks conditions and
// writes, stores its last epoch in those rows and commits. Writers of one
// container are serialized like LMDB's single writer, so a container's epochs
// are strictly increasing in its commit order, and a reader that sees epoch E
// of a container (currentEpoch(cont)) sees every commit of it with an epoch
// <= E; writers of different containers do not wait on each other. Reads
// need no transaction: each read request is one SQL statement (several
// ranges go as one UNION ALL).
//
// Group commit: commits of one process that queue up while a transaction runs
// go together in the next transaction (each still gets its own epoch, and a
// batch whose condition fails writes nothing), so one fsync serves many.
import os from 'node:os';
import fs from 'node:fs';
import pg from 'pg';
import type { Batch, ContId, EngineUsage, Epoch, SnapshotInfo } from '../types.js';
import { StrataError, fromSystemError } from '../../errors.js';
import { uuidBytes } from '../keys.js';
import type { RecordValue } from '../records.js';
import { planBatch, type Piece } from '../batch-plan.js';
import { ExtentFiles, type ExtentRef } from '../extent-files.js';
import * as core from '../core.js';
import { applyBatch, CONFLICT, lockScope, type StoredPieces } from '../batch-apply.js';
import { KvEngine, type FileEntry } from '../kv-engine.js';
import { checkSchemaVersion, readDataSetting, readSchemaVersion } from './schema.js';
import { pgConfig, redact } from './url.js';
import { copyOut } from './copy-out.js';
import { Ctx, readAheadOf, type Pending } from './commit-group.js';
import { makeDir, readAccess, PRIVATE, type HomeAccess } from '../home-access.js';

/** Array writes up to this size stay in the records table; larger ones go to blobs or extent files. */
const INLINE_MAX = 16 * 1024;
/** Commit groups of one process in flight, at most. */
const WRITERS = 2;
/** Batches of one process that share a transaction, at most. */
const GROUP_MAX = 256;

function isRetryable(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === '40001' || code === '40P01';
}

/** The connection to the server is gone (server restart, network). */
function isConnectionLoss(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return /^(08|57P)/.test(err?.code ?? '') || /Connection terminated|connection error|not queryable/i.test(err?.message ?? '');
}

function pgError(e: unknown, what: string): StrataError {
  if (e instanceof StrataError) return e;
  const err = e as { message?: string; code?: string };
  return new StrataError('EIO', `${what}: ${err?.message ?? String(e)}${err?.code ? ` (${err.code})` : ''}`, { cause: e });
}


export class PgEngine extends KvEngine {
  readonly kind = 'postgres';
  private queue: Pending[] = [];
  private writers = 0;
  private readonly maxWriters: number;

  /** Where this engine puts large extents: a directory of extent files, or 'postgres'. */
  readonly data: string;

  private constructor(readonly location: string, private readonly pool: pg.Pool, data: string, access?: HomeAccess) {
    super();
    this.data = data;
    // Groups writing a container queue on its epoch row, and each holds it through
    // its WAL flush: one group runs while the next waits with its batches, more
    // would split the queue into smaller groups each paying a flush (with 4,
    // 0.6x the puts/s of 2: bench/pg-commit.ts).
    this.maxWriters = Math.max(1, Math.min(WRITERS, Math.floor(((pool.options.max as number | undefined) ?? 8) / 2)));
    if (data !== 'postgres') this.extentFiles = new ExtentFiles(data, access ?? PRIVATE, () => this.newFile(), (no) => this.sealFile(no));
  }

  /**
   * Opens the engine. Large extents go where the URL's data= says, else where
   * `strata engine init` recorded in the database. A directory named in the
   * URL is created if missing; a recorded one must already be there (a node
   * that does not mount it is told so rather than writing extents nobody
   * else can read).
   */
  static async open(url: string): Promise<PgEngine> {
    const cfg = pgConfig(url);
    const pool = new pg.Pool({ ...cfg.client, max: cfg.poolSize });
    pool.on('error', () => { /* an idle connection died; the pool replaces it */ });
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new StrataError('EIO', `cannot connect to ${redact(url)}: ${(e as Error).message}`, { cause: e });
    }
    let data: string;
    let access: HomeAccess | undefined;
    try {
      checkSchemaVersion(await readSchemaVersion(client), url);
      data = cfg.data ?? await readDataSetting(client);
      if (data !== 'postgres') {
        try {
          if (cfg.data) makeDir(data, PRIVATE);
          fs.accessSync(data, fs.constants.W_OK | fs.constants.R_OK | fs.constants.X_OK);
          access = readAccess(data);
        } catch (e) {
          throw fromSystemError(e, cfg.data ? `extent directory ${data} is not usable` : `extent directory ${data} (recorded by strata engine init) is not usable on this node; mount it at that path or name another with ?data=`);
        }
      }
    } catch (e) {
      client.release();
      await pool.end().catch(() => undefined);
      throw e;
    }
    client.release();
    return new PgEngine(redact(url), pool, data, access);
  }

  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    this.assertOpen();
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw pgError(e, `cannot connect to ${this.location}`);
    }
    // A connection the server cuts between two statements emits 'error' on the
    // checked-out client: keep it from crashing the process; the next statement
    // fails and the broken client is not returned to the pool.
    let broken: Error | undefined;
    const onError = (e: Error) => { broken = e; };
    c.on('error', onError);
    try {
      return await fn(c);
    } catch (e) {
      if (!broken && isConnectionLoss(e)) broken = e as Error;
      throw e;
    } finally {
      c.off('error', onError);
      c.release(broken);
    }
  }

  protected async runRead<T>(g: core.Gen<T>): Promise<T> {
    return this.withClient(async (c) => {
      try {
        return await core.runAsync(g, new Ctx(c, false).handle);
      } catch (e) {
        throw pgError(e, 'engine read failed');
      }
    });
  }

  /**
   * Runs fn in a write transaction, retrying serialization failures and
   * deadlocks. lockFirst: the statement that begins the transaction also
   * takes that lock scope and draws that many epochs (one round trip).
   */
  private async transaction<T>(fn: (ctx: Ctx) => Promise<T>, retry = true, lockFirst?: { conts: Buffer[] | undefined; epochs: number }): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.withClient(async (c) => {
          const ctx = new Ctx(c, true);
          if (lockFirst) await ctx.lock(lockFirst.conts, lockFirst.epochs, true);
          else await c.query('BEGIN');
          try {
            const out = await fn(ctx);
            await ctx.finish();
            await c.query('COMMIT');
            return out;
          } catch (e) {
            await c.query('ROLLBACK').catch(() => undefined);
            throw e;
          }
        });
      } catch (e) {
        if (retry && attempt < 20 && isRetryable(e)) { await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1))); continue; }
        throw pgError(e, 'engine transaction failed');
      }
    }
  }

  protected async runWrite<T>(g: core.Gen<T>): Promise<T> {
    // A generator runs once: no retry here (with the epoch lock taken first, serialization failures do not happen).
    return this.transaction((ctx) => core.runAsync(g, ctx.handle), false);
  }

  protected async readStored(v: RecordValue, at: number, len: number, dst: Buffer, dstOff: number): Promise<void> {
    if (v.t === 'file') {
      if (!this.extentFiles) throw new StrataError('EIO', 'a record points into an extent file but this engine keeps large extents in PostgreSQL (data=postgres)');
      await this.extentFiles.read({ file: v.file, pos: v.pos + at }, len, dst, dstOff);
      return;
    }
    if (v.t !== 'blob') throw new StrataError('EIO', `cannot read a '${v.t}' record`);
    await this.withClient(async (c) => {
      const got = await copyOut(c, `COPY (SELECT substring(data FROM ${at + 1} FOR ${len}) FROM blobs WHERE id = ${Math.trunc(v.id)}) TO STDOUT (FORMAT binary)`);
      if (got.length === 0) throw new StrataError('ENOENT', `blob ${v.id} is gone`);
      const field = got[0]!;
      if (field.length !== len) throw new StrataError('EIO', `blob ${v.id} is shorter than its index says`);
      field.copy(dst, dstOff);
    });
  }

  async currentEpoch(cont?: ContId): Promise<Epoch> {
    // A container's row holds the last epoch of its writers; meta.epoch the
    // last of writers of everything, which excluded every container writer:
    // both are epochs at which the container's view is fixed, so is the larger.
    return this.withClient(async (c) => {
      const res = cont === undefined
        ? await c.query({ name: 'epoch', text: `SELECT GREATEST((SELECT v FROM meta WHERE k = 'epoch'), (SELECT max(v) FROM cont_epoch))`, rowMode: 'array' })
        : await c.query({ name: 'epoch-of', text: `SELECT GREATEST((SELECT v FROM meta WHERE k = 'epoch'), (SELECT v FROM cont_epoch WHERE cont = $1))`, values: [uuidBytes(cont)], rowMode: 'array' });
      return Number(res.rows[0]![0]);
    });
  }

  // ---------- catalog ----------

  async catGet(key: string): Promise<unknown | undefined> {
    return this.withClient(async (c) => {
      const res = await c.query({ name: 'cat-get', text: 'SELECT v FROM catalog WHERE k = $1', values: [key], rowMode: 'array' });
      return res.rows.length ? JSON.parse(res.rows[0]![0] as string) : undefined;
    });
  }

  async catList(prefix: string, opts: { after?: string; limit?: number } = {}): Promise<Array<[string, unknown]>> {
    return this.withClient(async (c) => {
      // Keys compare as bytes (COLLATE "C"); the prefix range is [prefix, prefix + U+FFFF).
      const res = await c.query({
        name: 'cat-list',
        text: 'SELECT k, v FROM catalog WHERE k >= $1 AND k < $2 AND ($3::text IS NULL OR k > $3) ORDER BY k LIMIT $4',
        values: [prefix, prefix + '\uffff', opts.after ?? null, opts.limit ?? null],
        rowMode: 'array',
      });
      return (res.rows as Array<[string, string]>).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, JSON.parse(v)] as [string, unknown]);
    });
  }

  // ---------- writes ----------

  async allocate(cont: ContId, count: number): Promise<bigint> {
    if (!Number.isInteger(count) || count < 1) throw new StrataError('EINVAL', `bad allocation count ${count}`);
    const c = uuidBytes(cont);
    return this.withClient(async (cl) => {
      const res = await cl.query({
        name: 'alloc',
        text: 'INSERT INTO alloc (cont, next) VALUES ($1, 1 + $2) ON CONFLICT (cont) DO UPDATE SET next = alloc.next + $2 RETURNING next',
        values: [c, count],
        rowMode: 'array',
      });
      return BigInt(res.rows[0]![0] as string) - BigInt(count);
    });
  }

  async commit(batch: Batch): Promise<Epoch> {
    this.assertOpen();
    const plan = planBatch(batch.ops);
    const refs: ExtentRef[] = [];
    const stored: StoredPieces = new Map();
    const blobs: Piece[] = [];
    try {
      for (const p of plan) {
        if (p.op !== 'array') continue;
        for (const piece of p.pieces) {
          if (!piece.data || piece.data.length <= INLINE_MAX) continue;
          if (this.extentFiles) {
            const ref = await this.extentFiles.append(piece.data);
            refs.push(ref);
            stored.set(piece, { t: 'file', ...ref });
          } else blobs.push(piece);
        }
      }
      if (refs.length) await this.extentFiles!.durable();
      const result = await new Promise<Epoch>((resolve, reject) => {
        this.queue.push({ plan, conditions: batch.conditions ?? [], fresh: batch.fresh, stored, blobs, resolve, reject });
        this.pump();
      });
      return result;
    } finally {
      if (refs.length) await this.extentFiles!.done(refs);
    }
  }

  private pump(): void {
    while (this.writers < this.maxWriters && this.queue.length) {
      const group = this.queue.splice(0, GROUP_MAX);
      this.writers++;
      void this.runGroup(group).finally(() => { this.writers--; this.pump(); });
    }
  }

  private async runGroup(group: Pending[]): Promise<void> {
    // The group locks what all its batches lock: the union of their containers, or everything.
    let scope: Buffer[] | undefined = [];
    for (const item of group) {
      const s = lockScope(item.plan, item.conditions);
      if (!s) { scope = undefined; break; }
      scope.push(...s);
    }
    if (scope) scope = [...new Map(scope.map((c) => [c.toString('hex'), c])).values()].sort(Buffer.compare);
    let results: Array<Epoch | typeof CONFLICT>;
    try {
      results = await this.transaction(async (ctx) => {
        const out: Array<Epoch | typeof CONFLICT> = [];
        // Blob bytes go in before the epoch lock is taken, so other writers are not held up by the transfer.
        const ids = new Map<Pending, number[]>();
        for (const item of group) {
          const mine: number[] = [];
          for (const piece of item.blobs) {
            const res = await ctx.client.query({ name: 'blob-put', text: 'INSERT INTO blobs (data) VALUES ($1) RETURNING id', values: [piece.data], rowMode: 'array' });
            const id = Number(res.rows[0]![0]);
            mine.push(id);
            item.stored.set(piece, { t: 'blob', id, len: piece.length });
          }
          ids.set(item, mine);
        }
        await ctx.lock(scope, group.length);
        await ctx.readAhead(readAheadOf(group));
        for (const item of group) {
          const r = await core.runAsync(applyBatch(item.plan, item.conditions, item.stored, item.fresh), ctx.handle);
          if (r === CONFLICT && ids.get(item)!.length) ctx.deleteBlobs(ids.get(item)!);
          out.push(r);
        }
        return out;
      }, true, group.every((item) => item.blobs.length === 0) ? { conts: scope, epochs: group.length } : undefined);
    } catch (e) {
      if (group.length > 1) {
        // One bad batch must not fail the others: run them one by one.
        for (const item of group) await this.runGroup([item]);
        return;
      }
      group[0]!.reject(e);
      return;
    }
    group.forEach((item, i) => {
      const r = results[i]!;
      if (r === CONFLICT) item.reject(new StrataError('ECONFLICT', 'the data changed since it was read (concurrent update); retry'));
      else item.resolve(r);
    });
  }

  // ---------- snapshots ----------

  async listSnapshots(cont: ContId): Promise<SnapshotInfo[]> {
    const c = uuidBytes(cont);
    return this.withClient(async (cl) => {
      const res = await cl.query({ name: 'snap-list', text: 'SELECT epoch, name, created_at FROM snapshots WHERE cont = $1 ORDER BY epoch', values: [c], rowMode: 'array' });
      return (res.rows as Array<[string, string | null, string]>).map(([e, n, t]) => ({ epoch: Number(e), ...(n !== null ? { name: n } : {}), createdAt: t }));
    });
  }

  async destroyContainer(cont: ContId): Promise<void> {
    await this.destroyContainerData(cont);
    const c = uuidBytes(cont);
    await this.transaction(async (ctx) => {
      await ctx.client.query('DELETE FROM snapshots WHERE cont = $1', [c]);
      await ctx.client.query('DELETE FROM alloc WHERE cont = $1', [c]);
    });
    await this.afterReclaim();
  }

  protected override async afterReclaim(): Promise<void> {
    // Deleted blob rows leave dead tuples: let their space be reused (VACUUM does not block readers or writers).
    if (!this.extentFiles) await this.withClient(async (c) => { await c.query('VACUUM blobs'); });
  }

  // ---------- extent files ----------

  protected async listFiles(): Promise<FileEntry[]> {
    if (!this.extentFiles) return [];
    return this.withClient(async (c) => {
      const res = await c.query({ name: 'files', text: 'SELECT no, pid, host, sealed, live FROM files ORDER BY no', rowMode: 'array' });
      return (res.rows as Array<[string, number, string, boolean, string]>).map(([no, pid, host, sealed, live]) => ({ no: Number(no), pid, host, sealed, live: Number(live) }));
    });
  }

  protected async dropFileRows(nos: number[]): Promise<number[]> {
    return this.withClient(async (c) => {
      const res = await c.query({ name: 'files-drop', text: 'DELETE FROM files WHERE no = ANY($1::int8[]) AND live <= 0 RETURNING no', values: [nos], rowMode: 'array' });
      return res.rows.map((r) => Number(r[0]));
    });
  }

  private async newFile(): Promise<number> {
    return this.withClient(async (c) => {
      const res = await c.query({ name: 'file-new', text: `INSERT INTO files (no, host, pid, sealed, live) VALUES (nextval('file_no'), $1, $2, false, 0) RETURNING no`, values: [os.hostname(), process.pid], rowMode: 'array' });
      return Number(res.rows[0]![0]);
    });
  }

  protected async sealFile(no: number): Promise<void> {
    await this.withClient(async (c) => { await c.query({ name: 'file-seal', text: 'UPDATE files SET sealed = true WHERE no = $1', values: [no] }); });
  }

  async usage(): Promise<EngineUsage> {
    const { db, files, blobs } = await this.withClient(async (c) => {
      const res = await c.query({
        text: `SELECT pg_database_size(current_database()), (SELECT coalesce(sum(live), 0) FROM files), (SELECT coalesce(sum(octet_length(data)), 0) FROM blobs)`,
        rowMode: 'array',
      });
      const [a, b, d] = res.rows[0] as [string, string, string];
      return { db: Number(a), files: Number(b), blobs: Number(d) };
    });
    const fileBytes = this.extentFiles ? await this.extentFiles.sizeOnDisk() : 0;
    return { totalBytes: db + fileBytes, liveDataBytes: files + blobs };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.extentFiles) {
      await this.extentFiles.close();
      await this.collectFiles().catch(() => 0);
    }
    this.closed = true;
    await this.pool.end();
  }
}
