import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers.js';
import { PosixTree } from '../../src/mover/posix.js';
import { BAD_NAME, hasSetfattr, makeTree, moverEnv, ok, sh, statList } from './util.js';

const { home, env } = moverEnv();
const run = (args: string[], o: { uid?: number; gid?: number } = {}) => runCli(args, { env, ...o });

test('copy every file kind POSIX -> container -> POSIX: identical, sparse kept', async () => {
  const src = path.join(home, 'src');
  fs.mkdirSync(src);
  makeTree(src);
  await ok(env, ['pool', 'create', 'tank']);
  // A container that does not exist is created and becomes the copy.
  const r1 = await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c1', '-j', '2', '--json']);
  const s1 = JSON.parse(r1.stdout);
  assert.equal(s1.errors, 0);
  assert.equal(s1.hardlinks, 1);
  assert.equal(s1.symlinks, 4);
  assert.ok(s1.dataBytes < 8 * 1024 * 1024, `holes are not written (${s1.dataBytes} bytes written)`);
  // Inside the container: the hard link pair shares an inode, the symlink is a symlink.
  const a = JSON.parse((await ok(env, ['fs', 'stat', '--json', 'daos://tank/c1/dir/linked'])).stdout);
  const b = JSON.parse((await ok(env, ['fs', 'stat', '--json', 'daos://tank/c1/dir/sub/linked-too'])).stdout);
  assert.equal(a.oid, b.oid);
  assert.equal(a.nlink, 2);
  assert.equal(a.uid, 1234);
  const du = JSON.parse((await ok(env, ['fs', 'du', '--json', 'daos://tank/c1/sparse.img'])).stdout);
  assert.ok(du.storedBytes < 1024 * 1024, `sparse file stored ${du.storedBytes} bytes`);
  assert.equal((await ok(env, ['fs', 'compare', src, 'daos://tank/c1'])).code, 0);

  const out = path.join(home, 'out');
  const r2 = await ok(env, ['fs', 'copy', '--src', 'daos://tank/c1', '--dst', out, '--verify']);
  assert.match(r2.stderr, /^copy: \d+ files, \d+ directories, 5 links, \d+ bytes, [\d.]+ s, [\d.]+ MB\/s, 0 errors$/m);
  assert.equal((await ok(env, ['fs', 'compare', src, out])).code, 0);
  assert.equal(sh(`diff -r --no-dereference '${src}' '${out}' && echo same`).trim(), 'same');
  assert.equal(statList(out), statList(src));
  assert.ok(fs.existsSync(Buffer.concat([Buffer.from(out + '/'), BAD_NAME])), 'non-UTF-8 name copied byte-exactly');
  const sp = fs.statSync(path.join(out, 'sparse.img'));
  assert.equal(sp.size, 1024 * 1024 * 1024);
  assert.ok(sp.blocks * 512 < 1024 * 1024, `sparse file still sparse (${sp.blocks} blocks)`);
  assert.equal(fs.statSync(path.join(out, 'dir/linked')).ino, fs.statSync(path.join(out, 'dir/sub/linked-too')).ino);
  assert.equal(fs.readlinkSync(path.join(out, 'broken-link')), 'does/not/exist');
  assert.equal(fs.statSync(path.join(out, 'script.sh')).mode & 0o7777, 0o4755);
  assert.equal(fs.statSync(path.join(out, 'dir/sub')).mode & 0o7777, 0o555);
  if (hasSetfattr()) assert.match(sh(`getfattr -d '${out}/hello.txt'`), /user.color="blue"/);
  // No snapshot left behind by the copies, no journal left behind.
  assert.match((await ok(env, ['container', 'list-snaps', 'tank', 'c1'])).stdout.trim(), /^(no snapshots)?$/);
  assert.deepEqual(fs.readdirSync(path.join(env.STRATA_HOME!, 'mover')).filter((n) => n.endsWith('.journal')), []); // completed copies leave only .done records
});

