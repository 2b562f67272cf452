// Record values and the rules that decide what a reader at an epoch sees.
// Pure functions shared by every engine implementation.
import { StrataError } from '../errors.js';

export type RecordValue =
  | { t: 'single'; data: Uint8Array }
  | { t: 'tomb' } // akey punched
  | { t: 'inline'; data: Uint8Array } // array bytes kept in the index
  | { t: 'file'; file: number; pos: number; len: number } // array bytes in an extent file
  | { t: 'blob'; id: number; len: number } // array bytes in a database blob row (PostgreSQL engine)
  | { t: 'hole'; len: number } // array range punched
  | { t: 'dpunch' }; // dkey punched (kind 0x00 key)

const T_SINGLE = 1, T_TOMB = 3, T_INLINE = 4, T_FILE = 5, T_HOLE = 6, T_DPUNCH = 7, T_BLOB = 8;

export function encodeRecord(v: RecordValue): Buffer {
  switch (v.t) {
    case 'single': return Buffer.concat([Buffer.from([T_SINGLE]), v.data]);
    case 'tomb': return Buffer.from([T_TOMB]);
    case 'dpunch': return Buffer.from([T_DPUNCH]);
    case 'inline': return Buffer.concat([Buffer.from([T_INLINE]), v.data]);
    case 'hole': { const b = Buffer.alloc(9); b[0] = T_HOLE; b.writeBigUInt64BE(BigInt(v.len), 1); return b; }
    case 'file': {
      const b = Buffer.alloc(21);
      b[0] = T_FILE;
      b.writeUInt32BE(v.file, 1);
      b.writeBigUInt64BE(BigInt(v.pos), 5);
      b.writeBigUInt64BE(BigInt(v.len), 13);
      return b;
    }
    case 'blob': {
      const b = Buffer.alloc(17);
      b[0] = T_BLOB;
      b.writeBigUInt64BE(BigInt(v.id), 1);
      b.writeBigUInt64BE(BigInt(v.len), 9);
      return b;
    }
  }
}

export function decodeRecord(raw: Uint8Array): RecordValue {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  switch (b[0]) {
    case T_SINGLE: return { t: 'single', data: b.subarray(1) };
    case T_TOMB: return { t: 'tomb' };
    case T_DPUNCH: return { t: 'dpunch' };
    case T_INLINE: return { t: 'inline', data: b.subarray(1) };
    case T_HOLE: return { t: 'hole', len: Number(b.readBigUInt64BE(1)) };
    case T_FILE: return { t: 'file', file: b.readUInt32BE(1), pos: Number(b.readBigUInt64BE(5)), len: Number(b.readBigUInt64BE(13)) };
    case T_BLOB: return { t: 'blob', id: Number(b.readBigUInt64BE(1)), len: Number(b.readBigUInt64BE(9)) };
    default: throw new StrataError('EIO', `corrupt record (type ${b[0]})`);
  }
}

export function isArrayRecord(v: RecordValue): boolean {
  return v.t === 'inline' || v.t === 'file' || v.t === 'blob' || v.t === 'hole';
}

/** Whether the record holds array bytes (not a hole). */
export function isDataRecord(v: RecordValue): boolean {
  return v.t === 'inline' || v.t === 'file' || v.t === 'blob';
}

export function extentLength(v: RecordValue): number {
  return v.t === 'inline' ? v.data.length : v.t === 'file' || v.t === 'blob' || v.t === 'hole' ? v.len : 0;
}

/** One version (or extent of a version) of an akey. */
export interface Rec {
  epoch: number;
  offset: number;
  v: RecordValue;
  key?: Uint8Array;
}

/**
 * A punch at epoch p hides records with epoch < p (records of the same batch,
 * written after the punch, carry the same epoch and stay visible).
 * `floor` is the newest dkey/object punch epoch <= the view, 0 if none.
 */
export function visibleRecords(recs: Rec[], view: number, floor: number): Rec[] {
  let tomb = floor;
  for (const r of recs) if (r.v.t === 'tomb' && r.epoch <= view && r.epoch > tomb) tomb = r.epoch;
  return recs.filter((r) => r.v.t !== 'tomb' && r.epoch <= view && r.epoch >= tomb);
}

/** The single value seen at view, if the akey holds one. */
export function visibleSingle(recs: Rec[], view: number, floor: number): Uint8Array | undefined {
  let best: Rec | undefined;
  for (const r of visibleRecords(recs, view, floor)) if (!best || r.epoch > best.epoch) best = r;
  return best && best.v.t === 'single' ? best.v.data : undefined;
}

/** A half-open byte range [start, end). */
export interface Span { start: number; end: number }

/** Subtracts `cut` from a sorted list of disjoint spans. */
export function subtractSpan(spans: Span[], cut: Span): Span[] {
  const out: Span[] = [];
  for (const s of spans) {
    if (s.end <= cut.start || s.start >= cut.end) { out.push(s); continue; }
    if (s.start < cut.start) out.push({ start: s.start, end: cut.start });
    if (s.end > cut.end) out.push({ start: cut.end, end: s.end });
  }
  return out;
}

