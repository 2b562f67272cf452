// The mount's consistency model (docs/fuse.md): by default a file closed
// through the mount is committed, whole and with its attributes, when close
// returns (another process reading the engine sees it at once); suid/sgid
// are cleared on chown and on a write by a non-root caller (HANDLE_KILLPRIV).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { runCli, tempDir } from '../helpers.js';

const canFuse = fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
const home = tempDir('strata-fuse-cons-');
const env = { STRATA_HOME: home, STRATA_ENGINE: '' };
const mp = path.join(home, 'mnt');
let mounted = false;

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args, { env });
  assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function sh(script: string): string {
  const r = spawnSync('bash', ['-c', script], { env: { ...process.env, MP: mp }, encoding: 'utf8' });
  assert.equal(r.status, 0, `script failed:\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  if (!canFuse) return;
  fs.mkdirSync(mp);
  await cli(['pool', 'create', 'tank']);
  const acl = path.join(home, 'acl');
  fs.writeFileSync(acl, 'A::OWNER@:rwdtTaAo\nA:G:GROUP@:rwtT\nA::EVERYONE@:rw\n');
  await cli(['container', 'create', 'tank', 'data', '--acl-file', acl]);
  await cli(['mount', mp, '--pool', 'tank', '--cont', 'data', '--allow-other']);
  mounted = true;
});

after(() => {
  if (mounted) {
    spawnSync('umount', [mp], { stdio: 'ignore' });
    spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
});

test('close-to-open: files closed through the mount are in the engine, whole, with their attributes', { skip: !canFuse && 'needs root and /dev/fuse' }, async () => {
  const src = path.join(home, 'src');
  fs.mkdirSync(path.join(src, 'd'), { recursive: true });
  const blobs: Buffer[] = [];
  for (let i = 0; i < 20; i++) {
    const b = crypto.randomBytes(i * 997);
    blobs.push(b);
    fs.writeFileSync(path.join(src, 'd', `f${i}`), b);
    fs.chmodSync(path.join(src, 'd', `f${i}`), 0o640);
    fs.utimesSync(path.join(src, 'd', `f${i}`), 1_600_000_000, 1_600_000_000 + i);
  }
  // tar x then, right after it returns, another process reads the engine (no fsync, no unmount).
  sh(`tar cf "$MP/../t.tar" -C "${src}" . && mkdir "$MP/x" && tar xf "$MP/../t.tar" -C "$MP/x"`);
  for (let i = 0; i < 20; i++) {
    const got = path.join(home, `got${i}`);
    await cli(['fs', 'get', `daos://tank/data/x/d/f${i}`, got]);
    assert.ok(fs.readFileSync(got).equals(blobs[i]!), `f${i} whole`);
    const st = JSON.parse(await cli(['fs', 'stat', '--json', `daos://tank/data/x/d/f${i}`])) as { perm: string; mtimeNs: string };
    assert.equal(st.perm, '0640', `f${i} mode`);
    assert.equal(st.mtimeNs, String((1_600_000_000 + i) * 1e9), `f${i} mtime`);
  }
});

test('suid and sgid are cleared on chown and on a write by a non-root caller', { skip: !canFuse && 'needs root and /dev/fuse' }, () => {
  fs.chmodSync(home, 0o755); // nobody must reach the mountpoint
  const f = path.join(mp, 'suid');
  fs.writeFileSync(f, 'x');
  fs.chmodSync(f, 0o6755);
  assert.equal(fs.statSync(f).mode & 0o7777, 0o6755);
  fs.chownSync(f, 0, 0);
  assert.equal(fs.statSync(f).mode & 0o7777, 0o755, 'chown clears suid and sgid (group-executable)');
  fs.chmodSync(f, 0o4777);
  // A write by another user (nobody) through a world-writable suid file.
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', `echo y >> '${f}'`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.statSync(f).mode & 0o7777, 0o777, 'a write without CAP_FSETID clears suid');
  fs.chmodSync(f, 0o4755);
  fs.appendFileSync(f, 'z');
  assert.equal(fs.statSync(f).mode & 0o7777, 0o4755, 'root (CAP_FSETID) keeps suid on write');
});

