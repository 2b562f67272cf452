// Object and region references. In a container a reference names the target
// by OID (what the export turns back into a reference to the same object in
// the new file) and, for reading, by its path when it was stored; a region
// reference adds its selection (H5Sencode of the target's dataspace).
//
// Stored like other variable-length data (per-chunk heap, or the
// attribute's own): each element's first 8 bytes are 0 (a null reference)
// or the offset + 1 in the heap of a u32 BE length and the JSON
// {oid, path, region?: base64}; the rest of the element is zero.
import { StrataError } from '../errors.js';
import type { H5RichType } from './h5lib/index.js';

export interface RefTarget { oid: string; path: string; region?: Buffer }

export function isReference(t: H5RichType): boolean {
  return t.class === 'reference';
}

export function encodeRefs(t: H5RichType, refs: ReadonlyArray<RefTarget | null>): { fixed: Buffer; heap: Buffer } {
  const fixed = Buffer.alloc(refs.length * t.size);
  const parts: Buffer[] = [];
  let at = 0;
  refs.forEach((r, i) => {
    if (!r) return;
    const j = Buffer.from(JSON.stringify({ oid: r.oid, path: r.path, ...(r.region ? { region: r.region.toString('base64') } : {}) }), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(j.length);
    parts.push(len, j);
    fixed.writeBigUInt64BE(BigInt(at + 1), i * t.size);
    at += 4 + j.length;
  });
  return { fixed, heap: Buffer.concat(parts) };
}

/** The reference in the element at `off` of `fixed`. */
export function decodeRef(fixed: Buffer, off: number, heap: Buffer): RefTarget | null {
  const v = Number(fixed.readBigUInt64BE(off));
  if (v === 0) return null;
  const at = v - 1;
  const bad = () => new StrataError('EIO', 'corrupt HDF5 container: a reference points outside its heap');
  if (at + 4 > heap.length) throw bad();
  const len = heap.readUInt32BE(at);
  if (at + 4 + len > heap.length) throw bad();
  let j: { oid?: unknown; path?: unknown; region?: unknown };
  try { j = JSON.parse(heap.toString('utf8', at + 4, at + 4 + len)) as typeof j; } catch { throw bad(); }
  if (typeof j.oid !== 'string' || typeof j.path !== 'string') throw bad();
  return { oid: j.oid, path: j.path, ...(typeof j.region === 'string' ? { region: Buffer.from(j.region, 'base64') } : {}) };
}

export function decodeRefs(t: H5RichType, fixed: Buffer, heap: Buffer): Array<RefTarget | null> {
  const out: Array<RefTarget | null> = [];
  for (let off = 0; off + t.size <= fixed.length; off += t.size) out.push(decodeRef(fixed, off, heap));
  return out;
}

/*
 * Object references inside other types (compound members, arrays, sequences:
 * netCDF-4 and h5py dimension scales' DIMENSION_LIST and REFERENCE_LIST) travel
 * with the variable-length data (native/h5/h5.c passes them through as the
 * file address libhdf5 1.10 holds in an object reference). Before storing,
 * each becomes offset + 1 of a {oid, path} entry appended to the heap, as
 * top-level references are; before writing a file, the address of the same
 * object in the new file.
 */

/** Does the type hold object references below its top level? */
export function nestedRefs(t: H5RichType, top = true): boolean {
  switch (t.class) {
    case 'reference': return !top;
    case 'array': case 'vlen': return nestedRefs(t.base, false);
    case 'compound': return t.members.some((m) => nestedRefs(m.type, false));
    default: return false;
  }
}

/** Calls visit(buffer, offset) for every reference slot of the element at `off` (sequences followed into `heap`). */
function visitRefs(t: H5RichType, b: Buffer, off: number, heap: Buffer, visit: (buf: Buffer, at: number) => void): void {
  switch (t.class) {
    case 'reference': visit(b, off); return;
    case 'compound': for (const m of t.members) if (nestedRefs(m.type, false)) visitRefs(m.type, b, off + m.offset, heap, visit); return;
    case 'array': {
      const n = t.size / t.base.size;
      for (let i = 0; i < n; i++) visitRefs(t.base, b, off + i * t.base.size, heap, visit);
      return;
    }
    case 'vlen': {
      const n = Number(b.readBigUInt64BE(off));
      const at = Number(b.readBigUInt64BE(off + 8));
      if (n && at + n * t.base.size > heap.length) throw new StrataError('EIO', 'a variable-length element points outside its heap');
      for (let i = 0; i < n; i++) visitRefs(t.base, heap, at + i * t.base.size, heap, visit);
      return;
    }
    default:
  }
}

/** Import: every nested reference (a file address) becomes a heap entry naming its target; returns the grown heap. */
export function storeNestedRefs(t: H5RichType, fixed: Buffer, heap: Buffer, target: (addr: string) => RefTarget): Buffer {
  const extra: Buffer[] = [];
  let end = heap.length;
  const visit = (b: Buffer, at: number) => {
    const addr = b.readBigUInt64LE(at);
    if (addr === 0n) return;
    const r = target(addr.toString());
    const j = Buffer.from(JSON.stringify({ oid: r.oid, path: r.path }), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(j.length);
    extra.push(len, j);
    b.writeBigUInt64BE(BigInt(end + 1), at);
    end += 4 + j.length;
  };
  for (let off = 0; off + t.size <= fixed.length; off += t.size) visitRefs(t, fixed, off, heap, visit);
  return extra.length ? Buffer.concat([heap, ...extra]) : heap;
}

/** Export: every nested reference entry becomes the file address of the same object in the new file (in place). */
export function fileNestedRefs(t: H5RichType, fixed: Buffer, heap: Buffer, addrOf: (r: RefTarget) => bigint): void {
  const visit = (b: Buffer, at: number) => {
    const r = b.readBigUInt64BE(at) === 0n ? null : decodeRef(b, at, heap);
    b.writeBigUInt64LE(r ? addrOf(r) : 0n, at);
  };
  for (let off = 0; off + t.size <= fixed.length; off += t.size) visitRefs(t, fixed, off, heap, visit);
}
