// Looking inside an HDF5 container: open one (at a snapshot, read-only, or
// for writing), list members (recursively), dump a dataset or a slice of it.
import type { Engine } from '../engine/types.js';
import { StrataError } from '../errors.js';
import { openContainer, resolveSnapshot } from '../container/index.js';
import { H5Store, H5Group, H5Dataset, H5NamedType } from './store.js';
import { typeName, isVarString, type H5Value } from './types.js';
import type { H5RichType, H5Space } from './h5lib/index.js';
import { parseSlice } from './slab.js';
import type { Dcpl } from './layout.js';

/** Opens the HDF5 model of a container: latest (write: true to modify) or a snapshot (read-only). */
export async function openH5Container(engine: Engine, pool: string, cont: string, opts: { write?: boolean; snap?: string } = {}): Promise<H5Store> {
  const c = await openContainer(engine, pool, cont, { write: !!opts.write && opts.snap === undefined });
  let epoch: number | undefined;
  if (opts.snap !== undefined) {
    const isEpoch = /^\d+$/.test(opts.snap) && !(await engine.listSnapshots(c.uuid)).some((s) => s.name === opts.snap);
    epoch = await resolveSnapshot(c, isEpoch ? { epc: opts.snap } : { snap: opts.snap });
  }
  return H5Store.open(c, { epoch });
}

export interface ListEntry {
  path: string;
  kind: 'group' | 'dataset' | 'datatype' | 'soft' | 'external';
  oid?: string;
  /** soft/external links */
  target?: string;
  file?: string;
  /** datasets */
  type?: string;
  dims?: number[] | 'scalar' | 'null';
  maxdims?: number[];
  layout?: string;
  chunk?: number[];
  filters?: string[];
  /** Chunks kept as filtered in the file (a filter was not available at import): values cannot be read here. */
  rawChunks?: boolean;
  attributes?: number;
}

function datasetEntry(d: H5Dataset, p: string, attrs: number): ListEntry {
  const r = d.record;
  return {
    path: p, kind: 'dataset', oid: d.oid.toString(), type: typeName(r.type),
    dims: r.space.kind === 'simple' ? r.space.dims : r.space.kind,
    ...(r.space.kind === 'simple' && (r.space.maxdims ?? []).some((m, i) => m !== r.space.dims[i]) ? { maxdims: r.space.maxdims } : {}),
    layout: r.dcpl.layout, ...(r.dcpl.chunk ? { chunk: r.dcpl.chunk } : {}),
    ...(r.dcpl.filters.length ? { filters: r.dcpl.filters.map((f) => f.name || `filter ${f.id}`) } : {}),
    ...(r.dcpl.raw ? { rawChunks: true } : {}),
    attributes: attrs,
  };
}

function typeEntry(t: H5NamedType, p: string, attrs: number): ListEntry {
  return { path: p, kind: 'datatype', oid: t.oid.toString(), type: typeName(t.type), attributes: attrs };
}

/** Lists a group's members (recursively with `recursive`), or describes one dataset. */
export async function* listH5(store: H5Store, path: string, opts: { recursive?: boolean } = {}): AsyncGenerator<ListEntry> {
  const top = await store.open(path);
  if (top instanceof H5Dataset) { yield datasetEntry(top, top.path, (await top.attrNames()).length); return; }
  if (top instanceof H5NamedType) { yield typeEntry(top, top.path, (await top.attrNames()).length); return; }
  const seen = new Set<string>([top.oid.toString()]);
  const walk = async function* (g: H5Group): AsyncGenerator<ListEntry> {
    for (const m of await g.members()) {
      const p = g.path === '/' ? `/${m.name}` : `${g.path}/${m.name}`;
      if (m.kind === 'soft') { yield { path: p, kind: 'soft', target: m.target }; continue; }
      if (m.kind === 'external') { yield { path: p, kind: 'external', file: m.file, target: m.target }; continue; }
      const o = await store.open(p);
      const attrs = (await o.attrNames()).length;
      if (o instanceof H5Dataset) { yield datasetEntry(o, p, attrs); continue; }
      if (o instanceof H5NamedType) { yield typeEntry(o, p, attrs); continue; }
      yield { path: p, kind: 'group', oid: m.oid, attributes: attrs };
      if (opts.recursive && !seen.has(m.oid)) { seen.add(m.oid); yield* walk(o); }
    }
  };
  yield* walk(top);
}

export interface DumpResult {
  path: string;
  type: H5RichType;
  typeName: string;
  space: H5Space;
  dcpl: Dcpl;
  start: number[];
  count: number[];
  values: H5Value[];
  attributes: Record<string, H5Value[]>;
}

const MAX_DUMP = 1 << 20;

/** Reads a dataset (or a --slice of it) as JS values, with its attributes. */
export async function dumpH5(store: H5Store, path: string, opts: { slice?: string } = {}): Promise<DumpResult> {
  const d = await store.open(path);
  if (!(d instanceof H5Dataset)) throw new StrataError(d.kind === 'group' ? 'EISDIR' : 'EINVAL', `${store.label}:${path}: is a ${d.kind === 'group' ? 'group' : 'named datatype'} (use h5 ls)`);
  let start: number[] = [], count: number[] = [];
  if (d.space.kind === 'simple') {
    if (opts.slice !== undefined) ({ start, count } = parseSlice(opts.slice, d.rank));
    else { start = d.dims.map(() => 0); count = d.dims.slice(); }
  } else if (opts.slice !== undefined) {
    throw new StrataError('EINVAL', `${store.label}:${path}: a ${d.space.kind} dataset has no dimensions to slice`);
  }
  const n = count.reduce((a, c) => a * c, 1);
  if (n > MAX_DUMP) throw new StrataError('EFBIG', `${store.label}:${path}: ${n} elements; dump at most ${MAX_DUMP} at once (use --slice)`);
  const values = d.space.kind === 'null' ? [] : await d.readValues(start, count);
  const attributes: Record<string, H5Value[]> = {};
  for (const a of await d.attrNames()) attributes[a] = await d.getAttrValues(a);
  void isVarString;
  return { path: d.path, type: d.type, typeName: typeName(d.type), space: d.space, dcpl: d.record.dcpl, start, count, values, attributes };
}
