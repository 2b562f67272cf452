// Import of a native .h5 file into a new HDF5 container, object by object:
// groups, datasets (type, dataspace, layout, filters, fill value), hard links
// (an object reached twice becomes a second link to the same OID), soft and
// external links, attributes. Data streams in tiles of whole chunks (about
// 1 MiB, or one chunk when chunks are larger); chunks holding nothing but the
// fill value are not stored.
//
// The container appears only at the end: objects are written under a fresh
// UUID without a catalog record (recorded as pending, like `container
// deserialize`), then createContainer() registers it. On failure the data is
// destroyed; a killed import is cleaned up by the next import or parking command.
import fs from 'node:fs';
import crypto from 'node:crypto';
import type { Engine } from '../engine/types.js';
import { StrataError, isStrataError } from '../errors.js';
import {
  Container, createContainer, resolvePool, requirePoolPerm, currentCaller, checkLabel, containerPropDefaults, openContainer,
  type ContainerRecord, type ContPerm,
} from '../container/index.js';
import { listObjects } from '../object/index.js';
import { cleanupStale, me, pendingKey } from '../container/pending.js';
import { H5File, type Dataset, type Group, type H5Link, type DatasetMeta, type FileRef } from './h5lib/index.js';
import { H5Store, type H5Group, type H5Dataset, type H5NamedType } from './store.js';
import type { H5Node } from './attributes.js';
import { storedType } from './named-type.js';
import { isReference, encodeRefs, nestedRefs, storeNestedRefs, type RefTarget } from './references.js';
import { unsupportedReason, isVarString, hasVlenData, storedSize } from './types.js';
import { chunksOf, intersect } from './slab.js';
import { probeH5 } from './probe.js';

const TILE_BYTES = 1024 * 1024;

export interface ImportOptions {
  /** Copy what is supported and skip the rest (reported through onWarn) instead of failing. */
  skipUnsupported?: boolean;
  onWarn?: (msg: string) => void;
  /** Called after each dataset with the bytes copied so far. */
  onProgress?: (bytes: number) => void;
  /** The probe's watchdog: how long libhdf5 may make no progress on the file (ms, default 60 s). */
  h5StallMs?: number;
}

export interface ImportResult {
  uuid: string;
  label: string;
  groups: number;
  datasets: number;
  links: number;
  attributes: number;
  bytes: number;
  skipped: Array<{ path: string; reason: string }>;
  seconds: number;
}

const join = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/**
 * Opens the named source once, to read: O_NONBLOCK so that a FIFO put in its
 * place does not wait for a writer (regular files ignore the flag), its type
 * checked on the descriptor. Everything after reads this inode through
 * /proc/self/fd (fdPath), never the name again.
 */
function openSource(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? new StrataError('ENOENT', `${file}: no such file`) : new StrataError(code === 'EACCES' ? 'EACCES' : 'EIO', `${file}: cannot open: ${(e as Error).message}`, { cause: e });
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new StrataError('EINVAL', `${file}: not a regular file`);
  }
  return fd;
}

const fdPath = (fd: number) => `/proc/self/fd/${fd}`;

/** Opens the source's inode (openSource) in libhdf5, with a clear error for what is not HDF5. */
function openH5(file: string, fd: number): H5File {
  try {
    return H5File.open(fdPath(fd), { name: file });
  } catch (e) {
    throw new StrataError('EINVAL', `${file}: not a readable HDF5 file (corrupt or truncated?): ${(e as Error).message.replace(/^.*?: /, '')}`, { cause: e });
  }
}

interface Unsupported { path: string; reason: string }

function datasetProblem(m: DatasetMeta): string | undefined {
  if (m.layout === 'virtual') return 'virtual dataset';
  if (m.external) return 'dataset with external storage';
  const r = unsupportedReason(m.type);
  if (r) return `unsupported datatype: ${r}`;
  return undefined;
}

