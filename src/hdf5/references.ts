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
