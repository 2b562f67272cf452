// The DFS handle: path-based POSIX calls plus handle-based open/read/write.
import { StrataError, isStrataError } from '../errors.js';
import type { Container } from '../container/container.js';
import type { Epoch } from '../engine/types.js';
import type { DfsCore, MountOptions } from './core.js';
import type { Superblock } from './layout.js';
import { mountCore } from './mount.js';
import { resolve, resolveExisting, readTarget } from './lookup.js';
import { createNode, link, mkdir, mknod, rmdir, symlink, unlink, type CreateOptions } from './dir.js';
import { DfsFile, readSmallFile, truncateObject, type DfsFileOptions, type SmallFile } from './io.js';
import { rename, type RenameOptions } from './rename.js';
import { chmod, chown, stat, toStat, utimens, type Stat } from './attr.js';
import {
  getXattr, getXattrOf, listXattrs, listXattrsOf, removeXattr, removeXattrOf, replaceXattrsOf, setXattr, setXattrOf, xattrsOf,
  type SetXattrOptions,
} from './xattr.js';
import { readdir, readdirObject, readdirPage, type DirEntry, type DirPage, type ReaddirOptions } from './readdir.js';
import {
  createAt, linkAt, lookupAt, mknodAt, notOpenable, renameAt, setattrOf, unlinkAt,
  type CreateAtOptions, type NewInode, type RenameAtOptions, type SetAttr,
} from './at.js';
import { DfsBatch } from './batch.js';
import type { ObjectId } from '../object/oid.js';
import type { Entry, FileType } from './layout.js';
import { du, statfs, type DuResult, type StatFs } from './usage.js';
import { joinPath } from './path.js';

export interface OpenOptions extends CreateOptions {
  /** Open for writing (default false). */
  write?: boolean;
  /** Create the file if missing (O_CREAT; implies write). */
  create?: boolean;
  /** With create: fail with EEXIST if it exists (O_EXCL). */
  exclusive?: boolean;
  /** Truncate to 0 on open (O_TRUNC; implies write). */
  truncate?: boolean;
  /** Keep the file alive while this handle is open, even if its last name is removed (until close()). */
  pin?: boolean;
}

/** Largest data handed to one transaction by writeFile. */
const WRITE_BATCH = 16 * 1024 * 1024;

export class Dfs {
  constructor(readonly core: DfsCore, readonly superblock: Superblock | undefined) {}

  get container(): Container { return this.core.container; }
  get epoch(): Epoch { return this.core.epoch; }
  get readOnly(): boolean { return this.core.readOnly; }
  get chunkSize(): number { return this.core.chunkSize; }

  stat(path: string): Promise<Stat> { return stat(this.core, path, true); }
  lstat(path: string): Promise<Stat> { return stat(this.core, path, false); }

  async exists(path: string): Promise<boolean> {
    try {
      return !!(await resolve(this.core, path, false)).ent;
    } catch (e) {
      if (isStrataError(e, 'ENOENT') || isStrataError(e, 'ENOTDIR')) return false;
      throw e;
    }
  }

  mkdir(path: string, opts?: CreateOptions & { recursive?: boolean }): Promise<void> { return mkdir(this.core, path, opts); }
  rmdir(path: string): Promise<void> { return rmdir(this.core, path); }
  unlink(path: string): Promise<void> { return unlink(this.core, path); }
  rename(from: string, to: string, opts?: RenameOptions): Promise<void> { return rename(this.core, from, to, opts); }
  symlink(target: string, path: string): Promise<void> { return symlink(this.core, target, path); }
  /** mknod(2) by path: see mknodAt. */
  mknod(path: string, mode: number, rdev = 0n): Promise<void> { return mknod(this.core, path, mode, rdev); }
  link(existing: string, newPath: string): Promise<void> { return link(this.core, existing, newPath); }

  async readlink(path: string): Promise<string> {
    const r = await resolveExisting(this.core, path, false);
    if (r.ent.type !== 'symlink') throw new StrataError('EINVAL', `${path}: not a symbolic link`);
    return readTarget(this.core, r.ent.oid);
  }

