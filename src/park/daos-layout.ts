// The daos-serialize layout of mpiFileUtils (`Version` 0.0, docs/park.md):
// key tables with variable-length keys and single values, one dataset per
// array akey with an encoded selection attribute per extent. Read for files
// of mpiFileUtils and of earlier strata versions; written with
// `serialize --layout daos` for DAOS's daos-deserialize. Each vlen value and
// each dataset costs about 1 KiB, so strata's own files use the packed
// layout (packed-layout.ts).
import type { Engine } from '../engine/types.js';
import { ObjectId } from '../object/index.js';
import { decodeSelection, type H5File } from '../hdf5/h5lib/index.js';
import { OID_DATA, DKEY_DATA, AKEY_DATA, OID_T, DKEY_T, AKEY_T, type OidRow, type DkeyRow, type AkeyRow } from './format.js';
import { walkContainer, interrupted, countObject, type WalkOptions, type RankStats } from './walk.js';
import { Table, rows, ranges, fail, fileBytes, isU64, isVbytes, tableLength, SLICE, ROWS_BATCH, type OpSink } from './tables.js';

const EMPTY = Buffer.alloc(0);

/**
 * The storage of one array's dataset. A dense array (its extents cover
 * [0, end)) is stored contiguous: exactly its bytes, no chunk index. A sparse
 * one is chunked (64 KiB chunks, never larger than the array) so that its
 * holes take no space and a lone byte costs one small chunk, not a MiB.
 */
const SPARSE_CHUNK = 64 * 1024;

function arrayLayout(end: number, exts: ReadonlyArray<{ offset: number; length: number }>): { dims: number[]; maxdims?: number[]; chunk?: number[]; fillNever: true } {
  let covered = 0;
  for (const e of exts) covered += e.length;
  if (covered >= end) return { dims: [end], fillNever: true };
  return { dims: [end], maxdims: [-1], chunk: [Math.max(1, Math.min(end, SPARSE_CHUNK))], fillNever: true };
}

/** Writes the objects of a walk into the key tables and per-array datasets of `f`. */
export async function writeDaosObjects(engine: Engine, f: H5File, walk: WalkOptions & { contUuid: string }, st: RankStats): Promise<void> {
  const tableOpts = { dims: [0], maxdims: [-1], chunk: [ROWS_BATCH] };
  const oids = new Table(f.createDataset(OID_DATA, OID_T, tableOpts), OID_T);
  const dkeys = new Table(f.createDataset(DKEY_DATA, DKEY_T, tableOpts), DKEY_T);
  const akeys = new Table(f.createDataset(AKEY_DATA, AKEY_T, tableOpts), AKEY_T);
  for await (const it of walkContainer(engine, walk.contUuid, walk)) {
    if (it.kind === 'object') {
      countObject(st, it.oid);
      oids.push({ 'OID Hi': it.oid.hi, 'OID Low': it.oid.lo, 'Dkey Offset': BigInt(dkeys.count) } satisfies OidRow);
    } else if (it.kind === 'dkey') {
      st.dkeys++;
      dkeys.push({ 'Dkey Value': Buffer.from(it.dkey), 'Akey Offset': BigInt(akeys.count), 'Record KV Value': EMPTY } satisfies DkeyRow);
    } else if (it.kind === 'single') {
      st.akeys++;
      st.singles++;
      st.bytes += it.value.length;
      akeys.push({ 'Akey Value': Buffer.from(it.akey), 'Dataset ID': BigInt(akeys.count), 'Record Single Value': Buffer.from(it.value) } satisfies AkeyRow);
    } else {
      st.akeys++;
      st.arrays++;
      const idx = akeys.count;
      akeys.push({ 'Akey Value': Buffer.from(it.akey), 'Dataset ID': BigInt(idx), 'Record Single Value': EMPTY } satisfies AkeyRow);
      const ds = f.createDataset(String(idx), { opaque: 1 }, arrayLayout(it.end, it.extents));
      try {
        let n = 0;
        for (const e of it.extents) {
          st.extents++;
          for (let off = e.offset; off < e.offset + e.length; off += SLICE) {
            const len = Math.min(SLICE, e.offset + e.length - off);
            if (walk.signal?.aborted) throw interrupted();
            ds.writeSlab([off], [len], await engine.read(it.key, off, len, walk.epoch));
            st.bytes += len;
          }
          const sel = ds.encodeSelection([e.offset], [e.length]);
          ds.writeAttr(`A-${idx}${n}`, { opaque: sel.length }, [sel]);
          n++;
        }
      } finally {
        ds.close();
      }
    }
  }
  oids.flush();
  dkeys.flush();
  akeys.flush();
}

/**
 * An upper bound of the bytes of this layout's files (see serializedBytesBound):
 * each key and single value with its row and heap overhead, each array
 * dataset with its object header, selection attributes and storage as
 * arrayLayout lays it out. Above what libhdf5 1.10 writes (measured: about
 * 1.1 KiB a small file).
 */
export async function daosBytesBound(engine: Engine, contUuid: string, epoch?: number): Promise<number> {
  const FILE = 128 * 1024; // superblock, userblock, tables' headers and first chunks, properties, ACL
  const KEY_ROW = 64; // a row, its vlen's heap object, a share of a heap collection
  const DATASET = 1024; // object header, its name in the root group (symbol table, heap), alignment
  const EXTENT_ATTR = 128; // the A-<idx><n> selection attribute (dense storage beyond 8 included)
  let total = FILE;
  for await (const it of walkContainer(engine, contUuid, { epoch })) {
    if (it.kind === 'object') total += KEY_ROW;
    else if (it.kind === 'dkey') total += KEY_ROW + it.dkey.length;
    else if (it.kind === 'single') total += KEY_ROW + it.akey.length + it.value.length;
    else total += KEY_ROW + it.akey.length + DATASET + EXTENT_ATTR * it.extents.length + storageBytes(it.end, it.extents);
  }
  return Math.ceil(total * 1.02);
}

