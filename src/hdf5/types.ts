// Datatypes of the HDF5 model: the rich descriptor (H5RichType, shared with
// the h5lib binding), what strata can store, short names for listings, and a
// codec between raw element bytes (the dataset's own type, its byte order)
// and JavaScript values (for `h5 dump` and the typed read/write helpers).
import type { H5RichType } from './h5lib/index.js';
import { StrataError } from '../errors.js';
import { decodeRef } from './references.js';

export type { H5RichType } from './h5lib/index.js';

/** Descriptor shorthands for applications: 'i32', 'f64', 'u8'... (little-endian). */
export function simpleType(name: 'i8' | 'i16' | 'i32' | 'i64' | 'u8' | 'u16' | 'u32' | 'u64' | 'f32' | 'f64'): H5RichType {
  const size = Number(name.slice(1)) / 8;
  if (name[0] === 'f') return { class: 'float', size, order: 'le' };
  return { class: 'integer', size, signed: name[0] === 'i', order: 'le' };
}

/** A fixed-size string type of n bytes (NUL-terminated, ASCII unless utf8). */
export function stringType(size: number | 'variable', opts: { cset?: 'ascii' | 'utf8'; pad?: 'nullterm' | 'nullpad' | 'spacepad' } = {}): H5RichType {
  const variable = size === 'variable';
  return { class: 'string', size: variable ? 16 : size, variable, cset: opts.cset ?? (variable ? 'utf8' : 'ascii'), pad: opts.pad ?? 'nullterm' };
}

export function isVarString(t: H5RichType): boolean {
  return t.class === 'string' && t.variable;
}

/**
 * Does the type hold variable-length data other than as a top-level string
 * (sequences anywhere, strings inside compounds and arrays)? Such elements are
 * stored in their memory layout with heap references (see native/h5/h5.c).
 */
export function hasVlenData(t: H5RichType): boolean {
  return !isVarString(t) && t.class !== 'reference' && holdsVar(t);
}

/** Variable-length data, or object references inside another type (they go the same way: see references.ts). */
function holdsVar(t: H5RichType): boolean {
  switch (t.class) {
    case 'string': return t.variable;
    case 'vlen': case 'reference': return true;
    case 'array': case 'enum': return holdsVar(t.base);
    case 'compound': return t.members.some((m) => holdsVar(m.type));
    default: return false;
  }
}

/** Bytes per element as strata stores it (variable strings: a 16-byte heap reference). */
export function storedSize(t: H5RichType): number {
  return isVarString(t) ? 16 : t.size;
}

/** Why a type cannot be stored, or undefined when it can. */
export function unsupportedReason(t: H5RichType): string | undefined {
  switch (t.class) {
    case 'integer':
    case 'bitfield':
      return [1, 2, 4, 8].includes(t.size) ? undefined : `${t.size}-byte ${t.class}`;
    case 'float':
      if (t.custom) return t.fields && t.size <= 16 ? undefined : `non-IEEE ${t.size}-byte float without its bit layout`;
      return [4, 8].includes(t.size) ? undefined : `${t.size}-byte float`;
    case 'string':
      return undefined;
    case 'opaque':
      return undefined;
    case 'reference':
      return t.ref ? undefined : 'reference datatype of an unknown kind';
    case 'enum':
      return unsupportedReason(t.base);
    case 'compound':
      for (const m of t.members) {
        if (m.type.class === 'reference' && m.type.ref !== 'object') return `compound member '${m.name}': region reference inside a compound`;
        const r = unsupportedReason(m.type);
        if (r) return `compound member '${m.name}': ${r}`;
      }
      return undefined;
    case 'array':
      if (t.base.class === 'reference' && t.base.ref !== 'object') return 'array of region references';
      return unsupportedReason(t.base);
    case 'vlen': {
      if (t.base.class === 'reference' && t.base.ref !== 'object') return `variable-length sequence of region references`;
      const r = unsupportedReason(t.base);
      return r ? `variable-length sequence of ${typeName(t.base)}: ${r}` : undefined;
    }
    default:
      return `${t.class} datatype`;
  }
}