/** Walks the file (name order, each object once) and lists what cannot be imported; named datatypes found go to `named`. */
export function scanUnsupported(f: H5File, named: Array<{ path: string; addr: string }> = []): Unsupported[] {
  const out: Unsupported[] = [];
  const seen = new Set<string>();
  const attrs = (loc: AttrSource, path: string) => {
    for (const a of loc.attrNames()) {
      let r: string | undefined;
      try { r = unsupportedReason(loc.readAttrRaw(a).type); } catch (e) { r = (e as Error).message; }
      if (r) out.push({ path: `${path} (attribute '${a}')`, reason: r });
    }
  };
  const walk = (g: Group | H5File, path: string) => {
    attrs(g, path);
    for (const l of g.linkList()) {
      const p = join(path, l.name);
      if (l.type === 'other') { out.push({ path: p, reason: 'user-defined link' }); continue; }
      if (l.type !== 'hard') continue;
      if (seen.has(l.addr!)) continue;
      seen.add(l.addr!);
      if (l.object === 'group') {
        const sub = g.openGroup(l.name);
        try { walk(sub, p); } finally { sub.close(); }
      } else if (l.object === 'dataset') {
        const ds = g.openDataset(l.name);
        try {
          const r = datasetProblem(ds.meta());
          if (r) out.push({ path: p, reason: r });
          else attrs(ds, p);
        } finally { ds.close(); }
      } else if (l.object === 'datatype') {
        named.push({ path: p, addr: l.addr! });
        const t = g.openType(l.name);
        try { attrs(t, p); } finally { t.close(); }
      } else {
        out.push({ path: p, reason: 'unknown object kind' });
      }
    }
  };
  walk(f, '/');
  return out;
}

/** What attributes are read from: a file, group, dataset or named datatype. */
type AttrSource = Pick<Dataset, 'attrNames' | 'readAttrRaw' | 'readAttrVlen' | 'readAttrRefs' | 'corders'>;

/** Objects already made, by file address (hard links to them become links to the same OID). */
type Made = Map<string, H5Group | H5Dataset | H5NamedType>;

/** Work left for the end of the walk: references, whose targets must all have been made. */
type Later = Array<() => Promise<void>>;

/** What a reference read from the file points at, among the objects made. */
function refTarget(made: Made, r: FileRef | null, where: string): RefTarget | null {
  if (!r) return null;
  const o = made.get(r.addr);
  if (!o) throw new StrataError('EINVAL', `${where}: a reference to an object that is not imported (not reachable by a link, or skipped)`);
  return { oid: o.oid.toString(), path: o.path, ...(r.region ? { region: r.region } : {}) };
}

/** Copies attributes of an HDF5 location onto a store object. */
async function copyAttrs(src: AttrSource, dst: H5Node, path: string, skip: Set<string>, res: ImportResult, made: Made, later: Later): Promise<void> {
  const names = src.attrNames();
  const cos = names.length ? src.corders(names, 'attrs') : [];
  for (const [i, a] of names.entries()) {
    if (skip.has(`${path} (attribute '${a}')`)) continue;
    const r = src.readAttrRaw(a);
    const type = storedType(r.type, made);
    const co = cos[i]! >= 0 ? { co: cos[i]! } : {};
    if (isReference(r.type)) {
      const v = src.readAttrRefs(a);
      const where = `${path} (attribute '${a}')`;
      later.push(async () => {
        const { fixed, heap } = encodeRefs(type, v.refs.map((x) => refTarget(made, x, where)));
        await dst.setAttr(a, { type, space: v.space, raw: fixed, heap, ...co });
      });
    } else if (hasVlenData(r.type)) {
      const v = src.readAttrVlen(a);
      if (nestedRefs(r.type)) {
        const where = `${path} (attribute '${a}')`;
        later.push(async () => {
          const heap = storeNestedRefs(type, v.fixed, v.heap, (addr) => refTarget(made, { addr }, where)!);
          await dst.setAttr(a, { type, space: v.space, raw: v.fixed, heap, ...co });
        });
      } else {
        await dst.setAttr(a, { type, space: v.space, raw: v.fixed, heap: v.heap, ...co });
      }
    } else {
      await dst.setAttr(a, r.strings ? { type, space: r.space, strings: r.strings, ...co } : { type, space: r.space, raw: r.raw ?? Buffer.alloc(0), ...co });
    }
    res.attributes++;
  }
}

