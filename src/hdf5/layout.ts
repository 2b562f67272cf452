// Object layout of an HDF5 container (docs/hdf5.md has the full table).
//
//   superblock  OID 0.0   dkey "sb"    akeys magic, version, root, userblock (the file's, if any)
//   root group  OID 0.1
//   group       dkey "meta" akey kind = "group"
//               dkey "link" akey <name> = link JSON {t:'hard',oid,kind} | {t:'soft',target} | {t:'external',file,target}
//               dkey "attr" akey <name> = attribute record (header JSON + payload)
//   named type  dkey "meta" akeys kind = "datatype", type (JSON); dkey "attr" as for groups
//   dataset     dkey "meta" akeys kind = "dataset", type (JSON), space (JSON), dcpl (JSON)
//               dkey "attr" as for groups
//               dkey 0x00 + chunk coordinates (8-byte big-endian each), akey "d":
//                   byte array, the chunk's elements in row-major order (full chunk size)
//                   akeys "h"/"end" (types holding variable-length data other than
//                   top-level strings): the chunk's own heap, its end (u64)
//                   akeys "r"/"rm" (dcpl.raw: a filter was missing at import): the chunk
//                   as filtered in the file, its filter mask and size
//               dkey "heap" akey "d": byte array of variable-length string bytes; akey "end" (u64)
import { ObjectId } from '../object/index.js';
import { StrataError } from '../errors.js';
import type { H5Filter, H5RichType, H5Space } from './h5lib/index.js';

export const SB_OID = new ObjectId(0n, 0n);
export const ROOT_OID = new ObjectId(0n, 1n);
export const SB_DKEY = 'sb';
/** Superblock akey: the imported file's user block (bytes). */
export const A_USERBLOCK = 'userblock';
export const SB_MAGIC = 'strata-hdf5';
export const LAYOUT_VERSION = 1;

export const META = 'meta';
export const LINK = 'link';
export const ATTR = 'attr';
export const HEAP = 'heap';
export const A_KIND = 'kind';
export const A_TYPE = 'type';
export const A_SPACE = 'space';
export const A_DCPL = 'dcpl';
export const A_DATA = 'd';
export const A_END = 'end';
/** Group meta akey: creation order flags {links, attrs} (JSON) of a group that tracks them. */
export const A_ORDER = 'order';
/** A chunk's own heap of variable-length data (sequences, strings inside compounds/arrays). */
export const A_HEAP = 'h';
/** A chunk kept filtered: its bytes, and its filter mask and size. */
export const A_RAW = 'r';
export const A_RAW_META = 'rm';

/** `co`: the link's creation order number in the file it came from (groups that track it). */
export type LinkValue = (
  | { t: 'hard'; oid: string; kind: 'group' | 'dataset' | 'datatype' }
  | { t: 'soft'; target: string }
  | { t: 'external'; file: string; target: string }) & { co?: number };

export interface FillRecord {
  status: 'undefined' | 'default' | 'user';
  /** base64 of one element in the dataset's type. */
  value?: string;
  /** The fill value of a variable-length string dataset. */
  string?: string;
  allocTime: 'early' | 'late' | 'incr' | 'default';
  fillTime: 'ifset' | 'alloc' | 'never';
}

/** Dataset creation properties as recorded (immutable after creation). */
export interface Dcpl {
  layout: 'contiguous' | 'chunked' | 'compact';
  /** HDF5 chunk dims (chunked layout). */
  chunk?: number[];
  /** The chunk shape strata stores by (= chunk for chunked datasets; slabs along dim 0 otherwise). */
  storeChunk: number[];
  filters: H5Filter[];
  fill: FillRecord;
  /** Attribute creation order flags (1 tracked, 3 tracked and indexed). */
  attrOrder?: number;
  /**
   * Chunks are kept as the filter pipeline left them (a filter was not
   * available at import): akeys `r` (the bytes) and `rm` (filter mask u32 BE,
   * size u64 BE) under each chunk dkey; values cannot be read here.
   */
  raw?: boolean;
}

