// container deserialize: rebuilds a container from parking files. Every file
// is checked first (header checksum, Version, container, ranks, properties);
// then objects are written under a fresh container UUID that has no catalog
// record yet (invisible to every command), recorded as pending; only when all
// data is in does createContainer() register it (label, type, properties, ACL,
// attributes) in one catalog commit. On any error the data is destroyed; after
// a kill, the next parking command destroys it (see pending.ts).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Engine } from '../engine/types.js';
import { engineUrlOf } from '../engine/open.js';
import { StrataError, isStrataError } from '../errors.js';
import {
  createContainer, resolvePool, requirePoolPerm, currentCaller, propDef, CONTAINER_PROPS, validateAcl, checkLabel,
  type ContainerRecord,
} from '../container/index.js';
import { H5File } from '../hdf5/h5lib/index.js';
import {
  OID_DATA, DKEY_DATA, AKEY_DATA, OBJECTS, DKEYS, AKEYS, EXTENTS, BYTES, USER_ATTRS, DAOS_VERSION, PACKED_VERSION,
  A_VERSION, A_FILES, A_CONT_UUID, A_RANK, A_ALLOCED_OID, A_ACL, PROP_ATTRS, IGNORED_PROPS, verifyFile, type UattrRow,
} from './format.js';
import { loadPackedObjects } from './packed-layout.js';
import { loadDaosObjects } from './daos-layout.js';
import { OpSink, checkDeclared, fail, rows } from './tables.js';
import { cleanupStale, me, pendingKey } from '../container/pending.js';
import { runAll } from './serialize.js';
import { runQueued } from './queued.js';
import { probeH5 } from '../hdf5/probe.js';

export interface DeserializeOptions {
  /** Label of the new container (default: the label in the files). */
  label?: string;
  /** Worker processes (default 1). */
  jobs?: number;
  engineUrl?: string;
  /** Ranks loaded by `strata worker` processes through the queue (PostgreSQL engine), see queued.ts. */
  queue?: boolean;
  onIdle?: (seconds: number) => void;
  /** The probe's watchdog: how long libhdf5 may make no progress on a file (ms, default 60 s). */
  h5StallMs?: number;
}

export interface DeserializeResult {
  uuid: string;
  label: string;
  files: string[];
  objects: number;
  bytes: number;
}

/** What the files say about the container, besides objects. */
export interface FileMeta {
  file: string;
  contUuid: string;
  rank: number;
  ranks: number;
  props: Record<string, string | number>;
  acl: string[];
  allocedOid: bigint;
}

export interface LoadJob {
  file: string;
  cont: string;
  /** A queued load probes the file again in the worker (see task.ts), with this watchdog. */
  h5StallMs?: number;
  /** The caller is root: device inodes may be loaded (for anyone else EPERM, as every create path of DFS). */
  devices?: boolean;
}
export interface LoadResult { objects: number; bytes: number }

function u64(file: string, name: string, v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw fail(file, `attribute '${name}' is not an unsigned integer`);
}