/** Streams a dataset's data from the file into the store, a tile of whole chunks at a time. */
async function copyData(src: Dataset, dst: H5Dataset, res: ImportResult): Promise<void> {
  const sp = dst.space;
  if (sp.kind === 'null') return;
  if (dst.record.dcpl.raw) return copyRawChunks(src, dst, res);
  if (hasVlenData(dst.type)) return copyVlenData(src, dst, res);
  if (sp.kind === 'scalar') {
    if (isVarString(dst.type)) await dst.writeStrings([], [], src.readStrings([], []), { fresh: true });
    else await dst.writeSlab([], [], src.readRaw([], []), { fresh: true });
    res.bytes += dst.elementSize;
    return;
  }
  const dims = dst.dims;
  if (dims.some((d) => d === 0)) return;
  const ch = dst.storeChunk;
  const chunkBytes = ch.reduce((a, c) => a * c, storedSize(dst.type));
  const g = Math.max(1, Math.floor(TILE_BYTES / chunkBytes));
  const tile = ch.slice();
  tile[0] = Math.min(tile[0]! * g, Math.ceil(dims[0]! / ch[0]!) * ch[0]!);
  for (const t of chunksOf(dims.map(() => 0), dims, tile)) {
    const start = t.map((c, i) => c * tile[i]!);
    const count = start.map((s, i) => Math.min(tile[i]!, dims[i]! - s));
    if (isVarString(dst.type)) {
      await dst.writeStrings(start, count, src.readStrings(start, count), { fresh: true });
    } else {
      const raw = src.readRaw(start, count);
      await dst.writeSlab(start, count, raw, { fresh: true });
      res.bytes += raw.length;
    }
  }
}

/**
 * A filter of the dataset is not available: every allocated chunk is copied
 * as stored (direct chunk read), with its filter mask. A mask naming filters
 * the pipeline does not have means a damaged chunk record.
 */
async function copyRawChunks(src: Dataset, dst: H5Dataset, res: ImportResult): Promise<void> {
  const dims = dst.dims;
  const ch = dst.storeChunk;
  const nf = dst.record.dcpl.filters.length;
  if (dims.some((d) => d === 0)) return;
  for (const c of chunksOf(dims.map(() => 0), dims, ch)) {
    const r = src.readChunkRaw(c.map((x, i) => x * ch[i]!));
    if (!r) continue;
    if (nf < 32 && r.mask >>> nf !== 0) {
      throw new StrataError('EINVAL', `chunk (${c.join(',')}): its filter mask 0x${r.mask.toString(16)} names filters the dataset's pipeline (${nf} filter${nf === 1 ? '' : 's'}) does not have (corrupt?)`);
    }
    await dst.writeRawChunk(c, r.mask, r.data);
    res.bytes += r.data.length;
  }
}

/** Reference data (after the walk): chunk by chunk, each reference turned into its target's OID and path. */
async function copyRefData(f: H5File, path: string, dst: H5Dataset, made: Made, res: ImportResult): Promise<void> {
  const src = f.openDataset(path);
  try {
    const dims = dst.space.kind === 'scalar' ? [] : dst.dims;
    if (dst.space.kind === 'null' || dims.some((d) => d === 0)) return;
    const ch = dst.storeChunk;
    const all = dims.map(() => 0);
    for (const c of chunksOf(all, dims, ch)) {
      const part = intersect(c, ch, all, dims)!;
      const refs = src.readRefs(part.start, part.count).map((x) => refTarget(made, x, path));
      if (refs.every((x) => x === null)) continue;
      const { fixed, heap } = encodeRefs(dst.type, refs);
      await dst.writeVlenChunk(c, part.start, part.count, fixed, heap);
      res.bytes += fixed.length + heap.length;
    }
  } finally { src.close(); }
}

