// Snapshots and reclaiming, as generators over the requests of core.ts:
// creating and destroying snapshot entries, the index of objects written
// after each snapshot ("touched"), and freeing the versions no view needs,
// decided inside the write transaction that deletes them. Also the moves of
// extent-file compaction.
import type { ContId } from './types.js';
import { LATEST } from './types.js';
import { KIND_DKEY_PUNCH, objPrefix, parseKey, prefixEnd, uuidBytes } from './keys.js';
import { decodeRecord, recordsToKeep, type Rec } from './records.js';
import {
  after, fileKey, getRec, maxBelow, punchEpoch, putRec, range, ranges, removeRec, snapsOf, toRec, type Gen,
} from './core.js';

/**
 * Catalog key of the epoch of a container's last write made while it had
 * snapshots, or of its newest snapshot if later: destroying a snapshot taken
 * at or after it frees nothing.
 */
export function lastWriteKey(cont: ContId): string {
  return `lastwrite/${cont}`;
}

export function* createSnapshot(cont: ContId, name: string | undefined, record?: { keyPrefix: string; value: unknown }): Gen<number> {
  const c = uuidBytes(cont);
  // A record is a catalog entry others may read or condition on: then lock everything.
  yield record ? { t: 'lock' } : { t: 'lock', conts: [c] };
  const epoch = (yield { t: 'epoch' }) as number;
  yield { t: 'snap-put', cont: c, epoch, info: { name, createdAt: new Date().toISOString() } };
  if (record) yield { t: 'cat-put', key: `${record.keyPrefix}${epoch}`, value: record.value };
  // Every write from now on notes its epoch and objects (batch-apply.ts): see KvEngine.destroySnapshot.
  yield { t: 'cat-put', key: lastWriteKey(cont), value: epoch };
  yield { t: 'cat-put', key: touchedMarker(cont, epoch), value: 1 };
  return epoch;
}

/**
 * Catalog keys of the objects written while a container had snapshots, by
 * epoch: `touched/<cont>/<epoch, 16 digits>/<oid hex>`. Destroying a snapshot
 * frees versions only in objects written after it, so its reclaim pass reads
 * those objects instead of the whole container.
 */
export function touchedPrefix(cont: ContId): string {
  return `touched/${cont}/`;
}
/** The keys of one epoch (16 digits: string order is epoch order). */
export function touchedAt(cont: ContId, epoch: number): string {
  return `${touchedPrefix(cont)}${String(epoch).padStart(16, '0')}/`;
}
export function touchedKey(cont: ContId, epoch: number, oid: Uint8Array): string {
  return `${touchedAt(cont, epoch)}${Buffer.from(oid).toString('hex')}`;
}
/** Written with each snapshot: the index is complete for the writes after it (snapshots of older engine homes lack it). */
export function touchedMarker(cont: ContId, epoch: number): string {
  return `${touchedAt(cont, epoch)}snap`;
}
/** Epoch and OID of a touched key (no OID for a snapshot's marker). */
export function parseTouchedKey(key: string, cont: ContId): { epoch: number; oid?: Buffer } {
  const rest = key.slice(touchedPrefix(cont).length);
  const tail = rest.slice(17);
  return { epoch: Number(rest.slice(0, 16)), ...(tail === 'snap' ? {} : { oid: Buffer.from(tail, 'hex') }) };
}

/** Deletes a snapshot's entry; says whether it existed and whether the container was written after it (in the same transaction). */
export function* destroySnapshotEntry(cont: ContId, epoch: number): Gen<{ existed: boolean; writtenAfter: boolean }> {
  yield { t: 'lock', conts: [uuidBytes(cont)] };
  const last = yield { t: 'cat-get', key: lastWriteKey(cont) };
  const existed = (yield { t: 'snap-del', cont: uuidBytes(cont), epoch }) as boolean;
  // Unknown (an engine home older than the record): assume it was.
  return { existed, writtenAfter: typeof last !== 'number' || last > epoch };
}

/** The first object of a container at or after `from`, if any. */
export function* nextObject(c: Buffer, from: Buffer): Gen<Buffer | undefined> {
  const [r] = yield* ranges([{ tbl: 'records', start: from, end: prefixEnd(c), limit: 1, keysOnly: true }]);
  return r!.length ? Buffer.from(r![0]!.key.subarray(16, 32)) : undefined;
}

/**
 * Decides which records and object punches of one object no view needs: the
 * views are the container's snapshots read by this same generator, so that in
 * a write transaction (reclaimObject) no snapshot created meanwhile is missed.
 */
