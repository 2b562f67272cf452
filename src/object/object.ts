// The object API: an object is addressed by (container, OID); it holds dkeys,
// each holding akeys, each a single value or a byte array. Reads can be made
// at an epoch (a snapshot); writes go through a Tx so that several updates
// commit atomically at one epoch.
import type { AkeyInfo, ContId, Engine, Epoch, Extent, KeyPath, Page, WriteOp, Condition } from '../engine/types.js';
import { LATEST } from '../engine/types.js';
import { ObjectId } from './oid.js';
import { keyBytes, type Key } from './keys.js';

export interface ListOptions {
  epoch?: Epoch;
  after?: Key;
  limit?: number;
}

function page(o: ListOptions | undefined): Page {
  return { epoch: o?.epoch, limit: o?.limit, after: o?.after === undefined ? undefined : keyBytes(o.after) };
}

export class DaosObject {
  constructor(readonly engine: Engine, readonly cont: ContId, readonly oid: ObjectId) {}

  private path(dkey: Key, akey: Key): KeyPath {
    return { cont: this.cont, oid: this.oid.toBytes(), dkey: keyBytes(dkey), akey: keyBytes(akey) };
  }

  get(dkey: Key, akey: Key, epoch?: Epoch): Promise<Uint8Array | undefined> {
    return this.engine.get(this.path(dkey, akey), epoch);
  }
  read(dkey: Key, akey: Key, offset: number, length: number, epoch?: Epoch, into?: Uint8Array): Promise<Uint8Array> {
    return this.engine.read(this.path(dkey, akey), offset, length, epoch, into);
  }
  extents(dkey: Key, akey: Key, epoch?: Epoch): Promise<Extent[]> {
    return this.engine.extents(this.path(dkey, akey), epoch);
  }
  version(dkey: Key, akey: Key): Promise<Epoch> {
    return this.engine.version(this.path(dkey, akey));
  }
  /** Live single values of all akeys of a dkey (one read). */
  fetchDkey(dkey: Key, epoch?: Epoch): Promise<Array<{ akey: Uint8Array; value: Uint8Array }>> {
    return this.engine.fetchDkey(this.cont, this.oid.toBytes(), keyBytes(dkey), epoch);
  }
  /** Dkeys whose akey holds a live single value, with the value (one read per page). */
  listValues(akey: Key, opts?: ListOptions): Promise<Array<{ dkey: Uint8Array; value: Uint8Array }>> {
    return this.engine.listValues(this.cont, this.oid.toBytes(), keyBytes(akey), page(opts));
  }
  listDkeys(opts?: ListOptions): Promise<Uint8Array[]> {
    return this.engine.listDkeys(this.cont, this.oid.toBytes(), page(opts));
  }
  listAkeys(dkey: Key, opts?: ListOptions): Promise<AkeyInfo[]> {
    return this.engine.listAkeys(this.cont, this.oid.toBytes(), keyBytes(dkey), page(opts));
  }

  /** Streams all dkeys in order, a page at a time (memory stays bounded). */
  async *dkeys(opts?: { epoch?: Epoch; pageSize?: number; after?: Key }): AsyncGenerator<Uint8Array> {
    let after = opts?.after === undefined ? undefined : keyBytes(opts.after);
    for (;;) {
      const keys = await this.engine.listDkeys(this.cont, this.oid.toBytes(), { epoch: opts?.epoch, after, limit: opts?.pageSize ?? 1024 });
      if (keys.length === 0) return;
      yield* keys;
      after = keys[keys.length - 1];
    }
  }

  /** Streams all akeys of a dkey in order. */
  async *akeys(dkey: Key, opts?: { epoch?: Epoch; pageSize?: number }): AsyncGenerator<AkeyInfo> {
    let after: Uint8Array | undefined;
    for (;;) {
      const keys = await this.engine.listAkeys(this.cont, this.oid.toBytes(), keyBytes(dkey), { epoch: opts?.epoch, after, limit: opts?.pageSize ?? 1024 });
      if (keys.length === 0) return;
      yield* keys;
      after = keys[keys.length - 1]!.akey;
    }
  }
}

/** Streams the OIDs of a container's objects that hold data at an epoch. */
export async function* listObjects(engine: Engine, cont: ContId, opts?: { epoch?: Epoch; pageSize?: number }): AsyncGenerator<ObjectId> {
  let after: Uint8Array | undefined;
  for (;;) {
    const oids = await engine.listObjects(cont, { epoch: opts?.epoch ?? LATEST, after, limit: opts?.pageSize ?? 1024 });
    if (oids.length === 0) return;
    for (const o of oids) yield ObjectId.fromBytes(o);
    after = oids[oids.length - 1];
  }
}

/** A batch of updates committed atomically at one epoch, with optional preconditions. */
export class Tx {
  readonly ops: WriteOp[] = [];
  readonly conditions: Condition[] = [];
  private readonly freshObjs: Array<{ cont: string; oid: Uint8Array }> = [];
  private readonly seen = new Set<string>();
  constructor(readonly engine: Engine) {}

  /** Declares an object this transaction creates (a newly allocated id): its writes skip looking for older versions. */
  fresh(obj: DaosObject): this {
    this.freshObjs.push({ cont: obj.cont, oid: obj.oid.toBytes() });
    return this;
  }
  /** True the first time a key is given in this transaction: for stagers that add one condition per directory. */
  once(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  private kp(obj: DaosObject, dkey: Key, akey: Key): KeyPath {
    return { cont: obj.cont, oid: obj.oid.toBytes(), dkey: keyBytes(dkey), akey: keyBytes(akey) };
  }
  put(obj: DaosObject, dkey: Key, akey: Key, value: Uint8Array | string): this {
    this.ops.push({ op: 'put', ...this.kp(obj, dkey, akey), value: keyBytes(value) });
    return this;
  }
  putMax(obj: DaosObject, dkey: Key, akey: Key, value: bigint): this {
    this.ops.push({ op: 'put-max', ...this.kp(obj, dkey, akey), value });
    return this;
  }
  write(obj: DaosObject, dkey: Key, akey: Key, offset: number, data: Uint8Array): this {
    this.ops.push({ op: 'write', ...this.kp(obj, dkey, akey), offset, data });
    return this;
  }
  punchRange(obj: DaosObject, dkey: Key, akey: Key, offset: number, length: number): this {
    this.ops.push({ op: 'punch-range', ...this.kp(obj, dkey, akey), offset, length });
    return this;
  }
  punchAkey(obj: DaosObject, dkey: Key, akey: Key): this {
    this.ops.push({ op: 'punch-akey', ...this.kp(obj, dkey, akey) });
    return this;
  }
  punchDkey(obj: DaosObject, dkey: Key): this {
    this.ops.push({ op: 'punch-dkey', cont: obj.cont, oid: obj.oid.toBytes(), dkey: keyBytes(dkey) });
    return this;
  }
  punchObject(obj: DaosObject): this {
    this.ops.push({ op: 'punch-obj', cont: obj.cont, oid: obj.oid.toBytes() });
    return this;
  }
  /** The batch applies only if the akey's newest version is still `version` (0 = never written / absent). */
  expectVersion(obj: DaosObject, dkey: Key, akey: Key, version: Epoch): this {
    this.conditions.push({ kind: 'akey', ...this.kp(obj, dkey, akey), version });
    return this;
  }
  get empty(): boolean { return this.ops.length === 0; }
  commit(): Promise<Epoch> {
    return this.engine.commit({ ops: this.ops, conditions: this.conditions, ...(this.freshObjs.length ? { fresh: this.freshObjs } : {}) });
  }
}
