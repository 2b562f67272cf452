// Bad input: corrupt and truncated files, unsupported datatypes (named; the
// rest only with --skip-unsupported), out-of-range slices, writes to a
// snapshot. Every failure is one `strata: ...` line and leaves no container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tempDir, tempEngine, runCli } from '../helpers.js';
import { createPool, listContainers } from '../../src/container/index.js';
import { hdf5Copy } from '../../src/mover/hdf5.js';
import { H5File } from '../../src/hdf5/h5lib/index.js';
import { makeRichFile, F32 } from './fixtures.js';
import { py } from './h5py.js';

async function containers(env: Record<string, string>): Promise<string[]> {
  const r = await runCli(['container', 'list', 'p', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Array<{ label: string }>).map((c) => c.label);
}

test('corrupt, truncated and unsupported files fail cleanly; --skip-unsupported copies the rest', async () => {
  const dir = tempDir();
  const env = { STRATA_HOME: tempDir('strata-home-') };
  assert.equal((await runCli(['pool', 'create', 'p'], { env })).code, 0);
  const copy = (src: string, dst: string, ...more: string[]) => runCli(['fs', 'copy', '--src', src, '--dst', dst, ...more], { env });

  fs.writeFileSync(path.join(dir, 'garbage.h5'), crypto.randomBytes(4096));
  let r = await copy(path.join(dir, 'garbage.h5'), 'daos://p/g');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: .*garbage\.h5: not a readable HDF5 file/m);

  // a real file with a big dataset, cut in half: the structure may open, the data cannot be read
  const big = path.join(dir, 'big.h5');
  const f = H5File.create(big, { overwrite: true });
  f.createGroup('g').close();
  const ds = f.createDatasetEx('data', F32, { space: { kind: 'simple', dims: [1 << 18] } });
  ds.writeRaw([0], [1 << 18], crypto.randomBytes(4 << 18));
  ds.close();
  f.close();
  const whole = fs.readFileSync(big);
  fs.writeFileSync(path.join(dir, 'trunc.h5'), whole.subarray(0, whole.length >> 1));
  r = await copy(path.join(dir, 'trunc.h5'), 'daos://p/t');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: .*trunc\.h5/m);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  fs.writeFileSync(path.join(dir, 'head.h5'), whole.subarray(0, 100));
  r = await copy(path.join(dir, 'head.h5'), 'daos://p/h');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: .*head\.h5: not a readable HDF5 file/m);

  // unsupported datatypes are named; nothing is created unless --skip-unsupported
  const uns = path.join(dir, 'uns.h5');
  makeRichFile(uns);
  py(dir, `
with h5py.File('uns.h5', 'a') as f:
    lay = h5py.VirtualLayout(shape=(2, 4), dtype='i4')
    lay[0] = h5py.VirtualSource('.', '/group1/ints', shape=(4, 5, 3))[0:4, 0, 0]
    f.create_virtual_dataset('virtual', lay)
    f['group1'].create_dataset('outside', (10,), dtype='f8', external=[('raw.bin', 0, 80)])
`);
  r = await copy(uns, 'daos://p/u');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: .*unsupported objects?: .*\/group1\/outside: dataset with external storage/m);
  assert.match(r.stderr, /\/virtual: virtual dataset/);
  assert.match(r.stderr, /--skip-unsupported/);
  assert.deepEqual(await containers(env), []);
  r = await copy(uns, 'daos://p/u', '--skip-unsupported');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\/virtual: skipped/);
  assert.deepEqual(await containers(env), ['u']);
  const ls = await runCli(['h5', 'ls', 'daos://p/u'], { env });
  assert.doesNotMatch(ls.stdout, /virtual/);
  assert.match(ls.stdout, /\/records\tdataset/);

  // an existing label is refused before anything is written
  r = await copy(uns, 'daos://p/u');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: /);

  // slices out of range, groups given to dump, missing paths
  r = await runCli(['h5', 'dump', 'daos://p/u/group1/ints', '--slice', '3:2,0:1,0:1'], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: u:\/group1\/ints: read: selection 3:2 is out of range in dimension 0 \(extent 4\)/);
  r = await runCli(['h5', 'dump', 'daos://p/u/group1/ints', '--slice', '0:1'], { env });
  assert.match(r.stderr, /^strata: --slice '0:1' has 1 dimensions, the dataset 3/);
  r = await runCli(['h5', 'dump', 'daos://p/u/group1'], { env });
  assert.match(r.stderr, /^strata: .*is a group/);
  r = await runCli(['h5', 'ls', 'daos://p/u/nope'], { env });
  assert.match(r.stderr, /^strata: u:\/nope: no such group or dataset/);
  // exporting into a missing directory leaves nothing behind
  r = await copy('daos://p/u', path.join(dir, 'no', 'such', 'x.h5'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata: /);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('strata-')), []);
});

