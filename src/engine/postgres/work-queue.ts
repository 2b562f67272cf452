// The work queue of distributed jobs kept in PostgreSQL (schema
// `strata_queue`, created on demand in the engine's database), the PostgreSQL
// engine's WorkQueueStore (src/engine/work-queue.ts). A planner walks its
// source and inserts items; any number of workers claim them with SELECT …
// FOR UPDATE SKIP LOCKED under a lease (claimed_by, lease_until), renew the
// lease while they work and mark them done. An item whose lease runs out (its
// worker died) is claimable again. Order rules: a 'dir' item's metadata
// becomes ready when every item below it is finished (a `pending` count, held
// up by a large HOLD until the planner has seen the whole directory); a
// 'link' item becomes ready when the item it names (`after`) is finished.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { StrataError } from '../../errors.js';
import { pgConfig } from './url.js';
import { pidAlive } from '../../pid.js';
import { HOLD, isConnectionError, type ClaimedQueueItem, type ItemState, type JobCounts, type Outcome, type QueueItem, type QueueJobSpec, type QueueOp, type WorkQueueStore } from '../work-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SCHEMA = [
  `CREATE SCHEMA IF NOT EXISTS strata_queue`,
  `CREATE TABLE IF NOT EXISTS strata_queue.jobs (
     id bigserial PRIMARY KEY, kind text NOT NULL, spec jsonb NOT NULL, status text NOT NULL DEFAULT 'planning',
     heartbeat timestamptz NOT NULL DEFAULT now(), created_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS strata_queue.items (
     job bigint NOT NULL, seq bigint NOT NULL, kind text NOT NULL, rel text NOT NULL, st jsonb NOT NULL,
     parent bigint, after bigint, link_to text, pending bigint NOT NULL DEFAULT 0, sealed boolean NOT NULL DEFAULT true,
     state text NOT NULL, attempts int NOT NULL DEFAULT 0, claimed_by text, lease_until timestamptz,
     size bigint NOT NULL DEFAULT 0, made text, data_bytes bigint NOT NULL DEFAULT 0, path text, error text,
     PRIMARY KEY (job, seq))`,
  `CREATE INDEX IF NOT EXISTS items_todo ON strata_queue.items (job, seq) WHERE state IN ('ready', 'claimed')`,
  `CREATE INDEX IF NOT EXISTS items_after ON strata_queue.items (job, after) WHERE after IS NOT NULL`,
  `ALTER TABLE strata_queue.items ADD COLUMN IF NOT EXISTS result jsonb`,
];

export class PgWorkQueue implements WorkQueueStore {
  readonly me = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private constructor(private readonly pool: pg.Pool, private readonly retryMs: number) {}

  /** Opens the queue in the engine's database (a postgres:// engine URL), creating its schema on first use. */
  static async open(url: string, o: { retryMs?: number } = {}): Promise<PgWorkQueue> {
    const pool = new pg.Pool({ ...pgConfig(url).client, max: 3 });
    pool.on('error', () => { /* an idle connection died; the pool replaces it */ });
    const q = new PgWorkQueue(pool, o.retryMs ?? 300_000);
    try {
      await q.tx(async (c) => {
        await c.query(`SELECT pg_advisory_xact_lock(hashtext('strata_queue'))`);
        for (const s of SCHEMA) await c.query(s);
      });
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    return q;
  }

  async close(): Promise<void> { await this.pool.end().catch(() => undefined); }

  /** Runs fn, retrying it while the server cannot be reached (up to retryMs). fn must be idempotent. */
  async retrying<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    for (let k = 0; ; k++) {
      try {
        return await fn();
      } catch (e) {
        const code = (e as { code?: string })?.code;
        const again = isConnectionError(e) || code === '40P01' || code === '40001';
        if (!again || Date.now() - t0 > this.retryMs) throw e;
        await sleep(Math.min(2000, 100 * 2 ** Math.min(k, 5)));
      }
    }
  }

