// strata's packed layout (`Version` 1.0, docs/park.md): four tables of
// fixed-size rows (Objects, Dkeys, Akeys, Extents) and one byte dataset
// (Bytes) holding every dkey, akey, single value and extent's bytes in walk
// order. No variable-length values (each cost a global-heap object of 16 bytes
// plus padding, and a 40-byte row) and no dataset per array (an object header
// of ~300 bytes and a link): a file of 4 KiB costs ~300 bytes in all instead
// of ~1.1 KiB. Holes take no space (only extents are stored).
import type { Engine } from '../engine/types.js';
import { ObjectId } from '../object/index.js';
import type { Dataset, H5File } from '../hdf5/h5lib/index.js';
import {
  OBJECTS, DKEYS, AKEYS, EXTENTS, BYTES, OBJECTS_T, DKEYS_T, AKEYS_T, EXTENTS_T, KIND_SINGLE, KIND_ARRAY,
  type ObjectRow, type PackedDkeyRow, type PackedAkeyRow, type ExtentRow,
} from './format.js';
import { walkContainer, interrupted, countObject, type WalkOptions, type RankStats } from './walk.js';
import { Table, rows, ranges, fail, checkDeclared, isU64, isUint, tableLength, SLICE, ROWS_BATCH, type OpSink } from './tables.js';

/** Chunk of the Bytes dataset: the last, partial chunk is stored whole, so this is the most a file wastes there. */
const BYTES_CHUNK = 64 * 1024;
const ROW_BYTES = { object: 24, dkey: 12, akey: 13, extent: 16 };

/** Appends to the Bytes dataset in whole slices (SLICE is a multiple of BYTES_CHUNK: chunks are written once, whole). */
class ByteStream {
  private buf = Buffer.allocUnsafe(SLICE);
  private used = 0;
  private written = 0;
  constructor(private ds: Dataset) {}
  append(b: Uint8Array): void {
    for (let at = 0; at < b.length;) {
      const n = Math.min(b.length - at, SLICE - this.used);
      this.buf.set(b.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === SLICE) this.spill();
    }
  }
  end(): void {
    if (this.used) this.spill();
  }
  private spill(): void {
    this.ds.setExtent([this.written + this.used]);
    this.ds.writeSlab([this.written], [this.used], this.buf.subarray(0, this.used));
    this.written += this.used;
    this.used = 0;
  }
}

/** Reads the Bytes dataset front to back, SLICE bytes at a time. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private bufAt = 0;
  pos = 0;
  constructor(private ds: Dataset, readonly total: number, private file: string) {}
  take(n: number, what: () => string): Buffer {
    if (n > this.total - this.pos) throw fail(this.file, `${what()}: ${n} bytes at ${this.pos} lie beyond '${BYTES}' (${this.total} bytes)`);
    let b: Buffer;
    if (this.pos + n <= this.bufAt + this.buf.length) {
      b = this.buf.subarray(this.pos - this.bufAt, this.pos - this.bufAt + n);
    } else if (n >= SLICE) {
      b = this.ds.readSlab([this.pos], [n]);
    } else {
      this.bufAt = this.pos;
      this.buf = this.ds.readSlab([this.pos], [Math.min(SLICE, this.total - this.pos)]);
      b = this.buf.subarray(0, n);
    }
    this.pos += n;
    return b;
  }
}

/** Writes the objects of a walk into the tables and the Bytes dataset of `f`. */
export async function writePackedObjects(engine: Engine, f: H5File, walk: WalkOptions & { contUuid: string }, st: RankStats): Promise<void> {
  const tableOpts = { dims: [0], maxdims: [-1], chunk: [ROWS_BATCH] };
  const objects = new Table(f.createDataset(OBJECTS, OBJECTS_T, tableOpts), OBJECTS_T);
  const dkeys = new Table(f.createDataset(DKEYS, DKEYS_T, tableOpts), DKEYS_T);
  const akeys = new Table(f.createDataset(AKEYS, AKEYS_T, tableOpts), AKEYS_T);
  const extents = new Table(f.createDataset(EXTENTS, EXTENTS_T, tableOpts), EXTENTS_T);
  const bytesDs = f.createDataset(BYTES, { opaque: 1 }, { dims: [0], maxdims: [-1], chunk: [BYTES_CHUNK], fillNever: true });
  try {
    const bytes = new ByteStream(bytesDs);
    for await (const it of walkContainer(engine, walk.contUuid, walk)) {
      if (it.kind === 'object') {
        countObject(st, it.oid);
        objects.push({ 'OID Hi': it.oid.hi, 'OID Low': it.oid.lo, 'Dkey Offset': BigInt(dkeys.count) } satisfies ObjectRow);
      } else if (it.kind === 'dkey') {
        st.dkeys++;
        dkeys.push({ 'Key Length': it.dkey.length, 'Akey Offset': BigInt(akeys.count) } satisfies PackedDkeyRow);
        bytes.append(it.dkey);
      } else if (it.kind === 'single') {
        st.akeys++;
        st.singles++;
        st.bytes += it.value.length;
        akeys.push({ 'Key Length': it.akey.length, 'Kind': KIND_SINGLE, 'Size': BigInt(it.value.length) } satisfies PackedAkeyRow);
        bytes.append(it.akey);
        bytes.append(it.value);
      } else {
        st.akeys++;
        st.arrays++;
        akeys.push({ 'Key Length': it.akey.length, 'Kind': KIND_ARRAY, 'Size': BigInt(it.extents.length) } satisfies PackedAkeyRow);
        bytes.append(it.akey);
        for (const e of it.extents) {
          st.extents++;
          extents.push({ 'Offset': BigInt(e.offset), 'Length': BigInt(e.length) } satisfies ExtentRow);
          for (let off = e.offset; off < e.offset + e.length; off += SLICE) {
            const len = Math.min(SLICE, e.offset + e.length - off);
            if (walk.signal?.aborted) throw interrupted();
            bytes.append(await engine.read(it.key, off, len, walk.epoch));
            st.bytes += len;
          }
        }
      }
    }
    objects.flush();
    dkeys.flush();
    akeys.flush();
    extents.flush();
    bytes.end();
  } finally {
    bytesDs.close();
  }
}