  chmod(path: string, mode: number): Promise<void> { return chmod(this.core, path, mode); }
  chown(path: string, uid?: number, gid?: number): Promise<void> { return chown(this.core, path, uid, gid, true); }
  lchown(path: string, uid?: number, gid?: number): Promise<void> { return chown(this.core, path, uid, gid, false); }
  utimens(path: string, atimeNs: bigint | 'now' | undefined, mtimeNs: bigint | 'now' | undefined): Promise<void> {
    return utimens(this.core, path, atimeNs, mtimeNs, true);
  }
  lutimens(path: string, atimeNs: bigint | 'now' | undefined, mtimeNs: bigint | 'now' | undefined): Promise<void> {
    return utimens(this.core, path, atimeNs, mtimeNs, false);
  }

  getxattr(path: string, name: string): Promise<Uint8Array> { return getXattr(this.core, path, name); }
  setxattr(path: string, name: string, value: Uint8Array | string, opts?: SetXattrOptions): Promise<void> { return setXattr(this.core, path, name, value, opts); }
  listxattr(path: string): Promise<string[]> { return listXattrs(this.core, path); }
  removexattr(path: string, name: string): Promise<void> { return removeXattr(this.core, path, name); }
  lgetxattr(path: string, name: string): Promise<Uint8Array> { return getXattr(this.core, path, name, false); }
  llistxattr(path: string): Promise<string[]> { return listXattrs(this.core, path, false); }

  /** Streams entries in name order, a page at a time. */
  readdir(path: string, opts?: ReaddirOptions): AsyncGenerator<DirEntry> { return readdir(this.core, path, opts); }

  async truncate(path: string, size: number): Promise<void> {
    // As truncate(2): a FIFO, device or socket is EINVAL (open would say ENXIO).
    const r = await resolveExisting(this.core, path, true);
    if (r.ent.type !== 'file' && r.ent.type !== 'dir') throw new StrataError('EINVAL', `truncate ${path}: not a regular file`);
    const f = await this.open(path, { write: true });
    await f.truncate(size);
  }

  /** Opens a regular file. */
  async open(path: string, opts: OpenOptions = {}): Promise<DfsFile> {
    const core = this.core;
    const write = !!(opts.write || opts.create || opts.truncate);
    if (write) core.checkWritable(`open ${path}`);
    for (let attempt = 0; ; attempt++) {
      const r = await resolve(core, path, true);
      if (!r.ent) {
        if (!opts.create) throw new StrataError('ENOENT', `${path}: no such file or directory`);
        if (r.trailingSlash) throw new StrataError('EISDIR', `${path}: is a directory`);
        try {
          const ent = await createNode(core, path, 'file', { ...opts, follow: true });
          return new DfsFile(core, ent.oid, opts.chunkSize ?? core.chunkSize, { write: true, path, pin: opts.pin });
        } catch (e) {
          if (isStrataError(e, 'EEXIST') && !opts.exclusive && attempt < 5) continue;
          throw e;
        }
      }
      if (opts.create && opts.exclusive) throw new StrataError('EEXIST', `${path}: already exists`);
      if (r.ent.type !== 'file') throw notOpenable(r.ent.type, path);
      const ino = await core.readInode(r.ent.oid, 'file');
      const f = new DfsFile(core, r.ent.oid, ino.chunkSize, { write, path, pin: opts.pin });
      if (opts.truncate && ino.size > 0) await truncateObject(core, r.ent.oid, ino.chunkSize, 0, path);
      return f;
    }
  }

