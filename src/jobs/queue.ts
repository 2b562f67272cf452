// The work queue of distributed jobs, as the layers above see it: jobs of a
// kind (registry.ts) whose items carry opaque JSON payloads, kept by an engine
// shared by the nodes (the engine capability src/engine/work-queue.ts; in
// PostgreSQL src/engine/postgres/work-queue.ts). A producer (a planner) creates
// a job and enqueues items, keeps the job's heartbeat fresh and waits
// (waitForJob); `strata worker` processes claim the items and run them
// (worker.ts).
import { openWorkQueue } from '../engine/open.js';
import type { WorkQueueStore } from '../engine/work-queue.js';

export {
  HOLD, isConnectionError,
  type ClaimedQueueItem, type ItemState, type JobCounts, type Outcome, type QueueItem, type QueueJobSpec, type QueueOp,
} from '../engine/work-queue.js';
export type WorkQueue = WorkQueueStore;

/** Opens the queue of the engine at url (one that keeps one: PostgreSQL); others are refused in one line. */
export function openQueue(url: string, o: { retryMs?: number } = {}): Promise<WorkQueue> {
  return openWorkQueue(url, o);
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
 * The producer's wait for the workers of a job (a queued copy or sync, queued
 * parking ranks): looks at the job every pollMs until look() ends the wait,
 * keeping the job's heartbeat fresh (workers serve only jobs whose producer
 * is alive) and telling onIdle when the finished count stops moving.
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
