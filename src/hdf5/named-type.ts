// Named (committed) datatypes: an object of their own, linked from groups
// like groups and datasets, holding a type (and attributes). Datasets and
// attributes whose type is a named datatype record its OID (`named` in the
// type), so the export commits the type once and every user shares it.
import type { ObjectId } from '../object/index.js';
import type { H5RichType } from './h5lib/index.js';
import { H5Node } from './attributes.js';
import type { H5Store } from './store.js';

export class H5NamedType extends H5Node {
  readonly kind = 'datatype' as const;
  constructor(store: H5Store, oid: ObjectId, path: string, readonly type: H5RichType) {
    super(store, oid, path);
  }
}

/** A type as stored: no file address; a committed type found among `named` (file address -> object) names that object. */
export function storedType(t: H5RichType, named: ReadonlyMap<string, { oid: ObjectId }>): H5RichType {
  const { addr, committed, named: _n, hid: _h, ...rest } = t;
  void _n; void _h;
  const n = committed && addr !== undefined ? named.get(addr) : undefined;
  return (n ? { ...rest, committed: true, named: n.oid.toString() } : rest) as H5RichType;
}
