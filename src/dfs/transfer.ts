// Copying whole files between the local filesystem and DFS, chunk by chunk
// with several chunk transactions in flight. All-zero chunks read from the
// local side are not written (they stay holes); holes of a DFS file stay holes
// in the local file (only stored extents are written, then the size is set).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { StrataError, fromSystemError } from '../errors.js';
import { readBuffers } from '../buffer-pool.js';
import type { Dfs } from './dfs.js';
import type { CreateOptions } from './dir.js';
import type { DfsFile } from './io.js';
import { parentOf, resolve } from './lookup.js';
import { HeldWriter, createTemp, placeTemp } from './held.js';

export interface TransferResult {
  bytes: number;
  /** Bytes actually moved (holes/zero chunks skipped). */
  dataBytes: number;
  seconds: number;
}

export interface TransferOptions extends CreateOptions {
  /** Chunks in flight (default 8); putFile commits PUT_BATCH bytes per transaction, at least two at a time. */
  parallel?: number;
}

/** Runs tasks with at most `n` in flight; rejects on the first failure. */
class Limiter {
  private running = new Set<Promise<void>>();
  private failed: unknown;
  constructor(private readonly n: number) {}
  async add(task: () => Promise<void>): Promise<void> {
    if (this.failed) throw this.failed;
    while (this.running.size >= this.n) await Promise.race(this.running);
    if (this.failed) throw this.failed;
    const p: Promise<void> = task().catch((e) => { this.failed ??= e; }).finally(() => { this.running.delete(p); });
    this.running.add(p);
  }
  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failed) throw this.failed;
  }
}

const ZEROS = Buffer.alloc(1 << 20);

/** True if every byte is zero (memcmp against a zero page, 1 MiB at a time). */
export function isZero(b: Uint8Array): boolean {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < buf.length; i += ZEROS.length) {
    const n = Math.min(ZEROS.length, buf.length - i);
    if (!buf.subarray(i, i + n).equals(ZEROS.subarray(0, n))) return false;
  }
  return true;
}

/** Bytes committed per transaction by putFile: a 1 GiB file is ~130 durable commits, not one per chunk. */
export const PUT_BATCH = 8 << 20;

/**
 * Copies a local file (or a readable stream such as stdin) into a DFS file,
 * replacing a file of that name, through the write session's HeldWriter
 * (docs/dfs.md): a file whose data fits in one batch is created with its
 * data in one transaction; a larger one is written under a temporary name
 * (PUT_BATCH bytes per transaction, at least two in flight) and renamed into
 * place with its exact size and mtime in the last one: a put that fails or
 * is killed never leaves a half-written file under the final name. Read
 * buffers come from a pool and go back once their transaction has committed.
 */
