// container serialize: writes a container (any type) at a snapshot epoch to
// HDF5 files <cont-uuid>_rank<N>.h5, one per worker. Rank r of N takes the
// objects whose position in OID order is r modulo N. Everything streams: table
// rows go out in batches, arrays in slices (hyperslabs), so memory stays bounded.
import fs from 'node:fs';
import os from 'node:os';
import { fsyncDirectory } from '../durable.js';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Engine, KeyPath } from '../engine/types.js';
import { engineUrlOf } from '../engine/open.js';
import { StrataError, fromSystemError } from '../errors.js';
import { pidAlive } from '../pid.js';
import { openContainer, type ContainerRecord } from '../container/index.js';
import { listObjects, DaosObject } from '../object/index.js';
import { H5File, type Dataset } from '../hdf5/h5lib/index.js';
import {
  OID_DATA, DKEY_DATA, AKEY_DATA, USER_ATTRS, OID_T, DKEY_T, AKEY_T, UATTR_T, ROOTS_T, USERBLOCK, FORMAT_VERSION,
  A_VERSION, A_FILES, A_CONT_UUID, A_RANK, A_ALLOCED_OID, A_ACL, PROP_ATTRS, rankFileName, sealFile,
  type OidRow, type DkeyRow, type AkeyRow,
} from './format.js';
import { cleanupStale, snapshotForRun } from '../container/pending.js';
import { runQueued } from './queued.js';

const ROWS_BATCH = 1024;
const SLICE = 4 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export interface SerializeOptions {
  /** Output directory (default: the current directory); created if missing. */
  outputDir?: string;
  /** Number of worker processes / files (default 1). */
  jobs?: number;
  /** Serialize this named snapshot instead of taking one for the run. */
  snap?: string;
  /** Engine URL the worker processes open (needed for jobs > 1). */
  engineUrl?: string;
  /** Ranks done by `strata worker` processes through the queue (PostgreSQL engine), see queued.ts. */
  queue?: boolean;
  onIdle?: (seconds: number) => void;
  /** Stops the run (Ctrl-C): the ranks stop, their temporary files are removed, the call rejects. */
  signal?: AbortSignal;
}

export interface SerializeStats { objects: number; dkeys: number; akeys: number; singles: number; arrays: number; extents: number; bytes: number }

export interface SerializeResult extends SerializeStats {
  files: string[];
  epoch: number;
  uuid: string;
  label: string;
}

/** What every rank file carries besides objects. */
export interface RankJob {
  contUuid: string;
  epoch: number;
  rank: number;
  ranks: number;
  file: string;
  record: ContainerRecord;
}

function seqOf(hi: bigint, lo: bigint): bigint {
  // Allocated OIDs carry an object class (ObjectId.make); reserved ones (DFS superblock/root) do not.
  if (((hi >> 32n) & 0xffffffn) === 0n) return 0n;
  return ((hi & 0xffffffffn) << 64n) | lo;
}

