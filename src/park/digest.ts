// container check: a content digest of a container at a snapshot, so two
// containers can be compared. It covers the type, properties (except the
// label), ACL, user attributes, and every object (OID), dkey, akey, single
// value and array extent (offsets, lengths and bytes) in key order. It
// excludes the UUID, the creation time and the label (a copy usually sits
// beside its source under another label).
import type { Engine, KeyPath } from '../engine/types.js';
import { destroyContainer, openContainer } from '../container/index.js';
import { listObjects, DaosObject } from '../object/index.js';
import { cleanupStale, snapshotForRun } from '../container/pending.js';
import { deserializeContainer } from './deserialize.js';

const SLICE = 4 * 1024 * 1024;

// hash-wasm is loaded on use: it costs ~38 ms at startup of every command.
const loadHashWasm = () => import('hash-wasm');

export interface CheckResult {
  uuid: string;
  label: string;
  type: string;
  epoch: number;
  digest: string;
  /** Digest of the properties, ACL and attributes alone. */
  metaDigest: string;
  objects: number;
  dkeys: number;
  akeys: number;
  singles: number;
  arrays: number;
  extents: number;
  bytes: number;
}

function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** Digest of a container (needs 'r'), at a named snapshot or at a snapshot taken for the run. */
export async function checkContainer(engine: Engine, pool: string, cont: string, opts: { snap?: string } = {}): Promise<CheckResult> {
  await cleanupStale(engine);
  const c = await openContainer(engine, pool, cont);
  const { epoch, release } = await snapshotForRun(engine, c, opts.snap);
  try {
    const { createBLAKE3 } = await loadHashWasm();
    const h = await createBLAKE3();
    h.init();
    const put = (tag: string, b: Uint8Array) => { h.update(tag); h.update(u64(b.length)); h.update(b); };
    const rec = c.record;
    const props = { ...rec.props, layout_type: rec.type } as Record<string, string | number>;
    delete props['label'];
    const meta = JSON.stringify({
      props: Object.entries(props).sort(([a], [b]) => (a < b ? -1 : 1)),
      acl: rec.acl,
      attrs: Object.entries(rec.attrs).sort(([a], [b]) => (a < b ? -1 : 1)),
    });
    const mh = await createBLAKE3();
    mh.init();
    mh.update(meta);
    const metaDigest = mh.digest('hex');
    put('M', Buffer.from(meta));
    const r: CheckResult = { uuid: c.uuid, label: c.label, type: rec.type, epoch, digest: '', metaDigest, objects: 0, dkeys: 0, akeys: 0, singles: 0, arrays: 0, extents: 0, bytes: 0 };
    for await (const oid of listObjects(engine, c.uuid, { epoch })) {
      r.objects++;
      const ob = oid.toBytes();
      put('O', ob);
      const obj = new DaosObject(engine, c.uuid, oid);
      for await (const dkey of obj.dkeys({ epoch })) {
        r.dkeys++;
        put('D', dkey);
        for await (const ak of obj.akeys(dkey, { epoch })) {
          r.akeys++;
          const k: KeyPath = { cont: c.uuid, oid: ob, dkey, akey: ak.akey };
          if (ak.kind === 'single') {
            r.singles++;
            put('K', ak.akey);
            const v = (await engine.get(k, epoch)) ?? new Uint8Array();
            put('S', v);
            r.bytes += v.length;
            continue;
          }
          r.arrays++;
          put('A', ak.akey);
          for (const e of await engine.extents(k, epoch)) {
            r.extents++;
            h.update('E');
            h.update(u64(e.offset));
            h.update(u64(e.length));
            for (let off = e.offset; off < e.offset + e.length; off += SLICE) {
              const n = Math.min(SLICE, e.offset + e.length - off);
              h.update(await engine.read(k, off, n, epoch));
            }
            r.bytes += e.length;
          }
        }
      }
    }
    r.digest = h.digest('hex');
    return r;
  } finally {
    await release();
  }
}

/**
 * The digest `container check` prints for the container a set of parking
 * files rebuilds: the files are read back whole (deserialized under `label`
 * in `pool`, checked, destroyed again), so what is compared is what an
 * unpark would give, not just that each file is intact. Needs pool 'c'
 * and room in the engine for a second copy while it runs.
 */
export async function digestOfFiles(engine: Engine, pool: string, files: string[], o: { label: string; jobs?: number; onRebuilt?: () => void }): Promise<string> {
  const r = await deserializeContainer(engine, pool, files, { label: o.label, jobs: o.jobs });
  try {
    o.onRebuilt?.();
    return (await checkContainer(engine, pool, r.uuid)).digest;
  } finally {
    await destroyContainer(engine, pool, r.uuid);
  }
}