function num(file: string, name: string, v: unknown): number {
  const b = u64(file, name, v);
  if (b > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(file, `attribute '${name}' is out of range (${b})`);
  return Number(b);
}

function readScalar(f: H5File, name: string): unknown {
  const a = f.readAttr(name);
  if (a.values.length !== 1) throw fail(f.path, `attribute '${name}' should hold one value, holds ${a.values.length}`);
  return a.values[0];
}

/** Reads and checks the metadata of one file (after verifyFile). */
export function readMeta(file: string): FileMeta {
  const f = H5File.open(file);
  try {
    const names = f.attrNames();
    for (const need of [A_VERSION, A_FILES]) if (!names.includes(need)) throw fail(file, `attribute '${need}' is missing (not a daos-serialize file?)`);
    const version = readScalar(f, A_VERSION);
    if (typeof version !== 'number' || (version !== DAOS_VERSION && version !== PACKED_VERSION)) {
      throw fail(file, `unsupported Version ${String(version)} (this strata reads Version ${DAOS_VERSION.toFixed(1)}, daos-serialize, and ${PACKED_VERSION.toFixed(1)}, packed)`);
    }
    const ranks = num(file, A_FILES, readScalar(f, A_FILES));
    if (ranks < 1 || ranks > 65536) throw fail(file, `bad 'Files Generated' ${ranks}`);
    const base = path.basename(file);
    const m = /^([0-9a-f-]{36})_rank(\d+)\.h5$/.exec(base);
    const contUuid = names.includes(A_CONT_UUID) ? String(readScalar(f, A_CONT_UUID)) : m?.[1];
    const rank = names.includes(A_RANK) ? num(file, A_RANK, readScalar(f, A_RANK)) : m ? Number(m[2]) : undefined;
    if (!contUuid || rank === undefined) throw fail(file, 'cannot tell which container and rank it holds (no STRATA_CONT_UUID/STRATA_RANK and not named <uuid>_rank<N>.h5)');
    if (rank >= ranks) throw fail(file, `rank ${rank} but 'Files Generated' is ${ranks}`);
    const props: Record<string, string | number> = {};
    let acl: string[] = [];
    let allocedOid = 0n;
    const known = new Set([A_VERSION, A_FILES, A_CONT_UUID, A_RANK, A_ALLOCED_OID, A_ACL, ...IGNORED_PROPS, ...PROP_ATTRS.map((p) => p.attr)]);
    for (const n of names) {
      if (!known.has(n)) throw fail(file, `unknown property attribute '${n}'`);
    }
    for (const p of PROP_ATTRS) {
      if (!names.includes(p.attr)) continue;
      const v = readScalar(f, p.attr);
      if (p.kind === 'str') {
        if (typeof v !== 'string') throw fail(file, `attribute '${p.attr}' is not a string`);
        props[p.prop] = v;
      } else if (p.kind === 'u64') {
        props[p.prop] = num(file, p.attr, v);
      } else {
        const code = num(file, p.attr, v);
        const name = Object.entries(p.values).find(([, c]) => c === code)?.[0];
        if (name === undefined) throw fail(file, `attribute '${p.attr}' has an unknown value ${code}`);
        props[p.prop] = name;
      }
    }
    if (names.includes(A_ACL)) {
      const a = f.readAttr(A_ACL);
      if (a.values.some((x) => typeof x !== 'string')) throw fail(file, `attribute '${A_ACL}' is not a list of strings`);
      acl = (a.values as string[]).filter((x) => x !== '');
    }
    if (names.includes(A_ALLOCED_OID)) allocedOid = u64(file, A_ALLOCED_OID, readScalar(f, A_ALLOCED_OID));
    const tables = version === PACKED_VERSION ? [OBJECTS, DKEYS, AKEYS, EXTENTS, BYTES] : [OID_DATA, DKEY_DATA, AKEY_DATA];
    for (const ds of tables) if (!f.has(ds)) throw fail(file, `dataset '${ds}' is missing`);
    return { file, contUuid, rank, ranks, props, acl, allocedOid };
  } finally {
    f.close();
  }
}

/** Lists the files to read: the given files, or the rank files of a directory. */
export function collectFiles(inputs: string[]): string[] {
  const out: string[] = [];
  for (const i of inputs) {
    let st: fs.Stats;
    try { st = fs.statSync(i); } catch { throw new StrataError('ENOENT', `${i}: no such file or directory`); }
    if (st.isDirectory()) {
      const names = fs.readdirSync(i).filter((n) => n.endsWith('.h5')).sort();
      const ranked = names.filter((n) => /_rank\d+\.h5$/.test(n));
      const use = ranked.length ? ranked : names;
      if (use.length === 0) throw new StrataError('ENOENT', `${i}: no .h5 files in this directory`);
      out.push(...use.map((n) => path.join(i, n)));
    } else {
      out.push(i);
    }
  }
  if (out.length === 0) throw new StrataError('EINVAL', 'no input files given');
  return [...new Set(out.map((f) => path.resolve(f)))];
}

/** Checks that the files form one complete set; returns the merged metadata. */
export function checkSet(metas: FileMeta[]): FileMeta {
  const first = metas[0]!;
  for (const m of metas) {
    if (m.contUuid !== first.contUuid) throw new StrataError('EINVAL', `${m.file}: holds container ${m.contUuid}, but ${first.file} holds ${first.contUuid} (files of different containers mixed)`);
    if (m.ranks !== first.ranks) throw new StrataError('EINVAL', `${m.file}: says ${m.ranks} files were generated, ${first.file} says ${first.ranks}`);
    const a = JSON.stringify(Object.entries(m.props).sort());
    const b = JSON.stringify(Object.entries(first.props).sort());
    if (a !== b || JSON.stringify(m.acl) !== JSON.stringify(first.acl)) throw new StrataError('EINVAL', `${m.file}: container properties differ from ${first.file}`);
  }
  const seen = new Map<number, string>();
  for (const m of metas) {
    const other = seen.get(m.rank);
    if (other) throw new StrataError('EINVAL', `${m.file}: rank ${m.rank} given twice (also ${other})`);
    seen.set(m.rank, m.file);
  }
  const missing = [];
  for (let r = 0; r < first.ranks; r++) if (!seen.has(r)) missing.push(r);
  if (missing.length) {
    const dir = path.dirname(first.file);
    throw new StrataError('ENOENT', `rank file(s) missing: ${missing.map((r) => path.join(dir, `${first.contUuid}_rank${r}.h5`)).join(', ')} (${first.ranks} files were generated)`);
  }
  let alloced = 0n;
  for (const m of metas) if (m.allocedOid > alloced) alloced = m.allocedOid;
  return { ...first, allocedOid: alloced };
}

/** Writes the objects of one file into container `cont` (which may have no catalog record yet). */
export async function loadRankFile(engine: Engine, job: LoadJob): Promise<LoadResult> {
  const file = job.file;
  const f = H5File.open(file);
  const sink = new OpSink(engine, job.cont, job.devices === true);
  try {
    const version = f.readAttr(A_VERSION).values[0];
    if (version === PACKED_VERSION) await loadPackedObjects(f, sink);
    else if (version === DAOS_VERSION) await loadDaosObjects(f, sink);
    else throw fail(file, `unsupported Version ${String(version)}`);
    await sink.flush();
    return sink.result;
  } catch (e) {
    if (isStrataError(e) && e.message.startsWith(file)) throw e;
    const err = e as Error & { code?: string };
    throw new StrataError(isStrataError(e) ? e.code : 'EIO', `${file}: ${err.message}`, { cause: e });
  } finally {
    f.close();
  }
}

function readUserAttrs(file: string): Record<string, Uint8Array> {
  const f = H5File.open(file);
  try {
    if (!f.has(USER_ATTRS)) return {};
    const ds = f.openDataset(USER_ATTRS);
    try { checkDeclared(f, USER_ATTRS, ds.info()); } finally { ds.close(); }
    const out: Record<string, Uint8Array> = {};
    for (const r of rows<UattrRow>(f, USER_ATTRS)) {
      if (typeof r['Attribute Name'] !== 'string' || !Buffer.isBuffer(r['Attribute Value'])) throw fail(file, `'${USER_ATTRS}' has unexpected fields`);
      out[r['Attribute Name']] = r['Attribute Value'];
    }
    return out;
  } finally {
    f.close();
  }
}

/** Rebuilds a container from parking files (or directories of them) into a pool (needs pool 'c'). */
export async function deserializeContainer(engine: Engine, pool: string, inputs: string[], opts: DeserializeOptions = {}): Promise<DeserializeResult> {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new StrataError('EINVAL', `bad number of workers ${jobs} (1..256)`);
  await cleanupStale(engine);
  const p = await resolvePool(engine, pool);
  requirePoolPerm(p, currentCaller(), 'c', 'deserialize container');
  const files = collectFiles(inputs);
  const metas: FileMeta[] = [];
  for (const file of files) {
    // The seal catches accidents only: anyone can damage a file and seal it again, and libhdf5 crashes or
    // loops forever on some damaged heaps. So every file is probed in a child first, sealed or not.
    await verifyFile(file);
    await probeH5(file, { stallMs: opts.h5StallMs });
    metas.push(readMeta(file));
  }
  const meta = checkSet(metas);
  const label = opts.label ?? String(meta.props['label'] ?? '');
  if (!label) throw new StrataError('EINVAL', `${files[0]}: the files hold no label; give one with --label`);
  checkLabel(label, 'container');
  // Validate everything createContainer will be given before writing any data.
  const props: Array<[string, string | number]> = [];
  for (const [k, v] of Object.entries(meta.props)) {
    if (k === 'label' || k === 'layout_version') continue;
    try { props.push([k, propDef(CONTAINER_PROPS, k, 'container').parse(v)]); } catch (e) { throw new StrataError('EINVAL', `${meta.file}: ${(e as Error).message}`); }
  }
  if (meta.props['layout_version'] !== undefined && meta.props['layout_version'] !== 1) throw new StrataError('ENOTSUP', `${meta.file}: layout version ${meta.props['layout_version']} is not supported`);
  let acl: string[] | undefined;
  if (meta.acl.length) {
    try { acl = validateAcl(meta.acl, 'container'); } catch (e) { throw new StrataError('EINVAL', `${meta.file}: ${(e as Error).message}`); }
  }
  const attrs = readUserAttrs(files[0]!);
  const existing = await engine.catGet(`cont-label/${p.uuid}/${label}`);
  if (existing !== undefined) throw new StrataError('EEXIST', `a container labelled '${label}' already exists in pool ${p.label}`);

  const uuid = crypto.randomUUID();
  const key = pendingKey(uuid);
  await engine.commit({ ops: [{ op: 'cat-put', key, value: { ...me(), pool: p.uuid } }], conditions: [{ kind: 'cat-absent', key }] });
  try {
    const url = opts.engineUrl ?? engineUrlOf(engine);
    // Queued ranks run on other nodes, in other directories: absolute paths.
    const devices = currentCaller().uid === 0;
    const loads = files.map((file): LoadJob => (opts.queue ? { file: path.resolve(file), cont: uuid, h5StallMs: opts.h5StallMs, devices } : { file, cont: uuid, devices }));
    const results = opts.queue
      ? await runQueued<LoadResult>(loads.map((job) => ({ kind: 'deserialize', engineUrl: url, job })), files, { engineUrl: opts.engineUrl, onIdle: opts.onIdle })
      : await runAll(loads, jobs, (j) => loadRankFile(engine, j), (j) => ({ kind: 'deserialize', engineUrl: url, job: j }));
    const maxSeq = meta.allocedOid;
    if (maxSeq > 0n && maxSeq <= BigInt(Number.MAX_SAFE_INTEGER)) await engine.allocate(uuid, Number(maxSeq));
    let rec: ContainerRecord;
    try {
      rec = await createContainer(engine, pool, label, { uuid, props, acl, attrs });
    } catch (e) {
      throw isStrataError(e) ? new StrataError(e.code, `cannot register the container: ${e.message}`, { cause: e }) : e;
    }
    await engine.commit({ ops: [{ op: 'cat-del', key }] });
    return {
      uuid: rec.uuid, label: rec.label, files,
      objects: results.reduce((a, r) => a + r.objects, 0), bytes: results.reduce((a, r) => a + r.bytes, 0),
    };
  } catch (e) {
    if ((await engine.catGet(`cont-uuid/${uuid}`)) === undefined) {
      await engine.destroyContainer(uuid).catch(() => undefined);
    }
    await engine.commit({ ops: [{ op: 'cat-del', key }] }).catch(() => undefined);
    throw e;
  }
}