  /**
   * One transaction, one attempt (alone: for statements a blind retry could
   * apply twice). A client whose connection broke is destroyed, not reused.
   */
  private async once<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (e: Error) => { broken = e; };
    c.on('error', onError);
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      broken = e as Error;
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.off('error', onError);
      c.release(broken && isConnectionError(broken) ? broken : undefined);
    }
  }

  /** One transaction, retried on connection loss, deadlock and serialization failure. */
  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.retrying(() => this.once(fn));
  }

  private q<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.retrying(() => this.pool.query<R>(text, values));
  }

  // ---------- planner side ----------

  /**
   * Records a new job. A second planner on the same destination root while
   * the first is alive (heard of within staleSec) is refused; earlier jobs on
   * that root whose planner is gone are closed and their items dropped.
   */
  async createJob(kind: string, spec: QueueJobSpec, staleSec = 60): Promise<number> {
    // Not retried blindly (a retry after a lost commit would make a second job); one attempt.
    return this.once(async (c) => {
      // One planner at a time decides (one lock for all destinations: a
      // destination overlaps others under other keys).
      // The destination's identity: its key when the producer gives one (a spelling-free name), else its root.
      const dst = JSON.stringify(spec.dstKey ?? spec.dstRoot);
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('strata_queue.dst'))`);
      // Live jobs on the same destination, or (keys being paths) on one inside it or around it:
      // two jobs writing overlapping trees would write the same files.
      const live = await c.query<{ id: string; planner: string | null; same: boolean }>(
        `SELECT id, spec->>'planner' AS planner, coalesce(spec->'dstKey', spec->'dstRoot') = $1::jsonb AS same FROM strata_queue.jobs
          WHERE status <> 'done' AND heartbeat > now() - make_interval(secs => $2)
            AND (coalesce(spec->'dstKey', spec->'dstRoot') = $1::jsonb
              OR ($3::text IS NOT NULL AND spec ? 'dstKey' AND (
                starts_with($3, CASE WHEN right(spec->>'dstKey', 1) = '/' THEN spec->>'dstKey' ELSE (spec->>'dstKey') || '/' END)
                OR starts_with(spec->>'dstKey', CASE WHEN right($3, 1) = '/' THEN $3 ELSE $3 || '/' END))))
          ORDER BY id`,
        [dst, staleSec, spec.dstKey ?? null]);
      // A planner of this host is judged by its pid at once; others by their heartbeat.
      const alive = live.rows.find((x) => !plannerDead(x.planner));
      if (alive) {
        const which = alive.same ? 'the same destination' : 'an overlapping destination';
        throw new StrataError('EBUSY', `another planner is running on ${which} (job ${alive.id}, ${spec.dst}); wait for it, or stop it and run again with --resume`);
      }
      const dead = await c.query<{ id: string }>(
        `UPDATE strata_queue.jobs SET status = 'done' WHERE status <> 'done' AND coalesce(spec->'dstKey', spec->'dstRoot') = $1::jsonb RETURNING id`, [dst]);
      if (dead.rows.length) await c.query(`DELETE FROM strata_queue.items WHERE job = ANY($1::bigint[])`, [dead.rows.map((x) => x.id)]);
      const r = await c.query<{ id: string }>(`INSERT INTO strata_queue.jobs (kind, spec) VALUES ($1, $2) RETURNING id`,
        [kind, JSON.stringify({ ...spec, planner: `${os.hostname()}:${process.pid}` })]);
      return Number(r.rows[0]!.id);
    });
  }

  /** A job of independent tasks (queued serialize/deserialize): one ready rank item per task. */
  async createTaskJob(kind: string, spec: Record<string, unknown>, tasks: Array<{ rel: string; task: object }>): Promise<number> {
    // One attempt, as createJob: a retry after a lost commit would queue every task twice.
    return this.once(async (c) => {
      const r = await c.query<{ id: string }>(`INSERT INTO strata_queue.jobs (kind, spec, status) VALUES ($1, $2, 'planned') RETURNING id`,
        [kind, JSON.stringify({ ...spec, planner: `${os.hostname()}:${process.pid}` })]);
      const job = Number(r.rows[0]!.id);
      await c.query(
        `INSERT INTO strata_queue.items (job, seq, kind, rel, st, state)
         SELECT $1, u.seq, 'rank', u.rel, u.task::jsonb, 'ready' FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(seq, rel, task)`,
        [job, tasks.map((_, i) => i + 1), tasks.map((t) => t.rel), tasks.map((t) => JSON.stringify(t.task))]);
      return job;
    });
  }

  /** States, results and errors of a task job's items, in task order. */
  async taskStates(job: number): Promise<Array<{ state: ItemState; result: unknown; error: string | null; path: string | null }>> {
    const r = await this.q<{ state: ItemState; result: unknown; error: string | null; path: string | null }>(
      `SELECT state, result, error, path FROM strata_queue.items WHERE job = $1 ORDER BY seq`, [job]);
    return r.rows;
  }

  /** The newest job copying src to dst (as given), for --resume: its destination root. */
  async lastJob<S extends QueueJobSpec>(src: string, dst: string): Promise<{ id: number; spec: S; status: string } | undefined> {
    const r = await this.q<{ id: string; spec: S; status: string }>(
      `SELECT id, spec, status FROM strata_queue.jobs WHERE kind = 'copy' AND spec->>'src' = $1 AND spec->>'dst' = $2 AND (spec->>'resumable')::boolean ORDER BY id DESC LIMIT 1`, [src, dst]);
    const x = r.rows[0];
    return x ? { id: Number(x.id), spec: x.spec, status: x.status } : undefined;
  }

  async setJobStatus(job: number, status: 'planning' | 'planned' | 'done'): Promise<void> {
    await this.q(`UPDATE strata_queue.jobs SET status = $2, heartbeat = now() WHERE id = $1`, [job, status]);
  }

  async heartbeat(job: number): Promise<void> {
    await this.q(`UPDATE strata_queue.jobs SET heartbeat = now() WHERE id = $1`, [job]);
  }

  /**
   * Applies planner operations in order, in one transaction: item inserts,
   * link items (ready at once if their first name is already finished) and
   * directory seals (the directory had n items below it). Idempotent.
   */
  async apply(job: number, ops: QueueOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.tx(async (c) => {
      let run: QueueItem[] = [];
      const flushRun = async () => {
        if (run.length === 0) return;
        await c.query(
          `INSERT INTO strata_queue.items (job, seq, kind, rel, st, parent, pending, sealed, state, size)
           SELECT $1, u.seq, u.kind, u.rel, u.st::jsonb, u.parent, CASE WHEN u.kind = 'dir' THEN $2::bigint ELSE 0 END,
                  u.kind <> 'dir', CASE WHEN u.kind = 'dir' THEN 'waiting' ELSE 'ready' END, u.size
           FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[]) AS u(seq, kind, rel, st, parent, size)
           ON CONFLICT (job, seq) DO NOTHING`,
          [job, HOLD, run.map((i) => i.seq), run.map((i) => i.kind), run.map((i) => i.rel), run.map((i) => i.st),
            run.map((i) => i.parent ?? null), run.map((i) => i.size)],
        );
        run = [];
      };
      for (const op of ops) {
        if (op.op === 'item' && op.item.kind !== 'link') { run.push(op.item); continue; }
        await flushRun();
        if (op.op === 'item') {
          const it = op.item;
          // Lock the first name's row: its completion either sees this item or is seen by this check.
          // No first item (a sync whose first name is already in place): ready at once.
          const f = it.after === undefined ? undefined : await c.query<{ state: string }>(`SELECT state FROM strata_queue.items WHERE job = $1 AND seq = $2 FOR UPDATE`, [job, it.after]);
          const firstFinished = !f || f.rows[0]?.state === 'done' || f.rows[0]?.state === 'failed';
          await c.query(
            `INSERT INTO strata_queue.items (job, seq, kind, rel, st, parent, after, link_to, state, size)
             VALUES ($1, $2, 'link', $3, $4::jsonb, $5, $6, $7, $8, 0) ON CONFLICT (job, seq) DO NOTHING`,
            [job, it.seq, it.rel, it.st, it.parent ?? null, it.after ?? null, it.linkTo, firstFinished ? 'ready' : 'waiting'],
          );
        } else {
          await c.query(
            `UPDATE strata_queue.items SET sealed = true, pending = pending - $3 + $4,
               state = CASE WHEN pending - $3 + $4 = 0 THEN 'ready' ELSE state END
             WHERE job = $1 AND seq = $2 AND NOT sealed`,
            [job, op.seq, HOLD, op.children],
          );
        }
      }
      await flushRun();
    });
  }

  /** Counts by state and outcome, for progress and the summary. */
  async counts(job: number): Promise<JobCounts> {
    const r = await this.q<{ state: string; made: string | null; n: string; bytes: string; data: string }>(
      `SELECT state, made, count(*) AS n, coalesce(sum(size), 0) AS bytes, coalesce(sum(data_bytes), 0) AS data
       FROM strata_queue.items WHERE job = $1 GROUP BY state, made`, [job]);
    const c: JobCounts = { total: 0, open: 0, done: 0, failed: 0, files: 0, symlinks: 0, hardlinks: 0, specials: 0, bytes: 0, dataBytes: 0 };
    for (const row of r.rows) {
      const n = Number(row.n);
      c.total += n;
      if (row.state === 'done') {
        c.done += n;
        if (row.made === 'file') { c.files += n; c.bytes += Number(row.bytes); }
        if (row.made === 'symlink') c.symlinks += n;
        if (row.made === 'hardlink') c.hardlinks += n;
        if (row.made === 'special') c.specials += n;
        c.dataBytes += Number(row.data);
      } else if (row.state === 'failed') c.failed += n;
      else c.open += n;
    }
    return c;
  }

  async failuresAfter(job: number, seq: number): Promise<Array<{ seq: number; path: string; reason: string }>> {
    const r = await this.q<{ seq: string; path: string | null; rel: string; error: string | null }>(
      `SELECT seq, path, rel, error FROM strata_queue.items WHERE job = $1 AND state = 'failed' AND seq > $2 ORDER BY seq LIMIT 10000`, [job, seq]);
    return r.rows.map((x) => ({ seq: Number(x.seq), path: x.path ?? x.rel, reason: x.error ?? 'failed' }));
  }

  /** Forgets a finished job's items (the job row stays, status done). */
  async dropItems(job: number): Promise<void> {
    await this.q(`DELETE FROM strata_queue.items WHERE job = $1`, [job]);
  }

  // ---------- worker side ----------

  /** Jobs a worker may serve: not done, planner alive (heartbeat within staleSec). */
  async openJobs<S extends QueueJobSpec>(staleSec: number): Promise<Array<{ id: number; kind: string; spec: S; status: string }>> {
    const r = await this.q<{ id: string; kind: string; spec: S; status: string }>(
      `SELECT id, kind, spec, status FROM strata_queue.jobs WHERE status <> 'done' AND heartbeat > now() - make_interval(secs => $1) ORDER BY id`, [staleSec]);
    return r.rows.map((x) => ({ id: Number(x.id), kind: x.kind, spec: x.spec, status: x.status }));
  }

  /** Whether a job still has unfinished items. */
  async hasOpenItems(job: number): Promise<boolean> {
    const r = await this.q(`SELECT 1 FROM strata_queue.items WHERE job = $1 AND state IN ('ready', 'waiting', 'claimed') LIMIT 1`, [job]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Claims up to n ready items (or items whose lease ran out) of a job. */
  async claim(job: number, n: number, leaseMs: number): Promise<ClaimedQueueItem[]> {
    const r = await this.q<{ seq: string; kind: string; rel: string; st: Record<string, unknown>; attempts: number; after: string | null; link_to: string | null }>(
      `UPDATE strata_queue.items i SET state = 'claimed', claimed_by = $2, lease_until = now() + make_interval(secs => $3), attempts = i.attempts + 1
       WHERE (i.job, i.seq) IN (
         SELECT job, seq FROM strata_queue.items
         WHERE job = $1 AND (state = 'ready' OR (state = 'claimed' AND lease_until < now()))
         ORDER BY job, seq LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING i.seq, i.kind, i.rel, i.st, i.attempts, i.after, i.link_to`,
      [job, this.me, leaseMs / 1000, n]);
    return r.rows.map((x) => ({
      job, seq: Number(x.seq), kind: x.kind, rel: x.rel, attempts: x.attempts, st: x.st,
      ...(x.after !== null ? { after: Number(x.after) } : {}), ...(x.link_to !== null ? { linkTo: x.link_to } : {}),
    }));
  }

  /** Whether a link item's first name was copied. */
  async firstDone(job: number, seq: number): Promise<boolean> {
    const r = await this.q<{ ok: boolean }>(`SELECT state = 'done' AND made IN ('file', 'special') AS ok FROM strata_queue.items WHERE job = $1 AND seq = $2`, [job, seq]);
    return !!r.rows[0]?.ok;
  }

  /** Extends the lease of every item this worker holds. */
  async renew(leaseMs: number): Promise<void> {
    await this.q(`UPDATE strata_queue.items SET lease_until = now() + make_interval(secs => $2) WHERE claimed_by = $1 AND state = 'claimed'`, [this.me, leaseMs / 1000]);
  }

  /**
   * Records outcomes of items this worker still holds (an item whose lease ran
   * out and that another worker took is left alone), and in the same
   * transaction counts finished items off their directory and releases link
   * items waiting for them. Idempotent.
   */
  async finish(job: number, outs: Outcome[]): Promise<void> {
    if (outs.length === 0) return;
    // One statement, so no transaction around it and one round trip: the
    // outcomes (fin), then from the items that finished, the count off each
    // directory (par, up) and the release of link items waiting for them
    // (rel). They touch different rows (claimed items; waiting directory
    // items; waiting link items), so the CTEs need not see each other's writes.
    // Retried blindly: an outcome applies only to an item this worker still holds.
    await this.q(
      `WITH fin AS (
         UPDATE strata_queue.items i SET
           state = CASE WHEN u.state IN ('retry', 'again') THEN 'ready' ELSE u.state END,
           attempts = CASE WHEN u.state = 'again' THEN greatest(i.attempts - 1, 0) ELSE i.attempts END,
           claimed_by = NULL, lease_until = NULL, made = u.made, data_bytes = u.data, path = u.path, error = u.error, result = u.result::jsonb
         FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[]) AS u(seq, state, made, data, path, error, result)
         WHERE i.job = $1 AND i.seq = u.seq AND i.claimed_by = $2 AND i.state = 'claimed'
         RETURNING i.seq, i.parent, i.state),
       par AS (SELECT parent, count(*) AS n FROM fin WHERE state IN ('done', 'failed') AND parent IS NOT NULL GROUP BY parent),
       up AS (
         UPDATE strata_queue.items d SET pending = d.pending - par.n, state = CASE WHEN d.pending - par.n = 0 THEN 'ready' ELSE d.state END
         FROM par WHERE d.job = $1 AND d.seq = par.parent),
       rel AS (
         UPDATE strata_queue.items w SET state = 'ready'
         FROM fin WHERE w.job = $1 AND w.after = fin.seq AND fin.state IN ('done', 'failed') AND w.state = 'waiting')
       SELECT count(*) FROM fin`,
      [job, this.me, outs.map((o) => o.seq), outs.map((o) => o.state), outs.map((o) => o.made ?? null), outs.map((o) => o.dataBytes ?? 0),
        outs.map((o) => o.path ?? null), outs.map((o) => o.error ?? null), outs.map((o) => (o.result === undefined ? null : JSON.stringify(o.result)))]);
  }

}

/** Whether a planner recorded as host:pid is known to be gone (a pid of this host that no longer runs). */
function plannerDead(planner: string | null): boolean {
  const m = planner ? /^(.*):(\d+)$/.exec(planner) : null;
  if (!m || m[1] !== os.hostname()) return false;
  return !pidAlive(Number(m[2]));
}
