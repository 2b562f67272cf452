// Lustre foreign layouts (LU-11376): struct lov_foreign_md (files, xattr
// lustre.lov) and struct lmv_foreign_md (directories, xattr trusted.lmv).
// Little-endian 16-byte header: lfm_magic, lfm_length, lfm_type, lfm_flags,
// then lfm_length bytes of free-format value (no NUL).
//
// DAOS (2.2+) links: type SYMLINK (0xda05), value "<pool-uuid>/<cont-uuid>",
// flags = container layout number. Older DAOS: value "DAOS.<TYPE>://<pool>/<cont>",
// flags 0xda05.
import { StrataError } from '../errors.js';
import type { ContainerType } from '../container/index.js';
import { isUuidText, decodeDunsAttr } from './duns.js';
import { layoutNumber, typeFromLayoutNumber } from './layout.js';
import { applyUpcall, parseUpcallFormat, LEGACY_POOL_COLON_CONT, type UpcallItem } from './upcall.js';

export const LOV_USER_MAGIC_FOREIGN = 0x0bd70bd0;
export const LMV_MAGIC_FOREIGN = 0x0cd50cd0;
export const LU_FOREIGN_TYPE_SYMLINK = 0xda05;
export const LL_SUPER_MAGIC = 0x0bd00bd0;
export const FOREIGN_HEADER_SIZE = 16;
/** XATTR_SIZE_MAX (65536) minus the header. */
export const FOREIGN_MAX_VALUE = 65536 - FOREIGN_HEADER_SIZE;
/** xattr names the raw EAs are read from. */
export const LOV_XATTR = 'lustre.lov';
export const LMV_XATTR = 'trusted.lmv';

export const FOREIGN_TYPE_NAMES: Record<number, string> = {
  0: 'none', 1: 'posix', 2: 'pccrw', 3: 'pccro', 4: 'S3', 0xda05: 'symlink', 0xffffffff: 'unknown',
};

export type ForeignObject = 'file' | 'dir';

export interface ForeignMd {
  magic: number;
  type: number;
  flags: number;
  value: Buffer;
}

export const magicFor = (o: ForeignObject): number => (o === 'dir' ? LMV_MAGIC_FOREIGN : LOV_USER_MAGIC_FOREIGN);

const u32 = (n: number, what: string): number => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new StrataError('EINVAL', `${what} ${n} is not a 32-bit unsigned number`);
  return n;
};

/** Encodes a foreign layout EA. */
export function encodeForeign(md: ForeignMd): Buffer {
  if (md.value.length > FOREIGN_MAX_VALUE) throw new StrataError('EINVAL', `foreign value too long (${md.value.length} bytes, at most ${FOREIGN_MAX_VALUE})`);
  const b = Buffer.alloc(FOREIGN_HEADER_SIZE + md.value.length);
  b.writeUInt32LE(u32(md.magic, 'lfm_magic'), 0);
  b.writeUInt32LE(md.value.length, 4);
  b.writeUInt32LE(u32(md.type, 'lfm_type'), 8);
  b.writeUInt32LE(u32(md.flags, 'lfm_flags'), 12);
  md.value.copy(b, FOREIGN_HEADER_SIZE);
  return b;
}

/**
 * Decodes a foreign layout EA. With `expect`, the magic must be that object's
 * (LMV for dirs, LOV for files). Bytes past lfm_value are ignored (ioctls
 * return padded buffers); a length past the buffer is EINVAL.
 */
export function decodeForeign(buf: Uint8Array, where: string, expect?: ForeignObject): ForeignMd {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.length < FOREIGN_HEADER_SIZE) throw new StrataError('EINVAL', `${where}: foreign layout truncated (${b.length} bytes, header is ${FOREIGN_HEADER_SIZE})`);
  const magic = b.readUInt32LE(0);
  const want = expect ? [magicFor(expect)] : [LMV_MAGIC_FOREIGN, LOV_USER_MAGIC_FOREIGN];
  if (!want.includes(magic)) {
    throw new StrataError('EINVAL', `${where}: not a foreign layout (magic 0x${hex(magic)}, expected ${want.map((m) => '0x' + hex(m)).join(' or ')})`);
  }
  const length = b.readUInt32LE(4);
  if (length > b.length - FOREIGN_HEADER_SIZE) {
    throw new StrataError('EINVAL', `${where}: foreign layout length ${length} runs past the ${b.length}-byte EA`);
  }
  return { magic, type: b.readUInt32LE(8), flags: b.readUInt32LE(12), value: Buffer.from(b.subarray(FOREIGN_HEADER_SIZE, FOREIGN_HEADER_SIZE + length)) };
}

