// Attributes, the part groups and datasets share: the H5Node base class both
// extend (an object of the store with attributes under its `attr` dkey).
import { type DaosObject, type ObjectId, keyString } from '../object/index.js';
import { StrataError } from '../errors.js';
import type { H5RichType, H5Space } from './h5lib/index.js';
import { ATTR, encodeAttr, decodeAttr, spaceElements, type AttrRecord } from './layout.js';
import { encodeAll, decodeAll, hasVlenData, isVarString, typeName, unsupportedReason, type H5Value } from './types.js';
import type { H5Store } from './store.js';
import { isReference } from './references.js';

/** What groups and datasets share: an object with attributes. */
export abstract class H5Node {
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

  /** Sets (replaces) an attribute: raw elements in its type, strings for a variable-string type, raw + heap for other variable-length data. */
  async setAttr(name: string, a: AttrRecord): Promise<void> {
    if (!name || name.length > 65535) throw new StrataError('EINVAL', `bad attribute name '${name}'`);
    const r = unsupportedReason(a.type);
    if (r) throw new StrataError('ENOTSUP', `${this.where()}: attribute '${name}': unsupported datatype (${r})`);
    const n = spaceElements(a.space);
    if (isVarString(a.type)) {
      if (!a.strings || a.strings.length !== n) throw new StrataError('EINVAL', `${this.where()}: attribute '${name}' needs ${n} strings`);
    } else if ((hasVlenData(a.type) || isReference(a.type)) !== !!a.heap) {
      throw new StrataError('EINVAL', `${this.where()}: attribute '${name}': ${a.heap ? 'a heap given for a type without' : 'no heap given for'} variable-length data (${typeName(a.type)})`);
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
    return a.strings ?? decodeAll(a.type, a.raw ?? Buffer.alloc(0), a.heap ? { buf: a.heap, base: 0 } : undefined);
  }

  async deleteAttr(name: string): Promise<void> {
    if (!(await this.hasAttr(name))) throw new StrataError('ENOENT', `${this.where()}: no attribute '${name}'`);
    this.store.writeTx(`delete attribute '${name}' on ${this.where()}`).punchAkey(this.o, ATTR, name);
    await this.store.done();
  }
}
