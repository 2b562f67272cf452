// The distributed copy: `strata fs copy --queue` plans (walks the source,
// creates directories, enqueues files, links and directory metadata in the
// work queue, queue.ts) and waits; `strata worker` processes on any node that
// sees both ends claim items and execute them with the serial copy's code
// (Transfer.copyEntry / copyLinkName / finishDirectory). `strata fs sync
// --queue` plans the same way, walking both trees: only entries that differ
// become items, and extras are removed by the planner (--delete).
import { StrataError } from '../errors.js';
import { openEngine } from '../engine/open.js';
import type { Engine } from '../engine/types.js';
import { formatLocation, resolveLocation } from '../uns/location.js';
import type { CopyOptions, CopySummary } from './copy.js';
import { engineGetter, openDest, openSource, type SourceEnd, type DestEnd } from './ends.js';
import { parentRel } from './names.js';
import type { ClaimedItem, JobCounts, JobSpec, Outcome, PlanOp, WorkQueue } from './queue.js';
import { Transfer, reasonOf } from './transfer.js';
import type { Tree } from './tree.js';
import { march } from './walk.js';
import { parseXattrMode } from './xattrs.js';
import { Semaphore } from './pool.js';
import { runParkTask, type ParkTask } from '../park/task.js';

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

const loadQueue = () => import('./queue.js');

export interface QueuedCopyOptions extends CopyOptions {
  /** sync: remove what the source lacks. */
  delete?: boolean;
  /** sync: compare content, not size and mtime. */
  checksum?: boolean;
  /** Aggregated progress, called about every poll. */
  onProgress?: (c: JobCounts, planned: boolean) => void;
  /** Called when nothing has been done for a while (no workers?). */
  onIdle?: (seconds: number) => void;
  /** Poll interval while waiting for workers (default 300 ms). */
  pollMs?: number;
}

function engineUrl(given?: string): string {
  return given || process.env['STRATA_ENGINE'] || '';
}

/**
 * `strata fs copy --queue` (mode copy) and `strata fs sync --queue` (mode
 * sync): plans SRC -> DST into the queue, waits until workers have done it,
 * returns the summary.
 */
export async function queuedCopy(srcInput: string, dstInput: string, opts: QueuedCopyOptions = {}, mode: 'copy' | 'sync' = 'copy'): Promise<CopySummary> {
  const url = engineUrl(opts.engine);
  const t0 = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const { openQueue } = await loadQueue();
  const queue = await openQueue(url);
  const eng = engineGetter(url);
  try {
    const srcLoc = await resolveLocation(srcInput);
    const dstLoc = await resolveLocation(dstInput);
    // --resume of a queued copy: the same SRC -> DST mapping as the earlier
    // run (its destination root), planned as a sync: what the earlier run
    // finished is equal and skipped, the rest is copied. With no earlier run
    // it is a fresh copy.
    const copying = mode === 'copy';
    const prev = copying && opts.resume ? await queue.lastJob<JobSpec>(formatLocation(srcLoc), formatLocation(dstLoc)) : undefined;
    const planMode: 'copy' | 'sync' = prev ? 'sync' : mode;
    const src = await openSource(eng.get, srcInput, { snap: opts.snap, warn: opts.onWarn });
    try {
      const dst = await openDest(eng.get, dstInput, src, { into: copying, ...(prev ? { resumeRoot: prev.spec.dstRoot } : {}) });
      if (dst.st && dst.st.type === 'dir' && src.st.type !== 'dir') {
        throw new StrataError('EISDIR', `${dst.tree.display('')}: is a directory`);
      }
      const spec: JobSpec = {
        src: formatLocation(srcLoc), ...(src.epoch !== undefined ? { srcEpoch: src.epoch } : {}),
        dst: formatLocation(dstLoc), dstRoot: dst.root, xattrs: opts.xattrs ?? 'non-lustre', verify: !!opts.verify,
        ...(planMode === 'sync' ? { mode: 'sync' as const } : {}), ...(copying ? { resumable: true } : {}),
      };
      const job = await queue.createJob('copy', spec);
      try {
        const plan = await planJob(queue, job, src, dst, prev ? { ...opts, delete: false } : opts, planMode);
        const waited = plan.stopped ? undefined : await waitJob(queue, job, opts);
        const c = waited?.counts ?? await queue.counts(job);
        const failures = [...plan.failures, ...(waited?.failures ?? [])];
        return {
          files: c.files, dirs: plan.dirs, symlinks: c.symlinks, hardlinks: c.hardlinks, specials: c.specials, bytes: c.bytes, dataBytes: c.dataBytes,
          skipped: copying ? plan.unchanged : 0, unchanged: copying ? 0 : plan.unchanged, deleted: plan.deleted, errors: plan.errors + c.failed, seconds: seconds(), failures,
          ...(plan.stopped || waited?.stopped ? { stopped: plan.stopped ?? waited!.stopped! } : {}),
          src: formatLocation(srcLoc), dst: dst.tree.display(''), resumed: !!prev,
        };
      } finally {
        await queue.setJobStatus(job, 'done').catch(() => undefined);
        await queue.dropItems(job).catch(() => undefined);
        await Promise.all([src.tree.close(), dst.tree.close()]);
      }
    } finally {
      await src.release();
    }
  } finally {
    await queue.close();
    await eng.close();
  }
}

