// POSIX ownership rules of DFS (src/dfs/owner.ts) for a non-root caller, in
// the library (a mount acting for another user, as the FUSE daemon and the
// tests may as root): only root changes an owner, the owner changes the group
// to one of its groups, only owner or root change the mode or set explicit
// times, setgid is dropped by a chmod outside the group, suid/sgid are cleared
// by a non-root write, truncate and chown. Root is exempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callerFromIds } from '../../src/container/identity.js';
import { mountDfs, type Dfs } from '../../src/dfs/index.js';
import { freshDfs, hasCode } from './util.js';

const ALICE = 5001;
const BOB = 5002;
const STAFF = 6001;
const OTHER = 6002;

async function setup(): Promise<{ root: Dfs; alice: Dfs; bob: Dfs }> {
  const { dfs: root, container } = await freshDfs();
  const alice = await mountDfs(container, { caller: callerFromIds(ALICE, [ALICE, STAFF]) });
  const bob = await mountDfs(container, { caller: callerFromIds(BOB, [BOB]) });
  await root.chmod('/', 0o777);
  return { root, alice, bob };
}

const perm = async (d: Dfs, p: string) => (await d.stat(p)).perm;

test('only root changes a file\'s owner; the owner may restate its own uid', async () => {
  const { root, alice, bob } = await setup();
  await alice.writeFile('/a', 'mine');
  assert.equal((await alice.stat('/a')).uid, ALICE, 'new files belong to the caller');
  await assert.rejects(alice.chown('/a', 0, 0), hasCode('EPERM'));
  await assert.rejects(alice.chown('/a', BOB), hasCode('EPERM'));
  await assert.rejects(bob.chown('/a', ALICE), hasCode('EPERM'), 'not the owner: even its current uid');
  await alice.chown('/a', ALICE);
  await root.chown('/a', BOB, OTHER);
  assert.deepEqual([(await root.stat('/a')).uid, (await root.stat('/a')).gid], [BOB, OTHER]);
});

test('the owner changes the group only to a group it is in; others not at all', async () => {
  const { alice, bob } = await setup();
  await alice.writeFile('/g', 'x');
  await alice.chown('/g', undefined, STAFF);
  assert.equal((await alice.stat('/g')).gid, STAFF);
  await assert.rejects(alice.chown('/g', undefined, OTHER), hasCode('EPERM'));
  await assert.rejects(bob.chown('/g', undefined, BOB), hasCode('EPERM'));
  assert.equal((await alice.stat('/g')).gid, STAFF);
});

test('only the owner or root changes the mode; a chmod outside the file\'s group drops setgid', async () => {
  const { root, alice, bob } = await setup();
  await alice.writeFile('/m', 'x');
  await assert.rejects(bob.chmod('/m', 0o777), hasCode('EPERM'));
  await alice.chmod('/m', 0o4755);
  assert.equal(await perm(alice, '/m'), 0o4755, 'the owner may set suid on its own file');
  await root.chown('/m', ALICE, OTHER);
  await alice.chmod('/m', 0o2755);
  assert.equal(await perm(alice, '/m'), 0o755, 'not in group OTHER: setgid dropped');
  await root.chown('/m', ALICE, STAFF);
  await alice.chmod('/m', 0o2755);
  assert.equal(await perm(alice, '/m'), 0o2755, 'in group STAFF: setgid kept');
  await root.chmod('/m', 0o6755);
  assert.equal(await perm(root, '/m'), 0o6755);
});

test('a non-root write, truncate or chown clears suid (and sgid when group-executable); root keeps them', async () => {
  const { root, alice } = await setup();
  await alice.writeFile('/s', 'x');
  await root.chown('/s', ALICE, STAFF);
  const cases: Array<[string, (d: Dfs) => Promise<unknown>]> = [
    ['write', async (d) => (await d.open('/s', { write: true })).write(Buffer.from('y'), 0)],
    ['writer', async (d) => { const w = (await d.open('/s', { write: true })).writer(); await w.write(Buffer.from('z'), 1); await w.flush(); }],
    ['truncate', (d) => d.truncate('/s', 1)],
    ['chown', (d) => d.chown('/s', ALICE, STAFF)],
  ];
  for (const [what, op] of cases) {
    await root.chmod('/s', 0o6755);
    await op(root);
    assert.equal(await perm(root, '/s'), 0o6755, `root ${what} keeps the bits`);
    await op(alice);
    assert.equal(await perm(root, '/s'), 0o755, `${what} by alice clears suid and sgid`);
    await root.chmod('/s', 0o6745);
    await op(alice);
    assert.equal(await perm(root, '/s'), 0o2745, `${what} by alice: sgid without group-exec (mandatory locking) stays`);
  }
});

