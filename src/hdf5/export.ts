// Export of an HDF5 container (a snapshot of it) to a native .h5 file that
// the HDF5 tools read: groups, datasets with their type, dataspace, layout,
// chunking, filters and fill value, hard/soft/external links, attributes.
// Data streams chunk by chunk (only chunks that hold data); the file is
// written under a temporary name and renamed into place at the end.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/types.js';
import { StrataError, isStrataError } from '../errors.js';
import { openContainer, resolveSnapshot } from '../container/index.js';
import { runSnapshot, cleanupStale } from '../container/pending.js';
import { H5File, standInFilter, type Group, type Dataset, type NamedType, type H5RichType, type PathRef } from './h5lib/index.js';
import { H5Store, H5Group, H5Dataset, H5NamedType } from './store.js';
import type { H5Node } from './attributes.js';
import type { AttrRecord, LinkValue } from './layout.js';
import { isReference, decodeRefs, nestedRefs, fileNestedRefs, type RefTarget } from './references.js';
import { ObjectId } from '../object/index.js';
import { isVarString, hasVlenData } from './types.js';
import { copyBlock, intersect } from './slab.js';

export interface ExportOptions {
  /** Export this snapshot (name or epoch) instead of one taken for the run. */
  snap?: string;
  /** Replace an existing file (default true, like cp). */
  overwrite?: boolean;
  onProgress?: (bytes: number) => void;
}

export interface ExportResult {
  file: string;
  epoch: number;
  groups: number;
  datasets: number;
  links: number;
  attributes: number;
  bytes: number;
  seconds: number;
}

const join = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** Attribute targets: a file, group, dataset or named datatype. */
type AttrTarget = Pick<Dataset, 'writeAttrRaw' | 'writeAttrVlen'>;

/**
 * Named datatypes committed in the file so far, by OID. A dataset or
 * attribute may use one before its link is reached: it is committed
 * anonymously then, and linked under its name when the walk gets there.
 */
class NamedTypes {
  private open = new Map<string, NamedType>();
  constructor(private store: H5Store, private f: H5File, private res: ExportResult, readonly work: RefWork) {}

  /** The descriptor to create with: a named type stands for the committed type itself. */
  async typeFor(t: H5RichType): Promise<H5RichType> {
    if (t.named === undefined) return t;
    let nt = this.open.get(t.named);
    if (!nt) {
      const obj = await this.store.openObject(ObjectId.parse(t.named), `(named datatype ${t.named})`);
      if (!(obj instanceof H5NamedType)) throw new StrataError('EIO', `corrupt HDF5 container ${this.store.label}: a type names object ${t.named}, which is not a named datatype`);
      nt = await this.commit(obj, null);
    }
    return nt.ref(t);
  }

  /** The named datatype `obj` under `name` in `loc` (its first link). */
  async link(obj: H5NamedType, loc: Group | H5File, name: string): Promise<void> {
    const nt = this.open.get(obj.oid.toString());
    if (nt) nt.link(loc, name);
    else await this.commit(obj, loc, name);
  }

  private async commit(obj: H5NamedType, loc: Group | H5File | null, name?: string): Promise<NamedType> {
    const nt = (loc ?? this.f).commitType(loc ? name! : null, await this.typeFor(obj.type));
    this.open.set(obj.oid.toString(), nt);
    await writeAttrs(obj, nt, this.res, this, () => ({ target: nt, close: () => undefined }));
    return nt;
  }

  close(): void {
    for (const nt of this.open.values()) nt.close();
    this.open.clear();
  }
}

/**
 * References are written once the whole tree exists (their targets must): the
 * OID -> first path written of every object, and the writes left for the end.
 */
interface RefWork {
  made: Map<string, string>;
  later: Array<() => Promise<void>>;
  /** The new file's address of an object a reference inside another type points at (libhdf5 1.10: what the reference holds). */
  addrOf: (r: RefTarget, where: string) => bigint;
}

/** A reference as stored, turned into the path of the same object in the new file. */
function refPath(work: RefWork, r: RefTarget | null, where: string): PathRef | null {
  if (!r) return null;
  const p = work.made.get(r.oid);
  if (p === undefined) throw new StrataError('EIO', `${where}: a reference to object ${r.oid} (${r.path}), which the container does not hold`);
  return { path: p, ...(r.region ? { region: r.region } : {}) };
}

