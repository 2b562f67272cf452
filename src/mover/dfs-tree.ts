// The DFS backend of the mover's Tree, on a mounted POSIX container.
//
// Reads go by OID (known from the directory listing) instead of resolving a
// path from the root for every call. Writes compose one transaction per new
// file from the public DFS layout (src/dfs/layout.ts, docs/dfs.md): entry +
// inode (mode, owner, times, size) + xattrs + data of a small file commit
// together, so a file never appears half-written under its final name and a
// 4 KiB file costs one commit instead of six (create, write, chmod, chown,
// utimens, rename). Large files get a temporary entry, chunk transactions,
// then one transaction that sets size/mtime and renames it into place.
// This is a workaround: DFS should offer "create with attributes" itself (see docs/mover.md).
import { StrataError, isStrataError } from '../errors.js';
import { LATEST, type Extent } from '../engine/types.js';
import type { Tx } from '../object/object.js';
import { ObjectId } from '../object/oid.js';
import { u64Key } from '../object/keys.js';
import {
  A_ATTR, A_CTIME, A_LINK, A_MTIME, A_SIZE, DATA_AKEY, ENTRY_AKEY, INODE_DKEY, S_IFMT, XATTR_DKEY,
  encodeAttr, encodeEntry, typeBits, u64le, DfsFile, type Dfs, type DfsCore, type Stat,
} from '../dfs/index.js';
import { TEMP_RE, tempName } from './names.js';
import type { FileReader, FileWriter, Listed, MStat, MetaOptions, Tree } from './tree.js';

/** Files up to this size are written in a single transaction. */
const SMALL = 1 << 20;

export function dfsStatToM(s: Stat): MStat {
  return {
    type: s.type, perm: s.perm, uid: s.uid, gid: s.gid, size: s.size, atimeNs: s.atimeNs, mtimeNs: s.mtimeNs,
    nlink: s.nlink, ino: s.oid, chunkSize: s.chunkSize || undefined,
  };
}

function splitPath(full: string): { parent: string; name: string } {
  const i = full.lastIndexOf('/');
  return { parent: i <= 0 ? '/' : full.slice(0, i), name: full.slice(i + 1) };
}

export class DfsTree implements Tree {
  readonly kind = 'dfs' as const;
  readonly core: DfsCore;
  private readonly dirCache = new Map<string, ObjectId>();