export interface DatasetRecord {
  type: H5RichType;
  space: H5Space;
  dcpl: Dcpl;
}

/** Chunk dkeys: 0x00 then each chunk coordinate as 8 bytes big-endian (byte order = row-major order). */
export function chunkKey(coords: readonly number[]): Uint8Array {
  const b = Buffer.alloc(1 + 8 * coords.length);
  coords.forEach((c, i) => b.writeBigUInt64BE(BigInt(c), 1 + 8 * i));
  return b;
}

export function isChunkKey(k: Uint8Array): boolean {
  return k.length >= 1 && k[0] === 0 && (k.length - 1) % 8 === 0;
}

export function chunkCoords(k: Uint8Array): number[] {
  const b = Buffer.from(k.buffer, k.byteOffset, k.length);
  const out: number[] = [];
  for (let o = 1; o + 8 <= b.length; o += 8) out.push(Number(b.readBigUInt64BE(o)));
  return out;
}

export function encodeJson(v: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(v), 'utf8');
}

export function decodeJson<T>(b: Uint8Array | undefined, what: string): T {
  if (!b) throw new StrataError('EIO', `corrupt HDF5 container: ${what} is missing`);
  try {
    return JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8')) as T;
  } catch (e) {
    throw new StrataError('EIO', `corrupt HDF5 container: ${what} is not JSON`, { cause: e });
  }
}

/**
 * An attribute as stored: u32 BE header length, header JSON, payload (raw
 * bytes; JSON strings; or for other variable-length data `raw` bytes, the
 * elements with heap references, then the heap).
 */
export interface AttrRecord { type: H5RichType; space: H5Space; raw?: Buffer; strings?: string[]; heap?: Buffer; /** creation order number */ co?: number }

export function encodeAttr(a: AttrRecord): Uint8Array {
  const enc = a.strings ? 'strings' : a.heap ? 'vlen' : 'raw';
  const head = Buffer.from(JSON.stringify({ type: a.type, space: a.space, enc, ...(a.heap ? { rawLen: a.raw?.length ?? 0 } : {}), ...(a.co !== undefined ? { co: a.co } : {}) }), 'utf8');
  const body = a.strings ? Buffer.from(JSON.stringify(a.strings), 'utf8') : a.heap ? Buffer.concat([a.raw ?? Buffer.alloc(0), a.heap]) : (a.raw ?? Buffer.alloc(0));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([len, head, body]);
}

export function decodeAttr(b: Uint8Array, what: string): AttrRecord {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (buf.length < 4) throw new StrataError('EIO', `corrupt HDF5 container: attribute ${what} is truncated`);
  const n = buf.readUInt32BE(0);
  const head = decodeJson<{ type: H5RichType; space: H5Space; enc: 'raw' | 'strings' | 'vlen'; rawLen?: number; co?: number }>(buf.subarray(4, 4 + n), `attribute ${what}`);
  const body = buf.subarray(4 + n);
  const co = typeof head.co === 'number' ? { co: head.co } : {};
  if (head.enc === 'vlen') {
    const r = head.rawLen ?? -1;
    if (!Number.isSafeInteger(r) || r < 0 || r > body.length) throw new StrataError('EIO', `corrupt HDF5 container: attribute ${what} is truncated`);
    return { type: head.type, space: head.space, raw: Buffer.from(body.subarray(0, r)), heap: Buffer.from(body.subarray(r)), ...co };
  }
  if (head.enc === 'strings') return { type: head.type, space: head.space, strings: decodeJson<string[]>(body, `attribute ${what}`), ...co };
  return { type: head.type, space: head.space, raw: Buffer.from(body), ...co };
}

/** Number of elements of a dataspace. */
export function spaceElements(s: H5Space): number {
  if (s.kind === 'null') return 0;
  if (s.kind === 'scalar') return 1;
  return s.dims.reduce((a, d) => a * d, 1);
}
