// Bulk array bytes live in append-only extent files beside the index, so the
// index (LMDB or PostgreSQL) holds only small records. Each engine instance
// appends to files of its own (no cross-process contention), makes the bytes
// durable with one fdatasync shared by all commits waiting at that moment,
// and only then commits the index entries that point at them. A file is
// removed as a whole once it is sealed and no index entry points into it.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fromSystemError } from '../errors.js';
import { createFile, type HomeAccess } from './home-access.js';
import { fsyncDirectory } from '../durable.js';
import { holdLock, type HeldLock } from './writer-lock.js';

export interface ExtentRef { file: number; pos: number; len: number }

/** Size at which a writer starts a new file: small enough that reclaiming frees space soon. */
export const EXTENT_FILE_MAX = 64 * 1024 * 1024;

interface OpenFile { no: number; fd: number; size: number; inflight: number; sealing: boolean; lock: HeldLock }

export class ExtentFiles {
  private current: OpenFile | undefined;
  private opening: Promise<OpenFile> | undefined;
  private readFds = new Map<number, number>();
  private dirty = new Set<number>();
  private syncing: Promise<void> | undefined;
  private syncQueued: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    /** Who may read the files (their mode, whatever the umask). */
    private readonly access: HomeAccess,
    /** Registers a new file number in the index (owned by this process, not sealed). */
    private readonly newFile: () => Promise<number>,
    /** Marks a file sealed in the index: it will get no more bytes. */
    private readonly sealFile: (no: number) => Promise<void>,
  ) {}

  filePath(no: number): string {
    return path.join(this.dir, `${String(no).padStart(8, '0')}.ext`);
  }

  /** Files this instance still appends to (never collected while open). */
  activeFiles(): number[] {
    return this.current ? [this.current.no] : [];
  }

  private async openNew(): Promise<OpenFile> {
    const no = await this.newFile();
    // Created under a temporary name and locked before it takes its own
    // name: a file others see is locked as long as this process appends to
    // it (writer-lock.ts), so they never delete it under a live writer.
    const file = this.filePath(no);
    const tmp = `${file}.new`;
    let fd: number;
    try {
      fd = createFile(tmp, this.access);
    } catch (e) {
      throw fromSystemError(e, `cannot create extent file in ${this.dir}`);
    }
    let lock: HeldLock | undefined;
    try {
      lock = holdLock(fd, tmp);
      fs.renameSync(tmp, file);
      // The file's name must be on disk before any index commit points into
      // it: an fdatasync of the file does not write its directory entry.
      fsyncDirectory(this.dir);
    } catch (e) {
      lock?.release();
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw fromSystemError(e, `cannot create extent file ${file}`);
    }
    return { no, fd, size: 0, inflight: 0, sealing: false, lock };
  }

  private async writable(len: number): Promise<OpenFile> {
    for (;;) {
      const cur = this.current;
      if (cur) {
        if (cur.size === 0 || cur.size + len <= EXTENT_FILE_MAX) return cur;
        this.current = undefined;
        cur.sealing = true;
        this.sealingFiles.set(cur.no, cur);
        if (cur.inflight === 0) await this.finish(cur);
        continue;
      }
      this.opening ??= this.openNew()
        .then((f) => { this.current = f; return f; })
        .finally(() => { this.opening = undefined; });
      await this.opening;
    }
  }

  /** Appends bytes; returns where they went. The caller must call durable() before indexing them, then done(). */
  async append(data: Uint8Array): Promise<ExtentRef> {
    const f = await this.writable(data.length);
    const pos = f.size;
    f.size += data.length;
    f.inflight++;
    this.dirty.add(f.no);
    try {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await new Promise<{ bytesWritten: number }>((resolve, reject) =>
          fs.write(f.fd, data, off, data.length - off, pos + off, (err, n) => (err ? reject(err) : resolve({ bytesWritten: n }))));
        off += bytesWritten;
      }
    } catch (e) {
      f.inflight--;
      throw fromSystemError(e, `cannot write extent file ${this.filePath(f.no)}`);
    }
    return { file: f.no, pos, len: data.length };
  }

  /**
   * Appends several pieces at once, one after the other in one file, with
   * one write call (a commit of many small extents: a group of small files).
   * Same contract as append(): durable() before indexing, then done(refs).
   */
  async appendAll(pieces: Uint8Array[]): Promise<ExtentRef[]> {
    if (pieces.length === 1) return [await this.append(pieces[0]!)];
    let total = 0;
    for (const p of pieces) total += p.length;
    const f = await this.writable(total);
    const start = f.size;
    f.size += total;
    f.inflight += pieces.length;
    this.dirty.add(f.no);
    const refs: ExtentRef[] = [];
    let pos = start;
    for (const p of pieces) { refs.push({ file: f.no, pos, len: p.length }); pos += p.length; }
    try {
      let bufs = pieces.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length));
      let at = start;
      while (bufs.length) {
        const n = await new Promise<number>((resolve, reject) =>
          fs.writev(f.fd, bufs, at, (err, written) => (err ? reject(err) : resolve(written))));
        at += n;
        // A short write: go on with what is left.
        let skip = n;
        while (bufs.length && skip >= bufs[0]!.length) skip -= bufs.shift()!.length;
        if (skip > 0) bufs[0] = bufs[0]!.subarray(skip);
      }
    } catch (e) {
      f.inflight -= pieces.length;
      throw fromSystemError(e, `cannot write extent file ${this.filePath(f.no)}`);
    }
    return refs;
  }

  /** Called once the index entries for refs are committed (or abandoned). */
  async done(refs: ExtentRef[]): Promise<void> {
    for (const r of refs) {
      const f = this.current?.no === r.file ? this.current : this.sealingFiles.get(r.file);
      if (!f) continue;
      f.inflight--;
      if (f.sealing && f.inflight === 0) await this.finish(f);
    }
  }

  private sealingFiles = new Map<number, OpenFile>();

  private async finish(f: OpenFile): Promise<void> {
    await this.durable();
    this.sealingFiles.delete(f.no);
    fs.closeSync(f.fd);
    try {
      await this.sealFile(f.no);
    } finally {
      f.lock.release(); // sealed: no more appends (unsealed, the lock is what keeps it from others)
    }
  }

  /** Makes every byte appended so far durable; concurrent callers share one fdatasync. */
  async durable(): Promise<void> {
    if (this.syncing) {
      // Bytes written after the running sync started need the next one.
      this.syncQueued ??= this.syncing.then(() => { this.syncQueued = undefined; return this.syncNow(); });
      return this.syncQueued;
    }
    return this.syncNow();
  }

  private syncNow(): Promise<void> {
    const files = [...this.dirty];
    this.dirty.clear();
    const fds = files.map((no) => (this.current?.no === no ? this.current.fd : this.sealingFiles.get(no)?.fd)).filter((fd): fd is number => fd !== undefined);
    this.syncing = Promise.all(fds.map((fd) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(fromSystemError(e, 'fdatasync of extent file')) : resolve())))))
      .then(() => undefined)
      .finally(() => { this.syncing = undefined; });
    return this.syncing;
  }

  private readFd(no: number): number {
    let fd = this.readFds.get(no);
    if (fd === undefined) {
      try {
        fd = fs.openSync(this.filePath(no), 'r');
      } catch (e) {
        throw fromSystemError(e, `extent file ${this.filePath(no)} is missing`);
      }
      this.readFds.set(no, fd);
    }
    return fd;
  }

  /** Reads len bytes at pos of an extent file into dst at dstOff. */
  async read(ref: { file: number; pos: number }, len: number, dst: Uint8Array, dstOff: number): Promise<void> {
    const fd = this.readFd(ref.file);
    let done = 0;
    while (done < len) {
      const n = await new Promise<number>((resolve, reject) =>
        fs.read(fd, dst, dstOff + done, len - done, ref.pos + done, (err, b) => (err ? reject(fromSystemError(err, `read extent file ${ref.file}`)) : resolve(b))));
      if (n === 0) throw fromSystemError(Object.assign(new Error('extent file is shorter than its index says'), { code: 'EIO' }), `read extent file ${ref.file}`);
      done += n;
    }
  }

  async remove(no: number): Promise<void> {
    const fd = this.readFds.get(no);
    if (fd !== undefined) { fs.closeSync(fd); this.readFds.delete(no); }
    await fsp.rm(this.filePath(no), { force: true });
  }

  async sizeOnDisk(): Promise<number> {
    let total = 0;
    for (const name of await fsp.readdir(this.dir)) {
      if (!name.endsWith('.ext')) continue;
      const st = await fsp.stat(path.join(this.dir, name)).catch(() => undefined);
      if (st) total += st.blocks * 512;
    }
    return total;
  }

  /** Seals the current file and closes all descriptors. */
  async close(): Promise<void> {
    const cur = this.current;
    this.current = undefined;
    if (cur) {
      cur.sealing = true;
      if (cur.inflight === 0) await this.finish(cur);
      else this.sealingFiles.set(cur.no, cur);
    }
    for (const fd of this.readFds.values()) fs.closeSync(fd);
    this.readFds.clear();
  }
}
