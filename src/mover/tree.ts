// One interface for both ends of a move: a tree of directories, files and
// symlinks, addressed by relative paths of escaped names (see names.ts).
// POSIX (posix.ts: posix-read.ts, posix-write.ts) and DFS (dfs-tree.ts) implement it, the way rclone and
// JuiceFS treat a local directory as just another backend. Walk, copy, sync
// and compare only talk to this interface.
import type { Extent } from '../engine/types.js';

/** FIFOs, devices and sockets ('fifo', 'chr', 'blk', 'sock') are copied by type, mode and rdev, never opened; 'other' is a type neither end knows. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'chr' | 'blk' | 'sock' | 'other';

export function isSpecialEntry(t: EntryType): t is 'fifo' | 'chr' | 'blk' | 'sock' {
  return t === 'fifo' || t === 'chr' || t === 'blk' || t === 'sock';
}

export interface MStat {
  type: EntryType;
  /** Permission bits (mode & 0o7777). */
  perm: number;
  uid: number;
  gid: number;
  /** Bytes (files), target length (symlinks), 0 otherwise. */
  size: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  nlink: number;
  /** Identity of the inode within the tree (dev:ino on POSIX, the OID on DFS): hard links share it. */
  ino: string;
  /** Bytes allocated (POSIX st_blocks*512), when known. */
  allocated?: number;
  /** Chunk size of a DFS file (kept when copying DFS -> DFS). */
  chunkSize?: number;
  /** Devices: the device number as DFS keeps it, major << 32 | minor (0 for other types). */
  rdev?: bigint;
}

export interface Listed {
  name: string;
  st: MStat;
}

/** An open source file. */
export interface FileReader {
  /** Ranges that hold data (holes excluded), or undefined when the backend cannot tell (then: all of it). */
  dataRanges(size: number): Promise<Extent[] | undefined>;
  /**
   * Reads exactly `length` bytes at `offset` (zeros in holes); a short read
   * means the file shrank. Reads into `into` when given (and returns a view of it).
   */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
  /** Throws if the file changed (size or mtime) while it was read. */
  checkUnchanged(st: MStat): Promise<void>;
  close(): Promise<void>;
}

/** A file being written under a temporary name. */
export interface FileWriter {
  /** Preferred write unit (the destination's chunk size). */
  readonly chunkSize: number;
  write(data: Buffer, offset: number): Promise<void>;
  /** Sets size, mode, owner, times, xattrs and renames the file into place (replacing a non-directory; a directory there: EISDIR). */
  commit(size: number): Promise<void>;
  /** Removes the temporary file. */
  abort(): Promise<void>;
}

export interface MetaOptions {
  /** Set uid/gid (root only on POSIX). */
  owner: boolean;
}

export interface Tree {
  readonly kind: 'posix' | 'dfs';
  /** For messages: the full location of rel. */
  display(rel: string): string;

  lstat(rel: string): Promise<MStat | undefined>;
  /**
   * Entries of a directory in byte order of their names, with their lstat,
   * a page (a bounded array) at a time: the walk takes entries from a page
   * without a trip through the generator for each.
   * st: the directory as its parent's listing (or the root's lstat) showed it;
   * a backend that can tells when another inode is there now (an error).
   */
  list(rel: string, st?: MStat): AsyncGenerator<Listed[]>;
  /** Raw target bytes of a symlink, escaped. */
  readlink(rel: string): Promise<string>;
  /** Extended attributes (name, value), all of them; the caller filters. */
  xattrs(rel: string, st: MStat): Promise<Array<[string, Buffer]>>;
  /**
   * A small file's xattrs and bytes in one read, where the backend keeps them
   * together (DFS: one engine read); undefined when it cannot (then xattrs()
   * and openRead()). Throws as a reader's checkUnchanged when the file is
   * not the one listed any more.
   */
  readWhole?(rel: string, st: MStat): Promise<{ xattrs: Array<[string, Buffer]>; data: Buffer } | undefined>;
  /** st: the file as listed; a backend that can refuses another inode found there now. */
  openRead(rel: string, st: MStat): Promise<FileReader>;

  /**
   * Makes a directory (mode 0700 + u+w while it fills); ok if one exists;
   * error if a non-directory does. With `later`, a backend may queue the
   * mkdir with what this tree creates inside it (committed before or with
   * them; a failure shows at the directory's setMeta): only for a caller
   * that fills the directory through this same tree (not other processes).
   */
  ensureDir(rel: string, opts?: { later?: boolean }): Promise<'created' | 'existed'>;
  createFile(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<FileWriter>;
  symlink(rel: string, target: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void>;
  /** Makes a FIFO, device or socket with st's type, rdev, mode, owner and times (replacing a non-directory rel; a directory there: EISDIR). */
  special(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void>;
  /** Hard link rel to the already written existingRel (replacing a non-directory rel; a directory there: EISDIR). */
  link(existingRel: string, rel: string): Promise<void>;
  /** Sets mode, owner, times and xattrs (replacing the whole xattr set) of an existing entry. */
  setMeta(rel: string, st: MStat, xattrs: Array<[string, Buffer]> | undefined, meta: MetaOptions): Promise<void>;
  /** Removes a file, symlink or whole directory tree. */
  remove(rel: string): Promise<void>;
  /** Removes leftover temporary files of an interrupted run in a directory. */
  cleanTemps(rel: string): Promise<number>;
  close(): Promise<void>;
}

/** Files up to this size are read with readWhole where a tree has it (copy, compare). */
export const WHOLE_MAX = 65536;

/** A reader of bytes already in memory (a small file readWhole gave). */
export function wholeReader(data: Buffer): FileReader {
  return {
    dataRanges: async (size: number) => (size === 0 ? [] : [{ offset: 0, length: size }]),
    read: async (offset: number, length: number) => data.subarray(offset, offset + length),
    checkUnchanged: async () => undefined, // read with the attributes readWhole checked
    close: async () => undefined,
  };
}

/** Fatal destination errors: stop the whole run (the rest would fail the same way). */
export function isFatal(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS';
}
