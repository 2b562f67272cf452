// The Lustre foreign-symlink upcall format (LU-12682): the binary item list a
// foreign_symlink_upcall helper writes to llite.<instance>.foreign_symlink_upcall_info,
// and the way the client builds a symlink target from a foreign EA with it.
//
// struct ll_foreign_symlink_upcall_item { __u32 type; union { struct { __u32 pos, len; };
//   struct { size_t size; char bytestring[]; }; }; }  — on x86_64 the union
// starts at offset 8: a POSLEN item is 16 bytes (pos at 8, len at 12), a STRING
// item 16 + size rounded up to 4 (size is a 64-bit LE size_t at 8), EOB 4 bytes.
// The buffer is a multiple of 4, ends with exactly one EOB, and has fewer than
// MAX_NB_UPCALL_ITEMS (32) items counting the EOB.
//
// Text form of a site format: `[pos,len]` is a slice of the EA value, anything
// else is a constant string (`\[`, `\]` and `\\` escape). The legacy DAOS
// "<pool>:<cont>" layout is `[0,36]/[37,36]`.
import { StrataError } from '../errors.js';

/** Largest foreign EA value (XATTR_SIZE_MAX minus the 16-byte header). */
const FOREIGN_MAX_VALUE = 65536 - 16;

export const EOB_TYPE = 1;
export const STRING_TYPE = 2;
export const POSLEN_TYPE = 3;
export const MAX_NB_UPCALL_ITEMS = 32;
/** Items a buffer may hold, the EOB included. */
export const MAX_ITEMS = MAX_NB_UPCALL_ITEMS - 1;
export const POSLEN_ITEM_SZ = 16;
export const STRING_HEADER_SZ = 16;
export const EOB_ITEM_SZ = 4;
/** A sysfs store receives at most one page. */
export const MAX_UPCALL_BUFFER = 4096;
/** PATH_MAX minus "/", "/" and the NUL the client adds around the prefix. */
export const MAX_SUFFIX = 4096 - 3;

export const stringItemSize = (size: number): number => STRING_HEADER_SZ + Math.ceil(size / 4) * 4;

export type UpcallItem = { kind: 'string'; bytes: Buffer } | { kind: 'poslen'; pos: number; len: number };

/** The legacy "<pool-uuid>:<cont-uuid>" layout that Lustre's l_foreign_symlink helper hard-codes. */
export const LEGACY_POOL_COLON_CONT = '[0,36]/[37,36]';

const einval = (msg: string) => new StrataError('EINVAL', msg);

/** Parses the text form of a site format into items (EOB not included). */
export function parseUpcallFormat(text: string): UpcallItem[] {
  const where = `upcall format ${JSON.stringify(text.length > 60 ? text.slice(0, 60) + '...' : text)}`;
  if (text.length === 0) throw einval(`${where}: empty`);
  const items: UpcallItem[] = [];
  let lit = '';
  const flush = () => {
    if (lit) items.push({ kind: 'string', bytes: Buffer.from(lit, 'utf8') });
    lit = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const n = text[i + 1];
      if (n !== '[' && n !== ']' && n !== '\\') throw einval(`${where}: bad escape at offset ${i} (use \\[, \\] or \\\\)`);
      lit += n;
      i++;
    } else if (c === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) throw einval(`${where}: '[' at offset ${i} is not closed`);
      const m = /^\s*(\d{1,10})\s*,\s*(\d{1,10})\s*$/.exec(text.slice(i + 1, close));
      if (!m) throw einval(`${where}: expected [pos,len] at offset ${i}, got '${text.slice(i, close + 1)}'`);
      const pos = Number(m[1]);
      const len = Number(m[2]);
      if (pos + len > FOREIGN_MAX_VALUE) throw einval(`${where}: slice [${pos},${len}] ends at ${pos + len}, past the largest foreign value (${FOREIGN_MAX_VALUE} bytes)`);
      flush();
      items.push({ kind: 'poslen', pos, len });
      i = close;
    } else if (c === ']') {
      throw einval(`${where}: unmatched ']' at offset ${i} (write \\] for a literal)`);
    } else {
      lit += c;
    }
  }
  flush();
  checkItems(items, where);
  return items;
}

function checkItems(items: readonly UpcallItem[], where: string): void {
  const n = layoutItems(items).length + 1;
  if (n > MAX_ITEMS) throw einval(`${where}: ${n} items with the end marker, at most ${MAX_ITEMS}`);
  const suffix = items.reduce((s, it) => s + (it.kind === 'string' ? it.bytes.length : it.len), 0);
  if (suffix > MAX_SUFFIX) throw einval(`${where}: builds ${suffix}-byte targets, longer than PATH_MAX allows`);
  const size = layoutItems(items).reduce((s, it) => s + (it.kind === 'string' ? stringItemSize(it.bytes.length) : POSLEN_ITEM_SZ), EOB_ITEM_SZ);
  if (size > MAX_UPCALL_BUFFER) throw einval(`${where}: ${size}-byte item buffer, more than one page (${MAX_UPCALL_BUFFER})`);
  for (const it of items) if (it.kind === 'string' && it.bytes.length === 0) throw einval(`${where}: empty constant string`);
}

/** The text form of items (inverse of parseUpcallFormat for its output). */
export function formatUpcallFormat(items: readonly UpcallItem[]): string {
  return items.map((it) => (it.kind === 'poslen' ? `[${it.pos},${it.len}]` : it.bytes.toString('utf8').replace(/[\\[\]]/g, (c) => '\\' + c))).join('');
}