class Table {
  private rows: unknown[] = [];
  private n = 0;
  constructor(private ds: Dataset, private type: typeof OID_T) {}
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

function writeProps(f: H5File, job: RankJob, allocedOid: bigint): void {
  const rec = job.record;
  const props: Record<string, string | number> = { ...rec.props, label: rec.label, layout_type: rec.type };
  f.writeAttr(A_VERSION, 'f32', [FORMAT_VERSION]);
  f.writeAttr(A_FILES, 'u64', [BigInt(job.ranks)]);
  f.writeAttr(A_CONT_UUID, 'vstr', [job.contUuid]);
  f.writeAttr(A_RANK, 'u64', [BigInt(job.rank)]);
  for (const p of PROP_ATTRS) {
    const v = props[p.prop];
    if (v === undefined) continue;
    if (p.kind === 'str') {
      const s = String(v);
      f.writeAttr(p.attr, { str: Buffer.byteLength(s) + 1 }, [s]);
    } else if (p.kind === 'u64') {
      f.writeAttr(p.attr, 'u64', [BigInt(v)]);
    } else {
      const code = p.values[String(v)];
      if (code === undefined) throw new StrataError('EINVAL', `property ${p.prop} has a value '${v}' the file format cannot hold`);
      f.writeAttr(p.attr, 'u64', [BigInt(code)]);
    }
  }
  f.writeAttr('DAOS_PROP_CO_SNAPSHOT_MAX', 'u64', [0n]);
  f.writeAttr('DAOS_PROP_CO_SCRUBBER_DISABLED', 'u64', [0n]);
  f.writeAttr(A_ALLOCED_OID, 'u64', [allocedOid]);
  const posix = rec.type === 'POSIX';
  f.writeAttr('DAOS_PROP_CO_ROOTS', ROOTS_T, [
    { hi: 0n, lo: 0n }, { hi: posix ? 1n : 0n, lo: 0n }, { hi: 0n, lo: 0n }, { hi: 0n, lo: 0n },
  ]);
  f.writeAttr(A_ACL, 'vstr', rec.acl.length ? rec.acl : ['']);
}

/**
 * The storage of one array's dataset. A dense array (its extents cover
 * [0, end)) is stored contiguous: exactly its bytes, no chunk index (the
 * index of a chunked dataset — a B-tree node of some KiB — was most of a
 * small file's cost). A sparse one is chunked (64 KiB chunks, never larger
 * than the array) so that its holes take no space and a lone byte costs one
 * small chunk, not a MiB.
 */
const SPARSE_CHUNK = 64 * 1024;

function arrayLayout(end: number, exts: ReadonlyArray<{ offset: number; length: number }>): { dims: number[]; maxdims?: number[]; chunk?: number[]; fillNever: true } {
  let covered = 0;
  for (const e of exts) covered += e.length;
  if (covered >= end) return { dims: [end], fillNever: true };
  return { dims: [end], maxdims: [-1], chunk: [Math.max(1, Math.min(end, SPARSE_CHUNK))], fillNever: true };
}

/**
 * An upper bound of the bytes the park files of a container take (all ranks
 * together), from a walk of its keys and extents (no data is read): each
 * array's storage as arrayLayout lays it out, each key and single value with
 * its row and heap overhead, each dataset with its object header, selection
 * attributes and link. The constants are above what libhdf5 1.10 writes
 * (measured: about 1.1 KiB a small file), so that a space check with it holds.
 */
export async function serializedBytesBound(engine: Engine, contUuid: string, epoch?: number): Promise<number> {
  const FILE = 128 * 1024; // superblock, userblock, tables' headers and first chunks, properties, ACL
  const KEY_ROW = 64; // a row, its vlen's heap object, a share of a heap collection
  const DATASET = 1024; // object header, its name in the root group (symbol table, heap), alignment
  const EXTENT_ATTR = 128; // the A-<idx><n> selection attribute (dense storage beyond 8 included)
  let total = FILE;
  for await (const oid of listObjects(engine, contUuid, { epoch })) {
    total += KEY_ROW;
    const obj = new DaosObject(engine, contUuid, oid);
    for await (const dkey of obj.dkeys({ epoch })) {
      total += KEY_ROW + dkey.length;
      for await (const ak of obj.akeys(dkey, { epoch })) {
        total += KEY_ROW + ak.akey.length;
        const k: KeyPath = { cont: contUuid, oid: oid.toBytes(), dkey, akey: ak.akey };
        if (ak.kind === 'single') {
          total += ((await engine.get(k, epoch)) ?? EMPTY).length;
          continue;
        }
        const exts = await engine.extents(k, epoch);
        const end = exts.length ? exts[exts.length - 1]!.offset + exts[exts.length - 1]!.length : 0;
        total += DATASET + EXTENT_ATTR * exts.length + storageBytes(end, exts);
      }
    }
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

/** Writes one rank's file (in this process). */
export async function serializeRank(engine: Engine, job: RankJob, signal?: AbortSignal): Promise<SerializeStats> {
  const st: SerializeStats = { objects: 0, dkeys: 0, akeys: 0, singles: 0, arrays: 0, extents: 0, bytes: 0 };
  // A retried rank (queue) starts over; removing first never follows a symlink planted there.
  fs.rmSync(job.file, { force: true });
  const f = H5File.create(job.file, { overwrite: false, userblock: USERBLOCK });
  let maxSeq = 0n;
  try {
    const tableOpts = { dims: [0], maxdims: [-1], chunk: [ROWS_BATCH] };
    const oids = new Table(f.createDataset(OID_DATA, OID_T, tableOpts), OID_T);
    const dkeys = new Table(f.createDataset(DKEY_DATA, DKEY_T, tableOpts), DKEY_T);
    const akeys = new Table(f.createDataset(AKEY_DATA, AKEY_T, tableOpts), AKEY_T);
    let i = -1;
    for await (const oid of listObjects(engine, job.contUuid, { epoch: job.epoch })) {
      i++;
      if (i % job.ranks !== job.rank) continue;
      if (signal?.aborted) throw interrupted();
      st.objects++;
      const s = seqOf(oid.hi, oid.lo);
      if (s > maxSeq) maxSeq = s;
      oids.push({ 'OID Hi': oid.hi, 'OID Low': oid.lo, 'Dkey Offset': BigInt(dkeys.count) } satisfies OidRow);
      const obj = new DaosObject(engine, job.contUuid, oid);
      for await (const dkey of obj.dkeys({ epoch: job.epoch })) {
        st.dkeys++;
        dkeys.push({ 'Dkey Value': Buffer.from(dkey), 'Akey Offset': BigInt(akeys.count), 'Record KV Value': EMPTY } satisfies DkeyRow);
        for await (const ak of obj.akeys(dkey, { epoch: job.epoch })) {
          st.akeys++;
          const idx = akeys.count;
          const k: KeyPath = { cont: job.contUuid, oid: oid.toBytes(), dkey, akey: ak.akey };
          if (ak.kind === 'single') {
            st.singles++;
            const v = (await engine.get(k, job.epoch)) ?? EMPTY;
            st.bytes += v.length;
            akeys.push({ 'Akey Value': Buffer.from(ak.akey), 'Dataset ID': BigInt(idx), 'Record Single Value': Buffer.from(v) } satisfies AkeyRow);
            continue;
          }
          st.arrays++;
          akeys.push({ 'Akey Value': Buffer.from(ak.akey), 'Dataset ID': BigInt(idx), 'Record Single Value': EMPTY } satisfies AkeyRow);
          const exts = await engine.extents(k, job.epoch);
          const end = exts.length ? exts[exts.length - 1]!.offset + exts[exts.length - 1]!.length : 0;
          const ds = f.createDataset(String(idx), { opaque: 1 }, arrayLayout(end, exts));
          try {
            let n = 0;
            for (const e of exts) {
              st.extents++;
              for (let off = e.offset; off < e.offset + e.length; off += SLICE) {
                const len = Math.min(SLICE, e.offset + e.length - off);
                if (signal?.aborted) throw interrupted();
                const data = await engine.read(k, off, len, job.epoch);
                ds.writeSlab([off], [len], data);
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
    }
    oids.flush();
    dkeys.flush();
    akeys.flush();
    const ua = f.createDataset(USER_ATTRS, UATTR_T, tableOpts);
    const names = Object.keys(job.record.attrs).sort();
    ua.appendRows(UATTR_T, names.map((n) => ({ 'Attribute Name': n, 'Attribute Value': Buffer.from(job.record.attrs[n]!, 'base64') })), 0);
    ua.close();
    writeProps(f, job, maxSeq);
  } finally {
    f.close();
  }
  await sealFile(job.file);
  return st;
}

function workerScript(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');
}

/** Runs a job in a child process (worker.ts); resolves with its result. */
export function runWorker<T>(msg: unknown): { done: Promise<T>; kill: () => void } {
  const child = fork(workerScript(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const done = new Promise<T>((resolve, reject) => {
    let settled = false;
    child.on('message', (m: { ok: boolean; result?: T; error?: { code: string; message: string } }) => {
      settled = true;
      if (m.ok) resolve(m.result as T);
      else reject(new StrataError((m.error?.code ?? 'EIO') as 'EIO', m.error?.message ?? 'worker failed'));
    });
    child.on('exit', (code, sig) => {
      if (!settled) reject(new StrataError('EIO', `parking worker exited (${sig ?? code}) without a result`));
    });
    child.on('error', reject);
    child.send(msg as object);
  });
  return { done, kill: () => { child.kill('SIGKILL'); } };
}

/** Runs jobs with at most `jobs` running at once (in-process when jobs is 1); kills the rest on the first failure. */
export async function runAll<J, T>(items: J[], jobs: number, local: (j: J) => Promise<T>, remote: (j: J) => unknown, signal?: AbortSignal): Promise<T[]> {
  if (jobs <= 1) {
    const out: T[] = [];
    for (const it of items) out.push(await local(it));
    return out;
  }
  const out: T[] = new Array(items.length);
  const running = new Set<{ kill: () => void }>();
  let next = 0;
  let failed: unknown;
  const onAbort = (): void => {
    if (failed === undefined) failed = interrupted();
    for (const r of running) r.kill();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  async function lane(): Promise<void> {
    while (next < items.length && failed === undefined) {
      const i = next++;
      const w = runWorker<T>(remote(items[i]!));
      running.add(w);
      try {
        out[i] = await w.done;
      } catch (e) {
        if (failed === undefined) failed = e;
        for (const r of running) r.kill();
      } finally {
        running.delete(w);
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, lane));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failed !== undefined) throw failed;
  return out;
}

function interrupted(): StrataError {
  return new StrataError('EIO', 'interrupted');
}

/**
 * The temporary name of a rank file: `.<file>.strata-<host>-<pid>-<random>.tmp`,
 * so that a later run can tell a leftover (its writer on this host is gone:
 * killed, or the machine restarted) from a file being written.
 */
function tempRankName(final: string): string {
  return path.join(path.dirname(final), `.${path.basename(final)}.strata-${os.hostname()}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

const TEMP_RANK = /^\.(.+_rank\d+\.h5)\.strata-(.+)-(\d+)-[0-9a-f]{12}\.tmp$/;

/** Removes temporary rank files in dir left by writers of this host that are gone. */
function removeStaleTemps(dir: string): void {
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  for (const n of names) {
    const m = TEMP_RANK.exec(n);
    if (!m || m[2] !== os.hostname() || Number(m[3]) === process.pid || pidAlive(Number(m[3]))) continue;
    fs.rmSync(path.join(dir, n), { force: true });
  }
}

function engineUrl(engine: Engine, given?: string): string {
  if (given) return given;
  return engineUrlOf(engine);
}

/** Serializes a container (needs 'r') at a snapshot: the given one, or one taken for the run and destroyed after. */
export async function serializeContainer(engine: Engine, pool: string, cont: string, opts: SerializeOptions = {}): Promise<SerializeResult> {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new StrataError('EINVAL', `bad number of workers ${jobs} (1..256)`);
  await cleanupStale(engine);
  const c = await openContainer(engine, pool, cont);
  const dir = path.resolve(opts.outputDir ?? '.');
  try { fs.mkdirSync(dir, { recursive: true }); } catch (e) { throw fromSystemError(e, `output directory ${dir}`); }
  removeStaleTemps(dir);
  const { epoch, release } = await snapshotForRun(engine, c, opts.snap);
  try {
    // Each rank writes a temporary file of a name nobody can guess (made
    // exclusively: a planted symlink is never written through); the set is
    // renamed into place only when every rank succeeded, so a failed or killed
    // run never leaves a partial file under a rank file's name.
    const finals = Array.from({ length: jobs }, (_, r) => path.join(dir, rankFileName(c.uuid, r)));
    const ranks = finals.map((final, r): RankJob => ({
      contUuid: c.uuid, epoch, rank: r, ranks: jobs, file: tempRankName(final), record: c.record,
    }));
    for (const f of finals) {
      if (fs.lstatSync(f, { throwIfNoEntry: false })?.isDirectory()) throw new StrataError('EISDIR', `${f}: is a directory, where a rank file goes`);
    }
    const url = engineUrl(engine, opts.engineUrl);
    let stats: SerializeStats[];
    let placed = 0;
    try {
      stats = opts.queue
        ? await runQueued<SerializeStats>(ranks.map((job) => ({ kind: 'serialize', engineUrl: url, job })), finals, { engineUrl: opts.engineUrl, onIdle: opts.onIdle })
        : await runAll(ranks, jobs, (j) => serializeRank(engine, j, opts.signal), (j) => ({ kind: 'serialize', engineUrl: url, job: j }), opts.signal);
      for (; placed < ranks.length; placed++) {
        try { fs.renameSync(ranks[placed]!.file, finals[placed]!); } catch (e) { throw fromSystemError(e, `cannot put ${finals[placed]} in place`); }
      }
      // The files are fsynced when sealed; their names are on disk once the directory is (tier park destroys the container next).
      fsyncDirectory(dir);
    } catch (e) {
      for (const r of ranks) fs.rmSync(r.file, { force: true });
      for (let i = 0; i < placed; i++) fs.rmSync(finals[i]!, { force: true }); // a set is whole or absent
      throw e;
    }
    const sum: SerializeStats = { objects: 0, dkeys: 0, akeys: 0, singles: 0, arrays: 0, extents: 0, bytes: 0 };
    for (const s of stats) for (const k of Object.keys(sum) as Array<keyof SerializeStats>) sum[k] += s[k];
    return { ...sum, files: finals, epoch, uuid: c.uuid, label: c.label };
  } finally {
    await release();
  }
}
