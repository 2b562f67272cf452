// Datasets: chunk I/O (hyperslab reads and writes through the stored chunks,
// fill values for chunks never written), variable-length strings in the
// dataset's heap, and changing the extent.
import type { ObjectId } from '../object/index.js';
import { StrataError, isStrataError } from '../errors.js';
import type { H5RichType, H5Space } from './h5lib/index.js';
import { META, HEAP, A_SPACE, A_DATA, A_END, A_HEAP, A_RAW, A_RAW_META, chunkKey, isChunkKey, chunkCoords, encodeJson, spaceElements, type DatasetRecord } from './layout.js';
import { checkSlab, chunksOf, copyBlock, intersect } from './slab.js';
import { encodeAll, decodeAll, decodeValue, hasVlenData, isVarString, storedSize, type H5Value } from './types.js';
import { H5Node } from './attributes.js';
import { isReference } from './references.js';
import type { H5Store } from './store.js';

function allZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export class H5Dataset extends H5Node {
  readonly kind = 'dataset' as const;
  private fillElem: Buffer;

  constructor(store: H5Store, oid: ObjectId, path: string, public record: DatasetRecord) {
    super(store, oid, path);
    const es = storedSize(record.type);
    this.fillElem = record.dcpl.fill.value && !isVarString(record.type) ? Buffer.from(record.dcpl.fill.value, 'base64') : Buffer.alloc(es);
  }

  get type(): H5RichType { return this.record.type; }
  get space(): H5Space { return this.record.space; }
  get dims(): number[] { return this.record.space.dims; }
  get maxdims(): number[] { return this.record.space.maxdims ?? this.record.space.dims; }
  get rank(): number { return this.record.space.dims.length; }
  get elements(): number { return spaceElements(this.record.space); }
  /** Bytes per element as stored (variable strings: 16-byte references). */
  get elementSize(): number { return storedSize(this.record.type); }
  get storeChunk(): number[] { return this.record.dcpl.storeChunk; }
  private get chunkBytes(): number { return this.storeChunk.reduce((a, c) => a * c, this.elementSize); }

  private fillChunk(): Buffer {
    const b = Buffer.alloc(this.chunkBytes);
    if (!allZero(this.fillElem)) for (let o = 0; o < b.length; o += this.fillElem.length) this.fillElem.copy(b, o);
    return b;
  }

  /** Reads a stored chunk, or the fill pattern when it was never written. */
  private async readChunk(coords: number[]): Promise<Buffer> {
    const key = chunkKey(coords);
    const data = Buffer.from(await this.o.read(key, A_DATA, 0, this.chunkBytes, this.store.epoch));
    if (!allZero(this.fillElem) && allZero(data) && (await this.o.extents(key, A_DATA, this.store.epoch)).length === 0) return this.fillChunk();
    return data;
  }

  /** Chunks kept filtered (Dcpl.raw) have no values to read or change here. */
  private checkNotRaw(what: string): void {
    if (!this.record.dcpl.raw) return;
    const names = this.record.dcpl.filters.filter((f) => f.available === false).map((f) => f.name || `filter ${f.id}`);
    throw new StrataError('ENOTSUP', `${this.where()}: cannot ${what}: its chunks are kept compressed (${names.join(', ') || 'a filter'} was not available when it was imported); export it to a file and read it where the filter is installed`);
  }

  private checkSel(start: number[], count: number[], what: string): number {
    this.checkNotRaw(what);
    if (this.space.kind === 'null') throw new StrataError('EINVAL', `${this.where()}: ${what}: the dataset has a null dataspace (no elements)`);
    if (this.space.kind === 'scalar') {
      if (start.length || count.length) throw new StrataError('EINVAL', `${this.where()}: ${what}: a scalar dataset takes an empty selection`);
      return 1;
    }
    return checkSlab(this.dims, start, count, `${this.where()}: ${what}`);
  }

  /** Reads a hyperslab: raw elements in the dataset's type (row-major). */
  async readSlab(start: number[], count: number[]): Promise<Buffer> {
    if (isVarString(this.type)) throw new StrataError('EINVAL', `${this.where()}: variable-length strings: use readStrings`);
    if (hasVlenData(this.type) || isReference(this.type)) throw new StrataError('EINVAL', `${this.where()}: variable-length data and references: use readValues`);
    return this.readStored(start, count);
  }

  private async readStored(start: number[], count: number[]): Promise<Buffer> {
    const n = this.checkSel(start, count, 'read');
    const es = this.elementSize;
    const out = Buffer.alloc(n * es);
    if (n === 0) return out;
    const ch = this.storeChunk;
    for (const c of chunksOf(start, count, ch)) {
      const part = intersect(c, ch, start, count)!;
      const data = await this.readChunk(c);
      copyBlock(data, ch, part.start.map((s, i) => s - c[i]! * ch[i]!), out, count, part.start.map((s, i) => s - start[i]!), part.count, es);
    }
    return out;
  }

  /** Writes a hyperslab of raw elements in the dataset's type. `fresh`: chunks are known to be unwritten (import). */
  async writeSlab(start: number[], count: number[], data: Uint8Array, opts: { fresh?: boolean } = {}): Promise<void> {
    if (isVarString(this.type)) throw new StrataError('EINVAL', `${this.where()}: variable-length strings: use writeStrings`);
    if (hasVlenData(this.type) || isReference(this.type)) throw new StrataError('ENOTSUP', `${this.where()}: variable-length data and references are written by import only`);
    return this.writeStored(start, count, data, opts);
  }

  private async writeStored(start: number[], count: number[], data: Uint8Array, opts: { fresh?: boolean; skipFill?: boolean } = {}): Promise<void> {
    const n = this.checkSel(start, count, 'write');
    const es = this.elementSize;
    if (data.length !== n * es) throw new StrataError('EINVAL', `${this.where()}: write: ${data.length} bytes given, the selection needs ${n * es} (${n} × ${es})`);
    this.store.writeTx(`write ${this.where()}`);
    if (n === 0) return;
    const ch = this.storeChunk;
    const dims = this.space.kind === 'scalar' ? [] : this.dims;
    for (const c of chunksOf(start, count, ch)) {
      const part = intersect(c, ch, start, count)!;
      // Covered: every element of the chunk inside the extent is written.
      const covered = c.every((ci, i) => {
        const c0 = ci * ch[i]!;
        return part.start[i] === c0 && part.start[i]! + part.count[i]! >= Math.min(c0 + ch[i]!, dims[i]!);
      });
      const buf = covered || opts.fresh ? this.fillChunk() : await this.readChunk(c);
      copyBlock(data, count, part.start.map((s, i) => s - start[i]!), buf, ch, part.start.map((s, i) => s - c[i]! * ch[i]!), part.count, es);
      // A fresh chunk holding nothing but the fill value stays unwritten (sparse).
      if (opts.fresh && opts.skipFill !== false && buf.equals(this.fillChunk())) continue;
      this.store.writeTx(`write ${this.where()}`).write(this.o, chunkKey(c), A_DATA, 0, buf);
      await this.store.done(buf.length);
    }
    await this.store.done();
  }

  /** Reads a hyperslab as JS values. */
  async readValues(start: number[], count: number[]): Promise<H5Value[]> {
    if (isVarString(this.type)) return this.readStrings(start, count);
    if (hasVlenData(this.type) || isReference(this.type)) return this.readVlenValues(start, count);
    return decodeAll(this.type, await this.readSlab(start, count));
  }

  /** Writes JS values (numbers, bigints, strings, objects for compounds, enum names...). */
  async writeValues(start: number[], count: number[], values: H5Value[]): Promise<void> {
    if (isVarString(this.type)) return this.writeStrings(start, count, values.map(String));
    return this.writeSlab(start, count, encodeAll(this.type, values));
  }

  /** Variable-length strings: reads a hyperslab. */
  async readStrings(start: number[], count: number[]): Promise<string[]> {
    if (!isVarString(this.type)) throw new StrataError('EINVAL', `${this.where()}: not a variable-length string dataset`);
    const refs = await this.readStored(start, count);
    const out: string[] = [];
    let lo = Infinity, hi = 0;
    for (let o = 0; o < refs.length; o += 16) {
      const off = Number(refs.readBigUInt64BE(o)), len = Number(refs.readBigUInt64BE(o + 8));
      if (len) { lo = Math.min(lo, off); hi = Math.max(hi, off + len); }
    }
    // One read of the heap range when it is compact, else one per string.
    const span = hi > lo ? hi - lo : 0;
    const heap = span > 0 && span <= Math.max(4 * 1024 * 1024, refs.length * 64) ? Buffer.from(await this.o.read(HEAP, A_DATA, lo, span, this.store.epoch)) : undefined;
    for (let o = 0; o < refs.length; o += 16) {
      const off = Number(refs.readBigUInt64BE(o)), len = Number(refs.readBigUInt64BE(o + 8));
      if (!len) { out.push(''); continue; }
      const b = heap ? heap.subarray(off - lo, off - lo + len) : Buffer.from(await this.o.read(HEAP, A_DATA, off, len, this.store.epoch));
      out.push(b.toString('utf8'));
    }
    return out;
  }

  /** Variable-length strings: writes a hyperslab. */
  async writeStrings(start: number[], count: number[], values: string[], opts: { fresh?: boolean } = {}): Promise<void> {
    if (!isVarString(this.type)) throw new StrataError('EINVAL', `${this.where()}: not a variable-length string dataset`);
    const n = this.checkSel(start, count, 'write');
    if (values.length !== n) throw new StrataError('EINVAL', `${this.where()}: write: ${values.length} strings given, the selection holds ${n}`);
    const bytes = values.map((s) => Buffer.from(s, 'utf8'));
    const total = bytes.reduce((a, b) => a + b.length, 0);
    for (let attempt = 0; ; attempt++) {
      const tx = this.store.writeTx(`write ${this.where()}`);
      const endRaw = this.store.batch && this.heapEnd !== undefined ? undefined : await this.o.get(HEAP, A_END);
      let base = this.store.batch && this.heapEnd !== undefined ? this.heapEnd : endRaw && endRaw.length === 8 ? Number(Buffer.from(endRaw).readBigUInt64LE(0)) : 0;
      if (!this.store.batch) tx.expectVersion(this.o, HEAP, A_END, await this.o.version(HEAP, A_END));
      const refs = Buffer.alloc(n * 16);
      const heap = Buffer.alloc(total);
      let p = 0;
      bytes.forEach((b, i) => {
        if (b.length) { refs.writeBigUInt64BE(BigInt(base + p), i * 16); refs.writeBigUInt64BE(BigInt(b.length), i * 16 + 8); b.copy(heap, p); p += b.length; }
      });
      if (total) {
        tx.write(this.o, HEAP, A_DATA, base, heap);
        tx.putMax(this.o, HEAP, A_END, BigInt(base + total));
      }
      base += total;
      if (this.store.batch) this.heapEnd = base;
      try {
        await this.writeStored(start, count, refs, { ...opts, skipFill: false });
        await this.store.done(total);
        return;
      } catch (e) {
        if (!isStrataError(e, 'ECONFLICT') || attempt >= 20) throw e;
      }
    }
  }

  private heapEnd: number | undefined;

  /*
   * Types holding variable-length data other than top-level strings keep, per
   * chunk, the elements (memory layout, heap references) under `d` and the
   * chunk's own heap under `h` (its length in `end`): a chunk reads and
   * writes as one piece, with no walk of a shared heap.
   */

  /** A stored chunk of variable-length data: its elements (full chunk) and its heap (offsets from 0). */
  async readVlenChunk(coords: number[]): Promise<{ fixed: Buffer; heap: Buffer }> {
    const key = chunkKey(coords);
    const fixed = Buffer.from(await this.o.read(key, A_DATA, 0, this.chunkBytes, this.store.epoch));
    const end = await this.o.get(key, A_END, this.store.epoch);
    const len = end && end.length === 8 ? Number(Buffer.from(end).readBigUInt64LE(0)) : 0;
    const heap = len ? Buffer.from(await this.o.read(key, A_HEAP, 0, len, this.store.epoch)) : Buffer.alloc(0);
    return { fixed, heap };
  }

  /** Import: the part [start, start+count) of chunk `coords` (never written before), with its heap (offsets from 0). */
  async writeVlenChunk(coords: number[], start: number[], count: number[], fixed: Buffer, heap: Buffer): Promise<void> {
    const n = this.checkSel(start, count, 'write');
    const es = this.elementSize;
    if (fixed.length !== n * es) throw new StrataError('EINVAL', `${this.where()}: write: ${fixed.length} bytes given, the selection needs ${n * es}`);
    const ch = this.storeChunk;
    const buf = Buffer.alloc(this.chunkBytes);
    copyBlock(fixed, count, count.map(() => 0), buf, ch, start.map((s, i) => s - coords[i]! * ch[i]!), count, es);
    if (!heap.length && allZero(buf)) return; // nothing but empty elements: stays sparse
    const tx = this.store.writeTx(`write ${this.where()}`);
    const key = chunkKey(coords);
    tx.write(this.o, key, A_DATA, 0, buf);
    if (heap.length) {
      tx.write(this.o, key, A_HEAP, 0, heap);
      const end = Buffer.alloc(8);
      end.writeBigUInt64LE(BigInt(heap.length));
      tx.put(this.o, key, A_END, end);
    }
    await this.store.done(buf.length + heap.length);
  }

  /** Variable-length data as JS values (arrays for sequences), chunk by chunk. */
  private async readVlenValues(start: number[], count: number[]): Promise<H5Value[]> {
    const n = this.checkSel(start, count, 'read');
    const out: H5Value[] = new Array<H5Value>(n);
    if (n === 0) return out;
    const es = this.elementSize;
    const ch = this.storeChunk;
    for (const c of chunksOf(start, count, ch)) {
      const part = intersect(c, ch, start, count)!;
      const { fixed, heap } = await this.readVlenChunk(c);
      const m = part.count.reduce((a, x) => a * x, 1);
      const elems = Buffer.alloc(m * es);
      copyBlock(fixed, ch, part.start.map((s, i) => s - c[i]! * ch[i]!), elems, part.count, part.count.map(() => 0), part.count, es);
      // element k of the part (row-major) -> its index in the selection
      const idx = part.count.map(() => 0);
      for (let k = 0; k < m; k++) {
        let at = 0;
        for (let i = 0; i < count.length; i++) at = at * count[i]! + (part.start[i]! - start[i]! + idx[i]!);
        out[at] = decodeValue(this.type, elems, k * es, { buf: heap, base: 0 });
        for (let i = idx.length - 1; i >= 0; i--) { if (++idx[i]! < part.count[i]!) break; idx[i] = 0; }
      }
    }
    return out;
  }

  /** Changes the current dims (chunked datasets, up to maxdims); shrinking drops the data outside. */
  async setExtent(dims: number[]): Promise<void> {
    this.checkNotRaw('change its extent');
    if (this.record.dcpl.layout !== 'chunked') throw new StrataError('EINVAL', `${this.where()}: only chunked datasets can change their extent`);
    if (dims.length !== this.rank || dims.some((d, i) => !Number.isSafeInteger(d) || d < 0 || (this.maxdims[i] !== -1 && d > this.maxdims[i]!))) {
      throw new StrataError('EINVAL', `${this.where()}: extent [${dims.join(', ')}] exceeds the maximum [${this.maxdims.map((m) => (m === -1 ? 'unlimited' : m)).join(', ')}]`);
    }
    const old = this.dims;
    const space: H5Space = { ...this.space, dims: dims.slice() };
    const tx = this.store.writeTx(`extend ${this.where()}`);
    tx.put(this.o, META, A_SPACE, encodeJson(space));
    if (dims.some((d, i) => d < old[i]!)) {
      // Shrinking: chunks wholly outside go, chunks across the new edge get the fill value outside it.
      const ch = this.storeChunk;
      for await (const c of this.chunkCoords()) {
        const inside = c.map((ci, i) => Math.max(0, Math.min(ch[i]!, dims[i]! - ci * ch[i]!)));
        if (inside.some((x) => x === 0)) { tx.punchDkey(this.o, chunkKey(c)); continue; }
        if (inside.every((x, i) => x === ch[i])) continue;
        const cur = await this.readChunk(c);
        const buf = this.fillChunk();
        copyBlock(cur, ch, ch.map(() => 0), buf, ch, ch.map(() => 0), inside, this.elementSize);
        tx.write(this.o, chunkKey(c), A_DATA, 0, buf);
      }
    }
    await this.store.done();
    this.record = { ...this.record, space };
  }

  /** A chunk kept filtered (Dcpl.raw): its bytes and filter mask, or undefined when absent. */
  async readRawChunk(coords: number[]): Promise<{ mask: number; data: Buffer } | undefined> {
    const key = chunkKey(coords);
    const m = await this.o.get(key, A_RAW_META, this.store.epoch);
    if (!m) return undefined;
    if (m.length !== 12) throw new StrataError('EIO', `corrupt HDF5 container: ${this.where()}: bad filtered-chunk record`);
    const mb = Buffer.from(m);
    const size = Number(mb.readBigUInt64BE(4));
    const data = Buffer.from(await this.o.read(key, A_RAW, 0, size, this.store.epoch));
    return { mask: mb.readUInt32BE(0), data };
  }

  /** Import: a chunk as the filter pipeline left it in the file. */
  async writeRawChunk(coords: number[], mask: number, data: Buffer): Promise<void> {
    if (!this.record.dcpl.raw) throw new StrataError('EINVAL', `${this.where()}: its chunks are stored unfiltered`);
    const key = chunkKey(coords);
    const m = Buffer.alloc(12);
    m.writeUInt32BE(mask >>> 0, 0);
    m.writeBigUInt64BE(BigInt(data.length), 4);
    const tx = this.store.writeTx(`write ${this.where()}`);
    if (data.length) tx.write(this.o, key, A_RAW, 0, data);
    tx.put(this.o, key, A_RAW_META, m);
    await this.store.done(data.length);
  }

  /** Chunk coordinates that hold data, in row-major order. */
  async *chunkCoords(): AsyncGenerator<number[]> {
    for await (const k of this.o.dkeys({ epoch: this.store.epoch })) {
      if (!isChunkKey(k)) { if (k[0]! > 0) return; continue; }
      yield chunkCoords(k);
    }
  }
}
