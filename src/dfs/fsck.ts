// DFS consistency check (`strata pool check`, DFS part): the namespace of a
// POSIX container agrees with itself.
//   - every directory entry decodes and names an existing inode object whose
//     type matches the entry; a directory is named by exactly one entry;
//   - each file's / symlink's nlink equals the number of entries naming it,
//     each directory's subdirectory count (its nlink - 2) its subdirectories;
//   - no object is unreachable from the root, except the superblock, the
//     orphan table and the inodes it records (unlinked while open: nlink 0);
//   - no file stores bytes beyond its size, and its chunk dkeys are chunk
//     indexes of a sane chunk size.
// Reads the latest state; run it on a quiescent container (a concurrent
// writer can make a transient mismatch appear). With `repair` it removes the
// unreachable objects (leaked: nothing names them, no open handle records
// them); other problems are reported, not repaired. Memory: a few dozen bytes per
// inode (the reference counts), so millions of inodes fit.
import type { Engine, Epoch } from '../engine/types.js';
import { LATEST } from '../engine/types.js';
import { DaosObject, Tx, listObjects } from '../object/index.js';
import { StrataError } from '../errors.js';
import { ObjectId } from '../object/oid.js';
import { u64FromKey } from '../object/keys.js';
import { isValidName } from './path.js';
import {
  A_ATTR, A_RDEV, A_SIZE, A_SUBDIRS, DATA_AKEY, ENTRY_AKEY, INODE_DKEY, ORPHAN_AKEY, ORPHAN_OID, ROOT_OID, SB_AKEY, SB_DKEY, SB_OID,
  decodeAttr, decodeEntry, decodeSuperblock, fromU64le, isDevice, isMetaDkey, isSpecial, typeOfMode, typeOfModeBits, type FileType, type InodeAttr,
} from './layout.js';

export interface DfsCheckReport {
  inodes: number;
  entries: number;
  orphans: number;
  /** One line per problem, naming the path or object. */
  problems: string[];
  /** With repair: one line per problem fixed (not listed in problems). */
  repaired: string[];
}

interface Ref { type: FileType; count: number; path: string }

function nameOf(k: Uint8Array): string {
  return Buffer.from(k).toString('utf8');
}

/** Checks the DFS namespace of one POSIX container (at `epoch`, default the latest state). */
export async function checkDfs(engine: Engine, cont: string, opts: { epoch?: Epoch; maxProblems?: number; repair?: boolean } = {}): Promise<DfsCheckReport> {
  const epoch = opts.epoch ?? LATEST;
  const max = opts.maxProblems ?? 1000;
  const problems: string[] = [];
  const problem = (p: string) => { if (problems.length < max) problems.push(p); };
  const obj = (oid: ObjectId) => new DaosObject(engine, cont, oid);
  const report: DfsCheckReport = { inodes: 0, entries: 0, orphans: 0, problems, repaired: [] };
  if (opts.repair && epoch !== LATEST) throw new StrataError('EINVAL', 'a DFS check of a snapshot cannot repair it');

  // Which objects exist at all.
  const present = new Set<string>();
  for await (const oid of listObjects(engine, cont, { epoch })) present.add(oid.toString());
  const sb = await obj(SB_OID).get(SB_DKEY, SB_AKEY, epoch);
  if (!sb) {
    if (present.size > 0) problem(`no DFS superblock, but the container holds ${present.size} object(s)`);
    return report;
  }
  try { decodeSuperblock(sb); } catch (e) { problem(`superblock: ${(e as Error).message}`); return report; }

  // Walk the namespace from the root, counting the entries naming each inode.
  const refs = new Map<string, Ref>();
  refs.set(ROOT_OID.toString(), { type: 'dir', count: 1, path: '/' });
  const queue: Array<{ oid: ObjectId; path: string }> = [{ oid: ROOT_OID, path: '/' }];
  const subdirs = new Map<string, number>();
  while (queue.length > 0) {
    const { oid: dir, path: dpath } = queue.shift()!;
    subdirs.set(dir.toString(), 0);
    for await (const k of obj(dir).dkeys({ epoch })) {
      if (isMetaDkey(k)) continue;
      const p = dpath === '/' ? `/${nameOf(k)}` : `${dpath}/${nameOf(k)}`;
      if (!isValidName(nameOf(k))) { problem(`${dpath}: entry ${JSON.stringify(nameOf(k))} is not a valid name (hidden from readdir and lookup)`); continue; }
      const v = await obj(dir).get(k, ENTRY_AKEY, epoch);
      if (!v) { problem(`${p}: directory key without an entry value`); continue; }
      let ent;
      try { ent = decodeEntry(v); } catch (e) { problem(`${p}: ${(e as Error).message}`); continue; }
      report.entries++;
      if (ent.type === 'dir') subdirs.set(dir.toString(), subdirs.get(dir.toString())! + 1);
      const key = ent.oid.toString();
      const r = refs.get(key);
      if (r) {
        r.count++;
        if (r.type !== ent.type) problem(`${p}: entry type ${ent.type}, but ${r.path} names the same inode ${key} as ${r.type}`);
        else if (ent.type === 'dir') problem(`${p}: directory ${key} has a second name (${r.path})`);
        continue;
      }
      refs.set(key, { type: ent.type, count: 1, path: p });
      if (ent.type === 'dir') queue.push({ oid: ent.oid, path: p });
    }
  }

  // Orphans: inodes unlinked while open, kept with nlink 0 until closed.
  const orphans = new Set<string>();
  for await (const k of obj(ORPHAN_OID).dkeys({ epoch })) {
    const key = nameOf(k);
    report.orphans++;
    orphans.add(key);
    if (!(await obj(ORPHAN_OID).get(k, ORPHAN_AKEY, epoch))) problem(`orphan record ${key}: no value`);
    if (refs.has(key)) problem(`orphan record ${key}: the inode is still named by ${refs.get(key)!.path}`);
    if (!present.has(key)) problem(`orphan record ${key}: the inode object does not exist`);
  }

  // Every named inode exists and agrees with its entries.
  for (const [key, r] of refs) {
    const oid = ObjectId.parse(key);
    const isRoot = oid.equals(ROOT_OID);
    report.inodes++;
    const a = await obj(oid).get(INODE_DKEY, A_ATTR, epoch);
    if (!a) {
      if (!isRoot) problem(`${r.path}: entry names inode ${key}, which does not exist${present.has(key) ? ' (object without an inode record)' : ''}`);
      continue;
    }
    let attr: InodeAttr;
    try { attr = decodeAttr(a); } catch (e) { problem(`${r.path}: inode ${key}: ${(e as Error).message}`); continue; }
    const t = typeOfModeBits(attr.mode);
    if (t === undefined) { problem(`${r.path}: inode ${key} has mode ${attr.mode.toString(8)}, of no type DFS knows`); continue; }
    if (t !== r.type) { problem(`${r.path}: entry type ${r.type}, inode ${key} is a ${t}`); continue; }
    if (t !== 'dir' && attr.nlink !== r.count) problem(`${r.path}: inode ${key} has nlink ${attr.nlink}, but ${r.count} entr${r.count === 1 ? 'y names' : 'ies name'} it`);
    if (t === 'file') await checkFile(obj(oid), attr, r.path, key, epoch, problem);
    if (isSpecial(t)) await checkSpecial(obj(oid), t, r.path, key, epoch, problem);
    if (t === 'dir') {
      const counted = await obj(oid).get(INODE_DKEY, A_SUBDIRS, epoch); // absent: made before counts were kept
      const n = subdirs.get(key) ?? 0;
      if (counted && Number(fromU64le(counted)) !== n) problem(`${r.path}: directory ${key} counts ${fromU64le(counted)} subdirectories, but has ${n}`);
    }
  }
  for (const key of orphans) {
    if (!present.has(key) || refs.has(key)) continue;
    report.inodes++;
    const a = await obj(ObjectId.parse(key)).get(INODE_DKEY, A_ATTR, epoch);
    if (!a) { problem(`orphan ${key}: no inode record`); continue; }
    let attr: InodeAttr;
    try { attr = decodeAttr(a); } catch (e) { problem(`orphan ${key}: ${(e as Error).message}`); continue; }
    if (attr.nlink !== 0) problem(`orphan ${key}: nlink ${attr.nlink}, expected 0`);
    if (typeOfMode(attr.mode) === 'file') await checkFile(obj(ObjectId.parse(key)), attr, `orphan ${key}`, key, epoch, problem);
  }

  // Nothing else: every other object is unreachable (leaked).
  for (const key of present) {
    if (refs.has(key) || orphans.has(key) || key === SB_OID.toString() || key === ORPHAN_OID.toString()) continue;
    const what = `object ${key}: not reachable from the root and not a recorded orphan`;
    if (!opts.repair) { problem(what); continue; }
    try {
      await removeUnreachable(engine, obj(ObjectId.parse(key)));
      report.repaired.push(`${what}: removed`);
    } catch (e) {
      problem(`${what}; not removed: ${(e as Error).message}`);
    }
  }
  return report;
}