interface PlanResult {
  dirs: number;
  /** sync: entries already equal, and extras removed. */
  unchanged: number;
  deleted: number;
  errors: number;
  failures: Array<{ path: string; reason: string }>;
  stopped?: string;
}

/**
 * Walks the source (streaming; for a sync, both trees in lock step), creates
 * the directories and enqueues everything else, in the serial copy's order.
 */
async function planJob(queue: WorkQueue, job: number, src: SourceEnd, dst: DestEnd, opts: QueuedCopyOptions, mode: 'copy' | 'sync'): Promise<PlanResult> {
  const res: PlanResult = { dirs: 0, unchanged: 0, deleted: 0, errors: 0, failures: [] };
  const syncing = mode === 'sync';
  // The serial sync's comparison (and its fixing of metadata of equal files).
  const cmp = syncing ? new Transfer(src.tree, dst.tree, 'sync', { xattrs: opts.xattrs, checksum: opts.checksum }) : undefined;
  const fail = (tree: Tree, rel: string, e: unknown) => {
    res.errors++;
    const path = tree.display(rel);
    const reason = reasonOf(e);
    if (res.failures.length < 10000) res.failures.push({ path, reason });
    opts.onError?.(path, reason);
  };
  const open = new Map<string, { seq: number; children: number }>();
  // First names of hard-linked files; seq undefined: already in place (sync).
  const links = new Map<string, { seq: number | undefined; rel: string; remaining: number }>();
  let seq = 1;
  let ops: PlanOp[] = [];
  let lastFlush = Date.now();
  let lastBeat = Date.now();
  const { toQueueOps } = await loadQueue();
  const flush = async () => {
    const batch = ops;
    ops = [];
    lastFlush = Date.now();
    await queue.apply(job, toQueueOps(batch));
    if (Date.now() - lastBeat > 2000) { lastBeat = Date.now(); await queue.heartbeat(job); }
  };
  let skipBelow: string | undefined;
  for await (const ev of march(src.tree, syncing ? dst.tree : undefined, '', src.st, syncing ? dst.st : undefined)) {
    if (opts.signal?.aborted) { res.stopped = 'interrupted'; break; }
    if (skipBelow !== undefined) {
      if (ev.rel === skipBelow && ev.kind === 'leave') { skipBelow = undefined; continue; }
      if (ev.rel.startsWith(skipBelow === '' ? '' : skipBelow + '/')) continue;
      skipBelow = undefined;
    }
    const rel = ev.rel;
    const parent = rel === '' ? undefined : open.get(parentRel(rel));
    if (ev.kind === 'error') { fail(ev.side === 'dst' ? dst.tree : src.tree, rel, ev.error); continue; }
    if (ev.kind === 'enter') {
      try {
        if (ev.dst && ev.dst.type !== 'dir') { await dst.tree.remove(rel); res.deleted++; }
        await queue.retrying(() => dst.tree.ensureDir(rel));
      } catch (e) {
        fail(dst.tree, rel, e);
        skipBelow = rel;
        continue;
      }
      res.dirs++;
      const s = seq++;
      ops.push({ op: 'item', item: { seq: s, kind: 'dir', rel, st: ev.src, ...(parent ? { parent: parent.seq } : {}) } });
      if (parent) parent.children++;
      open.set(rel, { seq: s, children: 0 });
    } else if (ev.kind === 'leave') {
      const d = open.get(rel);
      if (d) { ops.push({ op: 'seal', seq: d.seq, children: d.children }); open.delete(rel); }
    } else {
      const s = ev.src;
      const d = ev.dst;
      if (!s) {
        if (d && syncing && opts.delete) {
          try { await dst.tree.remove(rel); res.deleted++; } catch (e) { fail(dst.tree, rel, e); }
        }
        continue;
      }
      if (s.type === 'other') { fail(src.tree, rel, new StrataError('ENOTSUP', 'not copied: a file of a type strata does not know')); continue; }
      const linkable = s.type !== 'dir' && s.type !== 'symlink' && s.nlink > 1; // files, FIFOs, devices, sockets
      const l = linkable ? links.get(s.ino) : undefined;
      if (cmp && d) {
        let equal = false;
        try {
          equal = d.type === s.type && (await cmp.same(rel, s, d));
          if (!equal && d.type === 'dir') { await dst.tree.remove(rel); res.deleted++; }
        } catch (e) {
          fail(dst.tree, rel, e);
          continue;
        }
        if (equal) {
          res.unchanged++;
          if (linkable) {
            if (!l) links.set(s.ino, { seq: undefined, rel, remaining: s.nlink - 1 });
            else if (--l.remaining <= 0) links.delete(s.ino);
          }
          continue;
        }
      }
      const n = seq++;
      const base = { seq: n, rel, st: s, ...(parent ? { parent: parent.seq } : {}) };
      if (l) {
        ops.push({ op: 'item', item: { ...base, kind: 'link', ...(l.seq !== undefined ? { after: l.seq } : {}), linkTo: l.rel } });
        if (--l.remaining <= 0) links.delete(s.ino);
      } else {
        if (linkable) links.set(s.ino, { seq: n, rel, remaining: s.nlink - 1 });
        ops.push({ op: 'item', item: { ...base, kind: 'entry' } });
      }
      if (parent) parent.children++;
    }
    if (ops.length >= 500 || Date.now() - lastFlush > 200) await flush();
  }
  await flush();
  if (!res.stopped) await queue.setJobStatus(job, 'planned');
  return res;
}

