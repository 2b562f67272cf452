// Copying whole files between the local filesystem and DFS, chunk by chunk
// with several chunk transactions in flight. All-zero chunks read from the
// local side are not written (they stay holes); holes of a DFS file stay holes
// in the local file (only stored extents are written, then the size is set).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { fromSystemError } from '../errors.js';
import type { Dfs } from './dfs.js';
import type { CreateOptions } from './dir.js';

export interface TransferResult {
  bytes: number;
  /** Bytes actually moved (holes/zero chunks skipped). */
  dataBytes: number;
  seconds: number;
}

export interface TransferOptions extends CreateOptions {
  /** Chunk transactions in flight (default 8). */
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

/** Copies a local file (or a readable stream such as stdin) into a DFS file (created or truncated). */
export async function putFile(dfs: Dfs, source: string | Readable, dest: string, opts: TransferOptions = {}): Promise<TransferResult> {
  const t0 = process.hrtime.bigint();
  const f = await dfs.open(dest, { create: true, truncate: true, mode: opts.mode, chunkSize: opts.chunkSize });
  const cs = f.chunkSize;
  const lim = new Limiter(opts.parallel ?? 8);
  let total = 0;
  let dataBytes = 0;
  const writePiece = async (buf: Buffer, off: number) => {
    if (isZero(buf)) return;
    dataBytes += buf.length;
    await f.write(buf, off);
  };
  if (typeof source === 'string') {
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
        const at = off;
        await lim.add(async () => {
          const buf = Buffer.allocUnsafe(n);
          const { bytesRead } = await fh.read(buf, 0, n, at);
          await writePiece(buf.subarray(0, bytesRead), at);
        });
      }
      await lim.drain();
      total = size;
    } finally {
      await fh.close();
    }
  } else {
    let pending: Buffer[] = [];
    let pendingLen = 0;
    const flush = async (all: boolean) => {
      while (pendingLen >= cs || (all && pendingLen > 0)) {
        const joined = Buffer.concat(pending, pendingLen);
        const n = Math.min(cs, joined.length);
        const piece = Buffer.from(joined.subarray(0, n));
        const at = total;
        total += n;
        pending = [joined.subarray(n)];
        pendingLen = joined.length - n;
        await lim.add(() => writePiece(piece, at));
      }
    };
    for await (const chunk of source) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      pending.push(b);
      pendingLen += b.length;
      await flush(false);
    }
    await flush(true);
    await lim.drain();
  }
  if ((await f.size()) !== total) await f.truncate(total);
  return { bytes: total, dataBytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
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
