// `strata filesystem sync`: like `rsync -a SRC/ DST/`: DST is made identical
// to SRC, copying only what differs (size + mtime, or content with checksum);
// with delete, what SRC lacks is removed. Both trees are walked in lock step.
import { openDest, openSource } from './ends.js';
import { engineGetter, type CopyOptions, type CopySummary } from './copy.js';
import { Transfer } from './transfer.js';
import { formatLocation, resolveLocation } from '../uns/location.js';

export type SyncOptions = Omit<CopyOptions, 'resume'>;

export async function sync(srcInput: string, dstInput: string, opts: SyncOptions = {}): Promise<CopySummary> {
  const eng = engineGetter(opts.engine);
  try {
    const src = await openSource(eng.get, srcInput, { snap: opts.snap, warn: opts.onWarn });
    try {
      const dst = await openDest(eng.get, dstInput, src, { into: false });
      const t = new Transfer(src.tree, dst.tree, 'sync', opts);
      opts.onStart?.(t);
      const s = await t.run(src.st, dst.st);
      return { ...s, src: formatLocation(await resolveLocation(srcInput)), dst: dst.tree.display(''), resumed: false };
    } finally {
      await src.release();
    }
  } finally {
    await eng.close();
  }
}
