// What both park layouts use to write and read their tables and to load a
// rank file's objects: a 1-D table appended in batches, a table streamed back
// in batches (and one whose offset column cuts the next table into ranges), compound field checks, errors that name the file, and the
// engine writes of a load gathered into bounded transactions.
import type { Engine, WriteOp } from '../engine/types.js';
import { StrataError } from '../errors.js';
import { isDeviceRecord } from '../dfs/layout.js';
import fs from 'node:fs';
import type { Dataset, DatasetInfo, H5File, H5Type, H5TypeInfo } from '../hdf5/h5lib/index.js';

export const ROWS_BATCH = 1024;
export const SLICE = 4 * 1024 * 1024;
const TX_BYTES = 8 * 1024 * 1024;
const TX_OPS = 2000;

/** A 1-D extendible table written in batches of ROWS_BATCH rows. */
export class Table {
  private rows: unknown[] = [];
  private n = 0;
  constructor(private ds: Dataset, private type: H5Type) {}
  push(row: unknown): void {
    this.rows.push(row);
    if (this.rows.length >= ROWS_BATCH) this.flush();
  }
  flush(): void {
    this.n = this.ds.appendRows(this.type, this.rows, this.n);
    this.rows = [];
  }
  get count(): number { return this.n + this.rows.length; }
}

/** Streams the rows of a 1-D table. */
export function* rows<T>(f: H5File, name: string): Generator<T> {
  const ds = f.openDataset(name);
  try {
    const n = ds.info().dims[0] ?? 0;
    for (let at = 0; at < n; at += ROWS_BATCH) yield* ds.readRows<T>(at, Math.min(ROWS_BATCH, n - at));
  } finally {
    ds.close();
  }
}

/** A row of a table whose offset column cuts the next table into ranges: it owns rows [start, end) there. */
export interface Ranged<T> { row: T; index: number; start: number; end: number }

/**
 * Streams the rows of `table` with the range of the next table each owns:
 * from its `column` to the next row's `column` (one row of lookahead; the
 * last row's range ends at `next.rows`). Checked as they stream: a range
 * starts where the one before ended (the first at 0), does not run backwards
 * and stays inside the next table. The caller checks that the last one ends
 * there (nothing left over) once it has read the rows.
 */
export function* ranges<T>(f: H5File, table: string, column: keyof T & string, next: { rows: number; what: string }): Generator<Ranged<T>> {
  const it = rows<T>(f, table);
  let cur = it.next();
  let index = 0;
  let pos = 0;
  while (!cur.done) {
    const row = cur.value;
    cur = it.next();
    const start = Number(row[column]);
    const end = cur.done ? next.rows : Number(cur.value[column]);
    if (start !== pos || end < start || end > next.rows) {
      throw fail(f.path, `'${table}' row ${index}: ${column} ${start}..${end} is inconsistent (expected to start at ${pos}, ${next.rows} ${next.what})`);
    }
    yield { row, index, start, end };
    pos = end;
    index++;
  }
}

export function fail(file: string, why: string, code: 'EINVAL' | 'ENOTSUP' = 'EINVAL'): StrataError {
  return new StrataError(code, `${file}: ${why}`);
}

export function isU64(t: H5TypeInfo | undefined): boolean { return t?.class === 'integer' && t.size === 8 && !t.signed; }
export function isUint(size: number): (t: H5TypeInfo | undefined) => boolean {
  return (t) => t?.class === 'integer' && t.size === size && !t.signed;
}
export function isVbytes(t: H5TypeInfo | undefined): boolean { return t?.class === 'vlen' && t.base?.size === 1 && (t.base.class === 'opaque' || t.base.class === 'integer'); }

export function checkCompound(file: string, ds: string, t: H5TypeInfo, want: Record<string, (t: H5TypeInfo) => boolean>): void {
  if (t.class !== 'compound') throw fail(file, `dataset '${ds}' is not a compound dataset (corrupted?)`);
  for (const [name, ok] of Object.entries(want)) {
    const m = t.members?.find((x) => x.name === name);
    if (!m) throw fail(file, `dataset '${ds}' lacks the field '${name}'`);
    if (!ok(m.type)) throw fail(file, `dataset '${ds}' field '${name}' has an unexpected type (${m.type.class}, ${m.type.size} bytes)`);
  }
}

/** The size of a parking file: what its datasets can hold at most (neither layout compresses). */
export function fileBytes(f: H5File): number {
  return fs.statSync(f.path).size;
}

/**
 * Refuses a dataset that declares more than the file holds. HDF5 lets a
 * dataset be extended without storing anything (unallocated chunks read as
 * fill bytes): a reader going by the declared size would allocate a single
 * value of that size, or loop over rows and bytes no file ever held.
 */
export function checkDeclared(f: H5File, name: string, i: DatasetInfo): void {
  const declared = i.dims.reduce((a, d) => a * d, 1) * i.type.size;
  const size = fileBytes(f);
  if (declared > size) throw fail(f.path, `'${name}' declares ${declared} bytes, more than the file holds (${size} bytes)`);
}

/** Row count of a 1-D table whose rows have the given fields (no more than the file can hold). */
export function tableLength(f: H5File, name: string, want: Record<string, (t: H5TypeInfo) => boolean>): number {
  const ds = f.openDataset(name);
  try {
    const i = ds.info();
    checkCompound(f.path, name, i.type, want);
    if (i.dims.length !== 1) throw fail(f.path, `table '${name}' is not one-dimensional`);
    checkDeclared(f, name, i);
    return i.dims[0]!;
  } finally {
    ds.close();
  }
}

/** Writes of a load, committed in transactions of at most 8 MiB / 2000 operations. */
export class OpSink {
  private ops: WriteOp[] = [];
  private bytes = 0;
  /** What was loaded: objects, and bytes of values and extents. */
  readonly result = { objects: 0, bytes: 0 };
  /** devices: whether the load may create device inodes (root only, as DFS's create paths: docs/dfs.md). */
  constructor(private engine: Engine, readonly cont: string, private readonly devices = false) {}
  async add(op: WriteOp, bytes: number): Promise<void> {
    if (!this.devices && op.op === 'put' && isDeviceRecord(op.dkey, op.akey, op.value)) {
      throw new StrataError('EPERM', 'holds a device: only root may create a device (CAP_MKNOD)');
    }
    this.ops.push(op);
    this.bytes += bytes + 64;
    this.result.bytes += bytes;
    if (this.bytes >= TX_BYTES || this.ops.length >= TX_OPS) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.ops.length === 0) return;
    const batch = this.ops;
    this.ops = [];
    this.bytes = 0;
    await this.engine.commit({ ops: batch });
  }
}