test('cp -a destination semantics, container -> container, into itself, bad sources', async () => {
  const src = path.join(home, 'tree2');
  fs.mkdirSync(path.join(src, 'x'), { recursive: true });
  fs.writeFileSync(path.join(src, 'x/f'), 'f\n');
  await run(['pool', 'create', 'tank']);
  // Into an existing container root: DST/<name of SRC>.
  await ok(env, ['container', 'create', 'tank', 'c2', '--type', 'POSIX']);
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c2', '-q']);
  assert.equal((await ok(env, ['fs', 'cat', 'daos://tank/c2/tree2/x/f'])).stdout, 'f\n');
  // A container root as SRC has no name: its content is copied (new container -> becomes the copy).
  await ok(env, ['fs', 'copy', '--src', 'daos://tank/c2', '--dst', 'daos://tank/c3', '-q']);
  assert.equal((await ok(env, ['fs', 'cat', 'daos://tank/c3/tree2/x/f'])).stdout, 'f\n');
  // A single file into an existing POSIX directory, and to a new name.
  const d = path.join(home, 'dest2');
  fs.mkdirSync(d);
  await ok(env, ['fs', 'copy', '--src', 'daos://tank/c3/tree2/x/f', '--dst', d, '-q']);
  await ok(env, ['fs', 'copy', '--src', path.join(src, 'x/f'), '--dst', path.join(d, 'g'), '-q']);
  assert.deepEqual(fs.readdirSync(d).sort(), ['f', 'g']);
  // POSIX -> POSIX into an existing directory.
  await ok(env, ['fs', 'copy', '--src', src, '--dst', d, '-q']);
  assert.equal(fs.readFileSync(path.join(d, 'tree2/x/f'), 'utf8'), 'f\n');
  // Refusals.
  let r = await run(['fs', 'copy', '--src', src, '--dst', path.join(src, 'x')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: cannot copy a directory, .* into itself/m);
  r = await run(['fs', 'copy', '--src', 'daos://tank/c2/tree2', '--dst', 'daos://tank/c2/tree2/x']);
  assert.match(r.stderr, /into itself/);
  r = await run(['fs', 'copy', '--src', path.join(home, 'nope'), '--dst', d]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: .*nope: no such file or directory$/m);
  r = await run(['fs', 'copy', '--src', 'daos://tank/nocont', '--dst', d]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: /);
});

test('permission denied on some files: the rest is copied, each failure listed, exit 1', async () => {
  const src = path.join(home, 'perm');
  fs.mkdirSync(path.join(src, 'closed'), { recursive: true });
  fs.writeFileSync(path.join(src, 'open1'), 'a');
  fs.writeFileSync(path.join(src, 'secret'), 'b');
  fs.writeFileSync(path.join(src, 'open2'), 'c');
  fs.writeFileSync(path.join(src, 'closed/inside'), 'd');
  fs.chmodSync(path.join(src, 'secret'), 0o000);
  fs.chmodSync(path.join(src, 'closed'), 0o000);
  const out = path.join(home, 'perm-out');
  const nobodyHome = path.join(home, 'nobody-home');
  fs.mkdirSync(nobodyHome);
  fs.chownSync(nobodyHome, 65534, 65534);
  fs.chmodSync(path.join(home), 0o777);
  const r = await runCli(['fs', 'copy', '--src', src, '--dst', out], { env: { ...env, STRATA_HOME: nobodyHome }, uid: 65534, gid: 65534 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^strata: .*perm\/secret: permission denied \(EACCES\)$/m);
  assert.match(r.stderr, /^strata: .*perm\/closed: permission denied \(EACCES\)$/m);
  assert.match(r.stderr, /2 errors/);
  assert.equal(fs.readFileSync(path.join(out, 'open1'), 'utf8'), 'a');
  assert.equal(fs.readFileSync(path.join(out, 'open2'), 'utf8'), 'c');
  assert.deepEqual(fs.readdirSync(out).filter((n) => n.startsWith('.strata-tmp')), []);
});

test('a file that changes size while being copied is reported', async () => {
  const src = path.join(home, 'grow');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'growing'), Buffer.alloc(64 * 1024 * 1024, 1));
  const out = path.join(home, 'grow-out');
  const child = runCli(['fs', 'copy', '--src', src, '--dst', out], { env });
  const fd = fs.openSync(path.join(src, 'growing'), 'a');
  const t0 = Date.now();
  while (Date.now() - t0 < 3000) { fs.writeSync(fd, Buffer.alloc(65536, 2)); await new Promise((r) => setTimeout(r, 5)); }
  fs.closeSync(fd);
  const r = await child;
  if (r.code === 0) return; // copied before the first append landed: nothing to report
  assert.match(r.stderr, /growing: .*(changed|shrank) while being copied/);
  assert.ok(!fs.existsSync(path.join(out, 'growing')), 'no partial file under the final name');
});

test('re-linking a hard link that is already in place leaves no temporary name (rename of two links to one inode does nothing)', async () => {
  const dir = path.join(home, 'relink');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'a'), 'x');
  fs.linkSync(path.join(dir, 'a'), path.join(dir, 'b'));
  const tree = new PosixTree(dir);
  await tree.link('a', 'b');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a', 'b']);
  assert.equal(fs.statSync(path.join(dir, 'a')).ino, fs.statSync(path.join(dir, 'b')).ino);
});

