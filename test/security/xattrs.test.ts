// Hostile extended attributes: names and sizes past the limits through the
// CLI, and attributes a container holds that the destination filesystem
// refuses (no namespace, an ACL with garbage bytes) when a copy brings them
// out. Refusals are one clear line and change nothing; a copy reports each
// refused file by path and attribute, leaves no partial or temporary file,
// copies the rest, and completes with --xattrs none. Long names and large
// values the filesystem accepts survive a round trip exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { getAttributeSync, listAttributesSync, setAttributeSync } from '@napi-rs/xattr';
import { tempDir } from '../helpers.js';
import { cli, listTree, makePool, ok, refused } from './util.js';

const home = tempDir('strata-sec-xattrs-');
const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' };
const o = { env };

test('fs setfattr: names over 255 bytes, empty names and values over 64 KiB are refused with one line; nothing changes', async () => {
  await makePool(env, 'tank');
  await ok(['container', 'create', 'tank', 'c'], o);
  fs.writeFileSync(path.join(home, 'f'), 'data\n');
  await ok(['fs', 'put', path.join(home, 'f'), 'daos://tank/c/f'], o);
  await ok(['fs', 'setfattr', 'daos://tank/c/f', 'user.keep', 'v'], o);
  const before = (await ok(['fs', 'getfattr', '--json', 'daos://tank/c/f'], o)).stdout;
  await refused(['fs', 'setfattr', 'daos://tank/c/f', `user.${'n'.repeat(251)}`, 'x'], o, /xattr name longer than 255 bytes/);
  await refused(['fs', 'setfattr', 'daos://tank/c/f', '', 'x'], o, /empty xattr name/);
  await refused(['fs', 'setfattr', 'daos://tank/c/f', 'user.big', 'a'.repeat(65537)], o, /xattr value of 65537 bytes exceeds 65536/);
  await refused(['fs', 'getfattr', 'daos://tank/c/f', 'user.absent'], o, /user\.absent/);
  assert.equal((await ok(['fs', 'getfattr', '--json', 'daos://tank/c/f'], o)).stdout, before);
  // The limits themselves are accepted.
  await ok(['fs', 'setfattr', 'daos://tank/c/f', `user.${'n'.repeat(250)}`, 'a'.repeat(65536)], o);
});

test('a copy out of a container whose files carry attributes this filesystem refuses: each file reported, nothing partial, --xattrs none completes', async () => {
  await ok(['container', 'create', 'tank', 'x'], o);
  const src = path.join(home, 'src');
  fs.mkdirSync(src);
  for (const n of ['plain', 'badname', 'badacl']) fs.writeFileSync(path.join(src, n), `${n}\n`.repeat(1000));
  await ok(['fs', 'copy', '--src', src, '--dst', 'daos://tank/x/t', '-q'], o);
  await ok(['fs', 'setfattr', 'daos://tank/x/t/badname', 'nonamespace', 'v'], o);
  await ok(['fs', 'setfattr', 'daos://tank/x/t/badacl', 'system.posix_acl_access', 'garbage'], o);
  const dst = path.join(home, 'out');
  const r = await cli(['fs', 'copy', '--src', 'daos://tank/x/t', '--dst', dst, '-q'], o);
  assert.equal(r.code, 1, r.stderr);
  const errs = r.stderr.split('\n').filter((l) => l.startsWith('strata: '));
  assert.ok(errs.some((l) => l.includes(path.join(dst, 'badname')) && /nonamespace/.test(l)), r.stderr);
  assert.ok(errs.some((l) => l.includes(path.join(dst, 'badacl')) && /system\.posix_acl_access/.test(l)), r.stderr);
  assert.ok(errs.every((l) => /--xattrs none|copy: 2 errors/.test(l)), `each error says how to copy without the attributes:\n${r.stderr}`);
  assert.deepEqual(listTree(dst), ['plain'], 'no partial or temporary file next to the one copied');
  assert.equal(fs.readFileSync(path.join(dst, 'plain'), 'utf8'), 'plain\n'.repeat(1000));
  const again = await cli(['fs', 'copy', '--src', 'daos://tank/x/t', '--dst', dst, '--resume', '--xattrs', 'none', '-q'], o);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(listTree(dst), ['badacl', 'badname', 'plain']);
  assert.deepEqual(listAttributesSync(path.join(dst, 'badname')), []);
});

test('a 255-byte attribute name and a large value go POSIX -> container -> POSIX exactly', async () => {
  const src = path.join(home, 'long');
  fs.mkdirSync(src);
  const f = path.join(src, 'f');
  fs.writeFileSync(f, 'x');
  const name = `user.${'L'.repeat(250)}`;
  const value = Buffer.alloc(3000, 0xa5);
  value[0] = 0; // binary, NUL first
  setAttributeSync(f, name, value);
  await ok(['fs', 'copy', '--src', src, '--dst', 'daos://tank/long', '-q'], o);
  const json = JSON.parse((await ok(['fs', 'getfattr', '--json', 'daos://tank/long/f', name], o)).stdout) as Record<string, unknown>;
  assert.ok(JSON.stringify(json).length > 3000, 'the value is there whole');
  const back = path.join(home, 'long-back');
  await ok(['fs', 'copy', '--src', 'daos://tank/long', '--dst', back, '-q'], o);
  assert.ok(Buffer.from(getAttributeSync(path.join(back, 'f'), name)!).equals(value));
});
