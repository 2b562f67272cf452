// Hyperslab arithmetic: which chunks a selection touches, and copying N-D
// blocks between row-major buffers.
import { StrataError } from '../errors.js';

/** Checks start/count against dims; returns the element count. */
export function checkSlab(dims: readonly number[], start: readonly number[], count: readonly number[], what: string): number {
  if (start.length !== dims.length || count.length !== dims.length) {
    throw new StrataError('EINVAL', `${what}: the selection has rank ${start.length}/${count.length}, the dataset rank ${dims.length}`);
  }
  let n = 1;
  for (let i = 0; i < dims.length; i++) {
    const s = start[i]!, c = count[i]!;
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(c) || s < 0 || c < 0) throw new StrataError('EINVAL', `${what}: bad selection start ${s} count ${c} in dimension ${i}`);
    if (s + c > dims[i]!) throw new StrataError('EINVAL', `${what}: selection ${s}:${c} is out of range in dimension ${i} (extent ${dims[i]})`);
    n *= c;
  }
  return n;
}

/** Chunk grid coordinates of the chunks a selection intersects, in row-major order. */
export function* chunksOf(start: readonly number[], count: readonly number[], chunk: readonly number[]): Generator<number[]> {
  const nd = start.length;
  if (nd === 0) { yield []; return; }
  if (count.some((c) => c === 0)) return;
  const lo = start.map((s, i) => Math.floor(s / chunk[i]!));
  const hi = start.map((s, i) => Math.floor((s + count[i]! - 1) / chunk[i]!));
  const cur = lo.slice();
  for (;;) {
    yield cur.slice();
    let d = nd - 1;
    while (d >= 0) {
      if (cur[d]! < hi[d]!) { cur[d]!++; break; }
      cur[d] = lo[d]!;
      d--;
    }
    if (d < 0) return;
  }
}

/** Row-major strides in elements. */
function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

/**
 * Copies a block of `count` elements from src (shaped srcDims, block at srcStart)
 * to dst (shaped dstDims, block at dstStart); es = bytes per element.
 */
export function copyBlock(
  src: Uint8Array, srcDims: readonly number[], srcStart: readonly number[],
  dst: Uint8Array, dstDims: readonly number[], dstStart: readonly number[],
  count: readonly number[], es: number,
): void {
  const nd = count.length;
  if (nd === 0) { dst.set(src.subarray(0, es), 0); return; }
  if (count.some((c) => c === 0)) return;
  const ss = strides(srcDims), ds = strides(dstDims);
  const run = count[nd - 1]! * es;
  // Whole contiguous block: one copy.
  const idx = new Array<number>(nd - 1).fill(0);
  for (;;) {
    let so = 0, doff = 0;
    for (let i = 0; i < nd - 1; i++) { so += (srcStart[i]! + idx[i]!) * ss[i]!; doff += (dstStart[i]! + idx[i]!) * ds[i]!; }
    so = (so + srcStart[nd - 1]!) * es;
    doff = (doff + dstStart[nd - 1]!) * es;
    dst.set(src.subarray(so, so + run), doff);
    let d = nd - 2;
    while (d >= 0) {
      if (idx[d]! < count[d]! - 1) { idx[d]!++; break; }
      idx[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

/** The part of chunk `coords` inside a selection: its start and count (absolute), or undefined if empty. */
export function intersect(coords: readonly number[], chunk: readonly number[], start: readonly number[], count: readonly number[]): { start: number[]; count: number[] } | undefined {
  const s: number[] = [], c: number[] = [];
  for (let i = 0; i < coords.length; i++) {
    const c0 = coords[i]! * chunk[i]!;
    const a = Math.max(c0, start[i]!);
    const b = Math.min(c0 + chunk[i]!, start[i]! + count[i]!);
    if (b <= a) return undefined;
    s.push(a);
    c.push(b - a);
  }
  return { start: s, count: c };
}

/** Parses "start:count,start:count" (or "start" = one element). */
export function parseSlice(text: string, rank: number): { start: number[]; count: number[] } {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== rank) throw new StrataError('EINVAL', `--slice '${text}' has ${parts.length} dimensions, the dataset ${rank}`);
  const start: number[] = [], count: number[] = [];
  for (const p of parts) {
    const m = /^(\d+)(?::(\d+))?$/.exec(p);
    if (!m) throw new StrataError('EINVAL', `bad --slice part '${p}' (expected start:count)`);
    start.push(Number(m[1]));
    count.push(m[2] === undefined ? 1 : Number(m[2]));
  }
  return { start, count };
}
