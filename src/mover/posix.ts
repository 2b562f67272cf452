// The POSIX backend of the mover's Tree: paths are Buffers (names need not be
// UTF-8), symlinks are never followed below the root, files are written under
// a temporary name in their final directory and renamed into place. Reads and
// writes go through directories held open (posix-dirs.ts), never through paths
// rebuilt from the root, so a directory swapped for a symlink mid-copy leads
// nowhere; a directory or file read is checked to be the inode its listing
// showed (a source another user can change is read as it was listed, or not at all).
import fs from 'node:fs';
import { fromSystemError, StrataError } from '../errors.js';
import type { Extent } from '../engine/types.js';
import { TEMP_RE, baseRel, compareNames, decodeName, encodeName, parentRel, tempName } from './names.js';
import { DirHandles, inoOf, type OpenDir } from './posix-dirs.js';
import { readXattrs, writeXattrs } from './xattrs.js';
import { mknodAt } from './mknod.js';
import { rdevFromDevT } from '../dfs/layout.js';
import type { EntryType, FileReader, FileWriter, Listed, MStat, MetaOptions, Tree } from './tree.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
/**
 * Opening a file found by a stat to read it: O_NONBLOCK so that a FIFO swapped
 * in for it since does not wait for a writer (regular files ignore the flag);
 * the type (and for a listed file the inode) is checked on the descriptor
 * right after the open, before any read.
 */
export const O_READ_STATTED = O_RDONLY | O_NONBLOCK;
/** A listed file below the root: O_READ_STATTED, never through a symlink. */
const O_READ_LISTED = O_READ_STATTED | O_NOFOLLOW;
/** O_PATH (Linux): a descriptor naming an inode without opening it for I/O, whatever its mode. */
const O_PATH = 0o10000000;
const SLASH = Buffer.from('/');
/** Files up to this size are read whole, synchronously, when opened. */
const SMALL_READ = 64 * 1024;

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

function secs(ns: bigint): number {
  // Node takes times as a double of seconds and libuv truncates it to whole
  // microseconds: aim at the middle of the microsecond so the truncation lands on it.
  return (Number(ns / 1000n) + 0.5) / 1e6;
}

let root: boolean | undefined;
function isRoot(): boolean {
  return (root ??= process.getuid?.() === 0);
}

/**
 * Whether blocking syscalls are cheap on this tree: true while they answer
 * from the page cache (microseconds, far less than a trip through libuv's
 * thread pool). When their average time grows (network filesystem, cold
 * metadata) calls go parallel and asynchronous; one blocking call a second
 * keeps measuring.
 */
class BlockingCalls {
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

export class PosixTree implements Tree {
  readonly kind = 'posix' as const;
  readonly root: Buffer;
  private readonly blocking = new BlockingCalls();
  private readonly dirs: DirHandles;

  /**
   * rootMayBeSymlink: the root is the path the user named (a symlink to a
   * directory there is followed, as cp -a does); a root the mover computed
   * (DST/<name of SRC>) that is a symlink is refused: never a way out of DST.
   */
  constructor(root: string | Buffer, private readonly opts: { rootMayBeSymlink?: boolean } = {}) {
    this.root = typeof root === 'string' ? Buffer.from(root, 'utf8') : root;
    this.dirs = new DirHandles(this.root, !!opts.rootMayBeSymlink, (rel) => this.display(rel));
  }

