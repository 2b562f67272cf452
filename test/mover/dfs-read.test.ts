// Copying out of a container: a small file's inode, xattrs and data come in
// one engine read (DfsTree.readWhole), and a file that is not the one the
// listing showed any more is refused as the key-by-key reads refuse it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir, tempEngine } from '../helpers.js';
import { hasSetfattr, moverEnv, ok, sh } from './util.js';
import { makeContainer } from '../dfs/util.js';
import { mountDfs, ROOT_OID } from '../../src/dfs/index.js';
import { DfsTree, PosixTree, Transfer } from '../../src/mover/index.js';
import type { Listed } from '../../src/mover/tree.js';

async function listAll(t: DfsTree, rel: string): Promise<Map<string, Listed>> {
  const out = new Map<string, Listed>();
  for await (const page of t.list(rel)) for (const e of page) out.set(e.name, e);
  return out;
}

test('readWhole gives what xattrs() and openRead() give; a copy out through it is identical, empty, sparse and 64 KiB files included', async () => {
  const { engine } = await tempEngine();
  try {
    const dfs = await mountDfs(makeContainer(engine, { chunkSize: 16384 }));
    await dfs.createAt(ROOT_OID, 'x', 'file', { mode: 0o604, mtimeNs: 1_600_000_000_123_456_000n, data: Buffer.from('with xattrs'), xattrs: [['user.k', Buffer.from('v')], ['user.e', Buffer.alloc(0)]] });
    await dfs.createAt(ROOT_OID, 'empty', 'file', {});
    await dfs.createAt(ROOT_OID, 'sparse', 'file', { pieces: [{ data: Buffer.from('end'), offset: 40000 }], size: 50000 });
    await dfs.createAt(ROOT_OID, 'chunks', 'file', { data: Buffer.alloc(65536, 7) });
    await dfs.createAt(ROOT_OID, 'bigger', 'file', { data: Buffer.alloc(65537, 9) });
    const tree = new DfsTree(dfs, '/', 'daos://p/c');
    const listed = await listAll(tree, '');
    for (const name of ['x', 'empty', 'sparse', 'chunks']) {
      const st = listed.get(name)!.st;
      const whole = await tree.readWhole(name, st);
      assert.ok(whole, name);
      assert.deepEqual(whole.xattrs, await tree.xattrs(name, st), name);
      const r = await tree.openRead(name, st);
      assert.deepEqual(whole.data, await r.read(0, st.size), name);
    }
    const out = path.join(tempDir('strata-readwhole-'), 'out');
    const t = new Transfer(tree, new PosixTree(out), 'copy', { jobs: 2 });
    const sum = await t.run((await tree.lstat(''))!, undefined);
    assert.equal(sum.errors, 0, JSON.stringify(sum.failures));
    assert.equal(fs.readFileSync(path.join(out, 'x'), 'utf8'), 'with xattrs');
    assert.equal(fs.statSync(path.join(out, 'x')).mode & 0o7777, 0o604);
    assert.equal(fs.statSync(path.join(out, 'x'), { bigint: true }).mtimeNs, 1_600_000_000_123_456_000n);
    assert.equal(fs.statSync(path.join(out, 'empty')).size, 0);
    const sparse = fs.readFileSync(path.join(out, 'sparse'));
    assert.equal(sparse.length, 50000);
    assert.deepEqual(sparse, Buffer.concat([Buffer.alloc(40000), Buffer.from('end'), Buffer.alloc(50000 - 40003)]));
    assert.deepEqual(fs.readFileSync(path.join(out, 'chunks')), Buffer.alloc(65536, 7));
    assert.deepEqual(fs.readFileSync(path.join(out, 'bigger')), Buffer.alloc(65537, 9));
  } finally {
    await engine.close();
  }
});

test('readWhole of a live container refuses a file changed or removed since it was listed', async () => {
  const { engine } = await tempEngine();
  try {
    const dfs = await mountDfs(makeContainer(engine));
    await dfs.createAt(ROOT_OID, 'changes', 'file', { data: Buffer.from('one'), mtimeNs: 1n });
    await dfs.createAt(ROOT_OID, 'goes', 'file', { data: Buffer.from('two') });
    const tree = new DfsTree(dfs, '/', 'daos://p/c');
    const listed = await listAll(tree, '');
    await dfs.writeFile('/changes', 'changed!');
    await dfs.unlink('/goes');
    await assert.rejects(tree.readWhole('changes', listed.get('changes')!.st), /changes: file changed while being read/);
    await assert.rejects(tree.readWhole('goes', listed.get('goes')!.st), (e: { code?: string }) => e.code === 'ESTALE');
  } finally {
    await engine.close();
  }
});

test('compare with a container on either side reads small files whole and still reports content and xattr differences', async () => {
  const { env, home } = moverEnv();
  const src = path.join(home, 'src');
  fs.mkdirSync(src);
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `f${i}`), `file number ${i}\n`);
  fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(200000, 3));
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['fs', 'copy', src, 'daos://tank/c', '-q']);
  assert.equal((await runCli(['fs', 'compare', src, 'daos://tank/c'], { env })).code, 0);
  assert.equal((await runCli(['fs', 'compare', 'daos://tank/c', src], { env })).code, 0);
  const f1 = path.join(src, 'f1');
  const { atime, mtime } = fs.statSync(f1);
  fs.writeFileSync(f1, 'FILE NUMBER 1\n'); // same size and mtime, other bytes
  fs.utimesSync(f1, atime, mtime);
  if (hasSetfattr()) sh(`setfattr -n user.k -v v '${path.join(src, 'f3')}'`);
  for (const [a, b] of [[src, 'daos://tank/c'], ['daos://tank/c', src]] as const) {
    const r = await runCli(['fs', 'compare', a, b], { env });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^content\tf1: /m);
    if (hasSetfattr()) assert.match(r.stdout, /^xattrs\tf3: /m);
    assert.doesNotMatch(r.stdout, /\tf[024]|\tbig/);
  }
});
