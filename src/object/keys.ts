// dkeys and akeys are byte strings; strings are taken as UTF-8. Numeric keys
// (chunk indexes) are 8-byte big-endian so byte order equals numeric order.
export type Key = string | Uint8Array;

export function keyBytes(k: Key): Uint8Array {
  return typeof k === 'string' ? Buffer.from(k, 'utf8') : k;
}

export function u64Key(n: number | bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function u64FromKey(k: Uint8Array): bigint {
  return Buffer.from(k.buffer, k.byteOffset, k.length).readBigUInt64BE(0);
}

export function keyString(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.length).toString('utf8');
}
