// A transaction on one connection (`Ctx`: answers the requests of core.ts,
// buffers writes and sends them as one statement) and what a commit group
// reads ahead under the epoch lock (`readAheadOf`), so the batches of a group
// read the records they replace without a round trip each.
import type pg from 'pg';
import type { Batch, Condition, Epoch, KeyPath } from '../types.js';
import { StrataError } from '../../errors.js';
import { akeyPrefix, dkeyPunchPrefix, objPrefix, prefixEnd, uuidBytes } from '../keys.js';
import type { Piece, PlannedOp } from '../batch-plan.js';
import type { StoredPieces } from '../batch-apply.js';
import type * as core from '../core.js';

const TABLE_SQL: Record<core.Tbl, string> = { records: 'records', objpunch: 'objpunch', byfile: 'byfile' };

/**
 * Every pending write of a transaction in one statement (data-modifying CTEs;
 * a key is either put or deleted, never both), plus, at the end of a
 * transaction that took epochs, its last epoch into the epoch rows of the
 * containers it locked ($13), or into meta.epoch when it locked everything
 * ($14): one round trip, however many tables it touches.
 */
const WRITE_ALL = `WITH
  rd AS (DELETE FROM records WHERE k = ANY($1::bytea[])),
  ri AS (INSERT INTO records (k, v) SELECT * FROM unnest($2::bytea[], $3::bytea[]) ON CONFLICT (k) DO UPDATE SET v = excluded.v),
  od AS (DELETE FROM objpunch WHERE k = ANY($4::bytea[])),
  oi AS (INSERT INTO objpunch (k) SELECT unnest($5::bytea[]) ON CONFLICT DO NOTHING),
  bd AS (DELETE FROM byfile WHERE k = ANY($6::bytea[])),
  bi AS (INSERT INTO byfile (k, v) SELECT * FROM unnest($7::bytea[], $8::bytea[]) ON CONFLICT (k) DO UPDATE SET v = excluded.v),
  lv AS (UPDATE files SET live = files.live + d.delta FROM unnest($9::int8[], $10::int8[]) AS d(no, delta) WHERE files.no = d.no),
  bl AS (DELETE FROM blobs WHERE id = ANY($11::int8[])),
  ce AS (UPDATE cont_epoch SET v = $12 WHERE cont = ANY($13::bytea[]) AND $12::int8 IS NOT NULL)
UPDATE meta SET v = $12 WHERE k = 'epoch' AND $12::int8 IS NOT NULL AND $14::bool`;

/**
 * The ordering point of writers. Writers of named containers hold this
 * advisory lock shared and lock the containers' rows of cont_epoch; writers
 * of everything (the catalog, extent-file table, any container) hold it
 * exclusive, which waits for every container writer and holds off new ones.
 * (Two-key form: a lock space apart from the one-key locks of schema.ts and
 * work-queue.ts.)
 */
const WRITERS_LOCK = '7340121, 1';

/**
 * The statements that take a lock scope and then draw n epochs (simple
 * protocol, so values are inlined: container ids are our own 16 bytes, as
 * hex). Rows are locked in byte order of container (callers sort), so
 * writers of overlapping containers cannot deadlock; a container's row is
 * created by its first writer (the upsert locks it either way). Epochs come
 * from one sequence *after* the lock: the writer of a container that takes
 * its row after another commits draws larger epochs than every earlier
 * writer of that container.
 */
function lockSql(conts: Buffer[] | undefined, n: number): string {
  const draw = `SELECT nextval('epoch_seq') FROM generate_series(1, ${Math.max(1, Math.trunc(n))})`;
  if (!conts) return `SELECT pg_advisory_xact_lock(${WRITERS_LOCK}); ${draw}`;
  const rows = conts.map((c) => `('\\x${c.toString('hex')}'::bytea, 0)`).join(', ');
  return `SELECT pg_advisory_xact_lock_shared(${WRITERS_LOCK}); INSERT INTO cont_epoch (cont, v) VALUES ${rows} ON CONFLICT (cont) DO UPDATE SET v = cont_epoch.v; ${draw}`;
}