test('new inodes of a non-root caller belong to it: creating one owned by someone else is a chown', async () => {
  const { root, alice } = await setup();
  const rootDir = (await alice.lookupPath('/')).oid;
  await assert.rejects(alice.createAt(rootDir, 'planted', 'file', { uid: 0, gid: 0, mode: 0o4755, data: Buffer.from('x') }), hasCode('EPERM'));
  await assert.rejects(alice.createAt(rootDir, 'planted', 'file', { gid: OTHER }), hasCode('EPERM'));
  const b = alice.batch();
  assert.throws(() => b.create(rootDir, 'planted', 'file', { uid: 0 }), hasCode('EPERM'));
  assert.equal(await root.exists('/planted'), false);
  await alice.createAt(rootDir, 'ok', 'file', { uid: ALICE, gid: STAFF, mode: 0o4755 });
  assert.deepEqual([(await root.stat('/ok')).uid, (await root.stat('/ok')).gid, await perm(root, '/ok')], [ALICE, STAFF, 0o4755]);
  await root.createAt(rootDir, 'byroot', 'file', { uid: BOB, gid: OTHER });
  assert.equal((await root.stat('/byroot')).uid, BOB);
});

test('times: only the owner or root set explicit times; anyone who may write sets them to now', async () => {
  const { alice, bob } = await setup();
  await alice.writeFile('/t', 'x');
  await assert.rejects(bob.utimens('/t', 1_000_000_000n, 1_000_000_000n), hasCode('EPERM'));
  await bob.utimens('/t', 'now', 'now');
  await alice.utimens('/t', 1_000_000_000n, 2_000_000_000n);
  assert.equal((await alice.stat('/t')).mtimeNs, 2_000_000_000n);
});

test('only a root process may act as another user', async () => {
  const { container } = await freshDfs();
  if (process.getuid?.() === 0) {
    await mountDfs(container, { caller: callerFromIds(ALICE, [ALICE]) });
    return;
  }
  await assert.rejects(mountDfs(container, { caller: callerFromIds(0, [0]) }), hasCode('EPERM'));
});

test('a set-group-ID directory gives new inodes its group, and new directories its set-group-ID bit', async () => {
  const { root, alice, bob } = await setup();
  await root.mkdir('/shared', { mode: 0o2777 });
  await root.chown('/shared', 0, OTHER);
  await root.chmod('/shared', 0o2777);
  await alice.writeFile('/shared/f', 'x');
  await alice.mkdir('/shared/sub');
  await bob.symlink('f', '/shared/l');
  assert.equal((await root.stat('/shared/f')).gid, OTHER);
  assert.equal((await root.lstat('/shared/l')).gid, OTHER);
  const sub = await root.stat('/shared/sub');
  assert.deepEqual([sub.uid, sub.gid, sub.perm & 0o2000], [ALICE, OTHER, 0o2000], 'the subtree keeps the group');
  await alice.writeFile('/shared/sub/deeper', 'y');
  assert.equal((await root.stat('/shared/sub/deeper')).gid, OTHER);
  // Outside a setgid directory the caller's own group; an explicit group (a copy keeping its owner) is kept.
  await alice.writeFile('/plain', 'z');
  assert.equal((await root.stat('/plain')).gid, ALICE);
  await root.createAt((await root.lookupPath('/shared'))!.oid, 'kept', 'file', { uid: BOB, gid: BOB, mode: 0o640 });
  assert.equal((await root.stat('/shared/kept')).gid, BOB);
});
