// The copy pipeline shared by copy and sync (mpiFileUtils style): walk ->
// make directories top-down -> copy files, symlinks and hard links in
// parallel (each under a temporary name, metadata set right after the data,
// then renamed into place) -> directory metadata last, when a directory's
// whole content is done. Large files are copied a chunk at a time with
// several chunks in flight; all-zero blocks are not written (holes stay holes).
import type { Extent } from '../engine/types.js';
import { StrataError, isStrataError, reasonOf } from '../errors.js';
import { readBuffers } from '../buffer-pool.js';
import { fileChecksum } from './checksum.js';
import type { Journal } from './journal.js';
import { parentRel } from './names.js';
import { Pool, Semaphore } from './pool.js';
import { WHOLE_MAX, isFatal, isSpecialEntry, wholeReader, type FileReader, type MStat, type MetaOptions, type Tree } from './tree.js';
import { march } from './walk.js';
import { sameTime } from './times.js';
import { dataRuns } from './zeros.js';
import { filterXattrs, type XattrMode } from './xattrs.js';

// The one-line reason of an error lives with the error class; the mover's callers import it from here too.
export { reasonOf };

export interface TransferOptions {
  /** Workers (default 1): each keeps several files and chunks in flight. */
  jobs?: number;
  xattrs?: XattrMode;
  /** Read every written file back and compare checksums with the source. */
  verify?: boolean;
  /** Preserve uid/gid (default: when running as root, or into a container). */
  owner?: boolean;
  /** Sync: also remove what the source does not have. */
  delete?: boolean;
  /** Sync: compare content, not size + mtime. */
  checksum?: boolean;
  signal?: AbortSignal;
  /** An earlier run may have left temporary files in the destination's directories: remove them. */
  cleanTemps?: boolean;
  /**
   * Sync: change nothing, only tell what would change (a new entry copied, an
   * existing one replaced, one the source lacks deleted with `delete`).
   */
  dryRun?: (what: 'copy' | 'replace' | 'delete', path: string) => void;
  /** Called for every failure as it happens. */
  onError?: (path: string, reason: string) => void;
}

export interface Counters {
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  /** FIFOs, devices and sockets made (by type, mode and rdev; never opened). */
  specials: number;
  /** Bytes of the files copied (apparent size). */
  bytes: number;
  /** Bytes actually written (holes skipped). */
  dataBytes: number;
  /** Resume: items already done by the interrupted run. */
  skipped: number;
  /** Sync: items already identical. */
  unchanged: number;
  deleted: number;
  errors: number;
}

export interface TransferSummary extends Counters {
  seconds: number;
  failures: Array<{ path: string; reason: string }>;
  /** Why the run stopped early (full disk, interrupted), if it did. */
  stopped?: string;
}

export function newCounters(): Counters {
  return { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, specials: 0, bytes: 0, dataBytes: 0, skipped: 0, unchanged: 0, deleted: 0, errors: 0 };
}


const BLOCK = 4096;
/** Files up to this size are read in one piece and need no chunk budget. */
const SMALL_FILE = 65536;

/** Errors raised reading the source (reported with the source path). */
const fromSource = new WeakSet<object>();
function src<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: unknown) => {
    if (e && typeof e === 'object') fromSource.add(e);
    throw e;
  });
}

export function sameContentHint(s: MStat, d: MStat): boolean {
  return s.size === d.size && sameTime(s.mtimeNs, d.mtimeNs);
}

interface DirState {
  st: MStat;
  pending: number;
  dst?: MStat;
  /** Its listing failed (reported): its content is incomplete, so its metadata is not applied (--resume redoes it). */
  failed?: boolean;
}

interface LinkState {
  rel: string;
  done: Promise<boolean>;
  remaining: number;
}

export class Transfer {
  readonly c: Counters = newCounters();
  readonly failures: Array<{ path: string; reason: string }> = [];
  private stopped: string | undefined;
  private readonly pool: Pool;
  private readonly chunks: Semaphore;
  /** Files larger than SMALL_FILE in flight (each may buffer up to a MiB before its first commit). */
  private readonly largeFiles: Semaphore;
  private readonly dirs = new Map<string, DirState>();
  private readonly links = new Map<string, LinkState>();
  private readonly meta: MetaOptions;
  private readonly xmode: XattrMode;
  private seq = 0;
  /** Read buffers, shared by the process's copies (writers never keep the buffers they are given). */
  private readonly buffers = readBuffers;
  private readonly t0 = process.hrtime.bigint();