/**
 * The reads a commit group needs, in one statement: whole prefix ranges of
 * records and objpunch (u.s = prefix, u.e = its end), and the snapshots of
 * the containers it writes.
 */
const READ_AHEAD = `SELECT 0 AS t, u.i, r.k, r.v, NULL::int8 AS e FROM unnest($1::bytea[], $2::bytea[]) WITH ORDINALITY AS u(s, e, i), LATERAL (SELECT k, v FROM records WHERE k >= u.s AND k < u.e) r
UNION ALL SELECT 1, u.i, p.k, NULL, NULL FROM unnest($3::bytea[], $4::bytea[]) WITH ORDINALITY AS u(s, e, i), LATERAL (SELECT k FROM objpunch WHERE k >= u.s AND k < u.e) p
UNION ALL SELECT 2, u.i, NULL, NULL, s.epoch FROM unnest($5::bytea[]) WITH ORDINALITY AS u(c, i) JOIN snapshots s ON s.cont = u.c`;

/** What a commit group reads: prefix ranges (records: an akey or a dkey's punches; objpunch: an object) and containers' snapshots. */
export interface ReadAhead {
  records: Buffer[];
  objpunch: Buffer[];
  conts: Buffer[];
}

/** A running read or write context on one connection: answers core.Req. */
export class Ctx {
  private putBuf: Record<core.Tbl, Map<string, Buffer | null>> = { records: new Map(), objpunch: new Map(), byfile: new Map() };
  private liveBuf = new Map<number, number>();
  private blobDel: number[] = [];
  private dirty = false;
  /** What this transaction locked: container ids in hex, or 'all'; undefined before the lock. */
  private held: Set<string> | 'all' | undefined;
  private heldConts: Buffer[] = [];
  /** Epochs drawn after the lock and not used yet, in increasing order. */
  private drawn: number[] = [];
  /** The last epoch this transaction used. */
  private epoch: number | undefined;
  /**
   * Rows of prefix ranges read ahead under the epoch lock (key: table and
   * prefix in hex), kept current with this transaction's own writes, so the
   * batches of a group read them without a round trip each.
   */
  private cached = new Map<string, Map<string, Buffer>>();
  private cachedSnaps = new Map<string, number[]>();

  constructor(readonly client: pg.PoolClient, readonly write: boolean) {}

  /**
   * Takes the lock of the containers named (sorted by bytes), or of
   * everything, once per transaction, and draws `epochs` epochs after it;
   * every writer of those containers after this one waits until this
   * transaction ends. begin: the same message begins the transaction (one
   * round trip for both). A later request must stay inside what was locked.
   */
  async lock(conts: Buffer[] | undefined, epochs = 1, begin = false): Promise<void> {
    if (!this.write) throw new StrataError('EINVAL', 'write request in a read context');
    if (this.held !== undefined) {
      const held = this.held;
      if (held !== 'all' && (!conts || conts.some((c) => !held.has(c.toString('hex'))))) {
        throw new StrataError('EINVAL', 'a write asked for a lock wider than its transaction took');
      }
      return;
    }
    // Simple protocol, several statements in one message: node-postgres answers with every result.
    const res = await this.client.query({ text: (begin ? 'BEGIN; ' : '') + lockSql(conts, epochs), rowMode: 'array' }) as unknown as pg.QueryResult[];
    this.drawn = res[res.length - 1]!.rows.map((row) => Number((row as unknown[])[0]));
    this.held = conts ? new Set(conts.map((c) => c.toString('hex'))) : 'all';
    this.heldConts = conts ?? [];
  }

