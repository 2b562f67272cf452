import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers.js';
import { hasSetfattr, moverEnv, ok, sh } from './util.js';

const { home, env } = moverEnv();
const run = (args: string[]) => runCli(args, { env });

function tree(root: string): void {
  fs.mkdirSync(path.join(root, 'a/b'), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(root, 'a', `f${i}`), `file ${i}\n`);
  fs.writeFileSync(path.join(root, 'a/b/deep'), 'deep\n');
  fs.symlinkSync('a/f1', path.join(root, 'ln'));
  fs.writeFileSync(path.join(root, 'top'), 'top\n');
}

test('sync: copies what differs, a second run copies nothing, --delete removes extras', async () => {
  await ok(env, ['pool', 'create', 'tank']);
  const src = path.join(home, 'src');
  tree(src);
  let s = JSON.parse((await ok(env, ['fs', 'sync', '--src', `${src}/`, '--dst', 'daos://tank/mirror', '--json'])).stdout);
  assert.equal(s.files, 22);
  assert.equal(s.symlinks, 1);
  s = JSON.parse((await ok(env, ['fs', 'sync', '--src', `${src}/`, '--dst', 'daos://tank/mirror', '--json'])).stdout);
  assert.equal(s.files + s.symlinks + s.deleted, 0, 'second run copies nothing');
  assert.equal(s.unchanged, 23);
  // Change one file, add one, remove one; an extra file in the destination.
  fs.writeFileSync(path.join(src, 'a/f3'), 'changed content\n');
  fs.writeFileSync(path.join(src, 'a/added'), 'new\n');
  fs.rmSync(path.join(src, 'a/f4'));
  fs.chmodSync(path.join(src, 'top'), 0o600);
  s = JSON.parse((await ok(env, ['fs', 'sync', '--src', `${src}/`, '--dst', 'daos://tank/mirror', '--json'])).stdout);
  assert.equal(s.files, 2);
  assert.equal(s.deleted, 0);
  assert.equal((await run(['fs', 'compare', src, 'daos://tank/mirror'])).code, 1, 'f4 is still in the mirror');
  s = JSON.parse((await ok(env, ['fs', 'sync', '--src', `${src}/`, '--dst', 'daos://tank/mirror', '--delete', '--json'])).stdout);
  assert.equal(s.deleted, 1);
  assert.equal(s.files, 0);
  assert.equal((await ok(env, ['fs', 'compare', src, 'daos://tank/mirror'])).code, 0);

  // Container -> POSIX; same size and mtime but other content: only --checksum sees it.
  const out = path.join(home, 'out');
  await ok(env, ['fs', 'sync', '--src', 'daos://tank/mirror', '--dst', out, '-q']);
  const f = path.join(out, 'a/f5');
  sh(`cp -a '${f}' '${f}.ref'`);
  fs.writeFileSync(f, 'FILE 5\n');
  sh(`touch -r '${f}.ref' '${f}' && rm '${f}.ref'`);
  s = JSON.parse((await ok(env, ['fs', 'sync', '--src', 'daos://tank/mirror', '--dst', out, '--json'])).stdout);
  assert.equal(s.files, 0);
  s = JSON.parse((await ok(env, ['fs', 'sync', '--src', 'daos://tank/mirror', '--dst', out, '--checksum', '--json'])).stdout);
  assert.equal(s.files, 1);
  assert.equal(fs.readFileSync(f, 'utf8'), 'file 5\n');
  // A type change (file -> directory) is handled.
  fs.rmSync(path.join(src, 'top'));
  fs.mkdirSync(path.join(src, 'top'));
  fs.writeFileSync(path.join(src, 'top/inner'), 'x');
  await ok(env, ['fs', 'sync', '--src', `${src}/`, '--dst', out, '--delete', '-q']);
  assert.equal((await ok(env, ['fs', 'compare', src, out])).code, 0);
});

test('compare: exit 0 when identical, 1 with the differences listed (text and JSON)', async () => {
  const a = path.join(home, 'ca');
  const b = path.join(home, 'cb');
  tree(a);
  sh(`cp -a '${a}' '${b}'`);
  const same = await run(['fs', 'compare', a, b]);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.equal(same.stdout, '');
  fs.writeFileSync(path.join(b, 'a/f1'), 'FILE 1\n');
  sh(`touch -r '${a}/a/f1' '${b}/a/f1'`); // the same times, to the nanosecond
  fs.rmSync(path.join(b, 'a/f2'));
  fs.writeFileSync(path.join(b, 'extra'), 'x');
  fs.chmodSync(path.join(b, 'top'), 0o600);
  fs.writeFileSync(path.join(b, 'a/f7'), 'longer file 7\n');
  sh(`touch -r '${a}/a/f7' '${b}/a/f7'`); // the same times, to the nanosecond
  if (hasSetfattr()) sh(`setfattr -n user.k -v v '${b}/a/f8'`);
  const r = await run(['fs', 'compare', a, b]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^content\ta\/f1: /m);
  assert.match(r.stdout, /^missing-in-b\ta\/f2/m);
  assert.match(r.stdout, /^missing-in-a\textra/m);
  assert.match(r.stdout, /^mode\ttop: 0644 \| 0600$/m);
  assert.match(r.stdout, /^size\ta\/f7: 7 \| 14$/m);
  if (hasSetfattr()) assert.match(r.stdout, /^xattrs\ta\/f8: /m);
  const j = JSON.parse((await run(['fs', 'compare', '--json', a, b])).stdout);
  assert.equal(j.identical, false);
  assert.ok(j.differenceList.some((d: { path: string; what: string }) => d.path === 'a/f2' && d.what === 'missing-in-b'));
  // Missing side, dangling location.
  const bad = await run(['fs', 'compare', a, path.join(home, 'nope')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^strata: .*nope: no such file or directory$/m);
});

test('compare --summary / -q: counts of each kind of difference only, exit 1 if any, 0 when identical', async () => {
  const a = path.join(home, 'sum-a');
  const b = path.join(home, 'sum-b');
  tree(a);
  await ok(env, ['fs', 'copy', `${a}`, path.join(home, 'sum-tmp'), '-q']);
  fs.renameSync(path.join(home, 'sum-tmp'), b);
  let r = await run(['fs', 'compare', a, b, '--summary']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^compare: \d+ entries, 0 differences, /);
  fs.rmSync(path.join(b, 'a/f1'));
  fs.rmSync(path.join(b, 'a/f2'));
  fs.writeFileSync(path.join(b, 'extra'), 'x');
  fs.writeFileSync(path.join(b, 'a/f3'), 'file 3 but longer\n');
  for (const flag of ['--summary', '-q']) {
    r = await run(['fs', 'compare', a, b, flag]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, 'missing-in-a\t1\nmissing-in-b\t2\nmtime\t1\nsize\t1\n');
    assert.match(r.stderr, /^compare: \d+ entries, 5 differences, /);
  }
  r = await run(['fs', 'compare', a, b, '-q', '--json']);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.counts, { 'missing-in-a': 1, 'missing-in-b': 2, mtime: 1, size: 1 });
  assert.equal(j.differenceList, undefined);
});
