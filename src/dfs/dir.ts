// Creating and removing names: mkdir, create (regular file), symlink, link,
// unlink, rmdir. Each is one conditional transaction: the entry's version (and
// the parent's inode version) must be unchanged at commit, else re-read and retry.
import { StrataError } from '../errors.js';
import type { ObjectId } from '../object/oid.js';
import type { Tx } from '../object/object.js';
import type { DfsCore } from './core.js';
import {
  A_ATTR, A_CTIME, A_LINK, A_MTIME, A_SIZE, ENTRY_AKEY, INODE_DKEY, PATH_MAX, ROOT_OID, isMetaDkey,
  encodeAttr, encodeEntry, typeBits, u64le, type Entry, type FileType,
} from './layout.js';
import { parentOf, resolve, resolveExisting, type Resolved } from './lookup.js';

export interface CreateOptions {
  /** Permission bits (default 0o755 for directories, 0o644 for files). */
  mode?: number;
  /** Chunk size of a new file (default: the mount's). */
  chunkSize?: number;
}

/** Marks a directory's mtime/ctime (merge with put-max: concurrent creates never conflict on it). */
export function touchDir(tx: Tx, core: DfsCore, dir: ObjectId, now: bigint): void {
  const o = core.obj(dir);
  tx.putMax(o, INODE_DKEY, A_MTIME, now);
  tx.putMax(o, INODE_DKEY, A_CTIME, now);
}

/** Makes the superblock-less root inode concrete in the same transaction if needed. */
async function ensureParentCondition(core: DfsCore, tx: Tx, parent: ObjectId): Promise<void> {
  const o = core.obj(parent);
  const ver = await o.version(INODE_DKEY, A_ATTR);
  if (ver === 0 && !parent.equals(ROOT_OID)) throw new StrataError('ENOENT', `directory ${parent} was removed`);
  tx.expectVersion(o, INODE_DKEY, A_ATTR, ver);
}

/** Writes a new inode's records into tx. */
export function writeNewInode(core: DfsCore, tx: Tx, oid: ObjectId, type: FileType, perm: number, now: bigint, opts: { chunkSize?: number; target?: string } = {}): void {
  const o = core.obj(oid);
  const chunkSize = type === 'file' ? (opts.chunkSize ?? core.chunkSize) : 0;
  tx.put(o, INODE_DKEY, A_ATTR, encodeAttr({ mode: typeBits(type) | (perm & 0o7777), uid: core.uid, gid: core.gid, nlink: 1, chunkSize, atimeNs: now }));
  tx.put(o, INODE_DKEY, A_MTIME, u64le(now));
  tx.put(o, INODE_DKEY, A_CTIME, u64le(now));
  if (type === 'file') tx.put(o, INODE_DKEY, A_SIZE, u64le(0));
  if (type === 'symlink') tx.put(o, INODE_DKEY, A_LINK, Buffer.from(opts.target ?? '', 'utf8'));
}

function checkChunkSize(cs: number | undefined): void {
  if (cs === undefined) return;
  if (!Number.isInteger(cs) || cs <= 0 || cs > 0xffffffff) throw new StrataError('EINVAL', `bad chunk size ${cs}`);
}

/**
 * Creates a new name. With `r` given (a resolution done by the caller), the
 * final name is taken from it; the entry must not exist (EEXIST).
 */
export async function createNode(core: DfsCore, path: string, type: FileType, opts: CreateOptions & { target?: string; follow?: boolean }): Promise<Entry> {
  const what = type === 'dir' ? 'mkdir' : type === 'symlink' ? 'symlink' : 'create';
  core.checkWritable(`${what} ${path}`);
  checkChunkSize(opts.chunkSize);
  return core.retry(`${what} ${path}`, async () => {
    const r = await resolve(core, path, opts.follow ?? false);
    if (r.ent) throw new StrataError('EEXIST', `${path}: already exists`);
    if (r.trailingSlash && type !== 'dir') throw new StrataError('ENOTDIR', `${path}: not a directory`);
    return createAt(core, r, path, type, opts);
  });
}

export async function createAt(core: DfsCore, r: Resolved, path: string, type: FileType, opts: CreateOptions & { target?: string }): Promise<Entry> {
  const parent = parentOf(r);
  const dir = core.obj(parent);
  const tx = core.tx(`create ${path}`);
  const { ent, ver } = await core.getEntryV(parent, r.name);
  if (ent) throw new StrataError('EEXIST', `${path}: already exists`);
  await ensureParentCondition(core, tx, parent);
  const oid = await core.allocOid(type);
  const now = core.now();
  const entry: Entry = { type, oid };
  tx.expectVersion(dir, r.name, ENTRY_AKEY, ver);
  tx.put(dir, r.name, ENTRY_AKEY, encodeEntry(entry));
  writeNewInode(core, tx, oid, type, opts.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644), now, opts);
  touchDir(tx, core, parent, now);
  await tx.commit();
  return entry;
}

