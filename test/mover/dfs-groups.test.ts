// Copying into a container: directories (their mkdir and their final
// attributes) ride in the shared create groups, so a tree of empty
// directories is a few commits, not two per directory, and every directory
// still ends with the source's mode and mtime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, tempEngine } from '../helpers.js';
import { makeContainer } from '../dfs/util.js';
import { mountDfs } from '../../src/dfs/index.js';
import { DfsTree, PosixTree, Transfer } from '../../src/mover/index.js';

test('copy of 200 empty directories and a few files into a container: grouped commits, exact modes and mtimes', async (tc) => {
  const src = path.join(tempDir('strata-groups-'), 'src');
  fs.mkdirSync(src);
  const mtime = new Date('2020-01-02T03:04:05Z');
  for (let i = 0; i < 200; i++) {
    const d = path.join(src, `d${String(i).padStart(3, '0')}`);
    fs.mkdirSync(d, { mode: 0o750 });
    if (i % 50 === 0) for (let f = 0; f < 3; f++) fs.writeFileSync(path.join(d, `f${f}`), `file ${i}/${f}\n`);
    fs.utimesSync(d, mtime, mtime);
  }
  fs.utimesSync(src, mtime, mtime);
  const { engine } = await tempEngine();
  try {
    const dfs = await mountDfs(makeContainer(engine));
    let commits = 0;
    const commit = engine.commit.bind(engine);
    engine.commit = (b) => { commits++; return commit(b); };
    const from = new PosixTree(src);
    const to = new DfsTree(dfs, '/', 'daos://p/c');
    const t = new Transfer(from, to, 'copy', { jobs: 1 });
    const sum = await t.run((await from.lstat(''))!, await to.lstat(''));
    await Promise.all([from.close?.(), to.close()]);
    assert.equal(sum.errors, 0, JSON.stringify(sum.failures));
    // Before: a commit for each mkdir and one for each directory's attributes (> 400).
    tc.diagnostic(`${commits} commits`);
    assert.ok(commits < 100, `${commits} commits`);
    for (let i = 0; i < 200; i++) {
      const s = await dfs.stat(`/d${String(i).padStart(3, '0')}`);
      assert.equal(s.perm, 0o750);
      assert.equal(s.mtimeNs, BigInt(mtime.getTime()) * 1_000_000n, `d${i} keeps the source mtime`);
      if (i % 50 === 0) assert.equal((await dfs.readFile(`/d${String(i).padStart(3, '0')}/f2`)).toString(), `file ${i}/2\n`);
    }
    assert.equal((await dfs.stat('/')).mtimeNs, BigInt(mtime.getTime()) * 1_000_000n);
  } finally {
    await engine.close();
  }
});

test('a directory queued in a group and not yet committed is still found after a removal elsewhere in the tree', async () => {
  const src = tempDir('strata-groups-rm-');
  fs.writeFileSync(path.join(src, 'x'), 'inside the new directory\n');
  const { engine } = await tempEngine();
  try {
    const dfs = await mountDfs(makeContainer(engine));
    await dfs.writeFile('/old', Buffer.from('in the way\n'));
    const from = new PosixTree(src);
    const to = new DfsTree(dfs, '/', 'daos://p/c');
    // The mkdir of /new is queued (not committed); a removal of another entry
    // (a sync replacing it, in parallel with the walk) must not make the tree
    // forget it: the create inside goes by its OID.
    const st = (await from.lstat('x'))!;
    assert.equal(await to.ensureDir('new', { later: true }), 'created');
    const removing = to.remove('old');
    const w = await to.createFile('new/x', st, [], { owner: false });
    await removing;
    await w.write(Buffer.from('inside the new directory\n'), 0);
    await w.commit(st.size);
    await to.setMeta('new', (await from.lstat(''))!, [], { owner: false });
    await to.close();
    assert.equal((await dfs.readFile('/new/x')).toString(), 'inside the new directory\n');
    assert.equal(await dfs.lstat('/old').then(() => 'there', () => 'gone'), 'gone');
  } finally {
    await engine.close();
  }
});
