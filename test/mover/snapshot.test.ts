import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, runCli } from '../helpers.js';
import { copy } from '../../src/mover/index.js';
import { moverEnv, ok } from './util.js';

const { home, env } = moverEnv();

test('writes into the source container during a copy never mix in: the copy holds the snapshot', async () => {
  await ok(env, ['pool', 'create', 'tank']);
  const src = path.join(home, 'src');
  fs.mkdirSync(path.join(src, 'd'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a'), 'version 1\n');
  fs.writeFileSync(path.join(src, 'd/b'), 'bee\n');
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/live', '-q']);
  const dst = path.join(home, 'dst');
  const cli = (...args: string[]) => execFileSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, input: 'version 2, longer\n' });
  // The copy has taken its snapshot and is about to walk: another process writes now.
  const s = await copy('daos://tank/live', dst, {
    engine: `lmdb:${env.STRATA_HOME}`,
    onStart: () => {
      cli('fs', 'put', '-', 'daos://tank/live/a');
      cli('fs', 'put', '-', 'daos://tank/live/d/new');
      cli('fs', 'rm', 'daos://tank/live/d/b');
    },
  });
  assert.equal(s.errors, 0);
  assert.equal(fs.readFileSync(path.join(dst, 'a'), 'utf8'), 'version 1\n');
  assert.equal(fs.readFileSync(path.join(dst, 'd/b'), 'utf8'), 'bee\n');
  assert.ok(!fs.existsSync(path.join(dst, 'd/new')));
  assert.equal((await ok(env, ['fs', 'cat', 'daos://tank/live/a'])).stdout, 'version 2, longer\n');

  // --snap copies a named snapshot (and leaves it in place).
  await ok(env, ['container', 'create-snap', 'tank', 'live', '--snap', 'monday']);
  await ok(env, ['fs', 'rm', 'daos://tank/live/a']);
  const dst2 = path.join(home, 'dst2');
  await ok(env, ['fs', 'copy', '--src', 'daos://tank/live', '--dst', dst2, '--snap', 'monday', '-q']);
  assert.equal(fs.readFileSync(path.join(dst2, 'a'), 'utf8'), 'version 2, longer\n');
  assert.match((await ok(env, ['container', 'list-snaps', 'tank', 'live'])).stdout, /monday/);
});

test('--snap with a plain directory as source (or as compare\'s A) is refused with one line, nothing written', async () => {
  const src = path.join(home, 'plain-src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'f'), 'f\n');
  const out = path.join(home, 'plain-out');
  for (const args of [
    ['fs', 'copy', '--src', src, '--dst', out, '--snap', 'monday'],
    ['fs', 'sync', `${src}/`, out, '--snap', 'monday'],
    ['fs', 'compare', src, src, '--snap', 'monday'],
  ]) {
    const r = await runCli(args, { env });
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, /^strata: .*plain-src\/?: --snap names a snapshot of a container; this source is a POSIX path\n$/, args.join(' '));
  }
  assert.ok(!fs.existsSync(out));
});