export async function putFile(dfs: Dfs, source: string | Readable, dest: string, opts: TransferOptions = {}): Promise<TransferResult> {
  const t0 = process.hrtime.bigint();
  dfs.core.checkWritable(`put ${dest}`);
  const r = await resolve(dfs.core, dest, false);
  if (r.trailingSlash || r.ent?.type === 'dir') throw new StrataError('EISDIR', `${dest}: is a directory`);
  const dir = parentOf(r);
  const cs = opts.chunkSize ?? dfs.chunkSize;
  const perBatch = Math.max(1, Math.floor(PUT_BATCH / cs));
  const inode = { mode: opts.mode, chunkSize: cs };
  const release = (d: Uint8Array) => readBuffers.put(d as Buffer);
  let tmp: { name: string; file: DfsFile } | undefined;
  const data = new HeldWriter(async () => {
    tmp = await createTemp(dfs, dir, inode);
    // Commits in flight: as many as `parallel` chunks fill, at least two (one reads while one commits).
    return tmp.file.writer({ batchBytes: perBatch * cs, inflight: Math.max(2, Math.ceil((opts.parallel ?? 8) / perBatch)), touch: false, release });
  }, { limit: perBatch * cs });
  const chunks = typeof source === 'string' ? fileChunks(source, cs) : streamChunks(source, cs);
  let total = 0;
  let dataBytes = 0;
  try {
    for (;;) {
      const c = await chunks.next();
      if (c.done) { total = c.value; break; }
      if (isZero(c.value.data)) { readBuffers.put(c.value.buf); continue; }
      dataBytes += c.value.data.length;
      await data.write(c.value.data, c.value.offset);
    }
    const pieces = data.takeHeld();
    if (pieces) {
      // Everything in one transaction, under the final name.
      try {
        await dfs.createAt(dir, r.name, 'file', { ...inode, pieces, size: total, exists: 'replace' });
      } finally {
        for (const p of pieces) release(p.data);
      }
    } else {
      await data.flush();
      // The exact size (a zero tail is not stored) and the rename into place, in one transaction.
      await placeTemp(dfs, dir, tmp!, r.name, { size: total, mtimeNs: 'now' });
      tmp = undefined;
    }
  } catch (e) {
    await chunks.return(0).catch(() => undefined);
    for (const p of data.takeHeld() ?? []) release(p.data);
    await data.discard();
    if (tmp) await dfs.unlinkAt(dir, tmp.name).catch(() => undefined);
    throw e;
  }
  return { bytes: total, dataBytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** A chunk read into a pooled buffer (`buf`, returned to the pool once committed); `data` is the part read. */
interface Chunk { buf: Buffer; data: Buffer; offset: number }

/** The chunks of a local file, read into pooled buffers; returns its size. */
async function* fileChunks(source: string, cs: number): AsyncGenerator<Chunk, number> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(source, 'r');
  } catch (e) {
    throw fromSystemError(e, `put ${source}`);
  }
  try {
    const size = (await fh.stat()).size;
    for (let off = 0; off < size; off += cs) {
      const n = Math.min(cs, size - off);
      const buf = readBuffers.get(n);
      let got = 0;
      try {
        while (got < n) {
          const { bytesRead } = await fh.read(buf, got, n - got, off + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } catch (e) {
        readBuffers.put(buf);
        throw fromSystemError(e, `put ${source}`);
      }
      if (got < n) {
        readBuffers.put(buf);
        throw new StrataError('EIO', `put ${source}: the file shrank while being read`);
      }
      yield { buf, data: buf, offset: off };
    }
    return size;
  } finally {
    await fh.close();
  }
}

/** The chunks of a stream (stdin), gathered into pooled buffers of the chunk size; returns the length. */
async function* streamChunks(source: Readable, cs: number): AsyncGenerator<Chunk, number> {
  let total = 0;
  let buf: Buffer | undefined;
  let filled = 0;
  for await (const piece of source) {
    let b = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
    while (b.length > 0) {
      buf ??= readBuffers.get(cs);
      const n = Math.min(cs - filled, b.length);
      b.copy(buf, filled, 0, n);
      filled += n;
      b = b.subarray(n);
      if (filled === cs) {
        yield { buf, data: buf, offset: total };
        total += cs;
        buf = undefined;
        filled = 0;
      }
    }
  }
  if (buf) {
    yield { buf, data: buf.subarray(0, filled), offset: total };
    total += filled;
  }
  return total;
}

/**
 * Copies a DFS file to a local file (holes stay holes: only stored extents are
 * written, then the size is set) or to a writable stream (all bytes, in order).
 */
export async function getFile(dfs: Dfs, src: string, dest: string | Writable, opts: { parallel?: number } = {}): Promise<TransferResult> {
  const t0 = process.hrtime.bigint();
  const f = await dfs.open(src);
  const size = await f.size();
  const cs = f.chunkSize;
  const par = opts.parallel ?? 8;
  let dataBytes = 0;
  if (typeof dest === 'string') {
    // A regular file (new or replaced) is written under a temporary name and
    // renamed when whole: a failed get leaves the old file or nothing. Other
    // destinations (/dev/null, a fifo) are written in place.
    const old = fs.statSync(dest, { throwIfNoEntry: false });
    const tmp = !old || old.isFile() ? path.join(path.dirname(dest), `.${path.basename(dest)}.strata-${randomBytes(6).toString('hex')}.tmp`) : undefined;
    let fh: fs.promises.FileHandle;
    try {
      fh = tmp ? await fs.promises.open(tmp, 'wx', old ? old.mode & 0o7777 : 0o666) : await fs.promises.open(dest, 'w');
    } catch (e) {
      throw fromSystemError(e, `get ${dest}`);
    }
    let whole = false;
    try {
      const lim = new Limiter(par);
      for (const ext of await f.extents()) {
        for (let off = ext.offset; off < ext.offset + ext.length;) {
          const next = Math.min(ext.offset + ext.length, (Math.floor(off / cs) + 1) * cs);
          const at = off;
          const n = next - off;
          await lim.add(async () => {
            const buf = await f.read(at, n);
            dataBytes += buf.length;
            await fh.write(buf, 0, buf.length, at);
          });
          off = next;
        }
      }
      await lim.drain();
      await fh.truncate(size);
      whole = true;
    } finally {
      await fh.close();
      if (tmp) {
        if (whole) await fs.promises.rename(tmp, dest).catch((e) => { throw fromSystemError(e, `get ${dest}`); });
        else await fs.promises.rm(tmp, { force: true });
      }
    }
  } else {
    // In-order stream: keep up to `par` reads ahead.
    const reads: Array<Promise<Buffer>> = [];
    let next = 0;
    const more = () => {
      while (reads.length < par && next < size) {
        const n = Math.min(cs - (next % cs), size - next);
        reads.push(f.read(next, n));
        next += n;
      }
    };
    more();
    while (reads.length > 0) {
      const buf = await reads.shift()!;
      more();
      dataBytes += buf.length;
      if (!dest.write(buf)) await new Promise<void>((r) => dest.once('drain', () => r()));
    }
  }
  return { bytes: size, dataBytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}