  /** Reads ahead (under the lock: what it reads is the latest state until this transaction ends). */
  async readAhead(r: ReadAhead): Promise<void> {
    if (this.held === undefined) throw new StrataError('EINVAL', 'read-ahead without the lock');
    if (!r.records.length && !r.objpunch.length && !r.conts.length) return;
    const res = await this.client.query({
      name: 'read-ahead', text: READ_AHEAD, rowMode: 'array',
      values: [r.records, r.records.map(prefixEnd), r.objpunch, r.objpunch.map(prefixEnd), r.conts],
    });
    const recs = r.records.map((p) => { const m = new Map<string, Buffer>(); this.cached.set(`records:${p.toString('hex')}`, m); return m; });
    const puns = r.objpunch.map((p) => { const m = new Map<string, Buffer>(); this.cached.set(`objpunch:${p.toString('hex')}`, m); return m; });
    const snaps = r.conts.map((c) => { const l: number[] = []; this.cachedSnaps.set(c.toString('hex'), l); return l; });
    for (const [t, i, k, v, e] of res.rows as Array<[number, string, Buffer | null, Buffer | null, string | null]>) {
      const n = Number(i) - 1;
      if (t === 0) recs[n]!.set(k!.toString('hex'), v!);
      else if (t === 1) puns[n]!.set(k!.toString('hex'), EMPTY);
      else snaps[n]!.push(Number(e));
    }
  }

  /** The read-ahead rows of a range, if it is a whole prefix range that was read ahead. */
  private fromCache(q: core.RangeReq): core.KV[] | undefined {
    if (this.cached.size === 0 || q.tbl === 'byfile') return undefined;
    const m = this.cached.get(`${q.tbl}:${q.start.toString('hex')}`);
    if (!m || !prefixEnd(q.start).equals(q.end)) return undefined;
    const out = [...m].map(([h, v]) => ({ key: Buffer.from(h, 'hex'), value: q.keysOnly ? EMPTY : v }));
    out.sort((a, b) => Buffer.compare(a.key, b.key));
    return q.limit !== undefined ? out.slice(0, q.limit) : out;
  }

  /** A write to a key inside a read-ahead range keeps that range current (records keys: prefix + epoch + offset; objpunch: prefix + epoch). */
  private track(tbl: core.Tbl, key: Buffer, value: Buffer | null): void {
    if (this.cached.size === 0 || tbl === 'byfile') return;
    const m = this.cached.get(`${tbl}:${key.subarray(0, key.length - (tbl === 'records' ? 16 : 8)).toString('hex')}`);
    if (!m) return;
    if (value === null) m.delete(key.toString('hex'));
    else m.set(key.toString('hex'), value);
  }

  /** Sends the pending writes (and the epoch counter, at the end) in one statement. */
  private async flush(end = false): Promise<void> {
    const epoch = end && this.epoch !== undefined ? this.epoch : null;
    if (!this.dirty && epoch === null) return;
    this.dirty = false;
    const split = (tbl: core.Tbl) => {
      const dels: Buffer[] = [], keys: Buffer[] = [], vals: Buffer[] = [];
      for (const [h, v] of this.putBuf[tbl]) {
        if (v === null) dels.push(Buffer.from(h, 'hex'));
        else { keys.push(Buffer.from(h, 'hex')); vals.push(v); }
      }
      this.putBuf[tbl].clear();
      return { dels, keys, vals };
    };
    const r = split('records'), o = split('objpunch'), b = split('byfile');
    const nos = [...this.liveBuf.keys()], deltas = [...this.liveBuf.values()];
    this.liveBuf.clear();
    const blobs = this.blobDel;
    this.blobDel = [];
    await this.client.query({
      name: 'write-all', text: WRITE_ALL,
      values: [r.dels, r.keys, r.vals, o.dels, o.keys, b.dels, b.keys, b.vals, nos, deltas, blobs, epoch, this.heldConts, this.held === 'all'],
    });
  }

  /** Ends a write transaction's work: pending writes and the epoch counter. */
  async finish(): Promise<void> {
    await this.flush(true);
  }