/** How to reach an object of the new file again after the walk (its handle is closed by then). */
type Reopen = () => { target: AttrTarget & { writeAttrRefs: Dataset['writeAttrRefs'] }; close(): void };

/**
 * An object's attributes: by name, one at a time; when the object tracks their
 * creation order (`ordered`), all of them, in that order (the untracked after, by name).
 */
async function* attrsInOrder(src: H5Node, ordered: boolean): AsyncGenerator<[string, AttrRecord]> {
  if (!ordered) {
    for (const name of await src.attrNames()) yield [name, await src.getAttr(name)];
    return;
  }
  const attrs: Array<[string, AttrRecord]> = [];
  for (const name of await src.attrNames()) attrs.push([name, await src.getAttr(name)]);
  attrs.sort(([, x], [, y]) => (x.co ?? Infinity) - (y.co ?? Infinity));
  yield* attrs;
}

/** A group's links: streamed in name order, or, when it tracks their creation order, all of them in that order. */
async function* linksInOrder(src: H5Group, ordered: boolean): AsyncGenerator<[string, LinkValue]> {
  if (!ordered) { yield* src.links(); return; }
  const links: Array<[string, LinkValue]> = [];
  for await (const e of src.links()) links.push(e);
  links.sort(([, x], [, y]) => (x.co ?? Infinity) - (y.co ?? Infinity));
  yield* links;
}

async function writeAttrs(src: H5Node, dst: AttrTarget, res: ExportResult, named: NamedTypes, reopen: Reopen, ordered = false): Promise<void> {
  const work = named.work;
  for await (const [name, a] of attrsInOrder(src, ordered)) {
    const type = await named.typeFor(a.type);
    if (isReference(a.type)) {
      const where = `${src.path} (attribute '${name}')`;
      work.later.push(async () => {
        const refs = decodeRefs(a.type, a.raw ?? Buffer.alloc(0), a.heap ?? Buffer.alloc(0)).map((r) => refPath(work, r, where));
        const o = reopen();
        try { o.target.writeAttrRefs(name, type, a.space, refs); } finally { o.close(); }
      });
    } else if (a.heap && nestedRefs(a.type)) {
      const where = `${src.path} (attribute '${name}')`;
      work.later.push(async () => {
        const raw = Buffer.from(a.raw ?? Buffer.alloc(0));
        const heap = Buffer.from(a.heap!);
        fileNestedRefs(a.type, raw, heap, (r) => work.addrOf(r, where));
        const o = reopen();
        try { o.target.writeAttrVlen(name, type, a.space, raw, heap); } finally { o.close(); }
      });
    } else if (a.heap) dst.writeAttrVlen(name, type, a.space, a.raw ?? Buffer.alloc(0), a.heap);
    else dst.writeAttrRaw(name, type, a.space, a.strings ?? a.raw ?? Buffer.alloc(0));
    res.attributes++;
  }
}

/** Reference data (after the walk): each stored chunk's references become references to the same objects in the new file. */
async function writeRefData(src: H5Dataset, reopen: () => { target: Dataset; close(): void }, work: RefWork, res: ExportResult): Promise<void> {
  const o = reopen();
  try {
    for await (const { part, elems, heap } of vlenBlocks(src)) {
      o.target.writeRefs(part.start, part.count, decodeRefs(src.type, elems, heap).map((r) => refPath(work, r, src.path)));
      res.bytes += elems.length;
    }
  } finally { o.close(); }
}

/**
 * The stored chunks of a dataset with variable-length elements, each cut to
 * the dataset's extent: the block's fixed-size elements and the chunk's heap.
 */
async function* vlenBlocks(src: H5Dataset): AsyncGenerator<{ part: { start: number[]; count: number[] }; elems: Buffer; heap: Buffer }> {
  const dims = src.space.kind === 'scalar' ? [] : src.dims;
  const ch = src.storeChunk;
  const es = src.elementSize;
  const all = dims.map(() => 0);
  for await (const c of src.chunkCoords()) {
    const part = intersect(c, ch, all, dims);
    if (!part) continue;
    const { fixed, heap } = await src.readVlenChunk(c);
    const elems = Buffer.alloc(part.count.reduce((a, x) => a * x, 1) * es);
    copyBlock(fixed, ch, part.start.map((s, i) => s - c[i]! * ch[i]!), elems, part.count, part.count.map(() => 0), part.count, es);
    yield { part, elems, heap };
  }
}

