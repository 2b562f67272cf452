// Engine batches of the crash suite: batch i writes a single value and a byte
// array (over 16 KiB every third batch: extent files) under dkey i of one
// object, and punches the array of batch i-5 (so reclaiming runs too).
import type { Batch, Engine } from '../../src/engine/types.js';
import { u64Key } from '../../src/object/index.js';

export const OID = Buffer.alloc(16, 7);
const A = Buffer.from('a');
const V = Buffer.from('v');

export function arrayOf(i: number): Buffer {
  const n = i % 3 === 0 ? 40000 + (i % 7) * 1000 : 500 + i;
  const b = Buffer.alloc(n);
  for (let j = 0; j + 4 <= n; j += 4) b.writeUInt32LE((i * 2654435761 + j) >>> 0, j);
  return b;
}

export function engineBatch(cont: string, i: number): Batch {
  const dkey = u64Key(i);
  const ops: Batch['ops'] = [
    { op: 'put', cont, oid: OID, dkey, akey: V, value: Buffer.from(`value ${i}`) },
    { op: 'write', cont, oid: OID, dkey, akey: A, offset: 0, data: arrayOf(i) },
  ];
  if (i >= 5) ops.push({ op: 'punch-akey', cont, oid: OID, dkey: u64Key(i - 5), akey: A });
  return { ops };
}

/** How many batches are applied (0..n-1), checking each is complete; throws on a torn or out-of-order state. */
export async function appliedBatches(engine: Engine, cont: string): Promise<number> {
  let n = 0;
  for (;; n++) {
    const v = await engine.get({ cont, oid: OID, dkey: u64Key(n), akey: V });
    if (!v) break;
    if (Buffer.from(v).toString() !== `value ${n}`) throw new Error(`batch ${n}: wrong value`);
  }
  for (let i = 0; i < n; i++) {
    const dkey = u64Key(i);
    const punched = i + 5 < n;
    const len = arrayOf(i).length;
    const got = Buffer.from(await engine.read({ cont, oid: OID, dkey, akey: A }, 0, len));
    const want = punched ? Buffer.alloc(len) : arrayOf(i);
    if (!got.equals(want)) throw new Error(`batch ${i} of ${n}: array ${punched ? 'not punched' : 'wrong'}`);
  }
  // Nothing beyond n (batches are applied in order, whole).
  for (let i = n; i < n + 3; i++) {
    if (await engine.get({ cont, oid: OID, dkey: u64Key(i), akey: V })) throw new Error(`batch ${i} present after a gap at ${n}`);
  }
  return n;
}
