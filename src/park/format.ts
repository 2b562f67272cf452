// The parking file format: strata's packed HDF5 layout (Version 1.0) and
// mpiFileUtils daos-serialize's (Version 0.0, see docs/park.md), the mapping of strata container properties to its
// DAOS_PROP_CO_* file attributes, and strata's 512-byte user block (a header
// with the file's length and checksum, which HDF5 ignores) that lets a reader
// reject truncated or corrupted files before the HDF5 library parses them.
import fs from 'node:fs';
import { StrataError } from '../errors.js';
import type { H5Type } from '../hdf5/h5lib/index.js';

// hash-wasm is loaded on use: it costs ~38 ms at startup of every command.
const loadHashWasm = () => import('hash-wasm');

/** The `Version` attribute (f32): 0.0 is mpiFileUtils' daos-serialize layout, 1.0 strata's packed layout. */
export const DAOS_VERSION = 0;
export const PACKED_VERSION = 1;
export type Layout = 'packed' | 'daos';
export const USERBLOCK = 512;
export const HEADER_MAGIC = 'strata-park';

// The packed layout: fixed-size rows, every key, single value and extent's
// bytes one after the other in one byte dataset (packed-layout.ts).
export const OBJECTS = 'Objects';
export const DKEYS = 'Dkeys';
export const AKEYS = 'Akeys';
export const EXTENTS = 'Extents';
export const BYTES = 'Bytes';
export const OBJECTS_T: H5Type = { compound: [['OID Hi', 'u64'], ['OID Low', 'u64'], ['Dkey Offset', 'u64']] };
export const DKEYS_T: H5Type = { compound: [['Key Length', 'u32'], ['Akey Offset', 'u64']] };
/** Kind 0: a single value of Size bytes; kind 1: an array of Size extents (the next Size rows of Extents). */
export const AKEYS_T: H5Type = { compound: [['Key Length', 'u32'], ['Kind', 'u8'], ['Size', 'u64']] };
export const EXTENTS_T: H5Type = { compound: [['Offset', 'u64'], ['Length', 'u64']] };
export const KIND_SINGLE = 0;
export const KIND_ARRAY = 1;
export interface ObjectRow { 'OID Hi': bigint; 'OID Low': bigint; 'Dkey Offset': bigint }
export interface PackedDkeyRow { 'Key Length': number; 'Akey Offset': bigint }
export interface PackedAkeyRow { 'Key Length': number; 'Kind': number; 'Size': bigint }
export interface ExtentRow { 'Offset': bigint; 'Length': bigint }

// The daos-serialize layout (daos-layout.ts).
export const OID_DATA = 'Oid Data';
export const DKEY_DATA = 'Dkey Data';
export const AKEY_DATA = 'Akey Data';
export const USER_ATTRS = 'User Attributes';

export const OID_T: H5Type = { compound: [['OID Hi', 'u64'], ['OID Low', 'u64'], ['Dkey Offset', 'u64']] };
export const DKEY_T: H5Type = { compound: [['Dkey Value', 'vbytes'], ['Akey Offset', 'u64'], ['Record KV Value', 'vbytes']] };
export const AKEY_T: H5Type = { compound: [['Akey Value', 'vbytes'], ['Dataset ID', 'u64'], ['Record Single Value', 'vbytes']] };
export const UATTR_T: H5Type = { compound: [['Attribute Name', 'vstr'], ['Attribute Value', 'vbytes']] };
export const ROOTS_T: H5Type = { compound: [['hi', 'u64'], ['lo', 'u64']] };

export interface OidRow { 'OID Hi': bigint; 'OID Low': bigint; 'Dkey Offset': bigint }
export interface DkeyRow { 'Dkey Value': Buffer; 'Akey Offset': bigint; 'Record KV Value': Buffer }
export interface AkeyRow { 'Akey Value': Buffer; 'Dataset ID': bigint; 'Record Single Value': Buffer }
export interface UattrRow { 'Attribute Name': string; 'Attribute Value': Buffer }

/** File attributes besides the properties. */
export const A_VERSION = 'Version';
export const A_FILES = 'Files Generated';
/** strata additions: which container and which rank a file holds. */
export const A_CONT_UUID = 'STRATA_CONT_UUID';
export const A_RANK = 'STRATA_RANK';

/** Attributes DAOS writes that strata reads and ignores (values of another system). */
export const IGNORED_PROPS = ['DAOS_PROP_CO_SNAPSHOT_MAX', 'DAOS_PROP_CO_SCRUBBER_DISABLED', 'DAOS_PROP_CO_ROOTS'];
export const A_ALLOCED_OID = 'DAOS_PROP_CO_ALLOCED_OID';
export const A_ACL = 'DAOS_PROP_CO_ACL';

type PropKind = { kind: 'u64' } | { kind: 'str' } | { kind: 'enum'; values: Record<string, number> };

const en = (names: string[], base = 0): PropKind => ({ kind: 'enum', values: Object.fromEntries(names.map((n, i) => [n, i + base])) });