/**
 * An upper bound of the bytes of this layout's files (see serializedBytesBound):
 * every key, value and extent's bytes, every row, the chunk index of every
 * table (v1 B-tree nodes of about 2 KiB for up to 64 chunks, half full after
 * splits: measured 75 bytes a chunk, 128 is above it), and per file its fixed part (FILE: superblock, user block,
 * object headers, the partial last chunk of each table and of Bytes,
 * properties, ACL, user attributes).
 */
export async function packedBytesBound(engine: Engine, contUuid: string, o: { epoch?: number; ranks?: number }): Promise<number> {
  const FILE = 256 * 1024;
  const CHUNK_INDEX = 128;
  let bytes = 0;
  const n = { object: 0, dkey: 0, akey: 0, extent: 0 };
  for await (const it of walkContainer(engine, contUuid, { epoch: o.epoch })) {
    n[it.kind === 'single' || it.kind === 'array' ? 'akey' : it.kind]++;
    if (it.kind === 'dkey') bytes += it.dkey.length;
    else if (it.kind === 'single') bytes += it.akey.length + it.value.length;
    else if (it.kind === 'array') {
      bytes += it.akey.length;
      n.extent += it.extents.length;
      for (const e of it.extents) bytes += e.length;
    }
  }
  let total = (o.ranks ?? 1) * FILE + bytes + Math.ceil(bytes / BYTES_CHUNK) * CHUNK_INDEX;
  for (const k of Object.keys(n) as Array<keyof typeof n>) total += n[k] * ROW_BYTES[k] + Math.ceil(n[k] / ROWS_BATCH) * CHUNK_INDEX;
  return Math.ceil(total * 1.02);
}

const OBJECT_FIELDS = { 'OID Hi': isU64, 'OID Low': isU64, 'Dkey Offset': isU64 };
const DKEY_FIELDS = { 'Key Length': isUint(4), 'Akey Offset': isU64 };
const AKEY_FIELDS = { 'Key Length': isUint(4), 'Kind': isUint(1), 'Size': isU64 };
const EXTENT_FIELDS = { 'Offset': isU64, 'Length': isU64 };

function safe(file: string, what: () => string, v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(file, `${what()}: ${v} is out of range`);
  return Number(v);
}