interface Waited { counts: JobCounts; failures: Array<{ path: string; reason: string }>; stopped?: string }

/** Waits until every item is finished, reporting progress and failures as they come. */
async function waitJob(queue: WorkQueue, job: number, opts: QueuedCopyOptions): Promise<Waited> {
  const failures: Array<{ path: string; reason: string }> = [];
  let lastFailed = 0;
  const { waitForJob } = await loadQueue();
  return waitForJob<Waited>(queue, job, async () => {
    const c = await queue.counts(job);
    if (c.failed > failures.length) {
      for (const f of await queue.failuresAfter(job, lastFailed)) {
        lastFailed = f.seq;
        failures.push({ path: f.path, reason: f.reason });
        opts.onError?.(f.path, f.reason);
      }
    }
    opts.onProgress?.(c, true);
    if (c.open === 0) return { end: { counts: c, failures } };
    if (opts.signal?.aborted) return { end: { counts: c, failures, stopped: 'interrupted' } };
    return { finished: c.done + c.failed };
  }, { onIdle: opts.onIdle, pollMs: opts.pollMs });
}

// ---------------------------------------------------------------- worker

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

interface JobCtx {
  /** Copy jobs; a park job (queued serialize/deserialize ranks) has none. */
  t?: Transfer;
  close: () => Promise<void>;
}

