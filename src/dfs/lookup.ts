// Path lookup: walks from the root, following symlinks (at most SYMLOOP_MAX),
// resolving '..' physically (a directory has exactly one parent), refusing to
// climb above the container root.
import { StrataError } from '../errors.js';
import type { ObjectId } from '../object/oid.js';
import type { DfsCore } from './core.js';
import { A_LINK, INODE_DKEY, ROOT_OID, SYMLOOP_MAX, type Entry } from './layout.js';
import { parsePath } from './path.js';

export interface DirStep {
  oid: ObjectId;
  name: string;
}

export interface Resolved {
  /** Directories from the root down to the parent of the final name (empty for the root itself). */
  chain: DirStep[];
  /** Final name ('' for the root). */
  name: string;
  /** The entry, when it exists. */
  ent: Entry | undefined;
  /** The path ended with '/'. */
  trailingSlash: boolean;
}

export function parentOf(r: Resolved): ObjectId {
  const p = r.chain[r.chain.length - 1];
  if (!p) throw new StrataError('EBUSY', 'the root directory cannot be changed that way');
  return p.oid;
}

export async function readTarget(core: DfsCore, oid: ObjectId): Promise<string> {
  const l = await core.obj(oid).get(INODE_DKEY, A_LINK, core.epoch);
  return l ? Buffer.from(l).toString('utf8') : '';
}

/**
 * Resolves a path. Intermediate symlinks are always followed; the final one
 * only when `follow` (or when the path ends with '/'). A missing final name is
 * not an error (ent is undefined); a missing intermediate one is ENOENT.
 */
export async function resolve(core: DfsCore, path: string, follow: boolean): Promise<Resolved> {
  const parsed = parsePath(path);
  const queue = [...parsed.parts];
  const stack: DirStep[] = [{ oid: ROOT_OID, name: '' }];
  let loops = 0;
  const followLast = follow || parsed.trailingSlash;
  while (queue.length > 0) {
    const name = queue.shift()!;
    const last = queue.length === 0;
    if (name === '..') {
      if (stack.length === 1) throw new StrataError('EINVAL', `path '${path}' escapes the container root`);
      stack.pop();
      continue;
    }
    const cur = stack[stack.length - 1]!;
    const ent = await core.getEntry(cur.oid, name);
    if (!ent) {
      if (last) return { chain: stack, name, ent: undefined, trailingSlash: parsed.trailingSlash };
      throw new StrataError('ENOENT', `${path}: no such file or directory ('${name}' does not exist)`);
    }
    if (ent.type === 'symlink' && (!last || followLast)) {
      if (++loops > SYMLOOP_MAX) throw new StrataError('ELOOP', `${path}: too many levels of symbolic links`);
      const target = await readTarget(core, ent.oid);
      const t = parsePath(target);
      if (target.startsWith('/')) stack.splice(1);
      queue.unshift(...t.parts);
      continue;
    }
    if (!last) {
      if (ent.type !== 'dir') throw new StrataError('ENOTDIR', `${path}: '${name}' is not a directory`);
      stack.push({ oid: ent.oid, name });
      continue;
    }
    if (parsed.trailingSlash && ent.type !== 'dir') throw new StrataError('ENOTDIR', `${path}: not a directory`);
    return { chain: stack, name, ent, trailingSlash: parsed.trailingSlash };
  }
  // The path ended at a directory reached by '', '.', '..' or a symlink to one.
  const top = stack.pop()!;
  return { chain: stack, name: top.name, ent: { type: 'dir', oid: top.oid }, trailingSlash: parsed.trailingSlash };
}

/** Resolves a path that must exist. */
export async function resolveExisting(core: DfsCore, path: string, follow: boolean): Promise<Resolved & { ent: Entry }> {
  const r = await resolve(core, path, follow);
  if (!r.ent) throw new StrataError('ENOENT', `${path}: no such file or directory`);
  return r as Resolved & { ent: Entry };
}