  constructor(readonly src: Tree, readonly dst: Tree, readonly mode: 'copy' | 'sync', readonly opts: TransferOptions, readonly journal?: Journal) {
    const jobs = Math.max(1, opts.jobs ?? 1);
    // Many small files in flight, so that a destination that groups them into
    // shared transactions gets large groups; large files are bounded apart.
    this.pool = new Pool(128 * jobs);
    this.largeFiles = new Semaphore(16 * jobs);
    this.chunks = new Semaphore(8 * jobs);
    // Owners are kept by root only, as cp -a does: into a container too, where
    // DFS refuses a non-root caller a file owned by someone else.
    this.meta = { owner: opts.owner ?? process.getuid?.() === 0 };
    this.xmode = opts.xattrs ?? 'non-lustre';
  }

  get seconds(): number { return Number(process.hrtime.bigint() - this.t0) / 1e9; }

  private fail(tree: Tree, rel: string, e: unknown): void {
    const path = tree.display(rel);
    const reason = reasonOf(e);
    const cutShort = isStrataError(e, 'EIO') && reason.startsWith('stopped (');
    // An item cut short by an interrupt did not fail: it is journaled as not
    // done (--resume copies it), and the interrupt is reported once.
    if (this.stopped === 'interrupted' && cutShort) return;
    this.c.errors++;
    // Once the run has stopped (a full disk), the items in flight fail for the
    // same reason: counted (and journaled for --resume), said once.
    if (this.stopped && (isFatal(e) || cutShort)) return;
    if (this.failures.length < 10000) this.failures.push({ path, reason });
    this.opts.onError?.(path, reason);
    if (isFatal(e) && !this.stopped) this.stopped = reason;
  }

  private async srcXattrs(rel: string, st: MStat): Promise<Array<[string, Buffer]>> {
    if (this.xmode === 'none') return [];
    return filterXattrs(this.xmode, await src(this.src.xattrs(rel, st)));
  }

  /** A small file's xattrs (filtered) and a reader of its bytes, in one read where the source can (Tree.readWhole). */
  private async openSource(rel: string, s: MStat): Promise<{ xs: Array<[string, Buffer]>; r: FileReader }> {
    const whole = s.size <= WHOLE_MAX && this.src.readWhole ? await src(this.src.readWhole(rel, s)) : undefined;
    if (!whole) {
      const xs = await this.srcXattrs(rel, s);
      return { xs, r: await src(this.src.openRead(rel, s)) };
    }
    return { xs: this.xmode === 'none' ? [] : filterXattrs(this.xmode, whole.xattrs), r: wholeReader(whole.data) };
  }

