// container clone: an object-level copy of a container (any type) into a new
// container, in the same pool, another pool, or a pool of another engine
// (LMDB <-> PostgreSQL), like `daos container clone`. It copies a snapshot of
// the source (one taken for the run and destroyed after, or a named one):
// every OID, dkey, akey, single value and array extent (holes stay holes:
// only the extents the engine stores are read and written), plus the
// properties, ACL and user attributes.
//
// Atomic like park's deserialize: objects are written under a fresh UUID that
// has no catalog record (no command can see it), recorded as
// pending/<uuid> on the destination engine; only when every object is in
// does createContainer() register the container in one catalog commit. On any
// error the written data is destroyed; after a kill, the next clone on that
// engine destroys it (pending.ts).
import crypto from 'node:crypto';
import type { Engine, Epoch, KeyPath, WriteOp } from '../engine/types.js';
import { StrataError, isStrataError } from '../errors.js';
import { listObjects, DaosObject, type ObjectId } from '../object/index.js';
import type { ContainerRecord } from './container.js';
import { keys } from './catalog.js';
import { checkLabel, parseRef } from './names.js';
import { currentCaller } from './identity.js';
import { createContainer, openContainer } from './manage.js';
import { resolvePool, requirePoolPerm, type CallOpts } from './pool.js';
import { cleanupStale, me, pendingKey, snapshotForRun } from './pending.js';

const SLICE = 4 * 1024 * 1024;
const TX_BYTES = 8 * 1024 * 1024;
const TX_OPS = 2000;

/** One end of a clone: an engine and a pool (label or UUID), for the source also a container. */
export interface CloneEnd {
  engine: Engine;
  pool: string;
  /** Source: the container (label or UUID). Destination: the new container's label (optional). */
  cont?: string;
}

export interface CloneProgress {
  objects: number;
  bytes: number;
  /** Objects in the snapshot, once a counting scan (run alongside the copy) has finished. */
  totalObjects?: number;
}

export interface CloneOptions extends CallOpts {
  /** Clone this named snapshot of the source instead of one taken for the run. */
  snap?: string;
  /** Objects copied concurrently (default 1, at most 256). */
  jobs?: number;
  /** Called as objects finish (at most every 100 ms, and once at the end). */
  onProgress?: (p: CloneProgress) => void;
}

export interface CloneStats { objects: number; dkeys: number; akeys: number; singles: number; arrays: number; extents: number; bytes: number }

export interface CloneResult extends CloneStats {
  uuid: string;
  label: string;
  poolUuid: string;
  type: string;
  srcUuid: string;
  srcLabel: string;
  srcPoolUuid: string;
  /** The source epoch (snapshot) that was copied. */
  epoch: Epoch;
  seconds: number;
}

function seqOf(oid: ObjectId): bigint {
  // Allocated OIDs carry an object class (ObjectId.make); reserved ones (DFS superblock/root) do not.
  if (oid.oclass === 0) return 0n;
  return ((oid.hi & 0xffffffffn) << 64n) | oid.lo;
}

/** The label the new container gets: the one given, else the source's (another pool) or `<source>-clone` (same pool). */
export function cloneLabel(srcLabel: string, samePool: boolean, given?: string): string {
  if (given !== undefined) return given;
  return samePool ? `${srcLabel}-clone` : srcLabel;
}

/** Copies one object of the source at `epoch` into container `dstCont` of `dst`, through `add`. */
async function copyObject(src: Engine, srcCont: string, epoch: Epoch, oid: ObjectId, dstCont: string, add: (op: WriteOp, bytes: number) => Promise<void>, st: CloneStats): Promise<void> {
  const obj = new DaosObject(src, srcCont, oid);
  const ob = oid.toBytes();
  for await (const dkey of obj.dkeys({ epoch })) {
    st.dkeys++;
    for await (const ak of obj.akeys(dkey, { epoch })) {
      st.akeys++;
      const sk: KeyPath = { cont: srcCont, oid: ob, dkey, akey: ak.akey };
      const dk: KeyPath = { cont: dstCont, oid: ob, dkey, akey: ak.akey };
      if (ak.kind === 'single') {
        st.singles++;
        const v = (await src.get(sk, epoch)) ?? new Uint8Array();
        await add({ op: 'put', ...dk, value: v }, v.length);
        st.bytes += v.length;
        continue;
      }
      st.arrays++;
      for (const e of await src.extents(sk, epoch)) {
        st.extents++;
        for (let off = e.offset; off < e.offset + e.length; off += SLICE) {
          const n = Math.min(SLICE, e.offset + e.length - off);
          const data = await src.read(sk, off, n, epoch);
          await add({ op: 'write', ...dk, offset: off, data }, n);
          st.bytes += n;
        }
      }
    }
  }
}

/**
 * Clones a container (needs 'r' on it) into a new container of a pool (needs
 * pool 'c'), possibly of another engine. Refuses an existing destination.
 */
