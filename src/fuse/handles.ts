// Per-open-file read-ahead. (Write-back of an open file's data is DFS's
// HeldWriter, dfs/held.ts: small data is held for the creation's commit,
// larger data spills to a bulk writer.)
import type { DfsFile } from '../dfs/index.js';

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
