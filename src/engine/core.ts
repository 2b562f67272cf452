// The engine logic, written once for every index store. Reads, batch
// application, snapshots and reclaiming are generators that yield requests to
// an ordered key-value transaction (`Req`) and get the answer back from
// `next()`. The LMDB driver answers synchronously inside an LMDB transaction;
// the PostgreSQL driver answers with awaits inside a SQL transaction. Neither
// repeats the rules: what a batch writes and deletes is decided in
// batch-apply.ts (with the pure visibility rules of records.ts); snapshots
// and reclaiming are in reclaim.ts; this file holds the requests, the reads
// and record writes.
//
// Tables of the ordered store (keys compare as bytes, memcmp):
//   records   record key (keys.ts)          -> encoded RecordValue
//   objpunch  cont|oid|~epoch               -> empty (object punch marker)
//   byfile    file(4)|pos(8)                -> record key (extent-file reverse index)
// plus snapshots, catalog, the epoch counter and the extent-file table, reached
// through dedicated requests.
import type { ContId, KeyPath } from './types.js';
import { LATEST } from './types.js';
import {
  KIND_AKEY, KIND_DKEY_PUNCH, akeyPrefix, esc, unesc, dkeyPrefix, dkeyPunchPrefix, objPrefix, parseKey, prefixEnd, uuidBytes, type ParsedKey,
} from './keys.js';
import {
  akeyLive, decodeRecord, encodeRecord, paintPlan, recordsToKeep, visibleExtents, visibleRecords, visibleSingle, type Rec, type RecordValue, type Span,
} from './records.js';


export type Tbl = 'records' | 'objpunch' | 'byfile';
export interface KV { key: Buffer; value: Buffer }
export interface RangeReq {
  tbl: Tbl; start: Buffer; end: Buffer; limit?: number; keysOnly?: boolean;
  /**
   * Needed only if the range at this index of the same request holds
   * something: a driver that reads ranges one by one may then answer []
   * without reading (one that reads them in one statement reads it anyway).
   */
  ifAny?: number;
}
export interface SnapInfo { name?: string; createdAt: string }

export type Req =
  /** records[key] -> Buffer | undefined */
  | { t: 'get'; key: Buffer }
  /** Several ranges read together -> KV[][] (ascending key order each). */
  | { t: 'ranges'; ranges: RangeReq[] }
  | { t: 'put'; tbl: Tbl; key: Buffer; value: Buffer }
  | { t: 'del'; tbl: Tbl; key: Buffer }
  /**
   * Serializes with every other writer of the containers named (conts), or
   * without conts with every writer (catalog, extent-file table, all
   * containers). Once per transaction, before reads that decide writes.
   * PostgreSQL: row locks on the containers' epoch rows; LMDB: no-op, the
   * write txn is exclusive.
   */
  | { t: 'lock'; conts?: Buffer[] }
  /** The next epoch (after 'lock'); the driver stores the counter at commit. -> number */
  | { t: 'epoch' }
  /** Snapshot epochs of a container -> number[] */
  | { t: 'snaps'; cont: Buffer }
  | { t: 'snap-put'; cont: Buffer; epoch: number; info: SnapInfo }
  /** -> boolean (existed) */
  | { t: 'snap-del'; cont: Buffer; epoch: number }
  /** -> unknown | undefined */
  | { t: 'cat-get'; key: string }
  | { t: 'cat-put'; key: string; value: unknown }
  | { t: 'cat-del'; key: string }
  /** The first `limit` catalog keys with a prefix, in key order -> string[] */
  | { t: 'cat-keys'; prefix: string; limit: number }
  /** Adds delta to the live byte count of an extent file. */
  | { t: 'live'; file: number; delta: number }
  /** A blob row is no longer referenced: delete it. */
  | { t: 'blob-del'; id: number };

export type Gen<T> = Generator<Req, T, unknown>;

/** Runs a generator against a synchronous request handler (LMDB). */
export function runSync<T>(g: Gen<T>, handle: (r: Req) => unknown): T {
  let r = g.next();
  while (!r.done) r = g.next(handle(r.value));
  return r.value;
}