/**
 * The items as laid out in the buffer. The client rejects a STRING item that is
 * directly followed by the EOB when its size is a multiple of 4 (its bound check
 * `size >= remaining - 16 - 4`), so such a trailing string is split in two; the
 * target built is the same.
 */
function layoutItems(items: readonly UpcallItem[]): UpcallItem[] {
  const out = [...items];
  const last = out[out.length - 1];
  if (last?.kind === 'string' && last.bytes.length % 4 === 0 && last.bytes.length > 0) {
    out.splice(out.length - 1, 1,
      { kind: 'string', bytes: last.bytes.subarray(0, last.bytes.length - 1) },
      { kind: 'string', bytes: last.bytes.subarray(last.bytes.length - 1) });
  }
  return out;
}

/** Encodes items into the buffer a helper writes to foreign_symlink_upcall_info. */
export function encodeUpcallItems(items: readonly UpcallItem[]): Buffer {
  checkItems(items, 'upcall format');
  const laid = layoutItems(items);
  const parts: Buffer[] = [];
  for (const it of laid) {
    if (it.kind === 'poslen') {
      const b = Buffer.alloc(POSLEN_ITEM_SZ);
      b.writeUInt32LE(POSLEN_TYPE, 0);
      b.writeUInt32LE(it.pos, 8);
      b.writeUInt32LE(it.len, 12);
      parts.push(b);
    } else {
      const b = Buffer.alloc(stringItemSize(it.bytes.length));
      b.writeUInt32LE(STRING_TYPE, 0);
      b.writeBigUInt64LE(BigInt(it.bytes.length), 8);
      it.bytes.copy(b, STRING_HEADER_SZ);
      parts.push(b);
    }
  }
  const eob = Buffer.alloc(EOB_ITEM_SZ);
  eob.writeUInt32LE(EOB_TYPE, 0);
  parts.push(eob);
  return Buffer.concat(parts);
}

/**
 * Decodes an item buffer with the client's checks (foreign_symlink_upcall_info_store):
 * size a multiple of 4, known types, strings inside the buffer, EOB exactly at
 * the end, fewer than 32 items. Stricter where the client would read past the
 * buffer (truncated items, no EOB). Returns the items without the EOB;
 * adjacent strings stay separate, as the client keeps them.
 */
export function decodeUpcallItems(buf: Uint8Array): UpcallItem[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const count = b.length;
  if (count % 4 !== 0) throw einval(`upcall items: buffer size ${count} is not a multiple of 4`);
  const items: UpcallItem[] = [];
  let remaining = count;
  let nb = 0;
  let sawEob = false;
  while (remaining > 0) {
    const off = count - remaining;
    const type = b.readUInt32LE(off);
    if (type === STRING_TYPE) {
      if (remaining < STRING_HEADER_SZ) throw einval(`upcall items: STRING item at ${off} truncated`);
      const size = b.readBigUInt64LE(off + 8);
      const room = BigInt(remaining) - BigInt(STRING_HEADER_SZ) - BigInt(EOB_ITEM_SZ);
      if (room <= 0n || size >= room) throw einval(`upcall items: constant string at ${off} too long (${size} bytes, ${remaining} bytes left with the end marker)`);
      const n = Number(size);
      items.push({ kind: 'string', bytes: Buffer.from(b.subarray(off + STRING_HEADER_SZ, off + STRING_HEADER_SZ + n)) });
      remaining -= stringItemSize(n);
    } else if (type === POSLEN_TYPE) {
      if (remaining < POSLEN_ITEM_SZ) throw einval(`upcall items: POSLEN item at ${off} truncated`);
      items.push({ kind: 'poslen', pos: b.readUInt32LE(off + 8), len: b.readUInt32LE(off + 12) });
      remaining -= POSLEN_ITEM_SZ;
    } else if (type === EOB_TYPE) {
      if (remaining !== EOB_ITEM_SZ) throw einval(`upcall items: end marker at ${off} with ${remaining - EOB_ITEM_SZ} bytes after it`);
      remaining -= EOB_ITEM_SZ;
      sawEob = true;
    } else {
      throw einval(`upcall items: unknown item type ${type} at ${off}`);
    }
    nb++;
    if (nb >= MAX_NB_UPCALL_ITEMS) throw einval(`upcall items: too many items (at most ${MAX_ITEMS} with the end marker)`);
  }
  if (!sawEob) throw einval('upcall items: no end marker (EOB)');
  return items;
}

/**
 * Builds the suffix of a foreign symlink target from an EA value, as the
 * client does: constant strings and value[pos, pos+len) slices in order;
 * EINVAL when a slice runs past the value.
 */
export function applyUpcall(items: readonly UpcallItem[], value: Uint8Array, where = 'foreign EA'): Buffer {
  const v = Buffer.from(value.buffer, value.byteOffset, value.length);
  const parts: Buffer[] = [];
  for (const it of items) {
    if (it.kind === 'string') parts.push(it.bytes);
    else {
      if (v.length < it.pos + it.len) throw einval(`${where}: value of ${v.length} bytes too short for slice [${it.pos},${it.len}]`);
      parts.push(v.subarray(it.pos, it.pos + it.len));
    }
  }
  return Buffer.concat(parts);
}

/** The symlink target a Lustre client presents: "/" + prefix + "/" + suffix. */
export function foreignSymlinkTarget(prefix: string, suffix: Uint8Array): string {
  return `/${prefix}/${Buffer.from(suffix).toString('latin1')}`;
}
