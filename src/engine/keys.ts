// Binary record keys. Byte order of the encoded key is the order users see:
//   cont(16) | oid(16) | esc(dkey) | kind(1) | esc(akey) | ~epoch(8) | offset(8)
// esc() makes variable-length keys order-preserving and prefix-free: 0x00 is
// written 0x00 0xFF and the key ends with 0x00 0x01. kind 0x00 marks a dkey
// punch (empty akey), 0x01 a normal akey. ~epoch (bitwise not) puts the newest
// version of an akey first; offset orders the extents of one version.
import { StrataError } from '../errors.js';

export const KIND_DKEY_PUNCH = 0x00;
export const KIND_AKEY = 0x01;

const uuidCache = new Map<string, Buffer>();

/** The 16 bytes of a container UUID (callers must not modify the result: it is cached). */
export function uuidBytes(uuid: string): Buffer {
  const hit = uuidCache.get(uuid);
  if (hit) return hit;
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new StrataError('EINVAL', `bad container id '${uuid}'`);
  const b = Buffer.from(hex, 'hex');
  if (uuidCache.size > 10000) uuidCache.clear();
  uuidCache.set(uuid, b);
  return b;
}

/** Length of esc(k). */
function escLen(k: Uint8Array): number {
  let n = k.length + 2;
  for (let i = 0; i < k.length; i++) if (k[i] === 0) n++;
  return n;
}

/** Writes esc(k) into out at j; returns the position after it. */
function escInto(out: Buffer, j: number, k: Uint8Array): number {
  for (let i = 0; i < k.length; i++) {
    const b = k[i]!;
    out[j++] = b;
    if (b === 0) out[j++] = 0xff;
  }
  out[j++] = 0x00;
  out[j++] = 0x01;
  return j;
}

export function esc(k: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(escLen(k));
  escInto(out, 0, k);
  return out;
}

/** Decodes an escaped key starting at pos; returns the key and the position after its terminator. */
export function unesc(buf: Uint8Array, pos: number): { key: Buffer; end: number } {
  const bytes: number[] = [];
  let i = pos;
  for (;;) {
    if (i >= buf.length) throw new StrataError('EIO', 'corrupt record key (unterminated)');
    const b = buf[i]!;
    if (b === 0) {
      const n = buf[i + 1];
      if (n === 0x01) return { key: Buffer.from(bytes), end: i + 2 };
      if (n === 0xff) { bytes.push(0); i += 2; continue; }
      throw new StrataError('EIO', 'corrupt record key (bad escape)');
    }
    bytes.push(b);
    i++;
  }
}

const MAX64 = (1n << 64n) - 1n;

export function epochBytes(epoch: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(MAX64 - BigInt(epoch));
  return b;
}

export function u64be(n: number | bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function objPrefix(cont: Buffer, oid: Uint8Array): Buffer {
  return Buffer.concat([cont, oid], cont.length + oid.length);
}

// The prefixes below are built in one buffer of the exact size: they are made
// for every record a transaction touches.

export function dkeyPrefix(cont: Buffer, oid: Uint8Array, dkey: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(cont.length + oid.length + escLen(dkey));
  out.set(cont, 0);
  out.set(oid, cont.length);
  escInto(out, cont.length + oid.length, dkey);
  return out;
}

function kindPrefix(cont: Buffer, oid: Uint8Array, dkey: Uint8Array, kind: number, akey: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(cont.length + oid.length + escLen(dkey) + 1 + escLen(akey));
  out.set(cont, 0);
  out.set(oid, cont.length);
  let j = escInto(out, cont.length + oid.length, dkey);
  out[j++] = kind;
  escInto(out, j, akey);
  return out;
}

const NO_KEY = new Uint8Array(0);

export function akeyPrefix(cont: Buffer, oid: Uint8Array, dkey: Uint8Array, akey: Uint8Array): Buffer {
  return kindPrefix(cont, oid, dkey, KIND_AKEY, akey);
}

export function dkeyPunchPrefix(cont: Buffer, oid: Uint8Array, dkey: Uint8Array): Buffer {
  return kindPrefix(cont, oid, dkey, KIND_DKEY_PUNCH, NO_KEY);
}

export function recordKey(prefix: Buffer, epoch: number, offset: number): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + 16);
  out.set(prefix, 0);
  out.writeBigUInt64BE(MAX64 - BigInt(epoch), prefix.length);
  out.writeBigUInt64BE(BigInt(offset), prefix.length + 8);
  return out;
}

/** Smallest key greater than every key starting with prefix. */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) { b[i]!++; return b.subarray(0, i + 1); }
  }
  return Buffer.concat([b, Buffer.from([0xff, 0xff, 0xff, 0xff])]);
}

export interface ParsedKey {
  oid: Buffer;
  dkey: Buffer;
  kind: number;
  akey: Buffer;
  epoch: number;
  offset: number;
  /** Length of cont|oid|esc(dkey): the dkey group prefix. */
  dkeyEnd: number;
  /** Length up to the end of esc(akey): the akey group prefix. */
  akeyEnd: number;
}

export function parseKey(key: Uint8Array): ParsedKey {
  const buf = Buffer.from(key.buffer, key.byteOffset, key.length);
  const oid = buf.subarray(16, 32);
  const d = unesc(buf, 32);
  const kind = buf[d.end]!;
  const a = unesc(buf, d.end + 1);
  const inv = buf.readBigUInt64BE(a.end);
  const offset = Number(buf.readBigUInt64BE(a.end + 8));
  return { oid, dkey: d.key, kind, akey: a.key, epoch: Number(MAX64 - inv), offset, dkeyEnd: d.end, akeyEnd: a.end };
}
