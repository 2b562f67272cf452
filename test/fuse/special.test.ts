// Special files end to end, through the real CLI (needs root and /dev/fuse): a FIFO made through a
// `strata mount` carries data from one process to another, a Unix socket
// bound there is a socket entry; an unprivileged user cannot make a device
// there (EPERM, as in a local directory) but can make a FIFO; `fs copy` of a
// tree with a FIFO, character and block devices and a socket into a
// container and back (and POSIX to POSIX) reproduces them (type, mode,
// rdev), `fs ls -l` and `fs stat` show them as ls and stat do, `fs compare`
// sees a changed device number or type, and a copy as a user who is not
// root reports the devices (exit 1) and makes the rest, as cp -a does;
// parking and clone carry them (the rdev akey like any other).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { tempDir } from '../helpers.js';
import { cli, createUser, fuseUsable, isMounted, ok, removeUser, runAs, umountQuiet, userDir, type TestUser } from '../security/util.js';

const skip = fuseUsable() || (!fs.existsSync('/usr/bin/python3') && 'needs /usr/bin/python3');
const home = tempDir('strata-special-');
fs.chmodSync(home, 0o755);
const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' };
const mp = path.join(home, 'mnt');
let user: TestUser;

before(async () => {
  if (skip) return;
  user = createUser('spc');
  fs.mkdirSync(mp);
  await ok(['pool', 'create', 'tank'], { env });
  await ok(['container', 'create', 'tank', 'm'], { env });
});

after(async () => {
  if (skip) return;
  umountQuiet(mp);
  await removeUser(user);
});

/** type, permission bits and device number of a path, as stat(1) shows them. */
function statOf(p: string): string {
  return spawnSync('stat', ['-c', '%F %a %t,%T', p], { encoding: 'utf8' }).stdout.trim();
}

/** A Unix socket bound at p by python (the socket file stays after the process). */
function bindSocket(p: string, as?: TestUser): void {
  const args = ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', p];
  const r = as ? runAs(as, '/usr/bin/python3', args) : spawnSync('/usr/bin/python3', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `bind ${p}: ${r.stderr}`);
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** Runs a command to its end; its exit status and output. */
function proc(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d; });
    c.stderr.on('data', (d: Buffer) => { stderr += d; });
    c.on('error', reject);
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('a FIFO made through the mount carries data between two processes; a Unix socket bound there is a socket entry', { skip, timeout: 60000 }, async () => {
  await ok(['mount', mp, '--pool', 'tank', '--cont', 'm', '--allow-other'], { env });
  assert.ok(isMounted(mp));
  try {
    const fifo = path.join(mp, 'pipe');
    run('mkfifo', ['-m', '0640', fifo]);
    assert.equal(statOf(fifo), 'fifo 640 0,0');
    // A reader process and a writer process, each opening the FIFO by its path on the mount.
    const payload = 'line one\nline two through the mount\n'.repeat(2000); // more than a pipe's buffer
    const reader = proc('cat', [fifo]);
    const writer = proc('/usr/bin/python3', ['-c', 'import sys; open(sys.argv[1], "w").write(sys.argv[2])', fifo, payload]);
    const [r, w] = await Promise.all([reader, writer]);
    assert.equal(w.status, 0, w.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, payload);
    assert.equal(fs.statSync(fifo).size, 0, 'the data went through the kernel pipe, not into DFS');
    bindSocket(path.join(mp, 'sock'));
    assert.equal(statOf(path.join(mp, 'sock')), 'socket 755 0,0');
    run('mknod', ['-m', '0620', path.join(mp, 'tty'), 'c', '4', '64']);
    assert.equal(statOf(path.join(mp, 'tty')), 'character special file 620 4,40');
    const ls = spawnSync('ls', ['-l', mp], { encoding: 'utf8' }).stdout;
    assert.match(ls, /^prw-r----- .* pipe$/m);
    assert.match(ls, /^srwxr-xr-x .* sock$/m);
    assert.match(ls, /^crw--w---- .* 4, 64 .* tty$/m);
  } finally {
    umountQuiet(mp);
  }
  // What the mount made is in the container: fs ls -l and fs stat show it as ls and stat do.
  const l = (await ok(['fs', 'ls', '-l', 'daos://tank/m'], { env })).stdout;
  assert.match(l, /^prw-r----- +1 root +root +0 .* pipe$/m);
  assert.match(l, /^srwxr-xr-x +1 root +root +0 .* sock$/m);
  assert.match(l, /^crw--w---- +1 root +root +4, 64 .* tty$/m);
  const st = (await ok(['fs', 'stat', 'daos://tank/m/tty'], { env })).stdout;
  assert.match(st, /Type: character device .*Device type: 4,64/);
  assert.match(st, /Mode: \(0620\/crw--w----\)/);
  const j = JSON.parse((await ok(['fs', 'stat', '--json', 'daos://tank/m/tty'], { env })).stdout);
  assert.equal(j.type, 'chr');
  assert.equal(j.mode, '020620');
  assert.deepEqual([j.rdevMajor, j.rdevMinor], [4, 64]);
  assert.equal(JSON.parse((await ok(['fs', 'stat', '--json', 'daos://tank/m/pipe'], { env })).stdout).type, 'fifo');
  // Their data cannot be read from the container (it never held any).
  const cat = await cli(['fs', 'cat', 'daos://tank/m/pipe'], { env });
  assert.equal(cat.code, 1);
  assert.match(cat.stderr, /^strata: .*pipe: is a FIFO, which holds no data/m);
  assert.match((await ok(['pool', 'check'], { env })).stdout, /0 problem/);
});