test('--write-back: close answers before the commit; the files reach the engine whole within moments, and all of them on unmount', { skip: !canFuse && 'needs root and /dev/fuse' }, async () => {
  const mp2 = path.join(home, 'mnt-wb');
  fs.mkdirSync(mp2);
  await cli(['container', 'create', 'tank', 'wb']);
  await cli(['mount', mp2, '--pool', 'tank', '--cont', 'wb', '--write-back']);
  try {
    const blobs = Array.from({ length: 50 }, (_, i) => crypto.randomBytes(100 + i * 37));
    fs.mkdirSync(path.join(mp2, 'd'));
    blobs.forEach((b, i) => fs.writeFileSync(path.join(mp2, 'd', `f${i}`), b));
    // Visible inside the mount at once.
    assert.deepEqual(fs.readFileSync(path.join(mp2, 'd', 'f49')), blobs[49]);
    // In the engine within a bounded time (the batch follows the replies).
    const t0 = Date.now();
    for (;;) {
      const r = await runCli(['fs', 'ls', 'daos://tank/wb/d'], { env });
      if (r.code === 0 && r.stdout.trim().split('\n').length === 50) break;
      assert.ok(Date.now() - t0 < 10_000, `all 50 files in the engine within 10 s: ${r.stdout}${r.stderr}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  } finally {
    spawnSync('umount', [mp2], { stdio: 'ignore' });
    spawnSync('umount', ['-l', mp2], { stdio: 'ignore' });
  }
  for (const i of [0, 17, 49]) {
    const got = path.join(home, `wb${i}`);
    await cli(['fs', 'get', `daos://tank/wb/d/f${i}`, got]);
    assert.equal(fs.readFileSync(got).length, 100 + i * 37, `f${i} whole`);
  }
});

test('--write-back: a chmod of a new file while its creation commits is what the next stat shows', { skip: !canFuse && 'needs root and /dev/fuse' }, async () => {
  const mp3 = path.join(home, 'mnt-wb-chmod');
  fs.mkdirSync(mp3);
  await cli(['container', 'create', 'tank', 'wbc']);
  await cli(['mount', mp3, '--pool', 'tank', '--cont', 'wbc', '--write-back']);
  try {
    // Each file: created and closed (its creation queued), then two chmods; the
    // second often arrives while the creation is being committed.
    const wrong: string[] = [];
    for (let i = 0; i < 40; i++) {
      const f = path.join(mp3, `f${i}`);
      fs.writeFileSync(f, '');
      fs.chmodSync(f, 0o644);
      fs.chmodSync(f, 0o600);
      const m = fs.statSync(f).mode & 0o7777;
      if (m !== 0o600) wrong.push(`f${i}: ${m.toString(8)}`);
    }
    assert.deepEqual(wrong, [], 'every stat shows the last chmod');
  } finally {
    spawnSync('umount', [mp3], { stdio: 'ignore' });
    spawnSync('umount', ['-l', mp3], { stdio: 'ignore' });
  }
});

test('a file another client removes while the mount writes it: the writer gets an error, nothing is revived, pool check stays clean', { skip: !canFuse && 'needs root and /dev/fuse' }, async () => {
  const f = path.join(mp, 'removed-while-written');
  fs.writeFileSync(f, 'start\n');
  const fd = fs.openSync(f, 'r+');
  let failure: NodeJS.ErrnoException | undefined;
  try {
    fs.writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 0);
    fs.fsyncSync(fd);
    await cli(['fs', 'rm', 'daos://tank/data/removed-while-written']);
    try {
      fs.writeSync(fd, Buffer.alloc(100 * 1024, 2), 0, 100 * 1024, 4096);
      fs.fsyncSync(fd);
    } catch (e) {
      failure = e as NodeJS.ErrnoException;
    }
  } finally {
    try { fs.closeSync(fd); } catch (e) { failure ??= e as NodeJS.ErrnoException; }
  }
  assert.ok(failure, 'the write, fsync or close reports that the file is gone');
  assert.equal(failure.errno, -116, `ESTALE (${String(failure)})`); // libuv has no name for ESTALE
  const r = await runCli(['pool', 'check', '--pool', 'tank'], { env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /POSIX container\(s\), \d+ inodes: 0 problem\(s\)/);
});

test('ownership rules through the mount for a caller that is not root: chown, chgrp, chmod, setgid, times', { skip: !canFuse && 'needs root and /dev/fuse' }, () => {
  fs.chmodSync(home, 0o755);
  const nobody = (script: string) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', script], { encoding: 'utf8' });
  const refused = (script: string) => {
    const r = nobody(script);
    assert.notEqual(r.status, 0, `${script} should be refused`);
    assert.match(r.stderr, /Operation not permitted/, script);
  };
  const dir = path.join(mp, 'shared');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o777);
  const mine = path.join(dir, 'nobody-owns');
  let r = nobody(`cp /usr/bin/id '${mine}' && chmod 0755 '${mine}'`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual([fs.statSync(mine).uid, fs.statSync(mine).gid], [65534, 65534]);
  refused(`chown 0:0 '${mine}'`);
  refused(`chown 0 '${mine}'`);
  refused(`chgrp 0 '${mine}'`);
  r = nobody(`chmod 4755 '${mine}' && chown 65534:65534 '${mine}'`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.statSync(mine).mode & 0o7777, 0o755, 'its own chown clears the suid it set');
  refused(`chmod 4755 '${mine}' && chown 0:0 '${mine}'`);
  assert.equal(fs.statSync(mine).uid, 65534, 'never owned by root');
  // Someone else's file, writable by all: no chmod, no explicit times, but touch (now) works.
  const theirs = path.join(dir, 'root-owns');
  fs.writeFileSync(theirs, 'x');
  fs.chmodSync(theirs, 0o666);
  refused(`chmod 4777 '${theirs}'`);
  refused(`touch -d '2001-01-01 00:00' '${theirs}'`);
  r = nobody(`touch '${theirs}'`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.statSync(theirs).mode & 0o7777, 0o666);
  // setgid on a file of a group the caller is not in is dropped.
  fs.chownSync(mine, 65534, 0);
  r = nobody(`chmod 2755 '${mine}'`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.statSync(mine).mode & 0o7777, 0o755);
  // What the daemon committed agrees (the kernel's view could be its own cache).
  fs.chownSync(mine, 65534, 65534);
  r = nobody(`chmod 2755 '${mine}'`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.statSync(mine).mode & 0o7777, 0o2755);
});

test('an open with O_TRUNC by a caller that is not root clears suid, as a truncate does', { skip: !canFuse && 'needs root and /dev/fuse' }, () => {
  fs.chmodSync(home, 0o755);
  const f = path.join(mp, 'suid-trunc');
  fs.writeFileSync(f, 'some bytes');
  fs.chmodSync(f, 0o4777);
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', `: > '${f}'`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.statSync(f).size, 0);
  assert.equal(fs.statSync(f).mode & 0o7777, 0o777, 'suid cleared by the truncate');
});
