// The FUSE kernel protocol (linux/fuse.h, version 7.31 as negotiated here):
// opcodes, flags, and encoders/decoders for the structs strata uses.
// All structs are little-endian, naturally aligned, as the kernel lays them out.

export const FUSE_KERNEL_VERSION = 7;
export const FUSE_KERNEL_MINOR = 31;

export const OP = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, SYMLINK: 6, MKNOD: 8, MKDIR: 9,
  UNLINK: 10, RMDIR: 11, RENAME: 12, LINK: 13, OPEN: 14, READ: 15, WRITE: 16, STATFS: 17,
  RELEASE: 18, FSYNC: 20, SETXATTR: 21, GETXATTR: 22, LISTXATTR: 23, REMOVEXATTR: 24, FLUSH: 25,
  INIT: 26, OPENDIR: 27, READDIR: 28, RELEASEDIR: 29, FSYNCDIR: 30, GETLK: 31, SETLK: 32, SETLKW: 33,
  ACCESS: 34, CREATE: 35, INTERRUPT: 36, BMAP: 37, DESTROY: 38, IOCTL: 39, POLL: 40,
  BATCH_FORGET: 42, FALLOCATE: 43, READDIRPLUS: 44, RENAME2: 45, LSEEK: 46, COPY_FILE_RANGE: 47,
} as const;

export const OP_NAME: Record<number, string> = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k]));

// INIT flags.
export const INIT = {
  ASYNC_READ: 1 << 0, ATOMIC_O_TRUNC: 1 << 3, BIG_WRITES: 1 << 5, DONT_MASK: 1 << 6,
  AUTO_INVAL_DATA: 1 << 12, DO_READDIRPLUS: 1 << 13, ASYNC_DIO: 1 << 15, WRITEBACK_CACHE: 1 << 16,
  PARALLEL_DIROPS: 1 << 18, HANDLE_KILLPRIV: 1 << 19, MAX_PAGES: 1 << 22, CACHE_SYMLINKS: 1 << 23,
} as const;

// SETATTR valid bits.
export const FATTR = {
  MODE: 1, UID: 2, GID: 4, SIZE: 8, ATIME: 16, MTIME: 32, FH: 64, ATIME_NOW: 128, MTIME_NOW: 256,
  LOCKOWNER: 512, CTIME: 1024,
} as const;

// open_out flags.
export const FOPEN = { DIRECT_IO: 1, KEEP_CACHE: 2, NONSEEKABLE: 4, CACHE_DIR: 8 } as const;

/** fuse_write_in.write_flags: the writer lacks CAP_FSETID, clear suid/sgid (with HANDLE_KILLPRIV). */
export const WRITE_KILL_PRIV = 1 << 2;
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

export const ERRNO: Record<string, number> = {
  EPERM: 1, ENOENT: 2, EIO: 5, ENXIO: 6, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EBUSY: 16, EEXIST: 17, EXDEV: 18,
  ENOTDIR: 20, EISDIR: 21, EINVAL: 22, EFBIG: 27, ENOSPC: 28, EROFS: 30, ERANGE: 34, ENAMETOOLONG: 36,
  ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENODATA: 61, EREMOTE: 66, EPROTO: 71, ENOTSUP: 95, ENOTCONN: 107, ESTALE: 116, ECONFLICT: 16,
};

export const IN_HEADER = 40;
export const OUT_HEADER = 16;

export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  pid: number;
}

export function readInHeader(b: Buffer): InHeader {
  return {
    len: b.readUInt32LE(0), opcode: b.readUInt32LE(4), unique: b.readBigUInt64LE(8), nodeid: b.readBigUInt64LE(16),
    uid: b.readUInt32LE(24), gid: b.readUInt32LE(28), pid: b.readUInt32LE(32),
  };
}

export function outHeader(len: number, error: number, unique: bigint): Buffer {
  const h = Buffer.allocUnsafe(OUT_HEADER);
  h.writeUInt32LE(len, 0);
  h.writeInt32LE(error, 4);
  h.writeBigUInt64LE(unique, 8);
  return h;
}

/** Attributes as the kernel wants them (struct fuse_attr, 88 bytes). */
export interface Attr {
  ino: bigint;
  size: number;
  blocks: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  blksize: number;
  /** Devices: the device number in the kernel's 32-bit encoding (rdevToKernel32); 0 otherwise. */
  rdev?: number;
}

export const ATTR_SIZE = 88;

