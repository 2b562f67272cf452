// Special files in DFS: FIFOs, character and block devices and sockets made
// with mknod (by path and by OID), their stat (type bits, rdev), readdir types,
// the rules of mknod(2) (devices only by root, unknown types EINVAL, rdev of
// a non-device ignored), open refused, hard links, batches and the check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDfs, hasCode, collect, makeContainer } from './util.js';
import {
  checkDfs, makeRdev, mountDfs, rdevFromDevT, rdevFromKernel32, rdevMajor, rdevMinor, rdevToKernel32, ROOT_OID,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK,
} from '../../src/dfs/index.js';
import { callerFromIds } from '../../src/container/identity.js';
import { tempEngine } from '../helpers.js';

test('mknod makes FIFOs, devices and sockets: stat gives type bits and rdev, readdir the type', async () => {
  const { dfs, container } = await freshDfs();
  await dfs.mknod('/fifo', S_IFIFO | 0o640);
  await dfs.mknod('/null', S_IFCHR | 0o666, makeRdev(1, 3));
  await dfs.mknod('/disk', S_IFBLK | 0o660, makeRdev(8, 300000));
  await dfs.mknod('/sock', S_IFSOCK | 0o755, makeRdev(5, 5)); // rdev of a non-device is ignored, as mknod(2) does
  await dfs.mknod('/plain', 0o600); // no type bits: a regular file, as mknod(2)
  const want: Array<[string, string, number, bigint]> = [
    ['/fifo', 'fifo', S_IFIFO | 0o640, 0n], ['/null', 'chr', S_IFCHR | 0o666, makeRdev(1, 3)],
    ['/disk', 'blk', S_IFBLK | 0o660, makeRdev(8, 300000)], ['/sock', 'sock', S_IFSOCK | 0o755, 0n], ['/plain', 'file', S_IFREG | 0o600, 0n],
  ];
  for (const [p, type, mode, rdev] of want) {
    const st = await dfs.stat(p);
    assert.equal(st.type, type, p);
    assert.equal(st.mode, mode, p);
    assert.equal(st.rdev, rdev, p);
    assert.equal(st.size, 0, p);
  }
  assert.equal(rdevMajor((await dfs.stat('/disk')).rdev), 8);
  assert.equal(rdevMinor((await dfs.stat('/disk')).rdev), 300000);
  const ls = await collect(dfs.readdir('/', { stat: true }));
  assert.deepEqual(ls.map((e) => [e.name, e.type, e.stat!.rdev]).sort(), [
    ['disk', 'blk', makeRdev(8, 300000)], ['fifo', 'fifo', 0n], ['null', 'chr', makeRdev(1, 3)], ['plain', 'file', 0n], ['sock', 'sock', 0n],
  ]);
  // Opening the data of a FIFO, device or socket: ENXIO (a mount's kernel opens them itself).
  for (const p of ['/fifo', '/null', '/disk', '/sock']) {
    await assert.rejects(dfs.open(p), hasCode('ENXIO'), p);
    await assert.rejects(dfs.readFile(p), hasCode('ENXIO'), p);
    await assert.rejects(dfs.openOid((await dfs.lookupPath(p)).oid), hasCode('ENXIO'), p);
    await assert.rejects(dfs.truncate(p, 0), hasCode('EINVAL'), p); // as truncate(2)
  }
  // Hard links, rename, chmod and unlink work as for any non-directory.
  await dfs.link('/fifo', '/fifo2');
  assert.equal((await dfs.stat('/fifo2')).nlink, 2);
  await dfs.chmod('/null', 0o600);
  assert.equal((await dfs.stat('/null')).mode, S_IFCHR | 0o600);
  assert.equal((await dfs.stat('/null')).rdev, makeRdev(1, 3), 'chmod keeps rdev');
  await dfs.rename('/disk', '/disk2');
  assert.equal((await dfs.stat('/disk2')).rdev, makeRdev(8, 300000));
  await dfs.mknod('/x', S_IFIFO | 0o644);
  await dfs.unlink('/x');
  const rep = await checkDfs(container.engine, container.uuid);
  assert.deepEqual(rep.problems, []);
  assert.equal(rep.inodes, 6);
});