  deleteBlobs(ids: number[]): void {
    this.blobDel.push(...ids);
    this.dirty = true;
  }

  readonly handle = async (r: core.Req): Promise<unknown> => {
    const c = this.client;
    switch (r.t) {
      case 'get': {
        await this.flush();
        const res = await c.query({ name: 'get', text: 'SELECT v FROM records WHERE k = $1', values: [r.key], rowMode: 'array' });
        return res.rows[0]?.[0] as Buffer | undefined;
      }
      case 'ranges': {
        const hit = r.ranges.map((q) => this.fromCache(q));
        if (hit.every((x) => x !== undefined)) return hit;
        await this.flush();
        const parts: string[] = [];
        const values: unknown[] = [];
        r.ranges.forEach((q, i) => {
          const n = values.length;
          values.push(q.start, q.end, q.limit ?? null);
          const v = q.keysOnly || q.tbl === 'objpunch' ? 'NULL::bytea' : 'v';
          parts.push(`(SELECT ${i} AS q, k, ${v} AS v FROM ${TABLE_SQL[q.tbl]} WHERE k >= $${n + 1} AND k < $${n + 2} ORDER BY k LIMIT $${n + 3})`);
        });
        // A statement is prepared once per shape; PostgreSQL cuts names at 63
        // bytes, so a longer shape (many ranges) would meet another one under
        // the same cut name: those go unnamed (parsed each time).
        const shape = 'r:' + r.ranges.map((q) => `${q.tbl[0]}${q.keysOnly ? 'k' : 'v'}`).join(',');
        const res = await c.query({ ...(shape.length <= MAX_STATEMENT_NAME ? { name: shape } : {}), text: parts.join(' UNION ALL '), values, rowMode: 'array' });
        const out: core.KV[][] = r.ranges.map(() => []);
        for (const row of res.rows as Array<[number, Buffer, Buffer | null]>) out[row[0]]!.push({ key: row[1], value: row[2] ?? EMPTY });
        for (const list of out) {
          for (let i = 1; i < list.length; i++) {
            if (Buffer.compare(list[i - 1]!.key, list[i]!.key) > 0) { list.sort((a, b) => Buffer.compare(a.key, b.key)); break; }
          }
        }
        return out;
      }
      case 'put': this.putBuf[r.tbl].set(r.key.toString('hex'), r.value); this.track(r.tbl, r.key, r.value); this.dirty = true; return undefined;
      case 'del': this.putBuf[r.tbl].set(r.key.toString('hex'), null); this.track(r.tbl, r.key, null); this.dirty = true; return undefined;
      case 'lock': await this.lock(r.conts); return undefined;
      case 'epoch': {
        if (this.held === undefined) throw new StrataError('EINVAL', 'epoch requested without the lock');
        if (!this.drawn.length) {
          const res = await c.query({ name: 'epoch-next', text: `SELECT nextval('epoch_seq')`, rowMode: 'array' });
          this.drawn.push(Number(res.rows[0]![0]));
        }
        this.epoch = this.drawn.shift()!;
        return this.epoch;
      }
      case 'snaps': {
        const known = this.cachedSnaps.get(r.cont.toString('hex'));
        if (known) return [...known];
        const res = await c.query({ name: 'snaps', text: 'SELECT epoch FROM snapshots WHERE cont = $1', values: [r.cont], rowMode: 'array' });
        return res.rows.map((row) => Number(row[0]));
      }
      case 'snap-put':
        this.cachedSnaps.delete(r.cont.toString('hex'));
        await c.query({ name: 'snap-put', text: 'INSERT INTO snapshots (cont, epoch, name, created_at) VALUES ($1, $2, $3, $4)', values: [r.cont, r.epoch, r.info.name ?? null, r.info.createdAt] });
        return undefined;
      case 'snap-del': {
        this.cachedSnaps.delete(r.cont.toString('hex'));
        const res = await c.query({ name: 'snap-del', text: 'DELETE FROM snapshots WHERE cont = $1 AND epoch = $2', values: [r.cont, r.epoch] });
        return (res.rowCount ?? 0) > 0;
      }
      case 'cat-get': {
        const res = await c.query({ name: 'cat-get', text: 'SELECT v FROM catalog WHERE k = $1', values: [r.key], rowMode: 'array' });
        return res.rows.length ? JSON.parse(res.rows[0]![0] as string) : undefined;
      }
      case 'cat-put':
        await c.query({ name: 'cat-put', text: 'INSERT INTO catalog (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v', values: [r.key, JSON.stringify(r.value)] });
        return undefined;
      case 'cat-del':
        await c.query({ name: 'cat-del', text: 'DELETE FROM catalog WHERE k = $1', values: [r.key] });
        return undefined;
      case 'cat-keys': {
        const res = await c.query({ name: 'cat-keys', text: 'SELECT k FROM catalog WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3', values: [r.prefix, r.prefix + '\uffff', r.limit], rowMode: 'array' });
        return (res.rows as Array<[string]>).map(([k]) => k).filter((k) => k.startsWith(r.prefix));
      }
      case 'live': this.liveBuf.set(r.file, (this.liveBuf.get(r.file) ?? 0) + r.delta); this.dirty = true; return undefined;
      case 'blob-del': this.deleteBlobs([r.id]); return undefined;
    }
  };
}

