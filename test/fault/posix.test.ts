// Faults around `fs copy`: unreadable source files (EACCES, as an unprivileged
// user), a full engine home and a full destination (small tmpfs), and the FUSE
// mount being read killed. Each: the rest is copied, every failure is reported
// on its own line, the exit status is non-zero, nothing already copied is
// lost, pool check passes, and `--resume` completes an identical copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, runCli, tempDir } from '../helpers.js';
import { poolCheck, spawnCli, diffR, abortFuse } from '../crash/util.js';
import { inject, makeSource, remount, reportFaults, root, withTmpfs } from './util.js';

const NOBODY = 65534;

function fresh(name: string): { home: string; env: Record<string, string>; src: string } {
  const home = tempDir(`strata-fault-${name}-`);
  fs.chmodSync(home, 0o755);
  return { home, env: { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' }, src: path.join(home, 'src') };
}

async function ok(env: Record<string, string>, args: string[], o: { uid?: number; gid?: number } = {}) {
  const r = await runCli(args, { env, ...o });
  assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  return r;
}

test('EACCES on some source files: the rest is copied, each reported, exit 1; --resume after chmod completes', { skip: !root && 'needs root (to act as an unprivileged user)' }, async () => {
  const { home, env, src } = fresh('eacces');
  makeSource(src, { dirs: 4, files: 15 });
  fs.writeFileSync(path.join(src, 'd1/text'), 'readable\n');
  const denied = ['d0/f3', 'd1/f7', 'd3/f14'];
  for (const f of denied) fs.chmodSync(path.join(src, f), 0);
  fs.mkdirSync(path.join(src, 'd2/locked'));
  fs.writeFileSync(path.join(src, 'd2/locked/inside'), 'x');
  fs.chmodSync(path.join(src, 'd2/locked'), 0);
  inject(denied.length + 1);
  fs.mkdirSync(env.STRATA_HOME);
  fs.chownSync(env.STRATA_HOME, NOBODY, NOBODY);
  const as = { uid: NOBODY, gid: NOBODY };
  await ok(env, ['pool', 'create', 'tank'], as);
  const r = await runCli(['fs', 'copy', '--src', src, '--dst', 'daos://tank/c'], { env, ...as });
  assert.equal(r.code, 1, r.stderr);
  for (const f of [...denied, 'd2/locked']) assert.match(r.stderr, new RegExp(`^strata: .*${f}: .*permission denied`, 'm'), r.stderr);
  assert.match(r.stderr, /4 errors/);
  // Everything else is there.
  assert.equal((await runCli(['fs', 'cat', 'daos://tank/c/d1/text'], { env, ...as })).stdout, 'readable\n');
  assert.match((await runCli(['fs', 'ls', 'daos://tank/c/d3'], { env, ...as })).stdout, /f13/);
  for (const f of denied) assert.notEqual((await runCli(['fs', 'stat', `daos://tank/c/${f}`], { env, ...as })).code, 0);
  await poolCheck(env, 'EACCES copy');
  for (const f of denied) fs.chmodSync(path.join(src, f), 0o644);
  fs.chmodSync(path.join(src, 'd2/locked'), 0o755);
  const r2 = await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c', '--resume', '--json'], as);
  assert.equal(JSON.parse(r2.stdout).errors, 0);
  const cmp = await runCli(['fs', 'compare', src, 'daos://tank/c'], { env, ...as });
  assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
  void home;
});

test('full engine home (small tmpfs): the copy stops with ENOSPC, pool check passes, --resume completes after space is freed', { skip: !root && 'needs root to mount a tmpfs' }, async () => {
  const { home, env, src } = fresh('fullhome');
  makeSource(src, { dirs: 4, files: 10, big: 3 * 1024 * 1024 });
  await withTmpfs(env.STRATA_HOME, '7m', async () => {
    await ok(env, ['pool', 'create', 'tank']);
    inject();
    const r = await runCli(['fs', 'copy', '--src', src, '--dst', 'daos://tank/c'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^strata: .*no space left on device/im);
    assert.match(r.stderr, /--resume/);
    await poolCheck(env, 'full engine home');
    remount(env.STRATA_HOME, '64m');
    const r2 = await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c', '--resume', '--json']);
    assert.equal(JSON.parse(r2.stdout).errors, 0);
    const cmp = await runCli(['fs', 'compare', src, 'daos://tank/c'], { env });
    assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
    await poolCheck(env, 'full engine home, resumed');
  });
  void home;
});

test('full engine index (many small files, small tmpfs): two lines, no stall, --resume completes after space is freed', { skip: !root && 'needs root to mount a tmpfs' }, async () => {
  const { env, src } = fresh('fullindex');
  makeSource(src, { dirs: 30, files: 24 }); // small files: their bytes go into the index itself
  await withTmpfs(env.STRATA_HOME, '4m', async () => {
    await ok(env, ['pool', 'create', 'tank']);
    inject();
    const r = await runCli(['fs', 'copy', '--src', src, '--dst', 'daos://tank/c'], { env });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0]!, /^strata: .*no space left on device/i, r.stderr);
    assert.match(lines[lines.length - 1]!, /^strata: copy stopped: .*no space left on device.*--resume/i, r.stderr);
    assert.ok(lines.length <= 3, `the full disk is said once, not once per file in flight:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /^Error|stopped before finishing/m, r.stderr);
    await poolCheck(env, 'full engine index');
    remount(env.STRATA_HOME, '64m');
    const r2 = await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c', '--resume', '--json']);
    assert.equal(JSON.parse(r2.stdout).errors, 0);
    const cmp = await runCli(['fs', 'compare', src, 'daos://tank/c'], { env });
    assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
    await poolCheck(env, 'full engine index, resumed');
  });
});

test('full destination (container -> small tmpfs): ENOSPC stops the copy, --resume completes after space is freed', { skip: !root && 'needs root to mount a tmpfs' }, async () => {
  const { home, env, src } = fresh('fulldst');
  makeSource(src, { dirs: 4, files: 10, big: 2 * 1024 * 1024 });
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c', '-q']);
  const mnt = path.join(home, 'small');
  await withTmpfs(mnt, '5m', async () => {
    const dst = path.join(mnt, 'out');
    inject();
    const r = await runCli(['fs', 'copy', '--src', 'daos://tank/c', '--dst', dst], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no space left on device \(ENOSPC\)/);
    remount(mnt, '64m');
    await ok(env, ['fs', 'copy', '--src', 'daos://tank/c', '--dst', dst, '--resume']);
    diffR(src, dst);
    assert.deepEqual(fs.readdirSync(dst).filter((n) => n.startsWith('.strata-tmp')), []);
  });
  await poolCheck(env, 'full destination');
});

function mounted(mp: string): boolean {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mp);
}
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 3000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the FUSE mount being copied from is killed: clear errors, exit non-zero, nothing lost; --resume completes after a remount', { skip: !(root && fs.existsSync('/dev/fuse')) && 'needs root and /dev/fuse', timeout: 300000 }, async () => {
  const { home, env, src } = fresh('fuse');
  makeSource(src, { dirs: 6, files: 60, big: 300000 });
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/full', '-q']);
  const mp = path.join(home, 'mnt');
  fs.mkdirSync(mp);
  const start = async () => {
    const d = spawn(process.execPath, [CLI, 'mount', mp, '--pool', 'tank', '--cont', 'full', '--foreground'], { env: { ...process.env, ...env, UV_THREADPOOL_SIZE: '32' }, stdio: 'ignore' });
    await waitFor(() => mounted(mp) || d.exitCode !== null, 'the mount');
    assert.ok(mounted(mp), 'mounted');
    return d;
  };
  let d = await start();
  try {
    const p = spawnCli(['fs', 'copy', '--src', mp, '--dst', 'daos://tank/back', '-j', '2'], env);
    const jdir = path.join(env.STRATA_HOME, 'mover');
    let killed = false;
    for (let i = 0; i < 6000 && !killed && p.child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const j = fs.existsSync(jdir) ? fs.readdirSync(jdir).find((n) => n.endsWith('.journal')) : undefined;
      if (j && fs.readFileSync(path.join(jdir, j), 'utf8').split('\n').length > 40) { d.kill('SIGKILL'); killed = true; inject(); }
    }
    // A daemon that does not finish dying is stuck on its own mount: abort the connection.
    if (killed && !(await Promise.race([new Promise((res) => d.on('exit', () => res(true))), new Promise((res) => setTimeout(() => res(false), 3000))]))) abortFuse(mp);
    {
    }
    assert.ok(killed, `the copy was still running: ${p.out()}`);
    const hang = setTimeout(() => p.child.kill('SIGKILL'), 120000);
    const code = await p.exited;
    clearTimeout(hang);
    assert.equal(code, 1, p.out());
    assert.match(p.out(), /^strata: .*(not connected|ENOTCONN|connection abort|ECONNABORTED)/m, p.out());
    spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
    await waitFor(() => !mounted(mp), 'the detach');
    await poolCheck(env, 'FUSE source killed');
    d = await start();
    const r2 = await ok(env, ['fs', 'copy', '--src', mp, '--dst', 'daos://tank/back', '--resume', '--json']);
    assert.equal(JSON.parse(r2.stdout).errors, 0);
    const cmp = await runCli(['fs', 'compare', src, 'daos://tank/back', '--xattrs', 'none'], { env });
    assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
  } finally {
    if (d.exitCode === null) { d.kill('SIGKILL'); abortFuse(mp); }
    spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
  await poolCheck(env, 'FUSE source, resumed');
  reportFaults('posix');
});

test('EIO on some source files (a FUSE mount of strata whose extent file is truncated underneath): the rest is copied, each reported, exit 1; pool check names the damage; --resume completes once the bytes are back', { skip: !(root && fs.existsSync('/dev/fuse')) && 'needs root and /dev/fuse', timeout: 300000 }, async () => {
  const { home, env, src } = fresh('eio');
  fs.mkdirSync(src);
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(src, `big${i}`), Buffer.alloc(300000, i + 1));
  fs.writeFileSync(path.join(src, 'small'), 'small\n');
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c', '-q']);
  const extDir = path.join(env.STRATA_HOME, 'extents');
  const exts = fs.readdirSync(extDir).filter((n) => n.endsWith('.ext'));
  assert.equal(exts.length, 1);
  const ext = path.join(extDir, exts[0]!);
  fs.copyFileSync(ext, path.join(home, 'ext.bak'));
  const mp = path.join(home, 'mnt');
  fs.mkdirSync(mp);
  const d = spawn(process.execPath, [CLI, 'mount', mp, '--pool', 'tank', '--cont', 'c', '--foreground'], { env: { ...process.env, ...env, UV_THREADPOOL_SIZE: '32' }, stdio: 'ignore' });
  try {
    await waitFor(() => mounted(mp) || d.exitCode !== null, 'the mount');
    assert.ok(mounted(mp));
    fs.truncateSync(ext, 1000);
    inject(3);
    const dst = path.join(home, 'out');
    const r = await runCli(['fs', 'copy', '--src', mp, '--dst', dst, '--xattrs', 'none'], { env });
    assert.equal(r.code, 1, r.stderr);
    for (let i = 0; i < 3; i++) assert.match(r.stderr, new RegExp(`^strata: .*big${i}: i/o error \\(EIO\\)`, 'm'), r.stderr);
    assert.match(r.stderr, /3 errors/);
    assert.equal(fs.readFileSync(path.join(dst, 'small'), 'utf8'), 'small\n');
    assert.deepEqual(fs.readdirSync(dst).sort(), ['small']);
    const chk = await runCli(['pool', 'check'], { env });
    assert.equal(chk.code, 1);
    assert.equal(chk.stdout.split('\n').filter((l) => /problem: record .*lies past the end of extent file/.test(l)).length, 3, chk.stdout);
    // The bytes come back (same inode, as a repaired disk would): --resume completes.
    fs.copyFileSync(path.join(home, 'ext.bak'), ext);
    const r2 = await runCli(['fs', 'copy', '--src', mp, '--dst', dst, '--xattrs', 'none', '--resume'], { env });
    assert.equal(r2.code, 0, r2.stderr);
    diffR(src, dst);
    assert.equal((await runCli(['pool', 'check'], { env })).code, 0);
  } finally {
    if (d.exitCode === null) { d.kill('SIGKILL'); abortFuse(mp); }
    spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
  reportFaults('posix');
});