  /**
   * The directory holding rel, open, and rel's name in it. The root itself
   * (a single file copied) lives in the directory the user named.
   */
  private parentOf(rel: string): { dir: OpenDir; name: Buffer } {
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

  private fail(e: unknown, what: string, rel: string): StrataError {
    return fromSystemError(e, `${what} ${this.display(rel)}`);
  }

  async lstat(rel: string): Promise<MStat | undefined> {
    let dir: OpenDir | undefined;
    try {
      if (rel === '') return statToM(await fs.promises.lstat(this.root, { bigint: true }));
      let name: Buffer;
      ({ dir, name } = this.parentOf(rel));
      return statToM(await fs.promises.lstat(dir.at(name), { bigint: true }));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw this.fail(e, 'lstat', rel);
    } finally {
      dir?.release();
    }
  }

  /**
   * The directory is opened from its parent (never through a symlink) and
   * checked to be the inode `st` describes; it stays open while it is listed,
   * and its entries are stat'ed inside it.
   */
  async *list(rel: string, st?: MStat): AsyncGenerator<Listed[]> {
    let d: OpenDir;
    try {
      d = this.dirs.acquire(rel, st?.type === 'dir' ? st.ino : undefined);
    } catch (e) {
      throw this.fail(e, 'open directory', rel);
    }
    try {
      yield* this.listIn(d, rel);
    } finally {
      d.release();
    }
  }

  private async *listIn(d: OpenDir, rel: string): AsyncGenerator<Listed[]> {
    let raw: Buffer[];
    try {
      raw = await fs.promises.readdir(d.self, { encoding: 'buffer' });
    } catch (e) {
      throw this.fail(e, 'readdir', rel);
    }
    // Names of one directory are sorted in memory (POSIX has no ordered
    // listing); the rest of the tree is never held.
    const names = raw.map((b) => encodeName(b)).sort(compareNames);
    raw = [];
    const BATCH = 64;
    const fail = (e: unknown, n: string) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // vanished
      throw this.fail(e, 'lstat', rel === '' ? n : `${rel}/${n}`);
    };
    for (let i = 0; i < names.length; i += BATCH) {
      const part = names.slice(i, i + BATCH);
      const stats = this.blocking.cheap()
        ? part.map((n) => {
          try {
            return this.blocking.time(() => statToM(fs.lstatSync(d.at(decodeName(n)), { bigint: true })));
          } catch (e) {
            return fail(e, n);
          }
        })
        : await Promise.all(part.map(async (n) => {
          try {
            return statToM(await fs.promises.lstat(d.at(decodeName(n)), { bigint: true }));
          } catch (e) {
            return fail(e, n);
          }
        }));
      const page: Listed[] = [];
      for (let k = 0; k < part.length; k++) if (stats[k]) page.push({ name: part[k]!, st: stats[k]! });
      if (page.length > 0) yield page;
    }
  }

  async readlink(rel: string): Promise<string> {
    let dir: OpenDir | undefined;
    try {
      let name: Buffer;
      ({ dir, name } = this.parentOf(rel));
      return encodeName(await fs.promises.readlink(dir.at(name), { encoding: 'buffer' }));
    } catch (e) {
      throw this.fail(e, 'readlink', rel);
    } finally {
      dir?.release();
    }
  }

  async xattrs(rel: string, st: MStat): Promise<Array<[string, Buffer]>> {
    if (st.type === 'symlink') return [];
    // A directory through its own descriptor (checked against the listing),
    // "<fd>/." being the directory itself; a file by its name in its open directory.
    let at: Buffer;
    let dir: OpenDir;
    if (st.type === 'dir') {
      dir = this.dirs.acquire(rel, st.ino);
      at = dir.at(Buffer.from('.'));
    } else {
      let name: Buffer;
      ({ dir, name } = this.parentOf(rel));
      at = dir.at(name);
    }
    try {
      return await readXattrs(at);
    } catch (e) {
      throw this.fail(e, 'read extended attributes of', rel);
    } finally {
      dir.release();
    }
  }

