// `strata pool check`, DFS part: a consistent namespace passes; each kind of
// damage (wrong nlink, entry naming a missing inode, leaked object, bytes past
// the size, a second name of a directory) is reported as one line and exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers.js';
import { openEngine } from '../../src/engine/open.js';
import type { Engine, WriteOp } from '../../src/engine/types.js';
import { mountDfs, checkDfs, INODE_DKEY, A_ATTR, decodeAttr, encodeAttr, encodeEntry, ENTRY_AKEY, DATA_AKEY } from '../../src/dfs/index.js';
import { openContainer, catalogKeys } from '../../src/container/index.js';
import { ObjectId, u64Key } from '../../src/object/index.js';

const home = tempDir('strata-fsck-');
const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' };

async function cli(args: string[]) {
  return runCli(args, { env });
}

async function withEngine<T>(fn: (e: Engine) => Promise<T>): Promise<T> {
  const e = await openEngine(`lmdb:${env.STRATA_HOME}`);
  try { return await fn(e); } finally { await e.close(); }
}

const b = (s: string) => Buffer.from(s);

test('pool check: DFS damage is found, one line each, exit 1; --pool limits the check', async () => {
  assert.equal((await cli(['pool', 'create', 'tank'])).code, 0);
  assert.equal((await cli(['pool', 'create', 'other'])).code, 0);
  const src = path.join(home, 'src');
  fs.mkdirSync(path.join(src, 'd/e'), { recursive: true });
  fs.writeFileSync(path.join(src, 'd/f'), 'x'.repeat(5000));
  fs.writeFileSync(path.join(src, 'g'), 'g');
  fs.linkSync(path.join(src, 'g'), path.join(src, 'd/e/g2'));
  for (const c of ['daos://tank/c', 'daos://other/ok']) {
    const r = await cli(['fs', 'copy', '--src', src, '--dst', c, '-q']);
    assert.equal(r.code, 0, r.stderr);
  }
  let r = await cli(['pool', 'check']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /checked 2 POSIX container\(s\), 10 inodes: 0 problem\(s\)/);

  await withEngine(async (engine) => {
    const pools = await engine.catList(catalogKeys.pools);
    const tank = pools.map(([, v]) => v as { uuid: string; label: string }).find((p) => p.label === 'tank')!;
    const c = await openContainer(engine, tank.uuid, 'c', { write: true });
    const dfs = await mountDfs(c);
    const kp = (oid: ObjectId, dkey: Uint8Array | string, akey: string) => ({ cont: c.uuid, oid: oid.toBytes(), dkey: typeof dkey === 'string' ? b(dkey) : dkey, akey: b(akey) });
    const g = await dfs.lookupPath('/g', { follow: false });
    const f = await dfs.lookupPath('/d/f', { follow: false });
    const e = await dfs.lookupPath('/d/e', { follow: false });
    const d = await dfs.lookupPath('/d', { follow: false });
    const attr = decodeAttr((await engine.get(kp(g.oid, INODE_DKEY, A_ATTR)))!);
    const ghost = ObjectId.make(999999n, 1, 0);
    const leaked = ObjectId.make(999998n, 1, 0);
    const ops: WriteOp[] = [
      // nlink 3, but two entries name /g.
      { op: 'put', ...kp(g.oid, INODE_DKEY, A_ATTR), value: encodeAttr({ ...attr, nlink: 3 }) },
      // An entry naming an inode that does not exist.
      { op: 'put', ...kp(d.oid, 'ghost', ENTRY_AKEY), value: encodeEntry({ type: 'file', oid: ghost }) },
      // An object nothing names.
      { op: 'put', ...kp(leaked, INODE_DKEY, A_ATTR), value: encodeAttr({ ...attr, nlink: 1 }) },
      // Bytes past the size of /d/f (5000 bytes, one chunk).
      { op: 'write', ...kp(f.oid, u64Key(3), DATA_AKEY), offset: 0, data: b('tail') },
      // A second name of a directory.
      { op: 'put', ...kp(ObjectId.parse('1.0'), 'e-again', ENTRY_AKEY), value: encodeEntry({ type: 'dir', oid: e.oid }) },
    ];
    await engine.commit({ ops });
    const rep = await checkDfs(engine, c.uuid);
    assert.equal(rep.problems.length, 6, rep.problems.join('\n'));
  });

  r = await cli(['pool', 'check']);
  assert.equal(r.code, 1);
  const lines = r.stdout.split('\n').filter((l) => l.includes('problem: container'));
  assert.equal(lines.length, 6, r.stdout);
  assert.ok(lines.every((l) => l.includes('container c (')), r.stdout);
  assert.match(r.stdout, /\/g: inode \S+ has nlink 3, but 2 entries name it/);
  assert.match(r.stdout, /\/d\/ghost: entry names inode \S+, which does not exist/);
  assert.match(r.stdout, /object \S+: not reachable from the root and not a recorded orphan/);
  assert.match(r.stdout, /\/d\/f: file \S+ has size 5000, but stores bytes up to 3145732/);
  // The second name also makes the root hold one more directory entry than its subdirectory count.
  assert.match(r.stdout, /\/: directory \S+ counts 1 subdirectories, but has 2/);
  assert.match(r.stdout, /\/e-again: directory \S+ has a second name \(\/d\/e\)|\/d\/e: directory \S+ has a second name \(\/e-again\)/);
  r = await cli(['pool', 'check', '--pool', 'other']);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /checked 1 POSIX container\(s\)/);
  r = await cli(['pool', 'check', '--pool', 'tank', '--json']);
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.stdout).dfs[0].problems.length, 6);
});