  constructor(readonly dfs: Dfs, readonly rootPath: string, readonly uri: string) {
    this.core = dfs.core;
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

  async *list(rel: string): AsyncGenerator<Listed> {
    for await (const e of this.dfs.readdir(this.full(rel), { stat: true, pageSize: 512 })) {
      yield { name: e.name, st: dfsStatToM(e.stat!) };
    }
  }

  readlink(rel: string): Promise<string> {
    return this.dfs.readlink(this.full(rel));
  }

  async xattrs(_rel: string, st: MStat): Promise<Array<[string, Buffer]>> {
    const o = this.core.obj(ObjectId.parse(st.ino));
    const out: Array<[string, Buffer]> = [];
    for await (const a of o.akeys(XATTR_DKEY, { epoch: this.core.epoch })) {
      const v = await o.get(XATTR_DKEY, a.akey, this.core.epoch);
      if (v && v.length > 0) out.push([Buffer.from(a.akey).toString('utf8'), Buffer.from(v.subarray(1))]);
    }
    return out;
  }

  async openRead(rel: string, st: MStat): Promise<FileReader> {
    const oid = ObjectId.parse(st.ino);
    const core = this.core;
    const cs = st.chunkSize ?? core.chunkSize;
    const o = core.obj(oid);
    return {
      dataRanges: async (size: number): Promise<Extent[]> => {
        if (size <= cs) return size === 0 ? [] : [{ offset: 0, length: size }];
        return new DfsFile(core, oid, cs, false, this.full(rel)).extents();
      },
      read: async (offset: number, length: number) => {
        const out = Buffer.alloc(length);
        const jobs: Array<Promise<void>> = [];
        for (let pos = offset; pos < offset + length;) {
          const idx = Math.floor(pos / cs);
          const inChunk = pos - idx * cs;
          const n = Math.min(cs - inChunk, offset + length - pos);
          const at = pos - offset;
          jobs.push(o.read(u64Key(idx), DATA_AKEY, inChunk, n, core.epoch).then((b) => { out.set(b.subarray(0, n), at); }));
          pos += n;
        }
        await Promise.all(jobs);
        return out;
      },
      checkUnchanged: async (st0: MStat) => {
        if (core.epoch !== LATEST) return; // a snapshot never changes
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
    const c = this.dirCache.get(full);
    if (c) return c;
    const st = await this.dfs.stat(full);
    if (st.type !== 'dir') throw new StrataError('ENOTDIR', `${this.uri}${full}: not a directory`);
    const oid = ObjectId.parse(st.oid);
    if (this.dirCache.size > 65536) this.dirCache.clear();
    this.dirCache.set(full, oid);
    return oid;
  }

  private async locate(rel: string): Promise<{ parent: ObjectId; name: string; full: string; parentPath: string }> {
    const full = this.full(rel);
    if (full === '/') throw new StrataError('EBUSY', `${this.uri}: the container root cannot be replaced`);
    const s = splitPath(full);
    return { parent: await this.dirOid(s.parent), name: s.name, full, parentPath: s.parent };
  }

  private owner(st: MStat, meta: MetaOptions): { uid: number; gid: number } {
    return meta.owner ? { uid: st.uid, gid: st.gid } : { uid: this.core.uid, gid: this.core.gid };
  }

  /** Adds a new inode's records to tx. */
  private inodeOps(tx: Tx, oid: ObjectId, type: 'file' | 'dir' | 'symlink', st: MStat, meta: MetaOptions, o: { chunkSize?: number; size?: number; target?: string; mtimeNs?: bigint; xattrs?: Array<[string, Buffer]> }): void {
    const obj = this.core.obj(oid);
    const now = this.core.now();
    const { uid, gid } = this.owner(st, meta);
    const perm = type === 'symlink' ? 0o777 : st.perm;
    tx.put(obj, INODE_DKEY, A_ATTR, encodeAttr({ mode: typeBits(type) | perm, uid, gid, nlink: 1, chunkSize: o.chunkSize ?? 0, atimeNs: st.atimeNs }));
    tx.put(obj, INODE_DKEY, A_MTIME, u64le(o.mtimeNs ?? st.mtimeNs));
    tx.put(obj, INODE_DKEY, A_CTIME, u64le(now));
    if (type === 'file') tx.put(obj, INODE_DKEY, A_SIZE, u64le(o.size ?? 0));
    if (type === 'symlink') tx.put(obj, INODE_DKEY, A_LINK, Buffer.from(o.target ?? '', 'utf8'));
    for (const [n, v] of o.xattrs ?? []) tx.put(obj, XATTR_DKEY, n, Buffer.concat([Buffer.from([1]), v]));
  }

  private touchParent(tx: Tx, parent: ObjectId): void {
    const now = this.core.now();
    const p = this.core.obj(parent);
    tx.putMax(p, INODE_DKEY, A_MTIME, now);
    tx.putMax(p, INODE_DKEY, A_CTIME, now);
  }

  /**
   * Creates a new entry `name` in `parent` in one transaction (conditioned on
   * the name still being absent), with fill() adding the inode's records.
   * Returns false if the name exists.
   */
  private async createEntry(parent: ObjectId, name: string, type: 'file' | 'dir' | 'symlink', fill: (tx: Tx, oid: ObjectId) => void): Promise<ObjectId | undefined> {
    return this.core.retry(`create ${name}`, async () => {
      const { ent, ver } = await this.core.getEntryV(parent, name);
      if (ent) return undefined;
      const oid = await this.core.allocOid(type);
      const tx = this.core.tx(`create ${name}`);
      const dir = this.core.obj(parent);
      tx.expectVersion(dir, name, ENTRY_AKEY, ver);
      tx.put(dir, name, ENTRY_AKEY, encodeEntry({ type, oid }));
      fill(tx, oid);
      this.touchParent(tx, parent);
      await tx.commit();
      return oid;
    });
  }

  /** Renames parent/tmp to parent/name, replacing what is there. */
  private async place(parentPath: string, tmp: string, full: string): Promise<void> {
    const tmpFull = parentPath === '/' ? `/${tmp}` : `${parentPath}/${tmp}`;
    try {
      await this.dfs.rename(tmpFull, full);
    } catch (e) {
      if (!isStrataError(e, 'EISDIR') && !isStrataError(e, 'ENOTEMPTY') && !isStrataError(e, 'ENOTDIR')) throw e;
      await this.dfs.remove(full, { recursive: true });
      await this.dfs.rename(tmpFull, full);
    }
  }

  async ensureDir(rel: string): Promise<'created' | 'existed'> {
    const full = this.full(rel);
    if (full === '/') { await this.dirOid('/'); return 'existed'; }
    const { parent, name } = await this.locate(rel);
    const ent = await this.core.getEntry(parent, name);
    if (ent) {
      if (ent.type !== 'dir') throw new StrataError('EEXIST', `${this.display(rel)}: exists and is not a directory`);
      this.dirCache.set(full, ent.oid);
      return 'existed';
    }
    const st: MStat = { type: 'dir', perm: 0o700, uid: 0, gid: 0, size: 0, atimeNs: this.core.now(), mtimeNs: this.core.now(), nlink: 1, ino: '' };
    const oid = await this.createEntry(parent, name, 'dir', (tx, oid) => this.inodeOps(tx, oid, 'dir', st, { owner: false }, {}));
    if (!oid) return this.ensureDir(rel);
    this.dirCache.set(full, oid);
    return 'created';
  }

  async createFile(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<FileWriter> {
    const loc = await this.locate(rel);
    const core = this.core;
    const cs = st.chunkSize ?? core.chunkSize;
    let pending: Array<{ data: Buffer; offset: number }> = [];
    let pendingBytes = 0;
    let tmp: { name: string; oid: ObjectId } | undefined;
    const addWrites = (tx: Tx, oid: ObjectId, data: Buffer, offset: number) => {
      const o = core.obj(oid);
      for (let pos = 0; pos < data.length;) {
        const abs = offset + pos;
        const idx = Math.floor(abs / cs);
        const inChunk = abs - idx * cs;
        const n = Math.min(cs - inChunk, data.length - pos);
        tx.write(o, u64Key(idx), DATA_AKEY, inChunk, data.subarray(pos, pos + n));
        pos += n;
      }
    };
    // Creates the temporary entry holding what is pending.
    const startTemp = async (size: number) => {
      for (let i = 0; ; i++) {
        const name = tempName();
        const writes = pending;
        const oid = await this.createEntry(loc.parent, name, 'file', (tx, oid) => {
          this.inodeOps(tx, oid, 'file', st, meta, { chunkSize: cs, size, xattrs });
          for (const w of writes) addWrites(tx, oid, w.data, w.offset);
        });
        if (oid) { tmp = { name, oid }; break; }
        if (i > 5) throw new StrataError('EEXIST', `${this.display(rel)}: cannot create a temporary file`);
      }
      pending = [];
      pendingBytes = 0;
    };
    let starting: Promise<void> | undefined;
    return {
      chunkSize: cs,
      write: async (data: Buffer, offset: number) => {
        if (!tmp && !starting && pendingBytes + data.length <= SMALL) {
          pending.push({ data: Buffer.from(data), offset }); // a copy: the caller reuses its buffer
          pendingBytes += data.length;
          return;
        }
        if (!tmp) {
          starting ??= startTemp(0);
          await starting;
        }
        const tx = core.tx(`write ${this.display(rel)}`);
        addWrites(tx, tmp!.oid, data, offset);
        await tx.commit();
      },
      commit: async (size: number) => {
        if (starting) await starting;
        if (!tmp) {
          // Small file: one transaction under the final name.
          const writes = pending;
          const oid = await this.createEntry(loc.parent, loc.name, 'file', (tx, oid) => {
            this.inodeOps(tx, oid, 'file', st, meta, { chunkSize: cs, size, xattrs });
            for (const w of writes) addWrites(tx, oid, w.data, w.offset);
          });
          if (oid) return;
          await startTemp(size); // the name exists: write aside, then replace it
        }
        const t = tmp!;
        await core.retry(`commit ${this.display(rel)}`, async () => {
          const o = core.obj(t.oid);
          const tx = core.tx(`commit ${this.display(rel)}`);
          tx.put(o, INODE_DKEY, A_SIZE, u64le(size));
          tx.put(o, INODE_DKEY, A_MTIME, u64le(st.mtimeNs));
          // Rename into place in the same transaction when the final name is free.
          const dir = core.obj(loc.parent);
          const fin = await core.getEntryV(loc.parent, loc.name);
          const tv = await core.getEntryV(loc.parent, t.name);
          if (!fin.ent && tv.ent) {
            tx.expectVersion(dir, loc.name, ENTRY_AKEY, fin.ver);
            tx.expectVersion(dir, t.name, ENTRY_AKEY, tv.ver);
            tx.punchDkey(dir, t.name);
            tx.put(dir, loc.name, ENTRY_AKEY, encodeEntry({ type: 'file', oid: t.oid }));
            this.touchParent(tx, loc.parent);
            await tx.commit();
            tmp = undefined;
            return;
          }
          await tx.commit();
        });
        if (tmp) {
          await this.place(loc.parentPath, t.name, loc.full);
          tmp = undefined;
        }
      },
      abort: async () => {
        if (starting) await starting.catch(() => undefined);
        if (tmp) await this.dfs.unlink(loc.parentPath === '/' ? `/${tmp.name}` : `${loc.parentPath}/${tmp.name}`).catch(() => undefined);
        tmp = undefined;
      },
    };
  }

  async symlink(rel: string, target: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> {
    const loc = await this.locate(rel);
    const fill = (tx: Tx, oid: ObjectId) => this.inodeOps(tx, oid, 'symlink', st, meta, { target, xattrs });
    if (await this.createEntry(loc.parent, loc.name, 'symlink', fill)) return;
    const name = tempName();
    if (!(await this.createEntry(loc.parent, name, 'symlink', fill))) throw new StrataError('EEXIST', `${this.display(rel)}: cannot create a temporary name`);
    await this.place(loc.parentPath, name, loc.full);
  }

  async link(existingRel: string, rel: string): Promise<void> {
    const loc = await this.locate(rel);
    const existing = this.full(existingRel);
    if (!(await this.core.getEntry(loc.parent, loc.name))) return this.dfs.link(existing, loc.full);
    const name = tempName();
    const tmpFull = loc.parentPath === '/' ? `/${name}` : `${loc.parentPath}/${name}`;
    await this.dfs.link(existing, tmpFull);
    await this.place(loc.parentPath, name, loc.full);
  }

  async setMeta(rel: string, st: MStat, xattrs: Array<[string, Buffer]> | undefined, meta: MetaOptions): Promise<void> {
    const full = this.full(rel);
    let oid = this.dirCache.get(full);
    if (!oid) oid = ObjectId.parse((await this.dfs.lstat(full)).oid);
    const core = this.core;
    const o = core.obj(oid);
    await core.retry(`set attributes of ${this.display(rel)}`, async () => {
      const { attr, ver } = await core.attrV(oid!);
      const tx = core.tx(`set attributes of ${this.display(rel)}`);
      const { uid, gid } = meta.owner ? st : attr;
      const perm = (attr.mode & S_IFMT) === typeBits('symlink') ? attr.mode & 0o7777 : st.perm;
      tx.expectVersion(o, INODE_DKEY, A_ATTR, ver);
      tx.put(o, INODE_DKEY, A_ATTR, encodeAttr({ ...attr, mode: (attr.mode & S_IFMT) | perm, uid, gid, atimeNs: st.atimeNs }));
      tx.put(o, INODE_DKEY, A_MTIME, u64le(st.mtimeNs));
      tx.putMax(o, INODE_DKEY, A_CTIME, core.now());
      if (xattrs !== undefined) {
        const want = new Set(xattrs.map(([n]) => n));
        for await (const a of o.akeys(XATTR_DKEY, { epoch: core.epoch })) {
          const n = Buffer.from(a.akey).toString('utf8');
          if (!want.has(n)) tx.punchAkey(o, XATTR_DKEY, a.akey);
        }
        for (const [n, v] of xattrs) tx.put(o, XATTR_DKEY, n, Buffer.concat([Buffer.from([1]), v]));
      }
      await tx.commit();
    });
    this.dirCache.delete(full);
  }

  async remove(rel: string): Promise<void> {
    this.dirCache.clear();
    await this.dfs.remove(this.full(rel), { recursive: true });
  }

  async cleanTemps(rel: string): Promise<number> {
    const full = this.full(rel);
    const victims: string[] = [];
    for await (const e of this.dfs.readdir(full)) if (TEMP_RE.test(e.name)) victims.push(e.name);
    for (const n of victims) await this.dfs.remove(full === '/' ? `/${n}` : `${full}/${n}`, { recursive: true });
    return victims.length;
  }

  async close(): Promise<void> { /* the engine is closed by the caller */ }
}
