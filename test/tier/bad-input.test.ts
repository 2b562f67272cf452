// Bad input and policies: what cannot be archived, trees being written, full
// pools and cold directories, a restore racing someone who creates the path;
// tier scan with --apply continuing past failures. Every refusal is one line
// "strata: ...", and nothing is lost: the original stays readable.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { runCli } from '../helpers.js';
import { sealFile } from '../../src/park/format.js';
import { ok, fails, makeTree, statList, tierEnv, runUntilPaused, sh, hiddenSiblings, diffR, exists } from './util.js';

const { home, env } = tierEnv('bad');
const ws = path.join(home, 'ws');
fs.mkdirSync(ws);
const mounts: string[] = [];
const kids: Array<{ kill: () => void }> = [];
after(() => {
  for (const k of kids) k.kill();
  for (const m of mounts) { spawnSync('umount', [m]); spawnSync('umount', ['-l', m]); }
  // Mounts that moved with a renamed tree (an archive that crossed into one) are detached too.
  const moved = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(`${home}/`));
  for (const m of moved.reverse()) spawnSync('umount', ['-l', m]);
});
const isRoot = process.getuid?.() === 0;
const conts = async (e = env) => (JSON.parse(await ok(e, 'cont', 'list', 'tank', '--json')) as unknown[]).length;

function tree(name: string, files = 10): { dir: string; kept: string } {
  const dir = path.join(ws, name);
  const kept = path.join(home, `kept-${name}`);
  fs.mkdirSync(dir);
  makeTree(dir, { files });
  sh(`cp -a '${dir}' '${kept}'`);
  return { dir, kept };
}

function tmpfs(dir: string, size: string): void {
  fs.mkdirSync(dir, { recursive: true });
  sh(`mount -t tmpfs -o size=${size} tmpfs '${dir}'`);
  mounts.push(dir);
}

test('what cannot be archived', async () => {
  await ok(env, 'pool', 'create', 'tank');
  await fails(env, /\/ is the root of a filesystem/, 'tier', 'archive', '/');
  await fails(env, /no such directory/, 'tier', 'archive', path.join(ws, 'missing'));
  fs.writeFileSync(path.join(ws, 'file'), 'x');
  await fails(env, /is not a directory/, 'tier', 'archive', path.join(ws, 'file'));
  fs.symlinkSync('file', path.join(ws, 'sym'));
  await fails(env, /is a symbolic link/, 'tier', 'archive', path.join(ws, 'sym'));
  const { dir } = tree('linked');
  await ok(env, 'tier', 'archive', dir);
  await fails(env, /is already a UNS link/, 'tier', 'archive', dir);
  await fails(env, /is inside the container linked at/, 'tier', 'archive', `${dir}/dir`);
  fs.mkdirSync(path.join(ws, 'plain'));
  await fails(env, /symlink link needs the tier's mount prefix/, 'tier', 'archive', path.join(ws, 'plain'), '--link', 'symlink');
  await fails(env, /unknown link kind/, 'tier', 'archive', dir, '--link', 'bogus');
  if (isRoot) {
    const mp = path.join(ws, 'mnt');
    tmpfs(mp, '4m');
    fs.writeFileSync(path.join(mp, 'x'), 'x');
    await fails(env, /is the root of a filesystem \(a mount point\)/, 'tier', 'archive', mp);
    assert.equal(fs.readFileSync(path.join(mp, 'x'), 'utf8'), 'x');
  }
  assert.equal(await conts(), 1);
});

test('a directory being written: open files and changes during the copy are refused', async () => {
  const { dir, kept } = tree('busy');
  const holder = spawn('bash', ['-c', `exec 3>>'${dir}/hello.txt'; sleep 60`], { stdio: 'ignore' });
  kids.push({ kill: () => holder.kill('SIGKILL') });
  await new Promise((r) => setTimeout(r, 300));
  await fails(env, /busy has files open for writing \(pid \d+ \(sleep\): .*hello.txt\)/, 'tier', 'archive', dir);
  holder.kill('SIGKILL');
  const before = await conts();
  // A writer that keeps adding files while the archive runs.
  const writer = spawn('bash', ['-c', `i=0; while :; do echo $i > '${dir}/dir/w'$i; i=$((i+1)); sleep 0.005; done`], { stdio: 'ignore' });
  kids.push({ kill: () => writer.kill('SIGKILL') });
  const r = await runCli(['tier', 'archive', dir], { env });
  writer.kill('SIGKILL');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^strata: .*(kept changing while it was being archived|changed while it was being archived|open for writing).*was not changed\n$/);
  assert.equal(await conts(), before, 'the partial container is gone');
  assert.deepEqual(hiddenSiblings(dir), []);
  sh(`rm -f '${dir}'/dir/w*`);
  assert.equal(statList(dir).replace(/\n\.\/dir d .*\n/, '\n'), statList(kept).replace(/\n\.\/dir d .*\n/, '\n'));
});

