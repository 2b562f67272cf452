// The kinds of job a worker runs, in a registry: each kind registers its name
// (the `kind` of its jobs in the queue) and how to run one of its items. The
// layers that make jobs register their kinds (the mover: copies and syncs,
// src/mover/copy-job.ts; park: rank files, src/park/rank-job.ts); `strata
// worker` loads them (src/cli/worker.ts) and runs whatever is registered. A
// job of a kind nobody registered is left in the queue for a worker that runs
// it.
import type { Engine } from '../engine/types.js';
import type { ClaimedQueueItem, WorkQueue } from './queue.js';

/** What a worker gives a kind to run a job with: the queue, and one engine handle for the process. */
export interface JobEnv {
  queue: WorkQueue;
  engine: () => Promise<Engine>;
}

/** What one item came to (recorded with its outcome 'done'). */
export interface ItemResult {
  /** What the item made (the mover: file, symlink, hardlink, special, dir), counted by the queue. */
  made?: string;
  dataBytes?: number;
  /** What a task returned, handed to the producer (JSON). */
  result?: unknown;
}

/** A job opened in one worker: runs its items. */
export interface JobRunner {
  /** Runs one item; throws if it failed (the worker retries it, or records the failure). */
  run(item: ClaimedQueueItem): Promise<ItemResult>;
  /** Where a failure of an item belongs and its one-line reason (default: the item's rel and the error's reason). */
  describe?(item: ClaimedQueueItem, e: unknown): { path: string; reason: string };
  close(): Promise<void>;
}

export interface JobKind {
  /** The kind of its jobs in the queue. */
  name: string;
  /**
   * Each item is a whole process's work (a rank file): at most one per lane
   * in flight. Otherwise items are small and claimed in batches.
   */
  wholeItems?: boolean;
  /** Opens a job of this kind in this worker (its spec as the producer made it). */
  open(spec: Record<string, unknown>, env: JobEnv): Promise<JobRunner>;
}

const kinds = new Map<string, JobKind>();

export function registerJobKind(k: JobKind): void {
  if (kinds.has(k.name)) throw new Error(`job kind ${k.name}: registered twice`);
  kinds.set(k.name, k);
}

/** The kind registered under name, if any. */
export function jobKind(name: string): JobKind | undefined {
  return kinds.get(name);
}

/** The names of the registered kinds. */
export function jobKindNames(): string[] {
  return [...kinds.keys()];
}