/** Variable-length data (other than top-level strings): chunk by chunk, each with its own heap. */
async function writeVlenData(src: H5Dataset, dst: Dataset, res: ExportResult, work?: RefWork): Promise<void> {
  for await (const { part, elems, heap } of vlenBlocks(src)) {
    if (work) fileNestedRefs(src.type, elems, heap, (r) => work.addrOf(r, src.path));
    dst.writeVlen(part.start, part.count, elems, heap);
    res.bytes += elems.length + heap.length;
  }
}

/** Chunks kept filtered: written as they are (direct chunk write), with their filter masks. */
async function writeRawChunks(src: H5Dataset, dst: Dataset, res: ExportResult): Promise<void> {
  const ch = src.storeChunk;
  for await (const c of src.chunkCoords()) {
    const r = await src.readRawChunk(c);
    if (!r) continue;
    dst.writeChunkRaw(c.map((x, i) => x * ch[i]!), r.mask, r.data);
    res.bytes += r.data.length;
  }
}

async function writeData(src: H5Dataset, dst: Dataset, res: ExportResult): Promise<void> {
  const sp = src.space;
  if (sp.kind === 'null') return;
  if (src.record.dcpl.raw) return writeRawChunks(src, dst, res);
  if (hasVlenData(src.type)) return writeVlenData(src, dst, res);
  if (sp.kind === 'scalar') {
    let any = false;
    for await (const _ of src.chunkCoords()) { any = true; break; }
    if (!any) return;
    if (isVarString(src.type)) dst.writeStrings([], [], await src.readStrings([], []));
    else dst.writeRaw([], [], await src.readSlab([], []));
    res.bytes += src.elementSize;
    return;
  }
  const dims = src.dims;
  const ch = src.storeChunk;
  const all = dims.map(() => 0);
  for await (const c of src.chunkCoords()) {
    const part = intersect(c, ch, all, dims);
    if (!part) continue; // beyond the extent (cannot happen after a shrink, which drops them)
    if (isVarString(src.type)) {
      dst.writeStrings(part.start, part.count, await src.readStrings(part.start, part.count));
    } else {
      const raw = await src.readSlab(part.start, part.count);
      dst.writeRaw(part.start, part.count, raw);
      res.bytes += raw.length;
    }
  }
}

async function exportTree(store: H5Store, f: H5File, res: ExportResult, opts: ExportOptions): Promise<void> {
  const made = new Map<string, string>(); // OID -> first path written
  made.set(store.root().oid.toString(), '/');
  const addrs = new Map<string, bigint>();
  const work: RefWork = {
    made, later: [],
    addrOf: (r, where) => {
      const p = refPath(work, r, where)!.path;
      let a = addrs.get(p);
      if (a === undefined) { a = BigInt(f.objectAddr(p)); addrs.set(p, a); }
      return a;
    },
  };
  const named = new NamedTypes(store, f, res, work);
  const walk = async (src: H5Group, dst: Group | H5File, p: string) => {
    const order = await src.order();
    await writeAttrs(src, dst, res, named, () => {
      const g = p === '/' ? f : f.openGroup(p);
      return { target: g, close: () => { if (g !== f) (g as Group).close(); } };
    }, !!order.attrs);
    for await (const [name, l] of linksInOrder(src, !!order.links)) {
      const here = join(p, name);
      if (l.t === 'soft') { dst.createLink(name, { type: 'soft', target: l.target }); res.links++; continue; }
      if (l.t === 'external') { dst.createLink(name, { type: 'external', file: l.file, target: l.target }); res.links++; continue; }
      const first = made.get(l.oid);
      if (first !== undefined) { dst.createLink(name, { type: 'hard', target: first }); res.links++; continue; }
      made.set(l.oid, here);
      const obj = await store.openObject(ObjectId.parse(l.oid), here);
      if (obj instanceof H5Group) {
        const o = await obj.order();
        const g = o.links || o.attrs ? dst.createGroupEx(name, { linkOrder: o.links, attrOrder: o.attrs }) : dst.createGroup(name);
        try { res.groups++; await walk(obj, g, here); } finally { g.close(); }
      } else if (obj instanceof H5NamedType) {
        await named.link(obj, dst, name);
        res.links++;
      } else {
        const r = obj.record;
        // Chunks kept filtered need their pipeline even where a filter is missing.
        if (r.dcpl.raw) for (const x of r.dcpl.filters) standInFilter(x.id, x.name);
        const ds = dst.createDatasetEx(name, await named.typeFor(r.type), {
          space: r.space,
          layout: r.dcpl.layout,
          ...(r.dcpl.layout === 'chunked' ? { chunk: r.dcpl.chunk ?? r.dcpl.storeChunk } : {}),
          filters: r.dcpl.filters,
          ...(r.dcpl.attrOrder ? { attrOrder: r.dcpl.attrOrder } : {}),
          fill: {
            status: r.dcpl.fill.status, allocTime: r.dcpl.fill.allocTime, fillTime: r.dcpl.fill.fillTime,
            ...(r.dcpl.fill.value ? { value: Buffer.from(r.dcpl.fill.value, 'base64') } : {}), ...(r.dcpl.fill.string !== undefined ? { string: r.dcpl.fill.string } : {}),
          },
        });
        try {
          res.datasets++;
          const reopen = () => { const d = f.openDataset(here); return { target: d, close: () => d.close() }; };
          if (isReference(obj.type)) work.later.push(() => writeRefData(obj, reopen, work, res));
          else if (nestedRefs(obj.type)) {
            work.later.push(async () => {
              const o = reopen();
              try { await writeVlenData(obj, o.target, res, work); } finally { o.close(); }
            });
          } else await writeData(obj, ds, res);
          await writeAttrs(obj, ds, res, named, reopen, !!r.dcpl.attrOrder);
          opts.onProgress?.(res.bytes);
        } finally { ds.close(); }
      }
    }
  };
  try {
    await walk(store.root(), f, '/');
    for (const step of work.later) await step();
  } finally {
    named.close();
  }
}