test('a tree with a mount point inside (a bind mount, a tmpfs) is refused before anything changes; nothing outside is touched', { skip: isRoot ? false : 'needs root (mounts)' }, async () => {
  await ok(env, 'pool', 'create', 'tank').catch(() => undefined);
  const before = await conts();
  // A bind mount of a directory on the same filesystem (same st_dev: only the mount table tells), and a tmpfs.
  const outside = path.join(home, 'outside');
  fs.mkdirSync(path.join(outside, 'deep'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'deep/data'), 'not part of the tree\n');
  fs.chmodSync(outside, 0o755);
  fs.chmodSync(path.join(outside, 'deep'), 0o751);
  const outsideBefore = statList(outside);
  const cases: Array<[string, (mp: string) => void]> = [
    ['bind', (mp) => { sh(`mount --bind '${outside}' '${mp}'`); mounts.push(mp); }],
    ['tmpfs', (mp) => { tmpfs(mp, '4m'); fs.writeFileSync(path.join(mp, 'x'), 'on tmpfs\n'); fs.chmodSync(mp, 0o755); }],
  ];
  for (const [kind, mount] of cases) {
    const { dir } = tree(`with-${kind}`, 4);
    const mp = path.join(dir, 'dir/mnt');
    fs.mkdirSync(mp);
    mount(mp);
    const treeBefore = statList(dir);
    const r = await fails(env, new RegExp(`${mp.replace(/[.]/g, '\\.')} is a mount point inside .*was not changed`), 'tier', 'archive', dir);
    assert.equal(r.stderr.split('\n').filter((l) => l !== '').length, 1, r.stderr);
    assert.equal(statList(dir), treeBefore, `${kind}: the tree is unchanged`);
    assert.equal(fs.statSync(mp).mode & 0o7777, 0o755, `${kind}: the mounted directory keeps its mode`);
    assert.deepEqual(hiddenSiblings(dir), [], kind);
    assert.equal(await conts(), before, `${kind}: no container left`);
    assert.match((await runCli(['tier', 'recover'], { env })).stderr, /nothing to do/, `${kind}: no journal left`);
  }
  assert.equal(statList(outside), outsideBefore, 'the bind-mounted directory is untouched');
});

