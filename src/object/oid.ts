// 128-bit object ids, DAOS style: the high 64 bits carry the object type
// (bits 56-63) and the object class id (bits 32-55); the low 64 bits and the
// low 32 bits of hi are free for the allocator. Printed as "<hi>.<lo>" in decimal,
// as `daos` prints OIDs.
import { StrataError } from '../errors.js';

/** DAOS object types (daos_otype_t). */
export const OTYPE = {
  MULTI_HASHED: 0, OIT: 1, DKEY_UINT64: 2, AKEY_UINT64: 3, MULTI_UINT64: 4, DKEY_LEXICAL: 5,
  AKEY_LEXICAL: 6, MULTI_LEXICAL: 7, KV_HASHED: 8, KV_UINT64: 9, KV_LEXICAL: 10, ARRAY: 11,
  ARRAY_ATTR: 12, ARRAY_BYTE: 13,
} as const;

/** Object class names users know from DAOS, with the ids strata records in OIDs. */
const CLASSES: Record<string, number> = {
  S1: 1, S2: 2, S4: 4, S8: 8, S16: 16, S32: 32, SX: 0xffff,
  RP_2G1: 0x10001, RP_2GX: 0x1ffff, RP_3G1: 0x20001, RP_3GX: 0x2ffff,
  EC_2P1G1: 0x30001, EC_2P1GX: 0x3ffff, EC_4P2G1: 0x40001, EC_4P2GX: 0x4ffff,
  EC_8P2G1: 0x50001, EC_8P2GX: 0x5ffff, EC_16P2G1: 0x60001, EC_16P2GX: 0x6ffff,
};

export function parseObjectClass(name: string): number {
  const id = CLASSES[name.toUpperCase()];
  if (id === undefined) throw new StrataError('EINVAL', `unknown object class '${name}' (known: ${Object.keys(CLASSES).join(', ')})`);
  return id;
}

export function objectClassName(id: number): string {
  for (const [name, v] of Object.entries(CLASSES)) if (v === id) return name;
  return `0x${id.toString(16)}`;
}

export function isObjectClass(name: string): boolean {
  return CLASSES[name.toUpperCase()] !== undefined;
}

const U64 = (1n << 64n) - 1n;

export class ObjectId {
  readonly hi: bigint;
  readonly lo: bigint;

  constructor(hi: bigint, lo: bigint) {
    if (hi < 0n || hi > U64 || lo < 0n || lo > U64) throw new StrataError('EINVAL', `object id out of range: ${hi}.${lo}`);
    this.hi = hi;
    this.lo = lo;
  }

  /** Builds an OID from an allocated sequence number, a type and a class id. */
  static make(seq: bigint, otype: number, oclass: number): ObjectId {
    const hi = (BigInt(otype) << 56n) | (BigInt(oclass & 0xffffff) << 32n) | ((seq >> 64n) & 0xffffffffn);
    return new ObjectId(hi, seq & U64);
  }

  get otype(): number { return Number(this.hi >> 56n); }
  get oclass(): number { return Number((this.hi >> 32n) & 0xffffffn); }

  toBytes(): Uint8Array {
    const b = Buffer.alloc(16);
    b.writeBigUInt64BE(this.hi, 0);
    b.writeBigUInt64BE(this.lo, 8);
    return b;
  }

  static fromBytes(b: Uint8Array): ObjectId {
    if (b.length !== 16) throw new StrataError('EINVAL', `object id must be 16 bytes, got ${b.length}`);
    const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
    return new ObjectId(buf.readBigUInt64BE(0), buf.readBigUInt64BE(8));
  }

  static parse(s: string): ObjectId {
    const m = /^(\d+)\.(\d+)$/.exec(s.trim());
    if (!m) throw new StrataError('EINVAL', `bad object id '${s}' (expected <hi>.<lo>)`);
    return new ObjectId(BigInt(m[1]!), BigInt(m[2]!));
  }

  equals(o: ObjectId): boolean { return this.hi === o.hi && this.lo === o.lo; }
  toString(): string { return `${this.hi}.${this.lo}`; }
}
