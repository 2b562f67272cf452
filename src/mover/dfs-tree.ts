// The DFS backend of the mover's Tree, on a mounted POSIX container, through
// DFS's calls by OID (docs/dfs.md "Calls by OID"): reads go by the OID and
// chunk size known from the listing; a small file is one create with its
// mode, owner, times, xattrs and data (atomic, under its final name: it never
// appears half-written), grouped with the other files in flight into shared
// transactions (CreateGroup); a large file gets a temporary entry, data
// through a bulk writer (several chunks per commit; HeldWriter decides, as
// for the mount's open files), then one batch that sets
// its exact size and mtime and renames it into place. A directory the copy
// fills itself is a mkdir queued in the same groups (reserved OID) and its
// final attributes a setattr item of a later group.
import { StrataError, isStrataError } from '../errors.js';
import { LATEST, type Extent } from '../engine/types.js';
import { ObjectId } from '../object/oid.js';
import { CreateGroup, HeldWriter, createTemp, placeTemp, type Dfs, type DfsFile, type Entry, type FileType, type Stat } from '../dfs/index.js';
import { TEMP_RE, tempName } from './names.js';
import { isSpecialEntry, type FileReader, type FileWriter, type Listed, type MStat, type MetaOptions, type Tree } from './tree.js';

/** Files up to this size are written in a single transaction. */
const SMALL = 1 << 20;
/** Files up to this size are read with their inode and xattrs in one engine read. */
const SMALL_READ = 1 << 20;

/** A directory where a file, symlink or link goes (copy refuses to replace it, as cp -a). */
function dirInTheWay(): StrataError {
  return new StrataError('EISDIR', 'cannot overwrite directory with non-directory');
}

export function dfsStatToM(s: Stat): MStat {
  const m: MStat = {
    type: s.type, perm: s.perm, uid: s.uid, gid: s.gid, size: s.size, atimeNs: s.atimeNs, mtimeNs: s.mtimeNs,
    nlink: s.nlink, ino: s.oid, chunkSize: s.chunkSize || undefined,
  };
  // Set, not spread in: one call per listed entry, and a spread costs microseconds.
  if (s.type === 'chr' || s.type === 'blk') m.rdev = s.rdev;
  return m;
}

function splitPath(full: string): { parent: string; name: string } {
  const i = full.lastIndexOf('/');
  return { parent: i <= 0 ? '/' : full.slice(0, i), name: full.slice(i + 1) };
}

export class DfsTree implements Tree {
  readonly kind = 'dfs' as const;
  private readonly dirCache = new Map<string, ObjectId>();
  private readonly group: CreateGroup;
  /** Directories queued in the group (ensureDir does not wait), until their setMeta. */
  private readonly dirsMade = new Map<string, Promise<Entry>>();
  /**
   * OIDs of directories queued by ensureDir until their setMeta: not found by
   * a path lookup before their group commits, so never dropped with the
   * cache (a removal elsewhere clears it).
   */
  private readonly queuedDirs = new Map<string, ObjectId>();

  constructor(readonly dfs: Dfs, readonly rootPath: string, readonly uri: string) {
    this.group = new CreateGroup(dfs);
  }

  full(rel: string): string {
    if (rel === '') return this.rootPath;
    return this.rootPath === '/' ? `/${rel}` : `${this.rootPath}/${rel}`;
  }

  display(rel: string): string {
    const p = this.full(rel);
    return `${this.uri}${p === '/' ? '' : p}`;
  }

  async lstat(rel: string): Promise<MStat | undefined> {
    try {
      return dfsStatToM(await this.dfs.lstat(this.full(rel)));
    } catch (e) {
      if (isStrataError(e, 'ENOENT') || isStrataError(e, 'ENOTDIR')) return undefined;
      throw e;
    }
  }

