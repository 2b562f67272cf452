// The HDF5 data model inside an HDF5 container: groups (hard, soft and
// external links), datasets (type, dataspace with current and maximum dims,
// chunked storage, fill value, recorded filters), attributes on both.
// Layout: layout.ts and docs/hdf5.md. This file holds the store itself
// (superblock, commits, OID allocation, path resolution); groups and links
// are in group.ts, datasets in dataset.ts (their specs in dataset-spec.ts),
// attributes in attributes.ts.
//
// Reads can be made at a snapshot epoch (then every write fails with EROFS).
// Each mutating call commits on its own, unless the store is opened in batch
// mode (import), where writes are grouped into commits of a few MiB and
// flush() must be called at the end.
import type { Container } from '../container/index.js';
import { parseObjectClass } from '../object/oid.js';
import { ObjectId, OTYPE, type DaosObject, type Tx, keyString } from '../object/index.js';
import { StrataError, isStrataError } from '../errors.js';
import type { H5RichType, H5Space } from './h5lib/index.js';
import { SB_OID, ROOT_OID, SB_DKEY, SB_MAGIC, LAYOUT_VERSION, A_USERBLOCK, META, A_KIND, A_TYPE, A_SPACE, A_DCPL, encodeJson, decodeJson, type LinkValue, type Dcpl } from './layout.js';
import { H5Group, joinPath } from './group.js';
import { H5Dataset } from './dataset.js';
import { H5NamedType } from './named-type.js';

/** What a hard link leads to. */
export type H5Object = H5Group | H5Dataset | H5NamedType;

export { H5Group, type Member } from './group.js';
export { H5Dataset } from './dataset.js';
export { H5NamedType } from './named-type.js';
export type { DatasetSpec } from './dataset-spec.js';

const TX_BYTES = 8 * 1024 * 1024;
const TX_OPS = 4000;
const MAX_LINK_DEPTH = 40;

export interface H5StoreOptions {
  /** Read this snapshot epoch (read-only). */
  epoch?: number;
  /** Group writes into large commits (call flush() at the end). */
  batch?: boolean;
}

export class H5Store {
  private tx: Tx | undefined;
  private txBytes = 0;
  private formatted: boolean | undefined;
  private oids: { next: bigint; end: bigint } = { next: 0n, end: 0n };
  private readonly oclassId: number;

  private constructor(readonly container: Container, readonly epoch: number | undefined, readonly batch: boolean) {
    this.oclassId = parseObjectClass(container.oclass);
  }

  /** Opens the HDF5 model of an HDF5 container (an empty container reads as an empty root group). */
  static async open(container: Container, opts: H5StoreOptions = {}): Promise<H5Store> {
    if (container.type !== 'HDF5') {
      throw new StrataError('EINVAL', `container ${container.label} is a ${container.type} container, not HDF5`);
    }
    const s = new H5Store(container, opts.epoch, !!opts.batch);
    const sb = container.object(SB_OID);
    const magic = await sb.get(SB_DKEY, 'magic', opts.epoch);
    if (magic) {
      if (keyString(magic) !== SB_MAGIC) throw new StrataError('EIO', `container ${container.label}: bad HDF5 superblock magic`);
      const v = decodeJson<number>(await sb.get(SB_DKEY, 'version', opts.epoch), 'superblock version');
      if (v !== LAYOUT_VERSION) throw new StrataError('ENOTSUP', `container ${container.label}: HDF5 layout version ${v} is not supported (this strata reads ${LAYOUT_VERSION})`);
      s.formatted = true;
    } else {
      s.formatted = false;
    }
    return s;
  }

  get readOnly(): boolean { return this.epoch !== undefined; }
  get label(): string { return this.container.label; }

  /** Throws EROFS on a snapshot view; returns the open transaction. */
  writeTx(what: string): Tx {
    if (this.epoch !== undefined) throw new StrataError('EROFS', `${what}: container ${this.container.label} is open at snapshot epoch ${this.epoch}, which is read-only`);
    if (!this.formatted) {
      this.tx ??= this.container.tx();
      this.tx.put(this.container.object(SB_OID), SB_DKEY, 'magic', SB_MAGIC);
      this.tx.put(this.container.object(SB_OID), SB_DKEY, 'version', encodeJson(LAYOUT_VERSION));
      this.tx.put(this.container.object(SB_OID), SB_DKEY, 'root', ROOT_OID.toString());
      this.tx.put(this.container.object(ROOT_OID), META, A_KIND, 'group');
      this.formatted = true;
    }
    this.tx ??= this.container.tx();
    return this.tx;
  }

  /** Commits the pending writes if not batching (or the batch is large enough). */
  async done(bytes = 0, conflict?: () => StrataError): Promise<void> {
    this.txBytes += bytes + 64;
    if (!this.batch || this.txBytes >= TX_BYTES || (this.tx?.ops.length ?? 0) >= TX_OPS) await this.flush(conflict);
  }

  async flush(conflict?: () => StrataError): Promise<void> {
    const tx = this.tx;
    this.tx = undefined;
    this.txBytes = 0;
    if (!tx || tx.empty) return;
    try {
      await tx.commit();
    } catch (e) {
      if (conflict && isStrataError(e, 'ECONFLICT')) throw conflict();
      throw e;
    }
  }

