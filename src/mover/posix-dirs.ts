// Directories of a POSIX tree, held open while they are read or filled, so
// that every read and write happens in the directory the mover listed, made or
// checked, whatever happens to the path later. Node has no openat(2); Linux's
// /proc/<pid>/fd/<fd> links stand in for it: "/proc/<pid>/fd/<fd>/name"
// resolves `name` inside the directory open as <fd>, even if that directory
// was renamed or its path now leads through a symlink. Each directory is
// opened from its parent's descriptor with O_NOFOLLOW, so a directory swapped
// for a symlink (by another process, mid-copy) is refused instead of followed,
// on the source side (walk, reads) as on the destination side (writes). A
// directory of the source is also checked to be the one its parent's listing
// showed (its inode) before it is read. Without /proc (not Linux) paths are
// used as they are.
import fs from 'node:fs';
import { StrataError, fromSystemError } from '../errors.js';
import { decodeName, parentRel, baseRel } from './names.js';

const { O_RDONLY, O_NOFOLLOW, O_DIRECTORY } = fs.constants;
/** Directories kept open beyond those in use (each is one descriptor). */
const KEEP_OPEN = 256;

export interface OpenDir {
  /** Path of `name` (raw bytes) inside the directory. */
  at(name: Buffer): Buffer;
  /** Path of the directory itself. */
  readonly self: Buffer;
  release(): void;
}

/**
 * dead: forgotten while in use; closed by its last user, so its number is never reused under it.
 * ino: the inode number open (read when a listing's is to be checked).
 */
interface Held { fd: number; refs: number; self: Buffer; dead: boolean; ino?: bigint }

/**
 * The inode number part of an MStat.ino ("dev:ino"). Only the number is
 * compared: a file listed by one node may be opened by a worker on another
 * (distributed copy), where the same filesystem has another device number; a
 * rename or a hard link cannot bring in an inode of another filesystem, and
 * symlinks are never followed.
 */
export function inoOf(id: string): bigint {
  return BigInt(id.slice(id.lastIndexOf(':') + 1));
}

export class DirHandles {
  private readonly held = new Map<string, Held>();
  private readonly procFd: string | undefined;

  /**
   * root: the destination's root path; followRoot: the root may be a symlink
   * to a directory (a root the user named, as cp -a follows it).
   */
  constructor(private readonly root: Buffer, private readonly followRoot: boolean, private readonly display: (rel: string) => string) {
    this.procFd = fs.existsSync(`/proc/${process.pid}/fd`) ? `/proc/${process.pid}/fd/` : undefined;
  }

  /**
   * The open directory `rel` (opened from its parent, without following a
   * symlink). Release it when done. expectIno: the directory as its parent's
   * listing showed it ("dev:ino"): another inode there now is an error.
   */
  acquire(rel: string, expectIno?: string): OpenDir {
    if (!this.procFd) return this.byPath(rel);
    // A root the user named may be a symlink to a directory: its lstat is not the directory's.
    const check = expectIno !== undefined && !(rel === '' && this.followRoot);
    const h = this.open(rel, check);
    if (check && h.ino !== inoOf(expectIno!)) {
      if (h.refs === 0) this.forget(rel);
      throw new StrataError('ESTALE', 'replaced by another directory while being copied');
    }
    h.refs++;
    let done = false;
    return {
      at: (name) => Buffer.concat([h.self, Buffer.from('/'), name]),
      self: h.self,
      release: () => {
        if (done) return;
        done = true;
        h.refs--;
        if (h.dead) { if (h.refs === 0) fs.closeSync(h.fd); } else this.trim();
      },
    };
  }

  /** A path naming the inode open as `fd` (for calls Node offers only by path: xattrs). */
  fdPath(fd: number): Buffer {
    return Buffer.from(`${this.procFd ?? '/proc/self/fd/'}${fd}`);
  }

  /** Forgets `rel` and everything below it (removed or replaced). */
  forget(rel: string): void {
    for (const [k, h] of this.held) {
      if (k === rel || rel === '' || k.startsWith(`${rel}/`)) {
        this.held.delete(k);
        if (h.refs === 0) fs.closeSync(h.fd);
        else h.dead = true;
      }
    }
  }

  closeAll(): void {
    for (const h of this.held.values()) { if (h.refs === 0) fs.closeSync(h.fd); else h.dead = true; }
    this.held.clear();
  }

  private byPath(rel: string): OpenDir {
    const self = rel === '' ? this.root : Buffer.concat([this.root, Buffer.from('/'), decodeName(rel)]);
    return { at: (name) => Buffer.concat([self, Buffer.from('/'), name]), self, release: () => undefined };
  }

  /** listed: rel was seen as a directory in its parent's listing (a source being read). */
  private open(rel: string, listed: boolean): Held {
    const hit = this.held.get(rel);
    if (hit) {
      this.held.delete(rel); // most recently used last
      this.held.set(rel, hit);
      if (listed) hit.ino ??= fs.fstatSync(hit.fd, { bigint: true }).ino;
      return hit;
    }
    let fd: number;
    if (rel === '') {
      fd = this.openDir(this.root, rel, this.followRoot, listed);
    } else {
      const parent = this.acquire(parentRel(rel));
      try {
        fd = this.openDir(parent.at(decodeName(baseRel(rel))), rel, false, listed);
      } finally {
        parent.release();
      }
    }
    const h: Held = { fd, refs: 0, self: Buffer.from(`${this.procFd}${fd}`), dead: false };
    if (listed) h.ino = fs.fstatSync(fd, { bigint: true }).ino;
    this.held.set(rel, h);
    return h;
  }

  private openDir(p: Buffer, rel: string, follow: boolean, listed: boolean): number {
    try {
      return fs.openSync(p, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW));
    } catch (e) {
      let code = (e as NodeJS.ErrnoException).code;
      // O_DIRECTORY|O_NOFOLLOW on a symlink fails ENOTDIR: tell the two apart.
      if (code === 'ENOTDIR' && fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) code = 'ELOOP';
      // A directory of a listing that is no longer one: swapped by another process since.
      if (listed && code === 'ELOOP') throw new StrataError('ELOOP', 'replaced by a symbolic link while being copied (not followed)');
      if (listed && code === 'ENOTDIR') throw new StrataError('ENOTDIR', 'replaced by a non-directory while being copied');
      if (code === 'ELOOP') throw new StrataError('ENOTDIR', `${this.display(rel)}: is a symbolic link, not a directory`);
      if (code === 'ENOTDIR') throw new StrataError('ENOTDIR', `${this.display(rel)}: not a directory`);
      throw fromSystemError(e, `open directory ${this.display(rel)}`);
    }
  }

  private trim(): void {
    if (this.held.size <= KEEP_OPEN) return;
    for (const [k, h] of this.held) {
      if (this.held.size <= KEEP_OPEN) break;
      if (h.refs === 0 && k !== '') {
        this.held.delete(k);
        fs.closeSync(h.fd);
      }
    }
  }
}
