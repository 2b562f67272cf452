// Free space under the engine home, checked before each write transaction.
// LMDB copes badly with a full disk: a commit that cannot grow the index file
// fails with EIO (not ENOSPC), lmdb-js prints the error itself, and the
// promises of the writes queued with it may never settle. So the engine
// refuses a commit that would not fit before LMDB sees it: one clear ENOSPC,
// nothing written, and the process goes on (a delete still has room).
import fs from 'node:fs';
import { StrataError } from '../errors.js';

const MiB = 1024 * 1024;
/** Below this much free space every commit re-reads the filesystem's numbers. */
const WATCH = 64 * MiB;
/** Otherwise at most this often (ms). */
const EVERY = 100;

export class SpaceGuard {
  private free = Infinity;
  private spent = 0;
  private at = 0;

  constructor(private readonly dir: string) {}

  /** Bytes free for an unprivileged writer, fresh. */
  freeNow(): number {
    try {
      const s = fs.statfsSync(this.dir);
      this.free = s.bavail * s.bsize;
    } catch {
      this.free = Infinity; // cannot tell: let the write itself report
    }
    this.spent = 0;
    this.at = Date.now();
    return this.free;
  }

  /**
   * Throws ENOSPC when a transaction writing about `need` bytes would not fit.
   * need 0 (metadata, deletes): not checked; LMDB reuses pages freed inside
   * its file, so such a transaction usually needs no new space at all.
   */
  check(need: number): void {
    if (need === 0) return;
    if (this.free - this.spent < WATCH || Date.now() - this.at > EVERY) this.freeNow();
    if (this.free - this.spent < need) {
      throw new StrataError('ENOSPC', `engine home ${this.dir}: no space left on device (${(this.free / MiB).toFixed(1)} MiB free, the operation needs about ${(need / MiB).toFixed(1)} MiB); nothing was written by this operation`);
    }
    this.spent += need;
  }
}

/**
 * Room an LMDB write transaction that stores values may take: the values, as
 * many again for copied-on-write pages, and a fixed part for branch pages.
 */
export function lmdbNeed(valueBytes: number): number {
  return valueBytes === 0 ? 0 : 2 * valueBytes + MiB / 4;
}
