// `strata filesystem sync`: like `rsync -a SRC/ DST/`: DST is made identical
// to SRC (syncTarget applies rsync's trailing-slash rule for the command line), copying only what differs (size + mtime, or content with checksum);
// with delete, what SRC lacks is removed. Both trees are walked in lock step.
import { engineGetter, openDest, openSource } from './ends.js';
import type { CopyOptions, CopySummary } from './copy.js';
import path from 'node:path';
import { Transfer } from './transfer.js';
import { PosixTree } from './posix.js';
import { formatLocation, resolveLocation } from '../uns/location.js';

export type SyncOptions = Omit<CopyOptions, 'resume' | 'restart'>;

/**
 * Where `sync SRC DST` goes, by rsync's rule: SRC with a trailing slash (or
 * `SRC/.`, `.`, a container's root) syncs SRC's content into DST; SRC without
 * one syncs into DST/<name of SRC>, as `copy` does. The library's sync()
 * takes the directory to make identical (tier archive and restore name it);
 * the command line applies this rule first.
 */
export function syncTarget(srcInput: string, dstInput: string): string {
  if (/\/\.?$/.test(srcInput)) return dstInput;
  const uri = /^daos:\/\/[^/]+\/[^/]+(\/.*)?$/.exec(srcInput);
  if (uri && (uri[1] ?? '').replace(/\/+/g, '/').replace(/\/$/, '') === '') return dstInput; // a container root has no name
  const name = path.posix.basename(srcInput);
  if (name === '' || name === '.' || name === '..') return dstInput;
  return /^daos:\/\//.test(dstInput) ? `${dstInput.replace(/\/+$/, '')}/${name}` : path.join(dstInput, name);
}

export async function sync(srcInput: string, dstInput: string, opts: SyncOptions = {}): Promise<CopySummary> {
  const eng = engineGetter(opts.engine);
  try {
    const src = await openSource(eng.get, srcInput, { snap: opts.snap, warn: opts.onWarn });
    try {
      const dst = await openDest(eng.get, dstInput, src, { into: false, create: !opts.dryRun }); // a dry run makes no container
      // As in copy: one read thread per -j beyond the first reads the source's small files.
      if (src.tree instanceof PosixTree) src.tree.useReadThreads(Math.max(1, opts.jobs ?? 1) - 1);
      const t = new Transfer(src.tree, dst.tree, 'sync', opts);
      opts.onStart?.(t);
      let s;
      try {
        s = await t.run(src.st, dst.st);
      } finally {
        // Held directories and read threads end with the run, as in copy.
        await Promise.all([src.tree.close(), dst.tree.close()]);
      }
      return { ...s, src: formatLocation(await resolveLocation(srcInput)), dst: dst.tree.display(''), resumed: false };
    } finally {
      await src.release();
    }
  } finally {
    await eng.close();
  }
}