export async function cloneContainer(src: CloneEnd, dst: CloneEnd, opts: CloneOptions = {}): Promise<CloneResult> {
  const t0 = performance.now();
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new StrataError('EINVAL', `bad number of workers ${jobs} (1..256)`);
  if (src.cont === undefined) throw new StrataError('EINVAL', 'name the source container');
  const caller = opts.caller ?? currentCaller();
  const c = await openContainer(src.engine, src.pool, src.cont, { caller });
  const srcRec: ContainerRecord = c.record;

  // Destination checks before anything is written.
  const dp = await resolvePool(dst.engine, dst.pool);
  requirePoolPerm(dp, caller, 'c', 'clone container');
  const sameEngine = dst.engine === src.engine;
  const samePool = sameEngine && dp.uuid === srcRec.poolUuid;
  let given: string | undefined;
  if (dst.cont !== undefined) {
    const ref = parseRef(dst.cont, 'container');
    const existing = 'uuid' in ref
      ? await dst.engine.catGet(keys.cont(dp.uuid, ref.uuid))
      : await dst.engine.catGet(keys.contLabel(dp.uuid, ref.label));
    if (existing !== undefined) throw new StrataError('EEXIST', `destination container '${dst.cont}' already exists in pool ${dp.label} (clone creates a new container; destroy it first or pick another label)`);
    if ('uuid' in ref) throw new StrataError('EINVAL', `give the new container a label, not a UUID ('${dst.cont}'): its UUID is generated`);
    given = ref.label;
  }
  const label = checkLabel(cloneLabel(srcRec.label, samePool, given), 'container');
  if ((await dst.engine.catGet(keys.contLabel(dp.uuid, label))) !== undefined) {
    throw new StrataError('EEXIST', `a container labelled '${label}' already exists in pool ${dp.label} (give the clone another label: --dst daos://${dp.label}/<label>)`);
  }
  const props: Array<[string, string | number]> = [];
  for (const [k, v] of Object.entries(srcRec.props)) {
    if (k === 'label' || k === 'layout_version' || k === 'layout_type') continue;
    props.push([k, v]);
  }

  await cleanupStale(dst.engine);
  if (!sameEngine) await cleanupStale(src.engine);

  const { epoch, release } = await snapshotForRun(src.engine, c, opts.snap);

  const uuid = crypto.randomUUID();
  const pkey = pendingKey(uuid);
  const st: CloneStats = { objects: 0, dkeys: 0, akeys: 0, singles: 0, arrays: 0, extents: 0, bytes: 0 };
  let maxSeq = 0n;
  let failed: unknown;
  let stopCount = false;
  const prog: CloneProgress = { objects: 0, bytes: 0 };
  let lastReport = 0;
  const report = (force = false) => {
    if (!opts.onProgress) return;
    const now = performance.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    prog.objects = st.objects;
    prog.bytes = st.bytes;
    opts.onProgress({ ...prog });
  };
  try {
    await dst.engine.commit({ ops: [{ op: 'cat-put', key: pkey, value: { ...me(), pool: dp.uuid, src: c.uuid } }], conditions: [{ kind: 'cat-absent', key: pkey }] });
    try {
      if (opts.onProgress) {
        void (async () => {
          let n = 0;
          try {
            for await (const _ of listObjects(src.engine, c.uuid, { epoch })) {
              if (stopCount) return;
              n++;
            }
            prog.totalObjects = n;
          } catch { /* the copy reports errors */ }
        })();
      }
      const oids = listObjects(src.engine, c.uuid, { epoch });
      const lane = async (): Promise<void> => {
        let ops: WriteOp[] = [];
        let opBytes = 0;
        const flush = async () => {
          if (ops.length === 0) return;
          const batch = ops;
          ops = [];
          opBytes = 0;
          await dst.engine.commit({ ops: batch });
        };
        const add = async (op: WriteOp, bytes: number) => {
          ops.push(op);
          opBytes += bytes + 64;
          if (opBytes >= TX_BYTES || ops.length >= TX_OPS) await flush();
        };
        for (;;) {
          if (failed !== undefined) return;
          const it = await oids.next();
          if (it.done) break;
          const oid = it.value;
          const s = seqOf(oid);
          if (s > maxSeq) maxSeq = s;
          await copyObject(src.engine, c.uuid, epoch, oid, uuid, add, st);
          st.objects++;
          report();
        }
        await flush();
      };
      await Promise.all(Array.from({ length: jobs }, () => lane().catch((e: unknown) => { failed ??= e; })));
      if (failed !== undefined) throw failed;
      if (maxSeq > 0n) {
        if (maxSeq > BigInt(Number.MAX_SAFE_INTEGER)) throw new StrataError('ENOTSUP', `object id sequence ${maxSeq} is too large to reserve in the destination`);
        await dst.engine.allocate(uuid, Number(maxSeq));
      }
      let rec: ContainerRecord;
      try {
        rec = await createContainer(dst.engine, dp.uuid, label, {
          caller, uuid, type: srcRec.type, props, acl: srcRec.acl,
          attrs: Object.fromEntries(Object.entries(srcRec.attrs).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        });
      } catch (e) {
        throw isStrataError(e) ? new StrataError(e.code, `cannot register the clone: ${e.message}`, { cause: e }) : e;
      }
      await dst.engine.commit({ ops: [{ op: 'cat-del', key: pkey }] });
      report(true);
      return {
        ...st, uuid: rec.uuid, label: rec.label, poolUuid: rec.poolUuid, type: rec.type,
        srcUuid: c.uuid, srcLabel: c.label, srcPoolUuid: srcRec.poolUuid, epoch, seconds: (performance.now() - t0) / 1000,
      };
    } catch (e) {
      // Unregistered data is destroyed; if even that fails (a full disk), the
      // marker stays so that the next clone on this engine finishes the job.
      let registered = true;
      try { registered = (await dst.engine.catGet(keys.contUuid(uuid))) !== undefined; } catch { /* keep the marker */ }
      let cleaned = registered;
      if (!registered) cleaned = await dst.engine.destroyContainer(uuid).then(() => true, () => false);
      if (cleaned) await dst.engine.commit({ ops: [{ op: 'cat-del', key: pkey }] }).catch(() => undefined);
      throw e;
    }
  } finally {
    stopCount = true;
    await release();
  }
}
