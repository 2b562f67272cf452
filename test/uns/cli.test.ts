// End-to-end: UNS links through the real CLI (xattr and symlink kinds, POSIX and HDF5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setAttributeSync } from '@napi-rs/xattr';
import { runCli, tempDir, type CliResult } from '../helpers.js';

const home = tempDir('strata-uns-cli-');
const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_CONFIG: path.join(home, 'strata.conf'), STRATA_UNS_PREFIX: '' };
const run = (...args: string[]) => runCli(args, { env });
const runEnv = (e: Record<string, string>, ...args: string[]) => runCli(args, { env: { ...env, ...e } });
const ws = path.join(home, 'ws');
fs.mkdirSync(ws);

function ok(r: CliResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}
function fails(r: CliResult, re: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got: ${r.stdout}`);
  assert.match(r.stderr, /^strata: .+\n$/, r.stderr);
  assert.match(r.stderr, re);
  assert.equal(r.stdout, '');
}
const contCount = async (pool: string) => (JSON.parse(ok(await run('cont', 'list', pool, '--json'))) as unknown[]).length;

interface Resolved { linkPath: string; linkKind: string; poolUuid: string; poolLabel: string | null; contUuid: string; contLabel: string | null; type: string | null; containerPath: string; dangling: boolean }
const resolve = async (p: string) => JSON.parse(ok(await run('uns', 'resolve', p, '--json'))) as Resolved;

test('xattr links: POSIX and HDF5, create/resolve/fs/scan/unlink/link/destroy', async () => {
  const poolUuid = ok(await run('pool', 'create', 'up1')).trim();
  // POSIX: a directory with user.daos
  const dir = path.join(ws, 'simdata');
  const contUuid = ok(await run('cont', 'create', 'up1', '--path', dir)).trim();
  assert.ok(fs.statSync(dir).isDirectory());
  const q = JSON.parse(ok(await run('cont', 'query', 'up1', contUuid, '--json'))) as { label: string };
  assert.equal(q.label, 'simdata', 'label from the basename');
  let r = await resolve(dir);
  assert.deepEqual([r.poolUuid, r.contUuid, r.poolLabel, r.contLabel, r.type, r.linkKind, r.containerPath, r.dangling], [poolUuid, contUuid, 'up1', 'simdata', 'POSIX', 'xattr', '/', false]);
  assert.match(ok(await run('uns', 'resolve', dir)), /Container Label\s+: simdata[\s\S]*Path in container : \//);
  // data through the link, and paths below it that exist only in the container
  ok(await run('fs', 'mkdir', '-p', `${dir}/subdir/deeper`));
  ok(await runCli(['fs', 'put', '-', `${dir}/subdir/f.txt`], { env, input: 'hello\n' }));
  assert.equal(ok(await run('fs', 'ls', `${dir}/subdir`)), 'deeper\nf.txt\n');
  assert.equal(ok(await run('fs', 'cat', `${dir}/subdir/f.txt`)), 'hello\n');
  assert.equal(ok(await run('fs', 'ls', `daos://up1/simdata/subdir`)), 'deeper\nf.txt\n');
  assert.equal(ok(await run('fs', 'ls', `/${poolUuid}/${contUuid}/subdir`)), 'deeper\nf.txt\n');
  r = await resolve(`${dir}/subdir/deeper/not/yet/here.txt`);
  assert.equal(r.containerPath, '/subdir/deeper/not/yet/here.txt');
  assert.equal(r.contUuid, contUuid);
  // through a symlink to the link's parent, and with ..
  fs.symlinkSync(ws, path.join(home, 'wslink'));
  r = await resolve(path.join(home, 'wslink', 'simdata', 'a', '..', 'subdir'));
  assert.equal(r.containerPath, '/subdir');
  assert.equal(r.linkPath, fs.realpathSync(dir));
  // HDF5: an empty file with user.daos
  const h5 = path.join(ws, 'results.h5');
  const h5Uuid = ok(await run('cont', 'create', 'up1', '--path', h5, '--type', 'HDF5')).trim();
  assert.ok(fs.statSync(h5).isFile());
  assert.equal(fs.statSync(h5).size, 0);
  r = await resolve(h5);
  assert.deepEqual([r.contUuid, r.type, r.contLabel], [h5Uuid, 'HDF5', 'results.h5']);
  // scan lists both, does not descend into the link
  const scan = JSON.parse(ok(await run('uns', 'scan', ws, '--json'))) as Array<{ path: string; kind: string; contUuid: string; dangling: boolean; type: string }>;
  assert.deepEqual(scan.map((s) => [path.basename(s.path), s.kind, s.type, s.dangling]).sort(), [['results.h5', 'xattr', 'HDF5', false], ['simdata', 'xattr', 'POSIX', false]]);
  assert.match(ok(await run('uns', 'scan', ws)), /simdata\txattr\tPOSIX\tup1\/simdata/);
  // unlink keeps the container; link makes it again (by label)
  assert.match(ok(await run('cont', 'unlink', '--path', dir)), /removed/);
  assert.equal(fs.existsSync(dir), false);
  assert.equal(await contCount('up1'), 2);
  fails(await run('uns', 'resolve', dir), /is not a UNS link/);
  // orphans: simdata has no link under ws now
  const orphans = JSON.parse(ok(await run('uns', 'scan', ws, '--orphans', 'up1', '--json'))) as Array<{ contLabel: string }>;
  assert.deepEqual(orphans.map((o) => o.contLabel), ['simdata']);
  ok(await run('cont', 'link', 'up1', 'simdata', '--path', dir));
  assert.equal((await resolve(`${dir}/subdir/f.txt`)).contUuid, contUuid);
  assert.equal(ok(await run('fs', 'cat', `${dir}/subdir/f.txt`)), 'hello\n');
  assert.match(ok(await run('uns', 'scan', ws, '--orphans', 'up1')), /no orphan containers/);
  // destroy --path removes both
  fails(await run('cont', 'destroy', '--path', ws), /is not a UNS link/);
  fails(await run('cont', 'destroy', '--path', `${dir}/subdir`), /is not a UNS link/);
  assert.match(ok(await run('cont', 'destroy', '--path', dir)), /destroyed/);
  assert.match(ok(await run('cont', 'destroy', '--path', h5)), /destroyed/);
  assert.equal(fs.existsSync(dir) || fs.existsSync(h5), false);
  assert.equal(await contCount('up1'), 0);
});

