// Per-open-file state: write-back buffering and sequential read-ahead.
//
// Write-back: writes are buffered in the handle. Up to `small` bytes stay
// there until flush, so a small new file can be committed together with its
// creation (file-ops.ts: one transaction for create + data + attributes); beyond
// that they go to a DFS bulk writer that commits several chunks per
// transaction in the background (errors surface at the next write, flush,
// fsync or release). `ensure` runs before the first commit of data (the
// file's creation must be committed first).
import type { BulkWriter, DfsFile } from '../dfs/index.js';

export interface WriteBackOptions {
  /** Transactions in flight per handle. */
  inflight: number;
  /** Bytes per transaction. */
  batchBytes: number;
  /** Bytes kept in the handle before data goes to the bulk writer. */
  small: number;
}

export class WriteBack {
  private held: Array<{ data: Buffer; offset: number }> = [];
  private heldBytes = 0;
  private bw: BulkWriter | undefined;
  /** End offset of data written but not yet committed (0 when clean). */
  dirtyEnd = 0;

  constructor(private readonly file: DfsFile, private readonly ensure: () => Promise<void>, private readonly opts: WriteBackOptions) {}

  get dirty(): boolean { return this.heldBytes > 0 || !!this.bw?.dirty; }
  /** Data went to the bulk writer and may be committing in the background. */
  get busy(): boolean { return !!this.bw?.dirty; }

  /** Buffers data at off (the request buffer is handed over, not copied). */
  async write(data: Buffer, off: number): Promise<void> {
    this.dirtyEnd = Math.max(this.dirtyEnd, off + data.length);
    if (!this.bw && this.heldBytes + data.length <= this.opts.small) {
      this.held.push({ data, offset: off });
      this.heldBytes += data.length;
      return;
    }
    if (!this.bw) await this.spill();
    await this.bw!.write(data, off);
  }

  private async spill(): Promise<void> {
    await this.ensure();
    this.bw ??= this.file.writer({ batchBytes: this.opts.batchBytes, inflight: this.opts.inflight });
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const p of held) await this.bw.write(p.data, p.offset);
  }

  /**
   * Hands over what is still held (never sent to DFS) for a commit done by
   * the caller, or undefined when data already went to the bulk writer.
   */
  takeHeld(): Array<{ data: Buffer; offset: number }> | undefined {
    if (this.bw) return undefined;
    const h = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.dirtyEnd = 0;
    return h;
  }

  /** Commits everything buffered and waits for it; throws the first error since the last report. */
  async flush(): Promise<void> {
    if (this.heldBytes > 0) await this.spill();
    if (this.bw) await this.bw.flush();
    this.dirtyEnd = 0;
  }
}

/** Sequential read-ahead over whole chunks; random reads go straight to DFS. */
export class ReadAhead {
  private chunks = new Map<number, Promise<Buffer>>();
  private nextOff = -1;
  private streak = 0;
  private gen = -1;
  /** The file size when known (no size read per chunk); undefined after a change. */
  size: number | undefined;

  constructor(private readonly file: DfsFile, private readonly chunkSize: number, private readonly depth: number) {}

  /** Chunk reads in flight (prefetches nobody may be waiting for yet). */
  fetching = 0;

  private fetch(idx: number): Promise<Buffer> {
    let p = this.chunks.get(idx);
    if (!p) {
      this.fetching++;
      p = this.file.read(idx * this.chunkSize, this.chunkSize, this.size === undefined ? {} : { size: this.size });
      void p.finally(() => { this.fetching--; }).catch(() => undefined);
      p.catch(() => this.chunks.delete(idx));
      this.chunks.set(idx, p);
    }
    return p;
  }

  /** Reads [off, off+len); `gen` changes whenever the file was written through this mount. */
  async read(off: number, len: number, gen: number): Promise<Buffer> {
    if (gen !== this.gen) { this.chunks.clear(); this.gen = gen; this.size = undefined; }
    const sequential = off === this.nextOff || (off === 0 && this.nextOff === -1);
    this.streak = sequential ? this.streak + 1 : 0;
    this.nextOff = off + len;
    const cs = this.chunkSize;
    const first = Math.floor(off / cs);
    const last = Math.floor((off + len - 1) / cs);
    if (this.streak < 2 && !this.chunks.has(first)) {
      return this.file.read(off, len, this.size === undefined ? {} : { size: this.size });
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
