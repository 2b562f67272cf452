// Groups and their links (hard, soft, external): listing members, creating
// groups, datasets and links, unlinking.
import { keyString } from '../object/index.js';
import { StrataError } from '../errors.js';
import { META, LINK, A_KIND, A_TYPE, A_SPACE, A_DCPL, A_ORDER, encodeJson, decodeJson, type LinkValue } from './layout.js';
import { H5Node } from './attributes.js';
import { H5Dataset } from './dataset.js';
import { datasetRecord, type DatasetSpec } from './dataset-spec.js';
import { H5NamedType } from './named-type.js';
import type { H5RichType, CreationOrder } from './h5lib/index.js';
import { checkRichType } from './h5lib/index.js';

export type Member =
  | { name: string; kind: 'group' | 'dataset' | 'datatype'; oid: string }
  | { name: string; kind: 'soft'; target: string }
  | { name: string; kind: 'external'; file: string; target: string };

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function checkName(name: string): string {
  if (!name || name.includes('/') || name === '.' || name.length > 65535) throw new StrataError('EINVAL', `bad link name '${name}' (non-empty, no '/')`);
  return name;
}

const coOf = (co: number | undefined) => (co !== undefined && co >= 0 ? { co } : {});

export class H5Group extends H5Node {
  readonly kind = 'group' as const;

  /** Creation order flags of links and attributes, when the group came from a file that tracks them. */
  async order(): Promise<CreationOrder> {
    const v = await this.o.get(META, A_ORDER, this.store.epoch);
    return v ? decodeJson<CreationOrder>(v, `creation order of ${this.where()}`) : {};
  }

  /** Import: the creation order flags (the root group's come from the file). */
  async setOrder(order: CreationOrder): Promise<void> {
    if (!order.links && !order.attrs) return;
    this.store.writeTx(`set creation order of ${this.where()}`).put(this.o, META, A_ORDER, encodeJson(order));
    await this.store.done();
  }

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

  /** `co`: the link's creation order number (import); `order`: the group's creation order flags. */
  async createGroup(name: string, co?: number, order?: CreationOrder): Promise<H5Group> {
    const oid = await this.store.newOid();
    await this.addLink(name, { t: 'hard', oid: oid.toString(), kind: 'group', ...coOf(co) }, 'create group');
    this.store.writeTx('create group').put(this.store.obj(oid), META, A_KIND, 'group');
    if (order && (order.links || order.attrs)) this.store.writeTx('create group').put(this.store.obj(oid), META, A_ORDER, encodeJson(order));
    await this.store.done(0, this.conflict(name));
    return new H5Group(this.store, oid, joinPath(this.path, name));
  }

  async createDataset(name: string, spec: DatasetSpec, co?: number): Promise<H5Dataset> {
    const rec = datasetRecord(spec, `${this.store.label}:${joinPath(this.path, name)}`);
    const oid = await this.store.newOid();
    await this.addLink(name, { t: 'hard', oid: oid.toString(), kind: 'dataset', ...coOf(co) }, 'create dataset');
    const o = this.store.obj(oid);
    const tx = this.store.writeTx('create dataset');
    tx.put(o, META, A_KIND, 'dataset');
    tx.put(o, META, A_TYPE, encodeJson(rec.type));
    tx.put(o, META, A_SPACE, encodeJson(rec.space));
    tx.put(o, META, A_DCPL, encodeJson(rec.dcpl));
    await this.store.done(256, this.conflict(name));
    return new H5Dataset(this.store, oid, joinPath(this.path, name), rec);
  }

  /** A named (committed) datatype: datasets and attributes whose type is {...type, named: its OID} share it. */
  async createNamedType(name: string, type: H5RichType): Promise<H5NamedType> {
    const t = checkRichType(type);
    const oid = await this.store.newOid();
    await this.addLink(name, { t: 'hard', oid: oid.toString(), kind: 'datatype' }, 'create named datatype');
    const o = this.store.obj(oid);
    const tx = this.store.writeTx('create named datatype');
    tx.put(o, META, A_KIND, 'datatype');
    tx.put(o, META, A_TYPE, encodeJson(t));
    await this.store.done(256, this.conflict(name));
    return new H5NamedType(this.store, oid, joinPath(this.path, name), t);
  }

  async createSoftLink(name: string, target: string, co?: number): Promise<void> {
    if (!target) throw new StrataError('EINVAL', 'a soft link needs a target path');
    await this.addLink(name, { t: 'soft', target, ...coOf(co) }, 'create soft link');
    await this.store.done(0, this.conflict(name));
  }

  async createExternalLink(name: string, file: string, target: string, co?: number): Promise<void> {
    await this.addLink(name, { t: 'external', file, target, ...coOf(co) }, 'create external link');
    await this.store.done(0, this.conflict(name));
  }

  /** Another name for an existing group, dataset or named datatype (an HDF5 hard link). */
  async createHardLink(name: string, to: H5Group | H5Dataset | H5NamedType, co?: number): Promise<void> {
    await this.addLink(name, { t: 'hard', oid: to.oid.toString(), kind: to.kind, ...coOf(co) }, 'create hard link');
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
