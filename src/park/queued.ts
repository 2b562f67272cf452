// Ranks of a serialize/deserialize done by `strata worker` processes on any
// node (`--queue`, PostgreSQL engine): one queue item per rank file in the
// work queue of the jobs layer (src/jobs/), a job of park's kind (rank-job.ts),
// with its leases and retries; this process waits for the results and then
// finishes the job itself (renames the rank files into place, or registers
// the container).
import { StrataError } from '../errors.js';
import { removeAttempts, type ParkTask } from './task.js';

const loadQueue = () => import('../jobs/queue.js');

/** The kind of park's jobs in the queue. */
export const PARK_JOB = 'park';

export interface QueuedRanksOptions {
  engineUrl?: string;
  /** Called when nothing has been done for a while (no workers?). */
  onIdle?: (seconds: number) => void;
}

/** Runs the tasks through the queue; results in task order. Throws the first task that failed for good. */
export async function runQueued<T>(tasks: ParkTask[], names: string[], o: QueuedRanksOptions = {}): Promise<T[]> {
  const { waitForJob, openQueue } = await loadQueue();
  const queue = await openQueue(o.engineUrl || process.env['STRATA_ENGINE'] || '');
  try {
    const job = await queue.createTaskJob(PARK_JOB, { what: tasks[0]?.kind ?? 'serialize', ranks: tasks.length }, tasks.map((task, i) => ({ rel: names[i]!, task })));
    try {
      return await waitForJob<T[]>(queue, job, async () => {
        const st = await queue.taskStates(job);
        const failed = st.find((s) => s.state === 'failed');
        if (failed) throw new StrataError('EIO', `${failed.path ?? 'a rank'}: ${failed.error ?? 'failed'}`);
        const n = st.filter((s) => s.state === 'done').length;
        return n === st.length ? { end: st.map((s) => s.result as T) } : { finished: n };
      }, { onIdle: o.onIdle, repeatIdle: true });
    } finally {
      await queue.setJobStatus(job, 'done').catch(() => undefined);
      await queue.dropItems(job).catch(() => undefined);
      // Serialize: the files of attempts that never finished (their workers were killed).
      for (const t of tasks) if (t.kind === 'serialize') removeAttempts(t.job.file);
    }
  } finally {
    await queue.close();
  }
}
