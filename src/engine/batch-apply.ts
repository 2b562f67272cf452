// Applying a planned batch inside one write transaction: conditions, the new
// epoch, every op's records, and inline reclaiming of versions no snapshot
// sees. A generator over the requests of core.ts, like the rest of the logic.
import type { Batch, Condition, ContId } from './types.js';
import { LATEST } from './types.js';
import { akeyPrefix, dkeyPrefix, dkeyPunchPrefix, epochBytes, objPrefix, prefixEnd, recordKey, uuidBytes } from './keys.js';
import { decodeRecord, encodeRecord, extentLength, isArrayRecord, visibleSingle, type Rec, type RecordValue } from './records.js';
import type { Piece, PlannedOp } from './batch-plan.js';
import { after, latestVersion, loadAkey, range, release, removeRec, retain, snapsOf, tailEpoch, toRec, type Gen } from './core.js';
import { lastWriteKey, touchedKey } from './reclaim.js';

export const CONFLICT = Symbol('conflict');

/** Map key of a byte key: one char per byte (cheaper to build than hex). */
const bin = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length)).toString('latin1');

function* checkCondition(c: Condition, read: Map<string, Rec[]>): Gen<boolean> {
  switch (c.kind) {
    case 'akey': {
      const { recs, floor } = yield* loadAkey(c, LATEST);
      read.set(bin(akeyPrefix(uuidBytes(c.cont), c.oid, c.dkey, c.akey)), recs);
      return latestVersion(recs, floor) === c.version;
    }
    case 'cat-absent': return (yield { t: 'cat-get', key: c.key }) === undefined;
    case 'cat-present': return (yield { t: 'cat-get', key: c.key }) !== undefined;
  }
}

/** How the large pieces of a batch were stored before the index transaction. */
export type StoredPieces = Map<Piece, RecordValue>;

/**
 * What a batch must lock: the containers it writes or reads a condition of,
 * in byte order; undefined (everything) when it writes or reads the catalog,
 * whose entries any writer may read.
 */
export function lockScope(plan: PlannedOp[], conditions: Condition[]): Buffer[] | undefined {
  const conts = new Map<string, Buffer>();
  for (const c of conditions) {
    if (c.kind !== 'akey') return undefined;
    conts.set(c.cont, uuidBytes(c.cont));
  }
  for (const op of plan) {
    if (op.op === 'cat-put' || op.op === 'cat-del') return undefined;
    const cont = op.op === 'array' ? op.kp.cont : op.cont;
    if (!conts.has(cont)) conts.set(cont, uuidBytes(cont));
  }
  // A batch of nothing still takes an epoch: it orders with everything.
  return conts.size ? [...conts.values()].sort(Buffer.compare) : undefined;
}

/**
 * Applies a planned batch at a new epoch inside one write transaction.
 * Conditions are checked first; on a failed one nothing is written.
 */
