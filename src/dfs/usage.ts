// Space accounting: du of a subtree (apparent and stored bytes) and a
// statfs-like summary of the whole filesystem.
import { StrataError } from '../errors.js';
import { listObjects } from '../object/object.js';
import type { DfsCore } from './core.js';
import { fileExtents } from './io.js';
import { resolveExisting } from './lookup.js';
import { readdirObject } from './readdir.js';
import { joinPath } from './path.js';
import { ObjectId } from '../object/oid.js';

export interface DuResult {
  files: number;
  dirs: number;
  symlinks: number;
  /** Sum of file sizes (what `du --apparent-size` shows). */
  apparentBytes: number;
  /** Bytes of file data actually stored (holes excluded). */
  storedBytes: number;
}

/** Walks a subtree (depth first, without following symlinks); hard-linked files count once. */
export async function du(core: DfsCore, path: string): Promise<DuResult> {
  const res: DuResult = { files: 0, dirs: 0, symlinks: 0, apparentBytes: 0, storedBytes: 0 };
  const seen = new Set<string>();
  const r = await resolveExisting(core, path, true);
  const visit = async (p: string, type: string, oid: ObjectId): Promise<void> => {
    if (type === 'dir') {
      res.dirs++;
      for await (const e of readdirObject(core, oid)) await visit(joinPath(p, e.name), e.type, ObjectId.parse(e.oid));
      return;
    }
    if (type === 'symlink') { res.symlinks++; return; }
    const key = oid.toString();
    if (seen.has(key)) return;
    seen.add(key);
    res.files++;
    if (type !== 'file') return; // a FIFO, device or socket: no bytes
    const ino = await core.readInode(oid, 'file');
    res.apparentBytes += ino.size;
    res.storedBytes += (await fileExtents(core, oid, ino.chunkSize, ino.size)).reduce((s, e) => s + e.length, 0);
  };
  await visit(path, r.ent.type, r.ent.oid);
  return res;
}

export interface StatFs {
  /** Default chunk size of new files. */
  chunkSize: number;
  /** Objects of the container (inodes + superblock) at the mount epoch. */
  objects: number;
  /** Bytes the whole engine occupies, and bytes of array data it still references (all containers). */
  engineTotalBytes: number;
  engineLiveDataBytes: number;
  readOnly: boolean;
}

export async function statfs(core: DfsCore): Promise<StatFs> {
  if (!core.container) throw new StrataError('EIO', 'not mounted');
  let objects = 0;
  for await (const o of listObjects(core.container.engine, core.container.uuid, { epoch: core.epoch })) { void o; objects++; }
  const u = await core.container.engine.usage();
  return { chunkSize: core.chunkSize, objects, engineTotalBytes: u.totalBytes, engineLiveDataBytes: u.liveDataBytes, readOnly: core.readOnly };
}