/** Exports a snapshot of HDF5 container `cont` to `file` (a directory gets <label>.h5). */
export async function exportH5(engine: Engine, pool: string, cont: string, file: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const t0 = Date.now();
  const c = await openContainer(engine, pool, cont);
  if (c.type !== 'HDF5') throw new StrataError('EINVAL', `container ${c.label} is a ${c.type} container, not HDF5`);
  let out = path.resolve(file);
  try { if (fs.statSync(out).isDirectory()) out = path.join(out, `${c.label}.h5`); } catch { /* a new file */ }
  if (!fs.existsSync(path.dirname(out))) throw new StrataError('ENOENT', `${file}: its parent directory does not exist`);
  if (opts.overwrite === false && fs.existsSync(out)) throw new StrataError('EEXIST', `${out}: already exists`);
  let epoch: number;
  let release = async () => undefined as void;
  if (opts.snap !== undefined) {
    const isEpoch = /^\d+$/.test(opts.snap) && !(await engine.listSnapshots(c.uuid)).some((s) => s.name === opts.snap);
    epoch = await resolveSnapshot(c, isEpoch ? { epc: opts.snap } : { snap: opts.snap });
  } else {
    await cleanupStale(engine);
    c.require('w', 'take a snapshot for the export');
    const s = await runSnapshot(engine, c.uuid);
    epoch = s.epoch;
    release = s.release;
  }
  // An unpredictable temporary name, created exclusively (O_EXCL never
  // follows a symlink planted there): the export never writes through one.
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.strata-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tmp`);
  const res: ExportResult = { file: out, epoch, groups: 0, datasets: 0, links: 0, attributes: 0, bytes: 0, seconds: 0 };
  try {
    const store = await H5Store.open(c, { epoch });
    const ub = await store.userBlock();
    const order = await store.root().order();
    const f = H5File.create(tmp, { ...(ub ? { userblock: ub.length } : {}), linkOrder: order.links, attrOrder: order.attrs });
    try {
      await exportTree(store, f, res, opts);
    } finally {
      f.close();
    }
    if (ub) {
      // libhdf5 reserves the space and leaves it to the application: the bytes go in after the file is closed
      const fd = fs.openSync(tmp, 'r+');
      try { fs.writeSync(fd, ub, 0, ub.length, 0); } finally { fs.closeSync(fd); }
    }
    fs.renameSync(tmp, out);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if (isStrataError(e)) throw e;
    throw new StrataError('EIO', `export to ${out}: ${(e as Error).message}`, { cause: e });
  } finally {
    await release();
  }
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}