export const hex = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

export interface DaosForeign {
  type: ContainerType;
  pool: string;
  cont: string;
  /** 'uuids' for "<pool>/<cont>" (DAOS 2.2+), 'duns' for the older "DAOS.<TYPE>://..." value. */
  format: 'uuids' | 'duns' | 'upcall';
}

/** The EA DAOS writes for a container link: SYMLINK type, "<pool>/<cont>", flags = layout number. */
export function encodeDaosForeign(o: ForeignObject, a: { type: ContainerType; pool: string; cont: string }): Buffer {
  if (!isUuidText(a.pool) || !isUuidText(a.cont)) throw new StrataError('EINVAL', `bad UUID in foreign value (pool '${a.pool}', container '${a.cont}')`);
  return encodeForeign({
    magic: magicFor(o), type: LU_FOREIGN_TYPE_SYMLINK, flags: layoutNumber(a.type),
    value: Buffer.from(`${a.pool.toLowerCase()}/${a.cont.toLowerCase()}`, 'latin1'),
  });
}

/** The value part only: "<pool-uuid>/<cont-uuid>" (what `lfs ... --xattr` takes). */
export function daosForeignValue(pool: string, cont: string): string {
  return `${pool.toLowerCase()}/${cont.toLowerCase()}`;
}

/**
 * Decodes a DAOS container link from a foreign EA; EINVAL naming `where` for
 * anything else. Values: "<pool>/<cont>" (flags = layout), "DAOS.<TYPE>://<pool>/<cont>",
 * or a site layout that `upcall` (default: the legacy "<pool>:<cont>" format)
 * turns into "<pool>/<cont>" the way a Lustre client would.
 */
export function decodeDaosForeign(buf: Uint8Array, where: string, expect?: ForeignObject, upcall?: readonly UpcallItem[]): DaosForeign {
  const md = decodeForeign(buf, where, expect);
  if (md.type !== LU_FOREIGN_TYPE_SYMLINK) {
    throw new StrataError('EINVAL', `${where}: foreign type 0x${hex(md.type)} (${FOREIGN_TYPE_NAMES[md.type] ?? 'unknown'}) is not symlink (0x0000DA05)`);
  }
  const s = md.value.toString('latin1');
  const m = /^([0-9a-fA-F-]{36})\/([0-9a-fA-F-]{36})$/.exec(s);
  if (m && isUuidText(m[1]!) && isUuidText(m[2]!)) {
    return { type: typeFromLayoutNumber(md.flags, `${where}: lfm_flags`), pool: m[1]!.toLowerCase(), cont: m[2]!.toLowerCase(), format: 'uuids' };
  }
  if (s.startsWith('DAOS.')) {
    const a = decodeDunsAttr(md.value, where);
    return { ...a, format: 'duns' };
  }
  const shown = JSON.stringify(s.length > 80 ? s.slice(0, 80) + '...' : s);
  let suffix: string | undefined;
  try {
    suffix = applyUpcall(upcall ?? parseUpcallFormat(LEGACY_POOL_COLON_CONT), md.value, where).toString('latin1');
  } catch {
    suffix = undefined;
  }
  const u = suffix ? /^\/*([0-9a-fA-F-]{36})\/+([0-9a-fA-F-]{36})\/*$/.exec(suffix) : null;
  if (u && isUuidText(u[1]!) && isUuidText(u[2]!)) {
    return { type: typeFromLayoutNumber(md.flags, `${where}: lfm_flags`), pool: u[1]!.toLowerCase(), cont: u[2]!.toLowerCase(), format: 'upcall' };
  }
  throw new StrataError('EINVAL', `${where}: foreign value ${shown} is not <pool-uuid>/<cont-uuid>${upcall ? ' nor does the upcall format make it one' : ''}`);
}