/** strata property name -> file attribute and encoding (DAOS enum numbering). */
export const PROP_ATTRS: ReadonlyArray<{ prop: string; attr: string } & PropKind> = [
  { prop: 'layout_type', attr: 'DAOS_PROP_CO_LAYOUT_TYPE', ...en(['RAW', 'POSIX', 'HDF5', 'PYTHON', 'SPARK', 'DATABASE', 'ROOT', 'SEISMIC', 'METEO']) },
  { prop: 'layout_version', attr: 'DAOS_PROP_CO_LAYOUT_VER', kind: 'u64' },
  { prop: 'cksum', attr: 'DAOS_PROP_CO_CSUM', ...en(['off', 'crc16', 'crc32', 'crc64', 'sha1', 'sha256', 'sha512', 'adler32']) },
  { prop: 'cksum_size', attr: 'DAOS_PROP_CO_CSUM_CHUNK_SIZE', kind: 'u64' },
  { prop: 'srv_cksum', attr: 'DAOS_PROP_CO_CSUM_SERVER_VERIFY', ...en(['off', 'on']) },
  { prop: 'rd_fac', attr: 'DAOS_PROP_CO_REDUN_FAC', kind: 'u64' },
  { prop: 'rd_lvl', attr: 'DAOS_PROP_CO_REDUN_LVL', ...en(['rank', 'node'], 1) },
  { prop: 'compression', attr: 'DAOS_PROP_CO_COMPRESS', ...en(['off', 'lz4', 'deflate', 'deflate1', 'deflate2', 'deflate3', 'deflate4']) },
  { prop: 'encryption', attr: 'DAOS_PROP_CO_ENCRYPT', ...en(['off', 'aes-xts128', 'aes-xts256', 'aes-cbc128', 'aes-cbc192', 'aes-cbc256', 'aes-gcm128', 'aes-gcm256']) },
  { prop: 'owner', attr: 'DAOS_PROP_CO_OWNER', kind: 'str' },
  { prop: 'group', attr: 'DAOS_PROP_CO_OWNER_GROUP', kind: 'str' },
  { prop: 'dedup', attr: 'DAOS_PROP_CO_DEDUP', ...en(['off', 'memcmp', 'hash']) },
  { prop: 'dedup_threshold', attr: 'DAOS_PROP_CO_DEDUP_THRESHOLD', kind: 'u64' },
  { prop: 'ec_cell_sz', attr: 'DAOS_PROP_CO_EC_CELL_SZ', kind: 'u64' },
  { prop: 'ec_pda', attr: 'DAOS_PROP_CO_EC_PDA', kind: 'u64' },
  { prop: 'rp_pda', attr: 'DAOS_PROP_CO_RP_PDA', kind: 'u64' },
  { prop: 'status', attr: 'DAOS_PROP_CO_STATUS', ...en(['HEALTHY', 'UNCLEAN']) },
  { prop: 'label', attr: 'DAOS_PROP_CO_LABEL', kind: 'str' },
  // strata's own container properties (DAOS keeps these in the DFS superblock, not as container properties)
  { prop: 'chunk_size', attr: 'STRATA_PROP_CO_CHUNK_SIZE', kind: 'u64' },
  { prop: 'oclass', attr: 'STRATA_PROP_CO_OCLASS', kind: 'str' },
  { prop: 'dir_oclass', attr: 'STRATA_PROP_CO_DIR_OCLASS', kind: 'str' },
  { prop: 'file_oclass', attr: 'STRATA_PROP_CO_FILE_OCLASS', kind: 'str' },
];

export interface Header {
  magic: string;
  v: number;
  /** Bytes of the whole file. */
  size: number;
  /** xxh128 of bytes [USERBLOCK, size). */
  xxh128: string;
}

async function hashRange(file: string, from: number, to: number): Promise<string> {
  const { createXXHash128 } = await loadHashWasm();
  const h = await createXXHash128();
  h.init();
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let pos = from; pos < to;) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Writes strata's header into the user block of a closed file. */
export async function sealFile(file: string): Promise<void> {
  const size = fs.statSync(file).size;
  const hdr: Header = { magic: HEADER_MAGIC, v: 1, size, xxh128: await hashRange(file, USERBLOCK, size) };
  const text = Buffer.alloc(USERBLOCK);
  text.write(JSON.stringify(hdr) + '\n', 'utf8');
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, text, 0, USERBLOCK, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Checks a file before HDF5 reads it. A file starting with the HDF5
 * signature has no strata header (e.g. written by mpiFileUtils) and is
 * accepted as is; any other file must carry a valid strata header whose
 * length and checksum match.
 */
export async function verifyFile(file: string): Promise<'sealed' | 'plain'> {
  let st: fs.Stats;
  try { st = fs.statSync(file); } catch (e) {
    throw new StrataError('ENOENT', `${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  if (!st.isFile()) throw new StrataError('EINVAL', `${file}: not a regular file`);
  const head = Buffer.alloc(USERBLOCK);
  const fd = fs.openSync(file, 'r');
  let n: number;
  try { n = fs.readSync(fd, head, 0, USERBLOCK, 0); } finally { fs.closeSync(fd); }
  if (n >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'plain';
  const bad = (why: string) => new StrataError('EINVAL', `${file}: not a strata parking file or damaged: ${why}`);
  if (n < USERBLOCK) throw bad(`only ${st.size} bytes (truncated?)`);
  const end = head.indexOf(0x0a);
  let hdr: Header;
  try { hdr = JSON.parse(head.subarray(0, end < 0 ? 0 : end).toString('utf8')) as Header; } catch { throw bad('unreadable header'); }
  if (hdr?.magic !== HEADER_MAGIC) throw bad('no strata header and no HDF5 signature');
  // The header is not covered by the checksum: the rest of the block must be the zeros sealFile wrote.
  if (head.subarray(end + 1).some((b) => b !== 0)) throw bad('damaged header (bytes after it are not zero)');
  if (hdr.v !== 1) throw bad(`header version ${String(hdr.v)} is not supported (expected 1)`);
  if (hdr.size !== st.size) throw bad(`file is ${st.size} bytes but was written with ${hdr.size} (truncated or extended)`);
  const sum = await hashRange(file, USERBLOCK, st.size);
  if (sum !== hdr.xxh128) throw bad('checksum mismatch (corrupted contents)');
  return 'sealed';
}

/** Name of rank r's file for a container. */
export function rankFileName(contUuid: string, rank: number): string {
  return `${contUuid}_rank${rank}.h5`;
}