/** Runs a generator against an asynchronous request handler (PostgreSQL). */
export async function runAsync<T>(g: Gen<T>, handle: (r: Req) => Promise<unknown>): Promise<T> {
  let r = g.next();
  while (!r.done) {
    let answer: unknown;
    try {
      answer = await handle(r.value);
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(answer);
  }
  return r.value;
}

// ---------- request helpers ----------

export function* ranges(rs: RangeReq[]): Gen<KV[][]> {
  return (yield { t: 'ranges', ranges: rs }) as KV[][];
}
export function* range(r: RangeReq): Gen<KV[]> {
  return (yield* ranges([r]))[0]!;
}
export function* getRec(key: Buffer): Gen<Buffer | undefined> {
  return (yield { t: 'get', key }) as Buffer | undefined;
}
export function* snapsOf(cont: Buffer): Gen<number[]> {
  return (yield { t: 'snaps', cont }) as number[];
}

const MAX64 = (1n << 64n) - 1n;

export function tailEpoch(key: Uint8Array): number {
  const b = Buffer.from(key.buffer, key.byteOffset, key.length);
  return Number(MAX64 - b.readBigUInt64BE(b.length - 16));
}
export function tailOffset(key: Uint8Array): number {
  const b = Buffer.from(key.buffer, key.byteOffset, key.length);
  return Number(b.readBigUInt64BE(b.length - 8));
}
/** Epoch of an object punch key cont|oid|~epoch. */
export function punchEpoch(key: Uint8Array): number {
  const b = Buffer.from(key.buffer, key.byteOffset, key.length);
  return Number(MAX64 - b.readBigUInt64BE(b.length - 8));
}
export function fileKey(file: number, pos: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(file, 0);
  b.writeBigUInt64BE(BigInt(pos), 4);
  return b;
}
/** The smallest key strictly greater than key. */
export function after(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}
export function toRec(kv: KV): Rec {
  return { epoch: tailEpoch(kv.key), offset: tailOffset(kv.key), v: decodeRecord(kv.value), key: kv.key };
}

// ---------- reads ----------

export const maxBelow = (epochs: number[], view: number) => epochs.reduce((f, e) => (e <= view && e > f ? e : f), 0);

/** Records of an akey and the dkey/object punch floor at view, in one read. */
export function* loadAkey(k: KeyPath, view: number): Gen<{ recs: Rec[]; floor: number }> {
  const c = uuidBytes(k.cont);
  const ap = akeyPrefix(c, k.oid, k.dkey, k.akey);
  const op = objPrefix(c, k.oid);
  const dp = dkeyPunchPrefix(c, k.oid, k.dkey);
  // The punches matter only to records they could hide: an akey that holds
  // nothing (a name being created) needs no punch read.
  const [recs, op_, dp_] = yield* ranges([
    { tbl: 'records', start: ap, end: prefixEnd(ap) },
    { tbl: 'objpunch', start: op, end: prefixEnd(op), keysOnly: true, ifAny: 0 },
    { tbl: 'records', start: dp, end: prefixEnd(dp), keysOnly: true, ifAny: 0 },
  ]);
  const floor = Math.max(maxBelow(op_!.map((kv) => punchEpoch(kv.key)), view), maxBelow(dp_!.map((kv) => tailEpoch(kv.key)), view));
  return { recs: recs!.map(toRec), floor };
}

function* objPunches(c: Buffer, oid: Uint8Array): Gen<number[]> {
  const p = objPrefix(c, oid);
  return (yield* range({ tbl: 'objpunch', start: p, end: prefixEnd(p), keysOnly: true })).map((kv) => punchEpoch(kv.key));
}

function* dkeyPunches(c: Buffer, oid: Uint8Array, dkey: Uint8Array): Gen<number[]> {
  const p = dkeyPunchPrefix(c, oid, dkey);
  return (yield* range({ tbl: 'records', start: p, end: prefixEnd(p), keysOnly: true })).map((kv) => tailEpoch(kv.key));
}

function* floorOf(c: Buffer, oid: Uint8Array, dkey: Uint8Array, view: number): Gen<number> {
  const [o, d] = yield* ranges([
    { tbl: 'objpunch', start: objPrefix(c, oid), end: prefixEnd(objPrefix(c, oid)), keysOnly: true },
    { tbl: 'records', start: dkeyPunchPrefix(c, oid, dkey), end: prefixEnd(dkeyPunchPrefix(c, oid, dkey)), keysOnly: true },
  ]);
  return Math.max(maxBelow(o!.map((kv) => punchEpoch(kv.key)), view), maxBelow(d!.map((kv) => tailEpoch(kv.key)), view));
}

/** Groups the records of [start, end) by akey, in pages; visit sees each group (dkey punches too). */
function* groupRecords(start: Buffer, end: Buffer, visit: (prefix: Buffer, recs: KV[]) => 'stop' | void): Gen<void> {
  let from = start;
  let limit = 64;
  let group: { prefix: Buffer; kvs: KV[] } | undefined;
  for (;;) {
    const page = yield* range({ tbl: 'records', start: from, end, limit });
    for (const kv of page) {
      const kb = kv.key;
      const plen = kb.length - 16;
      if (group && plen === group.prefix.length && kb.compare(group.prefix, 0, plen, 0, plen) === 0) { group.kvs.push(kv); continue; }
      if (group && visit(group.prefix, group.kvs) === 'stop') return;
      group = { prefix: kb.subarray(0, plen), kvs: [kv] };
    }
    if (page.length < limit) {
      if (group) visit(group.prefix, group.kvs);
      return;
    }
    from = after(page[page.length - 1]!.key);
    limit = Math.min(limit * 4, 1024);
  }
}

/**
 * Live single values of the akeys of one dkey at view, in akey order (array
 * akeys left out): one scan instead of one read per akey, as DAOS fetches
 * several akeys of a dkey in one call. Meant for dkeys of small values (an
 * inode's attributes, its xattrs).
 */
export function* fetchDkey(cont: ContId, oid: Uint8Array, dkey: Uint8Array, view: number): Gen<Array<{ akey: Buffer; value: Buffer }>> {
  const c = uuidBytes(cont);
  const dp = dkeyPrefix(c, oid, dkey);
  let floor = maxBelow(yield* objPunches(c, oid), view);
  const out: Array<{ akey: Buffer; value: Buffer }> = [];
  // Dkey punches (kind 0x00) sort before the akeys (0x01): the floor is known before the first akey.
  yield* groupRecords(dp, prefixEnd(dp), (prefix, kvs) => {
    if (prefix[dp.length] === KIND_DKEY_PUNCH) {
      for (const kv of kvs) { const e = tailEpoch(kv.key); if (e <= view && e > floor) floor = e; }
      return;
    }
    const v = visibleSingle(kvs.map(toRec), view, floor);
    if (v) out.push({ akey: unesc(prefix, dp.length + 1).key, value: Buffer.from(v) });
  });
  return out;
}

/**
 * The dkeys of an object whose akey `akey` holds a live single value at view,
 * with that value, in dkey order after `after_`: a listing and its gets in one
 * scan (a directory's entries).
 */
export function* listValues(cont: ContId, oid: Uint8Array, akey: Uint8Array, after_: Uint8Array | undefined, view: number, limit: number): Gen<Array<{ dkey: Buffer; value: Buffer }>> {
  const c = uuidBytes(cont);
  const op = objPrefix(c, oid);
  const objFloor = maxBelow(yield* objPunches(c, oid), view);
  const tail = Buffer.concat([Buffer.from([KIND_AKEY]), esc(akey)]);
  const out: Array<{ dkey: Buffer; value: Buffer }> = [];
  let cur: { dp: Buffer; dkey: Buffer; floor: number } | undefined;
  const start = after_ ? prefixEnd(dkeyPrefix(c, oid, after_)) : op;
  yield* groupRecords(start, prefixEnd(op), (prefix, kvs) => {
    // Escaped keys are prefix-free: a group of the same dkey starts with its prefix.
    if (!cur || prefix.length < cur.dp.length || prefix.compare(cur.dp, 0, cur.dp.length, 0, cur.dp.length) !== 0) {
      const d = unesc(prefix, op.length);
      cur = { dp: prefix.subarray(0, d.end), dkey: d.key, floor: objFloor };
    }
    const end = cur.dp.length;
    if (prefix[end] === KIND_DKEY_PUNCH) {
      for (const kv of kvs) { const e = tailEpoch(kv.key); if (e <= view && e > cur.floor) cur.floor = e; }
      return undefined;
    }
    if (prefix.length !== end + tail.length || prefix.compare(tail, 0, tail.length, end) !== 0) return undefined;
    const v = visibleSingle(kvs.map(toRec), view, cur.floor);
    if (!v) return undefined;
    out.push({ dkey: cur.dkey, value: Buffer.from(v) });
    return out.length >= limit ? 'stop' : undefined;
  });
  return out;
}

/** Records per dkey fetchDkeys reads in its one pass before it reads that dkey again in pages. */
const FETCH_MANY_PAGE = 64;

/**
 * One dkey of each of several objects at view (as fetchDkey each), in one
 * read request: a directory page's inodes in one pass instead of one read per
 * entry. A dkey with more records than one page holds is read again alone.
 */
export function* fetchDkeys(cont: ContId, items: ReadonlyArray<{ oid: Uint8Array; dkey: Uint8Array }>, view: number): Gen<Array<Array<{ akey: Buffer; value: Buffer }>>> {
  const c = uuidBytes(cont);
  const rs: RangeReq[] = [];
  const prefixes: Buffer[] = [];
  for (const it of items) {
    const op = objPrefix(c, it.oid);
    const dp = dkeyPrefix(c, it.oid, it.dkey);
    prefixes.push(dp);
    rs.push({ tbl: 'objpunch', start: op, end: prefixEnd(op), keysOnly: true }, { tbl: 'records', start: dp, end: prefixEnd(dp), limit: FETCH_MANY_PAGE });
  }
  const got = rs.length > 0 ? yield* ranges(rs) : [];
  const out: Array<Array<{ akey: Buffer; value: Buffer }>> = [];
  for (let i = 0; i < items.length; i++) {
    const recs = got[2 * i + 1]!;
    if (recs.length >= FETCH_MANY_PAGE) { out.push(yield* fetchDkey(cont, items[i]!.oid, items[i]!.dkey, view)); continue; }
    const dp = prefixes[i]!;
    let floor = maxBelow(got[2 * i]!.map((kv) => punchEpoch(kv.key)), view);
    const values: Array<{ akey: Buffer; value: Buffer }> = [];
    forEachAkey(recs, (prefix, kvs) => {
      if (prefix[dp.length] === KIND_DKEY_PUNCH) {
        for (const kv of kvs) { const e = tailEpoch(kv.key); if (e <= view && e > floor) floor = e; }
        return;
      }
      const v = visibleSingle(kvs.map(toRec), view, floor);
      if (v) values.push({ akey: unesc(prefix, dp.length + 1).key, value: Buffer.from(v) });
    });
    out.push(values);
  }
  return out;
}

/** Calls visit for each akey's records (grouped by the key before ~epoch|offset) of a complete, ordered list. */
function forEachAkey(kvs: KV[], visit: (prefix: Buffer, kvs: KV[]) => void): void {
  let group: { prefix: Buffer; kvs: KV[] } | undefined;
  for (const kv of kvs) {
    const kb = kv.key;
    const plen = kb.length - 16;
    if (group && plen === group.prefix.length && kb.compare(group.prefix, 0, plen, 0, plen) === 0) { group.kvs.push(kv); continue; }
    if (group) visit(group.prefix, group.kvs);
    group = { prefix: kb.subarray(0, plen), kvs: [kv] };
  }
  if (group) visit(group.prefix, group.kvs);
}

/** What readSmallObject finds: values, and for each array akey what to paint where. */
export interface SmallObjectPlan {
  singles: Array<{ dkey: Buffer; akey: Buffer; value: Buffer }>;
  arrays: Array<{ dkey: Buffer; akey: Buffer; size: number; plan: Array<{ rec: Rec; span: Span }> }>;
}

/**
 * Every live akey of an object at view in one read request (the object's
 * records and its punches): the single values, and for each byte array the
 * paint plan of [0, end of its last stored byte). Undefined when the object
 * has more than maxRecords records or its arrays more than maxBytes bytes.
 * The dkeys in `without` are not read (nor counted).
 */
export function* readSmallObject(cont: ContId, oid: Uint8Array, view: number, maxRecords: number, maxBytes: number, without: ReadonlyArray<Uint8Array> = []): Gen<SmallObjectPlan | undefined> {
  const c = uuidBytes(cont);
  const op = objPrefix(c, oid);
  // The object's records in key order, less the dkeys left out: one range between each two of them.
  const rs: RangeReq[] = [{ tbl: 'objpunch', start: op, end: prefixEnd(op), keysOnly: true }];
  let from = op;
  for (const dp of without.map((d) => dkeyPrefix(c, oid, d)).sort(Buffer.compare)) {
    if (Buffer.compare(dp, from) > 0) rs.push({ tbl: 'records', start: from, end: dp, limit: maxRecords + 1 });
    const end = prefixEnd(dp);
    if (Buffer.compare(end, from) > 0) from = end;
  }
  rs.push({ tbl: 'records', start: from, end: prefixEnd(op), limit: maxRecords + 1 });
  const [punches, ...parts] = yield* ranges(rs);
  const recs = parts.length === 1 ? parts[0]! : parts.flat();
  if (recs.length > maxRecords) return undefined;
  const objFloor = maxBelow(punches!.map((kv) => punchEpoch(kv.key)), view);
  const out: SmallObjectPlan = { singles: [], arrays: [] };
  let cur: { dp: Buffer; dkey: Buffer; floor: number } | undefined;
  let bytes = 0;
  let tooBig = false;
  forEachAkey(recs, (prefix, kvs) => {
    if (tooBig) return;
    // Escaped keys are prefix-free: a group of the same dkey starts with its prefix.
    if (!cur || prefix.length < cur.dp.length || prefix.compare(cur.dp, 0, cur.dp.length, 0, cur.dp.length) !== 0) {
      const d = unesc(prefix, op.length);
      cur = { dp: prefix.subarray(0, d.end), dkey: d.key, floor: objFloor };
    }
    const end = cur.dp.length;
    if (prefix[end] === KIND_DKEY_PUNCH) {
      for (const kv of kvs) { const e = tailEpoch(kv.key); if (e <= view && e > cur.floor) cur.floor = e; }
      return;
    }
    const rs = kvs.map(toRec);
    const kind = akeyLive(rs, view, cur.floor);
    if (!kind) return;
    const akey = unesc(prefix, end + 1).key;
    if (kind === 'single') {
      const v = visibleSingle(rs, view, cur.floor);
      if (v) out.singles.push({ dkey: cur.dkey, akey, value: Buffer.from(v) });
      return;
    }
    const ext = visibleExtents(rs, view, cur.floor);
    const size = ext.length > 0 ? ext[ext.length - 1]!.end : 0;
    bytes += size;
    if (bytes > maxBytes) { tooBig = true; return; }
    out.arrays.push({ dkey: cur.dkey, akey, size, plan: paintPlan(rs, view, cur.floor, { start: 0, end: size }) });
  });
  return tooBig ? undefined : out;
}

/** Epoch of the newest live version of an akey, 0 when absent. */
export function* versionOf(k: KeyPath): Gen<number> {
  const { recs, floor } = yield* loadAkey(k, LATEST);
  return latestVersion(recs, floor);
}

/** versionOf, from an akey's records and punch floor already read. */
export function latestVersion(recs: Rec[], floor: number): number {
  if (!akeyLive(recs, LATEST, floor)) return 0;
  let v = 0;
  for (const r of visibleRecords(recs, LATEST, floor)) v = Math.max(v, r.epoch);
  return v;
}

type Visit = (first: ParsedKey, recs: Rec[]) => Gen<Buffer | 'stop' | undefined>;

/**
 * Walks records from start (inclusive) to end in pages, grouped by akey, and
 * calls visit for each normal akey group. visit returns a key to jump to,
 * 'stop', or undefined to go on. Pages start small after a jump (listings
 * often need one group per object) and grow while a scan goes on.
 */
function* scanAkeys(start: Buffer, end: Buffer, visit: Visit): Gen<void> {
  let from = start;
  let limit = 4;
  let group: { first: ParsedKey; prefix: Buffer; recs: Rec[] } | undefined;
  for (;;) {
    const page = yield* range({ tbl: 'records', start: from, end, limit });
    let jump: Buffer | undefined;
    for (const kv of page) {
      const kb = kv.key;
      if (group && kb.length === group.prefix.length + 16 && kb.subarray(0, group.prefix.length).equals(group.prefix)) {
        group.recs.push(toRec(kv));
        continue;
      }
      if (group) {
        const r = yield* visit(group.first, group.recs);
        group = undefined;
        if (r === 'stop') return;
        if (r) { jump = r; break; }
      }
      const pk = parseKey(kb);
      if (pk.kind === KIND_DKEY_PUNCH) continue;
      group = { first: pk, prefix: kb.subarray(0, pk.akeyEnd), recs: [toRec(kv)] };
    }
    if (jump) { from = jump; limit = 4; continue; }
    if (page.length < limit) {
      if (group) yield* visit(group.first, group.recs);
      return;
    }
    from = after(page[page.length - 1]!.key);
    limit = Math.min(limit * 4, 1024);
  }
}

export function* listObjects(cont: ContId, after_: Uint8Array | undefined, view: number, limit: number): Gen<Uint8Array[]> {
  const c = uuidBytes(cont);
  const out: Uint8Array[] = [];
  const start = after_ ? prefixEnd(objPrefix(c, after_)) : c;
  yield* scanAkeys(start, prefixEnd(c), function* (pk, recs) {
    if (!akeyLive(recs, view, yield* floorOf(c, pk.oid, pk.dkey, view))) return undefined;
    out.push(Buffer.from(pk.oid));
    if (out.length >= limit) return 'stop';
    return prefixEnd(objPrefix(c, pk.oid));
  });
  return out;
}

export function* listDkeys(cont: ContId, oid: Uint8Array, after_: Uint8Array | undefined, view: number, limit: number): Gen<Uint8Array[]> {
  const c = uuidBytes(cont);
  const op = objPrefix(c, oid);
  const out: Uint8Array[] = [];
  const start = after_ ? prefixEnd(dkeyPrefix(c, oid, after_)) : op;
  const objFloor = maxBelow(yield* objPunches(c, oid), view);
  let dkeyFloor: { dkey: Buffer; floor: number } | undefined;
  yield* scanAkeys(start, prefixEnd(op), function* (pk, recs) {
    if (!dkeyFloor || !dkeyFloor.dkey.equals(pk.dkey)) {
      dkeyFloor = { dkey: pk.dkey, floor: Math.max(objFloor, maxBelow(yield* dkeyPunches(c, oid, pk.dkey), view)) };
    }
    if (!akeyLive(recs, view, dkeyFloor.floor)) return undefined;
    out.push(Buffer.from(pk.dkey));
    if (out.length >= limit) return 'stop';
    return prefixEnd(dkeyPrefix(c, oid, pk.dkey));
  });
  return out;
}

export function* listAkeys(cont: ContId, oid: Uint8Array, dkey: Uint8Array, after_: Uint8Array | undefined, view: number, limit: number): Gen<Array<{ akey: Uint8Array; kind: 'single' | 'array' }>> {
  const c = uuidBytes(cont);
  const dp = dkeyPrefix(c, oid, dkey);
  const floor = yield* floorOf(c, oid, dkey, view);
  const out: Array<{ akey: Uint8Array; kind: 'single' | 'array' }> = [];
  const start = after_ ? prefixEnd(akeyPrefix(c, oid, dkey, after_)) : dp;
  // eslint-disable-next-line require-yield
  yield* scanAkeys(start, prefixEnd(dp), function* (pk, recs) {
    const kind = akeyLive(recs, view, floor);
    if (!kind) return undefined;
    out.push({ akey: Buffer.from(pk.akey), kind });
    return out.length >= limit ? 'stop' : undefined;
  });
  return out;
}

// ---------- record writes (a batch's ops: batch-apply.ts) ----------

/** Stops accounting for the bytes a record points at (extent file live count / blob row). */
export function* release(key: Buffer, v: RecordValue): Gen<void> {
  if (v.t === 'file') {
    yield { t: 'live', file: v.file, delta: -v.len };
    yield { t: 'del', tbl: 'byfile', key: fileKey(v.file, v.pos) };
  } else if (v.t === 'blob') {
    yield { t: 'blob-del', id: v.id };
  }
  void key;
}

export function* retain(key: Buffer, v: RecordValue): Gen<void> {
  if (v.t === 'file') {
    yield { t: 'live', file: v.file, delta: v.len };
    yield { t: 'put', tbl: 'byfile', key: fileKey(v.file, v.pos), value: key };
  }
}

/** Deletes a record (and releases its bytes). Without `v`, reads it first and does nothing when it is gone. */
export function* removeRec(key: Buffer, v?: RecordValue): Gen<void> {
  if (!v) {
    const raw = yield* getRec(key);
    if (raw === undefined) return;
    v = decodeRecord(raw);
  }
  yield* release(key, v);
  yield { t: 'del', tbl: 'records', key };
}

/** Writes a record that may replace one at the same key (read first). */
export function* putRec(key: Buffer, v: RecordValue): Gen<void> {
  yield* removeRec(key);
  yield* retain(key, v);
  yield { t: 'put', tbl: 'records', key, value: encodeRecord(v) };
}