test('an unprivileged user cannot make a device through the mount (EPERM, as in a local directory) but can make a FIFO and a socket', { skip, timeout: 60000 }, async () => {
  await ok(['mount', mp, '--pool', 'tank', '--cont', 'm', '--allow-other'], { env });
  try {
    const local = userDir(home, 'local-user', user);
    const there = path.join(mp, 'user');
    fs.mkdirSync(there);
    fs.chownSync(there, user.uid, user.gid);
    for (const dir of [local, there]) {
      const dev = runAs(user, 'mknod', [path.join(dir, 'null'), 'c', '1', '3']);
      assert.notEqual(dev.status, 0, `${dir}: a device made by a user`);
      assert.match(dev.stderr, /Operation not permitted/, dir);
      assert.equal(fs.existsSync(path.join(dir, 'null')), false, `${dir}: nothing made`);
      const fifo = runAs(user, 'mkfifo', [path.join(dir, 'p')]);
      assert.equal(fifo.status, 0, `${dir}: ${fifo.stderr}`);
      bindSocket(path.join(dir, 's'), user);
      const st = fs.statSync(path.join(dir, 'p'));
      assert.ok(st.isFIFO() && st.uid === user.uid, `${dir}: the user's FIFO`);
      assert.ok(fs.lstatSync(path.join(dir, 's')).isSocket(), `${dir}: the user's socket`);
    }
  } finally {
    umountQuiet(mp);
  }
});

