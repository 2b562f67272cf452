// The POSIX backend of the mover's Tree: paths are Buffers (names need not be
// UTF-8), symlinks are never followed below the root, files are written under
// a temporary name in their final directory and renamed into place.
import fs from 'node:fs';
import { fromSystemError, StrataError } from '../errors.js';
import type { Extent } from '../engine/types.js';
import { TEMP_RE, compareNames, decodeName, encodeName, tempName } from './names.js';
import { readXattrs, writeXattrs } from './xattrs.js';
import type { FileReader, FileWriter, Listed, MStat, MetaOptions, Tree } from './tree.js';

const { O_RDONLY, O_NOFOLLOW, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
const SLASH = Buffer.from('/');
/** Files up to this size are read whole, synchronously, when opened. */
const SMALL_READ = 64 * 1024;

export function statToM(s: fs.BigIntStats): MStat {
  const type = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
  return {
    type, perm: Number(s.mode & 0o7777n), uid: Number(s.uid), gid: Number(s.gid),
    size: type === 'dir' ? 0 : Number(s.size), atimeNs: s.atimeNs, mtimeNs: s.mtimeNs, nlink: Number(s.nlink),
    ino: `${s.dev}:${s.ino}`, allocated: Number(s.blocks) * 512,
  };
}

function secs(ns: bigint): number {
  // Node takes times as a double of seconds and libuv truncates it to whole
  // microseconds: aim at the middle of the microsecond so the truncation lands on it.
  return (Number(ns / 1000n) + 0.5) / 1e6;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
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

  /**
   * rootMayBeSymlink: the root is the path the user named (a symlink to a
   * directory there is followed, as cp -a does); a root the mover computed
   * (DST/<name of SRC>) that is a symlink is refused: never a way out of DST.
   */
  constructor(root: string | Buffer, private readonly opts: { rootMayBeSymlink?: boolean } = {}) {
    this.root = typeof root === 'string' ? Buffer.from(root, 'utf8') : root;
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
    try {
      return statToM(await fs.promises.lstat(this.abs(rel), { bigint: true }));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw this.fail(e, 'lstat', rel);
    }
  }

  async *list(rel: string): AsyncGenerator<Listed> {
    const dir = this.abs(rel);
    let raw: Buffer[];
    try {
      raw = await fs.promises.readdir(dir, { encoding: 'buffer' });
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
            return this.blocking.time(() => statToM(fs.lstatSync(Buffer.concat([dir, SLASH, decodeName(n)]), { bigint: true })));
          } catch (e) {
            return fail(e, n);
          }
        })
        : await Promise.all(part.map(async (n) => {
          try {
            return statToM(await fs.promises.lstat(Buffer.concat([dir, SLASH, decodeName(n)]), { bigint: true }));
          } catch (e) {
            return fail(e, n);
          }
        }));
      for (let k = 0; k < part.length; k++) if (stats[k]) yield { name: part[k]!, st: stats[k]! };
    }
  }

  async readlink(rel: string): Promise<string> {
    try {
      return encodeName(await fs.promises.readlink(this.abs(rel), { encoding: 'buffer' }));
    } catch (e) {
      throw this.fail(e, 'readlink', rel);
    }
  }

  async xattrs(rel: string, st: MStat): Promise<Array<[string, Buffer]>> {
    if (st.type === 'symlink') return [];
    return readXattrs(this.abs(rel));
  }

  async openRead(rel: string, st: MStat): Promise<FileReader> {
    if (st.size <= SMALL_READ && this.blocking.cheap()) return this.blocking.time(() => this.readSmall(rel, st));
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.abs(rel), O_RDONLY | O_NOFOLLOW);
    } catch (e) {
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
   * A small file is read whole at open, with synchronous calls: for a file of
   * a few KiB, four trips through libuv's thread pool cost several times the
   * syscalls themselves.
   */
  private readSmall(rel: string, st: MStat): FileReader {
    let fd: number;
    try {
      fd = fs.openSync(this.abs(rel), O_RDONLY | O_NOFOLLOW);
    } catch (e) {
      throw this.fail(e, 'open', rel);
    }
    let data: Buffer;
    let after: fs.BigIntStats;
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
    const p = this.abs(rel);
    try {
      await fs.promises.mkdir(p, 0o700);
      return 'created';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw this.fail(e, 'mkdir', rel);
    }
    const st = await fs.promises.lstat(p, { bigint: true }).catch((e) => { throw this.fail(e, 'lstat', rel); });
    // Never write through a symlink or over a file in the destination (only a root the user named may be a symlink to a directory).
    if (!st.isDirectory() && !(rel === '' && this.opts.rootMayBeSymlink && (await fs.promises.stat(p).catch(() => undefined))?.isDirectory())) {
      throw new StrataError('EEXIST', `${this.display(rel)}: exists and is not a directory`);
    }
    if (!isRoot() && (Number(st.mode) & 0o700) !== 0o700) await fs.promises.chmod(p, (Number(st.mode) & 0o7777) | 0o700).catch(() => undefined);
    return 'existed';
  }

  private tempPath(rel: string): Buffer {
    const final = this.abs(rel);
    const i = final.lastIndexOf(0x2f);
    return Buffer.concat([final.subarray(0, i + 1), Buffer.from(tempName())]);
  }

  /** Renames tmp over rel; a directory in the way (a type change) is removed first. */
  private async place(tmp: Buffer, rel: string): Promise<void> {
    const final = this.abs(rel);
    try {
      await fs.promises.rename(tmp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw this.fail(e, 'rename', rel);
      await fs.promises.rm(final, { recursive: true, force: true });
      await fs.promises.rename(tmp, final);
    }
  }

  async createFile(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<FileWriter> {
    if (st.size <= SMALL_READ && this.blocking.cheap()) return this.createSmall(rel, st, xattrs, meta);
    const tmp = this.tempPath(rel);
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (e) {
      throw this.fail(e, 'create', rel);
    }
    let closed = false;
    const close = async () => { if (!closed) { closed = true; await fh.close(); } };
    return {
      chunkSize: 1 << 20,
      write: async (data: Buffer, offset: number) => {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
          done += bytesWritten;
        }
      },
      commit: async (size: number) => {
        try {
          await fh.truncate(size);
          if (meta.owner && isRoot()) await fh.chown(st.uid, st.gid);
          if (xattrs.length > 0) await writeXattrs(tmp, xattrs, []);
          await fh.chmod(st.perm);
          await fh.utimes(secs(st.atimeNs), secs(st.mtimeNs));
          await close();
          await this.place(tmp, rel);
        } catch (e) {
          throw this.fail(e, 'write', rel);
        }
      },
      abort: async () => {
        await close().catch(() => undefined);
        await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
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
        const tmp = this.tempPath(rel);
        let fd = -1;
        try {
          fd = this.blocking.time(() => {
            const f = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
            for (const p of pieces) {
              for (let done = 0; done < p.data.length;) done += fs.writeSync(f, p.data, done, p.data.length - done, p.offset + done);
            }
            fs.ftruncateSync(f, size);
            if (meta.owner && isRoot()) fs.fchownSync(f, st.uid, st.gid);
            return f;
          });
          if (xattrs.length > 0) await writeXattrs(tmp, xattrs, []);
          fs.fchmodSync(fd, st.perm);
          fs.futimesSync(fd, secs(st.atimeNs), secs(st.mtimeNs));
          fs.closeSync(fd);
          fd = -1;
          this.placeSync(tmp, rel);
        } catch (e) {
          if (fd >= 0) fs.closeSync(fd);
          fs.rmSync(tmp, { force: true });
          throw this.fail(e, 'write', rel);
        }
      },
      abort: async () => { pieces.length = 0; },
    };
  }

  private placeSync(tmp: Buffer, rel: string): void {
    const final = this.abs(rel);
    try {
      fs.renameSync(tmp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      fs.rmSync(final, { recursive: true, force: true });
      fs.renameSync(tmp, final);
    }
  }

  async symlink(rel: string, target: string, st: MStat, _xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> {
    const tmp = this.tempPath(rel);
    try {
      await fs.promises.symlink(decodeName(target), tmp);
      if (meta.owner && isRoot()) await fs.promises.lchown(tmp, st.uid, st.gid);
      await fs.promises.lutimes(tmp, secs(st.atimeNs), secs(st.mtimeNs));
      await this.place(tmp, rel);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      throw this.fail(e, 'symlink', rel);
    }
  }

  async link(existingRel: string, rel: string): Promise<void> {
    const tmp = this.tempPath(rel);
    try {
      await fs.promises.link(this.abs(existingRel), tmp);
      await this.place(tmp, rel);
      // rename(2) does nothing when both names are links to one inode (rel
      // already is this link, e.g. made by an interrupted run): drop the temporary name.
      await fs.promises.rm(tmp, { force: true });
    } catch (e) {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      throw this.fail(e, 'link', rel);
    }
  }

  async setMeta(rel: string, st: MStat, xattrs: Array<[string, Buffer]> | undefined, meta: MetaOptions): Promise<void> {
    const p = this.abs(rel);
    try {
      if (meta.owner && isRoot()) await fs.promises.lchown(p, st.uid, st.gid);
      if (st.type !== 'symlink') {
        if (xattrs !== undefined) await writeXattrs(p, xattrs);
        await fs.promises.chmod(p, st.perm);
      }
      await fs.promises.lutimes(p, secs(st.atimeNs), secs(st.mtimeNs));
    } catch (e) {
      throw this.fail(e, 'set attributes of', rel);
    }
  }

  async remove(rel: string): Promise<void> {
    try {
      await fs.promises.rm(this.abs(rel), { recursive: true, force: true });
    } catch (e) {
      throw this.fail(e, 'remove', rel);
    }
  }

  async cleanTemps(rel: string): Promise<number> {
    const dir = this.abs(rel);
    let n = 0;
    for (const b of await fs.promises.readdir(dir, { encoding: 'buffer' }).catch(() => [] as Buffer[])) {
      if (TEMP_RE.test(b.toString('latin1'))) {
        await fs.promises.rm(Buffer.concat([dir, SLASH, b]), { force: true, recursive: true });
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> { /* nothing held */ }
}
