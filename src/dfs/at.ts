// Calls relative to a directory's object id (the *at family): no path walk
// from the root. Each call is one optimistic transaction (conditions on the
// entries and inode records it read; ECONFLICT -> re-read and retry), built
// by a "stager" that adds its reads' conditions and its updates to a Tx, so
// several calls can also share one transaction (DfsBatch, batch.ts).
import { StrataError } from '../errors.js';
import type { ObjectId } from '../object/oid.js';
import type { Tx } from '../object/object.js';
import { u64Key } from '../object/keys.js';
import type { DfsCore } from './core.js';
import {
  A_ATTR, A_CTIME, A_LINK, A_MTIME, A_RDEV, A_SIZE, A_SUBDIRS, DATA_AKEY, ENTRY_AKEY, INODE_DKEY, PATH_MAX, ROOT_OID, S_IFMT, XATTR_DKEY,
  XATTR_VALUE_MAX, decodeAttr, decodeEntry, encodeAttr, encodeEntry, fromU64le, isDevice, isMetaDkey, typeBits, typeOfMode, typeOfModeBits, u64le, type Entry, type FileType,
} from './layout.js';
import { checkName } from './path.js';
import { checkXattrName } from './xattr.js';
import { chunkIndexes, MAX_FILE_SIZE } from './io.js';
import { checkCreateType, checkNewOwner, checkOwnerChange, inheritedOwner, writeKillsPriv, killPriv, type SetAttr } from './owner.js';

/** Attributes of a new inode; every field is optional. */
export interface NewInode {
  /** Permission bits (default 0o755 dirs, 0o644 files; symlinks are always 0o777). */
  mode?: number;
  /** Owner (default: the mount's uid/gid). */
  uid?: number;
  gid?: number;
  /** Times in ns since the epoch (default: now). */
  atimeNs?: bigint;
  mtimeNs?: bigint;
  /** Extended attributes set with the inode. */
  xattrs?: Iterable<readonly [string, Uint8Array]>;
  /** Files: chunk size (default: the mount's). */
  chunkSize?: number;
  /** Files: data written at offset 0 in the same transaction (all-zero pieces still written; keep it small). */
  data?: Uint8Array;
  /** Files: more data pieces at their offsets (holes between them stay holes), same transaction. */
  pieces?: ReadonlyArray<{ data: Uint8Array; offset: number }>;
  /** Files: size (default: the end of data/pieces); larger makes a sparse tail. */
  size?: number;
  /** Symlinks: the target. */
  target?: string;
  /** Character and block devices: the device number, major << 32 | minor (makeRdev); ignored for other types, as mknod(2) does. */
  rdev?: bigint;
}

export interface CreateAtOptions extends NewInode {
  /** Use this OID (reserved with Dfs.reserveOid) instead of allocating one. */
  oid?: ObjectId;
  /**
   * What to do when the name exists: 'fail' (default, EEXIST, as O_EXCL /
   * RENAME_NOREPLACE) or 'replace' (the old entry loses a link in the same
   * transaction, as rename-over; a directory is never replaced: EISDIR).
   */
  exists?: 'fail' | 'replace';
}

export type { SetAttr } from './owner.js';

/** A staged piece of a transaction: adds conditions and updates to tx, returns its result. */
export type Stager<T> = (tx: Tx) => Promise<T>;

function checkId(id: number | undefined, what: string): void {
  if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xfffffffe)) throw new StrataError('EINVAL', `${what}: bad id ${id}`);
}

function checkTime(t: bigint | 'now' | undefined, what: string): void {
  if (typeof t === 'bigint' && (t < 0n || t >= 1n << 64n)) throw new StrataError('EINVAL', `${what}: time out of range`);
}

export function checkChunkSize(cs: number | undefined): void {
  if (cs === undefined) return;
  if (!Number.isInteger(cs) || cs <= 0 || cs > 0xffffffff) throw new StrataError('EINVAL', `bad chunk size ${cs}`);
}

