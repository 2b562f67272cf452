// End to end: archive a tree, read it back through the link (xattr link: with
// strata fs cat / fs copy; symlink link: through a real `strata mount` of the
// tier root at the prefix, with cat and diff -r), park it, see reads fail with
// the unpark hint, unpark, restore, and diff -r against the copy kept aside.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../helpers.js';
import { ok, fails, makeTree, statList, xattrsOf, tierEnv, diffR, sh, hiddenSiblings } from './util.js';

const { home, env } = tierEnv('e2e');
const ws = path.join(home, 'ws');
fs.mkdirSync(ws);
const cold = path.join(home, 'cold');
const mounts: string[] = [];
after(() => { for (const m of mounts) { spawnSync('umount', [m]); spawnSync('umount', ['-l', m]); } });

interface Entry { path: string; state: string; contUuid?: string; contLabel?: string; coldDir?: string; parkedFiles?: string[]; bytes?: number; link?: string }
const status = async (p: string, ...more: string[]) => JSON.parse(await ok(env, 'tier', 'status', p, '--json', ...more)) as Entry[];

test('xattr link: archive, read through strata, park, unpark, restore', async () => {
  await ok(env, 'pool', 'create', 'tank');
  const dir = path.join(ws, 'run42');
  const kept = path.join(home, 'kept42');
  fs.mkdirSync(dir);
  makeTree(dir);
  sh(`cp -a '${dir}' '${kept}'`);
  const local = await status(dir);
  assert.equal(local[0]!.state, 'local');
  assert.equal(local[0]!.bytes, Number(sh(`find '${kept}' -type f -printf '%i %s\\n' | sort -u | awk '{s+=$2} END {print s}'`)), 'apparent bytes, hard links once');

  const a = JSON.parse(await ok(env, 'tier', 'archive', dir, '--pool', 'tank', '--json')) as { contUuid: string; contLabel: string; link: string };
  assert.equal(a.link, 'xattr');
  assert.equal(a.contLabel, 'run42');
  assert.deepEqual(hiddenSiblings(dir), []);
  assert.ok(fs.statSync(dir).isDirectory());
  assert.deepEqual(fs.readdirSync(dir), [], 'the link directory is empty locally');
  let st = await status(dir);
  assert.equal(st[0]!.state, 'archived');
  assert.equal(st[0]!.contUuid, a.contUuid);
  assert.equal(st[0]!.bytes, local[0]!.bytes);
  // the same paths, through strata
  assert.equal(await ok(env, 'fs', 'cat', `${dir}/hello.txt`), 'hello\n');
  assert.equal(await ok(env, 'fs', 'cat', `${dir}/dir/sub/deeper/leaf`), 'leaf\n');
  const out = path.join(home, 'out42');
  await ok(env, 'fs', 'copy', '--src', dir, '--dst', out);
  assert.equal(diffR(kept, out).code, 0, diffR(kept, out).out);
  assert.equal(statList(out), statList(kept));
  assert.equal(xattrsOf(out), xattrsOf(kept));
  // status -R of the parent lists the link
  const tree = await status(ws, '-R');
  assert.deepEqual(tree.map((e) => [path.basename(e.path), e.state]), [['ws', 'local'], ['run42', 'archived']]);
  // already archived: refused
  await fails(env, /is already a UNS link/, 'tier', 'archive', dir);

  // park
  const pk = JSON.parse(await ok(env, 'tier', 'park', dir, '--to', cold, '--json')) as { files: string[] };
  assert.equal(pk.files.length, 1);
  assert.ok(fs.existsSync(pk.files[0]!));
  assert.ok(fs.existsSync(path.join(cold, `${a.contUuid}.strata-tier.json`)));
  assert.equal((JSON.parse(await ok(env, 'cont', 'list', 'tank', '--json')) as unknown[]).length, 0, 'container freed');
  st = await status(dir);
  assert.equal(st[0]!.state, 'parked');
  assert.equal(st[0]!.coldDir, cold);
  assert.match(await ok(env, 'tier', 'status', dir), /parked .* \(1 file, /);
  assert.match(sh(`getfattr --only-values -n user.strata.parked '${dir}'`), new RegExp(`"coldDir":"${cold}"`));
  // reads fail, saying how to unpark
  const hint = new RegExp(`is parked in ${cold}; run strata tier unpark ${dir}`);
  await fails(env, hint, 'fs', 'cat', `${dir}/hello.txt`);
  // uns resolve describes the link and says where its container is
  assert.match(await ok(env, 'uns', 'resolve', dir), new RegExp(`not in the tier: parked in ${cold}; run strata tier unpark ${dir}`));
  await fails(env, hint, 'fs', 'copy', '--src', dir, '--dst', path.join(home, 'nope'));
  await fails(env, /is parked already/, 'tier', 'park', dir, '--to', cold);
  await fails(env, /is parked in .*; run strata tier unpark/, 'tier', 'restore', dir);

  // unpark: back in the tier under its label, files removed
  const inoParked = fs.lstatSync(dir).ino;
  const up = JSON.parse(await ok(env, 'tier', 'unpark', dir, '--json')) as { contUuid: string; label: string; filesRemoved: boolean };
  assert.equal(up.label, 'run42');
  // The link was re-pointed in place (never missing), and its parked mark is gone.
  assert.equal(fs.lstatSync(dir).ino, inoParked, 'the xattr link is the same directory');
  assert.match(sh(`getfattr --only-values -n user.daos '${dir}'`), new RegExp(up.contUuid));
  assert.equal(sh(`getfattr -n user.strata.parked '${dir}' 2>/dev/null || true`), '');
  assert.equal(up.filesRemoved, true);
  assert.deepEqual(fs.readdirSync(cold), []);
  assert.equal(await ok(env, 'fs', 'cat', `${dir}/hello.txt`), 'hello\n');
  const cmp = await runCli(['fs', 'compare', kept, dir, '--xattrs', 'non-lustre'], { env });
  assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
  await fails(env, /is not parked/, 'tier', 'unpark', dir);

  // restore
  await ok(env, 'tier', 'restore', dir);
  assert.equal(sh(`getfattr -n user.daos '${dir}' 2>/dev/null || true`), '');
  const d = diffR(kept, dir);
  assert.equal(d.code, 0, d.out);
  assert.equal(d.out, '');
  assert.equal(statList(dir), statList(kept));
  assert.equal(xattrsOf(dir), xattrsOf(kept));
  assert.equal((JSON.parse(await ok(env, 'cont', 'list', 'tank', '--json')) as unknown[]).length, 0, 'container destroyed');
  assert.equal((await status(dir))[0]!.state, 'local');
  await fails(env, /is not a UNS link: it is a local directory already/, 'tier', 'restore', dir);
});

const canFuse = fs.existsSync('/dev/fuse') && process.getuid?.() === 0;

test('symlink link: reads through a real strata mount of the root at the prefix', { skip: canFuse ? false : 'needs root and /dev/fuse' }, async () => {
  const mnt = path.join(home, 'mnt');
  fs.mkdirSync(mnt);
  await ok(env, 'mount', mnt);
  mounts.push(mnt);
  const dir = path.join(ws, 'sim');
  const kept = path.join(home, 'kept-sim');
  fs.mkdirSync(dir);
  makeTree(dir);
  sh(`cp -a '${dir}' '${kept}'`);
  await ok(env, 'tier', 'archive', dir, '--link', 'symlink', '--prefix', mnt);
  assert.ok(fs.lstatSync(dir).isSymbolicLink());
  // programs reach the same files through the same path
  assert.equal(sh(`cat '${dir}/hello.txt'`), 'hello\n');
  assert.equal(sh(`cat '${dir}/dir/sub/linked-too'`), 'two names\n');
  let d = diffR(kept, `${dir}/`);
  assert.equal(d.code, 0, d.out);
  assert.equal(sh(`cd '${dir}' && sha256sum dir/big.bin sparse.img`), sh(`cd '${kept}' && sha256sum dir/big.bin sparse.img`));
  // park: the kernel path fails; strata commands name the fix
  await ok(env, 'tier', 'park', dir, '--to', cold);
  // (the mount caches container records for 2 s: until then the parked container reads as empty)
  let r = spawnSync('cat', [`${dir}/hello.txt`], { encoding: 'utf8' });
  for (let i = 0; i < 40 && !/Object is remote/.test(r.stderr); i++) {
    await new Promise((res) => setTimeout(res, 100));
    r = spawnSync('cat', [`${dir}/hello.txt`], { encoding: 'utf8' });
  }
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Object is remote/);
  assert.match(spawnSync('ls', [dir], { encoding: 'utf8' }).stderr, /Object is remote/);
  await fails(env, new RegExp(`sim/hello.txt is parked in ${cold}; run strata tier unpark ${dir}`), 'fs', 'cat', `${dir}/hello.txt`);
  assert.equal((await status(dir))[0]!.state, 'parked');
  // unpark: the symlink now names the rebuilt container, reachable in the mount
  await ok(env, 'tier', 'unpark', dir);
  for (let i = 0; i < 30 && spawnSync('cat', [`${dir}/hello.txt`]).status !== 0; i++) await new Promise((res) => setTimeout(res, 100));
  assert.equal(sh(`cat '${dir}/hello.txt'`), 'hello\n');
  d = diffR(kept, `${dir}/`);
  assert.equal(d.code, 0, d.out);
  // restore: a real directory again
  await ok(env, 'tier', 'restore', dir);
  assert.ok(fs.lstatSync(dir).isDirectory());
  d = diffR(kept, dir);
  assert.equal(d.code, 0, d.out);
  assert.equal(d.out, '');
  assert.equal(statList(dir), statList(kept));
  await ok(env, 'umount', mnt);
  mounts.pop();
});
