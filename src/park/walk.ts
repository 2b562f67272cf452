// The walk of a container that serialize (either layout) and its size bound
// share: the objects of one rank in OID order, their dkeys and akeys, each
// single value read, each array's extent list (offsets and lengths; its data
// is read by the caller, slice by slice). Keys are listed page by page.
import type { Engine, Extent, KeyPath } from '../engine/types.js';
import { StrataError } from '../errors.js';
import { listObjects, DaosObject, type ObjectId } from '../object/index.js';

export type WalkItem =
  | { kind: 'object'; oid: ObjectId }
  | { kind: 'dkey'; dkey: Uint8Array }
  | { kind: 'single'; akey: Uint8Array; value: Uint8Array }
  /** `end`: the array's end offset (0 without extents). */
  | { kind: 'array'; akey: Uint8Array; key: KeyPath; extents: Extent[]; end: number };

export interface WalkOptions {
  epoch?: number;
  /** Rank r of n takes the objects whose position in OID order is r modulo n (default: all). */
  rank?: number;
  ranks?: number;
  signal?: AbortSignal;
}

const EMPTY = new Uint8Array(0);

export async function* walkContainer(engine: Engine, contUuid: string, o: WalkOptions = {}): AsyncGenerator<WalkItem> {
  const ranks = o.ranks ?? 1, rank = o.rank ?? 0, epoch = o.epoch;
  let i = -1;
  for await (const oid of listObjects(engine, contUuid, { epoch })) {
    i++;
    if (i % ranks !== rank) continue;
    if (o.signal?.aborted) throw interrupted();
    yield { kind: 'object', oid };
    const obj = new DaosObject(engine, contUuid, oid);
    for await (const dkey of obj.dkeys({ epoch })) {
      yield { kind: 'dkey', dkey };
      for await (const ak of obj.akeys(dkey, { epoch })) {
        const key: KeyPath = { cont: contUuid, oid: oid.toBytes(), dkey, akey: ak.akey };
        if (ak.kind === 'single') {
          yield { kind: 'single', akey: ak.akey, value: (await engine.get(key, epoch)) ?? EMPTY };
          continue;
        }
        const extents = await engine.extents(key, epoch);
        const last = extents[extents.length - 1];
        yield { kind: 'array', akey: ak.akey, key, extents, end: last ? last.offset + last.length : 0 };
      }
    }
  }
}

export interface SerializeStats { objects: number; dkeys: number; akeys: number; singles: number; arrays: number; extents: number; bytes: number }

/** What a rank writer counts: the stats, and the highest allocator sequence among its objects. */
export interface RankStats extends SerializeStats { maxSeq: bigint }

export function newRankStats(): RankStats {
  return { objects: 0, dkeys: 0, akeys: 0, singles: 0, arrays: 0, extents: 0, bytes: 0, maxSeq: 0n };
}

export function countObject(st: RankStats, oid: ObjectId): void {
  st.objects++;
  // Allocated OIDs carry an object class (ObjectId.make); reserved ones (DFS superblock/root) do not.
  if (((oid.hi >> 32n) & 0xffffffn) === 0n) return;
  const seq = ((oid.hi & 0xffffffffn) << 64n) | oid.lo;
  if (seq > st.maxSeq) st.maxSeq = seq;
}

export function interrupted(): StrataError {
  return new StrataError('EIO', 'interrupted');
}
