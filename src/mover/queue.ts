// The mover's view of the work queue of a distributed copy (kept by the
// engine: src/engine/work-queue.ts, in PostgreSQL src/engine/postgres/
// work-queue.ts). A planner (`strata fs copy --queue`) walks the source and
// enqueues items; `strata worker` processes claim and execute them. Order
// rules, as in the serial copy: the planner creates directories before it
// enqueues their content; a directory's metadata item becomes ready when every
// item below it is finished; a later name of a hard-linked file becomes ready
// when its first name is finished (`after`). This file turns the mover's items
// (stat records) into the queue's JSON payloads and back, and holds the
// planner's wait.
import { openWorkQueue } from '../engine/open.js';
import type { ClaimedQueueItem, QueueOp, WorkQueueStore } from '../engine/work-queue.js';
import type { MStat } from './tree.js';

export { HOLD, isConnectionError, type ItemState, type JobCounts, type Outcome } from '../engine/work-queue.js';
export type WorkQueue = WorkQueueStore;

/** rank: one rank file of a queued serialize/deserialize (its task in `task`, its result in the outcome). */
export type ItemKind = 'entry' | 'link' | 'dir' | 'rank';

export interface JobSpec {
  /** Source location (formatted), its snapshot epoch (container sources). */
  src: string;
  srcEpoch?: number;
  /** Destination as given and the resolved destination root. */
  dst: string;
  dstRoot: { kind: 'posix'; path: string } | { kind: 'container'; pool: string; cont: string; path: string };
  xattrs: string;
  verify: boolean;
  /** A sync (fs sync --queue, or a resumed copy); absent: a copy. */
  mode?: 'sync';
  /** Made by fs copy --queue (with or without --resume): a later --resume continues it. */
  resumable?: boolean;
  /** host:pid of the planner (set by createJob). */
  planner?: string;
  [k: string]: unknown;
}

export interface NewItem {
  seq: number;
  kind: ItemKind;
  rel: string;
  st: MStat;
  parent?: number;
  /** link items: seq and rel of the first name. */
  after?: number;
  linkTo?: string;
}

export interface ClaimedItem {
  job: number;
  seq: number;
  kind: ItemKind;
  rel: string;
  st: MStat;
  /** rank items: the task. */
  task?: Record<string, unknown>;
  attempts: number;
  after?: number;
  linkTo?: string;
}

export type PlanOp = { op: 'item'; item: NewItem } | { op: 'seal'; seq: number; children: number };

export function stToJson(st: MStat): string {
  return JSON.stringify({ ...st, atimeNs: st.atimeNs.toString(), mtimeNs: st.mtimeNs.toString(), ...(st.rdev !== undefined ? { rdev: st.rdev.toString() } : {}) });
}

export function stFromJson(o: Record<string, unknown>): MStat {
  return {
    ...(o as unknown as MStat), atimeNs: BigInt(o['atimeNs'] as string), mtimeNs: BigInt(o['mtimeNs'] as string),
    ...(o['rdev'] !== undefined ? { rdev: BigInt(o['rdev'] as string) } : {}),
  };
}

/** Opens the queue of the engine at url (one that keeps one: PostgreSQL). */
export function openQueue(url: string, o: { retryMs?: number } = {}): Promise<WorkQueue> {
  return openWorkQueue(url, o);
}

/** The planner's operations as the queue stores them: payloads in JSON, a file's size counted. */
export function toQueueOps(ops: PlanOp[]): QueueOp[] {
  return ops.map((op) => (op.op === 'seal' ? op : {
    op: 'item',
    item: {
      seq: op.item.seq, kind: op.item.kind, rel: op.item.rel, st: stToJson(op.item.st),
      ...(op.item.parent !== undefined ? { parent: op.item.parent } : {}), ...(op.item.after !== undefined ? { after: op.item.after } : {}),
      ...(op.item.linkTo !== undefined ? { linkTo: op.item.linkTo } : {}),
      size: op.item.kind === 'entry' && op.item.st.type === 'file' ? op.item.st.size : 0,
    },
  }));
}

/** Claimed items with their stat records (rank items: their task). */
export function fromClaimed(items: ClaimedQueueItem[]): ClaimedItem[] {
  return items.map((x) => ({
    job: x.job, seq: x.seq, kind: x.kind as ItemKind, rel: x.rel, attempts: x.attempts,
    ...(x.kind === 'rank' ? { st: {} as MStat, task: x.st } : { st: stFromJson(x.st) }),
    ...(x.after !== undefined ? { after: x.after } : {}), ...(x.linkTo !== undefined ? { linkTo: x.linkTo } : {}),
  }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nothing finished for this long: the planner warns (no workers?). */
const IDLE_MS = 15_000;

/** What one look at a job found: the end of the wait (with the caller's result), or how many items are finished so far. */
export type JobLook<R> = { end: R } | { finished: number };

export interface WaitJobOptions {
  /** Called when nothing has finished for 15 s (no workers?), with the seconds since something last did. */
  onIdle?: (seconds: number) => void;
  /** Call onIdle again every further 15 s of idleness (default: once until something finishes). */
  repeatIdle?: boolean;
  /** Interval between looks (default 300 ms). */
  pollMs?: number;
}

/**
 * The planner's wait for the workers of a job (a queued copy or sync, queued
 * parking ranks): looks at the job every pollMs until look() ends the wait,
 * keeping the job's heartbeat fresh (workers serve only jobs whose planner is
 * alive) and telling onIdle when the finished count stops moving.
 */
export async function waitForJob<R>(queue: WorkQueue, job: number, look: () => Promise<JobLook<R>>, o: WaitJobOptions = {}): Promise<R> {
  let finished = -1;
  let since = Date.now();
  let nextWarnMs = IDLE_MS;
  for (;;) {
    const l = await look();
    if ('end' in l) return l.end;
    if (l.finished !== finished) { finished = l.finished; since = Date.now(); nextWarnMs = IDLE_MS; }
    const idleMs = Date.now() - since;
    if (idleMs >= nextWarnMs) {
      const seconds = Math.floor(idleMs / 1000);
      nextWarnMs = o.repeatIdle ? (seconds + IDLE_MS / 1000) * 1000 : Infinity;
      o.onIdle?.(seconds);
    }
    await queue.heartbeat(job);
    await sleep(o.pollMs ?? 300);
  }
}

