// The distributed copy: `strata fs copy --queue` plans (walks the source,
// creates directories, enqueues files, links and directory metadata in the
// work queue of the jobs layer, payloads in queue.ts) and waits; `strata
// worker` processes on any node that sees both ends claim items and execute
// them with the serial copy's code (the mover's job kind, copy-job.ts).
// `strata fs sync --queue` plans the same way, walking both trees: only
// entries that differ become items, and extras are removed by the planner
// (--delete).
import { StrataError } from '../errors.js';
import { openQueue, waitForJob, type JobCounts, type WorkQueue } from '../jobs/queue.js';
import { formatLocation, resolveLocation } from '../uns/location.js';
import type { CopyOptions, CopySummary } from './copy.js';
import { destinationKey, engineGetter, openDest, openSource, type SourceEnd, type DestEnd } from './ends.js';
import { parentRel } from './names.js';
import { COPY_JOB, toQueueOps, type JobSpec, type PlanOp } from './queue.js';
import { Transfer, reasonOf } from './transfer.js';
import type { Tree } from './tree.js';
import { march } from './walk.js';

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
        dst: formatLocation(dstLoc), dstRoot: dst.root, dstKey: destinationKey(dst.root), xattrs: opts.xattrs ?? 'non-lustre', verify: !!opts.verify,
        ...(planMode === 'sync' ? { mode: 'sync' as const } : {}), ...(copying ? { resumable: true } : {}),
      };
      const job = await queue.createJob(COPY_JOB, spec);
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