/** Punches a leaked object (conditioned on its inode record as read here: a link made meanwhile changes it). */
async function removeUnreachable(engine: Engine, o: DaosObject): Promise<void> {
  const tx = new Tx(engine);
  tx.expectVersion(o, INODE_DKEY, A_ATTR, await o.version(INODE_DKEY, A_ATTR));
  tx.punchObject(o);
  await tx.commit();
}

/** A FIFO, device or socket stores no data; a device has its 8-byte device number. */
async function checkSpecial(o: DaosObject, t: FileType, p: string, key: string, epoch: Epoch, problem: (s: string) => void): Promise<void> {
  for await (const k of o.dkeys({ epoch })) {
    if (!isMetaDkey(k)) { problem(`${p}: ${t} ${key} stores data (dkey ${Buffer.from(k).toString('hex')})`); break; }
  }
  if (isDevice(t)) {
    const rdev = await o.get(INODE_DKEY, A_RDEV, epoch);
    if (!rdev || rdev.length !== 8) problem(`${p}: device ${key} has ${rdev ? `a ${rdev.length}-byte` : 'no'} device number`);
  }
}

async function checkFile(o: DaosObject, attr: InodeAttr, p: string, key: string, epoch: Epoch, problem: (s: string) => void): Promise<void> {
  const cs = attr.chunkSize;
  if (!(cs > 0)) { problem(`${p}: file ${key} has chunk size ${cs}`); return; }
  const size = fromU64le(await o.get(INODE_DKEY, A_SIZE, epoch));
  let end = 0n;
  for await (const k of o.dkeys({ epoch })) {
    if (isMetaDkey(k)) continue;
    if (k.length !== 8) { problem(`${p}: file ${key} has a non-chunk dkey ${Buffer.from(k).toString('hex')}`); continue; }
    const idx = u64FromKey(k);
    for (const x of await o.extents(k, DATA_AKEY, epoch)) {
      if (x.offset + x.length > cs) problem(`${p}: chunk ${idx} stores bytes up to ${x.offset + x.length}, past the chunk size ${cs}`);
      const e = idx * BigInt(cs) + BigInt(x.offset + x.length);
      if (e > end) end = e;
    }
  }
  if (end > size) problem(`${p}: file ${key} has size ${size}, but stores bytes up to ${end}`);
}
