// On-disk layout of a DFS namespace inside a POSIX container (see docs/dfs.md).
//
// - Superblock object OID 0.0: dkey "sb", akey "sb" = JSON {magic, version, ...}.
// - Root directory object OID 1.0.
// - Every inode lives in its own object (directory, file or symlink object),
//   under the meta dkey "\0inode": akey "attr" (32-byte record: mode, uid, gid,
//   nlink, chunk size, birth time), "size", "mtime", "ctime" (u64 LE; writers
//   merge them with put-max so parallel writers never conflict), "link"
//   (symlink target), "rdev" (devices: major << 32 | minor). xattrs live under meta dkey "\0xattr", one akey per name.
// - A directory entry is a dkey of the directory object (the name, UTF-8) with
//   akey "e" = [version 1, type, OID(16)]. Names never hold NUL, so the meta
//   dkeys (which start with NUL) never collide with entries.
// - File data: dkey = chunk index (u64Key, 8 bytes), akey "d" = byte array of
//   that chunk (offsets within the chunk). Holes are never stored.
import { ObjectId, OTYPE } from '../object/oid.js';
import { StrataError } from '../errors.js';

export const SB_OID = new ObjectId(0n, 0n);
export const ROOT_OID = new ObjectId(1n, 0n);
/** Orphans: inodes unlinked while a handle had them open (dkey = OID string, akey "o" = JSON {pid, host, at}). */
export const ORPHAN_OID = new ObjectId(0n, 1n);
export const ORPHAN_AKEY = 'o';
export const SB_DKEY = 'sb';
export const SB_AKEY = 'sb';
export const SB_MAGIC = 'strata-dfs';
export const LAYOUT_VERSION = 1;

export const INODE_DKEY = '\0inode';
export const XATTR_DKEY = '\0xattr';
export const A_ATTR = 'attr';
export const A_SIZE = 'size';
export const A_MTIME = 'mtime';
export const A_CTIME = 'ctime';
export const A_LINK = 'link';
/** Directories: the number of subdirectories (u64 LE); nlink = 2 + it. */
export const A_SUBDIRS = 'subdirs';
/** Character and block devices: the device number, major << 32 | minor (u64 LE). */
export const A_RDEV = 'rdev';
export const ENTRY_AKEY = 'e';
export const DATA_AKEY = 'd';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFSOCK = 0o140000;

/**
 * The kinds of inode DFS stores. FIFOs, devices and sockets ("special
 * files") hold no data: their meaning lives in the kernel that opens them
 * (the mount's kernel runs a FIFO's pipe itself once getattr says S_IFIFO).
 */
export type FileType = 'file' | 'dir' | 'symlink' | SpecialType;
export type SpecialType = 'fifo' | 'chr' | 'blk' | 'sock';

const TYPE_BITS: Record<FileType, number> = {
  file: S_IFREG, dir: S_IFDIR, symlink: S_IFLNK, fifo: S_IFIFO, chr: S_IFCHR, blk: S_IFBLK, sock: S_IFSOCK,
};

export const NAME_MAX = 255;
export const PATH_MAX = 4096;
export const XATTR_NAME_MAX = 255;
export const XATTR_VALUE_MAX = 65536;
export const SYMLOOP_MAX = 40;

export function typeBits(t: FileType): number {
  return TYPE_BITS[t];
}

/** The type a mode's S_IFMT bits name, or undefined for bits DFS does not know. */
export function typeOfModeBits(mode: number): FileType | undefined {
  const f = mode & S_IFMT;
  for (const [t, bits] of Object.entries(TYPE_BITS)) if (bits === f) return t as FileType;
  return undefined;
}

/** The type of a stored inode's mode (unknown bits, which DFS never stores, read as a file). */
export function typeOfMode(mode: number): FileType {
  return typeOfModeBits(mode) ?? 'file';
}

export function isSpecial(t: FileType): t is SpecialType {
  return t === 'fifo' || t === 'chr' || t === 'blk' || t === 'sock';
}

export function isDevice(t: FileType): t is 'chr' | 'blk' {
  return t === 'chr' || t === 'blk';
}

/** Largest major or minor device number (each is 32 bits in DFS's rdev). */
export const DEV_PART_MAX = 0xffffffff;

/** The rdev DFS stores: major << 32 | minor. */
export function makeRdev(major: number, minor: number): bigint {
  return (BigInt(major) << 32n) | BigInt(minor);
}

export function rdevMajor(rdev: bigint): number { return Number(rdev >> 32n); }
export function rdevMinor(rdev: bigint): number { return Number(rdev & 0xffffffffn); }

/** Linux's 32-bit device encoding (new_encode_dev: the FUSE protocol's rdev) to DFS's rdev. */
export function rdevFromKernel32(dev: number): bigint {
  return makeRdev((dev & 0xfff00) >>> 8, (dev & 0xff) | ((dev >>> 12) & 0xfff00));
}

/** DFS's rdev to Linux's 32-bit device encoding (0 when it does not fit: a major over 4095 or a minor over 2^20 - 1). */
export function rdevToKernel32(rdev: bigint): number {
  const major = rdevMajor(rdev);
  const minor = rdevMinor(rdev);
  if (major > 0xfff || minor > 0xfffff) return 0;
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** glibc's 64-bit dev_t (st_rdev of stat(2), makedev) to DFS's rdev. */
export function rdevFromDevT(dev: bigint): bigint {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn & 0xffffffffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn & 0xffffffffn);
  return (major << 32n) | minor;
}

