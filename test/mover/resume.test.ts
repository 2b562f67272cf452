import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, runCli } from '../helpers.js';
import { moverEnv, ok } from './util.js';

const { home, env } = moverEnv();

function fileIds(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.startsWith('.strata-tmp.')) {
        const st = fs.lstatSync(p, { bigint: true });
        out.set(path.relative(root, p), `${st.ino}:${st.ctimeNs}`);
      }
    }
  };
  walk(root);
  return out;
}

test('SIGKILL mid-copy, then --resume: complete, identical, finished files not copied again', async () => {
  const src = path.join(home, 'src');
  const N = 5000;
  for (let d = 0; d < 50; d++) {
    fs.mkdirSync(path.join(src, `d${String(d).padStart(2, '0')}`), { recursive: true });
    for (let f = 0; f < N / 50; f++) fs.writeFileSync(path.join(src, `d${String(d).padStart(2, '0')}`, `f${f}`), `file ${d}/${f}\n`.repeat(100));
  }
  fs.writeFileSync(path.join(src, 'd00/hard-a'), 'hard\n');
  fs.linkSync(path.join(src, 'd00/hard-a'), path.join(src, 'd49/hard-b'));
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/big', '-j', '2', '-q']);

  // Container -> POSIX, killed once some files are done.
  const dst = path.join(home, 'dst');
  const jdir = path.join(env.STRATA_HOME!, 'mover');
  const child = spawn(process.execPath, [CLI, 'fs', 'copy', '--src', 'daos://tank/big', '--dst', dst, '-q'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let killed = false;
  for (let i = 0; i < 3000 && !killed; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const j = fs.existsSync(jdir) ? fs.readdirSync(jdir).find((n) => n.endsWith('.journal')) : undefined;
    if (j && fs.readFileSync(path.join(jdir, j), 'utf8').split('\n').length > 800) { child.kill('SIGKILL'); killed = true; }
  }
  await exited;
  assert.ok(killed, 'the copy was killed mid-way');
  const before = fileIds(dst);
  assert.ok(before.size > 100 && before.size < N, `partial copy (${before.size} files)`);
  // The snapshot taken by the interrupted copy is still there for the resume.
  assert.match((await ok(env, ['container', 'list-snaps', 'tank', 'big'])).stdout, /\d/);
  // Meanwhile the container changes: the resumed copy keeps copying the snapshot.
  await ok(env, ['fs', 'rm', 'daos://tank/big/d49/f0']);

  const r = await ok(env, ['fs', 'copy', '--src', 'daos://tank/big', '--dst', dst, '--resume', '--json']);
  const s = JSON.parse(r.stdout);
  assert.equal(s.resumed, true);
  assert.equal(s.errors, 0);
  // Files in flight at the kill (at most 128 per job) may be finished without their journal line yet.
  const IN_FLIGHT = 128;
  assert.ok(s.skipped >= before.size - IN_FLIGHT, `already finished files skipped (${s.skipped} of ${before.size})`);
  assert.equal(s.files + s.hardlinks + s.skipped, N + 2);
  // Same mapping as the first run (not dst/big), and identical to the source.
  assert.ok(!fs.existsSync(path.join(dst, 'big')));
  assert.equal((await ok(env, ['fs', 'compare', src, dst])).code, 0);
  const after = fileIds(dst);
  let rewritten = 0;
  for (const [p, id] of before) if (after.get(p) !== id) rewritten++;
  assert.ok(rewritten <= IN_FLIGHT, `${rewritten} finished files were copied again`);
  assert.equal(fs.statSync(path.join(dst, 'd00/hard-a')).ino, fs.statSync(path.join(dst, 'd49/hard-b')).ino);
  // Done: journal and snapshot gone.
  assert.deepEqual(fs.readdirSync(jdir).filter((n) => n.endsWith('.journal')), []);
  // The same --resume again (a script re-run, or a run killed after its last file): nothing to do.
  const again = await ok(env, ['fs', 'copy', '--src', 'daos://tank/big', '--dst', dst, '--resume', '--json']);
  assert.match(again.stderr, /already completed/);
  assert.equal(JSON.parse(again.stdout).files, 0);
  assert.ok(!fs.existsSync(path.join(dst, 'big')));
  assert.doesNotMatch((await ok(env, ['container', 'list-snaps', 'tank', 'big'])).stdout, /\d/);
  // --resume with nothing to resume is a fresh copy (into the existing directory, as cp -a).
  const r2 = await ok(env, ['fs', 'copy', '--src', path.join(src, 'd01'), '--dst', dst, '--resume']);
  assert.match(r2.stderr, /no interrupted copy to resume/);
  assert.match(r2.stderr, /^copy: 100 files, 1 directory/m);
});

/** Starts a copy and SIGKILLs it once its journal holds `lines` lines (and `until` matches, if given). */
async function killedCopy(args: string[], extra: Record<string, string>, lines: number, until?: RegExp): Promise<string> {
  const jdir = path.join(env.STRATA_HOME!, 'mover');
  const before = new Set(fs.existsSync(jdir) ? fs.readdirSync(jdir) : []);
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, ...extra }, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  for (let i = 0; i < 3000; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const j = fs.existsSync(jdir) ? fs.readdirSync(jdir).find((x) => x.endsWith('.journal') && !before.has(x)) : undefined;
    const text = j ? fs.readFileSync(path.join(jdir, j), 'utf8') : '';
    if (text.split('\n').length > lines && (!until || until.test(text))) { child.kill('SIGKILL'); await exited; return text; }
  }
  child.kill('SIGKILL');
  await exited;
  throw new Error(`strata ${args.join(' ')} ended before its journal had ${lines} lines`);
}

test('a machine restart after the kill: items not flushed to disk before it are copied again', async () => {
  const src = path.join(home, 'restart-src');
  for (let d = 0; d < 30; d++) {
    fs.mkdirSync(path.join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), `restart ${d}/${f}\n`.repeat(50));
  }
  const bootA = { STRATA_TEST_BOOT_ID: 'boot-a', STRATA_MOVER_CHECKPOINT_MS: '600000' };
  // The same loss twice: killed before any flush to disk, then the files the
  // kernel had not written back come up empty (as after a power cut).
  const lose = (dst: string) => { for (const d of fs.readdirSync(dst)) for (const f of fs.readdirSync(path.join(dst, d))) fs.truncateSync(path.join(dst, d, f), 0); };
  const control = path.join(home, 'restart-same-boot');
  await killedCopy(['fs', 'copy', '--src', src, '--dst', control, '-q'], bootA, 600);
  lose(control);
  // No restart seen (same boot id): finished items are skipped, so the loss stays; this is what the boot id guards against.
  await ok({ ...env, ...bootA }, ['fs', 'copy', '--src', src, '--dst', control, '--resume', '-q']);
  assert.equal((await runCli(['fs', 'compare', src, control], { env })).code, 1);

  const dst = path.join(home, 'restart-new-boot');
  await killedCopy(['fs', 'copy', '--src', src, '--dst', dst, '-q'], bootA, 600);
  lose(dst);
  const r = await ok({ ...env, STRATA_TEST_BOOT_ID: 'boot-b' }, ['fs', 'copy', '--src', src, '--dst', dst, '--resume', '--json']);
  assert.match(r.stderr, /the machine restarted since the interrupted copy: \d+ items it finished after its last flush to disk are copied again/);
  assert.equal(JSON.parse(r.stdout).skipped, 0);
  assert.equal((await ok(env, ['fs', 'compare', src, dst])).code, 0);

  // With flushes during the run, what they covered is kept after a restart.
  const flushed = path.join(home, 'restart-flushed');
  const text = await killedCopy(['fs', 'copy', '--src', src, '--dst', flushed, '-q'], { STRATA_TEST_BOOT_ID: 'boot-a', STRATA_MOVER_CHECKPOINT_MS: '20' }, 1500, /\nS\n/);
  assert.match(text, /\nP\n[^]*\nS\n/);
  const r2 = await ok({ ...env, STRATA_TEST_BOOT_ID: 'boot-c' }, ['fs', 'copy', '--src', src, '--dst', flushed, '--resume', '--json']);
  const s2 = JSON.parse(r2.stdout);
  assert.ok(s2.skipped > 0 && s2.skipped < 3000, `flushed items skipped: ${s2.skipped}`);
  assert.equal((await ok(env, ['fs', 'compare', src, flushed])).code, 0);
});

test('full disk: the copy stops cleanly and --resume finishes after space is freed', { skip: process.getuid?.() === 0 ? false : 'needs root to mount a small tmpfs' }, async () => {
  const mnt = path.join(home, 'small');
  fs.mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt], { stdio: 'ignore' });
  try {
    const src = path.join(home, 'fill');
    fs.mkdirSync(src);
    for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(src, `f${i}`), Buffer.alloc(1024 * 1024, i + 1));
    const dst = path.join(mnt, 'copy');
    const r = await runCli(['fs', 'copy', '--src', src, '--dst', dst, '--xattrs', 'none'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no space left on device \(ENOSPC\)/);
    assert.match(r.stderr, /stopped: .*--resume/);
    execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
    const r2 = await ok(env, ['fs', 'copy', '--src', src, '--dst', dst, '--resume', '--xattrs', 'none', '--json']);
    assert.equal(JSON.parse(r2.stdout).errors, 0);
    assert.equal((await runCli(['fs', 'compare', '--xattrs', 'none', src, dst], { env })).code, 0);
    assert.deepEqual(fs.readdirSync(dst).filter((n) => n.startsWith('.strata-tmp')), []);
  } finally {
    execFileSync('umount', [mnt]);
  }
});