test('park reads its files back before destroying: a file damaged after it was written (and sealed again) keeps the container', async () => {
  await ok(env, 'pool', 'create', 'tank').catch(() => undefined);
  const dir = path.join(ws, 'to-park');
  fs.mkdirSync(dir);
  const pattern = Buffer.from('park verify pattern 0123456789 '.repeat(2048));
  fs.writeFileSync(path.join(dir, 'data.bin'), pattern);
  fs.writeFileSync(path.join(dir, 'small.txt'), 'small\n');
  const kept = path.join(home, 'kept-to-park');
  sh(`cp -a '${dir}' '${kept}'`);
  await ok(env, 'tier', 'archive', dir);
  const before = await ok(env, 'container', 'check', 'tank', 'to-park');
  const cold = path.join(home, 'cold-verify');
  const gate = path.join(home, 'park-verify.gate');
  fs.writeFileSync(gate, '');
  // Stopped after the files are written and sealed; one byte of file data is changed and the file sealed again
  // (what a bug, or damage before the seal was computed, would leave): the seal is valid, the content is not.
  const run = await runUntilPaused(env, 'park-verify', ['tier', 'park', dir, '--to', cold], { STRATA_TIER_PAUSE_FILE: gate });
  const files = fs.readdirSync(cold).filter((n) => n.endsWith('.h5')).map((n) => path.join(cold, n));
  let hit = false;
  for (const f of files) {
    const b = fs.readFileSync(f);
    const at = b.indexOf(pattern.subarray(0, 64));
    if (at < 0) continue;
    b[at + 5] ^= 0x20;
    fs.writeFileSync(f, b);
    await sealFile(f);
    hit = true;
  }
  assert.ok(hit, 'the file data was found in a park file');
  fs.rmSync(gate);
  const r = await run.done;
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.includes('paused at'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^strata: cannot park .*to-park: the files written to .* do not hold what the container holds .*nothing was changed \(the container is still there\)$/);
  assert.equal(await ok(env, 'container', 'check', 'tank', 'to-park'), before, 'the container is intact');
  const cmp = await runCli(['fs', 'compare', kept, dir, '--xattrs', 'non-lustre'], { env });
  assert.equal(cmp.code, 0, `the data is still reachable through the link: ${cmp.stdout}${cmp.stderr}`);
  assert.deepEqual(fs.readdirSync(cold), [], 'no park file left');
  assert.match((await runCli(['tier', 'recover'], { env })).stderr, /nothing to do/);
  assert.doesNotMatch(await ok(env, 'container', 'list', 'tank'), /tier-park/, 'no verification container left');
});

test('a pool whose disk fills, a cold directory without space', { skip: isRoot ? false : 'needs root (tmpfs mounts)' }, async () => {
  const small = path.join(home, 'small-engine');
  tmpfs(small, '24m');
  const e2 = { ...env, STRATA_HOME: small };
  await ok(e2, 'pool', 'create', 'tank');
  const dir = path.join(ws, 'huge');
  fs.mkdirSync(dir);
  sh(`head -c 40000000 /dev/urandom > '${dir}/a.bin'; echo small > '${dir}/b.txt'`);
  const sum = sh(`cd '${dir}' && sha256sum *`);
  await fails(e2, /pool tank cannot hold .*huge: it needs 38 MiB, .* free; nothing was changed/, 'tier', 'archive', dir);
  // Without the up-front check the copy runs into the full disk mid-way.
  const r = await runCli(['tier', 'archive', dir], { env: { ...e2, STRATA_TIER_NO_SPACE_CHECK: '1' } });
  assert.equal(r.code, 1, r.stderr);
  // (the lmdb package may print its own "Write error" lines first: an engine-layer matter)
  assert.match(r.stderr, /(^|\n)strata: [^\n]*(ENOSPC|space)[^\n]*was not changed\n$/);
  assert.equal(sh(`cd '${dir}' && sha256sum *`), sum);
  assert.deepEqual(hiddenSiblings(dir), []);
  assert.equal(await conts(e2), 0);
  const rec = await runCli(['tier', 'recover'], { env: e2 });
  assert.match(rec.stderr, /nothing to do/);

  // park into a cold directory that is too small
  const { dir: d2, kept } = tree('coldfull');
  await ok(env, 'tier', 'archive', d2);
  const cold = path.join(home, 'cold-small');
  tmpfs(cold, '1m');
  await fails(env, /cold-small has .* free; parking .*coldfull needs about .*; nothing was changed/, 'tier', 'park', d2, '--to', cold);
  assert.deepEqual(fs.readdirSync(cold), []);
  const cmp = await runCli(['fs', 'compare', kept, d2, '--xattrs', 'non-lustre'], { env });
  assert.equal(cmp.code, 0, cmp.stdout);
});