export function otypeFor(t: FileType): number {
  return t === 'dir' ? OTYPE.MULTI_LEXICAL : t === 'file' ? OTYPE.ARRAY_BYTE : OTYPE.MULTI_HASHED;
}

export interface Superblock {
  magic: string;
  version: number;
  chunkSize: number;
  oclass: string;
  root: string;
  createdAt: string;
}

export function encodeSuperblock(sb: Superblock): Uint8Array {
  return Buffer.from(JSON.stringify(sb), 'utf8');
}

export function decodeSuperblock(b: Uint8Array): Superblock {
  let sb: Superblock;
  try {
    sb = JSON.parse(Buffer.from(b).toString('utf8')) as Superblock;
  } catch (e) {
    throw new StrataError('EIO', 'corrupt DFS superblock (not JSON)', { cause: e });
  }
  if (sb.magic !== SB_MAGIC) throw new StrataError('EIO', `bad DFS superblock magic '${String(sb.magic)}'`);
  if (sb.version > LAYOUT_VERSION) throw new StrataError('ENOTSUP', `DFS layout version ${sb.version} is newer than this strata (${LAYOUT_VERSION})`);
  return sb;
}

/** Directory entry value: [1, type byte, oid(16)]. */
export interface Entry {
  type: FileType;
  oid: ObjectId;
}

/** The type byte of an entry: the DT_* value of dirent.d_type. */
const TYPE_BYTE: Record<FileType, number> = { fifo: 1, chr: 2, dir: 4, blk: 6, file: 8, symlink: 10, sock: 12 };
const BYTE_TYPE = new Map<number, FileType>(Object.entries(TYPE_BYTE).map(([t, b]) => [b, t as FileType]));

export function dtOf(t: FileType): number { return TYPE_BYTE[t]; }

export function encodeEntry(e: Entry): Uint8Array {
  const b = Buffer.alloc(18);
  b[0] = 1;
  b[1] = TYPE_BYTE[e.type];
  Buffer.from(e.oid.toBytes()).copy(b, 2);
  return b;
}

export function decodeEntry(b: Uint8Array): Entry {
  if (b.length !== 18 || b[0] !== 1) throw new StrataError('EIO', `corrupt directory entry (${b.length} bytes)`);
  const t = BYTE_TYPE.get(b[1]!);
  if (!t) throw new StrataError('EIO', `corrupt directory entry type ${b[1]}`);
  return { type: t, oid: ObjectId.fromBytes(b.subarray(2, 18)) };
}

/** The mutable-by-read-modify-write part of an inode (akey "attr"), 32 bytes LE. */
export interface InodeAttr {
  mode: number; // with S_IFMT bits
  uid: number;
  gid: number;
  nlink: number;
  chunkSize: number; // files; 0 otherwise
  atimeNs: bigint;
}

export function encodeAttr(a: InodeAttr): Uint8Array {
  const b = Buffer.alloc(32);
  b[0] = 1;
  b.writeUInt32LE(a.mode >>> 0, 4);
  b.writeUInt32LE(a.uid >>> 0, 8);
  b.writeUInt32LE(a.gid >>> 0, 12);
  b.writeUInt32LE(a.nlink >>> 0, 16);
  b.writeUInt32LE(a.chunkSize >>> 0, 20);
  b.writeBigUInt64LE(a.atimeNs, 24);
  return b;
}

export function decodeAttr(u: Uint8Array): InodeAttr {
  const b = Buffer.from(u.buffer, u.byteOffset, u.length);
  if (b.length !== 32 || b[0] !== 1) throw new StrataError('EIO', `corrupt inode record (${b.length} bytes)`);
  return {
    mode: b.readUInt32LE(4), uid: b.readUInt32LE(8), gid: b.readUInt32LE(12), nlink: b.readUInt32LE(16),
    chunkSize: b.readUInt32LE(20), atimeNs: b.readBigUInt64LE(24),
  };
}

const INODE_DKEY_BYTES = Buffer.from(INODE_DKEY, 'utf8');
const A_ATTR_BYTES = Buffer.from(A_ATTR, 'utf8');

/**
 * Whether a record of a POSIX container, as raw keys and value, is the inode
 * record of a character or block device: what a loader of raw records (a
 * parking file) checks for a caller who may not create devices.
 */
export function isDeviceRecord(dkey: Uint8Array, akey: Uint8Array, value: Uint8Array): boolean {
  if (value.length !== 32 || !INODE_DKEY_BYTES.equals(dkey) || !A_ATTR_BYTES.equals(akey)) return false;
  const t = typeOfModeBits(Buffer.from(value.buffer, value.byteOffset, value.length).readUInt32LE(4));
  return t !== undefined && isDevice(t);
}

export function u64le(n: bigint | number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

export function fromU64le(u: Uint8Array | undefined): bigint {
  if (!u || u.length < 8) return 0n;
  return Buffer.from(u.buffer, u.byteOffset, u.length).readBigUInt64LE(0);
}

/** True for dkeys that are not directory entries / file chunks (they start with NUL and are not 8 bytes). */
export function isMetaDkey(k: Uint8Array): boolean {
  return k.length > 0 && k[0] === 0 && k.length !== 8;
}
