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
import { execFileSync } from 'node:child_process';
import { getAttributeSync, listAttributesSync, setAttributeSync } from '@napi-rs/xattr';
import { CLI, tempDir } from '../helpers.js';
import { addonPath } from '../../src/hdf5/h5lib/index.js';
import { cli, injected, listTree, makePool, ok, refused } from './util.js';

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

// ---- names that are not UTF-8 ----
// Attributes of a file whose name is not valid UTF-8 (and an attribute name
// that is not either) are read and written by bytes, without getfattr or
// setfattr (a PATH without them), and a failure to read them is an error for
// that file, never an empty list.

/** $'...' quoting of bytes for bash (the test sets and reads attributes with the attr tools). */
function q(b: Buffer): string {
  let s = "$'";
  for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x27 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return `${s}'`;
}
function setx(p: Buffer, name: Buffer, value: Buffer): void {
  execFileSync('bash', ['-c', `setfattr -h -n ${q(name)} -v 0x${value.toString('hex')} -- ${q(p)}`]);
}
/** user.* attributes of a path as "name-hex=value-hex" lines, read by getfattr (in this process, with the attr tools). */
function getx(p: Buffer): string[] {
  const text = execFileSync('bash', ['-c', `getfattr -h -d -m '^user\\.' -e hex -- ${q(p)} 2>/dev/null`], { encoding: 'latin1' });
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const [n, v] = [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 3)];
    return `${Buffer.from(n, 'latin1').toString('hex')}=${v}`;
  }).sort();
}

const BAD = Buffer.from('bad\xffname', 'latin1');
const BAD_DIR = Buffer.from('dir\xfe', 'latin1');
const BAD_ATTR = Buffer.from('user.na\xffme', 'latin1');
/** A PATH with bash and sync but without getfattr and setfattr. */
const noAttrTools = (() => {
  const d = path.join(home, 'nobin');
  fs.mkdirSync(d);
  for (const t of ['bash', 'sh', 'sync']) fs.symlinkSync(execFileSync('bash', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), path.join(d, t));
  return { PATH: d };
})();
const join = (...parts: Array<string | Buffer>) => Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [Buffer.from(p)] : [Buffer.from('/'), Buffer.from(p)])));

let pooled: Promise<unknown> | undefined;
/** The tree, and the pool "tank" (made here when these tests run alone). */
async function byteTree(root: string): Promise<{ file: Buffer; dir: Buffer }> {
  await (pooled ??= makePool(env, 'tank').catch((e: { code?: string }) => { if (e.code !== 'EEXIST') throw e; }));
  fs.mkdirSync(root);
  const file = join(root, BAD);
  const dir = join(root, BAD_DIR);
  fs.writeFileSync(file, 'data\n');
  fs.mkdirSync(dir);
  fs.writeFileSync(join(root, BAD_DIR, 'inner'), 'inner\n');
  fs.writeFileSync(path.join(root, 'plain'), 'plain\n');
  setx(file, Buffer.from('user.color'), Buffer.from('blue'));
  setx(file, Buffer.from('user.bin'), Buffer.from([0, 0xff, 0]));
  setx(file, BAD_ATTR, Buffer.from('odd name'));
  setx(dir, Buffer.from('user.d'), Buffer.from('1'));
  return { file, dir };
}

