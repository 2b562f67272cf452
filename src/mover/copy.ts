// `strata filesystem copy` as a library function: plan (ends.ts), journal,
// transfer, cleanup. Resumable: the journal keyed by SRC+DST keeps the first
// run's mapping and progress.
import type { Engine } from '../engine/types.js';
import { StrataError, isStrataError } from '../errors.js';
import { destroySnap } from '../container/index.js';
import { formatLocation, resolveLocation } from '../uns/location.js';
import { engineGetter, openDest, openSource } from './ends.js';
import { Journal, completedAt, journalPath, readJournal, type JournalHeader } from './journal.js';
import { Transfer, newCounters, type TransferOptions, type TransferSummary } from './transfer.js';
import { PosixTree } from './posix.js';
import { isFatal } from './tree.js';

export interface CopyOptions extends TransferOptions {
  /** Copy this snapshot of a container source (name or epoch) instead of taking one. */
  snap?: string;
  /** Continue an interrupted copy of the same SRC -> DST (a fresh copy if there is none). */
  resume?: boolean;
  /** Discard an unfinished copy of the same SRC -> DST (its journal, snapshot and temporary files) and copy again into the place it planned. */
  restart?: boolean;
  /** Engine URL (default: STRATA_ENGINE / STRATA_HOME). */
  engine?: string;
  /** Warnings (not errors). */
  onWarn?: (msg: string) => void;
  /** HDF5-level copies: import what is supported, skip (and warn about) the rest. */
  skipUnsupported?: boolean;
  /** HDF5 import of a .h5 source: how long libhdf5 may make no progress on the file before it is refused (ms; default 60 s). */
  h5StallMs?: number;
  /** Called once the transfer starts, with the live counters (for a progress display). */
  onStart?: (t: Transfer) => void;
}

export interface CopySummary extends TransferSummary {
  src: string;
  dst: string;
  resumed: boolean;
}

/** Whether a location is an existing directory (a container's root is one). */
export async function isDirectoryLocation(input: string, engineUrl?: string): Promise<boolean> {
  const eng = engineGetter(engineUrl);
  try {
    const end = await openSource(eng.get, input, { live: true }).catch((e) => { if (isStrataError(e, 'ENOENT')) return undefined; throw e; });
    return end?.st.type === 'dir';
  } finally {
    await eng.close();
  }
}

export async function copy(srcInput: string, dstInput: string, opts: CopyOptions = {}): Promise<CopySummary> {
  const eng = engineGetter(opts.engine);
  try {
    const srcLoc = await resolveLocation(srcInput);
    const dstLoc = await resolveLocation(dstInput);
    // The HDF5 stack is loaded only for a copy that may need it.
    const h5 = await (await import('./hdf5.js')).hdf5Copy(srcLoc, dstLoc, eng.get, opts);
    if (h5) return h5;
    const jfile = journalPath(formatLocation(srcLoc), formatLocation(dstLoc));
    if (opts.resume && opts.restart) throw new StrataError('EINVAL', 'give --resume or --restart, not both');
    const unfinished = await readJournal(jfile);
    // A plain rerun would take the destination the first run created for an
    // existing directory and copy into it (DST/<name>/<name>), beside that
    // run's temporary files: the user says which of the two they meant.
    if (unfinished && !opts.resume && !opts.restart) {
      throw new StrataError('EEXIST', `${formatLocation(dstLoc)} holds an unfinished copy of ${formatLocation(srcLoc)} (started ${unfinished.header.startedAt}): continue it with --resume, or discard it and start over with --restart`);
    }
    const resume = opts.resume ? unfinished : undefined;
    // --restart keeps the first run's plan (where the copy goes), nothing else.
    const restartRoot = opts.restart ? unfinished?.header.dstRoot : undefined;
    if (opts.restart && unfinished?.header.snapOwned && unfinished.header.srcEpoch !== undefined && srcLoc.kind === 'container') {
      await destroySnap(await eng.get(), srcLoc.pool, srcLoc.cont, { epc: unfinished.header.srcEpoch })
        .catch((e) => { if (!isStrataError(e, 'ENOENT')) throw e; });
    }
    if (resume?.distrusted) opts.onWarn?.(`the machine restarted since the interrupted copy: ${resume.distrusted} items it finished after its last flush to disk are copied again`);
    if (opts.resume && !resume) {
      const at = completedAt(jfile);
      if (at !== undefined) {
        opts.onWarn?.(`this copy already completed (${at}): nothing to resume`);
        return { ...newCounters(), seconds: 0, failures: [], src: formatLocation(srcLoc), dst: formatLocation(dstLoc), resumed: true };
      }
      opts.onWarn?.('no interrupted copy to resume: starting a new copy');
    }
    const src = await openSource(eng.get, srcInput, { snap: opts.snap, epoch: resume?.header.srcEpoch, warn: opts.onWarn });
    // A snapshot this run took belongs to this process (a run record, so a
    // later command removes it if this one is killed) until the journal
    // records it. Then it is destroyed when the copy completes; an
    // interrupted or failed copy keeps it (and its journal) for --resume.
    let keepSnap = !!resume;
    try {
      // The journal is written once the plan is known: before a destination
      // container is created (so a killed run resumes into that container,
      // not into a copy inside it), else right after opening the destination.
      const made: { journal?: Journal } = {};
      const startJournal = (dstRoot: JournalHeader['dstRoot']): Journal => made.journal ??= new Journal(jfile, {
        version: 1, src: formatLocation(srcLoc), dst: formatLocation(dstLoc), dstRoot,
        ...(src.epoch !== undefined ? { srcEpoch: src.epoch, snapOwned: !!(src.snapOwned || resume?.header.snapOwned) } : {}),
        startedAt: resume?.header.startedAt ?? new Date().toISOString(),
      }, resume);
      const dst = await openDest(eng.get, dstInput, src, { into: true, resumeRoot: resume?.header.dstRoot ?? restartRoot, beforeCreate: (root) => { startJournal(root); keepSnap = true; }, createRefused: () => { made.journal?.discard(); made.journal = undefined; keepSnap = !!resume; } });
      if (dst.st && dst.st.type === 'dir' && src.st.type !== 'dir') {
        made.journal?.discard();
        throw new StrataError('EISDIR', `${dst.tree.display('')}: is a directory`);
      }
      const journal = startJournal(dst.root);
      keepSnap = true;
      await src.disown();
      // The second core reads the source while this thread commits: one read thread per -j beyond the first.
      if (src.tree instanceof PosixTree) src.tree.useReadThreads(Math.max(1, opts.jobs ?? 1) - 1);
      const t = new Transfer(src.tree, dst.tree, 'copy', { ...opts, cleanTemps: !!(resume || restartRoot) }, journal);
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
      try {
        await journal.close(clean);
      } catch (e) {
        // A run stopped by a full disk may not flush its journal's last lines
        // either: --resume copies those items again. Said by the stop, not as a second error.
        if (!(summary.stopped && isFatal(e))) throw e;
      }
      if (clean) keepSnap = false;
      return { ...summary, src: formatLocation(srcLoc), dst: dst.tree.display(''), resumed: !!resume };
    } finally {
      if (!keepSnap && (src.snapOwned || resume?.header.snapOwned)) {
        await src.destroySnapshot();
      }
    }
  } finally {
    await eng.close();
  }
}
