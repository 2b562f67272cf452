// The work queue of distributed jobs, as an engine capability: engines shared
// by many nodes keep it in their own store (PostgreSQL: src/engine/postgres/
// work-queue.ts). Items are opaque to the queue except for their ordering
// rules: a 'dir' item becomes ready when every item below it is finished, a
// 'link' item when the item it names (`after`) is; any other kind is ready at
// once. Callers encode their payload (`st`) as JSON. Its user is the jobs
// layer (src/jobs/: the producer's side, the worker, the kinds of job).

/** Added to a 'dir' item's pending count until the planner has enqueued all of its content. */
export const HOLD = 2 ** 40;

export type ItemState = 'ready' | 'waiting' | 'claimed' | 'done' | 'failed';

export interface QueueItem {
  seq: number;
  kind: string;
  rel: string;
  /** The payload, as JSON text. */
  st: string;
  parent?: number;
  after?: number;
  linkTo?: string;
  /** Bytes it stands for (counted in the job's totals once done). */
  size: number;
}

export type QueueOp = { op: 'item'; item: QueueItem } | { op: 'seal'; seq: number; children: number };

export interface ClaimedQueueItem {
  job: number;
  seq: number;
  kind: string;
  rel: string;
  /** The payload, parsed. */
  st: Record<string, unknown>;
  attempts: number;
  after?: number;
  linkTo?: string;
}

export interface Outcome {
  seq: number;
  /** retry: back to ready (connection lost, or attempts left); again: back to ready without counting the attempt. */
  state: 'done' | 'failed' | 'retry' | 'again';
  made?: string;
  dataBytes?: number;
  path?: string;
  error?: string;
  /** rank items: what the task returned. */
  result?: unknown;
}

export interface JobCounts {
  total: number;
  open: number;
  done: number;
  failed: number;
  files: number;
  symlinks: number;
  hardlinks: number;
  /** FIFOs, devices and sockets made. */
  specials: number;
  bytes: number;
  dataBytes: number;
}

/**
 * A job's spec: opaque, except `dst` (as given) and the destination's
 * identity: one live planner per destination, named by `dstKey` when given
 * (the same destination however it was spelled), else by `dstRoot`.
 */
export type QueueJobSpec = { dst: string; dstRoot: unknown; dstKey?: string; planner?: string } & Record<string, unknown>;

export interface WorkQueueStore {
  /** This process as a claimer: host:pid:random. */
  readonly me: string;
  close(): Promise<void>;
  /** Runs fn, retrying it while the store cannot be reached (up to the queue's retry time). fn must be idempotent. */
  retrying<T>(fn: () => Promise<T>): Promise<T>;
  createJob(kind: string, spec: QueueJobSpec, staleSec?: number): Promise<number>;
  createTaskJob(kind: string, spec: Record<string, unknown>, tasks: Array<{ rel: string; task: object }>): Promise<number>;
  taskStates(job: number): Promise<Array<{ state: ItemState; result: unknown; error: string | null; path: string | null }>>;
  lastJob<S extends QueueJobSpec>(src: string, dst: string): Promise<{ id: number; spec: S; status: string } | undefined>;
  setJobStatus(job: number, status: 'planning' | 'planned' | 'done'): Promise<void>;
  heartbeat(job: number): Promise<void>;
  apply(job: number, ops: QueueOp[]): Promise<void>;
  counts(job: number): Promise<JobCounts>;
  failuresAfter(job: number, seq: number): Promise<Array<{ seq: number; path: string; reason: string }>>;
  dropItems(job: number): Promise<void>;
  openJobs<S extends QueueJobSpec>(staleSec: number): Promise<Array<{ id: number; kind: string; spec: S; status: string }>>;
  hasOpenItems(job: number): Promise<boolean>;
  claim(job: number, n: number, leaseMs: number): Promise<ClaimedQueueItem[]>;
  firstDone(job: number, seq: number): Promise<boolean>;
  renew(leaseMs: number): Promise<void>;
  finish(job: number, outs: Outcome[]): Promise<void>;
}

/** Lost connections, a server shutting down or starting up: worth retrying once it is back. */
export function isConnectionError(e: unknown): boolean {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    const code = (cur as { code?: string }).code ?? '';
    const msg = (cur as { message?: string }).message ?? '';
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN'].includes(code)) return true;
    if (/^(08|57P)/.test(code)) return true;
    if (/Connection terminated|connection error|terminating connection|the database system is (starting up|shutting down|in recovery)|Client was closed|ECONNREFUSED|ECONNRESET|cannot connect to/i.test(msg)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