const EMPTY = Buffer.alloc(0);
/** The longest prepared-statement name PostgreSQL keeps whole (NAMEDATALEN - 1). */
const MAX_STATEMENT_NAME = 63;

export interface Pending {
  plan: PlannedOp[];
  conditions: Condition[];
  fresh?: Batch['fresh'];
  stored: StoredPieces;
  /** Pieces to store as blobs inside the transaction. */
  blobs: Piece[];
  resolve: (e: Epoch) => void;
  reject: (e: unknown) => void;
}

/**
 * What the batches of a group will read, known from their ops: the records of
 * each akey they replace (not of fresh objects: nothing to replace), the
 * punches above the akeys of put-max and of conditions (core.loadAkey), and
 * the snapshots of their containers. Punches of whole dkeys and objects read
 * in pages, as they go.
 */
export function readAheadOf(group: Pending[]): ReadAhead {
  const records = new Map<string, Buffer>(), objpunch = new Map<string, Buffer>(), conts = new Map<string, Buffer>();
  const add = (m: Map<string, Buffer>, b: Buffer) => { m.set(b.toString('hex'), b); };
  const loadAkey = (k: KeyPath) => {
    const c = uuidBytes(k.cont);
    add(records, akeyPrefix(c, k.oid, k.dkey, k.akey));
    add(objpunch, objPrefix(c, k.oid));
    add(records, dkeyPunchPrefix(c, k.oid, k.dkey));
  };
  for (const item of group) {
    for (const c of item.conditions) if (c.kind === 'akey') loadAkey(c);
    const fresh = new Set((item.fresh ?? []).map((f) => objPrefix(uuidBytes(f.cont), f.oid).toString('hex')));
    const isFresh = (k: KeyPath) => fresh.size > 0 && fresh.has(objPrefix(uuidBytes(k.cont), k.oid).toString('hex'));
    for (const op of item.plan) {
      if (op.op === 'cat-put' || op.op === 'cat-del') continue;
      add(conts, uuidBytes(op.op === 'array' ? op.kp.cont : op.cont));
      if (op.op === 'put-max') loadAkey(op);
      else if ((op.op === 'put' || op.op === 'array' || op.op === 'punch-akey')) {
        const k = op.op === 'array' ? op.kp : op;
        if (op.op === 'punch-akey' || !isFresh(k)) add(records, akeyPrefix(uuidBytes(k.cont), k.oid, k.dkey, k.akey));
      }
    }
  }
  return { records: [...records.values()], objpunch: [...objpunch.values()], conts: [...conts.values()] };
}
