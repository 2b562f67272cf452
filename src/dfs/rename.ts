// rename: one transaction that removes the source entry, writes the
// destination entry (replacing an existing one, whose inode loses a link) and
// touches both parents; conditioned on both entries' versions.
import { StrataError } from '../errors.js';
import type { DfsCore } from './core.js';
import { ENTRY_AKEY, encodeEntry } from './layout.js';
import { dropLink, isEmptyDir, touchDir } from './dir.js';
import { parentOf, resolve } from './lookup.js';
import { A_CTIME, INODE_DKEY } from './layout.js';

export interface RenameOptions {
  /** Fail with EEXIST instead of replacing an existing destination (RENAME_NOREPLACE). */
  noReplace?: boolean;
}

export async function rename(core: DfsCore, from: string, to: string, opts: RenameOptions = {}): Promise<void> {
  const what = `rename ${from} -> ${to}`;
  core.checkWritable(what);
  await core.retry(what, async () => {
    // Like Linux: both parents are looked up before the source name is checked.
    const src0 = await resolve(core, from, false);
    const dst = await resolve(core, to, false);
    if (!src0.ent) throw new StrataError('ENOENT', `${from}: no such file or directory`);
    const src = src0 as typeof src0 & { ent: NonNullable<typeof src0.ent> };
    if (src.chain.length === 0) throw new StrataError('EBUSY', `${what}: cannot rename the root directory`);
    if (src.trailingSlash && src.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${from}: not a directory`);
    if (dst.chain.length === 0) throw new StrataError('EBUSY', `${what}: cannot replace the root directory`);
    const sParent = parentOf(src);
    const dParent = parentOf(dst);
    if (dst.trailingSlash && src.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${to}: not a directory`);
    if (src.ent.type === 'dir' && dst.chain.some((d) => d.oid.equals(src.ent.oid))) {
      throw new StrataError('EINVAL', `${what}: cannot move a directory into its own subtree`);
    }
    const tx = core.tx(what);
    const s = await core.getEntryV(sParent, src.name);
    const d = await core.getEntryV(dParent, dst.name);
    if (!s.ent) throw new StrataError('ENOENT', `${from}: no such file or directory`);
    if (sParent.equals(dParent) && src.name === dst.name) return;
    if (d.ent) {
      if (opts.noReplace) throw new StrataError('EEXIST', `${to}: already exists`);
      // Two links to the same inode: POSIX says do nothing.
      if (d.ent.oid.equals(s.ent.oid)) return;
      if (s.ent.type === 'dir' && d.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${what}: '${to}' is not a directory`);
      if (s.ent.type !== 'dir' && d.ent.type === 'dir') throw new StrataError('EISDIR', `${what}: '${to}' is a directory`);
      if (d.ent.type === 'dir' && !(await isEmptyDir(core, d.ent.oid))) throw new StrataError('ENOTEMPTY', `${what}: '${to}' is not empty`);
    }
    const now = core.now();
    const sDir = core.obj(sParent);
    const dDir = core.obj(dParent);
    tx.expectVersion(sDir, src.name, ENTRY_AKEY, s.ver);
    tx.expectVersion(dDir, dst.name, ENTRY_AKEY, d.ver);
    tx.punchDkey(sDir, src.name);
    tx.put(dDir, dst.name, ENTRY_AKEY, encodeEntry(s.ent));
    if (d.ent) await dropLink(core, tx, d.ent, now);
    tx.putMax(core.obj(s.ent.oid), INODE_DKEY, A_CTIME, now);
    touchDir(tx, core, sParent, now);
    if (!dParent.equals(sParent)) touchDir(tx, core, dParent, now);
    await tx.commit();
  });
}
