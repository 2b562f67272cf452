import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDfs, hasCode, collect, makeContainer } from './util.js';
import { mountDfs } from '../../src/dfs/index.js';

const fresh = freshDfs;
const code = hasCode;

test('mkdir, stat, readdir, rmdir', async () => {
  const { dfs } = await fresh();
  const root = await dfs.stat('/');
  assert.equal(root.type, 'dir');
  await dfs.mkdir('/a', { mode: 0o750 });
  await dfs.mkdir('/a/b');
  const s = await dfs.stat('/a');
  assert.equal(s.type, 'dir');
  assert.equal(s.perm, 0o750);
  assert.equal(s.mode, 0o40750);
  assert.deepEqual((await collect(dfs.readdir('/'))).map((e) => e.name), ['a']);
  assert.deepEqual((await collect(dfs.readdir('/a'))).map((e) => [e.name, e.type]), [['b', 'dir']]);
  await assert.rejects(dfs.mkdir('/a'), code('EEXIST'));
  await assert.rejects(dfs.mkdir('/x/y'), code('ENOENT'));
  await assert.rejects(dfs.rmdir('/a'), code('ENOTEMPTY'));
  await dfs.rmdir('/a/b');
  await dfs.rmdir('/a');
  await assert.rejects(dfs.stat('/a'), code('ENOENT'));
  assert.deepEqual(await collect(dfs.readdir('/')), []);
  await dfs.mkdir('/p/q/r', { recursive: true });
  assert.equal((await dfs.stat('/p/q/r')).type, 'dir');
  await dfs.mkdir('/p/q/r', { recursive: true });
});

test('files: write, read, sizes, chunk boundaries, sparse reads', async () => {
  const { dfs } = await fresh(16);
  const f = await dfs.open('/f', { create: true, mode: 0o600 });
  await f.write(Buffer.from('hello world, across chunks!'), 0);
  assert.equal(await f.size(), 27);
  assert.equal((await f.read(6, 100)).toString(), 'world, across chunks!');
  await f.write(Buffer.from('XY'), 40);
  assert.equal(await f.size(), 42);
  const all = await f.read(0, 1000);
  assert.equal(all.length, 42);
  assert.deepEqual([...all.subarray(27, 40)], new Array(13).fill(0));
  const st = await dfs.stat('/f');
  assert.equal(st.type, 'file');
  assert.equal(st.size, 42);
  assert.equal(st.perm, 0o600);
  assert.equal(st.nlink, 1);
  assert.equal(st.chunkSize, 16);
  await dfs.writeFile('/g', 'abc', { chunkSize: 4096 });
  assert.equal((await dfs.readFile('/g')).toString(), 'abc');
  assert.equal((await dfs.stat('/g')).chunkSize, 4096);
  await assert.rejects(dfs.open('/nope'), code('ENOENT'));
  await assert.rejects(dfs.open('/f', { create: true, exclusive: true }), code('EEXIST'));
  await dfs.mkdir('/d');
  await assert.rejects(dfs.open('/d', { write: true }), code('EISDIR'));
  await assert.rejects(dfs.writeFile('/d', 'x'), code('EISDIR'));
  await assert.rejects(dfs.open('/f/x', { create: true }), code('ENOTDIR'));
});

test('truncate shrinks, grows, punches', async () => {
  const { dfs } = await fresh(8);
  await dfs.writeFile('/t', 'abcdefghijklmnopqrstuvwxyz');
  await dfs.truncate('/t', 10);
  assert.equal((await dfs.readFile('/t')).toString(), 'abcdefghij');
  await dfs.truncate('/t', 20);
  const b = await dfs.readFile('/t');
  assert.equal(b.length, 20);
  assert.equal(b.subarray(0, 10).toString(), 'abcdefghij');
  assert.deepEqual([...b.subarray(10)], new Array(10).fill(0));
  const f = await dfs.open('/t', { write: true });
  assert.deepEqual(await f.extents(), [{ offset: 0, length: 10 }]);
  await dfs.truncate('/t', 0);
  assert.equal((await dfs.readFile('/t')).length, 0);
  assert.deepEqual(await f.extents(), []);
  await dfs.writeFile('/t', 'xyz');
  await dfs.open('/t', { truncate: true });
  assert.equal((await dfs.stat('/t')).size, 0);
});