export function writeAttr(b: Buffer, at: number, a: Attr): void {
  b.writeBigUInt64LE(a.ino, at);
  b.writeBigUInt64LE(BigInt(a.size), at + 8);
  b.writeBigUInt64LE(BigInt(a.blocks), at + 16);
  b.writeBigUInt64LE(a.atimeNs / 1_000_000_000n, at + 24);
  b.writeBigUInt64LE(a.mtimeNs / 1_000_000_000n, at + 32);
  b.writeBigUInt64LE(a.ctimeNs / 1_000_000_000n, at + 40);
  b.writeUInt32LE(Number(a.atimeNs % 1_000_000_000n), at + 48);
  b.writeUInt32LE(Number(a.mtimeNs % 1_000_000_000n), at + 52);
  b.writeUInt32LE(Number(a.ctimeNs % 1_000_000_000n), at + 56);
  b.writeUInt32LE(a.mode >>> 0, at + 60);
  b.writeUInt32LE(a.nlink >>> 0, at + 64);
  b.writeUInt32LE(a.uid >>> 0, at + 68);
  b.writeUInt32LE(a.gid >>> 0, at + 72);
  b.writeUInt32LE(a.rdev ?? 0, at + 76);
  b.writeUInt32LE(a.blksize, at + 80);
  b.writeUInt32LE(0, at + 84); // flags
}

function splitTimeout(sec: number): [bigint, number] {
  const s = Math.floor(sec);
  return [BigInt(s), Math.round((sec - s) * 1e9)];
}

/** struct fuse_entry_out (128 bytes). */
export function entryOut(nodeid: bigint, attr: Attr, entryTimeout: number, attrTimeout: number): Buffer {
  const b = Buffer.alloc(40 + ATTR_SIZE);
  const [es, ens] = splitTimeout(entryTimeout);
  const [as, ans] = splitTimeout(attrTimeout);
  b.writeBigUInt64LE(nodeid, 0);
  b.writeBigUInt64LE(0n, 8); // generation
  b.writeBigUInt64LE(es, 16);
  b.writeBigUInt64LE(as, 24);
  b.writeUInt32LE(ens, 32);
  b.writeUInt32LE(ans, 36);
  writeAttr(b, 40, attr);
  return b;
}

/** A negative entry (nodeid 0): the kernel caches "does not exist" for `timeout` seconds. */
export function negativeEntryOut(timeout: number): Buffer {
  const b = Buffer.alloc(40 + ATTR_SIZE);
  const [es, ens] = splitTimeout(timeout);
  b.writeBigUInt64LE(es, 16);
  b.writeUInt32LE(ens, 32);
  return b;
}

/** struct fuse_attr_out (104 bytes). */
export function attrOut(attr: Attr, attrTimeout: number): Buffer {
  const b = Buffer.alloc(16 + ATTR_SIZE);
  const [as, ans] = splitTimeout(attrTimeout);
  b.writeBigUInt64LE(as, 0);
  b.writeUInt32LE(ans, 8);
  writeAttr(b, 16, attr);
  return b;
}

/** struct fuse_open_out (16 bytes). */
export function openOut(fh: bigint, flags: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(fh, 0);
  b.writeUInt32LE(flags, 8);
  return b;
}

export function u32Out(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n, 0);
  return b;
}

/** struct fuse_kstatfs inside fuse_statfs_out (80 bytes). */
export function statfsOut(s: { blocks: number; bfree: number; bavail: number; files: number; ffree: number; bsize: number; namelen: number; frsize: number }): Buffer {
  const b = Buffer.alloc(80);
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(s.blocks))), 0);
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(s.bfree))), 8);
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(s.bavail))), 16);
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(s.files))), 24);
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(s.ffree))), 32);
  b.writeUInt32LE(s.bsize, 40);
  b.writeUInt32LE(s.namelen, 44);
  b.writeUInt32LE(s.frsize, 48);
  return b;
}

/** struct fuse_init_out (64 bytes). */
export function initOut(o: { maxReadahead: number; flags: number; maxBackground: number; congestion: number; maxWrite: number; maxPages: number }): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(FUSE_KERNEL_VERSION, 0);
  b.writeUInt32LE(FUSE_KERNEL_MINOR, 4);
  b.writeUInt32LE(o.maxReadahead, 8);
  b.writeUInt32LE(o.flags >>> 0, 12);
  b.writeUInt16LE(o.maxBackground, 16);
  b.writeUInt16LE(o.congestion, 18);
  b.writeUInt32LE(o.maxWrite, 20);
  b.writeUInt32LE(1, 24); // time_gran: nanoseconds
  b.writeUInt16LE(o.maxPages, 28);
  return b;
}

export const DT = { DIR: 4, REG: 8, LNK: 10 } as const;

/** Size of one struct fuse_dirent for a name of `nameLen` bytes (padded to 8). */
export function direntSize(nameLen: number): number {
  return (24 + nameLen + 7) & ~7;
}

export function writeDirent(b: Buffer, at: number, ino: bigint, off: number, type: number, name: Buffer): number {
  const size = direntSize(name.length);
  b.writeBigUInt64LE(ino, at);
  b.writeBigUInt64LE(BigInt(off), at + 8);
  b.writeUInt32LE(name.length, at + 16);
  b.writeUInt32LE(type, at + 20);
  name.copy(b, at + 24);
  b.fill(0, at + 24 + name.length, at + size);
  return size;
}

/** Reads a NUL-terminated string at `at`; returns it and the offset after the NUL. */
export function cstr(b: Buffer, at: number): [string, number] {
  let end = b.indexOf(0, at);
  if (end < 0) end = b.length;
  return [b.toString('utf8', at, end), end + 1];
}