export function* aggregateObject(c: Buffer, oid: Buffer): Gen<{ recs: Buffer[]; punches: Buffer[] }> {
  const views = [...(yield* snapsOf(c)), LATEST];
  const op = objPrefix(c, oid);
  const objPunchKeys = (yield* range({ tbl: 'objpunch', start: op, end: prefixEnd(op), keysOnly: true })).map((kv) => kv.key);
  const objPunch = objPunchKeys.map(punchEpoch);
  const doomed: Buffer[] = [];
  let objMinKept = Infinity;
  let dkey: { prefix: Buffer; punches: Array<{ epoch: number; key: Buffer }>; minKept: number } | undefined;
  const closeDkey = () => {
    if (!dkey) return;
    for (const p of dkey.punches) if (!(dkey.minKept < p.epoch)) doomed.push(p.key);
    dkey = undefined;
  };
  let group: { prefix: Buffer; recs: Rec[] } | undefined;
  const closeGroup = () => {
    if (!group || !dkey) return;
    const punches = dkey.punches.map((p) => p.epoch);
    const floorAt = (v: number) => Math.max(maxBelow(objPunch, v), maxBelow(punches, v));
    const keep = recordsToKeep(group.recs, views, floorAt);
    for (const r of group.recs) {
      if (keep.has(r)) { dkey.minKept = Math.min(dkey.minKept, r.epoch); objMinKept = Math.min(objMinKept, r.epoch); }
      else doomed.push(r.key as Buffer);
    }
    group = undefined;
  };
  let from = op;
  const end = prefixEnd(op);
  for (;;) {
    const page = yield* range({ tbl: 'records', start: from, end, limit: 1024 });
    for (const kv of page) {
      const kb = kv.key;
      if (group && kb.length === group.prefix.length + 16 && kb.subarray(0, group.prefix.length).equals(group.prefix)) {
        group.recs.push(toRec(kv));
        continue;
      }
      closeGroup();
      const pk = parseKey(kb);
      const dp = kb.subarray(0, pk.dkeyEnd);
      if (!dkey || !dkey.prefix.equals(dp)) { closeDkey(); dkey = { prefix: Buffer.from(dp), punches: [], minKept: Infinity }; }
      if (pk.kind === KIND_DKEY_PUNCH) { dkey.punches.push({ epoch: pk.epoch, key: kb }); continue; }
      group = { prefix: kb.subarray(0, pk.akeyEnd), recs: [toRec(kv)] };
    }
    if (page.length < 1024) break;
    from = after(page[page.length - 1]!.key);
  }
  closeGroup();
  closeDkey();
  const punches = objPunchKeys.filter((_, i) => !(objMinKept < objPunch[i]!));
  return { recs: doomed, punches };
}

/**
 * Drops the versions of one object no view needs, deciding in the write
 * transaction itself: a decision made from an earlier read would miss a
 * snapshot created in between and delete what it sees. Returns how many
 * records and punches it deleted.
 */
export function* reclaimObject(c: Buffer, oid: Buffer): Gen<number> {
  yield { t: 'lock', conts: [c] };
  const doomed = yield* aggregateObject(c, oid);
  for (const k of doomed.recs) yield* removeRec(k);
  for (const k of doomed.punches) yield { t: 'del', tbl: 'objpunch', key: k };
  return doomed.recs.length + doomed.punches.length;
}

/**
 * Drops up to `limit` entries of a container's touched index that no
 * snapshot can use: those below its oldest snapshot, read in this same
 * transaction (a snapshot created meanwhile keeps its marker and the entries
 * after it), or every entry with `all`. Returns how many it listed and deleted.
 */
export function* pruneTouched(cont: ContId, all: boolean, limit: number): Gen<{ listed: number; deleted: number }> {
  yield { t: 'lock', conts: [uuidBytes(cont)] };
  const snaps = all ? [] : yield* snapsOf(uuidBytes(cont));
  const oldest = snaps.length ? Math.min(...snaps) : Infinity;
  const keys = (yield { t: 'cat-keys', prefix: touchedPrefix(cont), limit }) as string[];
  let deleted = 0;
  for (const key of keys) {
    if (parseTouchedKey(key, cont).epoch >= oldest) break; // keys sort by epoch
    yield { t: 'cat-del', key };
    deleted++;
  }
  return { listed: keys.length, deleted };
}

/** Deletes up to `max` records and object punches of a container; returns how many (0 when done). */
export function* destroySome(c: Buffer, max: number): Gen<number> {
  yield { t: 'lock', conts: [c] };
  const [recs, punches] = yield* ranges([
    { tbl: 'records', start: c, end: prefixEnd(c), limit: max },
    { tbl: 'objpunch', start: c, end: prefixEnd(c), limit: max, keysOnly: true },
  ]);
  for (const kv of recs!) yield* removeRec(kv.key, decodeRecord(kv.value));
  for (const kv of punches!) yield { t: 'del', tbl: 'objpunch', key: kv.key };
  return recs!.length + punches!.length;
}

/** Re-points records whose extents compaction copied (only where the record still points at the old place). */
export function* repoint(moves: Array<{ recKey: Buffer; old: { file: number; pos: number }; ref: { file: number; pos: number; len: number } }>): Gen<void> {
  yield { t: 'lock' };
  for (const m of moves) {
    const raw = yield* getRec(m.recKey);
    const cur = raw && decodeRecord(raw);
    if (cur && cur.t === 'file' && cur.file === m.old.file && cur.pos === m.old.pos) yield* putRec(m.recKey, { t: 'file', ...m.ref });
  }
}

/** Records that point into an extent file, from position `from` on, up to about maxBytes. */
export function* fileRefs(no: number, from: number, maxBytes: number): Gen<{ found: Array<{ recKey: Buffer; rec: { file: number; pos: number; len: number } }>; next: number | undefined }> {
  const found: Array<{ recKey: Buffer; rec: { file: number; pos: number; len: number } }> = [];
  let bytes = 0;
  let start = fileKey(no, from);
  const end = fileKey(no + 1, 0);
  for (;;) {
    const page = yield* range({ tbl: 'byfile', start, end, limit: 256 });
    for (const kv of page) {
      const raw = yield* getRec(kv.value);
      const rec = raw && decodeRecord(raw);
      const pos = Number(kv.key.readBigUInt64BE(4));
      if (!rec || rec.t !== 'file' || rec.file !== no) continue;
      found.push({ recKey: Buffer.from(kv.value), rec });
      bytes += rec.len;
      if (bytes >= maxBytes) return { found, next: pos + 1 };
    }
    if (page.length < 256) return { found, next: undefined };
    start = after(page[page.length - 1]!.key);
  }
}
