// stat, chmod, chown, utimens.
import { StrataError } from '../errors.js';
import type { ObjectId } from '../object/oid.js';
import type { DfsCore, Inode } from './core.js';
import { A_ATTR, A_CTIME, A_MTIME, INODE_DKEY, S_IFMT, encodeAttr, u64le, type FileType } from './layout.js';
import { resolveExisting } from './lookup.js';

export interface Stat {
  type: FileType;
  /** Full mode: type bits | permission bits. */
  mode: number;
  /** Permission bits only (mode & 0o7777). */
  perm: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Bytes (files), target length (symlinks), 0 (directories). */
  size: number;
  /** Chunk size of a regular file (0 otherwise). */
  chunkSize: number;
  /** The inode's object id, "<hi>.<lo>". */
  oid: string;
  /** Inode number derived from the OID (lo 64 bits). */
  ino: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function toStat(i: Inode): Stat {
  return {
    type: i.type, mode: i.mode, perm: i.mode & 0o7777, uid: i.uid, gid: i.gid,
    // Directories report nlink 1 ("unknown subdirectory count", as btrfs does).
    nlink: i.type === 'dir' ? 1 : i.nlink,
    size: i.size, chunkSize: i.chunkSize, oid: i.oid.toString(), ino: i.oid.lo,
    atimeNs: i.atimeNs, mtimeNs: i.mtimeNs, ctimeNs: i.ctimeNs,
  };
}

export async function stat(core: DfsCore, path: string, follow = true): Promise<Stat> {
  const r = await resolveExisting(core, path, follow);
  return toStat(await core.readInode(r.ent.oid, r.ent.type));
}

async function updateAttr(core: DfsCore, path: string, what: string, follow: boolean, fn: (a: Inode) => Partial<Inode>): Promise<void> {
  core.checkWritable(`${what} ${path}`);
  await core.retry(`${what} ${path}`, async () => {
    const r = await resolveExisting(core, path, follow);
    await updateAttrOf(core, r.ent.oid, what, path, fn);
  });
}

export async function updateAttrOf(core: DfsCore, oid: ObjectId, what: string, path: string, fn: (a: Inode) => Partial<Inode>): Promise<void> {
  const o = core.obj(oid);
  const tx = core.tx(`${what} ${path}`);
  const { ver } = await core.attrV(oid);
  const ino = await core.readInode(oid);
  const next = { ...ino, ...fn(ino) };
  const now = core.now();
  tx.expectVersion(o, INODE_DKEY, A_ATTR, ver);
  tx.put(o, INODE_DKEY, A_ATTR, encodeAttr(next));
  tx.putMax(o, INODE_DKEY, A_CTIME, now);
  if (next.mtimeNs !== ino.mtimeNs) tx.put(o, INODE_DKEY, A_MTIME, u64le(next.mtimeNs));
  await tx.commit();
}

export async function chmod(core: DfsCore, path: string, mode: number): Promise<void> {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new StrataError('EINVAL', `chmod ${path}: bad mode ${mode.toString(8)}`);
  await updateAttr(core, path, 'chmod', true, (a) => ({ mode: (a.mode & S_IFMT) | mode }));
}

export async function chown(core: DfsCore, path: string, uid: number | undefined, gid: number | undefined, follow = true): Promise<void> {
  for (const id of [uid, gid]) {
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xfffffffe)) throw new StrataError('EINVAL', `chown ${path}: bad id ${id}`);
  }
  await updateAttr(core, path, 'chown', follow, () => ({ ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) }));
}

/** Sets atime and/or mtime (ns since the epoch); undefined leaves one unchanged, 'now' sets it to now. */
export async function utimens(core: DfsCore, path: string, atimeNs: bigint | 'now' | undefined, mtimeNs: bigint | 'now' | undefined, follow = true): Promise<void> {
  for (const t of [atimeNs, mtimeNs]) {
    if (typeof t === 'bigint' && (t < 0n || t >= 1n << 64n)) throw new StrataError('EINVAL', `utimens ${path}: time out of range`);
  }
  await updateAttr(core, path, 'utimens', follow, () => {
    const now = core.now();
    const p: Partial<Inode> = {};
    if (atimeNs !== undefined) p.atimeNs = atimeNs === 'now' ? now : atimeNs;
    if (mtimeNs !== undefined) p.mtimeNs = mtimeNs === 'now' ? now : mtimeNs;
    return p;
  });
}
