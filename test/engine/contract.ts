// The engine contract: every engine implementation runs this suite
// (test/engine/<engine>.test.ts is a few lines that call it).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Engine, KeyPath, WriteOp } from '../../src/engine/types.js';
import { LATEST } from '../../src/engine/types.js';
import { isStrataError } from '../../src/errors.js';

export interface EngineFactory {
  /** Opens a fresh, empty engine; `url` lets child processes open the same one. */
  create(): Promise<{ engine: Engine; url: string }>;
  /**
   * Whether reclaimed space goes back to the filesystem (usage().totalBytes
   * shrinks). False for data kept inside PostgreSQL, which reuses freed
   * space for new rows but returns it only on VACUUM FULL.
   */
  returnsSpace?: boolean;
}

const B = (s: string) => Buffer.from(s);
function oidOf(n: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(n, 12);
  return b;
}

export function engineContract(name: string, factory: EngineFactory): void {
  describe(`engine contract: ${name}`, () => {
    let engine: Engine;
    let url: string;
    let cont: string;
    before(async () => { ({ engine, url } = await factory.create()); });
    after(async () => { await engine.close(); });
    const kp = (oid: number, dkey: string, akey: string): KeyPath => ({ cont, oid: oidOf(oid), dkey: B(dkey), akey: B(akey) });
    const newCont = () => { cont = randomUUID(); return cont; };

    it('commits get increasing epochs and reads see the newest version at or below an epoch', async () => {
      newCont();
      const k = kp(1, 'd', 'a');
      const e1 = await engine.commit({ ops: [{ op: 'put', ...k, value: B('one') }] });
      const e2 = await engine.commit({ ops: [{ op: 'put', ...k, value: B('two') }] });
      assert.ok(e2 > e1);
      assert.equal(await engine.currentEpoch() >= e2, true);
      assert.equal(String(await engine.get(k)), 'two');
      assert.equal(await engine.get(k, e1 - 1), undefined);
      assert.equal(await engine.version(k), e2);
      assert.equal(await engine.version(kp(1, 'd', 'missing')), 0);
    });

    it('a snapshot view never changes after later writes, punches and reclaiming', async () => {
      newCont();
      const k = kp(1, 'd', 'a');
      const arr = kp(1, 'd', 'arr');
      await engine.commit({ ops: [{ op: 'put', ...k, value: B('before') }, { op: 'write', ...arr, offset: 0, data: Buffer.alloc(100000, 1) }] });
      const snap = await engine.createSnapshot(cont, 's1');
      await engine.commit({ ops: [{ op: 'put', ...k, value: B('after') }, { op: 'write', ...arr, offset: 50000, data: Buffer.alloc(100000, 2) }] });
      await engine.commit({ ops: [{ op: 'put', ...kp(2, 'x', 'y'), value: B('new obj') }] });
      await engine.commit({ ops: [{ op: 'punch-obj', cont, oid: oidOf(1) }] });
      await engine.reclaim(cont);
      assert.equal(await engine.get(k), undefined);
      assert.deepEqual(await engine.listObjects(cont), [oidOf(2)]);
      assert.equal(String(await engine.get(k, snap)), 'before');
      assert.deepEqual(Buffer.from(await engine.read(arr, 0, 100000, snap)), Buffer.alloc(100000, 1));
      assert.deepEqual(await engine.listObjects(cont, { epoch: snap }), [oidOf(1)]);
      assert.deepEqual((await engine.listSnapshots(cont)).map((s) => s.name), ['s1']);
    });

    it('enumerates objects, dkeys and akeys in byte order, with paging', async () => {
      newCont();
      const names = ['b', 'a', 'c\u0000x', 'c', 'aa', '\u00ff', ''].map(B);
      await engine.commit({ ops: names.map((d) => ({ op: 'put' as const, cont, oid: oidOf(7), dkey: d, akey: B('v'), value: B('1') })) });
      const sorted = [...names].sort(Buffer.compare);
      assert.deepEqual((await engine.listDkeys(cont, oidOf(7))).map((b) => Buffer.from(b)), sorted);
      const page1 = await engine.listDkeys(cont, oidOf(7), { limit: 3 });
      const page2 = await engine.listDkeys(cont, oidOf(7), { limit: 3, after: page1[2] });
      const page3 = await engine.listDkeys(cont, oidOf(7), { limit: 3, after: page2[2] });
      assert.deepEqual([...page1, ...page2, ...page3].map((b) => Buffer.from(b)), sorted);
      await engine.commit({ ops: [3, 1, 2].map((n) => ({ op: 'put' as const, ...kp(n, 'd', 'a'), value: B('x') })) });
      assert.deepEqual(await engine.listObjects(cont), [oidOf(1), oidOf(2), oidOf(3), oidOf(7)]);
      assert.deepEqual(await engine.listObjects(cont, { after: oidOf(2), limit: 1 }), [oidOf(3)]);
      await engine.commit({ ops: ['z', 'y', 'x'].map((a) => ({ op: 'put' as const, ...kp(1, 'd', a), value: B(a) })) });
      assert.deepEqual((await engine.listAkeys(cont, oidOf(1), B('d'))).map((a) => `${String(a.akey)}:${a.kind}`), ['a:single', 'x:single', 'y:single', 'z:single']);
    });

    it('a snapshot taken with a record writes the catalog entry keyed by its epoch in the same commit', async () => {
      newCont();
      const epoch = await engine.createSnapshot(cont, undefined, { keyPrefix: `test-run/${cont}/`, value: { who: 'me' } });
      assert.deepEqual(await engine.catGet(`test-run/${cont}/${epoch}`), { who: 'me' });
      assert.ok((await engine.listSnapshots(cont)).some((s) => s.epoch === epoch));
      await engine.destroySnapshot(cont, epoch);
      await engine.commit({ ops: [{ op: 'cat-del', key: `test-run/${cont}/${epoch}` }] });
    });

    it('punches an akey, a dkey and an object, also at epochs before and after', async () => {
      newCont();
      await engine.commit({ ops: [{ op: 'put', ...kp(1, 'd1', 'a'), value: B('1') }, { op: 'put', ...kp(1, 'd1', 'b'), value: B('2') }, { op: 'put', ...kp(1, 'd2', 'a'), value: B('3') }] });
      const snap = await engine.createSnapshot(cont);
      await engine.commit({ ops: [{ op: 'punch-akey', ...kp(1, 'd1', 'a') }] });
      assert.deepEqual((await engine.listAkeys(cont, oidOf(1), B('d1'))).map((a) => String(a.akey)), ['b']);
      await engine.commit({ ops: [{ op: 'punch-dkey', cont, oid: oidOf(1), dkey: B('d1') }] });
      assert.deepEqual((await engine.listDkeys(cont, oidOf(1))).map(String), ['d2']);
      const afterDkeyPunch = await engine.createSnapshot(cont, 'after-dkey-punch');
      await engine.commit({ ops: [{ op: 'punch-obj', cont, oid: oidOf(1) }] });
      assert.deepEqual(await engine.listObjects(cont), []);
      assert.deepEqual((await engine.listDkeys(cont, oidOf(1), { epoch: afterDkeyPunch })).map(String), ['d2']);
      assert.deepEqual((await engine.listDkeys(cont, oidOf(1), { epoch: snap })).map(String), ['d1', 'd2']);
      // A write after a punch in the same batch survives it.
      await engine.commit({ ops: [{ op: 'punch-obj', cont, oid: oidOf(1) }, { op: 'put', ...kp(1, 'n', 'a'), value: B('new') }] });
      assert.equal(String(await engine.get(kp(1, 'n', 'a'))), 'new');
      assert.equal(await engine.get(kp(1, 'd2', 'a')), undefined);
    });

    it('byte arrays: holes read as zeros and are not stored; punch-range makes holes', async () => {
      newCont();
      const k = kp(1, 'f', 'data');
      const GiB = 1 << 30;
      await engine.commit({ ops: [{ op: 'write', ...k, offset: 0, data: Buffer.alloc(1000, 9) }, { op: 'write', ...k, offset: GiB, data: Buffer.alloc(50000, 8) }] });
      assert.deepEqual(await engine.extents(k), [{ offset: 0, length: 1000 }, { offset: GiB, length: 50000 }]);
      const mid = await engine.read(k, 990, 20);
      assert.deepEqual(Buffer.from(mid), Buffer.concat([Buffer.alloc(10, 9), Buffer.alloc(10, 0)]));
      assert.deepEqual(Buffer.from(await engine.read(k, GiB - 5, 10)), Buffer.concat([Buffer.alloc(5, 0), Buffer.alloc(5, 8)]));
      await engine.commit({ ops: [{ op: 'punch-range', ...k, offset: 500, length: GiB }] });
      assert.deepEqual(await engine.extents(k), [{ offset: 0, length: 500 }, { offset: GiB + 500, length: 49500 }]);
      assert.deepEqual(Buffer.from(await engine.read(k, 498, 4)), Buffer.from([9, 9, 0, 0]));
      const u = await engine.usage();
      assert.ok(u.liveDataBytes < 200000, `live data ${u.liveDataBytes} should not count the 1 GiB hole`);
      assert.deepEqual((await engine.listAkeys(cont, oidOf(1), B('f'))).map((a) => a.kind), ['array']);
    });

    it('overlapping writes in one batch: the later one wins', async () => {
      newCont();
      const k = kp(1, 'f', 'data');
      await engine.commit({ ops: [
        { op: 'write', ...k, offset: 0, data: Buffer.alloc(100, 1) },
        { op: 'write', ...k, offset: 50, data: Buffer.alloc(20, 2) },
        { op: 'punch-range', ...k, offset: 90, length: 5 },
      ] });
      const got = Buffer.from(await engine.read(k, 0, 100));
      const want = Buffer.alloc(100, 1); want.fill(2, 50, 70); want.fill(0, 90, 95);
      assert.deepEqual(got, want);
    });

    it('an extent covered by several pieces of one later batch is freed by that batch, not left for a reclaim pass', async () => {
      newCont();
      const k = kp(1, 'f', 'data');
      await engine.commit({ ops: [{ op: 'write', ...k, offset: 0, data: Buffer.alloc(64, 1) }] });
      const one = (await engine.check()).records;
      // Two adjacent pieces (the later write cuts the earlier one) and a hole piece next to them:
      // together they cover the first extent, no single piece does.
      await engine.commit({ ops: [
        { op: 'write', ...k, offset: 0, data: Buffer.alloc(40, 2) },
        { op: 'write', ...k, offset: 20, data: Buffer.alloc(10, 3) },
        { op: 'punch-range', ...k, offset: 40, length: 24 },
      ] });
      const want = Buffer.alloc(64, 2); want.fill(3, 20, 30); want.fill(0, 40, 64);
      assert.deepEqual(Buffer.from(await engine.read(k, 0, 64)), want);
      const left = (await engine.check()).records;
      await engine.reclaim(cont);
      assert.equal((await engine.check()).records, left, 'a full pass found the extent the second batch overwrote');
      assert.ok(left <= one + 2, `records after the overwrite: ${left}`);
      assert.deepEqual(Buffer.from(await engine.read(k, 0, 64)), want);
    });

    it('conditions: a batch applies only if the versions it read are unchanged', async () => {
      newCont();
      const k = kp(1, 'dir', 'entry');
      const v0 = await engine.version(k);
      assert.equal(v0, 0);
      await engine.commit({ ops: [{ op: 'put', ...k, value: B('first') }], conditions: [{ kind: 'akey', ...k, version: v0 }] });
      await assert.rejects(
        engine.commit({ ops: [{ op: 'put', ...k, value: B('second') }], conditions: [{ kind: 'akey', ...k, version: v0 }] }),
        (e) => isStrataError(e, 'ECONFLICT'));
      assert.equal(String(await engine.get(k)), 'first');
      await engine.commit({ ops: [{ op: 'punch-akey', ...k }] });
      assert.equal(await engine.version(k), 0, 'a punched akey reads as absent');
      await engine.commit({ ops: [{ op: 'cat-put', key: `t/${cont}`, value: { a: 1 } }], conditions: [{ kind: 'cat-absent', key: `t/${cont}` }] });
      await assert.rejects(engine.commit({ ops: [{ op: 'cat-put', key: `t/${cont}`, value: { a: 2 } }], conditions: [{ kind: 'cat-absent', key: `t/${cont}` }] }), (e) => isStrataError(e, 'ECONFLICT'));
      assert.deepEqual(await engine.catGet(`t/${cont}`), { a: 1 });
    });

    it('put-max keeps the largest value without conflicts between writers', async () => {
      newCont();
      const k = kp(1, 'f', 'size');
      await Promise.all([5n, 100n, 7n, 99n].map((v) => engine.commit({ ops: [{ op: 'put-max', ...k, value: v }] })));
      assert.equal(Buffer.from((await engine.get(k))!).readBigUInt64LE(0), 100n);
      await engine.commit({ ops: [{ op: 'put', ...k, value: Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]) }] });
      assert.equal(Buffer.from((await engine.get(k))!).readBigUInt64LE(0), 3n);
    });

    it('catalog lists by prefix in key order, with paging', async () => {
      const p = `cl/${randomUUID()}/`;
      await engine.commit({ ops: ['b', 'a', 'c'].map((n) => ({ op: 'cat-put' as const, key: p + n, value: n })) });
      assert.deepEqual((await engine.catList(p)).map(([k]) => k.slice(p.length)), ['a', 'b', 'c']);
      assert.deepEqual((await engine.catList(p, { after: p + 'a', limit: 1 })).map(([, v]) => v), ['b']);
      await engine.commit({ ops: [{ op: 'cat-del', key: p + 'b' }] });
      assert.equal(await engine.catGet(p + 'b'), undefined);
    });

    it('allocates unique numbers per container', async () => {
      newCont();
      const got = await Promise.all([1, 5, 1, 10].map((n) => engine.allocate(cont, n)));
      const ranges = got.map((g, i) => [g, g + BigInt([1, 5, 1, 10][i]!)] as const).sort((a, b) => Number(a[0] - b[0]));
      for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0] >= ranges[i - 1]![1]);
    });

    it('destroying a snapshot reclaims space: the engine gets smaller', async () => {
      newCont();
      const k = kp(1, 'f', 'data');
      const MiB = 1 << 20;
      const base = (await engine.usage()).liveDataBytes;
      for (let i = 0; i < 80; i++) await engine.commit({ ops: [{ op: 'write', ...k, offset: i * MiB, data: Buffer.alloc(MiB, 1) }] });
      const snap = await engine.createSnapshot(cont, 'keep');
      for (let i = 0; i < 80; i++) await engine.commit({ ops: [{ op: 'write', ...k, offset: i * MiB, data: Buffer.alloc(MiB, 2) }] });
      const before = await engine.usage();
      assert.ok(before.liveDataBytes - base >= 160 * MiB);
      assert.deepEqual(Buffer.from(await engine.read(k, 5 * MiB, 4, snap)), Buffer.alloc(4, 1));
      await engine.destroySnapshot(cont, snap);
      const after = await engine.usage();
      assert.ok(after.liveDataBytes - base <= 80 * MiB, `live ${after.liveDataBytes - base}`);
      if (factory.returnsSpace !== false) assert.ok(after.totalBytes < before.totalBytes - 32 * MiB, `total ${before.totalBytes} -> ${after.totalBytes}`);
      assert.deepEqual(Buffer.from(await engine.read(k, 79 * MiB, 4)), Buffer.alloc(4, 2));
      await engine.destroyContainer(cont);
      assert.deepEqual(await engine.listObjects(cont), []);
    });

    it('two processes write to the same container at once', async () => {
      newCont();
      const { spawn } = await import('node:child_process');
      const { fileURLToPath } = await import('node:url');
      const worker = fileURLToPath(new URL('./writer-process.js', import.meta.url));
      const run = (id: number) => new Promise<number>((resolve, reject) => {
        const c = spawn(process.execPath, [worker, url, cont, String(id), '200'], { stdio: ['ignore', 'inherit', 'inherit'] });
        c.on('error', reject);
        c.on('close', (code) => resolve(code ?? -1));
      });
      const codes = await Promise.all([run(1), run(2)]);
      assert.deepEqual(codes, [0, 0]);
      for (const id of [1, 2]) {
        const dkeys = await engine.listDkeys(cont, oidOf(id), { limit: 10000 });
        assert.equal(dkeys.length, 201, "200 value dkeys and the blob");
        const data = await engine.read({ cont, oid: oidOf(id), dkey: B('blob'), akey: B('data') }, 0, 200 * 40000);
        for (let i = 0; i < 200; i++) assert.equal(data[i * 40000 + 39999], (id * 31 + i) & 0xff);
      }
      const counter = await engine.get({ cont, oid: oidOf(99), dkey: B('shared'), akey: B('count') });
      assert.equal(Buffer.from(counter!).readBigUInt64LE(0), 400n, 'every conditional increment of both processes landed');
    });

    it('two containers written at once by several processes: reads of each see exactly its commits up to the epoch read at; conditions and catalog races across containers hold', async () => {
      const A = newCont(), Bc = randomUUID();
      const WRITERS = 4, OBJS = 4, MS = 3000;
      const { spawn } = await import('node:child_process');
      const { fileURLToPath } = await import('node:url');
      const worker = fileURLToPath(new URL('./cross-container-worker.js', import.meta.url));
      const t0 = Date.now() + 1500; // the cat processes race in time slots from here
      const run = (role: string, id: number) => new Promise<{ code: number | null; lines: Array<Record<string, unknown>>; stderr: string }>((resolve, reject) => {
        const c = spawn(process.execPath, [worker, role, url, A, Bc, String(id), String(WRITERS), String(OBJS), String(MS), String(t0)], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '', stderr = '';
        c.stdout.on('data', (d: Buffer) => { stdout += d; });
        c.stderr.on('data', (d: Buffer) => { stderr += d; });
        c.on('error', reject);
        c.on('close', (code) => resolve({ code, stderr, lines: stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) }));
      });
      const results = await Promise.all([
        ...Array.from({ length: WRITERS }, (_, i) => run('writer', i)),
        run('reader', 0), run('reader', 1), run('cat', 0), run('cat', 1),
      ]);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      // The model: per container and object, its values by epoch.
      const versions = new Map<string, Array<{ e: number; v: string }>>();
      const incs = { A: 0, B: 0 };
      const counterAt = { A: [] as Array<{ e: number; n: number }>, B: [] as Array<{ e: number; n: number }> };
      const copies: Array<{ side: 'A' | 'B'; e: number; n: number }> = [];
      for (const r of results.slice(0, WRITERS)) {
        for (const x of r.lines) {
          if ('incs' in x) { incs[x['into'] as 'A' | 'B'] += x['incs'] as number; continue; }
          if ('ctr' in x) { counterAt[x['ctr'] as 'A' | 'B'].push({ e: x['e'] as number, n: x['n'] as number }); continue; }
          if ('copy' in x) { copies.push({ side: x['copy'] as 'A' | 'B', e: x['e'] as number, n: x['n'] as number }); continue; }
          const key = `${x['c']}/${x['w']}/${x['o']}`;
          if (!versions.has(key)) versions.set(key, []);
          versions.get(key)!.push({ e: x['e'] as number, v: x['v'] as string });
        }
      }
      const want = (c: string, w: number, o: number, epoch: number) => {
        let best: { e: number; v: string } | undefined;
        for (const x of versions.get(`${c}/${w}/${o}`) ?? []) if (x.e <= epoch && (!best || x.e > best.e)) best = x;
        return best?.v ?? null;
      };
      const epochOf = new Map<string, number>();
      for (const list of versions.values()) for (const x of list) epochOf.set(x.v, x.e);
      const wrong: string[] = [];
      let reads = 0;
      for (const r of results.slice(WRITERS, WRITERS + 2)) {
        for (const x of r.lines) {
          reads++;
          for (const [w, o, v] of x['reads'] as Array<[number, number, string | null]>) {
            if (x['at'] !== undefined) {
              // At a snapshot: exactly the newest commit at or below it.
              const expect = want(x['c'] as string, w, o, x['at'] as number);
              if (v !== expect) wrong.push(`container ${x['c']} at snapshot ${x['at']}: object ${w}/${o} read ${v}, its commits say ${expect}`);
            } else {
              // After currentEpoch(cont) said E: every commit of the container up to E is visible.
              const floor = want(x['c'] as string, w, o, x['now'] as number);
              if (floor !== null && (v === null || epochOf.get(v)! < epochOf.get(floor)!)) wrong.push(`container ${x['c']} after currentEpoch ${x['now']}: object ${w}/${o} read ${v}, older than its commit ${floor}`);
            }
          }
        }
      }
      assert.ok(reads >= 4 && versions.size > 0, `the test ran (${reads} reads)`);
      assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} wrong reads`);
      // Every conditional increment landed exactly once.
      for (const [side, c] of [['A', A], ['B', Bc]] as const) {
        const n = await engine.get({ cont: c, oid: oidOf(999999), dkey: B('c'), akey: B('n') });
        assert.equal(n ? Buffer.from(n).readBigUInt64LE(0) : 0n, BigInt(incs[side]), `increments of the counter in ${side}`);
      }
      // A copy of a counter committed at epoch E under a condition on its
      // version holds the counter's value at the newest increment below E.
      assert.ok(copies.length > 0, 'some copies were committed');
      for (const c of copies) {
        const before = counterAt[c.side].filter((x) => x.e < c.e).reduce((a, b) => (b.e > a.e ? b : a), { e: 0, n: 0 });
        assert.equal(c.n, before.n, `a copy of counter ${c.side} at ${c.e} holds ${c.n}, the counter was ${before.n} (at ${before.e})`);
      }
      // Each raced catalog key has one winner, the one the catalog holds.
      const winners = new Map<string, number[]>();
      results.slice(WRITERS + 2).forEach((r, id) => { for (const x of r.lines) winners.set(x['won'] as string, [...(winners.get(x['won'] as string) ?? []), id]); });
      assert.ok(winners.size > 0);
      for (const [i, ids] of winners) {
        assert.equal(ids.length, 1, `catalog key ${i} won by ${ids.join(' and ')}`);
        assert.equal(await engine.catGet(`race/${A}/${i}`), ids[0]);
      }
      // A read now at each container's current epoch sees its newest commits.
      for (const [side, c] of [['A', A], ['B', Bc]] as const) {
        const at = await engine.currentEpoch(c);
        for (let w = 0; w < WRITERS; w++) {
          for (let o = 0; o < OBJS; o++) {
            const v = await engine.get({ cont: c, oid: oidOf(w * 1000 + o), dkey: B('d'), akey: B('v') }, at);
            assert.equal(v === undefined ? null : Buffer.from(v).toString(), want(side, w, o, Infinity), `${side} ${w}/${o} now`);
          }
        }
      }
    });

    it('destroying a snapshot taken after the last write frees nothing and changes no read; an older one is reclaimed as before', async () => {
      newCont();
      const k = kp(1, 'f', 'data');
      const MiB = 1 << 20;
      const base = (await engine.usage()).liveDataBytes;
      for (let i = 0; i < 8; i++) await engine.commit({ ops: [{ op: 'write', ...k, offset: i * MiB, data: Buffer.alloc(MiB, 1) }] });
      const old = await engine.createSnapshot(cont, 'old');
      for (let i = 0; i < 8; i++) await engine.commit({ ops: [{ op: 'write', ...k, offset: i * MiB, data: Buffer.alloc(MiB, 2) }, { op: 'put', ...kp(2, 'd', 'v'), value: B(`v${i}`) }] });
      // Taken after the last write, then destroyed: the (skipped) reclaim has nothing to free.
      const idle = await engine.createSnapshot(cont, 'idle');
      await engine.destroySnapshot(cont, idle);
      assert.equal((await engine.usage()).liveDataBytes - base, 16 * MiB, 'both versions are still needed (old snapshot and latest)');
      assert.deepEqual(Buffer.from(await engine.read(k, 3 * MiB, 4, old)), Buffer.alloc(4, 1));
      assert.deepEqual(Buffer.from(await engine.read(k, 3 * MiB, 4)), Buffer.alloc(4, 2));
      assert.equal(Buffer.from((await engine.get(kp(2, 'd', 'v')))!).toString(), 'v7');
      // The old snapshot was followed by writes: destroying it reclaims their first versions.
      await engine.destroySnapshot(cont, old);
      assert.equal((await engine.usage()).liveDataBytes - base, 8 * MiB);
      assert.deepEqual(Buffer.from(await engine.read(k, 3 * MiB, 4)), Buffer.alloc(4, 2));
      // A snapshot followed by a write, then destroyed: its versions go too.
      const s3 = await engine.createSnapshot(cont, 's3');
      await engine.commit({ ops: [{ op: 'write', ...k, offset: 0, data: Buffer.alloc(MiB, 3) }] });
      await engine.destroySnapshot(cont, s3);
      assert.equal((await engine.usage()).liveDataBytes - base, 8 * MiB);
      assert.deepEqual(Buffer.from(await engine.read(k, 0, 4)), Buffer.alloc(4, 3));
      await engine.destroyContainer(cont);
      assert.equal(await engine.catGet(`lastwrite/${cont}`), undefined, 'the container leaves no record behind');
    });

    it('property: destroying a snapshot reclaims, from the objects written after it, all that a pass over the whole container would', async () => {
      await fc.assert(fc.asyncProperty(
        fc.array(fc.oneof(
          fc.record({ t: fc.constant('put' as const), o: fc.nat(7), v: fc.nat(5) }),
          fc.record({ t: fc.constant('write' as const), o: fc.nat(7), off: fc.nat(3) }),
          fc.record({ t: fc.constant('punch' as const), o: fc.nat(7) }),
          fc.record({ t: fc.constant('snap' as const) }),
          fc.record({ t: fc.constant('destroy' as const), i: fc.nat(5) }),
        ), { maxLength: 30 }),
        fc.boolean(),
        async (steps, oldHome) => {
          newCont();
          const snaps: number[] = [];
          const records = async () => (await engine.check()).records;
          for (const s of steps) {
            if (s.t === 'put') await engine.commit({ ops: [{ op: 'put', ...kp(s.o + 1, 'd', 'a'), value: B(`v${s.v}`) }] });
            else if (s.t === 'write') await engine.commit({ ops: [{ op: 'write', ...kp(s.o + 1, 'd', 'arr'), offset: s.off * 100, data: Buffer.alloc(100, s.off + 1) }] });
            else if (s.t === 'punch') await engine.commit({ ops: [{ op: 'punch-obj', cont, oid: oidOf(s.o + 1) }] });
            else if (s.t === 'snap') {
              const e = await engine.createSnapshot(cont);
              snaps.push(e);
              // A snapshot of an engine home older than the index of written objects: destroying it must still free everything.
              if (oldHome) await engine.commit({ ops: [{ op: 'cat-del', key: `touched/${cont}/${String(e).padStart(16, '0')}/snap` }] });
            } else if (snaps.length) {
              const victim = snaps.splice(s.i % snaps.length, 1)[0]!;
              await engine.destroySnapshot(cont, victim);
              const left = await records();
              await engine.reclaim(cont);
              assert.equal(await records(), left, 'a full pass found versions the destroy left behind');
            }
          }
          for (const e of snaps) await engine.destroySnapshot(cont, e);
          assert.deepEqual(await engine.catList(`touched/${cont}/`), [], 'no index entries once no snapshot is left');
          await engine.destroyContainer(cont);
        }), { numRuns: 30 });
    });

    it("'visible' commits: another process sees each one when it returns (after refresh()), a SIGKILL loses none of them, sync() completes", async () => {
      newCont();
      const { spawn } = await import('node:child_process');
      const { fileURLToPath } = await import('node:url');
      const worker = fileURLToPath(new URL('./visible-writer.js', import.meta.url));
      const c = spawn(process.execPath, [worker, url, cont], { stdio: ['ignore', 'pipe', 'inherit'] });
      let acked = -1;
      let seenWhileRunning = 0;
      let buf = '';
      await new Promise<void>((resolve, reject) => {
        c.on('error', reject);
        c.on('close', () => resolve());
        c.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          for (const l of lines) acked = Number(l);
          if (acked >= 0 && seenWhileRunning < 5) {
            // Visible to this process as soon as the writer's commit returned (refresh(): a new read snapshot).
            const k = acked;
            seenWhileRunning++;
            engine.refresh();
            void engine.get({ cont, oid: oidOf(7), dkey: B(`k${k}`), akey: B('v') }).then((v) => {
              if (Buffer.from(v ?? []).toString() !== String(k)) reject(new Error(`commit ${k} returned but is not visible to another process`));
            });
          }
          if (acked >= 150) c.kill('SIGKILL');
        });
      });
      assert.ok(acked >= 150, `the writer acknowledged ${acked + 1} commits before it was killed`);
      const dkeys = await engine.listDkeys(cont, oidOf(7), { limit: 100000 });
      assert.ok(dkeys.length >= acked + 1, `${dkeys.length} commits found, ${acked + 1} acknowledged`);
      for (let i = 0; i <= acked; i++) assert.equal(Buffer.from((await engine.get(kp(7, `k${i}`, 'v')))!).toString(), String(i));
      await engine.sync();
    });

    it('property: puts, put-maxes and punches of one akey in one batch act as if applied in order', async () => {
      const u64 = (v: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; };
      await fc.assert(fc.asyncProperty(
        fc.option(fc.bigInt({ min: 0n, max: 1000n }), { nil: undefined }),
        fc.array(fc.oneof(
          fc.record({ t: fc.constant('put' as const), v: fc.bigInt({ min: 0n, max: 1000n }) }),
          fc.record({ t: fc.constant('max' as const), v: fc.bigInt({ min: 0n, max: 1000n }) }),
          fc.record({ t: fc.constant('punch' as const) }),
          fc.record({ t: fc.constant('other' as const), v: fc.bigInt({ min: 0n, max: 1000n }) }),
        ), { minLength: 1, maxLength: 10 }),
        async (initial, steps) => {
          newCont();
          const k = kp(1, 'd', 'm');
          let model = initial;
          if (initial !== undefined) await engine.commit({ ops: [{ op: 'put', ...k, value: u64(initial) }] });
          const ops: WriteOp[] = [];
          for (const s of steps) {
            if (s.t === 'put') { ops.push({ op: 'put', ...k, value: u64(s.v) }); model = s.v; }
            else if (s.t === 'max') { ops.push({ op: 'put-max', ...k, value: s.v }); model = model === undefined || s.v > model ? s.v : model; }
            else if (s.t === 'punch') { ops.push({ op: 'punch-akey', ...k }); model = undefined; }
            else ops.push({ op: 'put-max', ...kp(1, 'd', 'other'), value: s.v });
          }
          await engine.commit({ ops });
          const got = await engine.get(k);
          assert.deepEqual(got === undefined ? undefined : Buffer.from(got).readBigUInt64LE(0), model);
          await engine.destroyContainer(cont);
        }), { numRuns: 60 });
    });

    it('property: batches committed at once act as if applied one at a time in epoch order, conditions included', async () => {
      // Many batches in flight at once share transactions (PostgreSQL group
      // commit, with the reads of a group done ahead) or LMDB commits: each
      // must still see the ones before it, reclaim what they overwrite and
      // check its conditions against them.
      type Step =
        | { t: 'put'; o: number; d: number; a: number; v: number }
        | { t: 'max'; o: number; d: number; a: number; v: number }
        | { t: 'punch-akey'; o: number; d: number; a: number }
        | { t: 'punch-dkey'; o: number; d: number }
        | { t: 'punch-obj'; o: number }
        | { t: 'write'; o: number; off: number; len: number; v: number };
      const small = fc.nat(1);
      const step: fc.Arbitrary<Step> = fc.oneof(
        fc.record({ t: fc.constant('put' as const), o: small, d: small, a: small, v: fc.nat(50) }),
        fc.record({ t: fc.constant('max' as const), o: small, d: small, a: small, v: fc.nat(50) }),
        fc.record({ t: fc.constant('punch-akey' as const), o: small, d: small, a: small }),
        fc.record({ t: fc.constant('punch-dkey' as const), o: small, d: small }),
        fc.record({ t: fc.constant('punch-obj' as const), o: small }),
        fc.record({ t: fc.constant('write' as const), o: small, off: fc.nat(40), len: fc.integer({ min: 1, max: 24 }), v: fc.integer({ min: 1, max: 255 }) }),
      );
      const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
      const single = (o: number, d: number, a: number) => kp(o + 1, `d${d}`, `a${a}`);
      const arr = (o: number) => kp(o + 1, 'arr', 'bytes');
      await fc.assert(fc.asyncProperty(
        fc.array(fc.record({ steps: fc.array(step, { minLength: 1, maxLength: 3 }), cond: fc.option(fc.record({ o: small, d: small, a: small }), { nil: undefined }) }), { minLength: 2, maxLength: 24 }),
        fc.boolean(),
        async (batches, snap) => {
          newCont();
          // Model: single values (by key), array bytes and the epoch of each akey's newest live version.
          const singles = new Map<string, number>();
          const bytes = new Map<number, number[]>();
          const versions = new Map<string, number>();
          const sk = (o: number, d: number, a: number) => `${o}/${d}/${a}`;
          const apply = (s: Step, epoch: number) => {
            const dropSingles = (pfx: string) => { for (const k of [...singles.keys()]) if (k.startsWith(pfx)) { singles.delete(k); versions.delete(k); } };
            if (s.t === 'put') { singles.set(sk(s.o, s.d, s.a), s.v); versions.set(sk(s.o, s.d, s.a), epoch); }
            else if (s.t === 'max') { const k = sk(s.o, s.d, s.a); singles.set(k, Math.max(singles.get(k) ?? 0, s.v)); versions.set(k, epoch); }
            else if (s.t === 'punch-akey') dropSingles(sk(s.o, s.d, s.a));
            else if (s.t === 'punch-dkey') dropSingles(`${s.o}/${s.d}/`);
            else if (s.t === 'punch-obj') { dropSingles(`${s.o}/`); bytes.delete(s.o); versions.delete(`arr${s.o}`); }
            else {
              const b = bytes.get(s.o) ?? [];
              for (let i = 0; i < s.len; i++) b[s.off + i] = s.v;
              bytes.set(s.o, b);
            }
          };
          const op = (s: Step): WriteOp => {
            switch (s.t) {
              case 'put': return { op: 'put', ...single(s.o, s.d, s.a), value: u64(s.v) };
              case 'max': return { op: 'put-max', ...single(s.o, s.d, s.a), value: BigInt(s.v) };
              case 'punch-akey': return { op: 'punch-akey', ...single(s.o, s.d, s.a) };
              case 'punch-dkey': return { op: 'punch-dkey', cont, oid: oidOf(s.o + 1), dkey: B(`d${s.d}`) };
              case 'punch-obj': return { op: 'punch-obj', cont, oid: oidOf(s.o + 1) };
              case 'write': return { op: 'write', ...arr(s.o), offset: s.off, data: Buffer.alloc(s.len, s.v) };
            }
          };
          // A first state, and a snapshot of it when asked (inline reclaiming then keeps what it sees).
          const first = await engine.commit({ ops: [{ op: 'put', ...single(0, 0, 0), value: u64(1) }, { op: 'write', ...arr(1), offset: 0, data: Buffer.alloc(8, 9) }] });
          apply({ t: 'put', o: 0, d: 0, a: 0, v: 1 }, first);
          apply({ t: 'write', o: 1, off: 0, len: 8, v: 9 }, first);
          const snapEpoch = snap ? await engine.createSnapshot(cont) : undefined;
          // Conditions on the version of an akey read now: most batches race for it.
          const condVersion = new Map<string, number>();
          for (const b of batches) if (b.cond) condVersion.set(sk(b.cond.o, b.cond.d, b.cond.a), await engine.version(single(b.cond.o, b.cond.d, b.cond.a)));
          const outcomes = await Promise.allSettled(batches.map((b) => engine.commit({
            ops: b.steps.map(op),
            ...(b.cond ? { conditions: [{ kind: 'akey' as const, ...single(b.cond.o, b.cond.d, b.cond.a), version: condVersion.get(sk(b.cond.o, b.cond.d, b.cond.a))! }] } : {}),
          })));
          const done: Array<{ epoch: number; i: number }> = [];
          outcomes.forEach((r, i) => {
            if (r.status === 'fulfilled') done.push({ epoch: r.value, i });
            else assert.ok(batches[i]!.cond && isStrataError(r.reason, 'ECONFLICT'), `batch ${i} failed: ${String(r.reason)}`);
          });
          assert.equal(new Set(done.map((d) => d.epoch)).size, done.length, 'one epoch per batch');
          done.sort((a, b) => a.epoch - b.epoch);
          for (const { epoch, i } of done) {
            const b = batches[i]!;
            if (b.cond) {
              const k = sk(b.cond.o, b.cond.d, b.cond.a);
              assert.equal(versions.get(k) ?? 0, condVersion.get(k), `batch ${i} applied at ${epoch} although its condition no longer held`);
            }
            for (const s of b.steps) apply(s, epoch);
          }
          for (let o = 0; o < 2; o++) {
            for (let d = 0; d < 2; d++) {
              for (let a = 0; a < 2; a++) {
                const got = await engine.get(single(o, d, a));
                assert.deepEqual(got === undefined ? undefined : Number(Buffer.from(got).readBigUInt64LE(0)), singles.get(sk(o, d, a)), `value of ${sk(o, d, a)}`);
                assert.equal(await engine.version(single(o, d, a)), versions.get(sk(o, d, a)) ?? 0, `version of ${sk(o, d, a)}`);
              }
            }
            const want = Buffer.alloc(64);
            (bytes.get(o) ?? []).forEach((v, i) => { want[i] = v ?? 0; });
            assert.deepEqual(Buffer.from(await engine.read(arr(o), 0, 64)), want, `bytes of object ${o + 1}`);
          }
          if (snapEpoch !== undefined) {
            assert.deepEqual(Buffer.from((await engine.get(single(0, 0, 0), snapEpoch))!), u64(1), 'the snapshot still sees the first state');
            assert.deepEqual(Buffer.from(await engine.read(arr(1), 0, 8, snapEpoch)), Buffer.alloc(8, 9));
          }
          // Without snapshots, inline reclaiming saw every earlier batch: a full
          // pass finds nothing more to free. (With one, punches leave markers a
          // pass may find hide nothing.)
          if (snapEpoch === undefined) {
            const left = (await engine.check()).records;
            await engine.reclaim(cont);
            assert.equal((await engine.check()).records, left, 'a full pass found versions the commits left behind');
          }
          assert.deepEqual((await engine.check()).problems, []);
          await engine.destroyContainer(cont);
        }), { numRuns: 40 });
    });

    it('writes into objects a batch declares fresh read back, and later overwrites reclaim them', async () => {
      newCont();
      const k = kp(5, 'd', 'a');
      const arr = kp(5, 'c', 'data');
      await engine.commit({ ops: [{ op: 'put', ...k, value: B('one') }, { op: 'write', ...arr, offset: 0, data: Buffer.alloc(70000, 3) }], fresh: [{ cont, oid: oidOf(5) }] });
      assert.equal(String(await engine.get(k)), 'one');
      assert.deepEqual(Buffer.from(await engine.read(arr, 0, 70000)), Buffer.alloc(70000, 3));
      await engine.commit({ ops: [{ op: 'put', ...k, value: B('two') }, { op: 'write', ...arr, offset: 0, data: Buffer.alloc(70000, 4) }] });
      assert.equal(String(await engine.get(k)), 'two');
      assert.deepEqual(Buffer.from(await engine.read(arr, 0, 70000)), Buffer.alloc(70000, 4));
      assert.deepEqual((await engine.check()).problems, []);
    });

    it('property: array reads match a byte model under random writes, holes and snapshots', async () => {
      await fc.assert(fc.asyncProperty(
        fc.array(fc.oneof(
          fc.record({ t: fc.constant('w' as const), off: fc.nat(70000), len: fc.integer({ min: 1, max: 40000 }), fill: fc.integer({ min: 1, max: 255 }) }),
          fc.record({ t: fc.constant('p' as const), off: fc.nat(70000), len: fc.integer({ min: 1, max: 40000 }) }),
          fc.record({ t: fc.constant('s' as const) }),
          fc.record({ t: fc.constant('d' as const) }),
        ), { maxLength: 12 }),
        async (steps) => {
          newCont();
          const k = kp(1, 'p', 'arr');
          const SIZE = 110000;
          let model = Buffer.alloc(SIZE);
          const snaps: Array<{ epoch: number; model: Buffer }> = [];
          for (const s of steps) {
            if (s.t === 'w') { await engine.commit({ ops: [{ op: 'write', ...k, offset: s.off, data: Buffer.alloc(s.len, s.fill) }] }); model.fill(s.fill, s.off, s.off + s.len); }
            else if (s.t === 'p') { await engine.commit({ ops: [{ op: 'punch-range', ...k, offset: s.off, length: s.len }] }); model.fill(0, s.off, s.off + s.len); }
            else if (s.t === 's') snaps.push({ epoch: await engine.createSnapshot(cont), model: Buffer.from(model) });
            else if (snaps.length) { const victim = snaps.shift()!; await engine.destroySnapshot(cont, victim.epoch); }
          }
          assert.deepEqual(Buffer.from(await engine.read(k, 0, SIZE)), model);
          for (const s of snaps) assert.deepEqual(Buffer.from(await engine.read(k, 0, SIZE, s.epoch)), s.model);
          const ext = await engine.extents(k);
          for (const e of ext) assert.ok(e.length > 0);
          await engine.destroyContainer(cont);
        }), { numRuns: 40 });
    });

    it('property: fetchDkey and listValues equal the per-akey reads under random puts, punches and snapshots', async () => {
      // Names with NUL bytes and prefixes of each other test the key escaping.
      const dkeys = [B('d'), B('d\0x'), B('dd'), B('\0meta')];
      const akeys = [B('a'), B('a\0'), B('ab')]; // byte order, as fetchDkey returns them
      await fc.assert(fc.asyncProperty(
        fc.array(fc.oneof(
          fc.record({ t: fc.constant('put' as const), o: fc.nat(1), d: fc.nat(3), a: fc.nat(2), v: fc.string({ maxLength: 3 }) }),
          fc.record({ t: fc.constant('arr' as const), o: fc.nat(1), d: fc.nat(3), a: fc.nat(2) }),
          fc.record({ t: fc.constant('pa' as const), o: fc.nat(1), d: fc.nat(3), a: fc.nat(2) }),
          fc.record({ t: fc.constant('pd' as const), o: fc.nat(1), d: fc.nat(3) }),
          fc.record({ t: fc.constant('po' as const), o: fc.nat(1) }),
          fc.record({ t: fc.constant('snap' as const) }),
        ), { maxLength: 25 }),
        async (steps) => {
          newCont();
          const at = (o: number, d: number, a: number): KeyPath => ({ cont, oid: oidOf(o + 1), dkey: dkeys[d]!, akey: akeys[a]! });
          const views: number[] = [LATEST];
          for (const s of steps) {
            if (s.t === 'put') await engine.commit({ ops: [{ op: 'put', ...at(s.o, s.d, s.a), value: B(s.v) }] });
            else if (s.t === 'arr') await engine.commit({ ops: [{ op: 'write', ...at(s.o, s.d, s.a), offset: 3, data: B('xyz') }] });
            else if (s.t === 'pa') await engine.commit({ ops: [{ op: 'punch-akey', ...at(s.o, s.d, s.a) }] });
            else if (s.t === 'pd') await engine.commit({ ops: [{ op: 'punch-dkey', cont, oid: oidOf(s.o + 1), dkey: dkeys[s.d]! }] });
            else if (s.t === 'po') await engine.commit({ ops: [{ op: 'punch-obj', cont, oid: oidOf(s.o + 1) }] });
            else views.push(await engine.createSnapshot(cont));
          }
          const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
          for (const epoch of views) {
            for (let o = 0; o < 2; o++) {
              for (let d = 0; d < dkeys.length; d++) {
                const want: string[] = [];
                for (let a = 0; a < akeys.length; a++) {
                  const v = await engine.get(at(o, d, a), epoch);
                  if (v !== undefined) want.push(`${hex(akeys[a]!)}=${hex(v)}`);
                }
                const got = (await engine.fetchDkey(cont, oidOf(o + 1), dkeys[d]!, epoch)).map((x) => `${hex(x.akey)}=${hex(x.value)}`);
                assert.deepEqual(got, want, `fetchDkey o${o} d${d} at ${epoch}`);
              }
              // fetchDkeys: every dkey of this object and of the other one, a repeat included, in one read.
              const items = [...dkeys.map((dkey) => ({ oid: oidOf(o + 1), dkey })), { oid: oidOf(2 - o), dkey: dkeys[0]! }, { oid: oidOf(o + 1), dkey: dkeys[0]! }];
              const many = await engine.fetchDkeys(cont, items, epoch);
              assert.equal(many.length, items.length);
              for (let i = 0; i < items.length; i++) {
                const one = await engine.fetchDkey(cont, items[i]!.oid, items[i]!.dkey, epoch);
                assert.deepEqual(many[i]!.map((x) => `${hex(x.akey)}=${hex(x.value)}`), one.map((x) => `${hex(x.akey)}=${hex(x.value)}`), `fetchDkeys item ${i} o${o} at ${epoch}`);
              }
              for (let a = 0; a < akeys.length; a++) {
                const want: string[] = [];
                for (const dk of await engine.listDkeys(cont, oidOf(o + 1), { epoch })) {
                  const v = await engine.get({ cont, oid: oidOf(o + 1), dkey: dk, akey: akeys[a]! }, epoch);
                  if (v !== undefined) want.push(`${hex(dk)}=${hex(v)}`);
                }
                // In pages of 1: every page resumes after the last dkey returned.
                const got: string[] = [];
                let after: Uint8Array | undefined;
                for (;;) {
                  const page = await engine.listValues(cont, oidOf(o + 1), akeys[a]!, { epoch, after, limit: 1 });
                  got.push(...page.map((x) => `${hex(x.dkey)}=${hex(x.value)}`));
                  if (page.length < 1) break;
                  after = page[page.length - 1]!.dkey;
                }
                assert.deepEqual(got, want, `listValues o${o} a${a} at ${epoch}`);
              }
            }
          }
          await engine.destroyContainer(cont);
        }), { numRuns: 40 });
    });

    it('property: readSmallObject equals fetchDkey of each dkey and array reads up to their last byte, under writes, holes, punches and snapshots', async () => {
      const dkeys = [B('\0\0\0\0\0\0\0\0'), B('\0\0\0\0\0\0\0\x01'), B('\0inode'), B('\0xattr')];
      const akeys = [B('a'), B('d')];
      await fc.assert(fc.asyncProperty(
        fc.array(fc.oneof(
          fc.record({ t: fc.constant('put' as const), d: fc.nat(3), a: fc.nat(1), v: fc.string({ maxLength: 3 }) }),
          // Up to 40000 bytes: past the engines' inline limit, so stored extents are read too.
          fc.record({ t: fc.constant('w' as const), d: fc.nat(3), a: fc.nat(1), off: fc.nat(30000), len: fc.integer({ min: 1, max: 40000 }), fill: fc.integer({ min: 1, max: 255 }) }),
          fc.record({ t: fc.constant('pr' as const), d: fc.nat(3), a: fc.nat(1), off: fc.nat(30000), len: fc.integer({ min: 1, max: 40000 }) }),
          fc.record({ t: fc.constant('pa' as const), d: fc.nat(3), a: fc.nat(1) }),
          fc.record({ t: fc.constant('pd' as const), d: fc.nat(3) }),
          fc.record({ t: fc.constant('po' as const) }),
          fc.record({ t: fc.constant('snap' as const) }),
        ), { maxLength: 14 }),
        async (steps) => {
          newCont();
          const oid = oidOf(7);
          const at = (d: number, a: number): KeyPath => ({ cont, oid, dkey: dkeys[d]!, akey: akeys[a]! });
          const views: number[] = [LATEST];
          // A neighbour object on each side: its records must not leak in.
          await engine.commit({ ops: [{ op: 'put', ...kp(6, 'n', 'a'), value: B('left') }, { op: 'put', ...kp(8, 'n', 'a'), value: B('right') }] });
          for (const s of steps) {
            if (s.t === 'put') await engine.commit({ ops: [{ op: 'put', ...at(s.d, s.a), value: B(s.v) }] });
            else if (s.t === 'w') await engine.commit({ ops: [{ op: 'write', ...at(s.d, s.a), offset: s.off, data: Buffer.alloc(s.len, s.fill) }] });
            else if (s.t === 'pr') await engine.commit({ ops: [{ op: 'punch-range', ...at(s.d, s.a), offset: s.off, length: s.len }] });
            else if (s.t === 'pa') await engine.commit({ ops: [{ op: 'punch-akey', ...at(s.d, s.a) }] });
            else if (s.t === 'pd') await engine.commit({ ops: [{ op: 'punch-dkey', cont, oid, dkey: dkeys[s.d]! }] });
            else if (s.t === 'po') await engine.commit({ ops: [{ op: 'punch-obj', cont, oid }] });
            else views.push(await engine.createSnapshot(cont));
          }
          const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
          for (const epoch of views) {
            const wantSingles: string[] = [];
            const wantArrays: string[] = [];
            let bytes = 0;
            for (const dkey of await engine.listDkeys(cont, oid, { epoch })) {
              for (const x of await engine.fetchDkey(cont, oid, dkey, epoch)) wantSingles.push(`${hex(dkey)}/${hex(x.akey)}=${hex(x.value)}`);
              for (const a of await engine.listAkeys(cont, oid, dkey, { epoch })) {
                if (a.kind !== 'array') continue;
                const ext = await engine.extents({ cont, oid, dkey, akey: a.akey }, epoch);
                const end = ext.length ? ext[ext.length - 1]!.offset + ext[ext.length - 1]!.length : 0;
                bytes += end;
                wantArrays.push(`${hex(dkey)}/${hex(a.akey)}=${hex(await engine.read({ cont, oid, dkey, akey: a.akey }, 0, end, epoch))}`);
              }
            }
            const got = await engine.readSmallObject(cont, oid, { epoch, maxRecords: 1000, maxBytes: 1 << 20 });
            assert.ok(got, `readSmallObject at ${epoch}`);
            assert.deepEqual(got.singles.map((x) => `${hex(x.dkey)}/${hex(x.akey)}=${hex(x.value)}`), wantSingles, `singles at ${epoch}`);
            assert.deepEqual(got.arrays.map((x) => `${hex(x.dkey)}/${hex(x.akey)}=${hex(x.data)}`), wantArrays, `arrays at ${epoch}`);
            // Leaving dkeys out (the middle one, and the first and last together) leaves out just their keys.
            for (const without of [[dkeys[2]!], [dkeys[3]!, dkeys[0]!]]) {
              const skip = new Set(without.map(hex));
              const part = await engine.readSmallObject(cont, oid, { epoch, maxRecords: 1000, maxBytes: 1 << 20, without });
              assert.ok(part);
              assert.deepEqual(part.singles.map((x) => `${hex(x.dkey)}/${hex(x.akey)}=${hex(x.value)}`), wantSingles.filter((w) => !skip.has(w.split('/')[0]!)), `singles without ${[...skip]} at ${epoch}`);
              assert.deepEqual(part.arrays.map((x) => `${hex(x.dkey)}/${hex(x.akey)}=${hex(x.data)}`), wantArrays.filter((w) => !skip.has(w.split('/')[0]!)), `arrays without ${[...skip]} at ${epoch}`);
            }
            // Beyond its limits it reads nothing and says so.
            if (bytes > 0) assert.equal(await engine.readSmallObject(cont, oid, { epoch, maxRecords: 1000, maxBytes: bytes - 1 }), undefined);
            if (got.singles.length + got.arrays.length > 0) assert.equal(await engine.readSmallObject(cont, oid, { epoch, maxRecords: 0, maxBytes: 1 << 20 }), undefined);
          }
          await engine.destroyContainer(cont);
        }), {
        numRuns: 30,
        // Punches that hide records a snapshot still keeps, and an object punched after a snapshot.
        examples: [[[
          { t: 'put', d: 2, a: 0, v: 'old' }, { t: 'w', d: 0, a: 1, off: 0, len: 4096, fill: 7 }, { t: 'snap' },
          { t: 'pd', d: 2 }, { t: 'put', d: 2, a: 1, v: 'new' }, { t: 'pa', d: 0, a: 1 }, { t: 'snap' }, { t: 'po' }, { t: 'put', d: 3, a: 0, v: 'x' },
        ]]],
      });
    });

    it('fetchDkeys of a dkey with more records than one pass takes, and of no items', async () => {
      newCont();
      const ops: WriteOp[] = [];
      for (let i = 0; i < 300; i++) ops.push({ op: 'put', ...kp(1, 'big', `a${String(i).padStart(3, '0')}`), value: B(`v${i}`) });
      await engine.commit({ ops });
      await engine.commit({ ops: [{ op: 'put', ...kp(2, 'big', 'x'), value: B('small') }] });
      const [big, small] = await engine.fetchDkeys(cont, [{ oid: oidOf(1), dkey: B('big') }, { oid: oidOf(2), dkey: B('big') }]);
      assert.equal(big!.length, 300);
      assert.equal(String(big![299]!.value), 'v299');
      assert.deepEqual(small!.map((x) => String(x.value)), ['small']);
      assert.deepEqual(await engine.fetchDkeys(cont, []), []);
    });

    it('fetchDkeys of many objects, in reads of different lengths one after the other', async () => {
      // A PostgreSQL read of many ranges is one statement whose shape depends on
      // their number: shapes that differ only past the first 63 characters of a
      // statement's name must not be taken for one another.
      newCont();
      const ops: WriteOp[] = [];
      for (let o = 1; o <= 60; o++) ops.push({ op: 'put', ...kp(o, 'inode', 'mode'), value: B(`m${o}`) });
      await engine.commit({ ops });
      for (const n of [40, 41, 60, 39]) {
        const items = Array.from({ length: n }, (_, i) => ({ oid: oidOf(i + 1), dkey: B('inode') }));
        const got = await engine.fetchDkeys(cont, items);
        assert.deepEqual(got.map((l) => l.map((x) => String(x.value))), items.map((_, i) => [`m${i + 1}`]), `${n} objects`);
      }
    });
  });
}

export { LATEST };
