// Mounting: checks the container is POSIX, reads (or, on first writable
// mount, creates) the superblock and the root directory inode.
import { StrataError, isStrataError } from '../errors.js';
import type { Container } from '../container/container.js';
import { DfsCore, type MountOptions } from './core.js';
import {
  A_ATTR, INODE_DKEY, LAYOUT_VERSION, ROOT_OID, SB_AKEY, SB_DKEY, SB_MAGIC, SB_OID,
  decodeSuperblock, encodeSuperblock, type Superblock,
} from './layout.js';
import { writeNewInode } from './at.js';

export async function readSuperblock(core: DfsCore): Promise<Superblock | undefined> {
  const v = await core.obj(SB_OID).get(SB_DKEY, SB_AKEY, core.epoch);
  return v ? decodeSuperblock(v) : undefined;
}

/** Creates the superblock and root directory if they do not exist yet (idempotent, race safe). */
export async function mkfs(core: DfsCore): Promise<Superblock> {
  for (let i = 0; ; i++) {
    const existing = await readSuperblock(core);
    if (existing) return existing;
    const sbObj = core.obj(SB_OID);
    const ver = await sbObj.version(SB_DKEY, SB_AKEY);
    const tx = core.tx(`create filesystem in container ${core.label}`);
    const sb: Superblock = {
      magic: SB_MAGIC, version: LAYOUT_VERSION, chunkSize: core.chunkSize, oclass: core.container.oclass,
      root: ROOT_OID.toString(), createdAt: new Date().toISOString(),
    };
    tx.expectVersion(sbObj, SB_DKEY, SB_AKEY, ver);
    tx.put(sbObj, SB_DKEY, SB_AKEY, encodeSuperblock(sb));
    const rootVer = await core.obj(ROOT_OID).version(INODE_DKEY, A_ATTR);
    if (rootVer === 0) writeNewInode(core, tx, ROOT_OID, 'dir', { mode: 0o755 }, core.now());
    try {
      await tx.commit();
      return sb;
    } catch (e) {
      if (!isStrataError(e, 'ECONFLICT') || i > 5) throw e;
    }
  }
}

export function checkPosix(container: Container): void {
  if (container.type !== 'POSIX') {
    throw new StrataError('EINVAL', `container ${container.label} is of type ${container.type}, not POSIX: it holds no filesystem`);
  }
}

/**
 * Opens the filesystem of a POSIX container. A writable mount of a container
 * without a superblock creates one; a read-only one (or a snapshot taken
 * before) shows an empty root directory.
 */
export async function mountCore(container: Container, opts: MountOptions = {}): Promise<{ core: DfsCore; sb: Superblock | undefined }> {
  checkPosix(container);
  const core = new DfsCore(container, opts);
  let sb = await readSuperblock(core);
  if (!sb && !core.readOnly && container.perms.has('w')) sb = await mkfs(core);
  if (sb && !core.readOnly && container.perms.has('w')) await core.purgeOrphans();
  return { core, sb };
}
