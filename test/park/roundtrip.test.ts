// Round trips: serialize -> deserialize gives a container whose `container
// check` digest equals the source's, for POSIX (every file kind, a 1 GiB
// file of data and a 1 GiB sparse-ish one), HDF5 and RAW containers, with 1
// and 2 workers; and the produced files show the packed layout (and, with
// --layout daos, the daos-serialize layout) in h5dump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { REPO, runCli, tempDir, tempEngine } from '../helpers.js';
import { serializeContainer, deserializeContainer, checkContainer } from '../../src/park/index.js';
import { createContainer, destroyContainer, listContainers, getAttrs, getAcl, getProps, openContainer } from '../../src/container/index.js';
import { OTYPE } from '../../src/object/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import { fillPosix, fillObjects, makePool } from './util.js';

test('POSIX container round trip (all file kinds, a 1 GiB file, a 1 GiB sparse file), -j 1 and -j 2', { timeout: 600_000 }, async () => {
  const { engine, url } = await tempEngine();
  await makePool(engine);
  await fillPosix(engine, 'pool', 'src', { big: true });
  const before = await checkContainer(engine, 'pool', 'src');
  assert.ok(before.objects > 8 && before.extents > 8);
  for (const jobs of [1, 2]) {
    const dir = tempDir();
    const s = await serializeContainer(engine, 'pool', 'src', { outputDir: dir, jobs, engineUrl: url });
    assert.equal(s.files.length, jobs);
    // holes are not stored: the files hold the 1 GiB of data and a few MiB, not the sparse file's 1 GiB
    const size = s.files.reduce((a, f) => a + fs.statSync(f).size, 0);
    assert.ok(size > 1024 * 1024 * 1024 && size < 1088 * 1024 * 1024, `files take ${size} bytes`);
    const d = await deserializeContainer(engine, 'pool', [dir], { label: `copy${jobs}`, jobs, engineUrl: url });
    const after = await checkContainer(engine, 'pool', d.label);
    assert.equal(after.digest, before.digest);
    assert.equal(after.metaDigest, before.metaDigest);
    assert.notEqual(after.uuid, before.uuid);
    fs.rmSync(dir, { recursive: true, force: true });
    if (jobs === 2) await destroyContainer(engine, 'pool', d.label);
  }
  // what the copy looks like through the usual interfaces
  const c = await openContainer(engine, 'pool', 'copy1');
  const dfs = await mountDfs(c, { readOnly: true });
  assert.equal((await dfs.readFile('/hard')).toString(), 'hello parking\n');
  assert.equal((await dfs.stat('/hard')).nlink, 2);
  assert.equal(await dfs.readlink('/link'), 'dir/small.txt');
  assert.equal(Buffer.from(await dfs.getxattr('/dir/small.txt', 'user.color')).toString(), 'blue');
  assert.equal((await dfs.stat('/big')).size, 1024 * 1024 * 1024);
  assert.equal((await dfs.stat('/dense')).size, 1024 * 1024 * 1024);
  assert.equal((await (await dfs.open('/dense')).read(700 * 1024 * 1024, 4)).readUInt32LE(0), 700);
  assert.equal((await dfs.stat('/sparse')).size, 8 * 1024 * 1024);
  assert.deepEqual(await getAttrs(engine, 'pool', 'copy1'), await getAttrs(engine, 'pool', 'src'));
  assert.deepEqual((await getAcl(engine, 'pool', 'copy1')).entries, (await getAcl(engine, 'pool', 'src')).entries);
  const props = (await getProps(engine, 'pool', 'copy1')).filter((p) => p.name !== 'label');
  assert.deepEqual(props, (await getProps(engine, 'pool', 'src')).filter((p) => p.name !== 'label'));
  // no run snapshots left on the source
  assert.equal((await engine.listSnapshots(before.uuid)).length, 0);
  await engine.close();
});

test('HDF5 and RAW containers with many small single values round trip; OIDs keep allocating after', async () => {
  const { engine } = await tempEngine();
  await makePool(engine);
  await fillObjects(engine, 'pool', 'h5', 'HDF5', { objects: 150 });
  await fillObjects(engine, 'pool', 'raw', 'RAW', { objects: 300, akeys: 8 });
  for (const label of ['h5', 'raw']) {
    const dir = tempDir();
    const src = await checkContainer(engine, 'pool', label);
    await serializeContainer(engine, 'pool', label, { outputDir: dir });
    const d = await deserializeContainer(engine, 'pool', [dir], { label: `${label}-copy` });
    const dst = await checkContainer(engine, 'pool', d.label);
    assert.equal(dst.digest, src.digest, label);
    assert.equal(dst.type, label === 'h5' ? 'HDF5' : 'RAW');
    assert.ok(dst.singles > 1000, String(dst.singles));
    // a new OID in the copy does not collide with a restored one
    const c = await openContainer(engine, 'pool', d.label, { write: true });
    const oid = await c.allocOid(0, 'S1');
    assert.equal((await c.object(oid).listDkeys()).length, 0);
  }
  await engine.close();
});