export async function mkdir(core: DfsCore, path: string, opts: CreateOptions & { recursive?: boolean } = {}): Promise<void> {
  if (!opts.recursive) {
    await createNode(core, path, 'dir', opts);
    return;
  }
  core.checkWritable(`mkdir ${path}`);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let cur = '';
  for (const p of parts) {
    cur += '/' + p;
    if (p === '..') continue;
    try {
      await createNode(core, cur, 'dir', opts);
    } catch (e) {
      if (!(e instanceof StrataError && e.code === 'EEXIST')) throw e;
      const r = await resolveExisting(core, cur, true);
      if (r.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${cur}: exists and is not a directory`);
    }
  }
}

export async function symlink(core: DfsCore, target: string, path: string): Promise<void> {
  if (target.length === 0) throw new StrataError('ENOENT', `symlink ${path}: empty target`);
  if (target.includes('\0')) throw new StrataError('EINVAL', `symlink ${path}: target contains a NUL byte`);
  if (Buffer.byteLength(target, 'utf8') >= PATH_MAX) throw new StrataError('ENAMETOOLONG', `symlink ${path}: target longer than ${PATH_MAX - 1} bytes`);
  await createNode(core, path, 'symlink', { target });
}

/**
 * Drops one link to an inode inside tx: decrements nlink, or punches the
 * inode's object (all its data) when it was the last link.
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
  if (attr.nlink <= 1) {
    tx.punchAkey(o, INODE_DKEY, A_ATTR);
    tx.punchObject(o);
  } else {
    tx.put(o, INODE_DKEY, A_ATTR, encodeAttr({ ...attr, nlink: attr.nlink - 1 }));
    tx.putMax(o, INODE_DKEY, A_CTIME, now);
  }
}

/** True when a directory object holds no entries at the mount epoch. */
export async function isEmptyDir(core: DfsCore, dir: ObjectId): Promise<boolean> {
  for await (const k of core.obj(dir).dkeys({ epoch: core.epoch, pageSize: 8 })) {
    if (!isMetaDkey(k)) return false;
  }
  return true;
}

export async function unlink(core: DfsCore, path: string): Promise<void> {
  core.checkWritable(`unlink ${path}`);
  await core.retry(`unlink ${path}`, async () => {
    const r = await resolve(core, path, false);
    if (!r.ent) throw new StrataError('ENOENT', `${path}: no such file or directory`);
    if (r.ent.type === 'dir') throw new StrataError('EISDIR', `${path}: is a directory (use rmdir)`);
    if (r.trailingSlash) throw new StrataError('ENOTDIR', `${path}: not a directory`);
    const parent = parentOf(r);
    const tx = core.tx(`unlink ${path}`);
    const { ent, ver } = await core.getEntryV(parent, r.name);
    if (!ent) throw new StrataError('ENOENT', `${path}: no such file or directory`);
    const now = core.now();
    tx.expectVersion(core.obj(parent), r.name, ENTRY_AKEY, ver);
    tx.punchDkey(core.obj(parent), r.name);
    await dropLink(core, tx, ent, now);
    touchDir(tx, core, parent, now);
    await tx.commit();
  });
}

export async function rmdir(core: DfsCore, path: string): Promise<void> {
  core.checkWritable(`rmdir ${path}`);
  await core.retry(`rmdir ${path}`, async () => {
    const r = await resolve(core, path, false);
    if (!r.ent) throw new StrataError('ENOENT', `${path}: no such file or directory`);
    if (r.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${path}: not a directory`);
    if (r.chain.length === 0) throw new StrataError('EBUSY', `${path}: cannot remove the root directory`);
    const parent = parentOf(r);
    const tx = core.tx(`rmdir ${path}`);
    const { ent, ver } = await core.getEntryV(parent, r.name);
    if (!ent) throw new StrataError('ENOENT', `${path}: no such file or directory`);
    if (ent.type !== 'dir') throw new StrataError('ENOTDIR', `${path}: not a directory`);
    if (!(await isEmptyDir(core, ent.oid))) throw new StrataError('ENOTEMPTY', `${path}: directory not empty`);
    const now = core.now();
    const attrVer = await core.obj(ent.oid).version(INODE_DKEY, A_ATTR);
    tx.expectVersion(core.obj(parent), r.name, ENTRY_AKEY, ver);
    tx.expectVersion(core.obj(ent.oid), INODE_DKEY, A_ATTR, attrVer);
    tx.punchDkey(core.obj(parent), r.name);
    await dropLink(core, tx, ent, now);
    touchDir(tx, core, parent, now);
    await tx.commit();
  });
}

/** Hard link: a second entry naming the same inode; nlink + 1. Directories cannot be linked (EPERM). */
export async function link(core: DfsCore, existing: string, newPath: string): Promise<void> {
  core.checkWritable(`link ${newPath}`);
  await core.retry(`link ${newPath}`, async () => {
    const src = await resolveExisting(core, existing, false);
    if (src.trailingSlash && src.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${existing}: not a directory`);
    const dst = await resolve(core, newPath, false);
    if (dst.ent) throw new StrataError('EEXIST', `${newPath}: already exists`);
    if (src.ent.type === 'dir') throw new StrataError('EPERM', `link ${existing}: hard links to directories are not allowed`);
    if (dst.trailingSlash) throw new StrataError('ENOTDIR', `${newPath}: not a directory`);
    const parent = parentOf(dst);
    const tx = core.tx(`link ${newPath}`);
    const { ent, ver } = await core.getEntryV(parent, dst.name);
    if (ent) throw new StrataError('EEXIST', `${newPath}: already exists`);
    await ensureParentCondition(core, tx, parent);
    const o = core.obj(src.ent.oid);
    const { attr, ver: aver } = await core.attrV(src.ent.oid);
    const now = core.now();
    tx.expectVersion(core.obj(parent), dst.name, ENTRY_AKEY, ver);
    tx.expectVersion(o, INODE_DKEY, A_ATTR, aver);
    tx.put(core.obj(parent), dst.name, ENTRY_AKEY, encodeEntry(src.ent));
    tx.put(o, INODE_DKEY, A_ATTR, encodeAttr({ ...attr, nlink: attr.nlink + 1 }));
    tx.putMax(o, INODE_DKEY, A_CTIME, now);
    touchDir(tx, core, parent, now);
    await tx.commit();
  });
}