test('restore racing someone who creates the path', async () => {
  const { dir, kept } = tree('race');
  await ok(env, 'tier', 'archive', dir);
  const before = await conts();
  const pauseFile = path.join(home, 'pause-race');
  // 1. The link is replaced by a new directory before the swap: refused, nothing removed.
  fs.writeFileSync(pauseFile, '');
  let p = await runUntilPaused(env, 'restore-swap', ['tier', 'restore', dir], { STRATA_TIER_PAUSE_FILE: pauseFile });
  await ok(env, 'cont', 'unlink', '--path', dir);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'mine.txt'), 'new data\n');
  fs.rmSync(pauseFile);
  let r = await p.done;
  assert.equal(r.code, 1);
  assert.match(r.stderr, /strata: .*race changed during the restore: it is no longer the link to container .*nothing was removed/);
  assert.deepEqual(fs.readdirSync(dir), ['mine.txt']);
  assert.deepEqual(hiddenSiblings(dir), []);
  assert.equal(await conts(), before);
  // put the link back (by hand) and restore again, racing after the link is gone
  fs.rmSync(dir, { recursive: true });
  const list = JSON.parse(await ok(env, 'cont', 'list', 'tank', '--json')) as Array<{ uuid: string; label: string }>;
  await ok(env, 'cont', 'link', 'tank', list.find((c) => c.label === 'race')!.uuid, '--path', dir);
  fs.writeFileSync(pauseFile, '');
  p = await runUntilPaused(env, 'restore-rename', ['tier', 'restore', dir], { STRATA_TIER_PAUSE_FILE: pauseFile });
  assert.equal(exists(dir), false);
  fs.mkdirSync(dir);
  fs.rmSync(pauseFile);
  r = await p.done;
  assert.equal(r.code, 1);
  assert.match(r.stderr, /strata: cannot restore .*race: someone created .* meanwhile; nothing was lost: the restored tree is in .*strata-restore-/);
  fs.rmdirSync(dir);
  assert.match((await runCli(['tier', 'recover'], { env })).stderr, /restore .*race .*: finished/);
  assert.equal(diffR(kept, dir).code, 0);
  assert.equal(statList(dir), statList(kept));
  assert.equal(await conts(), before - 1);
});

test('restore whose copy cannot be flushed to disk: refused before anything is removed', async () => {
  const { dir, kept } = tree('noflush');
  await ok(env, 'tier', 'archive', dir);
  const before = await conts();
  // A `sync` that fails, first on PATH: the restore's syncfs of the copy reports an I/O error.
  const bin = path.join(home, 'failing-sync-bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'sync'), '#!/bin/sh\necho "sync: error syncing \'$2\': Input/output error" >&2\nexit 1\n', { mode: 0o755 });
  const r = await fails({ ...env, PATH: `${bin}:${process.env['PATH']}` }, /cannot flush .* to disk \(sync -f\): error syncing .*Input\/output error.*was not changed/, 'tier', 'restore', dir);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('strata: ') && !l.startsWith('strata: tier: ')).length, 1, r.stderr);
  // Still archived: the link, the container, no copy left beside it.
  assert.ok(fs.lstatSync(dir).isDirectory() && sh(`getfattr -n user.daos --only-values '${dir}'`).startsWith('DAOS.POSIX://'));
  assert.deepEqual(hiddenSiblings(dir), []);
  assert.equal(await conts(), before);
  // With a working sync it restores.
  await ok(env, 'tier', 'restore', dir);
  assert.equal(diffR(kept, dir).code, 0);
  assert.equal(await conts(), before - 1);
});

