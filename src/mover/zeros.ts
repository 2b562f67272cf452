// Finding data in a buffer: runs of non-zero 4 KiB blocks. All-zero blocks
// are not written, so holes stay holes (Node has no SEEK_DATA/SEEK_HOLE).
const BLOCK = 4096;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const ZERO_PIECE = Buffer.alloc(4 << 20);

/** Non-zero runs of buf (BLOCK granularity): [start, end) pairs. */
export function dataRuns(buf: Buffer): Array<[number, number]> {
  if (buf.length <= ZERO_PIECE.length && buf.equals(ZERO_PIECE.subarray(0, buf.length))) return [];
  const out: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i < buf.length; i += BLOCK) {
    const end = Math.min(buf.length, i + BLOCK);
    const zero = buf.subarray(i, end).equals(end - i === BLOCK ? ZERO_BLOCK : ZERO_BLOCK.subarray(0, end - i));
    if (!zero && start < 0) start = i;
    if (zero && start >= 0) { out.push([start, i]); start = -1; }
  }
  if (start >= 0) out.push([start, buf.length]);
  return out;
}