test('fs copy of FIFOs, devices and sockets into a container and back, and POSIX to POSIX, reproduces them; compare sees rdev and type', { skip, timeout: 120000 }, async () => {
  const src = path.join(home, 'src');
  fs.mkdirSync(path.join(src, 'dev'), { recursive: true });
  run('mkfifo', ['-m', '0640', path.join(src, 'fifo')]);
  fs.linkSync(path.join(src, 'fifo'), path.join(src, 'dev', 'fifo-link'));
  run('mknod', ['-m', '0666', path.join(src, 'dev', 'null'), 'c', '1', '3']);
  run('mknod', ['-m', '0660', path.join(src, 'dev', 'loop'), 'b', '7', '300']);
  bindSocket(path.join(src, 'sock'));
  fs.chmodSync(path.join(src, 'sock'), 0o700);
  fs.writeFileSync(path.join(src, 'plain'), 'data\n');
  const old = new Date('2001-02-03T04:05:06Z');
  fs.utimesSync(path.join(src, 'dev', 'null'), old, old);
  const names = ['fifo', 'dev/fifo-link', 'dev/null', 'dev/loop', 'sock', 'plain'];
  const want = names.map((n) => `${n} ${statOf(path.join(src, n))}`);
  assert.deepEqual(want.slice(0, 5), [
    'fifo fifo 640 0,0', 'dev/fifo-link fifo 640 0,0', 'dev/null character special file 666 1,3', 'dev/loop block special file 660 7,12c', 'sock socket 700 0,0',
  ]);

  const r1 = JSON.parse((await ok(['fs', 'copy', '--src', src, '--dst', 'daos://tank/sp', '--json'], { env })).stdout);
  assert.equal(r1.errors, 0);
  assert.equal(r1.specials, 4, 'the FIFO, both devices and the socket (the second FIFO name is a hard link)');
  assert.equal(r1.hardlinks, 1);
  assert.equal(r1.files, 1);
  const ls = (await ok(['fs', 'ls', '-l', 'daos://tank/sp/dev'], { env })).stdout;
  assert.match(ls, /^brw-rw---- +1 root +root +7, 300 .* loop$/m);
  assert.match(ls, /^crw-rw-rw- +1 root +root +1, 3 2001-02-03 04:05:06 null$/m);
  assert.match(ls, /^prw-r----- +2 root +root +0 .* fifo-link$/m);
  assert.equal((await ok(['fs', 'compare', src, 'daos://tank/sp'], { env })).code, 0);

  const back = path.join(home, 'back');
  const r2 = JSON.parse((await ok(['fs', 'copy', '--src', 'daos://tank/sp', '--dst', back, '--json'], { env })).stdout);
  assert.equal(r2.errors, 0);
  assert.deepEqual(names.map((n) => `${n} ${statOf(path.join(back, n))}`), want);
  assert.equal(fs.statSync(path.join(back, 'fifo')).ino, fs.statSync(path.join(back, 'dev/fifo-link')).ino, 'the hard link stays one');
  assert.equal(fs.statSync(path.join(back, 'dev/null')).mtime.getTime(), old.getTime());
  assert.equal((await ok(['fs', 'compare', src, back], { env })).code, 0);

  // Container to container.
  await ok(['fs', 'copy', '--src', 'daos://tank/sp', '--dst', 'daos://tank/sp2'], { env });
  assert.equal((await ok(['fs', 'compare', src, 'daos://tank/sp2'], { env })).code, 0);

  const copy = path.join(home, 'posix-copy');
  await ok(['fs', 'copy', '--src', src, '--dst', copy], { env });
  assert.deepEqual(names.map((n) => `${n} ${statOf(path.join(copy, n))}`), want);
  // A second sync finds nothing to do; a changed device number is a difference, and sync replaces it.
  assert.match((await ok(['fs', 'sync', '--src', `${src}/`, '--dst', 'daos://tank/sp'], { env })).stderr, /0 errors, 6 unchanged/);
  fs.rmSync(path.join(copy, 'dev/null'));
  run('mknod', ['-m', '0666', path.join(copy, 'dev/null'), 'c', '1', '5']);
  fs.utimesSync(path.join(copy, 'dev', 'null'), old, old);
  fs.rmSync(path.join(copy, 'sock'));
  run('mkfifo', ['-m', '0700', path.join(copy, 'sock')]);
  const cmp = await cli(['fs', 'compare', '--json', copy, 'daos://tank/sp'], { env });
  assert.equal(cmp.code, 1);
  const diffs = (JSON.parse(cmp.stdout) as { differenceList: Array<{ path: string; what: string; a?: string; b?: string }> }).differenceList;
  const got = diffs.map((d) => `${d.path} ${d.what} ${d.a} ${d.b}`).sort();
  assert.deepEqual(got, ['dev/null rdev 1, 5 1, 3', 'sock type fifo sock']);
  const s = await ok(['fs', 'sync', '--src', `${copy}/`, '--dst', 'daos://tank/sp'], { env });
  assert.match(s.stderr, /2 special files/);
  assert.equal((await ok(['fs', 'compare', copy, 'daos://tank/sp'], { env })).code, 0);
  assert.match((await ok(['pool', 'check'], { env })).stdout, /0 problem/);
});

