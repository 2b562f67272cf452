// `strata engine init` rewrites an LMDB index written by lmdb-js's prebuilt
// addon (LMDB 0.9.90, data format 2) in LMDB 0.9's format 1: the same
// containers, digests equal, the old file kept. The format-2 index is made
// from a format-1 one by the same copier run the other way (its writer on the
// prebuilt addon). An upgrade stopped between its renames is finished by the
// next `engine init`, and until then no command opens the home.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { runCli, tempDir } from '../helpers.js';
import { copyIndex, isFormat2 } from '../../src/engine/lmdb/index-copy.js';

async function ok(home: string, args: string[]): Promise<string> {
  const r = await runCli(args, { env: { STRATA_HOME: home, STRATA_ENGINE: '' } });
  assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function fails(home: string, args: string[], re: RegExp): Promise<void> {
  const r = await runCli(args, { env: { STRATA_HOME: home, STRATA_ENGINE: '' } });
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
}

/** A home with a POSIX container (small and large files, a snapshot, an attribute) and its check digest. */
async function sourceHome(): Promise<{ home: string; digest: string }> {
  const home = tempDir();
  const src = tempDir();
  fs.writeFileSync(path.join(src, 'small'), 'hello\n');
  fs.writeFileSync(path.join(src, 'large'), crypto.randomBytes(3 << 20));
  fs.mkdirSync(path.join(src, 'd'));
  fs.symlinkSync('../small', path.join(src, 'd', 'link'));
  await ok(home, ['pool', 'create', 'tank']);
  await ok(home, ['container', 'create', 'tank', 'fs']);
  await ok(home, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/fs']);
  await ok(home, ['container', 'create-snap', 'tank', 'fs', '--snap', 'monday']);
  await ok(home, ['container', 'set-attr', 'tank', 'fs', 'project', 'x42']);
  return { home, digest: (await ok(home, ['container', 'check', 'tank', 'fs'])).split('\n')[0]! };
}

/** The same home with its index in data format 2. */
async function format2Copy(from: string): Promise<string> {
  const home = tempDir();
  fs.cpSync(path.join(from, 'extents'), path.join(home, 'extents'), { recursive: true });
  await copyIndex(path.join(from, 'index.mdb'), path.join(home, 'index.mdb'), 'writer');
  assert.ok(isFormat2(path.join(home, 'index.mdb')), 'the copy is in format 2');
  return home;
}

test('engine init upgrades a format-2 index: same digest, snapshot and attribute, old file kept; other commands refuse it first', async () => {
  const { home: a, digest } = await sourceHome();
  const b = await format2Copy(a);
  const before = fs.readFileSync(path.join(b, 'index.mdb'));
  await fails(b, ['pool', 'list'], /LMDB data format 2.*strata engine init/);
  assert.ok(fs.readFileSync(path.join(b, 'index.mdb')).equals(before), 'a refused command left the index alone');
  assert.match(await ok(b, ['engine', 'init']), /index rewritten in LMDB 0\.9's format \(\d+ entries; the old file is kept as index\.mdb\.format2\)/);
  assert.ok(fs.readFileSync(path.join(b, 'index.mdb.format2')).equals(before));
  assert.equal((await ok(b, ['container', 'check', 'tank', 'fs'])).split('\n')[0], digest);
  assert.match(await ok(b, ['container', 'list-snaps', 'tank', 'fs']), /monday/);
  assert.match(await ok(b, ['container', 'get-attr', 'tank', 'fs', 'project']), /x42/);
  await ok(b, ['pool', 'check']);
  assert.match(await ok(b, ['engine', 'init']), /ready/);
});

test('an upgrade stopped between its renames: commands refuse the home, the next engine init finishes it', async () => {
  const { home: a, digest } = await sourceHome();
  const b = await format2Copy(a);
  // Stopped after the new index was complete and the old one moved aside.
  await copyIndex(path.join(b, 'index.mdb'), path.join(b, 'index.mdb.format1'), 'reader');
  fs.rmSync(path.join(b, 'index.mdb.format1-lock'), { force: true });
  fs.renameSync(path.join(b, 'index.mdb'), path.join(b, 'index.mdb.format2'));
  await fails(b, ['pool', 'list'], /upgrade of its format was interrupted.*strata engine init/);
  assert.ok(!fs.existsSync(path.join(b, 'index.mdb')), 'no new, empty index was made');
  assert.match(await ok(b, ['engine', 'init']), /an interrupted upgrade finished/);
  assert.equal((await ok(b, ['container', 'check', 'tank', 'fs'])).split('\n')[0], digest);
  // Stopped before the old one was moved: the finished copy is used, not made again.
  const c = await format2Copy(a);
  await copyIndex(path.join(c, 'index.mdb'), path.join(c, 'index.mdb.format1'), 'reader');
  fs.rmSync(path.join(c, 'index.mdb.format1-lock'), { force: true });
  await ok(c, ['engine', 'init']);
  assert.ok(isFormat2(path.join(c, 'index.mdb.format2')));
  assert.equal((await ok(c, ['container', 'check', 'tank', 'fs'])).split('\n')[0], digest);
});

test('a damaged format-2 index: engine init fails with one line and leaves no partial new index', async () => {
  const home = tempDir();
  const page = Buffer.alloc(8192);
  page.writeUInt32LE(0xbeefc0de, 24);
  page.writeUInt32LE(2, 28);
  fs.writeFileSync(path.join(home, 'index.mdb'), page);
  await fails(home, ['engine', 'init'], /reading engine index .* failed/);
  assert.ok(fs.readFileSync(path.join(home, 'index.mdb')).equals(page), 'the old index is unchanged');
  assert.deepEqual(fs.readdirSync(home).filter((f) => f.includes('upgrading') || f.includes('format1')), []);
});
