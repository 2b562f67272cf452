// Content checksums for --verify, sync --checksum and compare: xxhash64 (via
// hash-wasm) over the file's non-zero 4 KiB blocks, each preceded by its
// offset, then the size. Holes and written zeros hash the same (a copy turns
// zeros into holes), and zero ranges are read but never hashed.
import type { FileReader, MStat, Tree } from './tree.js';
import { dataRuns } from './zeros.js';

// hash-wasm is loaded on use: it costs ~38 ms at startup of every command.
const loadHashWasm = () => import('hash-wasm');

const PIECE = 4 << 20;

/** With `reader` (bytes the caller has already, wholeReader) the file is not opened. */
export async function fileChecksum(tree: Tree, rel: string, st: MStat, reader?: FileReader): Promise<string> {
  const { createXXHash64 } = await loadHashWasm();
  const h = await createXXHash64();
  h.init();
  const r = reader ?? await tree.openRead(rel, st);
  const off8 = Buffer.alloc(8);
  const scratch = Buffer.allocUnsafe(Math.min(PIECE, Math.max(1, st.size)));
  try {
    const ranges = (await r.dataRanges(st.size)) ?? [{ offset: 0, length: st.size }];
    for (const e of ranges) {
      for (let off = e.offset; off < e.offset + e.length; off += PIECE) {
        const n = Math.min(PIECE, e.offset + e.length - off);
        const buf = await r.read(off, n, scratch);
        for (const [a, b] of dataRuns(buf)) {
          off8.writeBigUInt64LE(BigInt(off + a));
          h.update(off8);
          h.update(buf.subarray(a, b));
        }
      }
    }
    off8.writeBigUInt64LE(BigInt(st.size));
    h.update(off8);
  } finally {
    await r.close();
  }
  return h.digest('hex');
}