  async newOid(): Promise<ObjectId> {
    if (this.oids.next >= this.oids.end) {
      const n = this.batch ? 1024 : 16;
      const first = await this.container.engine.allocate(this.container.uuid, n);
      this.oids = { next: first, end: first + BigInt(n) };
    }
    const seq = this.oids.next++;
    return ObjectId.make(seq, OTYPE.MULTI_LEXICAL, this.oclassId);
  }

  obj(oid: ObjectId): DaosObject { return this.container.object(oid); }

  root(): H5Group { return new H5Group(this, ROOT_OID, '/'); }

  /** The file's user block (bytes before the HDF5 data that applications own), kept for the export. */
  async setUserBlock(b: Buffer): Promise<void> {
    this.writeTx('set the user block').put(this.obj(SB_OID), SB_DKEY, A_USERBLOCK, b);
    await this.done(b.length);
  }

  async userBlock(): Promise<Buffer | undefined> {
    const v = await this.obj(SB_OID).get(SB_DKEY, A_USERBLOCK, this.epoch);
    return v && v.length ? Buffer.from(v) : undefined;
  }

  /** A named datatype not linked anywhere yet (import: datasets using it may come before its link). */
  async createNamedType(type: H5RichType, path: string): Promise<H5NamedType> {
    const oid = await this.newOid();
    const tx = this.writeTx('create named datatype');
    tx.put(this.obj(oid), META, A_KIND, 'datatype');
    tx.put(this.obj(oid), META, A_TYPE, encodeJson(type));
    await this.done(256);
    return new H5NamedType(this, oid, path, type);
  }

  /** Opens what a path names (following soft links); '/' is the root group. */
  async open(path: string): Promise<H5Object> {
    const r = await this.resolve(path, 0);
    if (!r) throw new StrataError('ENOENT', `${this.label}:${path}: no such group or dataset`);
    return r;
  }

  async openGroup(path: string): Promise<H5Group> {
    const o = await this.open(path);
    if (!(o instanceof H5Group)) throw new StrataError('ENOTDIR', `${this.label}:${path}: is a ${o.kind === 'datatype' ? 'named datatype' : o.kind}, not a group`);
    return o;
  }

  async openDataset(path: string): Promise<H5Dataset> {
    const o = await this.open(path);
    if (!(o instanceof H5Dataset)) throw new StrataError(o.kind === 'group' ? 'EISDIR' : 'EINVAL', `${this.label}:${path}: is a ${o.kind === 'datatype' ? 'named datatype' : o.kind}, not a dataset`);
    return o;
  }

  private async resolve(path: string, depth: number): Promise<H5Object | undefined> {
    if (!path.startsWith('/')) path = '/' + path;
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    let cur: H5Object = this.root();
    let curPath = '/';
    for (let i = 0; i < parts.length; i++) {
      if (!(cur instanceof H5Group)) throw new StrataError('ENOTDIR', `${this.label}:${curPath}: is a ${cur.kind === 'datatype' ? 'named datatype' : cur.kind}, not a group`);
      const name = parts[i]!;
      const l: LinkValue | undefined = await cur.link(name);
      const here = joinPath(curPath, name);
      if (!l) return undefined;
      if (l.t === 'hard') {
        cur = await this.openObject(ObjectId.parse(l.oid), here);
      } else if (l.t === 'soft') {
        if (depth >= MAX_LINK_DEPTH) throw new StrataError('ELOOP', `${this.label}:${here}: too many levels of soft links`);
        const target = l.target.startsWith('/') ? l.target : joinPath(curPath, l.target);
        const r = await this.resolve(target, depth + 1);
        if (!r) return undefined;
        cur = r;
      } else {
        throw new StrataError('ENOTSUP', `${this.label}:${here}: is an external link to ${l.file}:${l.target}`);
      }
      curPath = here;
    }
    return cur;
  }

  /** Opens an object by OID (kind from its metadata). */
  async openObject(oid: ObjectId, path: string): Promise<H5Object> {
    const o = this.obj(oid);
    const kind = await o.get(META, A_KIND, this.epoch);
    if (!kind) {
      if (oid.equals(ROOT_OID)) return new H5Group(this, oid, path);
      throw new StrataError('EIO', `corrupt HDF5 container ${this.label}: ${path} (object ${oid}) has no metadata`);
    }
    if (keyString(kind) === 'group') return new H5Group(this, oid, path);
    if (keyString(kind) === 'datatype') return new H5NamedType(this, oid, path, decodeJson<H5RichType>(await o.get(META, A_TYPE, this.epoch), `${path} type`));
    const [t, s, d] = await Promise.all([o.get(META, A_TYPE, this.epoch), o.get(META, A_SPACE, this.epoch), o.get(META, A_DCPL, this.epoch)]);
    return new H5Dataset(this, oid, path, {
      type: decodeJson<H5RichType>(t, `${path} type`), space: decodeJson<H5Space>(s, `${path} dataspace`), dcpl: decodeJson<Dcpl>(d, `${path} layout`),
    });
  }
}
