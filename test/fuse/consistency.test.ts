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