export function checkNewInode(core: DfsCore, type: FileType, o: NewInode, what: string): void {
  if (o.mode !== undefined && (!Number.isInteger(o.mode) || o.mode < 0 || o.mode > 0o7777)) throw new StrataError('EINVAL', `${what}: bad mode ${o.mode.toString(8)}`);
  checkId(o.uid, what);
  checkId(o.gid, what);
  checkNewOwner(core.caller, o.uid ?? core.uid, o.gid ?? core.gid, what);
  checkCreateType(core.caller, type, what);
  if (isDevice(type) && o.rdev !== undefined && (typeof o.rdev !== 'bigint' || o.rdev < 0n || o.rdev >= 1n << 64n)) throw new StrataError('EINVAL', `${what}: bad device number ${String(o.rdev)}`);
  checkTime(o.atimeNs, what);
  checkTime(o.mtimeNs, what);
  checkChunkSize(o.chunkSize);
  if (type === 'symlink') {
    const t = o.target ?? '';
    if (t.length === 0) throw new StrataError('ENOENT', `${what}: empty symlink target`);
    if (t.includes('\0')) throw new StrataError('EINVAL', `${what}: target contains a NUL byte`);
    if (Buffer.byteLength(t, 'utf8') >= PATH_MAX) throw new StrataError('ENAMETOOLONG', `${what}: target longer than ${PATH_MAX - 1} bytes`);
  }
  for (const p of o.pieces ?? []) {
    if (!Number.isSafeInteger(p.offset) || p.offset < 0 || p.offset + p.data.length > MAX_FILE_SIZE) throw new StrataError('EINVAL', `${what}: bad offset ${p.offset}`);
  }
  if (o.size !== undefined && (!Number.isSafeInteger(o.size) || o.size < 0 || o.size > MAX_FILE_SIZE)) throw new StrataError('EINVAL', `${what}: bad size ${o.size}`);
  for (const [n, v] of o.xattrs ?? []) {
    checkXattrName(n);
    if (v.length > XATTR_VALUE_MAX) throw new StrataError('EINVAL', `${what}: xattr value of ${v.length} bytes exceeds ${XATTR_VALUE_MAX}`);
  }
}

/** Per transaction: the subdirectory counts it changes (each read once, the transaction conditioned on it). */
const subdirCounts = new WeakMap<Tx, Map<string, { n: number }>>();

/**
 * Adds `delta` to a directory's subdirectory count inside tx (its nlink is 2
 * + the count, as on Linux filesystems). A read-modify-write conditioned on
 * the count's version: concurrent mkdirs in one directory conflict and
 * retry, creates of files and the directory's other records do not. A
 * directory made before counts were kept has none: it is counted once here.
 * `isNew`: the directory is created by the same transaction (count 0).
 */
export async function addSubdirs(core: DfsCore, tx: Tx, dir: ObjectId, delta: number, isNew = false): Promise<void> {
  let counts = subdirCounts.get(tx);
  if (!counts) subdirCounts.set(tx, counts = new Map());
  let c = counts.get(dir.toString());
  if (!c) {
    if (isNew) c = { n: 0 };
    else {
      const o = core.obj(dir);
      const ver = await o.version(INODE_DKEY, A_SUBDIRS);
      const v = ver === 0 ? undefined : await o.get(INODE_DKEY, A_SUBDIRS);
      tx.expectVersion(o, INODE_DKEY, A_SUBDIRS, ver);
      c = { n: v ? Number(fromU64le(v)) : await countSubdirs(core, dir) };
    }
    counts.set(dir.toString(), c);
  }
  c.n = Math.max(0, c.n + delta);
  tx.put(core.obj(dir), INODE_DKEY, A_SUBDIRS, u64le(BigInt(c.n)));
}

/** The subdirectories of a directory, by listing its entries (for a directory without a count). */
async function countSubdirs(core: DfsCore, dir: ObjectId): Promise<number> {
  let n = 0;
  let after: Uint8Array | undefined;
  for (;;) {
    const page = await core.obj(dir).listValues(ENTRY_AKEY, { epoch: core.epoch, after, limit: 1024 });
    for (const { dkey, value } of page) if (!isMetaDkey(dkey) && decodeEntry(value).type === 'dir') n++;
    if (page.length < 1024) return n;
    after = page[page.length - 1]!.dkey;
  }
}