test('a copy by a user who is not root: devices reported (EPERM, exit 1), FIFOs and sockets made, as cp -a', { skip, timeout: 60000 }, async () => {
  const src = path.join(home, 'src');
  const dst = path.join(userDir(home, 'user-out', user), 'copy');
  const uenv = { STRATA_HOME: path.join(userDir(home, 'user-home', user), 'engine'), STRATA_ENGINE: '' };
  const r = await cli(['fs', 'copy', '--src', src, '--dst', dst], { env: uenv, as: user });
  assert.equal(r.code, 1, r.stderr);
  const errs = r.stderr.split('\n').filter((l) => l.startsWith('strata: '));
  assert.equal(errs.length, 3, r.stderr);
  assert.match(r.stderr, /dev\/null: .*EPERM/);
  assert.match(r.stderr, /dev\/loop: .*EPERM/);
  assert.equal(fs.existsSync(path.join(dst, 'dev/null')), false);
  assert.ok(fs.statSync(path.join(dst, 'fifo')).isFIFO());
  assert.ok(fs.lstatSync(path.join(dst, 'sock')).isSocket());
  assert.equal(fs.statSync(path.join(dst, 'fifo')).uid, user.uid);
  // cp -a as the same user: the same entries made, the same devices refused.
  const cp = runAs(user, 'cp', ['-a', src, path.join(home, 'user-out', 'cp')]);
  assert.equal(cp.status, 1);
  assert.match(cp.stderr, /cannot create special file/);
  assert.deepEqual(fs.readdirSync(path.join(home, 'user-out', 'cp')).sort(), fs.readdirSync(dst).sort());
});

test('parking (serialize, deserialize) and container clone carry FIFOs, devices and sockets; pool check accepts them', { skip, timeout: 120000 }, async () => {
  const src = path.join(home, 'park-src');
  fs.mkdirSync(src);
  run('mkfifo', ['-m', '0600', path.join(src, 'fifo')]);
  run('mknod', ['-m', '0644', path.join(src, 'zero'), 'c', '1', '5']);
  run('mknod', ['-m', '0640', path.join(src, 'nvme'), 'b', '259', '70000']);
  bindSocket(path.join(src, 'sock'));
  await ok(['fs', 'copy', '--src', `${src}/`, '--dst', 'daos://tank/pk'], { env });
  await ok(['pool', 'create', 'other'], { env });
  const out = path.join(home, 'parked');
  const ser = JSON.parse((await ok(['container', 'serialize', 'tank', 'pk', '--output-path', out, '--json'], { env })).stdout) as { files: string[] };
  await ok(['container', 'deserialize', 'other', ...ser.files], { env });
  await ok(['container', 'clone', '--src', 'daos://tank/pk', '--dst', 'daos://other/cloned'], { env });
  const digest = async (pool: string, cont: string) => JSON.parse((await ok(['container', 'check', pool, cont, '--json'], { env })).stdout).digest as string;
  const d0 = await digest('tank', 'pk');
  assert.equal(await digest('other', 'pk'), d0, 'unparked: the same records (the rdev akey among them)');
  assert.equal(await digest('other', 'cloned'), d0, 'cloned: the same records');
  for (const where of ['daos://other/pk', 'daos://other/cloned']) {
    const ls = (await ok(['fs', 'ls', '-l', where], { env })).stdout;
    assert.match(ls, /^prw------- .* 0 .* fifo$/m, where);
    assert.match(ls, /^crw-r--r-- .* 1, 5 .* zero$/m, where);
    assert.match(ls, /^brw-r----- .* 259, 70000 .* nvme$/m, where);
    assert.match(ls, /^srwxr-xr-x .* 0 .* sock$/m, where);
    // And back out to a local directory: the same device numbers as the source.
    const back = path.join(home, `back-${path.basename(where)}`);
    await ok(['fs', 'copy', '--src', `${where}/`, '--dst', back], { env });
    for (const n of ['fifo', 'zero', 'nvme', 'sock']) assert.equal(statOf(path.join(back, n)), statOf(path.join(src, n)), `${where} ${n}`);
  }
  assert.match((await ok(['pool', 'check'], { env })).stdout, /0 problem/);
});