  async *list(rel: string): AsyncGenerator<Listed[]> {
    const dir = await this.dfs.lookupPath(this.full(rel), { follow: false });
    if (dir.type !== 'dir') throw new StrataError('ENOTDIR', `${this.display(rel)}: not a directory`);
    let after: string | undefined;
    do {
      const page = await this.dfs.readdirPlus(dir.oid, { after, limit: 512 });
      if (page.entries.length > 0) yield page.entries.map((e) => ({ name: e.name, st: dfsStatToM(e.stat!) }));
      after = page.next;
    } while (after !== undefined);
  }

  readlink(rel: string): Promise<string> {
    return this.dfs.readlink(this.full(rel));
  }

  xattrs(_rel: string, st: MStat): Promise<Array<[string, Buffer]>> {
    return this.dfs.xattrsOf(ObjectId.parse(st.ino));
  }

  /** One engine read for the inode, xattrs and data of a small file (docs/dfs.md "Reading a small file"). */
  async readWhole(rel: string, st: MStat): Promise<{ xattrs: Array<[string, Buffer]>; data: Buffer } | undefined> {
    let f;
    try {
      // On a snapshot the listing's size is the file's: the inode is not read again.
      f = await this.dfs.readSmallFile(ObjectId.parse(st.ino), SMALL_READ, { size: st.size, chunkSize: st.chunkSize ?? this.dfs.chunkSize });
    } catch (e) {
      if (isStrataError(e, 'ENOENT')) throw new StrataError('ESTALE', `${this.display(rel)}: the file was removed or replaced while being read`);
      throw e;
    }
    if (!f) return undefined;
    if (f.inode && (f.inode.size !== st.size || f.inode.mtimeNs !== st.mtimeNs)) {
      throw new StrataError('EIO', `${this.display(rel)}: file changed while being read`);
    }
    return { xattrs: f.xattrs, data: f.data };
  }

  async openRead(rel: string, st: MStat): Promise<FileReader> {
    const f = this.dfs.file(ObjectId.parse(st.ino), st.chunkSize ?? this.dfs.chunkSize, { path: this.full(rel) });
    const cs = f.chunkSize;
    return {
      dataRanges: async (size: number): Promise<Extent[]> => {
        if (size <= cs) return size === 0 ? [] : [{ offset: 0, length: size }];
        return f.extents(size);
      },
      read: (offset: number, length: number, into?: Buffer) => f.read(offset, length, { size: offset + length, into }),
      checkUnchanged: async (st0: MStat) => {
        if (this.dfs.epoch !== LATEST) return; // a snapshot never changes
        const now = await this.lstat(rel);
        if (!now || now.size !== st0.size || now.mtimeNs !== st0.mtimeNs) {
          throw new StrataError('EIO', `${this.display(rel)}: file changed while being copied`);
        }
      },
      close: async () => undefined,
    };
  }

  /** OID of a directory of the destination (cached while it is being filled). */
  private async dirOid(full: string): Promise<ObjectId> {
    const c = this.dirCache.get(full) ?? this.queuedDirs.get(full);
    if (c) return c;
    const e = await this.dfs.lookupPath(full);
    if (e.type !== 'dir') throw new StrataError('ENOTDIR', `${this.uri}${full}: not a directory`);
    if (this.dirCache.size > 65536) this.dirCache.clear();
    this.dirCache.set(full, e.oid);
    return e.oid;
  }

  /**
   * The parent directory's OID and the name. With `committed` (calls outside
   * the group), waits until a parent queued by ensureDir is committed.
   */
  private async locate(rel: string, committed = true): Promise<{ parent: ObjectId; name: string; full: string; parentMade: Promise<unknown> | undefined }> {
    const full = this.full(rel);
    if (full === '/') throw new StrataError('EBUSY', `${this.uri}: the container root cannot be replaced`);
    const s = splitPath(full);
    const parentMade = this.dirsMade.get(s.parent);
    if (committed && parentMade) await parentMade;
    return { parent: await this.dirOid(s.parent), name: s.name, full, parentMade };
  }