/** Bytes of an array's storage under arrayLayout: the whole array when dense, else each touched chunk. */
function storageBytes(end: number, exts: ReadonlyArray<{ offset: number; length: number }>): number {
  const l = arrayLayout(end, exts);
  if (!l.chunk) return end;
  const chunk = l.chunk[0]!;
  let chunks = 0;
  let last = -1;
  for (const e of exts) {
    if (e.length <= 0) continue;
    const first = Math.max(Math.floor(e.offset / chunk), last + 1);
    const lastOf = Math.floor((e.offset + e.length - 1) / chunk);
    if (lastOf >= first) chunks += lastOf - first + 1;
    last = Math.max(last, lastOf);
  }
  // The chunk index: a v1 B-tree node (about 2 KiB for 64 chunks) per 64 chunks.
  return chunks * chunk + (Math.ceil(chunks / 64) || 1) * 2560;
}

/** Loads the objects of a daos-serialize file into the sink's container. */
export async function loadDaosObjects(f: H5File, sink: OpSink): Promise<void> {
  const file = f.path;
  const nObj = tableLength(f, OID_DATA, { 'OID Hi': isU64, 'OID Low': isU64, 'Dkey Offset': isU64 });
  const nDk = tableLength(f, DKEY_DATA, { 'Dkey Value': isVbytes, 'Akey Offset': isU64, 'Record KV Value': isVbytes });
  const nAk = tableLength(f, AKEY_DATA, { 'Akey Value': isVbytes, 'Dataset ID': isU64, 'Record Single Value': isVbytes });
  // An array's dataset may be sparse, declared beyond what it stores; the extents read from it never are.
  const size = fileBytes(f);
  let extentBytes = 0;

  const dk = ranges<DkeyRow>(f, DKEY_DATA, 'Akey Offset', { rows: nAk, what: 'akeys' });
  const ak = rows<AkeyRow>(f, AKEY_DATA);
  let dkPos = 0, akPos = 0;
  let oIndex = 0;
  for (const { row: o, end } of ranges<OidRow>(f, OID_DATA, 'Dkey Offset', { rows: nDk, what: 'dkeys' })) {
    let oid: ObjectId;
    try { oid = new ObjectId(o['OID Hi'], o['OID Low']); } catch { throw fail(file, `'${OID_DATA}' row ${oIndex}: bad OID`); }
    const oidBytes = oid.toBytes();
    sink.result.objects++;
    for (; dkPos < end; dkPos++) {
      const next = dk.next();
      if (next.done) throw fail(file, `'${DKEY_DATA}' ends early`);
      const { row: d, end: aEnd } = next.value;
      if (d['Record KV Value'].length) throw fail(file, `'${DKEY_DATA}' row ${dkPos}: KV records (daos_kv objects) are not supported`, 'ENOTSUP');
      const dkey = d['Dkey Value'];
      for (; akPos < aEnd; akPos++) {
        const next = ak.next();
        if (next.done) throw fail(file, `'${AKEY_DATA}' ends early`);
        const a = next.value;
        const kp = { cont: sink.cont, oid: oidBytes, dkey, akey: a['Akey Value'] };
        const single = a['Record Single Value'];
        const dsName = String(a['Dataset ID']);
        if (single.length > 0 || !f.has(dsName)) {
          await sink.add({ op: 'put', ...kp, value: single }, single.length);
          continue;
        }
        const ds = f.openDataset(dsName);
        try {
          const info = ds.info();
          if (info.type.class !== 'opaque' || info.type.size !== 1 || info.dims.length !== 1) {
            throw fail(file, `dataset '${dsName}': records of ${info.type.size} bytes (${info.type.class}) are not supported (strata arrays are byte arrays)`, 'ENOTSUP');
          }
          const len = info.dims[0]!;
          for (const an of ds.attrNames()) {
            if (!/^A-\d+$/.test(an)) throw fail(file, `dataset '${dsName}': unexpected attribute '${an}'`);
            const v = ds.readAttr(an).values[0];
            if (!Buffer.isBuffer(v)) throw fail(file, `dataset '${dsName}': attribute '${an}' is not an encoded selection`);
            let sel;
            try { sel = decodeSelection(v); } catch (e) { throw fail(file, `dataset '${dsName}': attribute '${an}': ${(e as Error).message}`); }
            for (const [st, cnt] of sel.blocks) {
              const s = st[0]!, c = cnt[0]!;
              if (st.length !== 1 || s + c > len) throw fail(file, `dataset '${dsName}': extent ${s}+${c} lies outside the dataset (${len} records)`);
              extentBytes += c;
              if (extentBytes > size) throw fail(file, `dataset '${dsName}': extents of ${extentBytes} bytes, more than the file holds (${size} bytes)`);
              for (let off = s; off < s + c; off += SLICE) {
                const n = Math.min(SLICE, s + c - off);
                await sink.add({ op: 'write', ...kp, offset: off, data: ds.readSlab([off], [n]) }, n);
              }
            }
          }
        } finally {
          ds.close();
        }
      }
    }
    oIndex++;
  }
  if (oIndex !== nObj || dkPos !== nDk || akPos !== nAk) throw fail(file, `the key tables do not line up (${oIndex}/${nObj} objects, ${dkPos}/${nDk} dkeys, ${akPos}/${nAk} akeys read)`);
}