/** A short name: i32le, f64be, str[12], vstr, enum<i8>{A,B}, compound{a:i32,b:f64}, opaque[4], array[2,3]<f32>; a named datatype's users: named:i32le. */
export function typeName(t: H5RichType): string {
  return t.named !== undefined ? `named:${baseTypeName(t)}` : baseTypeName(t);
}

function baseTypeName(t: H5RichType): string {
  switch (t.class) {
    case 'integer': return `${t.signed ? 'i' : 'u'}${t.size * 8}${t.order}`;
    case 'float': return t.custom ? customFloatName(t) : `f${t.size * 8}${t.order}`;
    case 'bitfield': return `b${t.size * 8}${t.order}`;
    case 'string': return t.variable ? 'vstr' : `str[${t.size}]`;
    case 'opaque': return `opaque[${t.size}]${t.tag ? `"${t.tag}"` : ''}`;
    case 'enum': return `enum<${typeName(t.base)}>{${t.members.map((m) => m.name).join(',')}}`;
    case 'compound': return `compound{${t.members.map((m) => `${m.name}:${typeName(m.type)}`).join(',')}}`;
    case 'array': return `array[${t.dims.join(',')}]<${typeName(t.base)}>`;
    case 'vlen': return `vlen<${typeName(t.base)}>`;
    case 'reference': return t.ref === 'region' ? 'ref<region>' : 'ref<object>';
    default: return t.class;
  }
}

/** IEEE half precision: the layout numpy's float16 gets from h5py. */
const HALF = { fields: [15, 10, 5, 0, 10], ebias: 15 };

/** f16le for IEEE half; otherwise the bit layout: f32le{s31 e23:8 m0:23 bias127}. */
function customFloatName(t: Extract<H5RichType, { class: 'float' }>): string {
  const f = t.fields ?? [0, 0, 0, 0, 0];
  const base = `f${t.size * 8}${t.order}`;
  if (t.size === 2 && f.join() === HALF.fields.join() && t.ebias === HALF.ebias && (t.norm ?? 'implied') === 'implied') return base;
  return `${base}{${t.precision !== undefined ? `p${t.precision}${t.offset ? `@${t.offset}` : ''} ` : ''}s${f[0]} e${f[1]}:${f[2]} m${f[3]}:${f[4]} bias${t.ebias}${t.norm && t.norm !== 'implied' ? ` ${t.norm}` : ''}}`;
}

/** The value of a custom float (any bit layout up to 16 bytes), as a JS number. */
function decodeCustomFloat(t: Extract<H5RichType, { class: 'float' }>, b: Buffer, off: number): number {
  const bytes = b.subarray(off, off + t.size);
  let bits = 0n;
  const order = t.order === 'be' ? Array.from(bytes) : Array.from(bytes).reverse();
  for (const x of order) bits = (bits << 8n) | BigInt(x);
  const [sp, ep, es, mp, ms] = (t.fields ?? [0, 0, 0, 0, 0]).map((x) => BigInt(x));
  const o = BigInt(t.offset ?? 0);
  const field = (pos: bigint, size: bigint) => (bits >> (o + pos)) & ((1n << size) - 1n);
  const sign = field(sp!, 1n) ? -1 : 1;
  const exp = field(ep!, es!);
  const mant = field(mp!, ms!);
  const bias = t.ebias ?? 0;
  if (exp === (1n << es!) - 1n && (t.norm ?? 'implied') === 'implied') return mant === 0n ? sign * Infinity : NaN;
  const m = Number(mant), msize = Number(ms!);
  if ((t.norm ?? 'implied') === 'implied') {
    if (exp === 0n) return sign * m * 2 ** (1 - bias - msize);
    return sign * (1 + m * 2 ** -msize) * 2 ** (Number(exp) - bias);
  }
  // msbset / none: the mantissa's leading bit is stored
  return sign * m * 2 ** (Number(exp) - bias - (msize - 1));
}

/** A JS value of one element: number | bigint | string | Buffer | object | array. */
export type H5Value = number | bigint | string | Buffer | boolean | H5Value[] | { [k: string]: H5Value };