test('unlink, symlinks, readlink, ELOOP', async () => {
  const { dfs } = await fresh();
  await dfs.mkdir('/d');
  await dfs.writeFile('/d/f', 'data');
  await dfs.symlink('/d/f', '/abs');
  await dfs.symlink('d', '/rel');
  await dfs.symlink('nowhere', '/dangling');
  assert.equal(await dfs.readlink('/abs'), '/d/f');
  assert.equal((await dfs.lstat('/abs')).type, 'symlink');
  assert.equal((await dfs.lstat('/abs')).size, 4);
  assert.equal((await dfs.stat('/abs')).type, 'file');
  assert.equal((await dfs.readFile('/rel/f')).toString(), 'data');
  await assert.rejects(dfs.stat('/dangling'), code('ENOENT'));
  await assert.rejects(dfs.readlink('/d'), code('EINVAL'));
  await dfs.symlink('loop2', '/loop1');
  await dfs.symlink('loop1', '/loop2');
  await assert.rejects(dfs.stat('/loop1'), code('ELOOP'));
  await assert.rejects(dfs.unlink('/d'), code('EISDIR'));
  await assert.rejects(dfs.rmdir('/abs'), code('ENOTDIR'));
  await dfs.unlink('/abs');
  assert.equal(await dfs.exists('/abs'), false);
  assert.equal(await dfs.exists('/d/f'), true);
  await dfs.unlink('/d/f');
  await assert.rejects(dfs.unlink('/d/f'), code('ENOENT'));
  // writing through a dangling symlink creates its target
  await dfs.writeFile('/dangling', 'made');
  assert.equal((await dfs.readFile('/nowhere')).toString(), 'made');
});

test('hard links share the inode and count links', async () => {
  const { dfs } = await fresh();
  await dfs.writeFile('/a', 'one');
  await dfs.mkdir('/d');
  await dfs.link('/a', '/d/b');
  assert.equal((await dfs.stat('/a')).nlink, 2);
  assert.equal((await dfs.stat('/d/b')).oid, (await dfs.stat('/a')).oid);
  const f = await dfs.open('/d/b', { write: true });
  await f.write(Buffer.from('ONE'), 0);
  assert.equal((await dfs.readFile('/a')).toString(), 'ONE');
  await assert.rejects(dfs.link('/d', '/d2'), code('EPERM'));
  await assert.rejects(dfs.link('/a', '/d/b'), code('EEXIST'));
  await dfs.unlink('/a');
  assert.equal((await dfs.stat('/d/b')).nlink, 1);
  assert.equal((await dfs.readFile('/d/b')).toString(), 'ONE');
  await dfs.link('/d/b', '/c');
  await dfs.rename('/c', '/d/b'); // same inode: no-op
  assert.equal((await dfs.stat('/c')).nlink, 2);
});

test('rename: files, dirs, over existing, across dirs, into own subtree', async () => {
  const { dfs } = await fresh();
  await dfs.mkdir('/a/b/c', { recursive: true });
  await dfs.writeFile('/a/f', '1');
  await dfs.writeFile('/a/g', '2');
  await dfs.rename('/a/f', '/a/b/f2');
  assert.equal((await dfs.readFile('/a/b/f2')).toString(), '1');
  assert.equal(await dfs.exists('/a/f'), false);
  await dfs.rename('/a/g', '/a/b/f2'); // replace
  assert.equal((await dfs.readFile('/a/b/f2')).toString(), '2');
  assert.deepEqual((await collect(dfs.readdir('/a'))).map((e) => e.name), ['b']);
  await assert.rejects(dfs.rename('/a', '/a/b/c/x'), code('EINVAL'));
  await assert.rejects(dfs.rename('/a', '/a/b'), code('EINVAL'));
  await dfs.mkdir('/e');
  await assert.rejects(dfs.rename('/a/b/f2', '/e'), code('EISDIR'));
  await assert.rejects(dfs.rename('/e', '/a/b/f2'), code('ENOTDIR'));
  await assert.rejects(dfs.rename('/e', '/a'), code('ENOTEMPTY'));
  await dfs.rename('/a/b/c', '/e'); // over empty dir
  assert.equal(await dfs.exists('/a/b/c'), false);
  await dfs.rename('/a', '/z');
  assert.equal((await dfs.readFile('/z/b/f2')).toString(), '2');
  await assert.rejects(dfs.rename('/nope', '/x'), code('ENOENT'));
  await assert.rejects(dfs.rename('/', '/x'), code('EBUSY'));
  await assert.rejects(dfs.rename('/z', '/x', { noReplace: true }).then(() => dfs.rename('/e', '/x', { noReplace: true })), code('EEXIST'));
});

test('chmod, chown, utimens, times move', async () => {
  const { dfs } = await fresh();
  await dfs.writeFile('/f', 'x');
  const s0 = await dfs.stat('/f');
  await dfs.chmod('/f', 0o4711);
  assert.equal((await dfs.stat('/f')).mode, 0o104711);
  await dfs.chown('/f', 1234, 5678);
  const s1 = await dfs.stat('/f');
  assert.equal(s1.uid, 1234);
  assert.equal(s1.gid, 5678);
  assert.ok(s1.ctimeNs >= s0.ctimeNs);
  await dfs.utimens('/f', 1_000_000_123n, 2_000_000_456n);
  const s2 = await dfs.stat('/f');
  assert.equal(s2.atimeNs, 1_000_000_123n);
  assert.equal(s2.mtimeNs, 2_000_000_456n);
  const f = await dfs.open('/f', { write: true });
  await f.write(Buffer.from('y'), 5);
  assert.ok((await dfs.stat('/f')).mtimeNs > 2_000_000_456n);
  const d0 = (await dfs.stat('/')).mtimeNs;
  await new Promise((r) => setTimeout(r, 2));
  await dfs.mkdir('/newdir');
  assert.ok((await dfs.stat('/')).mtimeNs > d0);
  await assert.rejects(dfs.chmod('/nope', 0o644), code('ENOENT'));
  await assert.rejects(dfs.chmod('/f', 0o17777), code('EINVAL'));
});

