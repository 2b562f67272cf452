// Reclaiming against snapshots created meanwhile. Destroying a snapshot runs a
// reclaim pass over the objects written after it; another caller may create a
// snapshot and overwrite those objects while the pass runs. The pass must then
// keep what the new snapshot sees. The interleaving is driven deterministically
// by the pause points of the pass (reclaimTestHooks), on LMDB and PostgreSQL.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openEngine } from '../../src/engine/open.js';
import { reclaimTestHooks } from '../../src/engine/kv-engine.js';
import { touchedMarker } from '../../src/engine/reclaim.js';
import type { Engine, KeyPath } from '../../src/engine/types.js';
import { tempDir } from '../helpers.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';

const B = (s: string) => Buffer.from(s);
const oid = (n: number) => { const b = Buffer.alloc(16); b.writeUInt32BE(n, 12); return b; };
/** Larger than the inline limit: the array bytes go to extent files (or blobs). */
const BIG = 40000;

function suite(name: string, create: () => Promise<string>): void {
  describe(`reclaim against concurrent snapshots: ${name}`, () => {
    for (const at of ['beforeObject', 'beforeDelete'] as const) {
      it(`a snapshot created and written after while another caller destroys one keeps every version it sees (${at === 'beforeObject' ? 'before the pass reads the object' : 'between its decision and its delete'})`, async () => {
        const url = await create();
        const engine = await openEngine(url);
        const other = await openEngine(url);
        try {
          const cont = randomUUID();
          const k: KeyPath = { cont, oid: oid(1), dkey: B('d'), akey: B('v') };
          const arr: KeyPath = { cont, oid: oid(1), dkey: B('d'), akey: B('arr') };
          const put = (e: Engine, n: number) => e.commit({ ops: [
            { op: 'put', ...k, value: B(`v${n}`) },
            { op: 'write', ...arr, offset: 0, data: Buffer.alloc(BIG, n) },
          ] });
          await put(engine, 1);
          const s1 = await engine.createSnapshot(cont, 's1');
          await put(engine, 2);
          let s3 = 0;
          reclaimTestHooks[at] = async () => {
            delete reclaimTestHooks[at];
            s3 = await other.createSnapshot(cont, 's3');
            await put(other, 3);
          };
          try {
            await engine.destroySnapshot(cont, s1);
          } finally {
            delete reclaimTestHooks[at];
          }
          assert.ok(s3 > 0, 'the pass reached the written object');
          assert.equal(String(await engine.get(k, s3)), 'v2', 'the new snapshot still sees the version it was taken on');
          assert.deepEqual(Buffer.from(await engine.read(arr, 0, BIG, s3)), Buffer.alloc(BIG, 2));
          assert.equal(String(await engine.get(k)), 'v3');
          assert.deepEqual(Buffer.from(await engine.read(arr, 0, BIG)), Buffer.alloc(BIG, 3));
          // The index of written objects keeps what destroying the new snapshot needs.
          assert.notEqual(await engine.catGet(touchedMarker(cont, s3)), undefined, "the new snapshot's marker in the touched index survives the pruning");
          await put(engine, 4);
          await engine.destroySnapshot(cont, s3);
          assert.equal(String(await engine.get(k)), 'v4');
          assert.deepEqual(Buffer.from(await engine.read(arr, 0, BIG)), Buffer.alloc(BIG, 4));
          assert.deepEqual(await engine.listSnapshots(cont), []);
        } finally {
          await other.close();
          await engine.close();
        }
      });
    }
  });
}

suite('lmdb', async () => `lmdb:${tempDir('strata-race-')}`);

const why = pgUnavailableReason();
if (why && process.env['CI']) {
  describe('reclaim against concurrent snapshots: postgres', () => {
    it('needs a PostgreSQL server', () => { throw new Error(`cannot run the PostgreSQL engine tests: ${why}`); });
  });
} else if (!why) {
  suite('postgres (bulk bytes in PostgreSQL)', () => freshPgDatabase(''));
  suite('postgres (bulk bytes in extent files)', () => freshPgDatabase(`data=${encodeURIComponent(tempDir('strata-pgdata-'))}`));
}
