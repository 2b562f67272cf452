// The write session's group commit (CreateGroup) as both its users drive it:
// the mover (promises per create and setattr) and the mount (items it holds,
// changes while held, queues later and settles itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDfs, hasCode } from './util.js';
import { CreateGroup, HeldWriter, ROOT_OID, type Entry, type GroupCreate } from '../../src/dfs/index.js';

test('group: queue order is commit order, also across a group cut by its byte limit (a setattr never overtakes its create)', async () => {
  const { dfs } = await freshDfs(4096);
  const g = new CreateGroup(dfs, { maxBytes: 1000 });
  const oid = await dfs.reserveOid('file');
  const a = g.create(ROOT_OID, 'a', 'file', { data: Buffer.alloc(600, 1) });
  const b = g.create(ROOT_OID, 'b', 'file', { oid, data: Buffer.alloc(600, 2) });
  const s = g.setattr(oid, { mode: 0o600, mtimeNs: 42n });
  const d = await dfs.reserveOid('dir');
  const mk = g.create(ROOT_OID, 'd', 'dir', { oid: d, mode: 0o700 });
  const inside = g.create(d, 'x', 'file', { data: Buffer.alloc(900, 3) });
  await Promise.all([a, b, s, mk, inside]);
  const st = await dfs.stat('/b');
  assert.equal(st.perm, 0o600);
  assert.equal(st.mtimeNs, 42n);
  assert.equal((await dfs.readFile('/d/x')).length, 900);
});

test('group: a bad item fails alone (the group is redone item by item); the same inode twice keeps its order', async () => {
  const { dfs, engine } = await freshDfs(4096);
  await dfs.createAt(ROOT_OID, 'taken', 'file');
  const g = new CreateGroup(dfs);
  const e0 = await engine.currentEpoch();
  const f = await dfs.createAt(ROOT_OID, 'f', 'file');
  const results = await Promise.allSettled([
    g.create(ROOT_OID, 'one', 'file', { data: Buffer.from('1') }),
    g.create(ROOT_OID, 'taken', 'file'),
    g.setattr(f.oid, { mode: 0o640 }),
    g.setattr(f.oid, { mode: 0o604 }),
    g.create(ROOT_OID, 'two', 'symlink', { target: 'one' }),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.ok(hasCode('EEXIST')((results[1] as PromiseRejectedResult).reason));
  assert.equal((await dfs.readFile('/one')).toString(), '1');
  assert.equal(await dfs.readlink('/two'), 'one');
  assert.equal((await dfs.stat('/f')).perm, 0o604, 'the later setattr wins');
  assert.ok(await engine.currentEpoch() > e0 + 1);
});

test('group: a held item commits only once queued, with what changed while it was held; flush({ held }) queues it', async () => {
  const { dfs } = await freshDfs(4096);
  const g = new CreateGroup(dfs);
  const outcome = (it: GroupCreate): Promise<Entry> => new Promise((res, rej) => { it.settled = (e, ent) => (e === undefined ? res(ent!) : rej(e)); });
  const oid = await dfs.reserveOid('file');
  const it: GroupCreate = { kind: 'create', dir: ROOT_OID, name: 'h', type: 'file', opts: { oid, mode: 0o644 }, settled: () => undefined };
  const done = outcome(it);
  g.hold(it);
  assert.equal(it.state, 'held');
  await g.flush();
  assert.equal(await dfs.lookupAt(ROOT_OID, 'h'), undefined, 'a plain flush leaves held items');
  it.opts = { ...it.opts, mode: 0o600, pieces: [{ data: Buffer.from('data'), offset: 0 }] };
  g.add(it);
  g.add(it); // queued once
  await g.flush();
  assert.equal((await done).oid.toString(), oid.toString());
  assert.equal(it.state, 'taken');
  assert.equal((await dfs.stat('/h')).perm, 0o600);
  assert.equal((await dfs.readFile('/h')).toString(), 'data');
  const it2: GroupCreate = { kind: 'create', dir: ROOT_OID, name: 'h2', type: 'dir', opts: {}, settled: () => undefined };
  const done2 = outcome(it2);
  g.hold(it2);
  await g.flush({ held: true });
  await done2;
  assert.equal((await dfs.stat('/h2')).type, 'dir');
});

test('held writer: small data is handed over whole; past the limit it spills, in order, to the bulk writer', async () => {
  const { dfs } = await freshDfs(4096);
  const small = new HeldWriter(async () => { throw new Error('not opened for small data'); }, { limit: 100, copy: true });
  const buf = Buffer.from('abc');
  await small.write(buf, 0);
  buf.fill(0); // the caller reuses its buffer: what is held is a copy
  assert.ok(small.dirty);
  assert.deepEqual(small.takeHeld()?.map((p) => p.data.toString()), ['abc']);
  assert.ok(!small.dirty);
  const f = await dfs.createFileAt(ROOT_OID, 'big', {});
  let opened = 0;
  const big = new HeldWriter(async () => { opened++; return f.writer({ batchBytes: 8192 }); }, { limit: 100 });
  await big.write(Buffer.alloc(60, 1), 0);
  await Promise.all([big.write(Buffer.alloc(60, 2), 60), big.write(Buffer.alloc(5000, 3), 120)]);
  assert.equal(big.takeHeld(), undefined, 'spilled: nothing to hand over');
  await big.flush();
  assert.equal(opened, 1);
  const got = await dfs.readFile('/big');
  assert.deepEqual([got.length, got[0], got[60], got[119], got[120], got[5119]], [5120, 1, 2, 2, 3, 3]);
});