  async run(srcSt: MStat, dstSt: MStat | undefined): Promise<TransferSummary> {
    const cleanTemps = !!this.journal?.resume || !!this.opts.cleanTemps;
    let skipBelow: string | undefined;
    const walkDst = this.mode === 'sync' ? this.dst : undefined;
    for await (const ev of march(this.src, walkDst, '', srcSt, this.mode === 'sync' ? dstSt : undefined)) {
      if (this.stopped) break;
      if (this.opts.signal?.aborted) { this.stopped = 'interrupted'; break; }
      if (skipBelow !== undefined) {
        if (ev.rel === skipBelow && ev.kind === 'leave') { skipBelow = undefined; continue; }
        if (ev.rel.startsWith(skipBelow === '' ? '' : skipBelow + '/')) continue;
        skipBelow = undefined;
      }
      const rel = ev.rel;
      if (ev.kind === 'error') {
        this.fail(ev.side === 'src' ? this.src : this.dst, rel, ev.error);
        this.journalFailed(rel);
        const ds = this.dirs.get(rel);
        if (ds) ds.failed = true;
        continue;
      }
      const plan = this.mode === 'sync' ? this.opts.dryRun : undefined;
      if (plan) {
        // A dry run walks both trees and compares, and writes nothing: no
        // directory is made, no metadata fixed, nothing is counted as done.
        if (ev.kind === 'leave') continue;
        const s = ev.src;
        const d = ev.dst;
        if (!s) { if (d && this.opts.delete) { plan('delete', this.dst.display(rel)); this.c.deleted++; } continue; }
        if (s.type === 'other') { this.fail(this.src, rel, unknownType()); continue; }
        if (d && d.type === s.type && (s.type === 'dir' || (await this.same(rel, s, d, false)))) { if (s.type !== 'dir') this.c.unchanged++; continue; }
        plan(d ? 'replace' : 'copy', this.dst.display(rel));
        continue;
      }
      if (ev.kind === 'enter') {
        try {
          if (ev.dst && ev.dst.type !== 'dir') { await this.dst.remove(rel); this.c.deleted++; }
          const made = await this.dst.ensureDir(rel, { later: true }); // filled by this transfer only
          if (made === 'existed' && cleanTemps) await this.dst.cleanTemps(rel);
        } catch (e) {
          this.fail(this.dst, rel, e);
          this.journalFailed(rel);
          skipBelow = rel;
          continue;
        }
        this.c.dirs++;
        const parent = rel === '' ? undefined : this.dirs.get(parentRel(rel));
        if (parent) parent.pending++;
        this.dirs.set(rel, { st: ev.src, pending: 1, dst: ev.dst });
        continue;
      }
      if (ev.kind === 'leave') {
        this.settle(rel);
        continue;
      }
      // entry
      const s = ev.src;
      const d = ev.dst;
      if (!s) {
        if (d && this.mode === 'sync' && this.opts.delete) await this.within(rel, async () => { await this.dst.remove(rel); this.c.deleted++; });
        continue;
      }
      if (s.type === 'other') {
        this.fail(this.src, rel, unknownType());
        continue;
      }
      if (this.mode === 'sync' && d) {
        if (d.type === s.type && (this.sameAsIs(s, d) || (await this.same(rel, s, d)))) {
          this.c.unchanged++;
          if (s.type !== 'symlink' && s.nlink > 1) this.linkSeen(s, rel);
          continue;
        }
      }
      const seq = this.seq++;
      try {
        this.journal?.begin(rel, seq);
      } catch (e) {
        // The journal's disk is full (or gone): a failure of the run like any
        // other, said once and stopping it, not an exception out of the walk.
        this.fail(this.dst, rel, e);
        continue;
      }
      if (this.journal?.isDone(rel)) {
        this.c.skipped++;
        if (s.type !== 'symlink' && s.nlink > 1) this.linkSeen(s, rel);
        this.journal.finish(seq, true);
        continue;
      }
      await this.within(rel, async () => {
        let ok = false;
        try {
          if (d && d.type !== s.type && d.type === 'dir') await this.dst.remove(rel);
          await this.copyItem(rel, s);
          ok = true;
        } finally {
          this.journal?.finish(seq, ok);
        }
      });
    }
    await this.pool.drain();
    if (!this.stopped && this.opts.signal?.aborted) this.stopped = 'interrupted';
    return { ...this.c, seconds: this.seconds, failures: this.failures, ...(this.stopped ? { stopped: this.stopped } : {}) };
  }

  /**
   * Records a directory whose contents were not walked (unreadable, or not
   * creatable) as failed, so the resume mark does not cover what is inside it.
   */
  private journalFailed(rel: string): void {
    if (!this.journal) return;
    const seq = this.seq++;
    this.journal.begin(rel, seq);
    this.journal.finish(seq, false);
  }

  /** Runs an item's work in the pool, counted against its directory. */
  private async within(rel: string, work: () => Promise<void>): Promise<void> {
    const pr = parentRel(rel);
    const parent = rel === '' ? undefined : this.dirs.get(pr);
    if (parent) parent.pending++;
    await this.pool.run(async () => {
      try {
        await work();
      } catch (e) {
        this.fail(e && typeof e === 'object' && fromSource.has(e) ? this.src : this.dst, rel, e);
      } finally {
        if (parent) this.settle(pr, true);
      }
    });
  }

  /** One unit of a directory's pending work is done; the last one applies its metadata. */
  private settle(rel: string, child = false): void {
    void child;
    const st = this.dirs.get(rel);
    if (!st) return;
    if (--st.pending > 0) return;
    this.dirs.delete(rel);
    this.pool.track((async () => {
      try {
        await this.finishDir(rel, st);
      } catch (e) {
        this.fail(this.dst, rel, e);
      } finally {
        if (rel !== '') this.settle(parentRel(rel), true);
      }
    })());
  }

  private async finishDir(rel: string, ds: DirState): Promise<void> {
    if (this.stopped || ds.failed) return; // leave an interrupted directory writable; resume finishes it
    const xs = await this.srcXattrs(rel, ds.st);
    if (this.mode === 'sync') {
      const now = await this.dst.lstat(rel);
      if (now && now.perm === ds.st.perm && sameTime(now.mtimeNs, ds.st.mtimeNs) && (!this.meta.owner || (now.uid === ds.st.uid && now.gid === ds.st.gid))) {
        const have = this.xmode === 'none' ? [] : filterXattrs(this.xmode, await this.dst.xattrs(rel, now));
        if (sameXattrs(have, xs)) return;
      }
    }
    await this.dst.setMeta(rel, ds.st, this.xmode === 'none' ? undefined : xs, this.meta);
  }

