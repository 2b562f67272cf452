// Per-open-file state: write-back buffering (writes are gathered into
// chunk-aligned pieces and committed as one DFS transaction per piece, several
// in flight; errors surface at the next write, flush, fsync or release) and
// sequential read-ahead (whole chunks fetched ahead of the reader).
import type { DfsFile } from '../dfs/index.js';

export interface WriteBackOptions {
  /** Chunk transactions in flight per handle. */
  inflight: number;
}

export class WriteBack {
  private pieceOff = 0;
  private pieceLen = 0;
  private pieceBufs: Buffer[] = [];
  private readonly running = new Set<Promise<void>>();
  private error: unknown;
  /** End offset of data written but not yet committed (0 when clean). */
  dirtyEnd = 0;

  constructor(private readonly file: DfsFile, private readonly chunkSize: number, private readonly opts: WriteBackOptions) {}

  get dirty(): boolean { return this.pieceLen > 0 || this.running.size > 0; }

  /** Buffers data at off; commits every completed chunk piece in the background. */
  async write(data: Buffer, off: number): Promise<void> {
    this.throwError();
    let pos = 0;
    while (pos < data.length) {
      const abs = off + pos;
      if (this.pieceLen > 0 && abs !== this.pieceOff + this.pieceLen) await this.dispatch();
      if (this.pieceLen === 0) this.pieceOff = abs;
      const chunkEnd = (Math.floor(this.pieceOff / this.chunkSize) + 1) * this.chunkSize;
      const n = Math.min(data.length - pos, chunkEnd - abs);
      // The request buffer is ours (handed over by the channel), no copy needed.
      this.pieceBufs.push(data.subarray(pos, pos + n));
      this.pieceLen += n;
      pos += n;
      this.dirtyEnd = Math.max(this.dirtyEnd, abs + n);
      if (this.pieceOff + this.pieceLen === chunkEnd) await this.dispatch();
    }
  }

  private async dispatch(): Promise<void> {
    if (this.pieceLen === 0) return;
    const buf = this.pieceBufs.length === 1 ? this.pieceBufs[0]! : Buffer.concat(this.pieceBufs, this.pieceLen);
    const off = this.pieceOff;
    this.pieceBufs = [];
    this.pieceLen = 0;
    const p: Promise<void> = this.file.write(buf, off).then(() => undefined, (e: unknown) => { this.error ??= e; })
      .finally(() => { this.running.delete(p); });
    this.running.add(p);
    while (this.running.size >= this.opts.inflight) await Promise.race(this.running);
  }

  private throwError(): void {
    if (this.error !== undefined) {
      const e = this.error;
      this.error = undefined;
      throw e;
    }
  }

  /** Commits everything buffered and waits for it; throws the first error since the last report. */
  async flush(): Promise<void> {
    await this.dispatch();
    while (this.running.size > 0) await Promise.all([...this.running]);
    this.dirtyEnd = 0;
    this.throwError();
  }
}

/** Sequential read-ahead over whole chunks; random reads go straight to DFS. */
export class ReadAhead {
  private chunks = new Map<number, Promise<Buffer>>();
  private nextOff = -1;
  private streak = 0;
  private gen = -1;

  constructor(private readonly file: DfsFile, private readonly chunkSize: number, private readonly depth: number) {}

  private fetch(idx: number): Promise<Buffer> {
    let p = this.chunks.get(idx);
    if (!p) {
      p = this.file.read(idx * this.chunkSize, this.chunkSize);
      p.catch(() => this.chunks.delete(idx));
      this.chunks.set(idx, p);
    }
    return p;
  }

  /** Reads [off, off+len); `gen` changes whenever the file was written through this mount. */
  async read(off: number, len: number, gen: number): Promise<Buffer> {
    if (gen !== this.gen) { this.chunks.clear(); this.gen = gen; }
    const sequential = off === this.nextOff || (off === 0 && this.nextOff === -1);
    this.streak = sequential ? this.streak + 1 : 0;
    this.nextOff = off + len;
    const cs = this.chunkSize;
    const first = Math.floor(off / cs);
    const last = Math.floor((off + len - 1) / cs);
    if (this.streak < 2 && !this.chunks.has(first)) {
      return this.file.read(off, len);
    }
    for (const k of this.chunks.keys()) if (k < first) this.chunks.delete(k);
    for (let i = last + 1; i <= last + this.depth; i++) void this.fetch(i).catch(() => undefined);
    const parts: Buffer[] = [];
    for (let i = first; i <= last; i++) {
      const c = await this.fetch(i);
      const from = i === first ? off - i * cs : 0;
      const to = i === last ? off + len - i * cs : cs;
      if (from >= c.length) break;
      parts.push(c.subarray(from, Math.min(to, c.length)));
      if (c.length < cs) break; // end of file
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
