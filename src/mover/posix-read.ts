// The reading side of the POSIX end: listing, stat, readlink, xattrs and file
// reads, all through directories held open (posix-dirs.ts), never through
// paths rebuilt from the root, so a directory swapped for a symlink mid-copy
// leads nowhere; a directory or file read is checked to be the inode its
// listing showed (a source another user can change is read as it was listed,
// or not at all).
import fs from 'node:fs';
import { StrataError } from '../errors.js';
import type { Extent } from '../engine/types.js';
import { compareNames, decodeName, encodeName } from './names.js';
import type { OpenDir } from './posix-dirs.js';
import { readXattrs } from './xattrs.js';
import { O_READ_LISTED, SMALL_READ, checkListed, readListedSync, statToM, type PosixEnd, type SmallRead } from './posix-end.js';
import type { FileReader, Listed, MStat } from './tree.js';
import { ReadThreads } from './posix-read-threads.js';

export class PosixReader {
  /** Threads that read small files (useThreads), or none: then this thread reads. */
  private threads: ReadThreads | undefined;

  constructor(private readonly end: PosixEnd) {}

  /** Read threads asked for; started by the first small file read (a sync with nothing to copy starts none). */
  private wanted = 0;

  /** n threads read small files from now on (0: none); close() ends them. */
  useThreads(n: number): void {
    this.wanted = n;
  }

  private readThreads(): ReadThreads | undefined {
    if (!this.threads && this.wanted > 0) this.threads = new ReadThreads(this.wanted);
    return this.threads;
  }

  async close(): Promise<void> {
    const t = this.threads;
    this.threads = undefined;
    this.wanted = 0;
    await t?.close();
  }

  async lstat(rel: string): Promise<MStat | undefined> {
    let dir: OpenDir | undefined;
    try {
      if (rel === '') return statToM(await fs.promises.lstat(this.end.root, { bigint: true }));
      let name: Buffer;
      ({ dir, name } = this.end.parentOf(rel));
      return statToM(await fs.promises.lstat(dir.at(name), { bigint: true }));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw this.end.fail(e, 'lstat', rel);
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
      d = this.end.dirs.acquire(rel, st?.type === 'dir' ? st.ino : undefined);
    } catch (e) {
      throw this.end.fail(e, 'open directory', rel);
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
      throw this.end.fail(e, 'readdir', rel);
    }
    // Names of one directory are sorted in memory (POSIX has no ordered
    // listing); the rest of the tree is never held.
    const names = raw.map((b) => encodeName(b)).sort(compareNames);
    raw = [];
    const BATCH = 64;
    const fail = (e: unknown, n: string) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // vanished
      throw this.end.fail(e, 'lstat', rel === '' ? n : `${rel}/${n}`);
    };
    for (let i = 0; i < names.length; i += BATCH) {
      const part = names.slice(i, i + BATCH);
      const stats = this.end.blocking.cheap()
        ? part.map((n) => {
          try {
            return this.end.blocking.time(() => statToM(fs.lstatSync(d.at(decodeName(n)), { bigint: true })));
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
      ({ dir, name } = this.end.parentOf(rel));
      return encodeName(await fs.promises.readlink(dir.at(name), { encoding: 'buffer' }));
    } catch (e) {
      throw this.end.fail(e, 'readlink', rel);
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
      dir = this.end.dirs.acquire(rel, st.ino);
      at = dir.at(Buffer.from('.'));
    } else {
      let name: Buffer;
      ({ dir, name } = this.end.parentOf(rel));
      at = dir.at(name);
    }
    try {
      return await readXattrs(at);
    } catch (e) {
      throw this.end.fail(e, 'read extended attributes of', rel);
    } finally {
      dir.release();
    }
  }

  async openRead(rel: string, st: MStat): Promise<FileReader> {
    if (st.size <= SMALL_READ && (this.readThreads() || this.end.blocking.cheap())) return this.readSmall(rel, st);
    let fh: fs.promises.FileHandle;
    const { dir, name } = this.end.parentOf(rel);
    try {
      fh = await fs.promises.open(dir.at(name), O_READ_LISTED);
    } catch (e) {
      throw this.end.fail(e, 'open', rel);
    } finally {
      dir.release();
    }
    try {
      checkListed(await fh.stat({ bigint: true }), st);
    } catch (e) {
      await fh.close();
      throw this.end.fail(e, 'open', rel);
    }
    const display = () => this.end.display(rel);
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
   * syscalls themselves. With read threads, the calls run on one of them
   * (the same calls on the same held directory) while this thread commits.
   */
  private async readSmall(rel: string, st: MStat): Promise<FileReader> {
    const { dir, name } = this.end.parentOf(rel);
    let got: SmallRead;
    try {
      got = this.threads
        ? await this.threads.read(dir.at(name), st)
        : this.end.blocking.time(() => readListedSync(dir.at(name), st));
    } catch (e) {
      throw this.end.fail(e, (e as { stage?: string }).stage ?? 'read', rel);
    } finally {
      dir.release();
    }
    const { data, after } = got;
    const display = () => this.end.display(rel);
    return {
      dataRanges: async (): Promise<Extent[] | undefined> => undefined,
      read: async (offset: number, length: number, into?: Buffer) => {
        if (offset + length > data.length) throw new StrataError('EIO', `${display()}: file shrank while being copied (expected ${st.size} bytes)`);
        if (!into || into.length < length) return data.subarray(offset, offset + length);
        data.copy(into, 0, offset, offset + length);
        return into.subarray(0, length);
      },
      checkUnchanged: async (st0: MStat) => {
        if (after.size !== st0.size || after.mtimeNs !== st0.mtimeNs) {
          throw new StrataError('EIO', `${display()}: file changed while being copied (size ${st0.size} -> ${after.size})`);
        }
      },
      close: async () => undefined,
    };
  }


}