  private linkSeen(s: MStat, rel: string): void {
    if (!this.links.has(s.ino)) this.links.set(s.ino, { rel, done: Promise.resolve(true), remaining: s.nlink - 1 });
    else this.linkDone(s.ino);
  }

  private linkDone(ino: string): void {
    const l = this.links.get(ino);
    if (l && --l.remaining <= 0) this.links.delete(ino);
  }

  /**
   * sync: a file whose size, mtime, mode and owner match, decided without a
   * call (most entries of a sync with little to do); the rest go to same().
   */
  private sameAsIs(s: MStat, d: MStat): boolean {
    return s.type === 'file' && !this.opts.checksum && s.size === d.size && sameTime(s.mtimeNs, d.mtimeNs) && d.perm === s.perm
      && (!this.meta.owner || (d.uid === s.uid && d.gid === s.gid));
  }

  /**
   * sync: whether the destination entry already holds the source's content
   * (size + mtime, or checksums); if so its differing metadata is fixed here.
   */
  async same(rel: string, s: MStat, d: MStat, fixMeta = true): Promise<boolean> {
    if (s.type === 'dir') return true;
    if (s.type === 'symlink') {
      if ((await this.src.readlink(rel)) !== (await this.dst.readlink(rel))) return false;
      // The same target: its times and owner are fixed as a file's are (compare reports them).
      if (fixMeta && (!sameTime(s.mtimeNs, d.mtimeNs) || (this.meta.owner && (d.uid !== s.uid || d.gid !== s.gid)))) {
        await this.dst.setMeta(rel, s, undefined, this.meta);
      }
      return true;
    }
    // A FIFO, device or socket has no content: the same type and device number is the same entry.
    if (isSpecialEntry(s.type) && (s.rdev ?? 0n) !== (d.rdev ?? 0n)) return false;
    if (s.size !== d.size) return false;
    if (this.opts.checksum) {
      if ((await fileChecksum(this.src, rel, s)) !== (await fileChecksum(this.dst, rel, d))) return false;
    } else if (!sameTime(s.mtimeNs, d.mtimeNs) && !isSpecialEntry(s.type)) return false;
    // Same content: fix metadata only if it differs.
    if (fixMeta && (d.perm !== s.perm || !sameTime(s.mtimeNs, d.mtimeNs) || (this.meta.owner && (d.uid !== s.uid || d.gid !== s.gid)))) {
      await this.dst.setMeta(rel, s, this.xmode === 'none' ? undefined : await this.srcXattrs(rel, s), this.meta);
    }
    return true;
  }

  private async copyItem(rel: string, s: MStat): Promise<void> {
    if (s.type === 'symlink') {
      const target = await src(this.src.readlink(rel));
      await this.dst.symlink(rel, target, s, [], this.meta);
      this.c.symlinks++;
      return;
    }
    if (s.nlink > 1) {
      const l = this.links.get(s.ino);
      if (l) {
        this.linkDone(s.ino);
        if (await l.done) {
          await this.dst.link(l.rel, rel);
          this.c.hardlinks++;
          return;
        }
      } else {
        let resolveDone!: (ok: boolean) => void;
        this.links.set(s.ino, { rel, done: new Promise<boolean>((r) => { resolveDone = r; }), remaining: s.nlink - 1 });
        try {
          await this.copyData(rel, s);
          resolveDone(true);
        } catch (e) {
          resolveDone(false);
          throw e;
        }
        return;
      }
    }
    await this.copyData(rel, s);
  }

  /** A regular file's data, or a FIFO, device or socket made by type (never opened: a FIFO would block the copy). */
  private copyData(rel: string, s: MStat): Promise<number> {
    return isSpecialEntry(s.type) ? this.copySpecial(rel, s) : this.copyFile(rel, s);
  }

  private async copySpecial(rel: string, s: MStat): Promise<number> {
    await this.dst.special(rel, s, await this.srcXattrs(rel, s), this.meta);
    this.c.specials++;
    return 0;
  }

  // ---- single items, for the distributed copy (queue.ts): the same code as the walk's ----

  /** Copies one file or symlink (no hard-link tracking: links are separate items); returns what it made and the bytes written. */
  async copyEntry(rel: string, s: MStat): Promise<{ made: 'file' | 'symlink' | 'special'; dataBytes: number }> {
    if (s.type === 'symlink') {
      const target = await src(this.src.readlink(rel));
      await this.dst.symlink(rel, target, s, [], this.meta);
      this.c.symlinks++;
      return { made: 'symlink', dataBytes: 0 };
    }
    if (isSpecialEntry(s.type)) return { made: 'special', dataBytes: await this.copySpecial(rel, s) };
    if (s.type !== 'file') throw unknownType();
    return { made: 'file', dataBytes: await this.copyFile(rel, s) };
  }

