// readdir: streams a directory's entries in name (byte) order, one engine page
// at a time, so listing a directory of millions of entries uses bounded memory.
import { StrataError } from '../errors.js';
import { keyString } from '../object/keys.js';
import type { DfsCore } from './core.js';
import type { ObjectId } from '../object/oid.js';
import { ENTRY_AKEY, decodeEntry, isMetaDkey, type Entry, type FileType } from './layout.js';
import { resolveExisting } from './lookup.js';
import { toStat, type Stat } from './attr.js';
import { isValidName } from './path.js';

export interface DirEntry {
  name: string;
  type: FileType;
  oid: string;
  /** Present when readdir was asked for stats (readdirplus). */
  stat?: Stat;
}

export interface ReaddirOptions {
  /** Entries fetched per engine call (default 1024). */
  pageSize?: number;
  /** Start after this name (resume a listing). */
  after?: string;
  /** Also stat each entry. */
  stat?: boolean;
}

export async function* readdir(core: DfsCore, path: string, opts: ReaddirOptions = {}): AsyncGenerator<DirEntry> {
  const r = await resolveExisting(core, path, true);
  if (r.ent.type !== 'dir') throw new StrataError('ENOTDIR', `${path}: not a directory`);
  yield* readdirObject(core, r.ent.oid, opts);
}

/** Streams the entries of a directory object (with `stat`: readdirplus). */
export async function* readdirObject(core: DfsCore, oid: ObjectId, opts: ReaddirOptions = {}): AsyncGenerator<DirEntry> {
  const pageSize = opts.pageSize ?? 1024;
  let after = opts.after;
  for (;;) {
    const page = await readdirPage(core, oid, { after, limit: pageSize, stat: opts.stat });
    yield* page.entries;
    if (page.next === undefined) return;
    after = page.next;
  }
}

export interface DirPage {
  entries: DirEntry[];
  /** Pass as `after` for the next page; undefined at the end of the directory. */
  next: string | undefined;
}

/**
 * One page of a directory: the entries in one read (listValues), then with
 * `stat` the inodes of all of them in one more (readdirplus).
 */
export async function readdirPage(core: DfsCore, oid: ObjectId, opts: { after?: string; limit?: number; stat?: boolean } = {}): Promise<DirPage> {
  const dir = core.obj(oid);
  const limit = opts.limit ?? 1024;
  const found = await dir.listValues(ENTRY_AKEY, { epoch: core.epoch, after: opts.after === undefined ? undefined : Buffer.from(opts.after, 'utf8'), limit });
  const next = found.length < limit ? undefined : keyString(found[found.length - 1]!.dkey);
  const listed: Array<{ name: string; ent: Entry }> = [];
  for (const { dkey, value } of found) {
    const name = keyString(dkey);
    if (isMetaDkey(dkey) || !isValidName(name)) continue;
    listed.push({ name, ent: decodeEntry(value) });
  }
  if (!opts.stat) return { entries: listed.map(({ name, ent }) => ({ name, type: ent.type, oid: ent.oid.toString() })), next };
  const inodes = await core.readInodes(listed.map(({ ent }) => ({ oid: ent.oid, type: ent.type })));
  const entries: DirEntry[] = [];
  listed.forEach(({ name, ent }, i) => {
    const ino = inodes[i];
    // An inode removed between the listing and the stat: the entry went with it.
    if (ino) entries.push({ name, type: ent.type, oid: ent.oid.toString(), stat: toStat(ino) });
  });
  return { entries, next };
}
