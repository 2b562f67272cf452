// Setuid root through a container (issue: an unprivileged user stored a copy
// of /usr/bin/id, chowned it to 0:0 with mode 04755, and once root mounted the
// container with --allow-other, ran it with euid 0; copying it out as root
// recreated it setuid root). Both ends are closed and tested here with a
// real unprivileged user on an engine home shared with it:
//   - DFS ownership rules, through the CLI run as the user and through the
//     library in a process of the user: only root changes an owner, the
//     owner changes the group to one of its groups, only owner or root
//     change the mode, a write or truncate by the user clears suid;
//   - the mount is nosuid,nodev by default, so a setuid-root file root
//     stored there does not run as root; --suid/--dev are root only.
// Needs root (to make the user and to mount) and /dev/fuse.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers.js';
import { openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import {
  assertOneError, cli, createUser, fuseUsable, inEngine, isMounted, makeContainer, ok, refused, removeUser, runAs, sharedHome, umountQuiet, userDir,
  type TestUser,
} from './util.js';

const skip = fuseUsable();
const EPERM = /not permitted/;
const U = 'daos://tank/c';

let user: TestUser;
let home: string;
let env: Record<string, string>;
let work: string;

const asUser = (args: string[], input?: string) => cli(args, { env, as: user, input });
const asRoot = (args: string[]) => ok(args, { env });

async function statOf(uri: string): Promise<{ uid: number; gid: number; perm: number }> {
  const st = JSON.parse((await asRoot(['fs', 'stat', '--json', uri])).stdout) as { uid: number; gid: number; perm: string };
  return { uid: st.uid, gid: st.gid, perm: parseInt(st.perm, 8) };
}

before(async () => {
  if (skip) return;
  user = createUser('own');
  ({ dir: home, env } = sharedHome('strata-sec-own-', user.gid));
  work = userDir(home, 'work', user);
  fs.copyFileSync('/usr/bin/id', path.join(work, 'id'));
  fs.chownSync(path.join(work, 'id'), user.uid, user.gid);
  // Everyone may write the container: only the ownership rules stand in the way.
  await makeContainer(env, 'tank', 'c', { acl: ['A::OWNER@:rwdtTaAo', 'A::EVERYONE@:rw'] });
});

after(async () => {
  if (user) await removeUser(user);
});

test('the reproduction through the CLI as the unprivileged user: chown to root is refused, suid never belongs to root', { skip, timeout: 120000 }, async () => {
  await ok(['fs', 'put', path.join(work, 'id'), `${U}/id`], { env, as: user });
  assert.equal((await statOf(`${U}/id`)).uid, user.uid);
  await refused(['fs', 'chown', '0:0', `${U}/id`], { env, as: user }, EPERM);
  await refused(['fs', 'chown', 'root', `${U}/id`], { env, as: user }, EPERM);
  await refused(['fs', 'chown', ':0', `${U}/id`], { env, as: user }, EPERM);
  // Its own file: suid is allowed, owned by the user, and its own chown or write clears it.
  await ok(['fs', 'chmod', '4755', `${U}/id`], { env, as: user });
  await refused(['fs', 'chown', '0:0', `${U}/id`], { env, as: user }, EPERM);
  assert.deepEqual(await statOf(`${U}/id`), { uid: user.uid, gid: user.gid, perm: 0o4755 });
  await ok(['fs', 'chown', `${user.uid}:${user.group}`, `${U}/id`], { env, as: user });
  assert.equal((await statOf(`${U}/id`)).perm, 0o755, 'a non-root chown clears suid');
  await ok(['fs', 'chmod', '4755', `${U}/id`], { env, as: user });
  await ok(['fs', 'put', path.join(work, 'id'), `${U}/id`], { env, as: user });
  assert.equal((await statOf(`${U}/id`)).perm, 0o755, 'a non-root write clears suid');
  await ok(['fs', 'chmod', '4755', `${U}/id`], { env, as: user });
  await ok(['fs', 'truncate', '-s', '4096', `${U}/id`], { env, as: user });
  assert.equal((await statOf(`${U}/id`)).perm, 0o755, 'a non-root truncate clears suid');
  // setgid: kept in its own group, dropped in a group it is not in (root moved the file there).
  await ok(['fs', 'chmod', '2755', `${U}/id`], { env, as: user });
  assert.equal((await statOf(`${U}/id`)).perm, 0o2755);
  await asRoot(['fs', 'chown', `${user.uid}:0`, `${U}/id`]);
  await ok(['fs', 'chmod', '2755', `${U}/id`], { env, as: user });
  assert.deepEqual(await statOf(`${U}/id`), { uid: user.uid, gid: 0, perm: 0o755 });

  // Someone else's file: no chmod, no chown, no chgrp, no explicit times; touch (now) is fine.
  await asRoot(['fs', 'put', '/usr/bin/id', `${U}/rootid`]);
  await refused(['fs', 'chmod', '4777', `${U}/rootid`], { env, as: user }, EPERM);
  await refused(['fs', 'chown', String(user.uid), `${U}/rootid`], { env, as: user }, EPERM);
  await refused(['fs', 'chown', `:${user.group}`, `${U}/rootid`], { env, as: user }, EPERM);
  await refused(['fs', 'touch', '-d', '2001-01-01T00:00:00Z', `${U}/rootid`], { env, as: user }, EPERM);
  await ok(['fs', 'touch', `${U}/rootid`], { env, as: user });
  assert.deepEqual(await statOf(`${U}/rootid`), { uid: 0, gid: 0, perm: 0o755 });

  // Nothing set-user-ID root anywhere in the container, and a copy out by root has none either.
  const out = path.join(home, 'out');
  await asRoot(['fs', 'copy', '--src', U, '--dst', out, '-q']);
  for (const n of fs.readdirSync(out)) {
    const st = fs.statSync(path.join(out, n));
    assert.ok(!(st.uid === 0 && st.mode & 0o6000), `${n} copied out setuid root (${st.mode.toString(8)})`);
  }
});

test('the library in a process of the unprivileged user gets EPERM as well', { skip, timeout: 60000 }, async () => {
  await ok(['fs', 'put', path.join(work, 'id'), `${U}/lib-id`], { env, as: user });
  const script = `
    import { openEngine } from '${REPO}/dist/src/engine/open.js';
    import { openContainer } from '${REPO}/dist/src/container/index.js';
    import { mountDfs } from '${REPO}/dist/src/dfs/index.js';
    const e = await openEngine('lmdb:${env.STRATA_HOME}');
    const c = await openContainer(e, 'tank', 'c', { write: true });
    const dfs = await mountDfs(c);
    const out = [];
    const attempt = async (what, f) => { try { await f(); out.push(what + ':ok'); } catch (err) { out.push(what + ':' + err.code); } };
    await attempt('chown', () => dfs.chown('/lib-id', 0, 0));
    await attempt('chgrp', () => dfs.chown('/lib-id', undefined, 0));
    await attempt('create', async () => dfs.createAt((await dfs.lookupPath('/')).oid, 'planted', 'file', { uid: 0, gid: 0, mode: 0o4755 }));
    await attempt('as-root', () => mountDfs(c, { caller: { uid: 0, gids: [0], user: 'root', groups: ['root'] } }));
    await e.close();
    console.log(out.join(' '));
  `;
  const r = runAs(user, process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'chown:EPERM chgrp:EPERM create:EPERM as-root:EPERM');
  assert.equal((await statOf(`${U}/lib-id`)).uid, user.uid);
});

test('a default mount is nosuid,nodev: a setuid-root file in the container runs as the user; --suid and --dev are refused to non-root', { skip, timeout: 60000 }, async () => {
  await asRoot(['fs', 'put', '/usr/bin/id', `${U}/suid-root`]);
  // Root's own set-up, through the library in this process.
  await inEngine(env, async (e) => (await mountDfs(await openContainer(e, 'tank', 'c', { write: true }))).chmod('/suid-root', 0o4755));
  assert.deepEqual(await statOf(`${U}/suid-root`), { uid: 0, gid: 0, perm: 0o4755 });
  const mp = path.join(home, 'mnt');
  fs.mkdirSync(mp, { mode: 0o755 });
  fs.chmodSync(mp, 0o755);
  try {
    await asRoot(['mount', mp, '--pool', 'tank', '--cont', 'c', '--allow-other']);
    const r = runAs(user, path.join(mp, 'suid-root'), ['-u']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(user.uid), 'euid stays the user');
    const opts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mp)!.split(' ')[3]!.split(',');
    assert.ok(opts.includes('nosuid') && opts.includes('nodev'), opts.join(','));
    await asRoot(['umount', mp]);
  } finally {
    umountQuiet(mp);
  }
  assert.ok(!isMounted(mp));
  for (const opt of ['--suid', '--dev']) {
    const r = await asUser(['mount', mp, '--pool', 'tank', '--cont', 'c', opt]);
    assertOneError(r, new RegExp(`${opt}: only root`), `mount ${opt} as the user`);
    assert.ok(!isMounted(mp));
  }
});

test('a copy into a container by the unprivileged user takes the user as owner (as cp -a), even of files root owns', { skip, timeout: 60000 }, async () => {
  const src = path.join(work, 'tree');
  fs.mkdirSync(path.join(src, 'rootdir'), { recursive: true });
  fs.writeFileSync(path.join(src, 'rootdir', 'rootfile'), 'owned by root\n', { mode: 0o644 });
  fs.writeFileSync(path.join(src, 'mine'), 'mine\n');
  fs.chownSync(src, user.uid, user.gid);
  fs.chownSync(path.join(src, 'mine'), user.uid, user.gid);
  fs.chmodSync(path.join(src, 'rootdir'), 0o755); // root's, readable by all
  await ok(['fs', 'copy', '--src', src, '--dst', `${U}/copied`, '-q'], { env, as: user });
  for (const p of ['', '/mine', '/rootdir', '/rootdir/rootfile']) {
    const st = await statOf(`${U}/copied${p}`);
    assert.deepEqual([st.uid, st.gid], [user.uid, user.gid], `${p} belongs to the user who copied it`);
  }
});