test('write-back mount: a hard link made right after its file (or FIFO) is created shows nlink 2 at once', { skip, timeout: 60000 }, async () => {
  // The link waits for the pending create's commit, which leaves the inode's attributes (nlink 1) in the
  // daemon's cache; the link's reply must not answer from it.
  await ok(['mount', mp, '--pool', 'tank', '--cont', 'm', '--write-back'], { env });
  try {
    fs.mkdirSync(path.join(mp, 'wb'));
    const r = spawnSync('/usr/bin/python3', ['-c', `
import os, stat, sys
d = sys.argv[1]
fd = os.open(d + '/f', os.O_CREAT | os.O_WRONLY, 0o644); os.close(fd)
os.link(d + '/f', d + '/g')
os.mknod(d + '/p', stat.S_IFIFO | 0o644)
os.link(d + '/p', d + '/q')
print(os.lstat(d + '/f').st_nlink, os.lstat(d + '/g').st_nlink, os.lstat(d + '/p').st_nlink, os.lstat(d + '/q').st_nlink)
`, path.join(mp, 'wb')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '2 2 2 2');
  } finally {
    umountQuiet(mp);
  }
});

test('deserialize by a user who is not root refuses a parking file holding a device (one line, EPERM, no container); FIFOs and sockets load', { skip, timeout: 120000 }, async () => {
  // A shared engine the user may create containers in; a parking file whose
  // POSIX container holds a device the user owns, mode 0666 (as a user can
  // craft one, or serialize it from anywhere root made it). Loaded, a `--dev`
  // mount would give the user the device (here /dev/mem's number).
  const { sharedHome, labelsOf } = await import('../security/util.js');
  const { dir, env: senv } = sharedHome('strata-special-park-', user.gid);
  await ok(['pool', 'create', 'tank'], { env: senv });
  await ok(['pool', 'update-acl', 'tank', '--entry', `A::${user.name}@:rw`], { env: senv });
  const src = path.join(dir, 'tree');
  fs.mkdirSync(src);
  run('mkfifo', ['-m', '0600', path.join(src, 'fifo')]);
  run('mknod', ['-m', '0666', path.join(src, 'mem'), 'c', '1', '1']);
  fs.chownSync(path.join(src, 'mem'), user.uid, user.gid);
  await ok(['fs', 'copy', '--src', `${src}/`, '--dst', 'daos://tank/devs'], { env: senv });
  const out = path.join(dir, 'parked');
  const files = (JSON.parse((await ok(['container', 'serialize', 'tank', 'devs', '--output-path', out, '--json'], { env: senv })).stdout) as { files: string[] }).files;
  const r = await cli(['container', 'deserialize', 'tank', ...files, '--label', 'mine'], { env: senv, as: user });
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(r.code, 1, r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^strata: .*_rank0\.h5: .*only root may create a device/);
  assert.deepEqual(await labelsOf(senv, 'tank'), ['devs'], 'no container made');
  // Without the device the same user loads the rest.
  await ok(['fs', 'rm', 'daos://tank/devs/mem'], { env: senv });
  const again = (JSON.parse((await ok(['container', 'serialize', 'tank', 'devs', '--output-path', path.join(dir, 'parked2'), '--json'], { env: senv })).stdout) as { files: string[] }).files;
  await ok(['container', 'deserialize', 'tank', ...again, '--label', 'mine'], { env: senv, as: user });
  assert.match((await ok(['fs', 'ls', '-l', 'daos://tank/mine'], { env: senv })).stdout, /^prw------- .* fifo$/m);
  assert.match((await ok(['pool', 'check'], { env: senv })).stdout, /0 problem/);
});
