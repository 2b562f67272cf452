// cloneContainer (src/container/clone.ts): every container type within a pool,
// across pools and across engines (LMDB <-> PostgreSQL when a server can be
// started, LMDB -> LMDB across two engine homes always); the clone's
// `container check` digest equals the source's. Bad input: an existing
// destination, a source that changes during the clone, a destination that
// fails mid-way (ENOSPC), and leftovers of a killed clone.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Engine, WriteOp } from '../../src/engine/types.js';
import { StrataError, isStrataError } from '../../src/errors.js';
import { openEngine } from '../../src/engine/open.js';
import {
  cloneContainer, createPool, createContainer, listContainers, openContainer, createSnap, catalogKeys,
} from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import { ObjectId, OTYPE } from '../../src/object/index.js';
import { checkContainer } from '../../src/park/index.js';
import { tempEngine } from '../helpers.js';
import { fillPosix, fillObjects, MiB } from '../park/util.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';

async function digest(engine: Engine, pool: string, cont: string): Promise<string> {
  return (await checkContainer(engine, pool, cont)).digest;
}

/** A source engine with a POSIX, an HDF5 and a RAW container in pool 'src'. */
async function sourceEngine(): Promise<Engine> {
  const { engine } = await tempEngine();
  await createPool(engine, 'src');
  await fillPosix(engine, 'src', 'posix');
  await fillObjects(engine, 'src', 'h5', 'HDF5', { objects: 40 });
  await fillObjects(engine, 'src', 'raw', 'RAW', { objects: 40 });
  // A large array with holes: extents over 16 KiB (extent files), a hole between.
  const c = await openContainer(engine, 'src', 'raw', { write: true });
  const o = c.object(await c.allocOid(OTYPE.ARRAY_BYTE, 'S1'));
  await c.tx().write(o, 'd', 'big', 0, crypto.randomBytes(MiB + 3)).write(o, 'd', 'big', 5 * MiB, crypto.randomBytes(70000)).commit();
  return engine;
}

const TYPES = [['posix', 'POSIX'], ['h5', 'HDF5'], ['raw', 'RAW']] as const;

describe('clone within a pool and across pools', () => {
  test('each container type: same digest, properties, ACL, attributes, holes', { timeout: 60000 }, async () => {
    const engine = await sourceEngine();
    await createPool(engine, 'dst');
    try {
      for (const [label, type] of TYPES) {
        const want = await digest(engine, 'src', label);
        // within the pool: default label <label>-clone
        const r = await cloneContainer({ engine, pool: 'src', cont: label }, { engine, pool: 'src' }, { jobs: 2 });
        assert.equal(r.label, `${label}-clone`);
        assert.equal(r.type, type);
        assert.equal(await digest(engine, 'src', r.label), want, `${type} clone within the pool`);
        // across pools: default label = source label
        const r2 = await cloneContainer({ engine, pool: 'src', cont: label }, { engine, pool: 'dst' }, { jobs: 1 });
        assert.equal(r2.label, label);
        assert.equal(await digest(engine, 'dst', label), want, `${type} clone in another pool`);
        const a = await openContainer(engine, 'src', label);
        const b = await openContainer(engine, 'dst', label);
        assert.deepEqual(b.record.props, a.record.props);
        assert.deepEqual(b.record.acl, a.record.acl);
        assert.deepEqual(b.record.attrs, a.record.attrs);
        assert.notEqual(b.uuid, a.uuid);
        // No snapshot is left on the source.
        assert.deepEqual(await engine.listSnapshots(a.uuid), []);
      }
      // Holes stay holes: the sparse file and the big array have the same extents, not zero-filled ones.
      const srcRaw = await checkContainer(engine, 'src', 'raw');
      const dstRaw = await checkContainer(engine, 'dst', 'raw');
      assert.equal(dstRaw.extents, srcRaw.extents);
      assert.equal(dstRaw.bytes, srcRaw.bytes);
      // The sparse POSIX file reads the same and stores no more than the source.
      const d1 = await mountDfs(await openContainer(engine, 'src', 'posix'));
      const d2 = await mountDfs(await openContainer(engine, 'dst', 'posix'));
      assert.ok((await d2.readFile('/sparse')).equals(await d1.readFile('/sparse')));
      assert.equal((await checkContainer(engine, 'dst', 'posix')).bytes, (await checkContainer(engine, 'src', 'posix')).bytes);
      // New objects in the clone never reuse a cloned OID.
      const w = await openContainer(engine, 'dst', 'h5', { write: true });
      const fresh = await w.allocOid(OTYPE.MULTI_HASHED, 'S1');
      const { listObjects } = await import('../../src/object/index.js');
      for await (const oid of listObjects(engine, w.uuid)) assert.ok(!oid.equals(fresh), `allocated OID ${fresh} collides with a cloned one`);
    } finally {
      await engine.close();
    }
  });

  test('--snap: clones a named snapshot; the source keeps changing', { timeout: 30000 }, async () => {
    const engine = await sourceEngine();
    try {
      await createSnap(engine, 'src', 'h5', { name: 'v1' });
      const want = (await checkContainer(engine, 'src', 'h5', { snap: 'v1' })).digest;
      const c = await openContainer(engine, 'src', 'h5', { write: true });
      await c.tx().put(c.object(new ObjectId(0n, 7n)), 'dkey-0', 'a0', 'changed').commit();
      const r = await cloneContainer({ engine, pool: 'src', cont: 'h5' }, { engine, pool: 'src', cont: 'h5-v1' }, { snap: 'v1' });
      assert.equal(await digest(engine, 'src', r.label), want);
      assert.notEqual(await digest(engine, 'src', 'h5'), want);
      // The named snapshot stays.
      assert.equal((await engine.listSnapshots(c.uuid)).filter((s) => s.name === 'v1').length, 1);
      await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'h5' }, { engine, pool: 'src', cont: 'x' }, { snap: 'nope' }), (e: unknown) => isStrataError(e, 'ENOENT'));
    } finally {
      await engine.close();
    }
  });
});

