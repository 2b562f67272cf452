// Path-based creating and removing of names: mkdir, create (regular file),
// symlink, link, unlink, rmdir. Each resolves the path, then makes the
// directory-relative call of at.ts (one conditional transaction; on a
// conflict the path is resolved again and the call retried).
import { StrataError } from '../errors.js';
import { normalizePath } from './path.js';
import type { DfsCore } from './core.js';
import type { Entry, FileType } from './layout.js';
import { parentOf, resolve, resolveExisting } from './lookup.js';
import { checkChunkSize, createAt, linkAt, mknodType, unlinkAt, type NewInode } from './at.js';
import { isDevice } from './layout.js';

export interface CreateOptions {
  /** Permission bits (default 0o755 for directories, 0o644 for files). */
  mode?: number;
  /** Chunk size of a new file (default: the mount's). */
  chunkSize?: number;
}

/** Creates a new name (EEXIST if it exists). */
export async function createNode(core: DfsCore, path: string, type: FileType, opts: NewInode & { follow?: boolean }): Promise<Entry> {
  const what = type === 'dir' ? 'mkdir' : type === 'symlink' ? 'symlink' : type === 'file' ? 'create' : 'mknod';
  core.checkWritable(`${what} ${path}`);
  checkChunkSize(opts.chunkSize);
  return core.retry(`${what} ${path}`, async () => {
    const r = await resolve(core, path, opts.follow ?? false);
    if (r.ent) throw new StrataError('EEXIST', `${path}: already exists`);
    if (r.trailingSlash && type !== 'dir') throw new StrataError('ENOTDIR', `${path}: not a directory`);
    try {
      return await createAt(core, parentOf(r), r.name, type, opts);
    } catch (e) {
      if (e instanceof StrataError && e.code === 'EEXIST') throw new StrataError('EEXIST', `${path}: already exists`);
      throw e;
    }
  });
}

export async function mkdir(core: DfsCore, path: string, opts: CreateOptions & { recursive?: boolean } = {}): Promise<void> {
  if (!opts.recursive) {
    await createNode(core, path, 'dir', opts);
    return;
  }
  core.checkWritable(`mkdir ${path}`);
  normalizePath(path); // a path that escapes the root is refused before anything is made
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
  await createNode(core, path, 'symlink', { target });
}

/** mknod(2): a FIFO, device or socket (or an empty regular file) by the type bits of `mode`; `rdev` only for devices. */
export async function mknod(core: DfsCore, path: string, mode: number, rdev: bigint): Promise<void> {
  const type = mknodType(mode, `mknod ${path}`);
  await createNode(core, path, type, { mode: mode & 0o7777, ...(isDevice(type) ? { rdev } : {}) });
}

async function removeName(core: DfsCore, path: string, dir: boolean): Promise<void> {
  const what = `${dir ? 'rmdir' : 'unlink'} ${path}`;
  core.checkWritable(what);
  const r = await resolve(core, path, false);
  if (!r.ent) throw new StrataError('ENOENT', `${path}: no such file or directory`);
  if (dir) {
    if (r.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${path}: not a directory`);
    if (r.chain.length === 0) throw new StrataError('EBUSY', `${path}: cannot remove the root directory`);
  } else {
    if (r.ent.type === 'dir') throw new StrataError('EISDIR', `${path}: is a directory (use rmdir)`);
    if (r.trailingSlash) throw new StrataError('ENOTDIR', `${path}: not a directory`);
  }
  try {
    await unlinkAt(core, parentOf(r), r.name, { dir });
  } catch (e) {
    if (e instanceof StrataError && ['ENOENT', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR'].includes(e.code)) {
      throw new StrataError(e.code, `${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'ENOTEMPTY' ? 'directory not empty' : e.code === 'ENOTDIR' ? 'not a directory' : 'is a directory (use rmdir)'}`);
    }
    throw e;
  }
}

export function unlink(core: DfsCore, path: string): Promise<void> { return removeName(core, path, false); }
export function rmdir(core: DfsCore, path: string): Promise<void> { return removeName(core, path, true); }

/** Hard link: a second entry naming the same inode; nlink + 1. Directories cannot be linked (EPERM). */
export async function link(core: DfsCore, existing: string, newPath: string): Promise<void> {
  core.checkWritable(`link ${newPath}`);
  const src = await resolveExisting(core, existing, false);
  if (src.trailingSlash && src.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${existing}: not a directory`);
  const dst = await resolve(core, newPath, false);
  if (dst.ent) throw new StrataError('EEXIST', `${newPath}: already exists`);
  if (src.ent.type === 'dir') throw new StrataError('EPERM', `link ${existing}: hard links to directories are not allowed`);
  if (dst.trailingSlash) throw new StrataError('ENOTDIR', `${newPath}: not a directory`);
  try {
    await linkAt(core, src.ent.oid, parentOf(dst), dst.name);
  } catch (e) {
    if (e instanceof StrataError && e.code === 'EEXIST') throw new StrataError('EEXIST', `${newPath}: already exists`);
    throw e;
  }
}