test('damaged data of the newer features: a dangling reference, a vlen element outside the heap, a chunk filter mask naming filters the pipeline lacks', async () => {
  const dir = tempDir();
  const env = { STRATA_HOME: tempDir('strata-home-') };
  const hidden = { HDF5_PLUGIN_PATH: tempDir('no-plugins-') };
  assert.equal((await runCli(['pool', 'create', 'p'], { env })).code, 0);
  const copy = (src: string, dst: string, more: Record<string, string> = {}) => runCli(['fs', 'copy', '--src', src, '--dst', dst], { env: { ...env, ...more } });
  const oneLine = (r: { code: number; stderr: string }, re: RegExp) => {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  };
  py(dir, `
with h5py.File('dangling.h5', 'w') as f:
    f.create_group('gone')
    f.create_dataset('data', data=np.arange(1000))
    f.create_dataset('refs', (2,), dtype=h5py.ref_dtype)[0] = f['gone'].ref
    del f['gone']
with h5py.File('vlen.h5', 'w') as f:
    d = f.create_dataset('v', (4,), dtype=h5py.vlen_dtype(np.int32))
    for i in range(4): d[i] = np.arange(i + 1)
    off = d.id.get_offset()
with open('vlen.h5', 'r+b') as raw:
    # element 2's global heap id: collection address (8 bytes after the 4-byte length) -> far beyond the file
    raw.seek(off + 2 * 16 + 4); raw.write((1 << 40).to_bytes(8, 'little'))
x = np.arange(400, dtype='<i4').reshape(20, 20)
with h5py.File('mask.h5', 'w') as f:
    d = f.create_dataset('lz4', data=x, chunks=(10, 10), compression=32004)
    d.id.write_direct_chunk((10, 10), x[10:, 10:].tobytes(), filter_mask=0x6)
`, { HDF5_PLUGIN_PATH: '/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins' });
  let r = await copy(path.join(dir, 'dangling.h5'), 'daos://p/dangling');
  oneLine(r, /^strata: .*dangling\.h5: .*refs.*(reference to an object that does not exist|not imported)/);
  r = await copy(path.join(dir, 'vlen.h5'), 'daos://p/vlen');
  oneLine(r, /^strata: .*vlen\.h5: /);
  r = await copy(path.join(dir, 'mask.h5'), 'daos://p/mask', hidden);
  oneLine(r, /^strata: .*mask\.h5: \/lz4: chunk \(1,1\): its filter mask 0x6 names filters the dataset's pipeline \(1 filter\) does not have/);
  assert.deepEqual(await containers(env), []);
});

test('a .h5 source replaced by a FIFO after it was recognised is refused at once: no open waits for a writer', { timeout: 30000 }, async () => {
  const dir = tempDir();
  const { engine } = await tempEngine();
  try {
    await createPool(engine, 'p');
    const src = path.join(dir, 'data.h5');
    makeRichFile(src);
    // Between the detection and the import's own opens the copy looks up the
    // engine and the destination: what another user can do meanwhile, done
    // right there: a FIFO nobody writes in the file's place.
    const swapped = async () => {
      fs.rmSync(src);
      assert.equal(spawnSync('mkfifo', [src]).status, 0);
      return engine;
    };
    await assert.rejects(hdf5Copy({ kind: 'posix', path: src }, { kind: 'container', pool: 'p', cont: 'c', path: '/' }, swapped, {}), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'EINVAL', e.message);
      assert.match(e.message, /data\.h5: not a regular file/);
      return true;
    });
    assert.deepEqual(await listContainers(engine, 'p'), []);
    assert.ok(fs.lstatSync(src).isFIFO(), 'the FIFO is left as it was');
  } finally {
    await engine.close();
  }
});
