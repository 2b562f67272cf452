// Normalizes a batch before it is applied at one epoch: the array writes and
// hole punches of one akey become disjoint pieces (later ops win), and a punch
// drops earlier ops of the same batch that it covers; put-max ops of one akey
// merge into one. After this, every record written at the batch's epoch is
// unambiguous for readers.
import type { KeyPath, WriteOp } from './types.js';
import { akeyPrefix, dkeyPrefix, objPrefix, uuidBytes } from './keys.js';

export interface Piece { offset: number; length: number; data?: Uint8Array }

export type PlannedOp =
  | { op: 'array'; kp: KeyPath; pieces: Piece[] }
  | Exclude<WriteOp, { op: 'write' } | { op: 'punch-range' }>;

function cut(pieces: Piece[], start: number, end: number): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    const pe = p.offset + p.length;
    if (pe <= start || p.offset >= end) { out.push(p); continue; }
    if (p.offset < start) out.push({ offset: p.offset, length: start - p.offset, data: p.data?.subarray(0, start - p.offset) });
    if (pe > end) out.push({ offset: end, length: pe - end, data: p.data?.subarray(end - p.offset) });
  }
  return out;
}

/** Map key of a key prefix: one char per byte, so a prefix's key is a prefix of its keys' (cheaper than hex). */
function bin(b: Buffer): string { return b.toString('latin1'); }

export function planBatch(ops: WriteOp[]): PlannedOp[] {
  const out: Array<PlannedOp | undefined> = [];
  const prefixes: Array<string | undefined> = []; // prefixOf(out[i]), computed once
  const arrays = new Map<string, number>(); // akey prefix -> index in out
  const maxes = new Map<string, number>(); // akey prefix -> index in out of its put-max, while nothing else touched the akey
  const prefixOf = (op: PlannedOp): string | undefined => {
    if (op.op === 'cat-put' || op.op === 'cat-del') return undefined;
    const kp = op.op === 'array' ? op.kp : op;
    const c = uuidBytes(kp.cont);
    if ('akey' in kp) return bin(akeyPrefix(c, kp.oid, kp.dkey, kp.akey));
    if ('dkey' in kp) return bin(dkeyPrefix(c, kp.oid, kp.dkey));
    return bin(objPrefix(c, kp.oid));
  };
  const push = (op: PlannedOp, prefix: string | undefined) => { out.push(op); prefixes.push(prefix); };
  const drop = (scope: string, exact: boolean) => {
    for (let i = 0; i < out.length; i++) {
      const o = out[i];
      if (!o) continue;
      const p = prefixes[i];
      if (p === undefined) continue;
      if (exact ? p === scope : p.startsWith(scope)) out[i] = undefined;
    }
    for (const [k, i] of arrays) if (out[i] === undefined) arrays.delete(k);
  };
  for (const op of ops) {
    if (op.op === 'write' || op.op === 'punch-range') {
      const length = op.op === 'write' ? op.data.length : op.length;
      if (length === 0) continue;
      const key = bin(akeyPrefix(uuidBytes(op.cont), op.oid, op.dkey, op.akey));
      let idx = arrays.get(key);
      if (idx === undefined) {
        idx = out.length;
        push({ op: 'array', kp: { cont: op.cont, oid: op.oid, dkey: op.dkey, akey: op.akey }, pieces: [] }, key);
        arrays.set(key, idx);
      }
      const entry = out[idx] as { op: 'array'; kp: KeyPath; pieces: Piece[] };
      entry.pieces = cut(entry.pieces, op.offset, op.offset + length);
      entry.pieces.push({ offset: op.offset, length, data: op.op === 'write' ? op.data : undefined });
      continue;
    }
    if (op.op === 'put-max') {
      // Several put-max of one akey (a directory's mtime touched by many
      // creates) are one put-max of the largest value.
      const key = prefixOf(op)!;
      const i = maxes.get(key);
      const prev = i === undefined ? undefined : out[i];
      if (prev && prev.op === 'put-max') {
        if (op.value > prev.value) out[i!] = { ...prev, value: op.value };
        continue;
      }
      maxes.set(key, out.length);
      push(op, key);
      continue;
    }
    if (op.op === 'punch-akey' || op.op === 'put') {
      const key = prefixOf(op)!;
      maxes.delete(key);
      if (op.op === 'punch-akey') drop(key, true);
      push(op, key);
      continue;
    }
    const key = prefixOf(op);
    if (op.op === 'punch-dkey' || op.op === 'punch-obj') drop(key!, false);
    push(op, key);
  }
  return out.filter((o): o is PlannedOp => o !== undefined);
}
