import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDfs, hasCode, collect } from './util.js';
import { mountDfs } from '../../src/dfs/index.js';
import type { Engine, Page } from '../../src/engine/types.js';
import { Container } from '../../src/container/container.js';

const fresh = freshDfs;
const code = hasCode;

test('a snapshot view does not change after later writes; writes at it are EROFS', async () => {
  const { dfs, engine, container } = await fresh(8);
  await dfs.mkdir('/d');
  await dfs.writeFile('/d/f', 'before-snapshot');
  await dfs.setxattr('/d/f', 'user.k', 'v1');
  await dfs.symlink('f', '/d/l');
  const epoch = await engine.createSnapshot(container.uuid, 's1');
  // later changes
  const f = await dfs.open('/d/f', { write: true });
  await f.write(Buffer.from('AFTER'), 0);
  await dfs.truncate('/d/f', 3);
  await dfs.setxattr('/d/f', 'user.k', 'v2');
  await dfs.chmod('/d/f', 0o600);
  await dfs.writeFile('/d/new', 'new');
  await dfs.rename('/d/l', '/d/l2');
  await dfs.mkdir('/e');
  await dfs.unlink('/d/f');

  const snap = await mountDfs(container, { epoch });
  assert.equal(snap.readOnly, true);
  assert.equal((await snap.readFile('/d/f')).toString(), 'before-snapshot');
  assert.equal((await snap.stat('/d/f')).size, 15);
  assert.equal((await snap.stat('/d/f')).perm, 0o644);
  assert.equal(Buffer.from(await snap.getxattr('/d/f', 'user.k')).toString(), 'v1');
  assert.deepEqual((await collect(snap.readdir('/d'))).map((e) => e.name), ['f', 'l']);
  assert.deepEqual((await collect(snap.readdir('/'))).map((e) => e.name), ['d']);
  assert.equal(await snap.readlink('/d/l'), 'f');
  assert.equal((await snap.readFile('/d/l')).toString(), 'before-snapshot');
  assert.equal((await snap.du('/')).apparentBytes, 15);
  // every write is refused, nothing changes
  await assert.rejects(snap.mkdir('/x'), code('EROFS'));
  await assert.rejects(snap.writeFile('/d/f', 'x'), code('EROFS'));
  await assert.rejects(snap.open('/d/f', { write: true }), code('EROFS'));
  await assert.rejects(snap.unlink('/d/f'), code('EROFS'));
  await assert.rejects(snap.rename('/d', '/z'), code('EROFS'));
  await assert.rejects(snap.setxattr('/d/f', 'user.k', 'x'), code('EROFS'));
  await assert.rejects(snap.chmod('/d/f', 0o777), code('EROFS'));
  await assert.rejects(snap.truncate('/d/f', 0), code('EROFS'));
  await assert.rejects(snap.symlink('a', '/b'), code('EROFS'));
  await assert.rejects(snap.link('/d/f', '/b'), code('EROFS'));
  await assert.rejects(snap.rmdir('/d'), code('EROFS'));
  assert.equal((await snap.readFile('/d/f')).toString(), 'before-snapshot');
  // the live view has the later state
  assert.equal(await dfs.exists('/d/f'), false);
  assert.deepEqual((await collect(dfs.readdir('/d'))).map((e) => e.name), ['l2', 'new']);
});

test('a file with a 1 GiB hole stores less than 2 chunks more than its data', async () => {
  const cs = 1024 * 1024;
  const { dfs, engine } = await fresh(cs);
  const before = await engine.usage();
  const f = await dfs.open('/sparse', { create: true });
  const data = Buffer.alloc(cs, 0xab);
  await f.write(data, 0);
  const far = 1024 * 1024 * 1024 + cs;
  await f.write(data, far);
  assert.equal(await f.size(), far + cs);
  const ext = await f.extents();
  assert.deepEqual(ext, [{ offset: 0, length: cs }, { offset: far, length: cs }]);
  const stored = ext.reduce((s, e) => s + e.length, 0);
  assert.ok(stored < 2 * cs + 2 * cs, `stored ${stored}`);
  const afterU = await engine.usage();
  assert.ok(afterU.liveDataBytes - before.liveDataBytes < 2 * cs + 2 * cs, `engine live data grew ${afterU.liveDataBytes - before.liveDataBytes}`);
  const mid = await f.read(512 * 1024 * 1024, 4096);
  assert.ok(mid.every((b) => b === 0));
  const du = await dfs.du('/sparse');
  assert.equal(du.apparentBytes, far + cs);
  assert.equal(du.storedBytes, 2 * cs);
  // truncate into the hole drops the far chunk
  await f.truncate(cs + 10);
  assert.deepEqual(await f.extents(), [{ offset: 0, length: cs }]);
});

test('readdir streams in pages: no call returns more than a page, memory stays bounded', async () => {
  const { engine, container } = await fresh();
  let calls = 0;
  let maxLimit = 0;
  // A container whose engine records the page sizes of directory listings.
  const spy: Engine = Object.create(engine) as Engine;
  spy.listValues = async (cont: string, oid: Uint8Array, akey: Uint8Array, page?: Page) => {
    calls++;
    maxLimit = Math.max(maxLimit, page?.limit ?? Infinity);
    return engine.listValues(cont, oid, akey, page);
  };
  const c2 = new Container(spy, container.record, container.perms);
  const dfs = await mountDfs(c2);
  await dfs.mkdir('/big');
  const N = 2500;
  for (let i = 0; i < N; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => dfs.open(`/big/f${String(i + j).padStart(5, '0')}`, { create: true })));
  }
  calls = 0;
  maxLimit = 0;
  const it = dfs.readdir('/big', { pageSize: 100 });
  // Pull a few entries: only the first page was fetched.
  for (let i = 0; i < 5; i++) await it.next();
  assert.equal(calls, 1);
  let n = 5;
  for await (const e of it) { void e; n++; }
  assert.equal(n, N);
  assert.ok(maxLimit <= 100, `page limit ${maxLimit}`);
  assert.ok(calls >= N / 100 && calls <= N / 100 + 2, `calls ${calls}`);
  // resume after a name
  const rest = await collect(dfs.readdir('/big', { after: 'f02490' }));
  assert.equal(rest.length, 9);
});