  /** Attributes of a new inode from the source's stat. */
  private attrs(st: MStat, meta: MetaOptions, xattrs: Array<[string, Buffer]>): { mode: number; uid?: number; gid?: number; atimeNs: bigint; mtimeNs: bigint; xattrs: Array<[string, Buffer]> } {
    return { mode: st.perm, ...(meta.owner ? { uid: st.uid, gid: st.gid } : {}), atimeNs: st.atimeNs, mtimeNs: st.mtimeNs, xattrs };
  }

  /**
   * Renames parent/tmp over parent/name, replacing a non-directory. A
   * directory in the way is refused, as cp -a does (only sync replaces one,
   * and it removes it first): the temporary entry is dropped.
   */
  private async place(parent: ObjectId, tmp: string, name: string): Promise<void> {
    try {
      await this.dfs.renameAt(parent, tmp, parent, name);
    } catch (e) {
      if (!isStrataError(e, 'EISDIR')) throw e;
      await this.dfs.unlinkAt(parent, tmp).catch(() => undefined);
      throw dirInTheWay();
    }
  }

  /** Creates under the final name, replacing a non-directory (never a directory). */
  private async createReplacing(rel: string, type: FileType, opts: Parameters<Dfs['createAt']>[3]): Promise<Entry> {
    const loc = await this.locate(rel, false);
    try {
      return await this.group.create(loc.parent, loc.name, type, { ...opts, exists: 'replace' });
    } catch (e) {
      // A parent queued in an earlier group that failed (a full engine) fails
      // what is inside with its own cause, not "directory was removed".
      if (loc.parentMade) await loc.parentMade;
      throw isStrataError(e, 'EISDIR') ? dirInTheWay() : e;
    }
  }

  async ensureDir(rel: string, opts: { later?: boolean } = {}): Promise<'created' | 'existed'> {
    const full = this.full(rel);
    if (full === '/') { await this.dirOid('/'); return 'existed'; }
    const { parent, name } = await this.locate(rel, !opts.later);
    for (let i = 0; ; i++) {
      const ent = await this.dfs.lookupAt(parent, name);
      if (ent) {
        if (ent.type !== 'dir') throw new StrataError('EEXIST', 'cannot overwrite non-directory with directory');
        this.dirCache.set(full, ent.oid);
        return 'existed';
      }
      if (opts.later) break;
      // Others (the workers of a distributed copy) fill it: committed before this returns.
      try {
        const e = await this.dfs.mkdirAt(parent, name, { mode: 0o700 });
        this.dirCache.set(full, e.oid);
        return 'created';
      } catch (e) {
        if (!isStrataError(e, 'EEXIST') || i > 3) throw e; // another process made it meanwhile: look again
      }
    }
    // Queued with a reserved OID, not waited for: the creates inside go into
    // the same or a later group (groups commit in order), its final
    // attributes (setMeta) too. A failure (a name another process took
    // meanwhile) shows at its setMeta; what is inside fails with it.
    const oid = await this.dfs.reserveOid('dir');
    const made = this.group.create(parent, name, 'dir', { mode: 0o700, oid });
    made.catch(() => undefined); // awaited by setMeta and by direct creates inside
    this.dirsMade.set(full, made);
    this.queuedDirs.set(full, oid);
    return 'created';
  }