/** Loads the objects of a packed file into the sink's container; every row is checked against the tables and Bytes as it streams. */
export async function loadPackedObjects(f: H5File, sink: OpSink): Promise<void> {
  const file = f.path;
  const nObj = tableLength(f, OBJECTS, OBJECT_FIELDS);
  const nDk = tableLength(f, DKEYS, DKEY_FIELDS);
  const nAk = tableLength(f, AKEYS, AKEY_FIELDS);
  const nEx = tableLength(f, EXTENTS, EXTENT_FIELDS);
  const bytesDs = f.openDataset(BYTES);
  try {
    const bi = bytesDs.info();
    if (bi.type.class !== 'opaque' || bi.type.size !== 1 || bi.dims.length !== 1) throw fail(file, `'${BYTES}' is not a 1-D dataset of bytes`);
    checkDeclared(f, BYTES, bi);
    const bytes = new ByteReader(bytesDs, bi.dims[0]!, file);
    const dk = ranges<PackedDkeyRow>(f, DKEYS, 'Akey Offset', { rows: nAk, what: 'akeys' });
    const ak = rows<PackedAkeyRow>(f, AKEYS);
    const ex = rows<ExtentRow>(f, EXTENTS);
    let dkPos = 0, akPos = 0, exPos = 0;
    let oIndex = 0;
    // Serialize writes objects, and the keys of each, in the engine's key order (byte order):
    // a key not after the one before is a duplicate (its records would merge) or out of place.
    let prevOid: Buffer | undefined;
    for (const { row: o, end } of ranges<ObjectRow>(f, OBJECTS, 'Dkey Offset', { rows: nDk, what: 'dkeys' })) {
      let oid: ObjectId;
      try { oid = new ObjectId(o['OID Hi'], o['OID Low']); } catch { throw fail(file, `'${OBJECTS}' row ${oIndex}: bad OID`); }
      const oidBytes = oid.toBytes();
      if (prevOid && Buffer.compare(Buffer.from(oidBytes), prevOid) <= 0) throw fail(file, `'${OBJECTS}' row ${oIndex}: OID ${oid} is not after the one before (a duplicate, or out of order)`);
      prevOid = Buffer.from(oidBytes);
      sink.result.objects++;
      let prevDkey: Buffer | undefined;
      for (; dkPos < end; dkPos++) {
        const next = dk.next();
        if (next.done) throw fail(file, `'${DKEYS}' ends early`);
        const { row: d, end: aEnd } = next.value;
        const dkey = bytes.take(d['Key Length'], () => `'${DKEYS}' row ${dkPos}`);
        if (prevDkey && Buffer.compare(dkey, prevDkey) <= 0) throw fail(file, `'${DKEYS}' row ${dkPos}: key is not after the one before (a duplicate, or out of order)`);
        prevDkey = Buffer.from(dkey);
        let prevAkey: Buffer | undefined;
        for (; akPos < aEnd; akPos++) {
          const a = ak.next();
          if (a.done) throw fail(file, `'${AKEYS}' ends early`);
          const where = () => `'${AKEYS}' row ${akPos}`;
          const kp = { cont: sink.cont, oid: oidBytes, dkey, akey: bytes.take(a.value['Key Length'], where) };
          if (prevAkey && Buffer.compare(kp.akey, prevAkey) <= 0) throw fail(file, `${where()}: key is not after the one before (a duplicate, or out of order)`);
          prevAkey = Buffer.from(kp.akey);
          const size = safe(file, where, a.value['Size']);
          if (a.value['Kind'] === KIND_SINGLE) {
            await sink.add({ op: 'put', ...kp, value: bytes.take(size, where) }, size);
            continue;
          }
          if (a.value['Kind'] !== KIND_ARRAY) throw fail(file, `${where()}: unknown Kind ${a.value['Kind']}`);
          if (size > nEx - exPos) throw fail(file, `${where()}: ${size} extents from row ${exPos}, but '${EXTENTS}' has ${nEx} rows`);
          let prevEnd = 0;
          for (let i = 0; i < size; i++, exPos++) {
            const e = ex.next();
            if (e.done) throw fail(file, `'${EXTENTS}' ends early`);
            const at = () => `'${EXTENTS}' row ${exPos}`;
            const offset = safe(file, at, e.value['Offset']), length = safe(file, at, e.value['Length']);
            if (offset + length > Number.MAX_SAFE_INTEGER) throw fail(file, `${at()}: extent ${offset}+${length} is out of range`);
            if (offset < prevEnd) throw fail(file, `${at()}: extent ${offset}+${length} overlaps the one before (which ends at ${prevEnd}), or is out of order`);
            prevEnd = offset + length;
            for (let off = offset; off < offset + length; off += SLICE) {
              const len = Math.min(SLICE, offset + length - off);
              await sink.add({ op: 'write', ...kp, offset: off, data: bytes.take(len, at) }, len);
            }
          }
        }
      }
      oIndex++;
    }
    if (oIndex !== nObj || dkPos !== nDk || akPos !== nAk || exPos !== nEx || bytes.pos !== bytes.total) {
      throw fail(file, `the tables do not line up (${oIndex}/${nObj} objects, ${dkPos}/${nDk} dkeys, ${akPos}/${nAk} akeys, ${exPos}/${nEx} extents, ${bytes.pos}/${bytes.total} bytes read)`);
    }
  } finally {
    bytesDs.close();
  }
}