describe('clone across engines', () => {
  test('LMDB -> LMDB in another engine home, and back', { timeout: 60000 }, async () => {
    const a = await sourceEngine();
    const { engine: b } = await tempEngine();
    try {
      await createPool(b, 'far');
      for (const [label] of TYPES) {
        const want = await digest(a, 'src', label);
        const r = await cloneContainer({ engine: a, pool: 'src', cont: label }, { engine: b, pool: 'far' }, { jobs: 3 });
        assert.equal(await digest(b, 'far', r.label), want);
        const back = await cloneContainer({ engine: b, pool: 'far', cont: label }, { engine: a, pool: 'src', cont: `${label}-back` }, { jobs: 2 });
        assert.equal(await digest(a, 'src', back.label), want);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  const why = pgUnavailableReason();
  test('LMDB <-> PostgreSQL (bulk bytes in PostgreSQL and in extent files)', { timeout: 90000, skip: why && !process.env['CI'] ? `no PostgreSQL server: ${why}` : false }, async () => {
    if (why) throw new Error(`cannot run the PostgreSQL clone test: ${why}`);
    const a = await sourceEngine();
    const { tempDir } = await import('../helpers.js');
    const p1 = await openEngine(await freshPgDatabase());
    const p2 = await openEngine(await freshPgDatabase(`data=${encodeURIComponent(tempDir('strata-clone-pgdata-'))}`));
    try {
      for (const [i, pg] of [p1, p2].entries()) {
        await createPool(pg, 'shared');
        // Every type into the database; extent files (p2) only need the types with large arrays.
        for (const [label] of TYPES.filter(([l]) => i === 0 || l !== 'h5')) {
          const want = await digest(a, 'src', label);
          const r = await cloneContainer({ engine: a, pool: 'src', cont: label }, { engine: pg, pool: 'shared' }, { jobs: 4 });
          assert.equal(await digest(pg, 'shared', r.label), want, `${label} LMDB -> ${pg.location}`);
          const back = await cloneContainer({ engine: pg, pool: 'shared', cont: label }, { engine: a, pool: 'src', cont: `${label}-pg${i}` }, { jobs: 2 });
          assert.equal(await digest(a, 'src', back.label), want, `${label} ${pg.location} -> LMDB`);
        }
      }
      // PostgreSQL -> PostgreSQL (two databases)
      const r = await cloneContainer({ engine: p1, pool: 'shared', cont: 'posix' }, { engine: p2, pool: 'shared', cont: 'posix2' });
      assert.equal(await digest(p2, 'shared', r.label), await digest(a, 'src', 'posix'));
    } finally {
      await a.close();
      await p1.close();
      await p2.close();
    }
  });
});

/** An engine that forwards to `inner`, with some methods replaced. */
function wrap(inner: Engine, over: Partial<Engine>): Engine {
  return new Proxy(inner, {
    get(t, p, r) {
      if (p in over) return (over as Record<string | symbol, unknown>)[p];
      const v = Reflect.get(t, p, r) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

describe('clone: bad input', () => {
  test('refuses an existing destination (label or UUID); nothing is created', async () => {
    const engine = await sourceEngine();
    try {
      const before = await listContainers(engine, 'src');
      await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'posix' }, { engine, pool: 'src', cont: 'h5' }), (e: unknown) => isStrataError(e, 'EEXIST') && /already exists/.test(e.message));
      const h5 = await openContainer(engine, 'src', 'h5');
      await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'posix' }, { engine, pool: 'src', cont: h5.uuid }), (e: unknown) => isStrataError(e, 'EEXIST'));
      await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'posix' }, { engine, pool: 'src', cont: crypto.randomUUID() }), (e: unknown) => isStrataError(e, 'EINVAL'));
      await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'nope' }, { engine, pool: 'src' }), (e: unknown) => isStrataError(e, 'ENOENT'));
      await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'posix' }, { engine, pool: 'nopool' }), (e: unknown) => isStrataError(e, 'ENOENT'));
      await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'posix' }, { engine, pool: 'src' }, { jobs: 0 }), (e: unknown) => isStrataError(e, 'EINVAL'));
      // the default label is taken the second time
      await cloneContainer({ engine, pool: 'src', cont: 'raw' }, { engine, pool: 'src' });
      await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'raw' }, { engine, pool: 'src' }), (e: unknown) => isStrataError(e, 'EEXIST'));
      assert.deepEqual((await listContainers(engine, 'src')).map((c) => c.label).sort(), [...before.map((c) => c.label), 'raw-clone'].sort());
      assert.deepEqual(await engine.catList('clone-'), []);
    } finally {
      await engine.close();
    }
  });

  test('a source that changes during the clone: the clone is the snapshot', { timeout: 30000 }, async () => {
    for (const jobs of [1, 4]) {
      const engine = await sourceEngine();
      try {
        for (const [label] of TYPES) {
          const want = await digest(engine, 'src', label);
          const c = await openContainer(engine, 'src', label, { write: true });
          let mutated = false;
          // The first dkey listing of the clone triggers writes, punches and new objects in the source.
          const src = wrap(engine, {
            listDkeys: async (...args: Parameters<Engine['listDkeys']>) => {
              if (!mutated) {
                mutated = true;
                const tx = c.tx();
                const objs: ObjectId[] = [];
                const { listObjects } = await import('../../src/object/index.js');
                for await (const oid of listObjects(engine, c.uuid)) objs.push(oid);
                for (const oid of objs.slice(0, 5)) tx.punchObject(c.object(oid));
                for (const oid of objs.slice(5, 10)) tx.put(c.object(oid), 'new-dkey', 'x', 'during the clone').write(c.object(oid), 'dkey-0', 'arr', 0, crypto.randomBytes(4000));
                tx.put(c.object(await c.allocOid(OTYPE.MULTI_HASHED, 'S1')), 'd', 'a', 'new object');
                await tx.commit();
              }
              return engine.listDkeys(...args);
            },
          });
          const r = await cloneContainer({ engine: src, pool: 'src', cont: label }, { engine: src, pool: 'src', cont: `${label}-during-${jobs}` }, { jobs });
          assert.ok(mutated);
          assert.equal(await digest(engine, 'src', r.label), want, `${label}: the clone shows the source as of the snapshot`);
          assert.notEqual(await digest(engine, 'src', label), want, `${label}: the source did change`);
        }
      } finally {
        await engine.close();
      }
    }
  });

  test('a destination that fails mid-way (ENOSPC) leaves no container, no data, no snapshot', { timeout: 30000 }, async () => {
    const engine = await sourceEngine();
    const { engine: dst } = await tempEngine();
    try {
      await createPool(dst, 'full');
      let written = 0;
      let victim = '';
      const full = wrap(dst, {
        commit: async (b: Parameters<Engine['commit']>[0]) => {
          let data = false;
          for (const op of b.ops as WriteOp[]) {
            if (op.op === 'write' || op.op === 'put') {
              victim = op.cont;
              data = true;
              written += op.op === 'write' ? op.data.length : op.value.length;
            }
          }
          // Data writes fail once the "disk" is full; catalog updates and destroys still work.
          if (data && written > 300_000) throw new StrataError('ENOSPC', 'engine: no space left on device');
          return dst.commit(b);
        },
      });
      for (const jobs of [1, 3]) {
        written = 0;
        await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'posix' }, { engine: full, pool: 'full' }, { jobs }), (e: unknown) => isStrataError(e, 'ENOSPC'));
        assert.ok(victim);
        assert.deepEqual(await listContainers(dst, 'full'), []);
        assert.deepEqual(await dst.listObjects(victim, {}), [], 'the unregistered data is destroyed');
        assert.equal(await dst.catGet(catalogKeys.contUuid(victim)), undefined);
        assert.deepEqual(await dst.catList('clone-'), []);
        assert.deepEqual(await engine.catList('clone-'), []);
        assert.deepEqual(await engine.listSnapshots((await openContainer(engine, 'src', 'posix')).uuid), []);
      }
      // With space again the same clone works.
      const r = await cloneContainer({ engine, pool: 'src', cont: 'posix' }, { engine: dst, pool: 'full' });
      assert.equal(await digest(dst, 'full', r.label), await digest(engine, 'src', 'posix'));
    } finally {
      await engine.close();
      await dst.close();
    }
  });

  test('leftovers of a killed clone (pending container, run snapshot) are removed by the next clone', async () => {
    const engine = await sourceEngine();
    try {
      const dead = { host: (await import('node:os')).hostname(), pid: 2 ** 22 + 12345, start: 'x', at: new Date().toISOString() };
      const orphan = crypto.randomUUID();
      const oid = new ObjectId(1n << 32n, 1n).toBytes();
      await engine.commit({ ops: [{ op: 'put', cont: orphan, oid, dkey: Buffer.from('d'), akey: Buffer.from('a'), value: Buffer.from('v') }] });
      await engine.commit({ ops: [{ op: 'cat-put', key: `pending/${orphan}`, value: dead }] });
      const src = await openContainer(engine, 'src', 'h5');
      const epoch = await engine.createSnapshot(src.uuid);
      await engine.commit({ ops: [{ op: 'cat-put', key: `run-snap/${src.uuid}/${epoch}`, value: dead }] });
      await cloneContainer({ engine, pool: 'src', cont: 'raw' }, { engine, pool: 'src' });
      assert.deepEqual(await engine.listObjects(orphan, {}), []);
      assert.deepEqual(await engine.listSnapshots(src.uuid), []);
      assert.deepEqual(await engine.catList('clone-'), []);
    } finally {
      await engine.close();
    }
  });

  test('the caller needs r on the source and c on the destination pool', async () => {
    const engine = await sourceEngine();
    try {
      await createContainer(engine, 'src', 'private', { acl: ['A::OWNER@:rwdtTaAo'] });
      const other = { uid: 4242, gids: [4242], user: 'nobody4242', groups: ['nogroup4242'] };
      await assert.rejects(cloneContainer({ engine, pool: 'src', cont: 'private' }, { engine, pool: 'src' }, { caller: other }), (e: unknown) => isStrataError(e, 'EACCES'));
    } finally {
      await engine.close();
    }
  });
});
