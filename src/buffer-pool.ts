// Reused I/O buffers. Copying large files reads chunk after chunk of the same
// size; a fresh 1 MiB buffer per chunk costs more in garbage collection
// (full collections of a heap of large external buffers) than the read
// itself. The pool keeps a bounded number of free buffers per size, and
// never more than `keepBytes` in all: memory stays bounded whatever sizes
// come by.

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private kept = 0;

  constructor(private readonly keepBytes = 64 << 20, private readonly keepPerSize = 64) {}

  /** A buffer of exactly `size` bytes (contents undefined). */
  get(size: number): Buffer {
    const l = this.free.get(size);
    const b = l?.pop();
    if (b) { this.kept -= b.length; return b; }
    return Buffer.allocUnsafe(size);
  }

  /** Gives a buffer back; the caller must not use it (or views of it) any more. */
  put(b: Buffer): void {
    if (b.byteOffset !== 0 || b.length !== b.buffer.byteLength) return; // a view: its owner returns the whole
    if (this.kept + b.length > this.keepBytes) return;
    const l = this.free.get(b.length) ?? [];
    if (l.length >= this.keepPerSize) return;
    l.push(b);
    this.free.set(b.length, l);
    this.kept += b.length;
  }
}

/** The process's pool of read buffers (file copies in and out). */
export const readBuffers = new BufferPool();