/** `strata worker`: claims and executes items of every open job until the queue is drained (or forever). */
export async function runWorker(o: WorkerOptions = {}): Promise<WorkerSummary> {
  const url = engineUrl(o.engine);
  const lease = o.leaseMs ?? 5000;
  const lanes = Math.max(1, o.jobs ?? 1);
  const capacity = 16 * lanes;
  const slots = new Semaphore(capacity);
  let ranksInflight = 0;
  const maxAttempts = o.attempts ?? 3;
  const t0 = Date.now();
  const { isConnectionError, openQueue, fromClaimed } = await loadQueue();
  const queue = await openQueue(url);
  let engineP: Promise<Engine> | undefined;
  const getEngine = () => (engineP ??= queue.retrying(() => openEngine(url)).catch((e) => { engineP = undefined; throw e; }));
  const ctxs = new Map<number, Promise<JobCtx>>();
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

  const openCtx = async (id: number, kind: string, spec: JobSpec): Promise<JobCtx> => {
    if (kind === 'park') return { close: async () => undefined };
    const src = await queue.retrying(() => openSource(getEngine, spec.src, { ...(spec.srcEpoch !== undefined ? { epoch: spec.srcEpoch } : {}), live: true }));
    const dst = await queue.retrying(() => openDest(getEngine, spec.dst, src, { into: true, resumeRoot: spec.dstRoot }));
    const t = new Transfer(src.tree, dst.tree, 'copy', { xattrs: parseXattrMode(spec.xattrs), verify: spec.verify });
    void id;
    return { t, close: async () => { await Promise.all([src.tree.close(), dst.tree.close()]); } };
  };

  const exec = async (job: number, ctx: JobCtx, it: ClaimedItem): Promise<Outcome> => {
    try {
      if (it.kind === 'rank') {
        const result = await runParkTask(await getEngine(), it.task as unknown as ParkTask, { queued: true });
        return { seq: it.seq, state: 'done', result };
      }
      if (!ctx.t) throw new StrataError('EINVAL', `item kind ${it.kind} in a job without a copy`);
      if (it.kind === 'entry') {
        const r = await ctx.t.copyEntry(it.rel, it.st);
        return { seq: it.seq, state: 'done', made: r.made, dataBytes: r.dataBytes };
      }
      if (it.kind === 'link') {
        const firstOk = it.after === undefined ? true : await queue.firstDone(job, it.after);
        const r = await ctx.t.copyLinkName(it.linkTo!, firstOk, it.rel, it.st);
        return { seq: it.seq, state: 'done', made: r.made, dataBytes: r.dataBytes };
      }
      await ctx.t.finishDirectory(it.rel, it.st);
      return { seq: it.seq, state: 'done', made: 'dir' };
    } catch (e) {
      if (isConnectionError(e)) return { seq: it.seq, state: 'again' };
      const d = ctx.t ? ctx.t.describe(it.rel, e) : { path: it.rel, reason: reasonOf(e) };
      if (it.attempts < maxAttempts) return { seq: it.seq, state: 'retry', path: d.path, error: d.reason };
      o.onError?.(d.path, d.reason);
      return { seq: it.seq, state: 'failed', path: d.path, error: d.reason };
    }
  };

  const renewTimer = setInterval(() => { if (inflight > 0) void queue.renew(lease).catch(() => undefined); }, Math.max(200, lease / 3));
  let jobsCache: { at: number; list: Awaited<ReturnType<typeof queue.openJobs<JobSpec>>> } | undefined;
  try {
    for (;;) {
      if (o.signal?.aborted) break;
      if (!jobsCache || Date.now() - jobsCache.at > JOBS_TTL_MS) jobsCache = { at: Date.now(), list: await queue.openJobs<JobSpec>(Math.max(60, (3 * lease) / 1000)) };
      for (const j of jobsCache.list) {
        if (j.kind === 'copy' || j.kind === 'park' || unusable.has(j.id)) continue;
        // A newer strata's job, say: its items stay for a worker that runs it.
        unusable.add(j.id);
        o.onLog?.(`job ${j.id} is of kind '${j.kind}', which this worker does not run: left for a worker that does`);
      }
      const jobs = jobsCache.list.filter((j) => !unusable.has(j.id));
      let claimed = 0;
      for (const j of jobs) {
        if (inflight >= capacity) break;
        let ctxP = ctxs.get(j.id);
        if (!ctxP) {
          ctxP = openCtx(j.id, j.kind, j.spec);
          ctxs.set(j.id, ctxP);
        }
        let ctx: JobCtx;
        try {
          ctx = await ctxP;
        } catch (e) {
          unusable.add(j.id);
          ctxs.delete(j.id);
          o.onLog?.(`job ${j.id}: cannot open its source or destination here: ${reasonOf(e)}`);
          continue;
        }
        // A rank of a serialize/deserialize is a whole process's work: one per lane.
        const want = j.kind === 'park' ? Math.min(lanes - ranksInflight, capacity - inflight) : CLAIM_BATCH - inflight;
        if (want <= 0) continue;
        const items = fromClaimed(await queue.claim(j.id, want, lease));
        if (items.length === 0) continue;
        if (!seen.has(j.id)) { seen.add(j.id); sum.jobs.push(j.id); }
        claimed += items.length;
        for (const it of items) {
          inflight++;
          if (it.kind === 'rank') ranksInflight++;
          void slots.take().then(() => exec(j.id, ctx, it)).then((out) => {
            if (out.state === 'done' || out.state === 'failed') sum.items++;
            if (out.state === 'failed') sum.failed++;
            record(j.id, out);
          }).finally(() => {
            slots.give();
            inflight--;
            if (it.kind === 'rank') ranksInflight--;
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
    for (const p of ctxs.values()) await p.then((c) => c.close()).catch(() => undefined);
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
