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
import type { Engine } from '../engine/types.js';
import { engineUrlOf } from '../engine/open.js';
import { StrataError, fromSystemError } from '../errors.js';
import { pidAlive } from '../pid.js';
import { openContainer, type ContainerRecord } from '../container/index.js';
import { H5File } from '../hdf5/h5lib/index.js';
import {
  USER_ATTRS, UATTR_T, ROOTS_T, USERBLOCK, DAOS_VERSION, PACKED_VERSION,
  A_VERSION, A_FILES, A_CONT_UUID, A_RANK, A_ALLOCED_OID, A_ACL, PROP_ATTRS, rankFileName, sealFile, type Layout,
} from './format.js';
import { writePackedObjects, packedBytesBound } from './packed-layout.js';
import { writeDaosObjects, daosBytesBound } from './daos-layout.js';
import { interrupted, newRankStats, type SerializeStats } from './walk.js';
import { ROWS_BATCH } from './tables.js';
import { cleanupStale, snapshotForRun } from '../container/pending.js';
import { runQueued } from './queued.js';

export type { SerializeStats } from './walk.js';

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
  /** 'packed' (default): strata's compact layout; 'daos': mpiFileUtils' daos-serialize layout, for DAOS's daos-deserialize. */
  layout?: Layout;
}

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
  /** Default 'packed'. */
  layout?: Layout;
}

function writeProps(f: H5File, job: RankJob, allocedOid: bigint): void {
  const rec = job.record;
  const props: Record<string, string | number> = { ...rec.props, label: rec.label, layout_type: rec.type };
  f.writeAttr(A_VERSION, 'f32', [job.layout === 'daos' ? DAOS_VERSION : PACKED_VERSION]);
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
 * An upper bound of the bytes the park files of a container take (all
 * `ranks` files together), from a walk of its keys and extents (no array data
 * is read); `tier park` checks the cold directory's free space against it.
 * The constants of each layout are above what libhdf5 1.10 writes.
 */
export async function serializedBytesBound(engine: Engine, contUuid: string, epoch?: number, o: { ranks?: number; layout?: Layout } = {}): Promise<number> {
  if (o.layout === 'daos') return daosBytesBound(engine, contUuid, epoch);
  return packedBytesBound(engine, contUuid, { epoch, ranks: o.ranks });
}

/** Writes one rank's file (in this process). */
export async function serializeRank(engine: Engine, job: RankJob, signal?: AbortSignal): Promise<SerializeStats> {
  const st = newRankStats();
  // A retried rank (queue) starts over; removing first never follows a symlink planted there.
  fs.rmSync(job.file, { force: true });
  const f = H5File.create(job.file, { overwrite: false, userblock: USERBLOCK });
  try {
    const walk = { contUuid: job.contUuid, epoch: job.epoch, rank: job.rank, ranks: job.ranks, signal };
    if (job.layout === 'daos') await writeDaosObjects(engine, f, walk, st);
    else await writePackedObjects(engine, f, walk, st);
    const ua = f.createDataset(USER_ATTRS, UATTR_T, { dims: [0], maxdims: [-1], chunk: [ROWS_BATCH] });
    const names = Object.keys(job.record.attrs).sort();
    ua.appendRows(UATTR_T, names.map((n) => ({ 'Attribute Name': n, 'Attribute Value': Buffer.from(job.record.attrs[n]!, 'base64') })), 0);
    ua.close();
    writeProps(f, job, st.maxSeq);
  } finally {
    f.close();
  }
  await sealFile(job.file);
  const { maxSeq, ...stats } = st;
  void maxSeq;
  return stats;
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
  if (opts.layout !== undefined && opts.layout !== 'packed' && opts.layout !== 'daos') throw new StrataError('EINVAL', `unknown layout '${String(opts.layout)}' (packed or daos)`);
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
      contUuid: c.uuid, epoch, rank: r, ranks: jobs, file: tempRankName(final), record: c.record, layout: opts.layout,
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