/** Marks a directory's mtime/ctime (merge with put-max: concurrent creates never conflict on it). */
export function touchDir(tx: Tx, core: DfsCore, dir: ObjectId, now: bigint): void {
  const o = core.obj(dir);
  tx.putMax(o, INODE_DKEY, A_MTIME, now);
  tx.putMax(o, INODE_DKEY, A_CTIME, now);
}

/** Conditions tx on the parent directory still existing (its attr version). */
export async function expectDir(core: DfsCore, tx: Tx, parent: ObjectId): Promise<void> {
  if (!tx.once(`dir ${parent}`)) return; // one condition per directory and transaction
  const o = core.obj(parent);
  const ver = await o.version(INODE_DKEY, A_ATTR);
  if (ver === 0 && !parent.equals(ROOT_OID)) throw new StrataError('ENOENT', `directory ${parent} was removed`);
  tx.expectVersion(o, INODE_DKEY, A_ATTR, ver);
}

/**
 * Conditions a write of file data on its inode still existing (ESTALE
 * otherwise): bytes written after another client removed the file would
 * revive an object no entry names. The condition is the version of the
 * inode's attr record, which writers never change (they merge size and
 * times with put-max), so parallel writers of one file do not conflict. An
 * inode unlinked while open keeps its record (nlink 0), so it stays
 * writable. A non-root writer of `data` clears set-user-ID/set-group-ID in
 * the same transaction, as Linux does. Changes of xattrs take the condition
 * too (`data: false`).
 */
export async function expectInode(core: DfsCore, tx: Tx, oid: ObjectId, what: string, opts: { data?: boolean } = { data: true }): Promise<void> {
  const o = core.obj(oid);
  const ver = await o.version(INODE_DKEY, A_ATTR);
  const v = ver === 0 ? undefined : await o.get(INODE_DKEY, A_ATTR);
  if (!v) throw new StrataError('ESTALE', `${what}: the file was removed`);
  tx.expectVersion(o, INODE_DKEY, A_ATTR, ver);
  if (!opts.data) return;
  const attr = decodeAttr(v);
  if (writeKillsPriv(core.caller, attr.mode)) tx.put(o, INODE_DKEY, A_ATTR, encodeAttr({ ...attr, mode: (attr.mode & S_IFMT) | killPriv(attr.mode & 0o7777) }));
}

/** Adds file data pieces (split at chunk boundaries) to tx. */
export function addData(core: DfsCore, tx: Tx, oid: ObjectId, cs: number, data: Uint8Array, offset: number): void {
  const o = core.obj(oid);
  for (let pos = 0; pos < data.length;) {
    const abs = offset + pos;
    const idx = Math.floor(abs / cs);
    const inChunk = abs - idx * cs;
    const n = Math.min(cs - inChunk, data.length - pos);
    tx.write(o, u64Key(idx), DATA_AKEY, inChunk, data.subarray(pos, pos + n));
    pos += n;
  }
}

/** Writes a new inode's records into tx. */
export function writeNewInode(core: DfsCore, tx: Tx, oid: ObjectId, type: FileType, o: NewInode, now: bigint): void {
  const obj = core.obj(oid);
  tx.fresh(obj);
  const chunkSize = type === 'file' ? (o.chunkSize ?? core.chunkSize) : 0;
  const perm = type === 'symlink' ? 0o777 : (o.mode ?? (type === 'dir' ? 0o755 : 0o644)) & 0o7777;
  tx.put(obj, INODE_DKEY, A_ATTR, encodeAttr({ mode: typeBits(type) | perm, uid: o.uid ?? core.uid, gid: o.gid ?? core.gid, nlink: 1, chunkSize, atimeNs: o.atimeNs ?? now }));
  tx.put(obj, INODE_DKEY, A_MTIME, u64le(o.mtimeNs ?? now));
  tx.put(obj, INODE_DKEY, A_CTIME, u64le(now));
  if (type === 'file') {
    let end = o.data?.length ?? 0;
    for (const p of o.pieces ?? []) end = Math.max(end, p.offset + p.data.length);
    tx.put(obj, INODE_DKEY, A_SIZE, u64le(o.size ?? end));
    if (o.data && o.data.length > 0) addData(core, tx, oid, chunkSize, o.data, 0);
    for (const p of o.pieces ?? []) if (p.data.length > 0) addData(core, tx, oid, chunkSize, p.data, p.offset);
  }
  if (type === 'symlink') tx.put(obj, INODE_DKEY, A_LINK, Buffer.from(o.target ?? '', 'utf8'));
  if (type === 'dir') tx.put(obj, INODE_DKEY, A_SUBDIRS, u64le(0n));
  if (isDevice(type)) tx.put(obj, INODE_DKEY, A_RDEV, u64le(o.rdev ?? 0n));
  for (const [n, v] of o.xattrs ?? []) tx.put(obj, XATTR_DKEY, n, xattrValue(v));
}