test('xattrs of a non-UTF-8 name (and a non-UTF-8 attribute name) go POSIX -> container -> POSIX without getfattr/setfattr; compare sees them', async () => {
  const src = path.join(home, 'bytes');
  const { file, dir } = await byteTree(src);
  const want = { file: getx(file), dir: getx(dir) };
  assert.equal(want.file.length, 3, 'the test set its attributes');
  const e = { env: { ...env, ...noAttrTools } };
  await ok(['fs', 'copy', '--src', src, '--dst', 'daos://tank/bytes', '-q'], e);
  const back = path.join(home, 'bytes-back');
  await ok(['fs', 'copy', '--src', 'daos://tank/bytes', '--dst', back, '-q'], e);
  assert.deepEqual(getx(join(back, BAD)), want.file, 'the file\'s attributes came back byte-exact');
  assert.deepEqual(getx(join(back, BAD_DIR)), want.dir, 'the directory\'s attribute came back');
  assert.equal((await cli(['fs', 'compare', src, back], e)).code, 0);
  assert.equal((await cli(['fs', 'compare', src, 'daos://tank/bytes'], e)).code, 0);
  // A differing attribute on such a file is a difference.
  setx(file, Buffer.from('user.color'), Buffer.from('red'));
  const r = await cli(['fs', 'compare', src, back], e);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^xattrs\tbad.name: /m);
  // sync fixes it in place (the metadata of an existing non-UTF-8 name: its mode changed too).
  fs.chmodSync(file, 0o640);
  await ok(['fs', 'sync', '--src', `${src}/`, '--dst', back, '-q'], e);
  assert.equal(fs.statSync(join(back, BAD)).mode & 0o777, 0o640);
  assert.deepEqual(getx(join(back, BAD)), getx(file));
});

/**
 * Child-side hook: every xattr read of a path ending in FAIL_NAME (hex) fails
 * with EIO, whichever xattr calls the mover makes.
 */
const FAIL_XATTR_READS = `
import { createRequire } from 'node:module';
const req = createRequire(process.env.HOOK_BASE);
const bad = Buffer.from(process.env.FAIL_NAME, 'hex');
const hits = (p) => { const b = Buffer.isBuffer(p) ? p : Buffer.from(String(p)); return b.length >= bad.length && b.subarray(b.length - bad.length).equals(bad); };
const fail = () => Object.assign(new Error('listxattr: Input/output error (os error 5)'), { code: 'EIO', errno: 5 });
for (const [mod, fns] of [['@napi-rs/xattr', ['listAttributesSync', 'getAttributeSync']], [process.env.H5_ADDON, ['xattrList', 'xattrGet']]]) {
  let m;
  try { m = req(mod); } catch { continue; }
  for (const f of fns) {
    const orig = m[f];
    if (typeof orig === 'function') m[f] = function (p, ...rest) { if (hits(p)) throw fail(); return orig.call(this, p, ...rest); };
  }
}
`;

test('a failure to read the attributes of a non-UTF-8 name is an error for that file: copy exits 1, tier archive keeps the source', async () => {
  const src = path.join(home, 'bytes-fail');
  await byteTree(src);
  const e = {
    env: {
      ...env, ...noAttrTools, ...injected(FAIL_XATTR_READS), HOOK_BASE: CLI, H5_ADDON: addonPath(), FAIL_NAME: BAD.toString('hex'),
    },
  };
  const r = await cli(['fs', 'copy', '--src', src, '--dst', 'daos://tank/bytes-fail'], e);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^strata: .*bytes-fail\/bad.name: .*(Input\/output error|EIO)/m);
  assert.match(r.stderr, /, 1 error$/m);
  const out = path.join(home, 'bytes-fail-out');
  await ok(['fs', 'copy', '--src', 'daos://tank/bytes-fail', '--dst', out, '-q'], { env: { ...env, ...noAttrTools } });
  const names = (d: Buffer): string[] => fs.readdirSync(d, { encoding: 'buffer' }).map((n) => n.toString('latin1')).sort();
  assert.deepEqual(names(Buffer.from(out)), [BAD_DIR.toString('latin1'), 'plain'], 'the rest is copied, not the file');
  assert.deepEqual(names(join(out, BAD_DIR)), ['inner']);
  // tier archive of the same tree: not archived, the source is kept whole.
  const a = await cli(['tier', 'archive', src, '--pool', 'tank'], e);
  assert.notEqual(a.code, 0, a.stderr);
  assert.deepEqual(getx(join(src, BAD)).length, 3, 'the source file and its attributes are still there');
});
