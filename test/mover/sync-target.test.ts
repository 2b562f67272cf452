// fs sync follows rsync's trailing-slash rule ('sync A B' -> B/A, 'sync A/ B'
// -> B), as fs copy puts A in B/A; --dry-run lists and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers.js';
import { moverEnv, ok, statList } from './util.js';

const { home, env } = moverEnv();

function run42(root: string): void {
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'a.txt'), 'a\n');
  fs.writeFileSync(path.join(root, 'sub/b.txt'), 'b\n');
}

test('sync A B syncs into B/A (as copy A B); sync A/ B syncs A\'s content into B; --delete stays inside', async () => {
  const src = path.join(home, 'run42');
  run42(src);
  const c = path.join(home, 'C');
  fs.mkdirSync(c);
  fs.writeFileSync(path.join(c, 'other.txt'), 'not part of run42\n');
  await ok(env, ['fs', 'copy', '--src', src, '--dst', c, '-q']);
  fs.writeFileSync(path.join(src, 'new.txt'), 'new\n');
  // The same arguments as the copy: C/run42 is made identical, nothing else in C is touched.
  await ok(env, ['fs', 'sync', '--delete', '--src', src, '--dst', c, '-q']);
  assert.equal(fs.readFileSync(path.join(c, 'other.txt'), 'utf8'), 'not part of run42\n');
  assert.deepEqual(fs.readdirSync(c).sort(), ['other.txt', 'run42']);
  assert.equal((await runCli(['fs', 'compare', src, path.join(c, 'run42')], { env })).code, 0);
  // Positional, the same rule.
  fs.writeFileSync(path.join(src, 'newer.txt'), 'newer\n');
  await ok(env, ['fs', 'sync', '--delete', src, c, '-q']);
  assert.equal((await runCli(['fs', 'compare', src, path.join(c, 'run42')], { env })).code, 0);
  // A trailing slash: the content, into D itself.
  const d = path.join(home, 'D');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'extra'), 'x');
  await ok(env, ['fs', 'sync', '--delete', `${src}/`, d, '-q']);
  assert.equal((await runCli(['fs', 'compare', src, d], { env })).code, 0);
  // Into a container: the same rule.
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['container', 'create', 'tank', 'box', '--type', 'POSIX']);
  await ok(env, ['fs', 'sync', src, 'daos://tank/box', '-q']);
  assert.equal((await runCli(['fs', 'compare', src, 'daos://tank/box/run42'], { env })).code, 0);
  const help = await ok(env, ['fs', 'sync', '--help']);
  assert.match(help.stdout, /sync A\/ B/);
});

test('sync --delete -n lists what would be copied, replaced and deleted, and changes nothing', async () => {
  const src = path.join(home, 'dry');
  run42(src);
  const out = path.join(home, 'dry-out');
  fs.mkdirSync(out);
  await ok(env, ['fs', 'sync', `${src}/`, out, '-q']);
  fs.writeFileSync(path.join(src, 'added.txt'), 'added\n');
  fs.writeFileSync(path.join(src, 'a.txt'), 'changed, longer\n');
  fs.rmSync(path.join(src, 'sub/b.txt'));
  fs.mkdirSync(path.join(src, 'newdir'));
  fs.writeFileSync(path.join(out, 'stray'), 'only in the destination\n');
  const before = statList(out);
  const r = await ok(env, ['fs', 'sync', '--delete', '-n', `${src}/`, out]);
  const lines = r.stdout.trim().split('\n').sort();
  assert.deepEqual(lines, [
    `copy\t${out}/added.txt`, `copy\t${out}/newdir`, `delete\t${out}/stray`, `delete\t${out}/sub/b.txt`, `replace\t${out}/a.txt`,
  ]);
  assert.match(r.stderr, /^sync --dry-run: nothing changed/);
  assert.equal(statList(out), before, 'the destination is unchanged');
  const long = await ok(env, ['fs', 'sync', '--delete', '--dry-run', `${src}/`, out, '--json']);
  assert.equal(JSON.parse(long.stdout.slice(long.stdout.indexOf('{'))).deleted, 2);
  assert.equal(statList(out), before);
});

test('sync -n never fixes metadata of entries whose content matches (owner, mode, mtime; with and without --checksum)', async () => {
  const src = path.join(home, 'dry-meta');
  run42(src);
  const out = path.join(home, 'dry-meta-out');
  fs.mkdirSync(out);
  await ok(env, ['fs', 'sync', `${src}/`, out, '-q']);
  // Same bytes, other metadata: mode and mtime always; the owner as root (only root keeps owners).
  fs.chmodSync(path.join(out, 'a.txt'), 0o600);
  fs.utimesSync(path.join(out, 'sub/b.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  if (process.getuid?.() === 0) fs.chownSync(path.join(out, 'a.txt'), 4321, 4321);
  const before = statList(out);
  await ok(env, ['fs', 'sync', '-n', `${src}/`, out]);
  assert.equal(statList(out), before, 'a plain dry run left metadata alone');
  await ok(env, ['fs', 'sync', '-n', '--checksum', `${src}/`, out]);
  assert.equal(statList(out), before, 'a --checksum dry run left metadata alone');
  // The real sync then fixes them.
  await ok(env, ['fs', 'sync', '--checksum', `${src}/`, out, '-q']);
  assert.equal((fs.statSync(path.join(out, 'a.txt')).mode & 0o777).toString(8), (fs.statSync(path.join(src, 'a.txt')).mode & 0o777).toString(8));
  // To the nanosecond.
  const ns = (p: string) => fs.statSync(p, { bigint: true }).mtimeNs;
  assert.equal(ns(path.join(out, 'sub/b.txt')), ns(path.join(src, 'sub/b.txt')));
});