test('copy never replaces a directory with a file nor a file with a directory (as cp -a); sync does', async () => {
  // The source has files (small, large, a symlink, a hard-link pair) where the
  // destination has directories full of data, and a directory where it has a file.
  const src = path.join(home, 'clash');
  fs.mkdirSync(path.join(src, 'd'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a'), 'file a\n');
  fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(2 * 1024 * 1024 + 5, 3)); // temporary name + rename on both kinds
  fs.symlinkSync('a', path.join(src, 'ln'));
  fs.writeFileSync(path.join(src, 'h1'), 'linked\n');
  fs.linkSync(path.join(src, 'h1'), path.join(src, 'h2'));
  fs.writeFileSync(path.join(src, 'd/inner'), 'inner\n');
  fs.writeFileSync(path.join(src, 'z.txt'), 'the rest\n');
  const inTheWay = ['a', 'big', 'ln', 'h2'];
  const expectRefusals = (r: { code: number; stderr: string }, root: string) => {
    assert.equal(r.code, 1, r.stderr);
    for (const n of inTheWay) {
      assert.match(r.stderr, new RegExp(`^strata: ${root}/${n}: cannot overwrite directory with non-directory \\(EISDIR\\)$`, 'm'), r.stderr);
    }
    assert.match(r.stderr, new RegExp(`^strata: ${root}/d: cannot overwrite non-directory with directory \\(EEXIST\\)$`, 'm'), r.stderr);
    assert.match(r.stderr, /, 5 errors$/m);
  };

  // POSIX destination.
  const dst = path.join(home, 'clash-out');
  for (const n of inTheWay) {
    fs.mkdirSync(path.join(dst, 'clash', n, 'deep'), { recursive: true });
    fs.writeFileSync(path.join(dst, 'clash', n, 'deep/keep.txt'), `keep ${n}\n`);
  }
  fs.writeFileSync(path.join(dst, 'clash/d'), 'a file where a directory goes\n');
  const r = await run(['fs', 'copy', '--src', src, '--dst', dst]);
  expectRefusals(r, `${dst}/clash`);
  for (const n of inTheWay) assert.equal(fs.readFileSync(path.join(dst, 'clash', n, 'deep/keep.txt'), 'utf8'), `keep ${n}\n`, `${n}: nothing of the directory removed`);
  assert.equal(fs.readFileSync(path.join(dst, 'clash/d'), 'utf8'), 'a file where a directory goes\n');
  assert.equal(fs.readFileSync(path.join(dst, 'clash/z.txt'), 'utf8'), 'the rest\n', 'the rest is copied');
  assert.equal(fs.readFileSync(path.join(dst, 'clash/h1'), 'utf8'), 'linked\n');
  assert.deepEqual(fs.readdirSync(path.join(dst, 'clash')).filter((n) => n.startsWith('.strata-tmp')), [], 'no temporary file left');

  // Container destination.
  await run(['pool', 'create', 'tank']);
  await ok(env, ['container', 'create', 'tank', 'clash', '--type', 'POSIX']);
  for (const n of inTheWay) {
    await ok(env, ['fs', 'mkdir', '-p', `daos://tank/clash/clash/${n}/deep`]);
    await ok(env, ['fs', 'put', '-', `daos://tank/clash/clash/${n}/deep/keep.txt`]);
  }
  const blocker = path.join(home, 'clash-blocker');
  fs.writeFileSync(blocker, 'a file where a directory goes\n');
  await ok(env, ['fs', 'put', blocker, 'daos://tank/clash/clash/d']);
  const rc = await run(['fs', 'copy', '--src', src, '--dst', 'daos://tank/clash']);
  expectRefusals(rc, 'daos://tank/clash/clash');
  for (const n of inTheWay) assert.equal((await ok(env, ['fs', 'stat', '--json', `daos://tank/clash/clash/${n}/deep/keep.txt`])).code, 0, `${n}: nothing of the directory removed`);
  assert.equal((await ok(env, ['fs', 'cat', 'daos://tank/clash/clash/d'])).stdout, 'a file where a directory goes\n');
  assert.equal((await ok(env, ['fs', 'cat', 'daos://tank/clash/clash/z.txt'])).stdout, 'the rest\n');
  assert.doesNotMatch((await ok(env, ['fs', 'ls', 'daos://tank/clash/clash'])).stdout, /strata-tmp/);

  // sync makes the destination a mirror: there, replacing is the point.
  await ok(env, ['fs', 'sync', '--src', `${src}/`, '--dst', path.join(dst, 'clash')]);
  await ok(env, ['fs', 'sync', '--src', `${src}/`, '--dst', 'daos://tank/clash/clash']);
  assert.equal((await ok(env, ['fs', 'compare', src, path.join(dst, 'clash')])).code, 0);
  assert.equal((await ok(env, ['fs', 'compare', src, 'daos://tank/clash/clash'])).code, 0);
});