  async createFile(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<FileWriter> {
    const loc = await this.locate(rel, false);
    const dfs = this.dfs;
    const cs = st.chunkSize ?? dfs.chunkSize;
    const attrs = this.attrs(st, meta, xattrs);
    let tmp: { name: string; file: DfsFile } | undefined;
    // Up to SMALL bytes are held (copied: the caller reuses its buffer) for one
    // create under the final name; past that a temporary entry takes the data.
    const data = new HeldWriter(async () => {
      await loc.parentMade; // a direct create: the parent must be committed
      tmp = await createTemp(dfs, loc.parent, { ...attrs, chunkSize: cs });
      return tmp.file.writer({ copy: true, touch: false });
    }, { limit: SMALL, copy: true });
    return {
      chunkSize: cs,
      write: (buf: Buffer, offset: number) => data.write(buf, offset),
      commit: async (size: number) => {
        const pieces = data.takeHeld();
        if (pieces) {
          // Small file: one transaction under the final name (replacing a file there).
          await this.createReplacing(rel, 'file', { ...attrs, chunkSize: cs, size, pieces });
          return;
        }
        await data.flush();
        // Exact size and mtime, and the rename into place, in one transaction.
        try {
          await placeTemp(dfs, loc.parent, tmp!, loc.name, { size, mtimeNs: st.mtimeNs });
        } catch (e) {
          throw isStrataError(e, 'EISDIR') ? dirInTheWay() : e; // abort() drops the temporary entry
        }
        tmp = undefined;
      },
      abort: async () => {
        await data.discard();
        if (tmp) await dfs.unlinkAt(loc.parent, tmp.name).catch(() => undefined);
        tmp = undefined;
      },
    };
  }

  async symlink(rel: string, target: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> {
    const { mode: _mode, ...a } = this.attrs(st, meta, xattrs);
    await this.createReplacing(rel, 'symlink', { ...a, target });
  }

  /** A FIFO, device or socket: one create with its type, rdev, mode, owner, times and xattrs (devices: root only, EPERM). */
  async special(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> {
    if (!isSpecialEntry(st.type)) throw new StrataError('EINVAL', `${this.display(rel)}: not a FIFO, device or socket`);
    await this.createReplacing(rel, st.type, { ...this.attrs(st, meta, xattrs), ...(st.rdev !== undefined ? { rdev: st.rdev } : {}) });
  }

  async link(existingRel: string, rel: string): Promise<void> {
    const loc = await this.locate(rel);
    const existing = await this.dfs.lookupPath(this.full(existingRel), { follow: false });
    if (!(await this.dfs.lookupAt(loc.parent, loc.name))) {
      await this.dfs.linkAt(existing.oid, loc.parent, loc.name);
      return;
    }
    const name = tempName();
    await this.dfs.linkAt(existing.oid, loc.parent, name);
    await this.place(loc.parent, name, loc.name);
    // As rename(2), a rename between two links of one inode changes nothing
    // (rel already was this link, made by an interrupted run): drop the temporary name.
    await this.dfs.unlinkAt(loc.parent, name).catch((e) => { if (!isStrataError(e, 'ENOENT')) throw e; });
  }

  async setMeta(rel: string, st: MStat, xattrs: Array<[string, Buffer]> | undefined, meta: MetaOptions): Promise<void> {
    const full = this.full(rel);
    const made = this.dirsMade.get(full);
    if (made) {
      this.dirsMade.delete(full);
      await made;
    }
    const oid = this.dirCache.get(full) ?? this.queuedDirs.get(full) ?? (await this.dfs.lookupPath(full, { follow: false })).oid;
    // In a shared transaction with the creates and mkdirs in flight.
    await this.group.setattr(oid, {
      ...(st.type === 'symlink' ? {} : { mode: st.perm }),
      ...(meta.owner ? { uid: st.uid, gid: st.gid } : {}),
      atimeNs: st.atimeNs, mtimeNs: st.mtimeNs,
    });
    if (xattrs !== undefined) await this.dfs.replaceXattrsOf(oid, xattrs);
    this.dirCache.delete(full);
    this.queuedDirs.delete(full);
  }

  async remove(rel: string): Promise<void> {
    this.dirCache.clear();
    const full = this.full(rel);
    for (const k of this.queuedDirs.keys()) if (k === full || k.startsWith(full === '/' ? '/' : `${full}/`)) this.queuedDirs.delete(k);
    await this.dfs.remove(full, { recursive: true });
  }

  async cleanTemps(rel: string): Promise<number> {
    const full = this.full(rel);
    const victims: string[] = [];
    for await (const e of this.dfs.readdir(full)) if (TEMP_RE.test(e.name)) victims.push(e.name);
    for (const n of victims) await this.dfs.remove(full === '/' ? `/${n}` : `${full}/${n}`, { recursive: true });
    return victims.length;
  }

  async close(): Promise<void> {
    this.dirsMade.clear();
    this.queuedDirs.clear();
    await this.group.flush(); // the engine itself is closed by the caller
  }
}
