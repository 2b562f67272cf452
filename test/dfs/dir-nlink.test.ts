// Directory link counts: a directory's nlink is 2 + its subdirectories, as on
// Linux filesystems (`find` and `ls -l` rely on it), kept exact by mkdir,
// rmdir, renames across directories and over directories, batches, and the
// CLI's `fs stat`; a directory made before the count was kept is counted on
// its first change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mountDfs, ROOT_OID } from '../../src/dfs/index.js';
import { A_SUBDIRS, INODE_DKEY } from '../../src/dfs/layout.js';
import { freshDfs } from './util.js';

test('nlink of a directory is 2 + its subdirectories through mkdir, rmdir and renames', async () => {
  const { dfs } = await freshDfs();
  const n = async (p: string) => (await dfs.stat(p)).nlink;
  assert.equal(await n('/'), 2);
  await dfs.mkdir('/a');
  await dfs.mkdir('/a/b');
  await dfs.mkdir('/a/c');
  await dfs.writeFile('/a/f', 'not a directory');
  await dfs.symlink('b', '/a/l');
  assert.deepEqual([await n('/'), await n('/a'), await n('/a/b')], [3, 4, 2]);
  await dfs.rename('/a/c', '/a/b/c'); // to another parent
  assert.deepEqual([await n('/a'), await n('/a/b')], [3, 3]);
  await dfs.rename('/a/b/c', '/a/b/c2'); // same parent
  assert.equal(await n('/a/b'), 3);
  await dfs.mkdir('/d');
  await dfs.rename('/d', '/a/b/c2'); // over an empty directory of another parent
  assert.deepEqual([await n('/'), await n('/a/b')], [3, 3]);
  await dfs.mkdir('/a/e');
  assert.equal(await n('/a'), 4);
  await dfs.rename('/a/e', '/a/b/c3');
  assert.deepEqual([await n('/a'), await n('/a/b')], [3, 4]);
  await dfs.rmdir('/a/b/c2');
  await dfs.rmdir('/a/b/c3');
  assert.equal(await n('/a/b'), 2);
  await dfs.unlink('/a/f');
  assert.equal(await n('/a'), 3);
});

test('a batch making several directories counts each; a directory without a count is counted on its first change', async () => {
  const { dfs, container } = await freshDfs();
  const b = dfs.batch();
  const top = await dfs.reserveOid('dir');
  void b.create(ROOT_OID, 'top', 'dir', { oid: top });
  for (let i = 0; i < 5; i++) void b.create(top, `d${i}`, 'dir');
  void b.create(top, 'f', 'file');
  void b.create(ROOT_OID, 'other', 'dir');
  await b.commit();
  assert.equal((await dfs.stat('/top')).nlink, 7);
  assert.equal((await dfs.stat('/')).nlink, 4);
  // A directory as an older DFS left it: no count (reported as 1, "unknown").
  const tx = container.tx();
  tx.punchAkey(container.object(top), INODE_DKEY, A_SUBDIRS);
  await tx.commit();
  assert.equal((await dfs.stat('/top')).nlink, 1);
  await dfs.mkdir('/top/d5');
  assert.equal((await dfs.stat('/top')).nlink, 8);
});

test('pool check: a subdirectory count that disagrees with the entries is reported', async () => {
  const { dfs, container, engine } = await freshDfs();
  await dfs.mkdir('/a');
  await dfs.mkdir('/a/b');
  const { checkDfs } = await import('../../src/dfs/fsck.js');
  assert.deepEqual((await checkDfs(engine, container.uuid)).problems, []);
  const a = (await dfs.lookupPath('/a'))!.oid;
  const tx = container.tx();
  tx.put(container.object(a), INODE_DKEY, A_SUBDIRS, Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]));
  await tx.commit();
  assert.deepEqual((await checkDfs(engine, container.uuid)).problems.map((p) => p.replace(/ [0-9a-f.]+ counts/, ' X counts')), ['/a: directory X counts 5 subdirectories, but has 1']);
});

test('concurrent mkdirs in one directory from several mounts all succeed and are all counted', async () => {
  const { dfs, container } = await freshDfs();
  await dfs.mkdir('/p');
  const mounts = await Promise.all([0, 1, 2, 3].map(() => mountDfs(container)));
  await Promise.all(Array.from({ length: 32 }, (_, i) => mounts[i % 4]!.mkdir(`/p/d${i}`)));
  assert.equal((await dfs.stat('/p')).nlink, 34);
  await Promise.all(Array.from({ length: 16 }, (_, i) => mounts[i % 4]!.rmdir(`/p/d${i}`)));
  assert.equal((await dfs.stat('/p')).nlink, 18);
});
