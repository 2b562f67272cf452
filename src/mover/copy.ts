// `strata filesystem copy` as a library function: plan (ends.ts), journal,
// transfer, cleanup. Resumable: the journal keyed by SRC+DST keeps the first
// run's mapping and progress.
import type { Engine } from '../engine/types.js';
import { openEngine } from '../engine/open.js';
import { StrataError } from '../errors.js';
import { formatLocation, resolveLocation } from '../uns/location.js';
import { openDest, openSource, type EngineGetter } from './ends.js';
import { DfsTree } from './dfs-tree.js';
import { cleanupStale, pendingOwner } from '../container/index.js';
import { runSnapKey } from '../container/pending.js';
import { Journal, journalPath, readJournal, type JournalHeader } from './journal.js';
import { Transfer, type TransferOptions, type TransferSummary } from './transfer.js';
import { hdf5Copy } from './hdf5.js';

export interface CopyOptions extends TransferOptions {
  /** Copy this snapshot of a container source (name or epoch) instead of taking one. */
  snap?: string;
  /** Continue an interrupted copy of the same SRC -> DST (a fresh copy if there is none). */
  resume?: boolean;
  /** Engine URL (default: STRATA_ENGINE / STRATA_HOME). */
  engine?: string;
  /** Warnings (not errors). */
  onWarn?: (msg: string) => void;
  /** HDF5-level copies: import what is supported, skip (and warn about) the rest. */
  skipUnsupported?: boolean;
  /** Called once the transfer starts, with the live counters (for a progress display). */
  onStart?: (t: Transfer) => void;
}

export interface CopySummary extends TransferSummary {
  src: string;
  dst: string;
  resumed: boolean;
}

/** Lazily opened engine shared by both ends (POSIX -> POSIX never opens one). */
export function engineGetter(url?: string): { get: EngineGetter; close: () => Promise<void> } {
  let p: Promise<Engine> | undefined;
  return {
    get: () => (p ??= openEngine(url)),
    close: async () => { if (p) await (await p).close(); },
  };
}

export async function copy(srcInput: string, dstInput: string, opts: CopyOptions = {}): Promise<CopySummary> {
  const eng = engineGetter(opts.engine);
  try {
    const srcLoc = await resolveLocation(srcInput);
    const dstLoc = await resolveLocation(dstInput);
    const h5 = await hdf5Copy(srcLoc, dstLoc, eng.get, opts);
    if (h5) return h5;
    const jfile = journalPath(formatLocation(srcLoc), formatLocation(dstLoc));
    const resume = opts.resume ? await readJournal(jfile) : undefined;
    if (opts.resume && !resume) opts.onWarn?.('no interrupted copy to resume: starting a new copy');
    const src = await openSource(eng.get, srcInput, { snap: opts.snap, epoch: resume?.header.srcEpoch, warn: opts.onWarn });
    // A snapshot this run took belongs to this process until the journal
    // records it: a run-snap marker, so that if the process is killed before
    // that, a later copy removes it (and removes such leftovers of others now).
    const marker = src.snapOwned && src.epoch !== undefined && src.tree instanceof DfsTree ? runSnapKey(src.tree.dfs.container.uuid, src.epoch) : undefined;
    if (marker) {
      const engine = await eng.get();
      await engine.commit({ ops: [{ op: 'cat-put', key: marker, value: pendingOwner() }] });
      await cleanupStale(engine).catch(() => undefined);
    }
    // The snapshot a copy took is destroyed when the copy completes; an
    // interrupted or failed copy keeps it (and its journal) for --resume.
    let keepSnap = !!resume;
    try {
      const dst = await openDest(eng.get, dstInput, src, { into: true, resumeRoot: resume?.header.dstRoot });
      if (dst.st && dst.st.type === 'dir' && src.st.type !== 'dir') {
        throw new StrataError('EISDIR', `${dst.tree.display('')}: is a directory`);
      }
      const header: JournalHeader = {
        version: 1, src: formatLocation(srcLoc), dst: formatLocation(dstLoc), dstRoot: dst.root,
        ...(src.epoch !== undefined ? { srcEpoch: src.epoch, snapOwned: !!(src.snapOwned || resume?.header.snapOwned) } : {}),
        startedAt: resume?.header.startedAt ?? new Date().toISOString(),
      };
      const journal = new Journal(jfile, header, resume);
      keepSnap = true;
      if (marker) await (await eng.get()).commit({ ops: [{ op: 'cat-del', key: marker }] });
      const t = new Transfer(src.tree, dst.tree, 'copy', opts, journal);
      opts.onStart?.(t);
      let summary: TransferSummary;
      try {
        summary = await t.run(src.st, dst.st);
      } finally {
        await Promise.all([src.tree.close(), dst.tree.close()]);
      }
      // Finished without errors: forget the journal and the snapshot taken for the copy.
      // Otherwise keep both, so --resume continues from the same view.
      const clean = summary.errors === 0 && !summary.stopped;
      journal.close(clean);
      if (clean) keepSnap = false;
      return { ...summary, src: formatLocation(srcLoc), dst: dst.tree.display(''), resumed: !!resume };
    } finally {
      if (!keepSnap && (src.snapOwned || resume?.header.snapOwned)) {
        await src.destroySnapshot();
        if (marker) await (await eng.get()).commit({ ops: [{ op: 'cat-del', key: marker }] });
      }
    }
  } finally {
    await eng.close();
  }
}
