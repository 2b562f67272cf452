// stat, chmod, chown, utimens.
import { StrataError } from '../errors.js';
import type { DfsCore, Inode } from './core.js';
import type { FileType } from './layout.js';
import { setattrOf } from './at.js';
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
  /** Device number of a character or block device, major << 32 | minor (0 otherwise; see rdevMajor/rdevMinor). */
  rdev: bigint;
}

export function toStat(i: Inode): Stat {
  return {
    type: i.type, mode: i.mode, perm: i.mode & 0o7777, uid: i.uid, gid: i.gid,
    nlink: i.nlink,
    size: i.size, chunkSize: i.chunkSize, oid: i.oid.toString(), ino: i.oid.lo,
    atimeNs: i.atimeNs, mtimeNs: i.mtimeNs, ctimeNs: i.ctimeNs, rdev: i.rdev,
  };
}

export async function stat(core: DfsCore, path: string, follow = true): Promise<Stat> {
  const r = await resolveExisting(core, path, follow);
  return toStat(await core.readInode(r.ent.oid, r.ent.type));
}

async function resolveOid(core: DfsCore, path: string, what: string, follow: boolean) {
  core.checkWritable(`${what} ${path}`);
  return (await resolveExisting(core, path, follow)).ent.oid;
}

export async function chmod(core: DfsCore, path: string, mode: number): Promise<void> {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new StrataError('EINVAL', `chmod ${path}: bad mode ${mode.toString(8)}`);
  await setattrOf(core, await resolveOid(core, path, 'chmod', true), { mode });
}

export async function chown(core: DfsCore, path: string, uid: number | undefined, gid: number | undefined, follow = true): Promise<void> {
  for (const id of [uid, gid]) {
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xfffffffe)) throw new StrataError('EINVAL', `chown ${path}: bad id ${id}`);
  }
  await setattrOf(core, await resolveOid(core, path, 'chown', follow), { uid, gid });
}

/** Sets atime and/or mtime (ns since the epoch); undefined leaves one unchanged, 'now' sets it to now. */
export async function utimens(core: DfsCore, path: string, atimeNs: bigint | 'now' | undefined, mtimeNs: bigint | 'now' | undefined, follow = true): Promise<void> {
  for (const t of [atimeNs, mtimeNs]) {
    if (typeof t === 'bigint' && (t < 0n || t >= 1n << 64n)) throw new StrataError('EINVAL', `utimens ${path}: time out of range`);
  }
  await setattrOf(core, await resolveOid(core, path, 'utimens', follow), { atimeNs, mtimeNs });
}
