// A write to a file another process removed must not revive it: the write
// fails with ESTALE and the namespace stays whole (`pool check` clean). The
// remover is the real CLI in another process; the writer a library handle in
// this one. A file unlinked while this process holds it open (a pinned
// handle, the POSIX orphan) stays writable. `pool check --repair` removes an
// object nothing names.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDir } from '../helpers.js';
import { openEngine } from '../../src/engine/open.js';
import { openContainer } from '../../src/container/index.js';
import { mountDfs, A_SIZE, INODE_DKEY, u64le } from '../../src/dfs/index.js';
import { ObjectId, OTYPE, parseObjectClass } from '../../src/object/oid.js';
import { u64Key } from '../../src/object/keys.js';
import type { Engine } from '../../src/engine/types.js';

const home = tempDir('strata-stale-write-');
const env = { STRATA_HOME: home, STRATA_ENGINE: '' };
const U = 'daos://tank/sw';
let engine: Engine | undefined;

async function ok(args: string[], input?: string): Promise<string> {
  const r = await runCli(args, { env, input });
  assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `pool check` output and exit code, with the engine of this process closed (the CLI opens its own). */
async function poolCheck(extra: string[] = []): Promise<{ code: number; stdout: string }> {
  const r = await runCli(['pool', 'check', ...extra], { env });
  return { code: r.code, stdout: r.stdout + r.stderr };
}

after(async () => { await engine?.close(); });

test('a library handle writing to a file the CLI removed gets ESTALE; nothing is revived and pool check stays clean', async () => {
  await ok(['pool', 'create', 'tank']);
  await ok(['container', 'create', 'tank', 'sw', '--type', 'POSIX']);
  await ok(['fs', 'put', '-', `${U}/f`], 'first\n');
  engine = await openEngine(`lmdb:${home}`);
  const dfs = await mountDfs(await openContainer(engine, 'tank', 'sw', { write: true }));
  const f = await dfs.open('/f', { write: true });
  await f.write(Buffer.from('second'), 0);

  await ok(['fs', 'rm', `${U}/f`]);
  engine.refresh();
  await assert.rejects(f.write(Buffer.alloc(100 * 1024, 7), 0), (e: { code?: string }) => e.code === 'ESTALE');
  await assert.rejects(f.writev([{ data: Buffer.alloc(10), offset: 1 << 20 }]), (e: { code?: string }) => e.code === 'ESTALE');
  const w = f.writer();
  await w.write(Buffer.alloc(9 << 20, 1), 0);
  await assert.rejects(w.flush(), (e: { code?: string }) => e.code === 'ESTALE');
  await assert.rejects(f.truncate(10), (e: { code?: string }) => e.code === 'ESTALE' || e.code === 'ENOENT');
  await assert.rejects(dfs.setxattr('/f', 'user.x', 'y'), (e: { code?: string }) => e.code === 'ENOENT');
  await assert.rejects(dfs.setxattrOf(f.oid, 'user.x', 'y'), (e: { code?: string }) => e.code === 'ESTALE');
  const b = dfs.batch();
  void b.write(f.oid, f.chunkSize, Buffer.from('batched'), 0);
  await assert.rejects(b.commit(), (e: { code?: string }) => e.code === 'ESTALE');

  const check = await poolCheck();
  assert.equal(check.code, 0, check.stdout);
  assert.match(check.stdout, /checked 1 POSIX container\(s\), \d+ inodes: 0 problem\(s\)/);
});

test('a file unlinked while this process holds it open (pinned) stays writable, and goes with the last close', async () => {
  engine ??= await openEngine(`lmdb:${home}`);
  const dfs = await mountDfs(await openContainer(engine, 'tank', 'sw', { write: true }));
  await dfs.writeFile('/kept', 'open');
  const f = await dfs.open('/kept', { write: true, pin: true });
  await dfs.unlink('/kept');
  await f.write(Buffer.from(' and written after unlink'), 4);
  assert.equal((await f.read(0, 100)).toString(), 'open and written after unlink');
  // While open it is a recorded orphan, which check accepts.
  assert.equal((await poolCheck()).code, 0);
  await f.close();
  const check = await poolCheck();
  assert.equal(check.code, 0, check.stdout);
});

test('pool check --repair removes a DFS object nothing names; the next check is clean', async () => {
  engine ??= await openEngine(`lmdb:${home}`);
  const c = await openContainer(engine, 'tank', 'sw', { write: true });
  const dfs = await mountDfs(c);
  await dfs.writeFile('/named', 'stays');
  // What a write to a removed file used to leave: data, size and times, no inode record, no entry.
  const leaked = ObjectId.make(1n << 40n, OTYPE.ARRAY_BYTE, parseObjectClass('SX'));
  const tx = c.tx();
  tx.write(c.object(leaked), u64Key(0), 'd', 0, Buffer.alloc(4096, 9));
  tx.put(c.object(leaked), INODE_DKEY, A_SIZE, u64le(4096));
  await tx.commit();

  const before = await poolCheck();
  assert.equal(before.code, 1, before.stdout);
  assert.match(before.stdout, new RegExp(`object ${leaked.toString().replace('.', '\\.')}: not reachable from the root and not a recorded orphan`));
  const repair = await poolCheck(['--repair']);
  assert.equal(repair.code, 0, repair.stdout);
  assert.match(repair.stdout, /repaired: container sw .*not reachable.*removed/);
  const afterRepair = await poolCheck();
  assert.equal(afterRepair.code, 0, afterRepair.stdout);
  assert.match(afterRepair.stdout, /inodes: 0 problem\(s\)/);
  engine.refresh();
  assert.equal((await dfs.readFile('/named')).toString(), 'stays');
});