test('scan: candidates by age, size and name; --apply goes on past failures', async () => {
  const area = path.join(home, 'projects');
  fs.mkdirSync(area);
  const mk = (name: string, bytes: number, old: boolean) => {
    const d = path.join(area, name);
    fs.mkdirSync(path.join(d, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(d, 'sub', 'data'), Buffer.alloc(bytes, 7));
    if (old) sh(`find '${d}' -exec touch -h -d '2020-01-01' {} +`);
  };
  mk('old-big', 3 << 20, true);
  mk('old-big-2', 2 << 20, true);
  mk('old-small', 10, true);
  mk('new-big', 3 << 20, false);
  mk('old-big-keep', 3 << 20, true);
  const scan = JSON.parse(await ok(env, 'tier', 'scan', area, '--older-than', '30d', '--larger-than', '1M', '--exclude', '*-keep', '--json')) as Array<{ name: string; bytes: number; ageMs: number }>;
  assert.deepEqual(scan.map((c) => c.name), ['old-big', 'old-big-2']);
  assert.equal(scan[0]!.bytes, 3 << 20);
  assert.ok(scan[0]!.ageMs > 365 * 86400e3);
  assert.match(await ok(env, 'tier', 'scan', area, '--include', 'new-*'), /new-big\s+3\.0 MiB\s+1\s+\d+s/);
  await fails(env, /bad age '30x'/, 'tier', 'scan', area, '--older-than', '30x');
  await fails(env, /bad size 'big'/, 'tier', 'scan', area, '--larger-than', 'big');
  // --apply -n lists what it would archive and changes nothing
  const tree = () => execFileSync('find', [area, '-printf', '%P %y %s\n'], { encoding: 'utf8' }).split('\n').sort().join('\n');
  const before = tree();
  const dry = await runCli(['tier', 'scan', area, '--older-than', '30d', '--larger-than', '1M', '--exclude', '*-keep', '--apply', 'archive', '-n'], { env });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(dry.stdout.trim().split('\n').map((l) => l.split('\t').slice(0, 2).join(' ')), [`archive ${area}/old-big`, `archive ${area}/old-big-2`]);
  assert.match(dry.stderr, /archive --dry-run: 2 candidates, 5\.0 MiB; nothing changed/);
  assert.equal(tree(), before, 'nothing changed');
  // one candidate fails (a file open for writing), the other is archived
  const holder = spawn('bash', ['-c', `exec 3>>'${area}/old-big-2/sub/data'; sleep 60`], { stdio: 'ignore' });
  kids.push({ kill: () => holder.kill('SIGKILL') });
  await new Promise((res) => setTimeout(res, 300));
  const r = await runCli(['tier', 'scan', area, '--older-than', '30d', '--larger-than', '1M', '--exclude', '*-keep', '--apply', 'archive', '--json'], { env });
  holder.kill('SIGKILL');
  assert.equal(r.code, 1, r.stderr);
  const rep = JSON.parse(r.stdout) as { candidates: number; done: number; failed: number; items: Array<{ path: string; ok: boolean; error?: string }> };
  assert.deepEqual([rep.candidates, rep.done, rep.failed], [2, 1, 1], r.stdout);
  assert.match(rep.items[1]!.error!, /old-big-2 has files open for writing/);
  assert.equal((JSON.parse(await ok(env, 'tier', 'status', `${area}/old-big`, '--json')) as Array<{ state: string }>)[0]!.state, 'archived');
  // park policy: archived links are the candidates
  const cold = path.join(home, 'cold-policy');
  const pr = await runCli(['tier', 'scan', area, '--apply', 'park', '--to', cold], { env });
  assert.equal(pr.code, 0, pr.stderr);
  assert.match(pr.stderr, /park: 1 candidate, 1 done, 0 failed/);
  const all = JSON.parse(await ok(env, 'tier', 'status', area, '-R', '--json')) as Array<{ path: string; state: string }>;
  assert.deepEqual(all.map((e) => [path.basename(e.path), e.state]), [['projects', 'local'], ['old-big', 'parked']]);
  await fails(env, /--apply park needs --to/, 'tier', 'scan', area, '--apply', 'park');
});