/**
 * Variable-length data (other than top-level strings): one read per stored
 * chunk, with the chunk's own heap. Object references inside the type are
 * turned into their targets by `refs` (after the walk: see importTree).
 */
async function copyVlenData(src: Dataset, dst: H5Dataset, res: ImportResult, refs?: (addr: string) => RefTarget): Promise<void> {
  const dims = dst.space.kind === 'scalar' ? [] : dst.dims;
  if (dims.some((d) => d === 0)) return;
  const ch = dst.storeChunk;
  const all = dims.map(() => 0);
  for (const c of chunksOf(all, dims, ch)) {
    const part = intersect(c, ch, all, dims)!;
    const v = src.readVlen(part.start, part.count);
    const heap = refs ? storeNestedRefs(dst.type, v.fixed, v.heap, refs) : v.heap;
    await dst.writeVlenChunk(c, part.start, part.count, v.fixed, heap);
    res.bytes += v.fixed.length + v.heap.length;
  }
}

async function importTree(f: H5File, fd: number, store: H5Store, named: Array<{ path: string; addr: string }>, skip: Set<string>, res: ImportResult, opts: ImportOptions): Promise<void> {
  const made: Made = new Map();
  const later: Later = [];
  // Named datatypes first: a dataset may use one whose link comes later in name order.
  for (const n of named) {
    const t = f.openType(n.path);
    try {
      const nt = await store.createNamedType(storedType(t.type(), made), n.path);
      made.set(n.addr, nt);
      await copyAttrs(t, nt, n.path, skip, res, made, later);
    } finally { t.close(); }
  }
  await store.root().setOrder(f.orderInfo());
  const walk = async (g: Group | H5File, dst: H5Group, path: string) => {
    await copyAttrs(g, dst, path, skip, res, made, later);
    const links: H5Link[] = g.linkList();
    // creation order numbers, where the group tracks them (kept so that the export creates links in that order)
    const cos = links.length ? g.corders(links.map((l) => l.name), 'links') : [];
    for (const [i, l] of links.entries()) {
      const p = join(path, l.name);
      const co = cos[i]!;
      if (skip.has(p)) { continue; }
      if (l.type === 'soft') { await dst.createSoftLink(l.name, l.target ?? '', co); res.links++; continue; }
      if (l.type === 'external') { await dst.createExternalLink(l.name, l.file ?? '', l.target ?? '', co); res.links++; continue; }
      if (l.type !== 'hard') continue;
      const prev = made.get(l.addr!);
      if (prev) { await dst.createHardLink(l.name, prev, co); res.links++; continue; }
      if (l.object === 'group') {
        const sub = g.openGroup(l.name);
        try {
          const ng = await dst.createGroup(l.name, co, sub.orderInfo());
          made.set(l.addr!, ng);
          res.groups++;
          await walk(sub, ng, p);
        } finally { sub.close(); }
      } else if (l.object === 'dataset') {
        const ds = g.openDataset(l.name);
        try {
          const m = ds.meta();
          const nd = await dst.createDataset(l.name, {
            type: storedType(m.type, made),
            dims: m.space.kind === 'simple' ? m.space.dims : m.space.kind,
            ...(m.space.kind === 'simple' ? { maxdims: m.space.maxdims } : {}),
            layout: m.layout === 'virtual' ? 'contiguous' : m.layout,
            ...(m.layout === 'chunked' ? { chunk: m.chunk } : {}),
            filters: m.filters.map((x) => ({ id: x.id, name: x.name, flags: x.flags, cd: x.cd, ...(x.available ? {} : { available: false }) })),
            fill: { status: m.fill.status, ...(m.fill.value ? { value: m.fill.value } : {}), ...(m.fill.string !== undefined ? { string: m.fill.string } : {}), allocTime: m.fill.allocTime, fillTime: m.fill.fillTime },
            ...(m.layout === 'chunked' && m.filters.some((x) => x.available === false) ? { raw: true } : {}),
            ...(ds.orderInfo().attrs ? { attrOrder: ds.orderInfo().attrs } : {}),
          }, co);
          made.set(l.addr!, nd);
          res.datasets++;
          if (isReference(nd.type)) later.push(() => copyRefData(f, p, nd, made, res));
          else if (nestedRefs(nd.type)) {
            later.push(async () => {
              const again = f.openDataset(p);
              try { await copyVlenData(again, nd, res, (addr) => refTarget(made, { addr }, p)!); } finally { again.close(); }
            });
          } else await copyData(ds, nd, res);
          await copyAttrs(ds, nd, p, skip, res, made, later);
          opts.onProgress?.(res.bytes);
        } catch (e) {
          if (isStrataError(e) && e.message.includes(p)) throw e;
          throw new StrataError(isStrataError(e) ? e.code : 'EIO', `${p}: ${(e as Error).message}`, { cause: e });
        } finally { ds.close(); }
      }
    }
  };
  await walk(f, store.root(), '/');
  for (const step of later) await step();
  const ub = f.userBlockSize();
  if (ub > 0) await store.setUserBlock(readUserBlock(f.path, fd, ub));
}

