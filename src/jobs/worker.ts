// `strata worker`: claims items of every open job of a registered kind
// (registry.ts) and runs them, until the queue is drained (or forever).
// Items are claimed in batches under one lease, renewed by one statement for
// all while they run; a worker that dies leaves its items to return to ready
// when the lease runs out. Outcomes are recorded in batches, and apply only to
// items this worker still holds.
import { StrataError, reasonOf } from '../errors.js';
import { openEngine } from '../engine/open.js';
import type { Engine } from '../engine/types.js';
import { Semaphore } from '../semaphore.js';
import { isConnectionError, openQueue, type ClaimedQueueItem, type Outcome } from './queue.js';
import { jobKind, type JobKind, type JobRunner } from './registry.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Items a worker claims with one statement: it holds them (under one lease,
 * renewed by one statement for all) and runs `capacity` at a time, claiming
 * again when fewer than `capacity` are left. Large enough that the queue's
 * statements are a small part of a small file's cost.
 */
const CLAIM_BATCH = 256;
/** How long a worker reuses the list of open jobs while it finds work in them. */
const JOBS_TTL_MS = 1000;

export interface WorkerOptions {
  engine?: string;
  /** Lease of a claimed item (renewed every third of it while the item runs). Default 5 s. */
  leaseMs?: number;
  /** Keep polling for new jobs instead of exiting once the queue is drained. */
  forever?: boolean;
  /** Lanes: each keeps up to 16 items in flight (default 1). */
  jobs?: number;
  /** With no job in the queue at start, how long to wait for one before exiting (default 60 s). */
  waitMs?: number;
  /** Tries per item before it fails for good (lost connections do not count). Default 3. */
  attempts?: number;
  signal?: AbortSignal;
  onError?: (path: string, reason: string) => void;
  onLog?: (msg: string) => void;
}

export interface WorkerSummary {
  items: number;
  failed: number;
  jobs: number[];
  seconds: number;
}

/** A job open in this worker: its kind and its runner. */
interface OpenJob {
  kind: JobKind;
  runner: JobRunner;
}

