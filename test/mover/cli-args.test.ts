// How the mover's commands take their locations: positional SRC... DST (as
// cp, rsync and dcp) or --src/--dst, never a mix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers.js';
import { moverEnv, ok } from './util.js';
import { makeRichFile } from '../hdf5/fixtures.js';

const { home, env } = moverEnv();

function tree(root: string, tag: string): void {
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'a.txt'), `a ${tag}\n`);
  fs.writeFileSync(path.join(root, 'sub/b.txt'), `b ${tag}\n`);
}

test('fs copy SRC DST and fs copy SRC1 SRC2 DIR, as cp', async () => {
  const a = path.join(home, 'pa');
  const b = path.join(home, 'pb');
  tree(a, 'a');
  tree(b, 'b');
  const out = path.join(home, 'pos-out');
  fs.mkdirSync(out);
  await ok(env, ['fs', 'copy', a, out, '-q']);
  assert.equal((await runCli(['fs', 'compare', a, path.join(out, 'pa')], { env })).code, 0);

  const many = path.join(home, 'pos-many');
  fs.mkdirSync(many);
  await ok(env, ['fs', 'copy', a, b, many, '-q']);
  assert.deepEqual(fs.readdirSync(many).sort(), ['pa', 'pb']);
  assert.equal(fs.readFileSync(path.join(many, 'pb/sub/b.txt'), 'utf8'), 'b b\n');

  // Into a container too: positional daos:// destination.
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['fs', 'copy', a, 'daos://tank/c1', '-q']);
  assert.equal((await runCli(['fs', 'compare', a, 'daos://tank/c1'], { env })).code, 0);
});

test('fs sync SRC DST positional, and fs compare A B', async () => {
  const a = path.join(home, 'sa');
  tree(a, 's');
  const out = path.join(home, 'sync-out');
  fs.mkdirSync(out);
  await ok(env, ['fs', 'sync', `${a}/`, out, '-q']);
  assert.equal((await runCli(['fs', 'compare', a, out], { env })).code, 0);
});

test('bad positional use: one clear line each', async () => {
  const a = path.join(home, 'ba');
  tree(a, 'x');
  const file = path.join(home, 'plain-file');
  fs.writeFileSync(file, 'x');
  const cases: Array<[string[], RegExp]> = [
    [['fs', 'copy', a, '--dst', path.join(home, 'mix')], /^strata: copy: give the source and destination as arguments or as --src\/--dst, not both\n$/],
    [['fs', 'sync', a, path.join(home, 'mix'), '--src', a], /^strata: sync: give the source and destination as arguments or as --src\/--dst, not both\n$/],
    [['fs', 'copy', a], /^strata: copy: missing destination after '.*ba'\n$/],
    [['fs', 'copy'], /^strata: copy: a source and a destination are required/],
    [['fs', 'copy', a, a, path.join(home, 'nope')], /^strata: copy: target '.*nope' is not a directory/],
    [['fs', 'copy', a, a, file], /^strata: copy: target '.*plain-file' is not a directory/],
  ];
  for (const [args, want] of cases) {
    const r = await runCli(args, { env });
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, want, args.join(' '));
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
  }
  assert.ok(!fs.existsSync(path.join(home, 'mix')) && !fs.existsSync(path.join(home, 'nope')), 'nothing written');
});

test('fs copy --h5-timeout: a .h5 source is imported under that watchdog; a bad value is refused with one line', async () => {
  const h5 = path.join(home, 'small.h5');
  makeRichFile(h5);
  const bad = await runCli(['fs', 'copy', h5, 'daos://tank/h5bad', '--h5-timeout', 'soon'], { env });
  assert.notEqual(bad.code, 0);
  assert.equal(bad.stderr, "strata: bad --h5-timeout 'soon': expected seconds (0 < s <= 86400)\n");
  const r = await ok(env, ['fs', 'copy', h5, 'daos://tank/h5ok', '--h5-timeout', '5', '--json']);
  assert.ok(JSON.parse(r.stdout).hdf5, r.stdout);
  // Exported back, the data reads the same.
  const back = path.join(home, 'back.h5');
  await ok(env, ['fs', 'copy', 'daos://tank/h5ok', back, '-q']);
  const dump = (f: string) => execFileSync('h5dump', ['-d', '/group1/sub/deeper/temps', f], { encoding: 'utf8' }).split('\n').slice(1).join('\n');
  assert.equal(dump(back), dump(h5));
});