  /** A later name of a hard-linked file: a link to the copied first name, or a copy of its own when that one failed. */
  async copyLinkName(firstRel: string, firstOk: boolean, rel: string, s: MStat): Promise<{ made: 'hardlink' | 'file'; dataBytes: number }> {
    if (firstOk) {
      await this.dst.link(firstRel, rel);
      this.c.hardlinks++;
      return { made: 'hardlink', dataBytes: 0 };
    }
    return { made: 'file', dataBytes: await this.copyData(rel, s) };
  }

  /** A directory's metadata, once all its content is done; leftover temporary files of dead workers go first. */
  async finishDirectory(rel: string, st: MStat): Promise<void> {
    await this.dst.cleanTemps(rel);
    await this.finishDir(rel, { st, pending: 0 });
  }

  /** Where an error of an item belongs (the source or the destination path) and its one-line reason. */
  describe(rel: string, e: unknown): { path: string; reason: string } {
    const tree = e && typeof e === 'object' && fromSource.has(e) ? this.src : this.dst;
    return { path: tree.display(rel), reason: reasonOf(e) };
  }

  private async copyFile(rel: string, s: MStat): Promise<number> {
    if (s.size <= SMALL_FILE) return this.copyFileData(rel, s);
    await this.largeFiles.take();
    try {
      return await this.copyFileData(rel, s);
    } finally {
      this.largeFiles.give();
    }
  }

  private async copyFileData(rel: string, s: MStat): Promise<number> {
    let written = 0;
    const { xs, r } = await this.openSource(rel, s);
    try {
      const w = await this.dst.createFile(rel, s, xs, this.meta);
      try {
        const ranges: Extent[] = (await src(r.dataRanges(s.size))) ?? [{ offset: 0, length: s.size }];
        const unit = Math.max(BLOCK, Math.min(w.chunkSize, 4 << 20));
        const pieces: Array<[number, number]> = [];
        for (const e of ranges) {
          for (let off = e.offset; off < e.offset + e.length;) {
            const next = Math.min(e.offset + e.length, (Math.floor(off / unit) + 1) * unit);
            pieces.push([off, next - off]);
            off = next;
          }
        }
        const small = s.size <= SMALL_FILE;
        let failed: unknown;
        const inflight = new Set<Promise<void>>();
        for (const [off, n] of pieces) {
          if (failed || this.stopped) break;
          if (!small) await this.chunks.take();
          const p: Promise<void> = (async () => {
            let held: Buffer | undefined;
            try {
              // A small file gets a small buffer: power-of-two sizes, so the pool keeps a few classes.
              const scratch = this.buffers.get(Math.min(unit, 2 ** Math.ceil(Math.log2(Math.max(BLOCK, n)))));
              held = scratch;
              const buf = await src(r.read(off, n, scratch));
              for (const [a, b] of dataRuns(buf)) {
                await w.write(buf.subarray(a, b), off + a);
                this.c.dataBytes += b - a;
                written += b - a;
              }
            } catch (e) {
              failed ??= e;
            } finally {
              if (held) this.buffers.put(held);
              if (!small) this.chunks.give();
            }
          })().finally(() => inflight.delete(p));
          inflight.add(p);
          if (inflight.size >= 8) await Promise.race(inflight);
        }
        await Promise.all(inflight);
        if (failed) throw failed;
        if (this.stopped) throw new StrataError('EIO', `stopped (${this.stopped})`);
        await src(r.checkUnchanged(s));
        await w.commit(s.size);
      } catch (e) {
        await w.abort();
        throw e;
      }
    } finally {
      await r.close();
    }
    this.c.files++;
    this.c.bytes += s.size;
    if (this.opts.verify) {
      const d = await this.dst.lstat(rel);
      if (!d) throw new StrataError('EIO', 'verify: the copy is missing');
      const [a, b] = await Promise.all([fileChecksum(this.src, rel, s), fileChecksum(this.dst, rel, d)]);
      if (a !== b) throw new StrataError('EIO', `verify: checksum mismatch (source ${a}, copy ${b})`);
    }
    return written;
  }
}

/** A source entry of a type no end of a move knows (not a file, directory, symlink, FIFO, device or socket). */
function unknownType(): StrataError {
  return new StrataError('ENOTSUP', 'not copied: a file of a type strata does not know');
}

export function sameXattrs(a: Array<[string, Buffer]>, b: Array<[string, Buffer]>): boolean {
  if (a.length !== b.length) return false;
  const m = new Map(a);
  return b.every(([n, v]) => m.get(n)?.equals(v) ?? false);
}