export function* applyBatch(plan: PlannedOp[], conditions: Condition[], stored: StoredPieces, freshObjs: Batch['fresh'] = []): Gen<number | typeof CONFLICT> {
  const conts = lockScope(plan, conditions);
  yield conts ? { t: 'lock', conts } : { t: 'lock' };
  // Records of the akeys the conditions read, keyed by akey prefix. The first
  // op on such an akey uses them instead of reading them again (nothing in
  // this batch has written them yet): a create is conditioned on the entry it
  // then puts, and read it twice in one transaction.
  const condRecs = new Map<string, Rec[]>();
  for (const c of conditions) if (!(yield* checkCondition(c, condRecs))) return CONFLICT;
  /** The records of an akey the conditions read, once (the caller then changes them). */
  const readByCondition = (prefix: Buffer): Rec[] | undefined => {
    if (condRecs.size === 0) return undefined;
    const k = bin(prefix);
    const recs = condRecs.get(k);
    condRecs.delete(k);
    return recs;
  };
  const epoch = (yield { t: 'epoch' }) as number;
  // Records this batch wrote (at its new epoch) — the only ones putRec could replace.
  const written = new Map<string, RecordValue>();
  const put = function* (key: Buffer, v: RecordValue): Gen<void> {
    const h = bin(key);
    const prev = written.get(h);
    if (prev) yield* release(key, prev);
    written.set(h, v);
    yield* retain(key, v);
    yield { t: 'put', tbl: 'records', key, value: encodeRecord(v) };
  };
  const remove = function* (r: Rec): Gen<void> {
    const key = r.key as Buffer;
    written.delete(bin(key));
    yield* removeRec(key, r.v);
  };
  // Objects created by this batch hold no older versions: no need to read them.
  const fresh = new Set(freshObjs.map((f) => f.cont + bin(f.oid)));
  const isFresh = (cont: ContId, oid: Uint8Array) => fresh.size > 0 && fresh.has(cont + bin(oid));
  const snapCache = new Map<string, number[]>();
  const snaps = function* (cont: string): Gen<number[]> {
    let s = snapCache.get(cont);
    if (!s) { s = yield* snapsOf(uuidBytes(cont)); snapCache.set(cont, s); }
    return s;
  };
  for (const op of plan) {
    switch (op.op) {
      case 'cat-put': yield { t: 'cat-put', key: op.key, value: op.value }; break;
      case 'cat-del': yield { t: 'cat-del', key: op.key }; break;
      case 'put':
      case 'put-max': {
        const c = uuidBytes(op.cont);
        const prefix = akeyPrefix(c, op.oid, op.dkey, op.akey);
        let value: Uint8Array;
        let old: Rec[];
        const condOld = readByCondition(prefix);
        if (op.op === 'put-max') {
          const loaded = yield* loadAkey(op, LATEST);
          old = loaded.recs;
          const cur = visibleSingle(old, LATEST, loaded.floor);
          const curN = cur && cur.length === 8 ? Buffer.from(cur).readBigUInt64LE(0) : 0n;
          const b = Buffer.alloc(8);
          b.writeBigUInt64LE(curN > op.value ? curN : op.value);
          value = b;
        } else {
          old = isFresh(op.cont, op.oid) ? [] : condOld ?? (yield* range({ tbl: 'records', start: prefix, end: prefixEnd(prefix) })).map(toRec);
          value = op.value;
        }
        yield* put(recordKey(prefix, epoch, 0), { t: 'single', data: value });
        // Older versions no snapshot sees are dropped at once.
        const s = yield* snaps(op.cont);
        const sorted = old.filter((r) => r.epoch < epoch).sort((a, b) => b.epoch - a.epoch);
        let newer = epoch;
        for (const r of sorted) {
          if (!s.some((e) => e >= r.epoch && e < newer)) yield* remove(r);
          newer = r.epoch;
        }
        break;
      }
      case 'punch-akey': {
        const prefix = akeyPrefix(uuidBytes(op.cont), op.oid, op.dkey, op.akey);
        const old = readByCondition(prefix) ?? (yield* range({ tbl: 'records', start: prefix, end: prefixEnd(prefix) })).map(toRec);
        const s = yield* snaps(op.cont);
        let kept = 0;
        for (const r of old) {
          if (s.some((e) => e >= r.epoch)) kept++;
          else yield* remove(r);
        }
        if (kept) yield* put(recordKey(prefix, epoch, 0), { t: 'tomb' });
        break;
      }
      case 'array': {
        const prefix = akeyPrefix(uuidBytes(op.kp.cont), op.kp.oid, op.kp.dkey, op.kp.akey);
        const s = yield* snaps(op.kp.cont);
        const condOld = readByCondition(prefix);
        const old = isFresh(op.kp.cont, op.kp.oid) ? [] : condOld ?? (yield* range({ tbl: 'records', start: prefix, end: prefixEnd(prefix) })).map(toRec);
        // An older extent no snapshot sees goes once the batch's pieces cover
        // it: pieces are disjoint, and adjacent ones (a write cut by a later
        // one, a hole beside a write) cover together what no single one does.
        const spans = coveredSpans(op.pieces);
        const kept: Rec[] = [];
        for (const r of old) {
          if (!isArrayRecord(r.v)) continue;
          const rs = r.offset, re = r.offset + extentLength(r.v);
          if (!spans.some(([a, b]) => rs < b && re > a)) continue;
          if (!s.some((e) => e >= r.epoch) && spans.some(([a, b]) => rs >= a && re <= b)) yield* remove(r);
          else kept.push(r);
        }
        for (const piece of op.pieces) {
          const end = piece.offset + piece.length;
          const overlapsKept = kept.some((r) => r.offset < end && r.offset + extentLength(r.v) > piece.offset);
          const key = recordKey(prefix, epoch, piece.offset);
          if (!piece.data) {
            if (overlapsKept) yield* put(key, { t: 'hole', len: piece.length });
          } else {
            yield* put(key, stored.get(piece) ?? { t: 'inline', data: piece.data });
          }
        }
        break;
      }
      case 'punch-dkey': {
        condRecs.clear(); // may change records the conditions read
        const c = uuidBytes(op.cont);
        const s = yield* snaps(op.cont);
        const dp = dkeyPrefix(c, op.oid, op.dkey);
        yield* dropRange(dp, prefixEnd(dp), s, written);
        if (s.length) yield* put(recordKey(dkeyPunchPrefix(c, op.oid, op.dkey), epoch, 0), { t: 'dpunch' });
        break;
      }
      case 'punch-obj': {
        condRecs.clear();
        const c = uuidBytes(op.cont);
        const s = yield* snaps(op.cont);
        const p = objPrefix(c, op.oid);
        yield* dropRange(p, prefixEnd(p), s, written);
        if (s.length) yield { t: 'put', tbl: 'objpunch', key: Buffer.concat([p, epochBytes(epoch)]), value: Buffer.alloc(0) };
        else for (const kv of yield* range({ tbl: 'objpunch', start: p, end: prefixEnd(p), keysOnly: true })) yield { t: 'del', tbl: 'objpunch', key: kv.key };
        break;
      }
    }
  }
  // Containers with snapshots note this epoch: destroying a snapshot taken
  // after their last write frees nothing, and skips the reclaim pass.
  // They also note which objects this epoch wrote (touchedKey): destroying a
  // snapshot then reclaims only objects written after it.
  const touched = new Map<ContId, Map<string, Uint8Array>>();
  for (const op of plan) {
    const kp = op.op === 'array' ? op.kp : 'oid' in op ? op : undefined;
    if (!kp) continue;
    let objs = touched.get(kp.cont);
    if (!objs) touched.set(kp.cont, (objs = new Map()));
    objs.set(bin(kp.oid), kp.oid);
  }
  for (const [cont, objs] of touched) {
    if ((yield* snaps(cont)).length === 0) continue;
    yield { t: 'cat-put', key: lastWriteKey(cont), value: epoch };
    for (const oid of objs.values()) yield { t: 'cat-put', key: touchedKey(cont, epoch, oid), value: 1 };
  }
  return epoch;
}

/** Deletes every record in [start, end) that no snapshot can see (all, when there are none). */
function* dropRange(start: Buffer, end: Buffer, snaps: number[], written: Map<string, RecordValue>): Gen<void> {
  const newestSnap = Math.max(0, ...snaps);
  let from = start;
  for (;;) {
    const page = yield* range({ tbl: 'records', start: from, end, limit: 1024 });
    for (const kv of page) {
      if (snaps.length === 0 || tailEpoch(kv.key) > newestSnap) {
        written.delete(bin(kv.key));
        yield* removeRec(kv.key, decodeRecord(kv.value));
      }
    }
    if (page.length < 1024) return;
    from = after(page[page.length - 1]!.key);
  }
}

/** The ranges a batch's disjoint pieces cover, adjacent pieces joined, in offset order. */
function coveredSpans(pieces: Piece[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const p of [...pieces].sort((a, b) => a.offset - b.offset)) {
    const last = out[out.length - 1];
    if (last && last[1] >= p.offset) last[1] = Math.max(last[1], p.offset + p.length);
    else out.push([p.offset, p.offset + p.length]);
  }
  return out;
}
