// Path-based rename: resolves both paths (like Linux, both parents before the
// source name is checked), then renameAt (one transaction, see at.ts).
import { StrataError } from '../errors.js';
import type { DfsCore } from './core.js';
import { parentOf, resolve } from './lookup.js';
import { renameAt } from './at.js';

export interface RenameOptions {
  /** Fail with EEXIST instead of replacing an existing destination (RENAME_NOREPLACE). */
  noReplace?: boolean;
}

export async function rename(core: DfsCore, from: string, to: string, opts: RenameOptions = {}): Promise<void> {
  const what = `rename ${from} -> ${to}`;
  core.checkWritable(what);
  const src0 = await resolve(core, from, false);
  const dst = await resolve(core, to, false);
  if (!src0.ent) throw new StrataError('ENOENT', `${from}: no such file or directory`);
  const src = src0 as typeof src0 & { ent: NonNullable<typeof src0.ent> };
  if (src.chain.length === 0) throw new StrataError('EBUSY', `${what}: cannot rename the root directory`);
  if (src.trailingSlash && src.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${from}: not a directory`);
  if (dst.chain.length === 0) throw new StrataError('EBUSY', `${what}: cannot replace the root directory`);
  if (dst.trailingSlash && src.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${to}: not a directory`);
  try {
    await renameAt(core, parentOf(src), src.name, parentOf(dst), dst.name, { noReplace: opts.noReplace, dstAncestors: dst.chain.map((d) => d.oid) });
  } catch (e) {
    if (e instanceof StrataError && (e.code === 'EEXIST' || e.code === 'ENOENT')) {
      throw new StrataError(e.code, e.code === 'EEXIST' ? `${to}: already exists` : `${from}: no such file or directory`);
    }
    if (e instanceof StrataError && ['EINVAL', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY'].includes(e.code)) {
      throw new StrataError(e.code, e.message.replace(/^rename \S+ -> \S+/, what));
    }
    throw e;
  }
}
