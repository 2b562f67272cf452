// The HDF5 data model inside an HDF5 container: groups (hard, soft and
// external links), datasets (type, dataspace with current and maximum dims,
// chunked storage, fill value, recorded filters), attributes on both.
// Layout: layout.ts and docs/hdf5.md.
//
// Reads can be made at a snapshot epoch (then every write fails with EROFS).
// Each mutating call commits on its own, unless the store is opened in batch
// mode (import), where writes are grouped into commits of a few MiB and
// flush() must be called at the end.
import type { Container } from '../container/index.js';
import { parseObjectClass } from '../object/oid.js';
import { ObjectId, OTYPE, type DaosObject, type Tx, keyString } from '../object/index.js';
import { StrataError, isStrataError } from '../errors.js';
import type { H5Filter, H5RichType, H5Space } from './h5lib/index.js';
import {
  SB_OID, ROOT_OID, SB_DKEY, SB_MAGIC, LAYOUT_VERSION, META, LINK, ATTR, HEAP, A_KIND, A_TYPE, A_SPACE, A_DCPL, A_DATA, A_END,
  chunkKey, isChunkKey, chunkCoords, encodeJson, decodeJson, encodeAttr, decodeAttr, spaceElements,
  type LinkValue, type Dcpl, type DatasetRecord, type AttrRecord, type FillRecord,
} from './layout.js';
import { checkSlab, chunksOf, copyBlock, intersect } from './slab.js';
import { encodeAll, decodeAll, isVarString, storedSize, typeName, unsupportedReason, type H5Value } from './types.js';

const TX_BYTES = 8 * 1024 * 1024;
const TX_OPS = 4000;
const STORE_CHUNK_BYTES = 1024 * 1024;
const MAX_LINK_DEPTH = 40;

export interface H5StoreOptions {
  /** Read this snapshot epoch (read-only). */
  epoch?: number;
  /** Group writes into large commits (call flush() at the end). */
  batch?: boolean;
}

export interface DatasetSpec {
  type: H5RichType;
  /** Current dims; 'scalar' for one element, 'null' for none. */
  dims: number[] | 'scalar' | 'null';
  /** Maximum dims (-1 = unlimited); default = dims. */
  maxdims?: number[];
  /** Chunk dims: makes the dataset chunked (required for unlimited or extendible dims). */
  chunk?: number[];
  /** Default: chunked if chunk is given, else contiguous. */
  layout?: 'contiguous' | 'chunked' | 'compact';
  /** Filters recorded for export (data is stored unfiltered). */
  filters?: H5Filter[];
  fill?: { status?: FillRecord['status']; value?: Uint8Array; allocTime?: FillRecord['allocTime']; fillTime?: FillRecord['fillTime'] };
}

export type Member =
  | { name: string; kind: 'group' | 'dataset'; oid: string }
  | { name: string; kind: 'soft'; target: string }
  | { name: string; kind: 'external'; file: string; target: string };

function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function checkName(name: string): string {
  if (!name || name.includes('/') || name === '.' || name.length > 65535) throw new StrataError('EINVAL', `bad link name '${name}' (non-empty, no '/')`);
  return name;
}

function allZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
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

  /** Opens what a path names (following soft links); '/' is the root group. */
  async open(path: string): Promise<H5Group | H5Dataset> {
    const r = await this.resolve(path, 0);
    if (!r) throw new StrataError('ENOENT', `${this.label}:${path}: no such group or dataset`);
    return r;
  }

  async openGroup(path: string): Promise<H5Group> {
    const o = await this.open(path);
    if (!(o instanceof H5Group)) throw new StrataError('ENOTDIR', `${this.label}:${path}: is a dataset, not a group`);
    return o;
  }

  async openDataset(path: string): Promise<H5Dataset> {
    const o = await this.open(path);
    if (!(o instanceof H5Dataset)) throw new StrataError('EISDIR', `${this.label}:${path}: is a group, not a dataset`);
    return o;
  }

  private async resolve(path: string, depth: number): Promise<H5Group | H5Dataset | undefined> {
    if (!path.startsWith('/')) path = '/' + path;
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    let cur: H5Group | H5Dataset = this.root();
    let curPath = '/';
    for (let i = 0; i < parts.length; i++) {
      if (!(cur instanceof H5Group)) throw new StrataError('ENOTDIR', `${this.label}:${curPath}: is a dataset, not a group`);
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
  async openObject(oid: ObjectId, path: string): Promise<H5Group | H5Dataset> {
    const o = this.obj(oid);
    const kind = await o.get(META, A_KIND, this.epoch);
    if (!kind) {
      if (oid.equals(ROOT_OID)) return new H5Group(this, oid, path);
      throw new StrataError('EIO', `corrupt HDF5 container ${this.label}: ${path} (object ${oid}) has no metadata`);
    }
    if (keyString(kind) === 'group') return new H5Group(this, oid, path);
    const [t, s, d] = await Promise.all([o.get(META, A_TYPE, this.epoch), o.get(META, A_SPACE, this.epoch), o.get(META, A_DCPL, this.epoch)]);
    return new H5Dataset(this, oid, path, {
      type: decodeJson<H5RichType>(t, `${path} type`), space: decodeJson<H5Space>(s, `${path} dataspace`), dcpl: decodeJson<Dcpl>(d, `${path} layout`),
    });
  }
}

/** What groups and datasets share: an object with attributes. */
abstract class H5Node {
  constructor(readonly store: H5Store, readonly oid: ObjectId, readonly path: string) {}
  protected get o(): DaosObject { return this.store.obj(this.oid); }
  protected where(): string { return `${this.store.label}:${this.path}`; }

  async attrNames(): Promise<string[]> {
    const out: string[] = [];
    for await (const a of this.o.akeys(ATTR, { epoch: this.store.epoch })) out.push(keyString(a.akey));
    return out;
  }

  async getAttr(name: string): Promise<AttrRecord> {
    const v = await this.o.get(ATTR, name, this.store.epoch);
    if (!v) throw new StrataError('ENOENT', `${this.where()}: no attribute '${name}'`);
    return decodeAttr(v, `'${name}' of ${this.where()}`);
  }

  async hasAttr(name: string): Promise<boolean> {
    return (await this.o.get(ATTR, name, this.store.epoch)) !== undefined;
  }

  /** Sets (replaces) an attribute: raw elements in its type, or strings for a variable-string type. */
  async setAttr(name: string, a: AttrRecord): Promise<void> {
    if (!name || name.length > 65535) throw new StrataError('EINVAL', `bad attribute name '${name}'`);
    const r = unsupportedReason(a.type);
    if (r) throw new StrataError('ENOTSUP', `${this.where()}: attribute '${name}': unsupported datatype (${r})`);
    const n = spaceElements(a.space);
    if (isVarString(a.type)) {
      if (!a.strings || a.strings.length !== n) throw new StrataError('EINVAL', `${this.where()}: attribute '${name}' needs ${n} strings`);
    } else if (!a.raw || a.raw.length !== n * a.type.size) {
      throw new StrataError('EINVAL', `${this.where()}: attribute '${name}' needs ${n * a.type.size} bytes of data (${n} × ${typeName(a.type)}), got ${a.raw?.length ?? 0}`);
    }
    const v = encodeAttr(a);
    this.store.writeTx(`set attribute '${name}' on ${this.where()}`).put(this.o, ATTR, name, v);
    await this.store.done(v.length);
  }

  /** Sets an attribute from JS values (dims default [values.length]; 'scalar' for one value). */
  async setAttrValues(name: string, type: H5RichType, values: H5Value[], dims: number[] | 'scalar' = [values.length]): Promise<void> {
    const space: H5Space = dims === 'scalar' ? { kind: 'scalar', dims: [] } : { kind: 'simple', dims, maxdims: dims };
    if (isVarString(type)) return this.setAttr(name, { type, space, strings: values.map(String) });
    return this.setAttr(name, { type, space, raw: encodeAll(type, values) });
  }

  /** An attribute's values as JS values. */
  async getAttrValues(name: string): Promise<H5Value[]> {
    const a = await this.getAttr(name);
    return a.strings ?? decodeAll(a.type, a.raw ?? Buffer.alloc(0));
  }

  async deleteAttr(name: string): Promise<void> {
    if (!(await this.hasAttr(name))) throw new StrataError('ENOENT', `${this.where()}: no attribute '${name}'`);
    this.store.writeTx(`delete attribute '${name}' on ${this.where()}`).punchAkey(this.o, ATTR, name);
    await this.store.done();
  }
}

export class H5Group extends H5Node {
  readonly kind = 'group' as const;

  async link(name: string): Promise<LinkValue | undefined> {
    const v = await this.o.get(LINK, name, this.store.epoch);
    return v ? decodeJson<LinkValue>(v, `link '${name}' of ${this.where()}`) : undefined;
  }

  /** The group's links in name order, streamed. */
  async *links(): AsyncGenerator<[string, LinkValue]> {
    for await (const a of this.o.akeys(LINK, { epoch: this.store.epoch })) {
      const name = keyString(a.akey);
      const l = await this.link(name);
      if (l) yield [name, l];
    }
  }

  /** Members (links) with what they lead to. */
  async members(): Promise<Member[]> {
    const out: Member[] = [];
    for await (const [name, l] of this.links()) {
      if (l.t === 'hard') out.push({ name, kind: l.kind, oid: l.oid });
      else if (l.t === 'soft') out.push({ name, kind: 'soft', target: l.target });
      else out.push({ name, kind: 'external', file: l.file, target: l.target });
    }
    return out;
  }

  private async addLink(name: string, v: LinkValue, what: string): Promise<void> {
    checkName(name);
    const tx = this.store.writeTx(`${what} ${joinPath(this.path, name)}`);
    if (!this.store.batch) {
      if (await this.link(name)) throw new StrataError('EEXIST', `${this.store.label}:${joinPath(this.path, name)}: already exists`);
      tx.expectVersion(this.o, LINK, name, await this.o.version(LINK, name));
    }
    tx.put(this.o, LINK, name, encodeJson(v));
  }

  private conflict(name: string): () => StrataError {
    return () => new StrataError('EEXIST', `${this.store.label}:${joinPath(this.path, name)}: created concurrently by another writer`);
  }

  async createGroup(name: string): Promise<H5Group> {
    const oid = await this.store.newOid();
    await this.addLink(name, { t: 'hard', oid: oid.toString(), kind: 'group' }, 'create group');
    this.store.writeTx('create group').put(this.store.obj(oid), META, A_KIND, 'group');
    await this.store.done(0, this.conflict(name));
    return new H5Group(this.store, oid, joinPath(this.path, name));
  }

  async createDataset(name: string, spec: DatasetSpec): Promise<H5Dataset> {
    const rec = datasetRecord(spec, `${this.store.label}:${joinPath(this.path, name)}`);
    const oid = await this.store.newOid();
    await this.addLink(name, { t: 'hard', oid: oid.toString(), kind: 'dataset' }, 'create dataset');
    const o = this.store.obj(oid);
    const tx = this.store.writeTx('create dataset');
    tx.put(o, META, A_KIND, 'dataset');
    tx.put(o, META, A_TYPE, encodeJson(rec.type));
    tx.put(o, META, A_SPACE, encodeJson(rec.space));
    tx.put(o, META, A_DCPL, encodeJson(rec.dcpl));
    await this.store.done(256, this.conflict(name));
    return new H5Dataset(this.store, oid, joinPath(this.path, name), rec);
  }

  async createSoftLink(name: string, target: string): Promise<void> {
    if (!target) throw new StrataError('EINVAL', 'a soft link needs a target path');
    await this.addLink(name, { t: 'soft', target }, 'create soft link');
    await this.store.done(0, this.conflict(name));
  }

  async createExternalLink(name: string, file: string, target: string): Promise<void> {
    await this.addLink(name, { t: 'external', file, target }, 'create external link');
    await this.store.done(0, this.conflict(name));
  }

  /** Another name for an existing group or dataset (an HDF5 hard link). */
  async createHardLink(name: string, to: H5Group | H5Dataset): Promise<void> {
    await this.addLink(name, { t: 'hard', oid: to.oid.toString(), kind: to.kind }, 'create hard link');
    await this.store.done(0, this.conflict(name));
  }

  /** Removes a link (the object stays if other hard links reach it). */
  async unlink(name: string): Promise<void> {
    if (!(await this.link(name))) throw new StrataError('ENOENT', `${this.store.label}:${joinPath(this.path, name)}: no such link`);
    this.store.writeTx('unlink').punchAkey(this.o, LINK, name);
    await this.store.done();
  }

  openGroup(rel: string): Promise<H5Group> { return this.store.openGroup(rel.startsWith('/') ? rel : joinPath(this.path, rel)); }
  openDataset(rel: string): Promise<H5Dataset> { return this.store.openDataset(rel.startsWith('/') ? rel : joinPath(this.path, rel)); }
}

/** Validates a dataset spec and derives what is stored. */
function datasetRecord(spec: DatasetSpec, where: string): DatasetRecord {
  const type = spec.type;
  const r = unsupportedReason(type);
  if (r) throw new StrataError('ENOTSUP', `${where}: unsupported datatype (${r})`);
  if (type.class === 'compound') {
    for (const m of type.members) if (m.offset + m.type.size > type.size) throw new StrataError('EINVAL', `${where}: compound member '${m.name}' lies outside the ${type.size}-byte type`);
  }
  let space: H5Space;
  if (spec.dims === 'scalar' || spec.dims === 'null') {
    if (spec.chunk) throw new StrataError('EINVAL', `${where}: a ${spec.dims} dataspace cannot be chunked`);
    space = { kind: spec.dims, dims: [], maxdims: [] };
  } else {
    const dims = spec.dims;
    if (dims.length < 1 || dims.length > 32 || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new StrataError('EINVAL', `${where}: bad dims [${dims.join(', ')}]`);
    const maxdims = spec.maxdims ?? dims.slice();
    if (maxdims.length !== dims.length || maxdims.some((m, i) => m !== -1 && (!Number.isSafeInteger(m) || m < dims[i]!))) {
      throw new StrataError('EINVAL', `${where}: bad maxdims [${maxdims.join(', ')}] for dims [${dims.join(', ')}] (each ≥ its dim, or -1 for unlimited)`);
    }
    space = { kind: 'simple', dims: dims.slice(), maxdims };
  }
  const layout = spec.layout ?? (spec.chunk ? 'chunked' : 'contiguous');
  const es = storedSize(type);
  let storeChunk: number[];
  if (layout === 'chunked') {
    const ch = spec.chunk;
    if (!ch || ch.length !== space.dims.length || ch.some((c) => !Number.isSafeInteger(c) || c < 1)) throw new StrataError('EINVAL', `${where}: a chunked dataset needs chunk dims (≥ 1) of rank ${space.dims.length}`);
    if (ch.reduce((a, c) => a * c, es) > 1024 * 1024 * 1024) throw new StrataError('EINVAL', `${where}: chunks larger than 1 GiB are not supported`);
    storeChunk = ch.slice();
  } else {
    if (spec.chunk) throw new StrataError('EINVAL', `${where}: chunk dims given for a ${layout} dataset`);
    if ((space.maxdims ?? []).some((m, i) => m !== space.dims[i])) throw new StrataError('EINVAL', `${where}: an extendible dataset must be chunked`);
    if (space.dims.length === 0) storeChunk = [];
    else {
      const row = space.dims.slice(1).reduce((a, d) => a * d, 1) * es;
      const k = Math.max(1, Math.min(space.dims[0]! || 1, Math.floor(STORE_CHUNK_BYTES / Math.max(1, row))));
      storeChunk = [k, ...space.dims.slice(1).map((d) => Math.max(1, d))];
    }
  }
  const f = spec.fill ?? {};
  const fill: FillRecord = {
    status: f.status ?? (f.value ? 'user' : 'default'),
    allocTime: f.allocTime ?? 'default',
    fillTime: f.fillTime ?? 'ifset',
  };
  if (f.value) {
    if (isVarString(type)) throw new StrataError('ENOTSUP', `${where}: fill values of variable-length strings are not supported`);
    if (f.value.length !== type.size) throw new StrataError('EINVAL', `${where}: the fill value has ${f.value.length} bytes, the type ${type.size}`);
    fill.value = Buffer.from(f.value).toString('base64');
  }
  return { type, space, dcpl: { layout, ...(layout === 'chunked' ? { chunk: storeChunk.slice() } : {}), storeChunk, filters: spec.filters ?? [], fill } };
}

export class H5Dataset extends H5Node {
  readonly kind = 'dataset' as const;
  private fillElem: Buffer;

  constructor(store: H5Store, oid: ObjectId, path: string, public record: DatasetRecord) {
    super(store, oid, path);
    const es = storedSize(record.type);
    this.fillElem = record.dcpl.fill.value && !isVarString(record.type) ? Buffer.from(record.dcpl.fill.value, 'base64') : Buffer.alloc(es);
  }

  get type(): H5RichType { return this.record.type; }
  get space(): H5Space { return this.record.space; }
  get dims(): number[] { return this.record.space.dims; }
  get maxdims(): number[] { return this.record.space.maxdims ?? this.record.space.dims; }
  get rank(): number { return this.record.space.dims.length; }
  get elements(): number { return spaceElements(this.record.space); }
  /** Bytes per element as stored (variable strings: 16-byte references). */
  get elementSize(): number { return storedSize(this.record.type); }
  get storeChunk(): number[] { return this.record.dcpl.storeChunk; }
  private get chunkBytes(): number { return this.storeChunk.reduce((a, c) => a * c, this.elementSize); }

  private fillChunk(): Buffer {
    const b = Buffer.alloc(this.chunkBytes);
    if (!allZero(this.fillElem)) for (let o = 0; o < b.length; o += this.fillElem.length) this.fillElem.copy(b, o);
    return b;
  }

  /** Reads a stored chunk, or the fill pattern when it was never written. */
  private async readChunk(coords: number[]): Promise<Buffer> {
    const key = chunkKey(coords);
    const data = Buffer.from(await this.o.read(key, A_DATA, 0, this.chunkBytes, this.store.epoch));
    if (!allZero(this.fillElem) && allZero(data) && (await this.o.extents(key, A_DATA, this.store.epoch)).length === 0) return this.fillChunk();
    return data;
  }

  private checkSel(start: number[], count: number[], what: string): number {
    if (this.space.kind === 'null') throw new StrataError('EINVAL', `${this.where()}: ${what}: the dataset has a null dataspace (no elements)`);
    if (this.space.kind === 'scalar') {
      if (start.length || count.length) throw new StrataError('EINVAL', `${this.where()}: ${what}: a scalar dataset takes an empty selection`);
      return 1;
    }
    return checkSlab(this.dims, start, count, `${this.where()}: ${what}`);
  }

  /** Reads a hyperslab: raw elements in the dataset's type (row-major). */
  async readSlab(start: number[], count: number[]): Promise<Buffer> {
    if (isVarString(this.type)) throw new StrataError('EINVAL', `${this.where()}: variable-length strings: use readStrings`);
    return this.readStored(start, count);
  }

  private async readStored(start: number[], count: number[]): Promise<Buffer> {
    const n = this.checkSel(start, count, 'read');
    const es = this.elementSize;
    const out = Buffer.alloc(n * es);
    if (n === 0) return out;
    const ch = this.storeChunk;
    for (const c of chunksOf(start, count, ch)) {
      const part = intersect(c, ch, start, count)!;
      const data = await this.readChunk(c);
      copyBlock(data, ch, part.start.map((s, i) => s - c[i]! * ch[i]!), out, count, part.start.map((s, i) => s - start[i]!), part.count, es);
    }
    return out;
  }

  /** Writes a hyperslab of raw elements in the dataset's type. `fresh`: chunks are known to be unwritten (import). */
  async writeSlab(start: number[], count: number[], data: Uint8Array, opts: { fresh?: boolean } = {}): Promise<void> {
    if (isVarString(this.type)) throw new StrataError('EINVAL', `${this.where()}: variable-length strings: use writeStrings`);
    return this.writeStored(start, count, data, opts);
  }

  private async writeStored(start: number[], count: number[], data: Uint8Array, opts: { fresh?: boolean; skipFill?: boolean } = {}): Promise<void> {
    const n = this.checkSel(start, count, 'write');
    const es = this.elementSize;
    if (data.length !== n * es) throw new StrataError('EINVAL', `${this.where()}: write: ${data.length} bytes given, the selection needs ${n * es} (${n} × ${es})`);
    this.store.writeTx(`write ${this.where()}`);
    if (n === 0) return;
    const ch = this.storeChunk;
    const dims = this.space.kind === 'scalar' ? [] : this.dims;
    for (const c of chunksOf(start, count, ch)) {
      const part = intersect(c, ch, start, count)!;
      // Covered: every element of the chunk inside the extent is written.
      const covered = c.every((ci, i) => {
        const c0 = ci * ch[i]!;
        return part.start[i] === c0 && part.start[i]! + part.count[i]! >= Math.min(c0 + ch[i]!, dims[i]!);
      });
      const buf = covered || opts.fresh ? this.fillChunk() : await this.readChunk(c);
      copyBlock(data, count, part.start.map((s, i) => s - start[i]!), buf, ch, part.start.map((s, i) => s - c[i]! * ch[i]!), part.count, es);
      // A fresh chunk holding nothing but the fill value stays unwritten (sparse).
      if (opts.fresh && opts.skipFill !== false && buf.equals(this.fillChunk())) continue;
      this.store.writeTx(`write ${this.where()}`).write(this.o, chunkKey(c), A_DATA, 0, buf);
      await this.store.done(buf.length);
    }
    await this.store.done();
  }

  /** Reads a hyperslab as JS values. */
  async readValues(start: number[], count: number[]): Promise<H5Value[]> {
    if (isVarString(this.type)) return this.readStrings(start, count);
    return decodeAll(this.type, await this.readSlab(start, count));
  }

  /** Writes JS values (numbers, bigints, strings, objects for compounds, enum names...). */
  async writeValues(start: number[], count: number[], values: H5Value[]): Promise<void> {
    if (isVarString(this.type)) return this.writeStrings(start, count, values.map(String));
    return this.writeSlab(start, count, encodeAll(this.type, values));
  }

  /** Variable-length strings: reads a hyperslab. */
  async readStrings(start: number[], count: number[]): Promise<string[]> {
    if (!isVarString(this.type)) throw new StrataError('EINVAL', `${this.where()}: not a variable-length string dataset`);
    const refs = await this.readStored(start, count);
    const out: string[] = [];
    let lo = Infinity, hi = 0;
    for (let o = 0; o < refs.length; o += 16) {
      const off = Number(refs.readBigUInt64BE(o)), len = Number(refs.readBigUInt64BE(o + 8));
      if (len) { lo = Math.min(lo, off); hi = Math.max(hi, off + len); }
    }
    // One read of the heap range when it is compact, else one per string.
    const span = hi > lo ? hi - lo : 0;
    const heap = span > 0 && span <= Math.max(4 * 1024 * 1024, refs.length * 64) ? Buffer.from(await this.o.read(HEAP, A_DATA, lo, span, this.store.epoch)) : undefined;
    for (let o = 0; o < refs.length; o += 16) {
      const off = Number(refs.readBigUInt64BE(o)), len = Number(refs.readBigUInt64BE(o + 8));
      if (!len) { out.push(''); continue; }
      const b = heap ? heap.subarray(off - lo, off - lo + len) : Buffer.from(await this.o.read(HEAP, A_DATA, off, len, this.store.epoch));
      out.push(b.toString('utf8'));
    }
    return out;
  }

  /** Variable-length strings: writes a hyperslab. */
  async writeStrings(start: number[], count: number[], values: string[], opts: { fresh?: boolean } = {}): Promise<void> {
    if (!isVarString(this.type)) throw new StrataError('EINVAL', `${this.where()}: not a variable-length string dataset`);
    const n = this.checkSel(start, count, 'write');
    if (values.length !== n) throw new StrataError('EINVAL', `${this.where()}: write: ${values.length} strings given, the selection holds ${n}`);
    const bytes = values.map((s) => Buffer.from(s, 'utf8'));
    const total = bytes.reduce((a, b) => a + b.length, 0);
    for (let attempt = 0; ; attempt++) {
      const tx = this.store.writeTx(`write ${this.where()}`);
      const endRaw = this.store.batch && this.heapEnd !== undefined ? undefined : await this.o.get(HEAP, A_END);
      let base = this.store.batch && this.heapEnd !== undefined ? this.heapEnd : endRaw && endRaw.length === 8 ? Number(Buffer.from(endRaw).readBigUInt64LE(0)) : 0;
      if (!this.store.batch) tx.expectVersion(this.o, HEAP, A_END, await this.o.version(HEAP, A_END));
      const refs = Buffer.alloc(n * 16);
      const heap = Buffer.alloc(total);
      let p = 0;
      bytes.forEach((b, i) => {
        if (b.length) { refs.writeBigUInt64BE(BigInt(base + p), i * 16); refs.writeBigUInt64BE(BigInt(b.length), i * 16 + 8); b.copy(heap, p); p += b.length; }
      });
      if (total) {
        tx.write(this.o, HEAP, A_DATA, base, heap);
        tx.putMax(this.o, HEAP, A_END, BigInt(base + total));
      }
      base += total;
      if (this.store.batch) this.heapEnd = base;
      try {
        await this.writeStored(start, count, refs, { ...opts, skipFill: false });
        await this.store.done(total);
        return;
      } catch (e) {
        if (!isStrataError(e, 'ECONFLICT') || attempt >= 20) throw e;
      }
    }
  }

  private heapEnd: number | undefined;

  /** Changes the current dims (chunked datasets, up to maxdims); shrinking drops the data outside. */
  async setExtent(dims: number[]): Promise<void> {
    if (this.record.dcpl.layout !== 'chunked') throw new StrataError('EINVAL', `${this.where()}: only chunked datasets can change their extent`);
    if (dims.length !== this.rank || dims.some((d, i) => !Number.isSafeInteger(d) || d < 0 || (this.maxdims[i] !== -1 && d > this.maxdims[i]!))) {
      throw new StrataError('EINVAL', `${this.where()}: extent [${dims.join(', ')}] exceeds the maximum [${this.maxdims.map((m) => (m === -1 ? 'unlimited' : m)).join(', ')}]`);
    }
    const old = this.dims;
    const space: H5Space = { ...this.space, dims: dims.slice() };
    const tx = this.store.writeTx(`extend ${this.where()}`);
    tx.put(this.o, META, A_SPACE, encodeJson(space));
    if (dims.some((d, i) => d < old[i]!)) {
      // Shrinking: chunks wholly outside go, chunks across the new edge get the fill value outside it.
      const ch = this.storeChunk;
      for await (const c of this.chunkCoords()) {
        const inside = c.map((ci, i) => Math.max(0, Math.min(ch[i]!, dims[i]! - ci * ch[i]!)));
        if (inside.some((x) => x === 0)) { tx.punchDkey(this.o, chunkKey(c)); continue; }
        if (inside.every((x, i) => x === ch[i])) continue;
        const cur = await this.readChunk(c);
        const buf = this.fillChunk();
        copyBlock(cur, ch, ch.map(() => 0), buf, ch, ch.map(() => 0), inside, this.elementSize);
        tx.write(this.o, chunkKey(c), A_DATA, 0, buf);
      }
    }
    await this.store.done();
    this.record = { ...this.record, space };
  }

  /** Chunk coordinates that hold data, in row-major order. */
  async *chunkCoords(): AsyncGenerator<number[]> {
    for await (const k of this.o.dkeys({ epoch: this.store.epoch })) {
      if (!isChunkKey(k)) { if (k[0]! > 0) return; continue; }
      yield chunkCoords(k);
    }
  }
}