/** The first `n` bytes of the source (its user block). */
function readUserBlock(file: string, fd: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  if (fs.readSync(fd, b, 0, n, 0) !== n) throw new StrataError('EINVAL', `${file}: shorter than its user block (${n} bytes)`);
  return b;
}

/** Everything the import writes with: a Container handle on a UUID that has no catalog record yet. */
function pendingContainer(engine: Engine, poolUuid: string, uuid: string, label: string): Container {
  const rec: ContainerRecord = {
    uuid, poolUuid, label, type: 'HDF5', props: { ...containerPropDefaults(), label, layout_type: 'HDF5' }, acl: [], attrs: {}, createdAt: new Date().toISOString(),
  };
  return new Container(engine, rec, new Set<ContPerm>(['r', 'w']));
}

interface Scanned { fd: number; f: H5File; named: Array<{ path: string; addr: string }>; skip: Set<string>; skipped: Unsupported[]; close: () => void }

/** Opens the source (openSource), probes it, opens it in-process and checks what it holds; close() closes f and fd. */
async function openAndScan(file: string, opts: ImportOptions): Promise<Scanned> {
  const fd = openSource(file);
  try {
    await probeH5(file, { stallMs: opts.h5StallMs, fd });
    const scanned = checkFileAndScan(file, fd, opts);
    return { fd, ...scanned, close: () => { try { scanned.f.close(); } finally { fs.closeSync(fd); } } };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function checkFileAndScan(file: string, fd: number, opts: ImportOptions): Omit<Scanned, 'fd' | 'close'> {
  const f = openH5(file, fd);
  try {
    let problems: Unsupported[];
    const named: Array<{ path: string; addr: string }> = [];
    try { problems = scanUnsupported(f, named); } catch (e) {
      const why = (e as Error).message;
      throw new StrataError('EINVAL', `${file}: cannot read the file's structure (corrupt or truncated?): ${why.startsWith(file) ? why.slice(file.length).replace(/^:\s*/, '') : why}`, { cause: e });
    }
    if (problems.length && !opts.skipUnsupported) {
      const list = problems.slice(0, 10).map((u) => `${u.path}: ${u.reason}`).join('; ');
      throw new StrataError('ENOTSUP', `${file}: ${problems.length} unsupported object${problems.length === 1 ? '' : 's'}: ${list}${problems.length > 10 ? '; …' : ''} (use --skip-unsupported to copy the rest)`);
    }
    for (const u of problems) opts.onWarn?.(`${file}:${u.path}: skipped (${u.reason})`);
    return { f, named, skip: new Set(problems.map((u) => u.path)), skipped: problems };
  } catch (e) {
    f.close();
    throw e;
  }
}

/** Imports a .h5 file into a new HDF5 container `label` of `pool` (needs pool 'c'). */
export async function importH5(engine: Engine, pool: string, label: string, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const t0 = Date.now();
  await cleanupStale(engine);
  const p = await resolvePool(engine, pool);
  requirePoolPerm(p, currentCaller(), 'c', 'create container');
  checkLabel(label, 'container');
  if ((await engine.catGet(`cont-label/${p.uuid}/${label}`)) !== undefined) {
    throw new StrataError('EEXIST', `a container labelled '${label}' already exists in pool ${p.label}`);
  }
  const { fd, f, named, skip, skipped, close } = await openAndScan(file, opts);
  const uuid = crypto.randomUUID();
  const key = pendingKey(uuid);
  const res: ImportResult = { uuid, label, groups: 0, datasets: 0, links: 0, attributes: 0, bytes: 0, skipped, seconds: 0 };
  try {
    await engine.commit({ ops: [{ op: 'cat-put', key, value: { ...me(), pool: p.uuid } }], conditions: [{ kind: 'cat-absent', key }] });
    try {
      const store = await H5Store.open(pendingContainer(engine, p.uuid, uuid, label), { batch: true });
      await importTree(f, fd, store, named, skip, res, opts);
      store.writeTx('import'); // an empty file still gets its superblock and root group
      await store.flush();
      try {
        await createContainer(engine, pool, label, { uuid, type: 'HDF5' });
      } catch (e) {
        throw isStrataError(e) ? new StrataError(e.code, `cannot register the container: ${e.message}`, { cause: e }) : e;
      }
      await engine.commit({ ops: [{ op: 'cat-del', key }] });
    } catch (e) {
      if ((await engine.catGet(`cont-uuid/${uuid}`)) === undefined) await engine.destroyContainer(uuid).catch(() => undefined);
      await engine.commit({ ops: [{ op: 'cat-del', key }] }).catch(() => undefined);
      throw namingFile(file, e);
    }
  } finally {
    close();
  }
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}

/**
 * Imports into an existing HDF5 container that holds nothing yet (e.g. one
 * created with --path for a UNS link). On failure whatever was written is punched.
 */
export async function importH5Into(engine: Engine, pool: string, cont: string, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const t0 = Date.now();
  const c = await openContainer(engine, pool, cont, { write: true });
  if (c.type !== 'HDF5') throw new StrataError('EINVAL', `container ${c.label} is a ${c.type} container; an HDF5 file is imported into a new or an empty HDF5 container`);
  for await (const _ of listObjects(engine, c.uuid, { pageSize: 1 })) {
    throw new StrataError('EEXIST', `container ${c.label} is not empty; import an HDF5 file into a new container or an empty HDF5 container`);
  }
  const { fd, f, named, skip, skipped, close } = await openAndScan(file, opts);
  const res: ImportResult = { uuid: c.uuid, label: c.label, groups: 0, datasets: 0, links: 0, attributes: 0, bytes: 0, skipped, seconds: 0 };
  try {
    const store = await H5Store.open(c, { batch: true });
    await importTree(f, fd, store, named, skip, res, opts);
    store.writeTx('import');
    await store.flush();
  } catch (e) {
    const tx = c.tx();
    for await (const oid of listObjects(engine, c.uuid)) tx.punchObject(c.object(oid));
    if (!tx.empty) await tx.commit().catch(() => undefined);
    throw namingFile(file, e);
  } finally {
    close();
  }
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}

/** The error of a failed import, its message starting with the file's name. */
function namingFile(file: string, e: unknown): unknown {
  return isStrataError(e) && !e.message.startsWith(file) ? new StrataError(e.code, `${file}: ${e.message}`, { cause: e }) : e;
}