  async openRead(rel: string, st: MStat): Promise<FileReader> {
    if (st.size <= SMALL_READ && this.blocking.cheap()) return this.blocking.time(() => this.readSmall(rel, st));
    let fh: fs.promises.FileHandle;
    const { dir, name } = this.parentOf(rel);
    try {
      fh = await fs.promises.open(dir.at(name), O_READ_LISTED);
    } catch (e) {
      throw this.fail(e, 'open', rel);
    } finally {
      dir.release();
    }
    try {
      this.checkListed(await fh.stat({ bigint: true }), st);
    } catch (e) {
      await fh.close();
      throw this.fail(e, 'open', rel);
    }
    const display = () => this.display(rel);
    return {
      // Node exposes no SEEK_DATA/SEEK_HOLE: holes are found by the copier as all-zero blocks.
      dataRanges: async (): Promise<Extent[] | undefined> => (st.allocated === 0 && st.size > 65536 ? [] : undefined),
      read: async (offset: number, length: number, into?: Buffer) => {
        const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
          if (bytesRead === 0) throw new StrataError('EIO', `${display()}: file shrank while being copied (expected ${st.size} bytes)`);
          got += bytesRead;
        }
        return buf;
      },
      checkUnchanged: async (st0: MStat) => {
        const now = await fh.stat({ bigint: true });
        if (Number(now.size) !== st0.size || now.mtimeNs !== st0.mtimeNs) {
          throw new StrataError('EIO', `${display()}: file changed while being copied (size ${st0.size} -> ${now.size})`);
        }
      },
      close: () => fh.close(),
    };
  }

  /**
   * The file open is the one the listing showed: a name swapped for another
   * file since (say a hard link to a file only root may read) is not copied.
   */
  private checkListed(now: fs.BigIntStats, st: MStat): void {
    // The type too: a freed inode number is soon handed out again, say to a FIFO made in the file's place.
    if (now.ino !== inoOf(st.ino) || typeOf(now) !== st.type) throw new StrataError('ESTALE', 'replaced while being copied (not the file listed)');
  }

  /**
   * A small file is read whole at open, with synchronous calls: for a file of
   * a few KiB, four trips through libuv's thread pool cost several times the
   * syscalls themselves.
   */
  private readSmall(rel: string, st: MStat): FileReader {
    let fd: number;
    const { dir, name } = this.parentOf(rel);
    try {
      fd = fs.openSync(dir.at(name), O_READ_LISTED);
    } catch (e) {
      throw this.fail(e, 'open', rel);
    } finally {
      dir.release();
    }
    let data: Buffer;
    let after: fs.BigIntStats;
    try {
      // Before any read: a device swapped in for the file is never read.
      this.checkListed(fs.fstatSync(fd, { bigint: true }), st);
    } catch (e) {
      fs.closeSync(fd);
      throw this.fail(e, 'open', rel);
    }
    try {
      data = Buffer.allocUnsafe(st.size);
      let got = 0;
      while (got < st.size) {
        const n = fs.readSync(fd, data, got, st.size - got, got);
        if (n === 0) break;
        got += n;
      }
      data = data.subarray(0, got);
      after = fs.fstatSync(fd, { bigint: true });
      this.checkListed(after, st);
    } catch (e) {
      throw this.fail(e, 'read', rel);
    } finally {
      fs.closeSync(fd);
    }
    const display = () => this.display(rel);
    return {
      dataRanges: async (): Promise<Extent[] | undefined> => undefined,
      read: async (offset: number, length: number, into?: Buffer) => {
        if (offset + length > data.length) throw new StrataError('EIO', `${display()}: file shrank while being copied (expected ${st.size} bytes)`);
        if (!into || into.length < length) return data.subarray(offset, offset + length);
        data.copy(into, 0, offset, offset + length);
        return into.subarray(0, length);
      },
      checkUnchanged: async (st0: MStat) => {
        if (Number(after.size) !== st0.size || after.mtimeNs !== st0.mtimeNs) {
          throw new StrataError('EIO', `${display()}: file changed while being copied (size ${st0.size} -> ${after.size})`);
        }
      },
      close: async () => undefined,
    };
  }

