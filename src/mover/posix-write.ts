// The writing side of the POSIX end: files are written under a temporary name
// in their final directory and renamed into place; metadata is set through
// descriptors or l* calls, never through a symlink put in an entry's place;
// every step happens in a directory held open (posix-dirs.ts).
import fs from 'node:fs';
import { StrataError } from '../errors.js';
import { TEMP_RE, decodeName, tempName } from './names.js';
import type { OpenDir } from './posix-dirs.js';
import { writeXattrs } from './xattrs.js';
import { mknodAt } from './mknod.js';
import { futimensNs, lutimensNs, utimensNs } from './utimens.js';
import { SMALL_READ, isRoot, typeOf, type PosixEnd } from './posix-end.js';
import type { FileWriter, MStat, MetaOptions } from './tree.js';

const { O_NOFOLLOW, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
/** O_PATH (Linux): a descriptor naming an inode without opening it for I/O, whatever its mode. */
const O_PATH = 0o10000000;

export class PosixWriter {
  constructor(private readonly end: PosixEnd) {}

  async ensureDir(rel: string): Promise<'created' | 'existed'> {
    if (rel === '') return this.ensureRoot();
    const { dir, name } = this.end.parentOf(rel);
    try {
      const p = dir.at(name);
      try {
        fs.mkdirSync(p, 0o700);
        // Opened from its parent without following a symlink: if another
        // process swapped it already, this fails, and nothing goes in.
        this.end.dirs.acquire(rel).release();
        return 'created';
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw this.end.fail(e, 'mkdir', rel);
      }
      const st = (() => { try { return fs.lstatSync(p); } catch (e) { throw this.end.fail(e, 'lstat', rel); } })();
      // Never write through a symlink or over a file in the destination.
      if (!st.isDirectory()) throw new StrataError('EEXIST', 'cannot overwrite non-directory with directory');
      const d = this.end.dirs.acquire(rel);
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
    const p = this.end.root;
    try {
      await fs.promises.mkdir(p, 0o700);
      this.end.dirs.acquire('').release();
      return 'created';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw this.end.fail(e, 'mkdir', '');
    }
    const st = await fs.promises.lstat(p, { bigint: true }).catch((e) => { throw this.end.fail(e, 'lstat', ''); });
    if (!st.isDirectory() && !(this.end.opts.rootMayBeSymlink && (await fs.promises.stat(p).catch(() => undefined))?.isDirectory())) {
      throw new StrataError('EEXIST', `${this.end.display('')}: exists and is not a directory`);
    }
    const d = this.end.dirs.acquire('');
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
    futimensNs(fd, st.atimeNs, st.mtimeNs);
  }

  async createFile(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<FileWriter> {
    if (st.size <= SMALL_READ && this.end.blocking.cheap()) return this.createSmall(rel, st, xattrs, meta);
    const { dir, name } = this.end.parentOf(rel);
    const tmp = Buffer.from(tempName());
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(dir.at(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (e) {
      dir.release();
      throw this.end.fail(e, 'create', rel);
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
          throw this.end.fail(e, 'write', rel);
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
        const { dir, name } = this.end.parentOf(rel);
        const tmp = Buffer.from(tempName());
        let fd = -1;
        try {
          let end = 0;
          fd = this.end.blocking.time(() => {
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
          throw this.end.fail(e, 'write', rel);
        } finally {
          dir.release();
        }
      },
      abort: async () => { pieces.length = 0; },
    };
  }

  async symlink(rel: string, target: string, st: MStat, _xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> {
    const { dir, name } = this.end.parentOf(rel);
    const tmp = Buffer.from(tempName());
    try {
      fs.symlinkSync(decodeName(target), dir.at(tmp));
      if (meta.owner && isRoot()) fs.lchownSync(dir.at(tmp), st.uid, st.gid);
      lutimensNs(dir.at(tmp), st.atimeNs, st.mtimeNs);
      this.placeIn(dir, tmp, name);
    } catch (e) {
      try { fs.rmSync(dir.at(tmp), { force: true }); } catch { /* best effort */ }
      throw this.end.fail(e, 'symlink', rel);
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
    const { dir, name } = this.end.parentOf(rel);
    const tmp = Buffer.from(tempName());
    try {
      mknodAt(dir.at(tmp), st.type, 0o600, st.rdev ?? 0n);
      await this.metaIn(dir, tmp, st, xattrs, meta, rel);
      this.placeIn(dir, tmp, name);
    } catch (e) {
      try { fs.rmSync(dir.at(tmp), { force: true }); } catch { /* best effort */ }
      throw this.end.fail(e, `make ${st.type === 'sock' ? 'socket' : st.type === 'fifo' ? 'FIFO' : 'device'}`, rel);
    } finally {
      dir.release();
    }
  }

  async link(existingRel: string, rel: string): Promise<void> {
    const from = this.end.parentOf(existingRel);
    const { dir, name } = this.end.parentOf(rel);
    const tmp = Buffer.from(tempName());
    try {
      fs.linkSync(from.dir.at(from.name), dir.at(tmp));
      this.placeIn(dir, tmp, name);
      // rename(2) does nothing when both names are links to one inode (rel
      // already is this link, e.g. made by an interrupted run): drop the temporary name.
      fs.rmSync(dir.at(tmp), { force: true });
    } catch (e) {
      try { fs.rmSync(dir.at(tmp), { force: true }); } catch { /* best effort */ }
      throw this.end.fail(e, 'link', rel);
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
        const { dir, name } = this.end.parentOf(rel);
        try {
          if (owner) fs.lchownSync(dir.at(name), st.uid, st.gid);
          lutimensNs(dir.at(name), st.atimeNs, st.mtimeNs);
        } finally {
          dir.release();
        }
        return;
      }
      if (st.type === 'dir') {
        // self: a path that follows the descriptor (chmod, chown, utimes);
        // xpath: one whose last step is the entry itself (the xattr calls never follow).
        const d = this.end.dirs.acquire(rel);
        try {
          await this.applyMeta(d.self, Buffer.concat([d.self, Buffer.from('/.')]), st, xattrs, owner);
        } finally {
          d.release();
        }
        return;
      }
      const { dir, name } = this.end.parentOf(rel);
      try {
        await this.metaIn(dir, name, st, xattrs, meta, rel);
      } finally {
        dir.release();
      }
    } catch (e) {
      throw this.end.fail(e, 'set attributes of', rel);
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
        throw new StrataError('EEXIST', `${this.end.display(rel)}: was replaced while being copied (no longer a ${st.type})`);
      }
      await this.applyMeta(this.end.dirs.fdPath(fd), dir.at(name), st, xattrs, meta.owner && isRoot());
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Owner, xattrs (replacing the set), mode and times: self follows to the entry, xpath names it without following. */
  private async applyMeta(self: Buffer, xpath: Buffer, st: MStat, xattrs: Array<[string, Buffer]> | undefined, owner: boolean): Promise<void> {
    if (owner) fs.chownSync(self, st.uid, st.gid);
    if (xattrs !== undefined) await writeXattrs(xpath, xattrs);
    fs.chmodSync(self, st.perm);
    utimensNs(self, st.atimeNs, st.mtimeNs);
  }

  async remove(rel: string): Promise<void> {
    this.end.dirs.forget(rel);
    const { dir, name } = this.end.parentOf(rel);
    try {
      await fs.promises.rm(dir.at(name), { recursive: true, force: true });
    } catch (e) {
      throw this.end.fail(e, 'remove', rel);
    } finally {
      dir.release();
    }
  }

  async cleanTemps(rel: string): Promise<number> {
    const d = this.end.dirs.acquire(rel);
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

}