function readInt(b: Buffer, off: number, size: number, signed: boolean, be: boolean): number | bigint {
  if (size === 8) return signed ? (be ? b.readBigInt64BE(off) : b.readBigInt64LE(off)) : be ? b.readBigUInt64BE(off) : b.readBigUInt64LE(off);
  return signed ? (be ? b.readIntBE(off, size) : b.readIntLE(off, size)) : be ? b.readUIntBE(off, size) : b.readUIntLE(off, size);
}

function writeInt(b: Buffer, off: number, size: number, signed: boolean, be: boolean, v: H5Value): void {
  if (size === 8) {
    const x = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
    if (signed) { if (be) b.writeBigInt64BE(x, off); else b.writeBigInt64LE(x, off); } else if (be) b.writeBigUInt64BE(x, off); else b.writeBigUInt64LE(x, off);
    return;
  }
  const x = Number(v);
  if (!Number.isInteger(x)) throw new StrataError('EINVAL', `value ${String(v)} is not an integer`);
  if (signed) { if (be) b.writeIntBE(x, off, size); else b.writeIntLE(x, off, size); } else if (be) b.writeUIntBE(x, off, size); else b.writeUIntLE(x, off, size);
}

/** The heap of variable-length data the references of an element point into (offsets from base). */
export interface VlenHeap { buf: Buffer; base: number }

function heapAt(h: VlenHeap | undefined, off: number, len: number): number {
  const at = off - (h?.base ?? 0);
  if (!h || at < 0 || at + len > h.buf.length) throw new StrataError('EIO', `corrupt HDF5 container: a variable-length element points outside its heap`);
  return at;
}

/** Decodes one element at `off` (top-level variable strings are not raw: see the store; other variable-length data needs its heap). */
export function decodeValue(t: H5RichType, b: Buffer, off: number, heap?: VlenHeap): H5Value {
  switch (t.class) {
    case 'integer':
    case 'bitfield':
      return readInt(b, off, t.size, t.class === 'integer' && t.signed, t.order === 'be');
    case 'float':
      if (t.custom) return decodeCustomFloat(t, b, off);
      return t.size === 4 ? (t.order === 'be' ? b.readFloatBE(off) : b.readFloatLE(off)) : t.order === 'be' ? b.readDoubleBE(off) : b.readDoubleLE(off);
    case 'string': {
      if (t.variable) {
        const v = b.readBigUInt64BE(off);
        if (v === 0n) return '';
        const at = heapAt(heap, Number(v) - 1, 8);
        const len = Number(heap!.buf.readBigUInt64BE(at));
        heapAt(heap, Number(v) - 1 + 8, len);
        return heap!.buf.toString('utf8', at + 8, at + 8 + len);
      }
      let end = off;
      const lim = off + t.size;
      while (end < lim && b[end] !== 0) end++;
      let s = b.toString(t.cset === 'utf8' ? 'utf8' : 'latin1', off, end);
      if (t.pad === 'spacepad') s = s.replace(/ +$/, '');
      return s;
    }
    case 'opaque':
      return Buffer.from(b.subarray(off, off + t.size));
    case 'enum': {
      const v = decodeValue(t.base, b, off, heap);
      const m = t.members.find((x) => BigInt(x.value) === BigInt(v as number | bigint));
      return m ? m.name : (v as number);
    }
    case 'compound': {
      const o: Record<string, H5Value> = {};
      for (const m of t.members) o[m.name] = decodeValue(m.type, b, off + m.offset, heap);
      return o;
    }
    case 'array': {
      const n = t.dims.reduce((a, d) => a * d, 1);
      const out: H5Value[] = [];
      for (let i = 0; i < n; i++) out.push(decodeValue(t.base, b, off + i * t.base.size, heap));
      return out;
    }
    case 'reference': {
      // the target's path when it was stored (see references.ts); '' for a null reference
      const r = decodeRef(b, off, heap?.buf ?? Buffer.alloc(0));
      return r ? (r.region ? `${r.path} (region)` : r.path) : '';
    }
    case 'vlen': {
      const n = Number(b.readBigUInt64BE(off));
      if (n === 0) return [];
      const at = Number(b.readBigUInt64BE(off + 8));
      heapAt(heap, at, n * t.base.size);
      const out: H5Value[] = [];
      for (let i = 0; i < n; i++) out.push(decodeValue(t.base, heap!.buf, at - heap!.base + i * t.base.size, heap));
      return out;
    }
    default:
      throw new StrataError('ENOTSUP', `cannot decode a ${typeName(t)} value`);
  }
}

