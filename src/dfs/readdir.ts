// readdir: streams a directory's entries in name (byte) order, one engine page
// at a time, so listing a directory of millions of entries uses bounded memory.
import { StrataError } from '../errors.js';
import { keyString } from '../object/keys.js';
import type { DfsCore } from './core.js';
import type { ObjectId } from '../object/oid.js';
import { ENTRY_AKEY, decodeEntry, isMetaDkey, type FileType } from './layout.js';
import { resolveExisting } from './lookup.js';
import { toStat, type Stat } from './attr.js';

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

/** Streams the entries of a directory object. */
export async function* readdirObject(core: DfsCore, oid: ObjectId, opts: ReaddirOptions = {}): AsyncGenerator<DirEntry> {
  const dir = core.obj(oid);
  const pageSize = opts.pageSize ?? 1024;
  let after: Uint8Array | undefined = opts.after === undefined ? undefined : Buffer.from(opts.after, 'utf8');
  for (;;) {
    const keys = await dir.listDkeys({ epoch: core.epoch, after, limit: pageSize });
    if (keys.length === 0) return;
    after = keys[keys.length - 1];
    const names = keys.filter((k) => !isMetaDkey(k));
    // Fetch this page's entries in parallel, then yield them in order.
    const ents = await Promise.all(names.map(async (k) => {
      const v = await dir.get(k, ENTRY_AKEY, core.epoch);
      if (!v) return undefined;
      const e = decodeEntry(v);
      const de: DirEntry = { name: keyString(k), type: e.type, oid: e.oid.toString() };
      if (opts.stat) de.stat = toStat(await core.readInode(e.oid, e.type));
      return de;
    }));
    for (const e of ents) if (e) yield e;
    if (keys.length < pageSize) return;
  }
}
