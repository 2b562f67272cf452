// Self-describing file contents for the load suite. A version of a file is
// (writer, version, size): a 16-byte header naming them, then bytes drawn from
// a generator seeded by (writer, version). Any reader can therefore tell a
// complete version from a torn or mixed one without asking the writer.
import crypto from 'node:crypto';
import { rng } from '../rng.js';

/** Mixes a seed with a small integer (a worker's id) into an independent stream. */
export function mix(seed: number, n: number): number {
  let h = (seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export const HEADER = 16;
const MAGIC = 0x4c44; // "LD"

/** The bytes of version `ver` of writer `pid`, `size` bytes long (size >= HEADER). */
export function content(pid: number, ver: number, size: number): Buffer {
  if (size < HEADER) throw new Error(`content size ${size} < ${HEADER}`);
  const b = Buffer.allocUnsafe(size);
  let x = mix(pid * 1_000_003 + 17, ver) | 1;
  let i = HEADER;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    b.writeInt32LE(x | 0, i);
  }
  for (; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 0xff; }
  b.writeUInt16LE(MAGIC, 0);
  b.writeUInt16LE(pid, 2);
  b.writeUInt32LE(ver, 4);
  b.writeUInt32LE(size, 8);
  b.writeUInt32LE(mix(pid, ver ^ size), 12);
  return b;
}

export function sha1(b: Uint8Array): string {
  return crypto.createHash('sha1').update(b).digest('hex');
}

export type Verdict =
  | { kind: 'ok'; pid: number; ver: number; size: number }
  /** Bytes of one version, some of them zeros or missing at the end: the inode was removed while it was read. */
  | { kind: 'vanished'; pid?: number; ver?: number; size?: number }
  | { kind: 'torn'; why: string };

/**
 * Classifies what a reader got for a file written only whole by `owner`.
 * A file replaced or unlinked by another process while it is read loses its
 * data under the reader (docs/dfs.md: only handles of the unlinking process
 * keep an unlinked inode), so bytes of one version with zeros in place of
 * some of them, or cut short, are "vanished"; anything else is torn.
 */
export function verify(buf: Buffer, owner: number): Verdict {
  const allZero = (b: Buffer) => b.every((c) => c === 0);
  if (buf.length < HEADER || allZero(buf.subarray(0, HEADER))) {
    return allZero(buf) ? { kind: 'vanished' } : { kind: 'torn', why: `${buf.length} bytes without a header` };
  }
  const magic = buf.readUInt16LE(0);
  const pid = buf.readUInt16LE(2);
  const ver = buf.readUInt32LE(4);
  const size = buf.readUInt32LE(8);
  if (magic !== MAGIC || pid !== owner || size < HEADER || size > 64 << 20 || buf.readUInt32LE(12) !== mix(pid, ver ^ size)) {
    return { kind: 'torn', why: `bad header (magic ${magic.toString(16)}, writer ${pid}, version ${ver}, size ${size})` };
  }
  const want = content(pid, ver, size);
  if (buf.length === size && buf.equals(want)) return { kind: 'ok', pid, ver, size };
  if (buf.length > size) return { kind: 'torn', why: `${buf.length} bytes, header says ${size} (version ${ver})` };
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== want[i] && buf[i] !== 0) {
      return { kind: 'torn', why: `version ${ver} (${size} bytes) differs at byte ${i} of ${buf.length}` };
    }
  }
  return { kind: 'vanished', pid, ver, size };
}