/** Adds `add` to a sorted list of disjoint spans, merging neighbours. */
export function addSpan(spans: Span[], add: Span): Span[] {
  const out: Span[] = [];
  let cur = { ...add };
  let placed = false;
  for (const s of spans) {
    if (s.end < cur.start) out.push(s);
    else if (s.start > cur.end) {
      if (!placed) { out.push(cur); placed = true; }
      out.push(s);
    } else cur = { start: Math.min(s.start, cur.start), end: Math.max(s.end, cur.end) };
  }
  if (!placed) out.push(cur);
  return out;
}

/**
 * Paint plan for reading [start, end) of an array at a view: for each visible
 * extent (newest first) the parts of it not hidden by newer extents.
 */
export function paintPlan(recs: Rec[], view: number, floor: number, want: Span): Array<{ rec: Rec; span: Span }> {
  const vis = visibleRecords(recs, view, floor).filter((r) => isArrayRecord(r.v));
  vis.sort((a, b) => b.epoch - a.epoch || a.offset - b.offset);
  let open: Span[] = [want];
  const plan: Array<{ rec: Rec; span: Span }> = [];
  for (const r of vis) {
    if (open.length === 0) break;
    const ext = { start: r.offset, end: r.offset + extentLength(r.v) };
    for (const o of open) {
      const s = Math.max(o.start, ext.start), e = Math.min(o.end, ext.end);
      if (s < e) plan.push({ rec: r, span: { start: s, end: e } });
    }
    open = subtractSpan(open, ext);
  }
  return plan.filter((p) => p.rec.v.t !== 'hole');
}

/** Data ranges (not holes) visible at view, merged and sorted. */
export function visibleExtents(recs: Rec[], view: number, floor: number): Span[] {
  const vis = visibleRecords(recs, view, floor).filter((r) => isArrayRecord(r.v));
  vis.sort((a, b) => a.epoch - b.epoch || a.offset - b.offset);
  let spans: Span[] = [];
  for (const r of vis) {
    const sp = { start: r.offset, end: r.offset + extentLength(r.v) };
    if (sp.end === sp.start) continue;
    spans = r.v.t === 'hole' ? subtractSpan(spans, sp) : addSpan(spans, sp);
  }
  return spans;
}

/** Whether the akey holds something (a value or array data) at view. */
export function akeyLive(recs: Rec[], view: number, floor: number): 'single' | 'array' | undefined {
  const vis = visibleRecords(recs, view, floor);
  if (vis.length === 0) return undefined;
  let best = vis[0]!;
  for (const r of vis) if (r.epoch > best.epoch) best = r;
  if (best.v.t === 'single') return 'single';
  return vis.some((r) => isDataRecord(r.v)) ? 'array' : undefined;
}

/**
 * Aggregation: which records of one akey some view still needs. Views are the
 * container's snapshot epochs plus the latest state. floorAt(view) gives the
 * dkey/object punch floor of a view. Returns the records to keep.
 */
export function recordsToKeep(recs: Rec[], views: number[], floorAt: (view: number) => number): Set<Rec> {
  const keep = new Set<Rec>();
  for (const view of views) {
    const floor = floorAt(view);
    const vis = visibleRecords(recs, view, floor);
    if (vis.length === 0) continue;
    const newest = vis.reduce((a, b) => (b.epoch > a.epoch ? b : a));
    if (newest.v.t === 'single') { keep.add(newest); continue; }
    // Array: extents not fully covered by newer ones in this view.
    const arr = vis.filter((r) => isArrayRecord(r.v)).sort((a, b) => b.epoch - a.epoch || a.offset - b.offset);
    let covered: Span[] = [];
    for (const r of arr) {
      const sp = { start: r.offset, end: r.offset + extentLength(r.v) };
      if (sp.end > sp.start && !fullyCovered(sp, covered)) keep.add(r);
      covered = addSpan(covered, sp);
    }
  }
  // Holes only matter over kept data that is older than them.
  for (const r of [...keep]) {
    if (r.v.t !== 'hole') continue;
    const sp = { start: r.offset, end: r.offset + r.v.len };
    const hides = [...keep].some((o) => o.v.t !== 'hole' && o.epoch < r.epoch && o.offset < sp.end && o.offset + extentLength(o.v) > sp.start);
    if (!hides) keep.delete(r);
  }
  // A tombstone is needed while some older record is still kept.
  let oldestKept = Infinity;
  for (const r of keep) oldestKept = Math.min(oldestKept, r.epoch);
  for (const r of recs) if (r.v.t === 'tomb' && oldestKept < r.epoch) keep.add(r);
  return keep;
}

function fullyCovered(sp: Span, covered: Span[]): boolean {
  return covered.reduce((acc, c) => subtractSpan(acc, c), [sp]).length === 0;
}