  /** Creates (or truncates) a file and writes all of data. */
  async writeFile(path: string, data: Uint8Array | string, opts: CreateOptions = {}): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const f = await this.open(path, { ...opts, create: true, truncate: true });
    for (let off = 0; off < bytes.length; off += WRITE_BATCH) await f.write(bytes.subarray(off, off + WRITE_BATCH), off);
  }

  async readFile(path: string): Promise<Buffer> {
    const f = await this.open(path);
    const size = await f.size();
    return f.read(0, size, { size });
  }

  /** Removes a file, symlink or (with recursive) a whole tree. */
  async remove(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    const r = await resolveExisting(this.core, path, false);
    if (r.ent.type !== 'dir') return this.unlink(path);
    if (opts.recursive) {
      for (;;) {
        // Re-list after each page: entries are removed while we walk.
        const page: DirEntry[] = [];
        for await (const e of readdirObject(this.core, r.ent.oid, { pageSize: 256 })) {
          page.push(e);
          if (page.length >= 256) break;
        }
        if (page.length === 0) break;
        for (const e of page) await this.remove(joinPath(path, e.name), opts);
      }
    }
    if (r.chain.length === 0) return; // the root stays
    return this.rmdir(path);
  }

  du(path: string): Promise<DuResult> { return du(this.core, path); }

  // ---- calls by object id (no path walk; see docs/dfs.md "Calls by OID") ----

  /** The entry a path names (its OID and type); ENOENT if missing. */
  async lookupPath(path: string, opts: { follow?: boolean } = {}): Promise<Entry> {
    return (await resolveExisting(this.core, path, opts.follow ?? true)).ent;
  }

  /** The entry `name` of directory `dir`, or undefined. */
  lookupAt(dir: ObjectId, name: string): Promise<Entry | undefined> { return lookupAt(this.core, dir, name); }

  /** stat of an inode. */
  async statOf(oid: ObjectId, type?: FileType): Promise<Stat> { return toStat(await this.core.readInode(oid, type)); }

  /**
   * Creates `name` in `dir` with all its attributes (mode, owner, times,
   * xattrs, data and size of a file, chunk size, symlink target) in one
   * transaction. EEXIST if the name exists, unless `exists: 'replace'`.
   */
  createAt(dir: ObjectId, name: string, type: FileType, opts?: CreateAtOptions): Promise<Entry> { return createAt(this.core, dir, name, type, opts); }
  mkdirAt(dir: ObjectId, name: string, opts?: NewInode): Promise<Entry> { return createAt(this.core, dir, name, 'dir', opts); }
  symlinkAt(dir: ObjectId, name: string, target: string, opts?: Omit<NewInode, 'target'>): Promise<Entry> {
    return createAt(this.core, dir, name, 'symlink', { ...opts, target });
  }
  /** Creates a regular file and returns a handle on it (O_CREAT|O_EXCL). */
  async createFileAt(dir: ObjectId, name: string, opts: CreateAtOptions & Omit<DfsFileOptions, 'path'> = {}): Promise<DfsFile> {
    const e = await createAt(this.core, dir, name, 'file', opts);
    return this.file(e.oid, opts.chunkSize ?? this.core.chunkSize, { write: true, pin: opts.pin, path: name });
  }
  /** mknod(2): a FIFO, device, socket (or empty regular file) by the type bits of `mode`; `rdev` (makeRdev) for devices. */
  mknodAt(dir: ObjectId, name: string, mode: number, rdev = 0n, opts?: Omit<CreateAtOptions, 'mode' | 'rdev'>): Promise<Entry> {
    return mknodAt(this.core, dir, name, mode, rdev, opts);
  }
  /** Hard link: a new name for inode `oid`. */
  linkAt(oid: ObjectId, dir: ObjectId, name: string): Promise<Entry> { return linkAt(this.core, oid, dir, name); }
  unlinkAt(dir: ObjectId, name: string): Promise<void> { return unlinkAt(this.core, dir, name); }
  rmdirAt(dir: ObjectId, name: string): Promise<void> { return unlinkAt(this.core, dir, name, { dir: true }); }
  renameAt(srcDir: ObjectId, srcName: string, dstDir: ObjectId, dstName: string, opts?: RenameAtOptions): Promise<void> {
    return renameAt(this.core, srcDir, srcName, dstDir, dstName, opts);
  }
  /** mode, uid, gid, size, atime, mtime in any combination, one transaction. */
  setattr(oid: ObjectId, attrs: SetAttr): Promise<void> { return setattrOf(this.core, oid, attrs); }
  async readlinkOf(oid: ObjectId): Promise<string> { return readTarget(this.core, oid); }

  getxattrOf(oid: ObjectId, name: string): Promise<Uint8Array> { return getXattrOf(this.core, oid, name); }
  setxattrOf(oid: ObjectId, name: string, value: Uint8Array | string, opts?: SetXattrOptions): Promise<void> { return setXattrOf(this.core, oid, name, value, opts); }
  listxattrOf(oid: ObjectId): Promise<string[]> { return listXattrsOf(this.core, oid); }
  removexattrOf(oid: ObjectId, name: string): Promise<void> { return removeXattrOf(this.core, oid, name); }
  /** Every xattr with its value. */
  xattrsOf(oid: ObjectId): Promise<Array<[string, Buffer]>> { return xattrsOf(this.core, oid); }
  /** Replaces the whole xattr set in one transaction. */
  replaceXattrsOf(oid: ObjectId, xattrs: Iterable<readonly [string, Uint8Array]>): Promise<void> { return replaceXattrsOf(this.core, oid, xattrs); }

  /** Streams a directory object's entries (with `stat`: readdirplus). */
  readdirAt(dir: ObjectId, opts?: ReaddirOptions): AsyncGenerator<DirEntry> { return readdirObject(this.core, dir, opts); }
  /** One page of a directory with each entry's stat (readdirplus); `next` continues. */
  readdirPlus(dir: ObjectId, opts: { after?: string; limit?: number } = {}): Promise<DirPage> { return readdirPage(this.core, dir, { ...opts, stat: true }); }

  /**
   * A handle on a regular file known by OID and chunk size (from a directory
   * entry's stat): no I/O. With `pin` it keeps an unlinked file alive until close().
   */
  file(oid: ObjectId, chunkSize: number, opts: DfsFileOptions = {}): DfsFile {
    if (opts.write) this.core.checkWritable(`open ${opts.path ?? oid} for writing`);
    return new DfsFile(this.core, oid, chunkSize, opts);
  }

  /**
   * A small file's inode, xattrs and data in one engine read (on a snapshot,
   * with `known` from a listing, without its inode); undefined when it is
   * larger than `maxBytes` or than one read takes (read it by handle).
   */
  readSmallFile(oid: ObjectId, maxBytes: number, known?: { size: number; chunkSize: number }): Promise<SmallFile | undefined> {
    return readSmallFile(this.core, oid, maxBytes, known);
  }

  /** A handle on a regular file known by OID (reads its chunk size). */
  async openOid(oid: ObjectId, opts: DfsFileOptions = {}): Promise<DfsFile> {
    const ino = await this.core.readInode(oid);
    if (ino.type !== 'file') throw ino.type === 'symlink' ? new StrataError('EINVAL', `${opts.path ?? oid}: not a regular file`) : notOpenable(ino.type, opts.path ?? oid.toString());
    return this.file(oid, ino.chunkSize || this.core.chunkSize, opts);
  }

  /** Reserves an OID for a new inode (pass it as `oid` to createAt / batch.create). */
  reserveOid(type: FileType): Promise<ObjectId> {
    this.core.checkWritable('reserve an object id');
    return this.core.allocOid(type);
  }

  /** Several creates/writes/setattrs/renames in one transaction (see DfsBatch). */
  batch(): DfsBatch { return new DfsBatch(this.core); }

  /** Removes files unlinked while open by processes that are gone (also done by every writable mount). */
  purgeOrphans(): Promise<number> { return this.core.purgeOrphans(); }
  statfs(): Promise<StatFs> { return statfs(this.core); }
}

/** Mounts the filesystem of a POSIX container (optionally read-only at a snapshot epoch). */
export async function mountDfs(container: Container, opts: MountOptions = {}): Promise<Dfs> {
  const { core, sb } = await mountCore(container, opts);
  return new Dfs(core, sb);
}