test('mknod bad input: unknown type EINVAL, a directory EPERM, an existing name EEXIST; nothing half-made', async () => {
  const { dfs, engine } = await freshDfs();
  const e0 = await engine.currentEpoch();
  await assert.rejects(dfs.mknod('/a', S_IFLNK | 0o777), hasCode('EINVAL'));
  await assert.rejects(dfs.mknod('/a', 0o170000 | 0o644), hasCode('EINVAL'));
  await assert.rejects(dfs.mknod('/a', 0o030000 | 0o644), hasCode('EINVAL'));
  await assert.rejects(dfs.mknod('/a', S_IFDIR | 0o755), hasCode('EPERM'));
  await assert.rejects(dfs.mknod('/a', -1), hasCode('EINVAL'));
  await assert.rejects(dfs.mknodAt(ROOT_OID, 'a', S_IFCHR | 0o644, -1n), hasCode('EINVAL'));
  await assert.rejects(dfs.mknodAt(ROOT_OID, 'a', S_IFCHR | 0o644, 1n << 64n), hasCode('EINVAL'));
  assert.equal(await engine.currentEpoch(), e0, 'nothing committed');
  assert.deepEqual(await collect(dfs.readdir('/')), []);
  await dfs.mknod('/a', S_IFIFO | 0o644);
  await assert.rejects(dfs.mknod('/a', S_IFSOCK | 0o644), hasCode('EEXIST'));
  assert.equal((await dfs.stat('/a')).type, 'fifo');
});

test('devices only by root (CAP_MKNOD); FIFOs and sockets by any writer; the owner is the caller', async () => {
  const { engine } = await tempEngine();
  try {
    const container = makeContainer(engine);
    const root = await mountDfs(container);
    await root.mkdir('/shared', { mode: 0o777 });
    const alice = await mountDfs(container, { caller: callerFromIds(4242, [4242]) });
    const dir = (await alice.lookupPath('/shared')).oid;
    await assert.rejects(alice.mknod('/shared/null', S_IFCHR | 0o666, makeRdev(1, 3)), hasCode('EPERM'));
    await assert.rejects(alice.mknodAt(dir, 'sda', S_IFBLK | 0o660, makeRdev(8, 0)), hasCode('EPERM'));
    // Through a batch and createAt as well: one rule for every create.
    await assert.rejects(alice.createAt(dir, 'c', 'chr', { rdev: makeRdev(1, 3) }), hasCode('EPERM'));
    const b = alice.batch();
    assert.throws(() => { void b.create(dir, 'c', 'chr', { rdev: makeRdev(1, 3) }); }, hasCode('EPERM'));
    await alice.mknod('/shared/fifo', S_IFIFO | 0o644);
    await alice.mknodAt(dir, 'sock', S_IFSOCK | 0o755);
    assert.equal((await alice.stat('/shared/fifo')).uid, 4242);
    assert.equal((await alice.stat('/shared/sock')).uid, 4242);
    assert.deepEqual((await collect(alice.readdir('/shared'))).map((e) => e.name), ['fifo', 'sock']);
    await root.mknod('/shared/null', S_IFCHR | 0o666, makeRdev(1, 3));
    assert.equal((await alice.stat('/shared/null')).rdev, makeRdev(1, 3));
  } finally {
    await engine.close();
  }
});

test('device number encodings: the kernel 32-bit one (FUSE) and glibc dev_t round-trip', () => {
  for (const [maj, min] of [[1, 3], [8, 0], [259, 7], [4095, 1048575], [0, 256]] as const) {
    const r = makeRdev(maj, min);
    assert.equal(rdevFromKernel32(rdevToKernel32(r)), r, `${maj},${min}`);
  }
  assert.equal(rdevToKernel32(makeRdev(1, 3)), 0x103);
  assert.equal(rdevToKernel32(makeRdev(4096, 0)), 0, 'a major the kernel encoding cannot hold');
  // glibc makedev(259, 70000): ((min & 0xff) | ((maj & 0xfff) << 8) | ((min & ~0xff) << 12) | ((maj & ~0xfff) << 32))
  const devT = (70000n & 0xffn) | ((259n & 0xfffn) << 8n) | ((70000n & ~0xffn) << 12n);
  assert.equal(rdevFromDevT(devT), makeRdev(259, 70000));
});

test('the check reports a device without its number and a FIFO that stores data', async () => {
  const { dfs, container } = await freshDfs();
  await dfs.mknod('/null', S_IFCHR | 0o666, makeRdev(1, 3));
  await dfs.mknod('/fifo', S_IFIFO | 0o644);
  assert.deepEqual((await checkDfs(container.engine, container.uuid)).problems, []);
  const tx = container.tx();
  tx.punchAkey(container.object((await dfs.lookupPath('/null')).oid), '\0inode', 'rdev');
  tx.write(container.object((await dfs.lookupPath('/fifo')).oid), Buffer.alloc(8), 'd', 0, Buffer.from('data'));
  await tx.commit();
  const problems = (await checkDfs(container.engine, container.uuid)).problems;
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.match(problems.join('\n'), /\/null: device .* has no device number/);
  assert.match(problems.join('\n'), /\/fifo: fifo .* stores data/);
});