  async ensureDir(rel: string): Promise<'created' | 'existed'> {
    if (rel === '') return this.ensureRoot();
    const { dir, name } = this.parentOf(rel);
    try {
      const p = dir.at(name);
      try {
        fs.mkdirSync(p, 0o700);
        // Opened from its parent without following a symlink: if another
        // process swapped it already, this fails, and nothing goes in.
        this.dirs.acquire(rel).release();
        return 'created';
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw this.fail(e, 'mkdir', rel);
      }
      const st = (() => { try { return fs.lstatSync(p); } catch (e) { throw this.fail(e, 'lstat', rel); } })();
      // Never write through a symlink or over a file in the destination.
      if (!st.isDirectory()) throw new StrataError('EEXIST', 'cannot overwrite non-directory with directory');
      const d = this.dirs.acquire(rel);
      try {
        if (!isRoot() && (st.mode & 0o700) !== 0o700) { try { fs.chmodSync(d.self, (st.mode & 0o7777) | 0o700); } catch { /* filled as far as it lets us */ } }
      } finally {
        d.release();
      }
      return 'existed';
    } finally {
      dir.release();
    }
  }

  /** The root: made, or checked (only a root the user named may be a symlink to a directory), then held open. */
  private async ensureRoot(): Promise<'created' | 'existed'> {
    const p = this.root;
    try {
      await fs.promises.mkdir(p, 0o700);
      this.dirs.acquire('').release();
      return 'created';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw this.fail(e, 'mkdir', '');
    }
    const st = await fs.promises.lstat(p, { bigint: true }).catch((e) => { throw this.fail(e, 'lstat', ''); });
    if (!st.isDirectory() && !(this.opts.rootMayBeSymlink && (await fs.promises.stat(p).catch(() => undefined))?.isDirectory())) {
      throw new StrataError('EEXIST', `${this.display('')}: exists and is not a directory`);
    }
    const d = this.dirs.acquire('');
    try {
      if (!isRoot() && (Number(st.mode) & 0o700) !== 0o700) await fs.promises.chmod(d.self, (Number(st.mode) & 0o7777) | 0o700).catch(() => undefined);
    } finally {
      d.release();
    }
    return 'existed';
  }