test('CLI: serialize, deserialize (label from the files, into another pool), check, h5dump -H shows the layout', async () => {
  const home = tempDir();
  const env = { STRATA_HOME: home };
  const cli = async (...args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await cli('pool', 'create', 'p1');
  await cli('pool', 'create', 'p2');
  await cli('container', 'create', 'p1', 'data', '--type', 'POSIX', '--attrs', 'k:v');
  const local = path.join(home, 'f.bin');
  fs.writeFileSync(local, Buffer.alloc(200000, 7));
  await cli('fs', 'put', local, 'daos://p1/data/f.bin');
  await cli('container', 'create-snap', 'p1', 'data', '--snap', 's1');
  await cli('fs', 'rm', 'daos://p1/data/f.bin');
  const out = path.join(home, 'out');
  const ser = JSON.parse(await cli('container', 'serialize', 'p1', 'data', '--output-path', out, '-j', '2', '--snap', 's1', '--json')) as { files: string[]; uuid: string };
  assert.deepEqual(ser.files.map((f) => path.basename(f)), [`${ser.uuid}_rank0.h5`, `${ser.uuid}_rank1.h5`]);
  await cli('container', 'deserialize', 'p2', ...ser.files);
  const list = JSON.parse(await cli('container', 'list', 'p2', '--json')) as Array<{ label: string }>;
  assert.deepEqual(list.map((c) => c.label), ['data']);
  const a = JSON.parse(await cli('container', 'check', 'p1', 'data', '--snap', 's1', '--json')) as { digest: string };
  const b = JSON.parse(await cli('container', 'check', 'p2', 'data', '--json')) as { digest: string };
  assert.equal(a.digest, b.digest);
  assert.match(await cli('fs', 'cat', 'daos://p2/data/f.bin'), /^\x07+$/);

  // strata's packed layout: fixed-size tables and one byte dataset, Version 1.0
  const dump = execFileSync('h5dump', ['-H', ser.files[0]!], { encoding: 'utf8' });
  for (const name of ['Objects', 'Dkeys', 'Akeys', 'Extents', 'Bytes', 'User Attributes']) assert.match(dump, new RegExp(`DATASET "${name}"`));
  for (const f of ['OID Hi', 'OID Low', 'Dkey Offset', 'Key Length', 'Akey Offset', 'Kind', 'Size', 'Offset', 'Length', 'Attribute Name', 'Attribute Value']) {
    assert.match(dump, new RegExp(`"${f}"`), f);
  }
  for (const attr of ['Version', 'Files Generated', 'DAOS_PROP_CO_LABEL', 'DAOS_PROP_CO_LAYOUT_TYPE', 'DAOS_PROP_CO_OWNER', 'DAOS_PROP_CO_OWNER_GROUP', 'DAOS_PROP_CO_ACL', 'DAOS_PROP_CO_ROOTS']) {
    assert.match(dump, new RegExp(`ATTRIBUTE "${attr}"`), attr);
  }
  assert.match(dump, /DATASET "Akeys" \{\s+DATATYPE\s+H5T_COMPOUND \{\s+H5T_STD_U32LE "Key Length";\s+H5T_STD_U8LE "Kind";\s+H5T_STD_U64LE "Size";\s+\}/, 'fixed-size rows, no variable-length fields');
  assert.match(execFileSync('h5dump', ['-a', 'Version', ser.files[0]!], { encoding: 'utf8' }), /H5T_IEEE_F32LE[\s\S]*\(0\): 1/);
  // h5dump reads the data too: the file's 200000 bytes of 7 are in Bytes
  assert.match(execFileSync('h5dump', ['-d', 'Bytes', '-s', '0', '-c', '1', ...ser.files], { encoding: 'utf8' }), /DATASET "Bytes"/);

  // --layout daos: mpiFileUtils' daos-serialize layout (Version 0.0), which deserialize reads too
  const outDaos = path.join(home, 'out-daos');
  const daos = JSON.parse(await cli('container', 'serialize', 'p1', 'data', '--output-path', outDaos, '-j', '2', '--snap', 's1', '--layout', 'daos', '--json')) as { files: string[] };
  const ddump = execFileSync('h5dump', ['-H', daos.files[0]!], { encoding: 'utf8' });
  for (const name of ['Oid Data', 'Dkey Data', 'Akey Data', 'User Attributes']) assert.match(ddump, new RegExp(`DATASET "${name}"`));
  for (const f of ['OID Hi', 'OID Low', 'Dkey Offset', 'Dkey Value', 'Akey Offset', 'Record KV Value', 'Akey Value', 'Dataset ID', 'Record Single Value', 'Attribute Name', 'Attribute Value']) {
    assert.match(ddump, new RegExp(`"${f}"`), f);
  }
  const both = daos.files.map((f) => execFileSync('h5dump', ['-H', f], { encoding: 'utf8' })).join('\n');
  assert.match(both, /DATASET "\d+" \{\s+DATATYPE\s+H5T_OPAQUE/);
  assert.match(both, /ATTRIBUTE "A-\d+"/);
  assert.match(execFileSync('h5dump', ['-a', 'Version', daos.files[0]!], { encoding: 'utf8' }), /H5T_IEEE_F32LE[\s\S]*\(0\): 0/);
  await cli('container', 'deserialize', 'p2', '--label', 'from-daos', outDaos);
  const c = JSON.parse(await cli('container', 'check', 'p2', 'from-daos', '--json')) as { digest: string };
  assert.equal(c.digest, a.digest);
  const bad = await runCli(['container', 'serialize', 'p1', 'data', '--output-path', outDaos, '--layout', 'zip'], { env });
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "strata: unknown layout 'zip' (packed or daos)\n");
  void listContainers;
});

test('a file of the previous layout (daos-serialize, all strata wrote before the packed layout) loads into the container it was written from', async () => {
  // Written by strata at commit 61f9cc6 from a POSIX container (chunk size 256K, cksum crc32, an ACL, two
  // user attributes): directories, small files, an empty file, a 2000-byte pattern, a sparse file of 1 MiB
  // with bytes at 0 and 10000, xattrs, a symlink, a dangling symlink and a hard link. Its digest then is beside it.
  const fixtures = path.join(REPO, 'test', 'park', 'fixtures');
  const file = path.join(fixtures, '645e4ad4-b682-47e1-9847-877c3c072561_rank0.h5');
  const want = JSON.parse(fs.readFileSync(path.join(fixtures, '645e4ad4-b682-47e1-9847-877c3c072561.digest.json'), 'utf8')) as { digest: string; metaDigest: string };
  assert.match(execFileSync('h5dump', ['-a', 'Version', file], { encoding: 'utf8' }), /\(0\): 0/);
  const { engine } = await tempEngine();
  await makePool(engine);
  const d = await deserializeContainer(engine, 'pool', [file]);
  assert.equal(d.label, 'old');
  const got = await checkContainer(engine, 'pool', 'old');
  assert.equal(got.digest, want.digest);
  assert.equal(got.metaDigest, want.metaDigest);
  const dfs = await mountDfs(await openContainer(engine, 'pool', 'old'), { readOnly: true });
  assert.equal((await dfs.readFile('/hard')).toString(), 'hello parking\n');
  assert.equal((await dfs.stat('/sparse')).size, 1 << 20);
  assert.equal((await (await dfs.open('/sparse')).read(10000, 13)).toString(), 'tail at 10000');
  assert.equal(Buffer.from(await dfs.getxattr('/dir/small.txt', 'user.color')).toString(), 'blue');
  // and serialized again, now packed, it comes back the same
  const dir = tempDir();
  await serializeContainer(engine, 'pool', 'old', { outputDir: dir });
  await deserializeContainer(engine, 'pool', [dir], { label: 'again' });
  assert.equal((await checkContainer(engine, 'pool', 'again')).digest, want.digest);
  await engine.close();
});

test('packed layout: a single value larger than a 4 MiB slice, an empty one, extents across slices and a byte far past them', async () => {
  const { engine } = await tempEngine();
  await makePool(engine);
  await createContainer(engine, 'pool', 'raw', { type: 'RAW' });
  const c = await openContainer(engine, 'pool', 'raw', { write: true });
  const obj = c.object(await c.allocOid(OTYPE.MULTI_HASHED, 'S1'));
  let tx = c.tx();
  tx.put(obj, 'd', 'big', crypto.randomBytes((5 << 20) + 3));
  tx.put(obj, 'd', 'empty', new Uint8Array(0));
  tx.put(obj, new Uint8Array([0, 255]), new Uint8Array([1]), crypto.randomBytes(10));
  await tx.commit();
  tx = c.tx();
  tx.write(obj, 'e', 'arr', (4 << 20) - 5, crypto.randomBytes(9 << 20));
  tx.write(obj, 'e', 'arr', 100 << 20, crypto.randomBytes(7));
  await tx.commit();
  const before = await checkContainer(engine, 'pool', 'raw');
  const dir = tempDir();
  const s = await serializeContainer(engine, 'pool', 'raw', { outputDir: dir });
  // holes take no space: the files hold the 14 MiB of values and extents, not the 100 MiB the array spans
  assert.ok(fs.statSync(s.files[0]!).size < 15 << 20);
  await deserializeContainer(engine, 'pool', [dir], { label: 'raw-copy' });
  const after = await checkContainer(engine, 'pool', 'raw-copy');
  assert.equal(after.digest, before.digest);
  assert.deepEqual([after.singles, after.extents, after.bytes], [3, 2, (5 << 20) + 3 + 10 + (9 << 20) + 7]);
  await engine.close();
});