test('symlink links: prefix from --prefix, STRATA_UNS_PREFIX or the config; resolve without the prefix mounted', async () => {
  const poolUuid = ok(await run('pool', 'create', 'up2')).trim();
  const p1 = path.join(ws, 'sl-posix');
  fails(await run('cont', 'create', 'up2', 'slp', '--path', p1, '--link', 'symlink'), /needs the tier's mount prefix/);
  assert.equal(await contCount('up2'), 0);
  const c1 = ok(await run('cont', 'create', 'up2', 'slp', '--path', p1, '--link', 'symlink', '--prefix', '/mnt/strata/')).trim();
  assert.equal(fs.readlinkSync(p1), `/mnt/strata/${poolUuid}/${c1}`);
  let r = await resolve(`${p1}/a/b.txt`);
  assert.deepEqual([r.contUuid, r.linkKind, r.containerPath, r.type, r.contLabel], [c1, 'symlink', '/a/b.txt', 'POSIX', 'slp']);
  ok(await run('fs', 'mkdir', `${p1}/a`));
  assert.equal(ok(await run('fs', 'ls', p1)), 'a\n');
  // HDF5 with the prefix from the environment
  const p2 = path.join(ws, 'sl.h5');
  const c2 = ok(await runEnv({ STRATA_UNS_PREFIX: '/tier' }, 'cont', 'create', 'up2', '--path', p2, '--link', 'symlink', '--type', 'HDF5')).trim();
  assert.equal(fs.readlinkSync(p2), `/tier/${poolUuid}/${c2}`);
  assert.equal((await resolve(p2)).type, 'HDF5');
  // and from the config file
  fs.writeFileSync(env.STRATA_CONFIG, '# strata config\nuns.prefix = /from/config\n');
  const p3 = path.join(ws, 'sl-conf');
  const c3 = ok(await run('cont', 'create', 'up2', 'slc', '--path', p3, '--link', 'symlink')).trim();
  assert.equal(fs.readlinkSync(p3), `/from/config/${poolUuid}/${c3}`);
  fs.rmSync(env.STRATA_CONFIG);
  const scan = JSON.parse(ok(await run('uns', 'scan', ws, '--json'))) as Array<{ path: string; kind: string }>;
  assert.deepEqual(scan.filter((s) => s.kind === 'symlink').map((s) => path.basename(s.path)).sort(), ['sl-conf', 'sl-posix', 'sl.h5']);
  // unlink removes only the link; link makes it again
  for (const [p, label, type] of [[p1, 'slp', 'POSIX'], [p2, c2, 'HDF5']] as const) {
    const target = fs.readlinkSync(p);
    ok(await run('cont', 'unlink', '--path', p));
    assert.throws(() => fs.lstatSync(p), /ENOENT/);
    assert.equal(await contCount('up2'), 3);
    ok(await run('cont', 'link', 'up2', label, '--path', p, '--link', 'symlink', '--prefix', path.dirname(path.dirname(target))));
    assert.equal(fs.readlinkSync(p), target);
    assert.equal((await resolve(p)).type, type);
  }
  for (const p of [p1, p2, p3]) ok(await run('cont', 'destroy', '--path', p));
  assert.equal(await contCount('up2'), 0);
  assert.equal(fs.existsSync(p1), false);
});

test('rollback: when the link cannot be made the container is destroyed again', async () => {
  ok(await run('pool', 'create', 'up3'));
  fails(await run('cont', 'create', 'up3', 'r1', '--path', path.join(ws, 'no', 'such', 'dir')), /parent directory .* does not exist/);
  fs.mkdirSync(path.join(ws, 'taken'));
  fails(await run('cont', 'create', 'up3', 'r2', '--path', path.join(ws, 'taken')), /already exists/);
  fails(await run('cont', 'create', 'up3', 'r3', '--path', path.join(ws, 'lus'), '--link', 'lustre'), /needs the Lustre 'lfs' command, which is not installed/);
  fails(await run('cont', 'create', 'up3', 'r4', '--path', path.join(ws, 'x'), '--link', 'bogus'), /unknown link kind 'bogus'/);
  assert.equal(await contCount('up3'), 0);
  assert.equal(fs.existsSync(path.join(ws, 'lus')), false);
  // a failure after the container exists (the path appears in between): the container goes again
  const racy = path.join(ws, 'racy');
  const r = await runCli(['cont', 'create', 'up3', 'r5', '--path', racy], { env: { ...env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(`import fs from 'node:fs'; const m = fs.mkdirSync; fs.mkdirSync = function (p, ...a) { if (String(p).endsWith('/racy')) { m.call(fs, p, ...a); } return m.call(fs, p, ...a); };`)}` } });
  fails(r, /already exists.*not kept/);
  assert.equal(await contCount('up3'), 0);
  // container link/unlink bad input
  fails(await run('cont', 'link', 'up3', 'nosuch', '--path', path.join(ws, 'nl')), /no container 'nosuch'/);
  fails(await run('cont', 'unlink', '--path', ws), /is not a UNS link/);
});

test('bad links: malformed user.daos, dangling, symlink loops', async () => {
  const poolUuid = ok(await run('pool', 'create', 'up4')).trim();
  const bad = path.join(ws, 'badlink');
  fs.mkdirSync(bad);
  setAttributeSync(bad, 'user.daos', Buffer.from('DAOS.POSIX://not-a-uuid/x\0'));
  fails(await run('uns', 'resolve', `${bad}/x`), new RegExp(`${bad}: malformed user.daos value \\(pool UUID 'not-a-uuid' cannot be parsed\\)`));
  fails(await run('fs', 'ls', bad), /malformed user.daos/);
  setAttributeSync(bad, 'user.daos', Buffer.from(`DAOS.WHAT://${poolUuid}/${poolUuid}\0`));
  fails(await run('uns', 'resolve', bad), /unknown container type 'WHAT'/);
  setAttributeSync(bad, 'user.daos', Buffer.from('DAOS.POSIX://0b5ca1ab-1e55-4c0d-9f5e-cafef00d1234/decafbad-0000-4abc-8def-0123456789ab\0'));
  const r = await resolve(bad);
  assert.equal(r.dangling, true);
  assert.equal(r.poolLabel, null);
  const scan = JSON.parse(ok(await run('uns', 'scan', ws, '--json'))) as Array<{ path: string; dangling: boolean }>;
  assert.deepEqual(scan.filter((s) => s.dangling).map((s) => s.path), [fs.realpathSync(bad)]);
  assert.match(ok(await run('uns', 'scan', ws)), /badlink.*DANGLING/);
  fails(await run('cont', 'destroy', '--path', bad), /does not exist \(a dangling link/);
  assert.ok(fs.existsSync(bad), 'nothing changed');
  fails(await run('fs', 'ls', bad), /no pool/);
  ok(await run('cont', 'unlink', '--path', bad));
  assert.equal(fs.existsSync(bad), false);
  // loops
  fs.symlinkSync(path.join(ws, 'loop-b'), path.join(ws, 'loop-a'));
  fs.symlinkSync(path.join(ws, 'loop-a'), path.join(ws, 'loop-b'));
  fails(await run('uns', 'resolve', path.join(ws, 'loop-a', 'x')), /too many levels of symbolic links/);
  fails(await run('fs', 'ls', path.join(ws, 'loop-a')), /too many levels of symbolic links/);
  fs.rmSync(path.join(ws, 'loop-a'));
  fs.rmSync(path.join(ws, 'loop-b'));
  // a plain path is no container
  fails(await run('fs', 'ls', ws), /is not in a container/);
});

test('lustre-upcall helper writes the item list; lustre-target builds the client\'s target', async () => {
  const out = path.join(home, 'upcall_info');
  ok(await run('uns', 'lustre-upcall', 'lustre-ffff9a', '--output', out));
  const b = fs.readFileSync(out);
  assert.equal(b.length, 56);
  assert.deepEqual([...b.subarray(0, 16)], [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 36, 0, 0, 0]);
  ok(await run('uns', 'lustre-upcall', 'lustre-ffff9a', '--output', out, '--format', 'daos/[0,36]/[37,36]'));
  assert.equal(fs.readFileSync(out).length, 24 + 16 + 20 + 16 + 4); // "daos/" is a 5-byte string item
  fails(await run('uns', 'lustre-upcall', 'lustre-ffff9a', '--output', out, '--format', '[0,36'), /'\[' at offset 0 is not closed/);
  fails(await run('uns', 'lustre-upcall', '../etc', '--output', out), /bad llite instance name/);
  fails(await run('uns', 'lustre-upcall', 'lustre-none', '--output', path.join(home, 'no', 'dir', 'f')), /ENOENT/);
  const P = '0b5ca1ab-1e55-4c0d-9f5e-cafef00d1234';
  const C = 'decafbad-0000-4abc-8def-0123456789ab';
  assert.equal(ok(await run('uns', 'lustre-target', `${P}:${C}`, '--format', '[0,36]/[37,36]', '--prefix', '/mnt/daos')), `//mnt/daos/${P}/${C}\n`);
  assert.equal(ok(await run('uns', 'lustre-target', `${P}:${C}`, '--items', out.replace(/$/, ''), '--prefix', '/mnt/daos')).startsWith('//mnt/daos/daos/'), true);
  assert.equal(ok(await run('uns', 'lustre-target', `${P}/${C}`)), `//mnt//${P}/${C}\n`);
  fails(await run('uns', 'lustre-target', 'short', '--format', '[0,36]/[37,36]'), /too short for slice \[0,36\]/);
});
