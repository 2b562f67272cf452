// A container mounted on its own xattr link (`strata mount --path LINK`, as
// the guide advises) hides the link's xattr; uns resolve, tier status and
// tier restore must still see the link (through the mount's source in
// mountinfo), and commands that would remove the link say to unmount first.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ok, refused, unsHome } from './util.js';
import { makeTree } from '../tier/util.js';

const canFuse = fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
const { home, run } = unsHome('strata-uns-mounted-');
const mounts: string[] = [];
after(() => { for (const mp of mounts) spawnSync('umount', ['-l', mp], { stdio: 'ignore' }); });

test('uns resolve, tier status and tier restore see through a link with its container mounted on it', { skip: canFuse ? false : 'needs root and /dev/fuse' }, async () => {
  ok(await run('pool', 'create', 'mp'));
  const proj = path.join(home, 'proj');
  fs.mkdirSync(proj);
  makeTree(proj, { files: 3 });
  ok(await run('tier', 'archive', proj, '--pool', 'mp'));
  const before = JSON.parse(ok(await run('uns', 'resolve', proj, '--json'))) as { contUuid: string; poolUuid: string };
  ok(await run('mount', '--path', proj));
  mounts.push(proj);
  assert.ok(fs.existsSync(path.join(proj, 'dir')), 'the data is reached through the mount');

  const r = JSON.parse(ok(await run('uns', 'resolve', path.join(proj, 'dir', 'x'), '--json'))) as { contUuid: string; poolUuid: string; containerPath: string; linkPath: string };
  assert.deepEqual([r.poolUuid, r.contUuid, r.containerPath, r.linkPath], [before.poolUuid, before.contUuid, '/dir/x', proj]);
  const st = ok(await run('tier', 'status', proj));
  assert.match(st, /archived/);
  assert.doesNotMatch(st, /local/);
  refused(await run('tier', 'restore', proj), new RegExp(`strata umount ${proj}`));
  refused(await run('tier', 'park', proj, '--to', path.join(home, 'cold')), new RegExp(`strata umount ${proj}`));
  refused(await run('cont', 'destroy', '--path', proj), new RegExp(`strata umount ${proj}`));
  refused(await run('cont', 'unlink', '--path', proj), new RegExp(`strata umount ${proj}`));
  assert.ok(fs.existsSync(path.join(proj, 'dir')), 'still mounted, nothing removed');

  ok(await run('umount', proj));
  mounts.pop();
  assert.deepEqual(fs.readdirSync(proj), [], 'the link itself is an empty directory again');
  ok(await run('tier', 'restore', proj));
  assert.ok(fs.statSync(path.join(proj, 'dir')).isDirectory());
});