  /**
   * Renames dir/tmp over dir/name, replacing a non-directory. A directory in
   * the way is refused, as cp -a does: only sync replaces one, and it removes
   * it first (Transfer). Synchronous: one rename, no thread-pool trip.
   */
  private placeIn(dir: OpenDir, tmp: Buffer, name: Buffer): void {
    try {
      fs.renameSync(dir.at(tmp), dir.at(name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw new StrataError('EISDIR', 'cannot overwrite directory with non-directory');
      throw e;
    }
  }

  /**
   * A written file's size (holes at its end), owner, xattrs, mode and times,
   * through its descriptor (xattrs with l* calls on its path: never follow).
   * Cheap synchronous calls for small and large files alike.
   */
  private async finish(fd: number, end: number, size: number, at: Buffer, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> {
    if (end !== size) fs.ftruncateSync(fd, size);
    if (meta.owner && isRoot()) fs.fchownSync(fd, st.uid, st.gid);
    if (xattrs.length > 0) await writeXattrs(at, xattrs, []);
    fs.fchmodSync(fd, st.perm);
    fs.futimesSync(fd, secs(st.atimeNs), secs(st.mtimeNs));
  }

  async createFile(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<FileWriter> {
    if (st.size <= SMALL_READ && this.blocking.cheap()) return this.createSmall(rel, st, xattrs, meta);
    const { dir, name } = this.parentOf(rel);
    const tmp = Buffer.from(tempName());
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(dir.at(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (e) {
      dir.release();
      throw this.fail(e, 'create', rel);
    }
    let closed = false;
    const close = async () => { if (!closed) { closed = true; await fh.close(); } };
    let end = 0;
    return {
      chunkSize: 1 << 20,
      write: async (data: Buffer, offset: number) => {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
          done += bytesWritten;
        }
        end = Math.max(end, offset + data.length);
      },
      commit: async (size: number) => {
        try {
          await this.finish(fh.fd, end, size, dir.at(tmp), st, xattrs, meta);
          await close();
          this.placeIn(dir, tmp, name);
        } catch (e) {
          throw this.fail(e, 'write', rel);
        } finally {
          dir.release();
        }
      },
      abort: async () => {
        await close().catch(() => undefined);
        try { fs.rmSync(dir.at(tmp), { force: true }); } catch { /* best effort */ }
        dir.release();
      },
    };
  }

  /**
   * A small file: its data is gathered in memory and written at commit with
   * synchronous calls (create, write, owner, xattrs, mode, times, rename):
   * the same steps as a large file, without a thread-pool trip for each.
   */
  private createSmall(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): FileWriter {
    const pieces: Array<{ data: Buffer; offset: number }> = [];
    return {
      chunkSize: 1 << 20,
      write: async (data: Buffer, offset: number) => {
        pieces.push({ data: Buffer.from(data), offset }); // a copy: the caller reuses its buffer
      },
      commit: async (size: number) => {
        const { dir, name } = this.parentOf(rel);
        const tmp = Buffer.from(tempName());
        let fd = -1;
        try {
          let end = 0;
          fd = this.blocking.time(() => {
            const f = fs.openSync(dir.at(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
            for (const p of pieces) {
              for (let done = 0; done < p.data.length;) done += fs.writeSync(f, p.data, done, p.data.length - done, p.offset + done);
              end = Math.max(end, p.offset + p.data.length);
            }
            return f;
          });
          await this.finish(fd, end, size, dir.at(tmp), st, xattrs, meta);
          fs.closeSync(fd);
          fd = -1;
          this.placeIn(dir, tmp, name);
        } catch (e) {
          if (fd >= 0) fs.closeSync(fd);
          try { fs.rmSync(dir.at(tmp), { force: true }); } catch { /* best effort */ }
          throw this.fail(e, 'write', rel);
        } finally {
          dir.release();
        }
      },
      abort: async () => { pieces.length = 0; },
    };
  }

  async symlink(rel: string, target: string, st: MStat, _xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> {
    const { dir, name } = this.parentOf(rel);
    const tmp = Buffer.from(tempName());
    try {
      fs.symlinkSync(decodeName(target), dir.at(tmp));
      if (meta.owner && isRoot()) fs.lchownSync(dir.at(tmp), st.uid, st.gid);
      fs.lutimesSync(dir.at(tmp), secs(st.atimeNs), secs(st.mtimeNs));
      this.placeIn(dir, tmp, name);
    } catch (e) {
      try { fs.rmSync(dir.at(tmp), { force: true }); } catch { /* best effort */ }
      throw this.fail(e, 'symlink', rel);
    } finally {
      dir.release();
    }
  }

  /**
   * A FIFO, device or socket: mknod(2) under a temporary name (never opened:
   * a FIFO would block), its owner, xattrs, mode and times set on that name,
   * then renamed into place. A device as a caller that is not root fails
   * with EPERM, as cp -a does.
   */
  async special(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> {
    const { dir, name } = this.parentOf(rel);
    const tmp = Buffer.from(tempName());
    try {
      mknodAt(dir.at(tmp), st.type, 0o600, st.rdev ?? 0n);
      await this.metaIn(dir, tmp, st, xattrs, meta, rel);
      this.placeIn(dir, tmp, name);
    } catch (e) {
      try { fs.rmSync(dir.at(tmp), { force: true }); } catch { /* best effort */ }
      throw this.fail(e, `make ${st.type === 'sock' ? 'socket' : st.type === 'fifo' ? 'FIFO' : 'device'}`, rel);
    } finally {
      dir.release();
    }
  }

  async link(existingRel: string, rel: string): Promise<void> {
    const from = this.parentOf(existingRel);
    const { dir, name } = this.parentOf(rel);
    const tmp = Buffer.from(tempName());
    try {
      fs.linkSync(from.dir.at(from.name), dir.at(tmp));
      this.placeIn(dir, tmp, name);
      // rename(2) does nothing when both names are links to one inode (rel
      // already is this link, e.g. made by an interrupted run): drop the temporary name.
      fs.rmSync(dir.at(tmp), { force: true });
    } catch (e) {
      try { fs.rmSync(dir.at(tmp), { force: true }); } catch { /* best effort */ }
      throw this.fail(e, 'link', rel);
    } finally {
      dir.release();
      from.dir.release();
    }
  }

  /**
   * Metadata of an existing entry. A directory through its own open
   * descriptor; a file through an O_PATH descriptor opened without following
   * a symlink; a symlink with the l* calls on its name: never through a
   * symlink someone put in its place.
   */
  async setMeta(rel: string, st: MStat, xattrs: Array<[string, Buffer]> | undefined, meta: MetaOptions): Promise<void> {
    const owner = meta.owner && isRoot();
    try {
      if (st.type === 'symlink') {
        const { dir, name } = this.parentOf(rel);
        try {
          if (owner) fs.lchownSync(dir.at(name), st.uid, st.gid);
          fs.lutimesSync(dir.at(name), secs(st.atimeNs), secs(st.mtimeNs));
        } finally {
          dir.release();
        }
        return;
      }
      if (st.type === 'dir') {
        // self: a path that follows the descriptor (chmod, chown, utimes);
        // xpath: one whose last step is the entry itself (the xattr calls never follow).
        const d = this.dirs.acquire(rel);
        try {
          await this.applyMeta(d.self, Buffer.concat([d.self, Buffer.from('/.')]), st, xattrs, owner);
        } finally {
          d.release();
        }
        return;
      }
      const { dir, name } = this.parentOf(rel);
      try {
        await this.metaIn(dir, name, st, xattrs, meta, rel);
      } finally {
        dir.release();
      }
    } catch (e) {
      throw this.fail(e, 'set attributes of', rel);
    }
  }

  /**
   * Metadata of a non-directory `name` in `dir` through an O_PATH descriptor
   * opened without following a symlink (never opened for I/O: a FIFO would
   * block), checked to be of st's type.
   */
  private async metaIn(dir: OpenDir, name: Buffer, st: MStat, xattrs: Array<[string, Buffer]> | undefined, meta: MetaOptions, rel: string): Promise<void> {
    const fd = fs.openSync(dir.at(name), O_PATH | O_NOFOLLOW);
    try {
      const now = typeOf(fs.fstatSync(fd));
      if (now === 'symlink' || now === 'dir' || (st.type !== 'other' && now !== st.type)) {
        throw new StrataError('EEXIST', `${this.display(rel)}: was replaced while being copied (no longer a ${st.type})`);
      }
      await this.applyMeta(this.dirs.fdPath(fd), dir.at(name), st, xattrs, meta.owner && isRoot());
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Owner, xattrs (replacing the set), mode and times: self follows to the entry, xpath names it without following. */
  private async applyMeta(self: Buffer, xpath: Buffer, st: MStat, xattrs: Array<[string, Buffer]> | undefined, owner: boolean): Promise<void> {
    if (owner) fs.chownSync(self, st.uid, st.gid);
    if (xattrs !== undefined) await writeXattrs(xpath, xattrs);
    fs.chmodSync(self, st.perm);
    fs.utimesSync(self, secs(st.atimeNs), secs(st.mtimeNs));
  }

  async remove(rel: string): Promise<void> {
    this.dirs.forget(rel);
    const { dir, name } = this.parentOf(rel);
    try {
      await fs.promises.rm(dir.at(name), { recursive: true, force: true });
    } catch (e) {
      throw this.fail(e, 'remove', rel);
    } finally {
      dir.release();
    }
  }

  async cleanTemps(rel: string): Promise<number> {
    const d = this.dirs.acquire(rel);
    let n = 0;
    try {
      for (const b of await fs.promises.readdir(d.self, { encoding: 'buffer' }).catch(() => [] as Buffer[])) {
        if (TEMP_RE.test(b.toString('latin1'))) {
          await fs.promises.rm(d.at(b), { force: true, recursive: true });
          n++;
        }
      }
    } finally {
      d.release();
    }
    return n;
  }

  async close(): Promise<void> { this.dirs.closeAll(); }
}