/** `strata worker`: claims and runs items of every open job of a registered kind until the queue is drained (or forever). */
export async function runWorker(o: WorkerOptions = {}): Promise<WorkerSummary> {
  const url = o.engine || process.env['STRATA_ENGINE'] || '';
  const lease = o.leaseMs ?? 5000;
  const lanes = Math.max(1, o.jobs ?? 1);
  const capacity = 16 * lanes;
  const slots = new Semaphore(capacity);
  let wholeInflight = 0;
  const maxAttempts = o.attempts ?? 3;
  const t0 = Date.now();
  const queue = await openQueue(url);
  let engineP: Promise<Engine> | undefined;
  const getEngine = () => (engineP ??= queue.retrying(() => openEngine(url)).catch((e) => { engineP = undefined; throw e; }));
  const opened = new Map<number, Promise<OpenJob>>();
  const unusable = new Set<number>();
  const seen = new Set<number>();
  const sum: WorkerSummary = { items: 0, failed: 0, jobs: [], seconds: 0 };
  let inflight = 0;
  let wake: (() => void) | undefined;
  const outcomes = new Map<number, Outcome[]>();
  let flushing: Promise<void> = Promise.resolve();
  let flushTimer: NodeJS.Timeout | undefined;

  const flush = (): Promise<void> => {
    flushing = flushing.then(async () => {
      const all = [...outcomes];
      outcomes.clear();
      for (const [job, outs] of all) await queue.finish(job, outs).catch((e) => o.onLog?.(`cannot record ${outs.length} outcomes: ${reasonOf(e)}`));
    });
    return flushing;
  };
  const record = (job: number, out: Outcome) => {
    const l = outcomes.get(job) ?? [];
    l.push(out);
    outcomes.set(job, l);
    if (l.length >= CLAIM_BATCH / 2) void flush();
    else flushTimer ??= setTimeout(() => { flushTimer = undefined; void flush(); }, 200);
  };

  const exec = async (j: OpenJob, it: ClaimedQueueItem): Promise<Outcome> => {
    try {
      return { seq: it.seq, state: 'done', ...(await j.runner.run(it)) };
    } catch (e) {
      if (isConnectionError(e)) return { seq: it.seq, state: 'again' };
      const d = j.runner.describe ? j.runner.describe(it, e) : { path: it.rel, reason: reasonOf(e) };
      if (it.attempts < maxAttempts) return { seq: it.seq, state: 'retry', path: d.path, error: d.reason };
      o.onError?.(d.path, d.reason);
      return { seq: it.seq, state: 'failed', path: d.path, error: d.reason };
    }
  };

  const renewTimer = setInterval(() => { if (inflight > 0) void queue.renew(lease).catch(() => undefined); }, Math.max(200, lease / 3));
  let jobsCache: { at: number; list: Awaited<ReturnType<typeof queue.openJobs>> } | undefined;
  try {
    for (;;) {
      if (o.signal?.aborted) break;
      if (!jobsCache || Date.now() - jobsCache.at > JOBS_TTL_MS) jobsCache = { at: Date.now(), list: await queue.openJobs(Math.max(60, (3 * lease) / 1000)) };
      for (const j of jobsCache.list) {
        if (unusable.has(j.id) || jobKind(j.kind)) continue;
        // A newer strata's job, say: its items stay for a worker that runs it.
        unusable.add(j.id);
        o.onLog?.(`job ${j.id} is of kind '${j.kind}', which this worker does not run: left for a worker that does`);
      }
      const jobs = jobsCache.list.filter((j) => !unusable.has(j.id));
      let claimed = 0;
      for (const j of jobs) {
        if (inflight >= capacity) break;
        let p = opened.get(j.id);
        if (!p) {
          const kind = jobKind(j.kind)!;
          p = kind.open(j.spec, { queue, engine: getEngine }).then((runner) => ({ kind, runner }));
          opened.set(j.id, p);
        }
        let oj: OpenJob;
        try {
          oj = await p;
        } catch (e) {
          unusable.add(j.id);
          opened.delete(j.id);
          o.onLog?.(`job ${j.id}: cannot open its source or destination here: ${reasonOf(e)}`);
          continue;
        }
        // An item that is a whole process's work (a rank file): one per lane.
        const whole = !!oj.kind.wholeItems;
        const want = whole ? Math.min(lanes - wholeInflight, capacity - inflight) : CLAIM_BATCH - inflight;
        if (want <= 0) continue;
        const items = await queue.claim(j.id, want, lease);
        if (items.length === 0) continue;
        if (!seen.has(j.id)) { seen.add(j.id); sum.jobs.push(j.id); }
        claimed += items.length;
        for (const it of items) {
          inflight++;
          if (whole) wholeInflight++;
          void slots.take().then(() => exec(oj, it)).then((out) => {
            if (out.state === 'done' || out.state === 'failed') sum.items++;
            if (out.state === 'failed') sum.failed++;
            record(j.id, out);
          }).finally(() => {
            slots.give();
            inflight--;
            if (whole) wholeInflight--;
            // Claim again once fewer than a round of slots is left.
            if (inflight < capacity) wake?.();
          });
        }
      }
      if (inflight >= capacity) {
        await new Promise<void>((r) => { wake = r; setTimeout(r, 1000); });
        wake = undefined;
        continue;
      }
      if (claimed > 0) continue;
      jobsCache = undefined;
      if (inflight === 0 && !o.forever) {
        await flush();
        let active = false;
        for (const j of jobs) if (j.status === 'planning' || (await queue.hasOpenItems(j.id))) { active = true; break; }
        if (!active && (seen.size > 0 || Date.now() - t0 > (o.waitMs ?? 60000))) break;
      }
      await new Promise<void>((r) => { wake = r; setTimeout(r, inflight > 0 ? 100 : 250); });
      wake = undefined;
    }
    while (inflight > 0) await sleep(50);
    if (flushTimer) { clearTimeout(flushTimer); flushTimer = undefined; }
    await flush();
  } finally {
    clearInterval(renewTimer);
    if (flushTimer) clearTimeout(flushTimer);
    for (const p of opened.values()) await p.then((j) => j.runner.close()).catch(() => undefined);
    await queue.close();
    if (engineP) await (await engineP.catch(() => undefined))?.close();
  }
  sum.seconds = (Date.now() - t0) / 1000;
  return sum;
}

/** "5s", "500ms", "2m" or a number of seconds, in milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new StrataError('EINVAL', `bad duration '${s}' (examples: 5s, 500ms, 2m)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60000 : n * 1000;
  if (ms <= 0) throw new StrataError('EINVAL', `bad duration '${s}'`);
  return ms;
}
