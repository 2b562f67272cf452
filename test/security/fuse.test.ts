// The FUSE mount without --allow-other serves only the mounting user (root):
// another, unprivileged user can neither look at the mountpoint nor read,
// list or write through it, even where the container ACL (EVERYONE@:rw) and
// the file modes (0666/0777) would allow it; it cannot unmount it either.
// With --allow-other the same user reads the same file: the refusal comes
// from the mount option. Every mount is unmounted in `finally` (lazily if
// need be); the user is removed at the end. Needs root and /dev/fuse.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { cli, createUser, fuseUsable, isMounted, makeContainer, ok, removeUser, runAs, umountQuiet, type TestUser } from './util.js';

const skip = fuseUsable();
const home = tempDir('strata-sec-fuse-');
fs.chmodSync(home, 0o755);
const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' };
let user: TestUser | undefined;

before(async () => {
  if (skip) return;
  user = createUser('fuse');
  // The container ACL lets everyone read and write; only the mount option stands in the way.
  await makeContainer(env, 'tank', 'c', { acl: ['A::OWNER@:rwdtTaAo', 'A:G:GROUP@:rwtT', 'A::EVERYONE@:rw'], dirs: ['/open'], files: { '/pub': 'public\n' } });
});

after(async () => {
  if (user) await removeUser(user);
});

/** Mounts the container at a fresh mountpoint, runs fn, and always unmounts. */
async function withMount(opts: string[], fn: (mp: string) => Promise<void>): Promise<void> {
  const mp = path.join(home, `mnt-${opts.length ? 'other' : 'own'}`);
  fs.mkdirSync(mp, { mode: 0o755 });
  fs.chmodSync(mp, 0o755);
  try {
    await ok(['mount', mp, '--pool', 'tank', '--cont', 'c', '--cache-timeout', '0', ...opts], { env });
    assert.ok(isMounted(mp), 'mounted');
    await fn(mp);
    await ok(['umount', mp], { env });
    assert.ok(!isMounted(mp), 'unmounted');
  } finally {
    umountQuiet(mp);
  }
}

function deniedAs(u: TestUser, cmd: string, args: string[]): void {
  const r = runAs(u, cmd, args);
  assert.notEqual(r.status, 0, `${cmd} ${args.join(' ')} as ${u.name} should fail: ${r.stdout}`);
  assert.match(r.stderr, /Permission denied/, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test('without --allow-other another user cannot reach the mount at all, whatever the ACL and modes say', { skip, timeout: 60000 }, async () => {
  const u = user!;
  await withMount([], async (mp) => {
    // The mounting user (root) uses it; modes are wide open.
    fs.chmodSync(path.join(mp, 'pub'), 0o666);
    fs.chmodSync(path.join(mp, 'open'), 0o777);
    assert.equal(fs.readFileSync(path.join(mp, 'pub'), 'utf8'), 'public\n');
    deniedAs(u, 'stat', [mp]);
    deniedAs(u, 'ls', [mp]);
    deniedAs(u, 'cat', [path.join(mp, 'pub')]);
    deniedAs(u, 'stat', [path.join(mp, 'open')]);
    deniedAs(u, 'sh', ['-c', `echo planted > '${mp}/open/new'`]);
    deniedAs(u, 'sh', ['-c', `echo planted >> '${mp}/pub'`]);
    deniedAs(u, 'mkdir', [path.join(mp, 'open', 'd')]);
    // Nor can it take the mount away.
    const um = runAs(u, 'umount', [mp]);
    assert.notEqual(um.status, 0, 'umount as the user fails');
    const sum = await cli(['umount', mp], { env, as: u });
    assert.equal(sum.code, 1, sum.stderr);
    assert.match(sum.stderr, /^strata: /);
    assert.ok(isMounted(mp), 'still mounted');
    // Nothing changed in the container.
    assert.deepEqual(fs.readdirSync(mp).sort(), ['open', 'pub']);
    assert.deepEqual(fs.readdirSync(path.join(mp, 'open')), []);
    assert.equal(fs.readFileSync(path.join(mp, 'pub'), 'utf8'), 'public\n');
  });
  assert.equal((await ok(['fs', 'ls', 'daos://tank/c/open'], { env })).stdout, '');
});

test('with --allow-other the same user reads the same file (the refusal above is the mount option\'s)', { skip, timeout: 60000 }, async () => {
  const u = user!;
  await withMount(['--allow-other'], async (mp) => {
    const r = runAs(u, 'cat', [path.join(mp, 'pub')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'public\n');
  });
});