export function xattrValue(v: Uint8Array): Buffer {
  const b = Buffer.alloc(v.length + 1);
  b[0] = 1;
  b.set(v, 1);
  return b;
}

/**
 * Drops one link to an inode inside tx: decrements nlink, or (last link)
 * punches the inode's object — unless a handle of this process pins it (an
 * unlinked open file): then nlink becomes 0 and an orphan record keeps it
 * until the last pinned handle closes.
 */
export async function dropLink(core: DfsCore, tx: Tx, ent: Entry, now: bigint): Promise<void> {
  const o = core.obj(ent.oid);
  if (ent.type === 'dir') {
    tx.punchAkey(o, INODE_DKEY, A_ATTR);
    tx.punchObject(o);
    return;
  }
  const { attr, ver } = await core.attrV(ent.oid);
  tx.expectVersion(o, INODE_DKEY, A_ATTR, ver);
  if (attr.nlink > 1) {
    tx.put(o, INODE_DKEY, A_ATTR, encodeAttr({ ...attr, nlink: attr.nlink - 1 }));
    tx.putMax(o, INODE_DKEY, A_CTIME, now);
  } else if (core.isPinned(ent.oid)) {
    tx.put(o, INODE_DKEY, A_ATTR, encodeAttr({ ...attr, nlink: 0 }));
    tx.putMax(o, INODE_DKEY, A_CTIME, now);
    core.addOrphan(tx, ent.oid);
  } else {
    tx.punchAkey(o, INODE_DKEY, A_ATTR);
    tx.punchObject(o);
  }
}