/** Encodes one element at `off`. */
export function encodeValue(t: H5RichType, b: Buffer, off: number, v: H5Value): void {
  switch (t.class) {
    case 'integer':
    case 'bitfield':
      writeInt(b, off, t.size, t.class === 'integer' && t.signed, t.order === 'be', v);
      return;
    case 'float': {
      if (t.custom) throw new StrataError('ENOTSUP', `writing ${typeName(t)} values from numbers is not supported: write the raw elements (writeSlab)`);
      const x = Number(v);
      if (t.size === 4) { if (t.order === 'be') b.writeFloatBE(x, off); else b.writeFloatLE(x, off); } else if (t.order === 'be') b.writeDoubleBE(x, off); else b.writeDoubleLE(x, off);
      return;
    }
    case 'string': {
      if (t.variable) throw new StrataError('ENOTSUP', `writing variable-length strings inside ${typeName(t)} values is not supported (import them from a file)`);
      const s = Buffer.from(String(v), t.cset === 'utf8' ? 'utf8' : 'latin1');
      b.fill(t.pad === 'spacepad' ? 0x20 : 0, off, off + t.size);
      s.copy(b, off, 0, Math.min(s.length, t.pad === 'nullterm' ? t.size - 1 : t.size));
      return;
    }
    case 'opaque': {
      const s = Buffer.isBuffer(v) ? v : Buffer.from(v as unknown as Uint8Array);
      b.fill(0, off, off + t.size);
      s.copy(b, off, 0, Math.min(s.length, t.size));
      return;
    }
    case 'enum': {
      const m = typeof v === 'string' ? t.members.find((x) => x.name === v) : undefined;
      if (typeof v === 'string' && !m) throw new StrataError('EINVAL', `'${v}' is not a member of ${typeName(t)}`);
      encodeValue(t.base, b, off, m ? m.value : v);
      return;
    }
    case 'compound': {
      const o = v as Record<string, H5Value>;
      for (const m of t.members) {
        if (!(m.name in o)) throw new StrataError('EINVAL', `compound value lacks member '${m.name}'`);
        encodeValue(m.type, b, off + m.offset, o[m.name]!);
      }
      return;
    }
    case 'vlen':
      throw new StrataError('ENOTSUP', `writing ${typeName(t)} values is not supported (import them from a file)`);
    case 'array': {
      const a = v as H5Value[];
      const n = t.dims.reduce((x, d) => x * d, 1);
      if (!Array.isArray(a) || a.length !== n) throw new StrataError('EINVAL', `array value must have ${n} elements`);
      for (let i = 0; i < n; i++) encodeValue(t.base, b, off + i * t.base.size, a[i]!);
      return;
    }
    default:
      throw new StrataError('ENOTSUP', `cannot encode a ${typeName(t)} value`);
  }
}

/** Decodes every element of a raw buffer. */
export function decodeAll(t: H5RichType, raw: Buffer, heap?: VlenHeap): H5Value[] {
  const out: H5Value[] = [];
  for (let off = 0; off + t.size <= raw.length; off += t.size) out.push(decodeValue(t, raw, off, heap));
  return out;
}

/** Encodes values into a raw buffer. */
export function encodeAll(t: H5RichType, values: readonly H5Value[]): Buffer {
  const b = Buffer.alloc(values.length * t.size);
  values.forEach((v, i) => encodeValue(t, b, i * t.size, v));
  return b;
}

/** JSON-safe form of a value (bigint as string when unsafe, Buffers as hex). */
export function jsonValue(v: H5Value): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v;
}

/** Text form of a value, h5dump-like. */
export function textValue(v: H5Value): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('hex').replace(/(..)(?!$)/g, '$1:');
  if (Array.isArray(v)) return `[ ${v.map(textValue).join(', ')} ]`;
  return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${textValue(x)}`).join(', ')} }`;
}
