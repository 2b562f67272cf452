// The POSIX end of the mover, the pieces its reading side (posix-read.ts) and
// writing side (posix-write.ts) share: the root, the directories held open
// (posix-dirs.ts), stat conversion and the measure of blocking calls.
import fs from 'node:fs';
import { fromSystemError, StrataError } from '../errors.js';
import { baseRel, decodeName, encodeName, parentRel } from './names.js';
import { DirHandles, inoOf, type OpenDir } from './posix-dirs.js';
import { rdevFromDevT } from '../dfs/layout.js';
import type { EntryType, MStat } from './tree.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/**
 * Opening a file found by a stat to read it: O_NONBLOCK so that a FIFO swapped
 * in for it since does not wait for a writer (regular files ignore the flag);
 * the type (and for a listed file the inode) is checked on the descriptor
 * right after the open, before any read.
 */
export const O_READ_STATTED = O_RDONLY | O_NONBLOCK;
/** A listed file below the root: O_READ_STATTED, never through a symlink. */
export const O_READ_LISTED = O_READ_STATTED | O_NOFOLLOW;
const SLASH = Buffer.from('/');
/** Files up to this size are read whole, synchronously, when opened (and written whole at commit). */
export const SMALL_READ = 64 * 1024;

export function typeOf(s: fs.BigIntStats | fs.Stats): EntryType {
  return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink'
    : s.isFIFO() ? 'fifo' : s.isCharacterDevice() ? 'chr' : s.isBlockDevice() ? 'blk' : s.isSocket() ? 'sock' : 'other';
}

export function statToM(s: fs.BigIntStats): MStat {
  const type = typeOf(s);
  return {
    type, perm: Number(s.mode & 0o7777n), uid: Number(s.uid), gid: Number(s.gid),
    size: type === 'file' || type === 'symlink' ? Number(s.size) : 0, atimeNs: s.atimeNs, mtimeNs: s.mtimeNs, nlink: Number(s.nlink),
    ino: `${s.dev}:${s.ino}`, allocated: Number(s.blocks) * 512,
    ...(type === 'chr' || type === 'blk' ? { rdev: rdevFromDevT(s.rdev) } : {}),
  };
}

let root: boolean | undefined;
export function isRoot(): boolean {
  return (root ??= process.getuid?.() === 0);
}


/**
 * Whether blocking syscalls are cheap on this tree: true while they answer
 * from the page cache (microseconds, far less than a trip through libuv's
 * thread pool). When their average time grows (network filesystem, cold
 * metadata) calls go parallel and asynchronous; one blocking call a second
 * keeps measuring.
 */
export class BlockingCalls {
  private avgNs = 0;
  private nextProbe = 0;
  cheap(): boolean {
    if (this.avgNs < 300_000) return true;
    const now = Date.now();
    if (now < this.nextProbe) return false;
    this.nextProbe = now + 1000;
    return true;
  }
  time<T>(fn: () => T): T {
    const t0 = process.hrtime.bigint();
    try {
      return fn();
    } finally {
      // Samples are capped at 1 ms: a rare stall (writeback, a lock) is not a slow filesystem.
      this.avgNs = this.avgNs * 0.95 + Math.min(1_000_000, Number(process.hrtime.bigint() - t0)) * 0.05;
    }
  }
}

/** The root of a POSIX tree and its directories held open: what both sides of the end go through. */
export class PosixEnd {
  readonly root: Buffer;
  readonly blocking = new BlockingCalls();
  readonly dirs: DirHandles;

  /**
   * rootMayBeSymlink: the root is the path the user named (a symlink to a
   * directory there is followed, as cp -a does); a root the mover computed
   * (DST/<name of SRC>) that is a symlink is refused: never a way out of DST.
   */
  constructor(root: string | Buffer, readonly opts: { rootMayBeSymlink?: boolean } = {}) {
    this.root = typeof root === 'string' ? Buffer.from(root, 'utf8') : root;
    this.dirs = new DirHandles(this.root, !!opts.rootMayBeSymlink, (rel) => this.display(rel));
  }


  /**
   * The directory holding rel, open, and rel's name in it. The root itself
   * (a single file copied) lives in the directory the user named.
   */
  parentOf(rel: string): { dir: OpenDir; name: Buffer } {
    if (rel === '') {
      const i = this.root.lastIndexOf(0x2f);
      const self = i < 0 ? Buffer.from('.') : i === 0 ? SLASH : this.root.subarray(0, i);
      return { dir: { self, at: (n) => Buffer.concat([self, SLASH, n]), release: () => undefined }, name: this.root.subarray(i + 1) };
    }
    return { dir: this.dirs.acquire(parentRel(rel)), name: decodeName(baseRel(rel)) };
  }

  abs(rel: string): Buffer {
    return rel === '' ? this.root : Buffer.concat([this.root, SLASH, decodeName(rel)]);
  }

  display(rel: string): string {
    return encodeName(this.abs(rel));
  }


  fail(e: unknown, what: string, rel: string): StrataError {
    return fromSystemError(e, `${what} ${this.display(rel)}`);
  }

}

/** A small file read whole, and its size and mtime when it had been read. */
export interface SmallRead {
  data: Buffer;
  after: { size: number; mtimeNs: bigint };
}

/**
 * The file open is the one the listing showed: a name swapped for another
 * file since (say a hard link to a file only root may read) is not copied.
 */
export function checkListed(now: fs.BigIntStats, st: Pick<MStat, 'ino' | 'type'>): void {
  // The type too: a freed inode number is soon handed out again, say to a FIFO made in the file's place.
  if (now.ino !== inoOf(st.ino) || typeOf(now) !== st.type) throw new StrataError('ESTALE', 'replaced while being copied (not the file listed)');
}

/**
 * Reads the listed file at `at` (a name in a held directory) whole, with
 * synchronous calls: opened O_NONBLOCK without following a symlink, checked
 * to be the listed inode before any read (a device swapped in is never read)
 * and again after. An error carries the step it failed in (`stage`: open or
 * read). Runs on the main thread or on a read thread (posix-read-thread.ts).
 */
export function readListedSync(at: Buffer, st: Pick<MStat, 'ino' | 'type' | 'size'>): SmallRead {
  const stage = (e: unknown, what: string) => Object.assign(e as object, { stage: what });
  let fd: number;
  try {
    fd = fs.openSync(at, O_READ_LISTED);
  } catch (e) {
    throw stage(e, 'open');
  }
  try {
    checkListed(fs.fstatSync(fd, { bigint: true }), st);
  } catch (e) {
    fs.closeSync(fd);
    throw stage(e, 'open');
  }
  try {
    // Its own memory (never a slice of Node's shared pool): a read thread hands it over whole.
    let data = Buffer.allocUnsafeSlow(st.size);
    let got = 0;
    while (got < st.size) {
      const n = fs.readSync(fd, data, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    data = data.subarray(0, got);
    const after = fs.fstatSync(fd, { bigint: true });
    checkListed(after, st);
    return { data, after: { size: Number(after.size), mtimeNs: after.mtimeNs } };
  } catch (e) {
    throw stage(e, 'read');
  } finally {
    fs.closeSync(fd);
  }
}