/** True when a directory object holds no entries at the mount epoch. */
export async function isEmptyDir(core: DfsCore, dir: ObjectId): Promise<boolean> {
  for (const k of await core.obj(dir).listDkeys({ epoch: core.epoch, limit: 4 })) {
    if (!(k.length > 0 && k[0] === 0 && k.length !== 8)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- stagers

/** Stages the creation of `name` in `dir` (oid preallocated by the caller). */
export function stageCreate(core: DfsCore, dir: ObjectId, name: string, type: FileType, oid: ObjectId, o: CreateAtOptions, parentIsNew = false): Stager<Entry> {
  const what = `create ${name}`;
  return async (tx) => {
    const { ent, ver } = await core.getEntryV(dir, name);
    const now = core.now();
    if (ent) {
      if (o.exists !== 'replace') throw new StrataError('EEXIST', `${name}: already exists`);
      if (ent.type === 'dir') throw new StrataError('EISDIR', `${what}: '${name}' is a directory`);
      await dropLink(core, tx, ent, now);
    }
    if (!parentIsNew) await expectDir(core, tx, dir);
    const entry: Entry = { type, oid };
    const d = core.obj(dir);
    tx.expectVersion(d, name, ENTRY_AKEY, ver);
    tx.put(d, name, ENTRY_AKEY, encodeEntry(entry));
    writeNewInode(core, tx, oid, type, await inherited(core, tx, dir, type, o, parentIsNew), now);
    if (type === 'dir') await addSubdirs(core, tx, dir, 1, parentIsNew);
    touchDir(tx, core, dir, now);
    return entry;
  };
}

/**
 * A create that leaves the group to DFS (no `gid`) in a set-group-ID
 * directory gets the directory's group (and a directory its set-group-ID
 * bit), as on Linux; an explicit `gid` (a copy keeping its source's owner) is
 * kept as given.
 */
async function inherited(core: DfsCore, tx: Tx, dir: ObjectId, type: FileType, o: CreateAtOptions, parentIsNew: boolean): Promise<CreateAtOptions> {
  if (o.gid !== undefined || parentIsNew) return o;
  const pa = await dirAttrOnce(core, tx, dir);
  if (!pa) return o;
  const r = inheritedOwner(core.caller, decodeAttr(pa), type, core.gid, o.mode ?? (type === 'dir' ? 0o755 : 0o644));
  return { ...o, gid: r.gid, mode: r.perm };
}

/**
 * A directory's attr record, read once per transaction: every create into it
 * needs it (its set-group-ID bit), and a group of creates into one directory
 * read it once per file before. The transaction is conditioned on its
 * version (expectDir), so a change meanwhile makes the whole transaction
 * re-read (a retry is a new transaction, with nothing remembered).
 */
const dirAttrs = new WeakMap<Tx, Map<string, Promise<Uint8Array | undefined>>>();
function dirAttrOnce(core: DfsCore, tx: Tx, dir: ObjectId): Promise<Uint8Array | undefined> {
  let m = dirAttrs.get(tx);
  if (!m) dirAttrs.set(tx, (m = new Map()));
  const k = dir.toString();
  let p = m.get(k);
  if (!p) m.set(k, (p = core.obj(dir).get(INODE_DKEY, A_ATTR, core.epoch)));
  return p;
}

/** Stages a one-transaction setattr of an inode. */
export function stageSetattr(core: DfsCore, oid: ObjectId, a: SetAttr): Stager<void> {
  return async (tx) => {
    const o = core.obj(oid);
    const { attr, ver } = await core.attrV(oid);
    const now = core.now();
    const next = { ...attr };
    const perm = checkOwnerChange(core.caller, attr, a, `setattr ${oid}`);
    if (perm !== undefined) next.mode = (attr.mode & S_IFMT) | perm;
    if (a.uid !== undefined) next.uid = a.uid;
    if (a.gid !== undefined) next.gid = a.gid;
    if (a.atimeNs !== undefined) next.atimeNs = a.atimeNs === 'now' ? now : a.atimeNs;
    const attrChanged = perm !== undefined || a.uid !== undefined || a.gid !== undefined || a.atimeNs !== undefined;
    // Conditioned even when attr stays: a size or mtime put on an inode removed meanwhile would revive it.
    tx.expectVersion(o, INODE_DKEY, A_ATTR, ver);
    if (attrChanged) tx.put(o, INODE_DKEY, A_ATTR, encodeAttr(next));
    if (a.size !== undefined) {
      if ((attr.mode & S_IFMT) !== typeBits('file')) throw new StrataError((attr.mode & S_IFMT) === typeBits('dir') ? 'EISDIR' : 'EINVAL', `truncate ${oid}: not a regular file`);
      await stageTruncate(core, tx, oid, attr.chunkSize || core.chunkSize, a.size);
    }
    if (a.mtimeNs !== undefined) tx.put(o, INODE_DKEY, A_MTIME, u64le(a.mtimeNs === 'now' ? now : a.mtimeNs));
    else if (a.size !== undefined) tx.putMax(o, INODE_DKEY, A_MTIME, now);
    tx.putMax(o, INODE_DKEY, A_CTIME, now);
  };
}

/** Adds a truncate to `size` to tx: exact size, tail of the boundary chunk and later chunks punched. */
export async function stageTruncate(core: DfsCore, tx: Tx, oid: ObjectId, cs: number, size: number): Promise<void> {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_FILE_SIZE) throw new StrataError('EINVAL', `truncate: bad size ${size}`);
  const o = core.obj(oid);
  const keep = Math.floor(size / cs);
  const inChunk = size - keep * cs;
  for await (const idx of chunkIndexes(core, oid, keep - 1)) {
    if (idx === keep && inChunk > 0) tx.punchRange(o, u64Key(idx), DATA_AKEY, inChunk, cs - inChunk);
    else if (idx >= keep) tx.punchDkey(o, u64Key(idx));
  }
  tx.put(o, INODE_DKEY, A_SIZE, u64le(size));
}

// ---------------------------------------------------------------- calls

async function run<T>(core: DfsCore, what: string, stager: Stager<T>): Promise<T> {
  core.checkWritable(what);
  return core.retry(what, async () => {
    const tx = core.tx(what);
    const r = await stager(tx);
    if (!tx.empty) await tx.commit();
    return r;
  });
}

export async function lookupAt(core: DfsCore, dir: ObjectId, name: string): Promise<Entry | undefined> {
  checkName(name);
  return core.getEntry(dir, name);
}

/** Creates a file, directory, symlink or special file `name` in directory `dir`, with all its attributes, in one transaction. */
export async function createAt(core: DfsCore, dir: ObjectId, name: string, type: FileType, o: CreateAtOptions = {}): Promise<Entry> {
  checkName(name);
  checkNewInode(core, type, o, `create ${name}`);
  core.checkWritable(`create ${name}`);
  const oid = o.oid ?? await core.allocOid(type);
  return run(core, `create ${name}`, stageCreate(core, dir, name, type, oid, o));
}

/**
 * The type a mknod(2) mode asks for, as Linux judges it: no type bits or
 * S_IFREG is a regular file, a FIFO, device or socket is itself, S_IFDIR is
 * EPERM (mkdir makes directories) and anything else EINVAL.
 */
export function mknodType(mode: number, what: string): FileType {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0xffff) throw new StrataError('EINVAL', `${what}: bad mode ${mode}`);
  if ((mode & S_IFMT) === 0) return 'file';
  const t = typeOfModeBits(mode);
  if (t === 'dir') throw new StrataError('EPERM', `${what}: mknod cannot make a directory (use mkdir)`);
  if (t === undefined || t === 'symlink') throw new StrataError('EINVAL', `${what}: mode ${mode.toString(8)} is not a type mknod makes`);
  return t;
}

/**
 * mknod(2) in directory `dir`: `mode` carries the type bits and the
 * permission bits; `rdev` (major << 32 | minor) is kept for devices and
 * ignored otherwise. Devices only by root (EPERM).
 */
export async function mknodAt(core: DfsCore, dir: ObjectId, name: string, mode: number, rdev: bigint, o: CreateAtOptions = {}): Promise<Entry> {
  const type = mknodType(mode, `mknod ${name}`);
  return createAt(core, dir, name, type, { ...o, mode: mode & 0o7777, ...(isDevice(type) ? { rdev } : {}) });
}

/** The error of opening an inode's data that has none: a directory, a symlink, a FIFO, device or socket. */
export function notOpenable(type: FileType, path: string): StrataError {
  if (type === 'dir') return new StrataError('EISDIR', `${path}: is a directory`);
  if (type === 'symlink') return new StrataError('ELOOP', `${path}: too many levels of symbolic links`);
  // As open(2) of a socket: no such device or address. DFS holds no pipe or
  // device behind the others; a mount's kernel opens them itself.
  return new StrataError('ENXIO', `${path}: is a ${fileTypeName(type)}, which holds no data in DFS (open it through a mount)`);
}

/** Words for a type in messages. */
export function fileTypeName(type: FileType): string {
  return ({ file: 'regular file', dir: 'directory', symlink: 'symbolic link', fifo: 'FIFO', chr: 'character device', blk: 'block device', sock: 'socket' } as const)[type];
}

export async function setattrOf(core: DfsCore, oid: ObjectId, a: SetAttr): Promise<void> {
  const what = `setattr ${oid}`;
  if (a.mode !== undefined && (!Number.isInteger(a.mode) || a.mode < 0 || a.mode > 0o7777)) throw new StrataError('EINVAL', `${what}: bad mode`);
  checkId(a.uid, what);
  checkId(a.gid, what);
  checkTime(a.atimeNs, what);
  checkTime(a.mtimeNs, what);
  await run(core, what, stageSetattr(core, oid, a));
}

export async function unlinkAt(core: DfsCore, dir: ObjectId, name: string, opts: { dir?: boolean } = {}): Promise<void> {
  checkName(name);
  const what = `${opts.dir ? 'rmdir' : 'unlink'} ${name}`;
  await run(core, what, async (tx) => {
    const { ent, ver } = await core.getEntryV(dir, name);
    if (!ent) throw new StrataError('ENOENT', `${name}: no such file or directory`);
    if (opts.dir && ent.type !== 'dir') throw new StrataError('ENOTDIR', `${name}: not a directory`);
    if (!opts.dir && ent.type === 'dir') throw new StrataError('EISDIR', `${name}: is a directory (use rmdir)`);
    if (ent.type === 'dir') {
      if (!(await isEmptyDir(core, ent.oid))) throw new StrataError('ENOTEMPTY', `${name}: directory not empty`);
      tx.expectVersion(core.obj(ent.oid), INODE_DKEY, A_ATTR, await core.obj(ent.oid).version(INODE_DKEY, A_ATTR));
    }
    const now = core.now();
    tx.expectVersion(core.obj(dir), name, ENTRY_AKEY, ver);
    tx.punchDkey(core.obj(dir), name);
    await dropLink(core, tx, ent, now);
    if (ent.type === 'dir') await addSubdirs(core, tx, dir, -1);
    touchDir(tx, core, dir, now);
  });
}

/** Hard link: a new entry `name` in `dir` naming inode `oid` (not a directory: EPERM); nlink + 1. */
export async function linkAt(core: DfsCore, oid: ObjectId, dir: ObjectId, name: string): Promise<Entry> {
  checkName(name);
  return run(core, `link ${name}`, async (tx) => {
    const { ent, ver } = await core.getEntryV(dir, name);
    if (ent) throw new StrataError('EEXIST', `${name}: already exists`);
    const o = core.obj(oid);
    const { attr, ver: aver } = await core.attrV(oid);
    const type = typeOfMode(attr.mode);
    if (type === 'dir') throw new StrataError('EPERM', `link ${name}: hard links to directories are not allowed`);
    if (attr.nlink === 0) throw new StrataError('ENOENT', `link ${name}: the file was removed`);
    await expectDir(core, tx, dir);
    const now = core.now();
    const entry: Entry = { type, oid };
    tx.expectVersion(core.obj(dir), name, ENTRY_AKEY, ver);
    tx.expectVersion(o, INODE_DKEY, A_ATTR, aver);
    tx.put(core.obj(dir), name, ENTRY_AKEY, encodeEntry(entry));
    tx.put(o, INODE_DKEY, A_ATTR, encodeAttr({ ...attr, nlink: attr.nlink + 1 }));
    tx.putMax(o, INODE_DKEY, A_CTIME, now);
    touchDir(tx, core, dir, now);
    return entry;
  });
}

export interface RenameAtOptions {
  /** RENAME_NOREPLACE: EEXIST if the destination exists. */
  noReplace?: boolean;
  /**
   * RENAME_EXCHANGE: swap the two names (both must exist) in one
   * transaction; a directory and a file may be swapped.
   */
  exchange?: boolean;
  /**
   * Directories from the root down to dstDir (as the path API knows them): a
   * directory moved into its own subtree is EINVAL. Without it the caller
   * guarantees that (the kernel's VFS does for FUSE).
   */
  dstAncestors?: ObjectId[];
}

/** Renames srcDir/srcName to dstDir/dstName in one transaction (Linux rules, see docs/dfs.md). */
export async function renameAt(core: DfsCore, srcDir: ObjectId, srcName: string, dstDir: ObjectId, dstName: string, opts: RenameAtOptions = {}): Promise<void> {
  checkName(srcName);
  checkName(dstName);
  await run(core, `rename ${srcName} -> ${dstName}`, stageRename(core, srcDir, srcName, dstDir, dstName, opts));
}

export function stageRename(core: DfsCore, srcDir: ObjectId, srcName: string, dstDir: ObjectId, dstName: string, opts: RenameAtOptions = {}): Stager<void> {
  const what = `rename ${srcName} -> ${dstName}`;
  return async (tx) => {
    const s = await core.getEntryV(srcDir, srcName);
    const d = await core.getEntryV(dstDir, dstName);
    if (!s.ent) throw new StrataError('ENOENT', `${srcName}: no such file or directory`);
    if (opts.exchange && !d.ent) throw new StrataError('ENOENT', `${dstName}: no such file or directory`);
    if (srcDir.equals(dstDir) && srcName === dstName) return;
    if (s.ent.type === 'dir' && (dstDir.equals(s.ent.oid) || opts.dstAncestors?.some((a) => a.equals(s.ent!.oid)))) {
      throw new StrataError('EINVAL', `${what}: cannot move a directory into its own subtree`);
    }
    if (opts.exchange) return stageExchange(core, tx, srcDir, srcName, { ent: s.ent, ver: s.ver }, dstDir, dstName, { ent: d.ent!, ver: d.ver });
    if (d.ent) {
      if (opts.noReplace) throw new StrataError('EEXIST', `${dstName}: already exists`);
      if (d.ent.oid.equals(s.ent.oid)) return; // two names of one inode: POSIX says do nothing
      if (s.ent.type === 'dir' && d.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${what}: '${dstName}' is not a directory`);
      if (s.ent.type !== 'dir' && d.ent.type === 'dir') throw new StrataError('EISDIR', `${what}: '${dstName}' is a directory`);
      if (d.ent.type === 'dir' && !(await isEmptyDir(core, d.ent.oid))) throw new StrataError('ENOTEMPTY', `${what}: '${dstName}' is not empty`);
    }
    const { now, sd, dd } = await expectBothNames(core, tx, srcDir, srcName, s.ver, dstDir, dstName, d.ver);
    tx.punchDkey(sd, srcName);
    tx.put(dd, dstName, ENTRY_AKEY, encodeEntry(s.ent));
    if (d.ent) await dropLink(core, tx, d.ent, now);
    // Subdirectory counts: a directory moved to another parent, a directory replaced.
    if (s.ent.type === 'dir' && !dstDir.equals(srcDir)) {
      await addSubdirs(core, tx, srcDir, -1);
      await addSubdirs(core, tx, dstDir, 1);
    }
    if (d.ent?.type === 'dir') await addSubdirs(core, tx, dstDir, -1);
    tx.putMax(core.obj(s.ent.oid), INODE_DKEY, A_CTIME, now);
    touchDir(tx, core, srcDir, now);
    if (!dstDir.equals(srcDir)) touchDir(tx, core, dstDir, now);
  };
}

/** A rename's or exchange's conditions: both names as read (and the target directory still one). */
async function expectBothNames(core: DfsCore, tx: Tx, srcDir: ObjectId, srcName: string, srcVer: number,
  dstDir: ObjectId, dstName: string, dstVer: number): Promise<{ now: bigint; sd: ReturnType<DfsCore['obj']>; dd: ReturnType<DfsCore['obj']> }> {
  if (!dstDir.equals(srcDir)) await expectDir(core, tx, dstDir);
  const sd = core.obj(srcDir);
  const dd = core.obj(dstDir);
  tx.expectVersion(sd, srcName, ENTRY_AKEY, srcVer);
  tx.expectVersion(dd, dstName, ENTRY_AKEY, dstVer);
  return { now: core.now(), sd, dd };
}

/** The exchange of two existing names (RENAME_EXCHANGE) inside tx: each entry takes the other's place. */
async function stageExchange(core: DfsCore, tx: Tx, srcDir: ObjectId, srcName: string, s: { ent: Entry; ver: number },
  dstDir: ObjectId, dstName: string, d: { ent: Entry; ver: number }): Promise<void> {
  if (d.ent.oid.equals(s.ent.oid)) return; // two names of one inode: nothing changes
  const { now, sd, dd } = await expectBothNames(core, tx, srcDir, srcName, s.ver, dstDir, dstName, d.ver);
  tx.put(dd, dstName, ENTRY_AKEY, encodeEntry(s.ent));
  tx.put(sd, srcName, ENTRY_AKEY, encodeEntry(d.ent));
  // A directory swapped with a non-directory across parents moves a subdirectory from one to the other.
  if (!dstDir.equals(srcDir) && (s.ent.type === 'dir') !== (d.ent.type === 'dir')) {
    await addSubdirs(core, tx, srcDir, s.ent.type === 'dir' ? -1 : 1);
    await addSubdirs(core, tx, dstDir, s.ent.type === 'dir' ? 1 : -1);
  }
  tx.putMax(core.obj(s.ent.oid), INODE_DKEY, A_CTIME, now);
  tx.putMax(core.obj(d.ent.oid), INODE_DKEY, A_CTIME, now);
  touchDir(tx, core, srcDir, now);
  if (!dstDir.equals(srcDir)) touchDir(tx, core, dstDir, now);
}