test('xattrs', async () => {
  const { dfs } = await fresh();
  await dfs.writeFile('/f', 'x');
  await dfs.setxattr('/f', 'user.a', 'alpha');
  await dfs.setxattr('/f', 'user.empty', '');
  await dfs.setxattr('/f', 'user.bin', new Uint8Array([0, 1, 2, 255]));
  assert.equal(Buffer.from(await dfs.getxattr('/f', 'user.a')).toString(), 'alpha');
  assert.equal((await dfs.getxattr('/f', 'user.empty')).length, 0);
  assert.deepEqual([...(await dfs.getxattr('/f', 'user.bin'))], [0, 1, 2, 255]);
  assert.deepEqual(await dfs.listxattr('/f'), ['user.a', 'user.bin', 'user.empty']);
  await assert.rejects(dfs.getxattr('/f', 'user.none'), code('ENODATA'));
  await assert.rejects(dfs.setxattr('/f', 'user.a', 'x', { create: true }), code('EEXIST'));
  await assert.rejects(dfs.setxattr('/f', 'user.b', 'x', { replace: true }), code('ENODATA'));
  await assert.rejects(dfs.setxattr('/f', 'u'.repeat(256), 'x'), code('ENAMETOOLONG'));
  await assert.rejects(dfs.setxattr('/f', 'user.big', Buffer.alloc(65537)), code('EINVAL'));
  await dfs.setxattr('/f', 'user.max', Buffer.alloc(65536, 7));
  assert.equal((await dfs.getxattr('/f', 'user.max')).length, 65536);
  await dfs.removexattr('/f', 'user.a');
  await assert.rejects(dfs.removexattr('/f', 'user.a'), code('ENODATA'));
  assert.deepEqual(await dfs.listxattr('/f'), ['user.bin', 'user.empty', 'user.max']);
  await dfs.mkdir('/d');
  await dfs.setxattr('/d', 'user.dir', 'yes');
  assert.deepEqual(await collect(dfs.readdir('/d')), []);
});

test('bad input: names, paths, NUL, escaping root', async () => {
  const { dfs } = await fresh();
  await assert.rejects(dfs.mkdir('/' + 'n'.repeat(256)), code('ENAMETOOLONG'));
  await dfs.mkdir('/' + 'n'.repeat(255));
  await assert.rejects(dfs.mkdir('/a\0b'), code('EINVAL'));
  await assert.rejects(dfs.stat('/../x'), code('EINVAL'));
  await dfs.mkdir('/a');
  await assert.rejects(dfs.mkdir('/a/../../b'), code('EINVAL'));
  assert.equal((await dfs.stat('/a/..')).type, 'dir');
  await dfs.mkdir('/a/../b');
  assert.equal(await dfs.exists('/b'), true);
  await dfs.writeFile('/file', 'x');
  await assert.rejects(dfs.stat('/file/'), code('ENOTDIR'));
  await assert.rejects(dfs.rmdir('/'), code('EBUSY'));
  await dfs.symlink('../../..', '/a/up');
  await assert.rejects(dfs.stat('/a/up/x'), code('EINVAL'));
});

test('non-POSIX container is refused', async () => {
  const { engine } = await fresh();
  const c = makeContainer(engine, { type: 'HDF5' });
  await assert.rejects(mountDfs(c), code('EINVAL'));
});

test('concurrent creates of the same name: exactly one wins', async () => {
  const { dfs } = await fresh();
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => dfs.mkdir('/same')));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'EEXIST');
  const many = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => dfs.mkdir(`/same/d${i}`)));
  assert.ok(many.every((r) => r.status === 'fulfilled'));
  assert.equal((await collect(dfs.readdir('/same'))).length, 20);
  // concurrent renames of one source: one wins, the rest see ENOENT
  await dfs.writeFile('/src', 'x');
  const rn = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => dfs.rename('/src', `/dst${i}`)));
  assert.equal(rn.filter((r) => r.status === 'fulfilled').length, 1);
  const names = (await collect(dfs.readdir('/'))).map((e) => e.name).filter((n) => n.startsWith('dst') || n === 'src');
  assert.equal(names.length, 1);
});

test('parallel writers to different chunks of one file do not conflict', async () => {
  const { dfs } = await fresh(1024);
  const f = await dfs.open('/p', { create: true });
  await Promise.all(Array.from({ length: 16 }, (_, i) => f.write(Buffer.alloc(1024, i + 1), i * 1024)));
  assert.equal(await f.size(), 16 * 1024);
  const b = await f.read(0, 16 * 1024);
  for (let i = 0; i < 16; i++) assert.equal(b[i * 1024 + 5], i + 1);
});
