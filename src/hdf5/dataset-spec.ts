// What a new dataset is made from (DatasetSpec) and its validation into the
// record stored in the dataset's metadata (type, dataspace, dcpl).
import { StrataError } from '../errors.js';
import type { H5Filter, H5RichType, H5Space } from './h5lib/index.js';
import type { DatasetRecord, FillRecord } from './layout.js';
import { isVarString, storedSize, unsupportedReason } from './types.js';

const STORE_CHUNK_BYTES = 1024 * 1024;

export interface DatasetSpec {
  type: H5RichType;
  /** Current dims; 'scalar' for one element, 'null' for none. */
  dims: number[] | 'scalar' | 'null';
  /** Maximum dims (-1 = unlimited); default = dims. */
  maxdims?: number[];
  /** Chunk dims: makes the dataset chunked (required for unlimited or extendible dims). */
  chunk?: number[];
  /** Default: chunked if chunk is given, else contiguous. */
  layout?: 'contiguous' | 'chunked' | 'compact';
  /** Filters recorded for export (data is stored unfiltered). */
  filters?: H5Filter[];
  fill?: { status?: FillRecord['status']; value?: Uint8Array; string?: string; allocTime?: FillRecord['allocTime']; fillTime?: FillRecord['fillTime'] };
  /** Attribute creation order flags (import). */
  attrOrder?: number;
  /** Import: chunks are copied still filtered (a filter is not available); see Dcpl.raw. */
  raw?: boolean;
}

/** Validates a dataset spec and derives what is stored. */
export function datasetRecord(spec: DatasetSpec, where: string): DatasetRecord {
  const type = spec.type;
  const r = unsupportedReason(type);
  if (r) throw new StrataError('ENOTSUP', `${where}: unsupported datatype (${r})`);
  if (type.class === 'compound') {
    for (const m of type.members) if (m.offset + m.type.size > type.size) throw new StrataError('EINVAL', `${where}: compound member '${m.name}' lies outside the ${type.size}-byte type`);
  }
  let space: H5Space;
  if (spec.dims === 'scalar' || spec.dims === 'null') {
    if (spec.chunk) throw new StrataError('EINVAL', `${where}: a ${spec.dims} dataspace cannot be chunked`);
    space = { kind: spec.dims, dims: [], maxdims: [] };
  } else {
    const dims = spec.dims;
    if (dims.length < 1 || dims.length > 32 || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new StrataError('EINVAL', `${where}: bad dims [${dims.join(', ')}]`);
    const maxdims = spec.maxdims ?? dims.slice();
    if (maxdims.length !== dims.length || maxdims.some((m, i) => m !== -1 && (!Number.isSafeInteger(m) || m < dims[i]!))) {
      throw new StrataError('EINVAL', `${where}: bad maxdims [${maxdims.join(', ')}] for dims [${dims.join(', ')}] (each ≥ its dim, or -1 for unlimited)`);
    }
    space = { kind: 'simple', dims: dims.slice(), maxdims };
  }
  const layout = spec.layout ?? (spec.chunk ? 'chunked' : 'contiguous');
  const es = storedSize(type);
  let storeChunk: number[];
  if (layout === 'chunked') {
    const ch = spec.chunk;
    if (!ch || ch.length !== space.dims.length || ch.some((c) => !Number.isSafeInteger(c) || c < 1)) throw new StrataError('EINVAL', `${where}: a chunked dataset needs chunk dims (≥ 1) of rank ${space.dims.length}`);
    if (ch.reduce((a, c) => a * c, es) > 1024 * 1024 * 1024) throw new StrataError('EINVAL', `${where}: chunks larger than 1 GiB are not supported`);
    storeChunk = ch.slice();
  } else {
    if (spec.chunk) throw new StrataError('EINVAL', `${where}: chunk dims given for a ${layout} dataset`);
    if ((space.maxdims ?? []).some((m, i) => m !== space.dims[i])) throw new StrataError('EINVAL', `${where}: an extendible dataset must be chunked`);
    if (space.dims.length === 0) storeChunk = [];
    else {
      const row = space.dims.slice(1).reduce((a, d) => a * d, 1) * es;
      const k = Math.max(1, Math.min(space.dims[0]! || 1, Math.floor(STORE_CHUNK_BYTES / Math.max(1, row))));
      storeChunk = [k, ...space.dims.slice(1).map((d) => Math.max(1, d))];
    }
  }
  const f = spec.fill ?? {};
  const fill: FillRecord = {
    status: f.status ?? (f.value ? 'user' : 'default'),
    allocTime: f.allocTime ?? 'default',
    fillTime: f.fillTime ?? 'ifset',
  };
  if (f.value) {
    if (isVarString(type)) throw new StrataError('ENOTSUP', `${where}: fill values of variable-length strings are not supported`);
    if (f.value.length !== type.size) throw new StrataError('EINVAL', `${where}: the fill value has ${f.value.length} bytes, the type ${type.size}`);
    fill.value = Buffer.from(f.value).toString('base64');
  }
  if (f.string !== undefined) {
    if (!isVarString(type)) throw new StrataError('EINVAL', `${where}: a string fill value is for variable-length string datasets`);
    fill.string = f.string;
    fill.status = f.status ?? 'user';
  }
  if (spec.raw && (layout !== 'chunked' || !spec.filters?.length)) throw new StrataError('EINVAL', `${where}: only chunked, filtered datasets keep their chunks filtered`);
  return { type, space, dcpl: { layout, ...(layout === 'chunked' ? { chunk: storeChunk.slice() } : {}), storeChunk, filters: spec.filters ?? [], fill, ...(spec.raw ? { raw: true } : {}), ...(spec.attrOrder ? { attrOrder: spec.attrOrder } : {}) } };
}
