// The typed library API: an application writes HDF5 data straight into an
// HDF5 container, reads hyperslabs back, and exports a file h5dump reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir, tempEngine } from '../helpers.js';
import { createPool, createContainer, createSnap } from '../../src/container/index.js';
import { openH5Container, exportH5, simpleType, stringType, type H5Type } from '../../src/hdf5/index.js';
import { H5File } from '../../src/hdf5/h5lib/index.js';

test('create groups, datasets, attributes, links; hyperslabs; extend; snapshots are read-only', async () => {
  const dir = tempDir();
  const { engine } = await tempEngine();
  try {
    await createPool(engine, 'p');
    await createContainer(engine, 'p', 'app', { type: 'HDF5' });
    const s = await openH5Container(engine, 'p', 'app', { write: true });
    const root = s.root();
    assert.deepEqual(await root.members(), []);
    const g = await root.createGroup('sim');
    await g.setAttrValues('step', simpleType('i64'), [42n], 'scalar');
    await g.setAttrValues('name', stringType('variable'), ['run A']);
    const d = await g.createDataset('field', { type: simpleType('f64'), dims: [10, 8], maxdims: [-1, 8], chunk: [4, 3], fill: { value: Buffer.from(new Float64Array([-1]).buffer) } });
    await d.writeValues([2, 1], [3, 4], Array.from({ length: 12 }, (_, i) => i + 0.5));
    assert.deepEqual(await d.readValues([2, 1], [1, 4]), [0.5, 1.5, 2.5, 3.5]);
    assert.deepEqual(await d.readValues([0, 0], [1, 2]), [-1, -1]); // fill value
    assert.deepEqual(await d.readValues([4, 3], [2, 2]), [10.5, 11.5, -1, -1]);
    await assert.rejects(d.readValues([9, 0], [2, 1]), (e: Error & { code?: string }) => e.code === 'EINVAL' && /out of range/.test(e.message));
    await assert.rejects(d.writeSlab([0, 0], [1, 1], Buffer.alloc(3)), /3 bytes given/);
    await d.setExtent([20, 8]);
    await d.writeValues([19, 7], [1, 1], [99]);
    assert.deepEqual(await d.readValues([18, 6], [2, 2]), [-1, -1, -1, 99]);
    await assert.rejects(d.setExtent([20, 9]), /exceeds the maximum/);
    await d.setExtent([4, 8]); // shrink: data outside goes
    await d.setExtent([6, 8]);
    assert.deepEqual(await d.readValues([4, 3], [2, 2]), [-1, -1, -1, -1]);
    await d.setAttrValues('units', stringType(8), ['K']);
    const rec: H5Type = { class: 'compound', size: 12, members: [{ name: 'a', offset: 0, type: simpleType('i32') }, { name: 'b', offset: 4, type: simpleType('f64') }] };
    const r = await root.createDataset('records', { type: rec, dims: [2] });
    await r.writeValues([0], [2], [{ a: 1, b: 2.5 }, { a: -3, b: 1e10 }]);
    assert.deepEqual(await r.readValues([1], [1]), [{ a: -3, b: 1e10 }]);
    const v = await root.createDataset('words', { type: stringType('variable'), dims: [3] });
    await v.writeStrings([0], [3], ['x', 'yy', 'zzz ✓']);
    await v.writeStrings([1], [1], ['changed']);
    assert.deepEqual(await v.readStrings([0], [3]), ['x', 'changed', 'zzz ✓']);
    await root.createSoftLink('latest', '/sim/field');
    await root.createHardLink('alias', r);
    await assert.rejects(root.createGroup('sim'), (e: Error & { code?: string }) => e.code === 'EEXIST');
    // variable-length sequences are stored (import) and read; writing them from values is not offered
    const ragged = await root.createDataset('ragged', { type: { class: 'vlen', size: 16, base: simpleType('i32') }, dims: [1] });
    assert.deepEqual(await ragged.readValues([0], [1]), [[]]);
    await assert.rejects(ragged.writeValues([0], [1], [[1, 2]]), (e: Error & { code?: string }) => e.code === 'ENOTSUP' && /import/.test(e.message));
    await assert.rejects(root.createDataset('bad', { type: simpleType('i32'), dims: [4], maxdims: [-1] }), /must be chunked/);
    assert.deepEqual((await root.members()).map((m) => `${m.name}:${m.kind}`), ['alias:dataset', 'latest:soft', 'ragged:dataset', 'records:dataset', 'sim:group', 'words:dataset']);
    assert.equal((await s.openDataset('/latest')).path, '/sim/field');
    assert.deepEqual(await (await s.openGroup('/sim')).getAttrValues('step'), [42n]);

    // a snapshot view never changes and refuses writes
    const snap = await createSnap(engine, 'p', 'app', { name: 's1' });
    await d.writeValues([0, 0], [1, 1], [7]);
    const ro = await openH5Container(engine, 'p', 'app', { snap: 's1' });
    const rd = await ro.openDataset('/sim/field');
    assert.deepEqual(await rd.readValues([0, 0], [1, 1]), [-1]);
    await assert.rejects(rd.writeValues([0, 0], [1, 1], [1]), (e: Error & { code?: string }) => e.code === 'EROFS');
    await assert.rejects(ro.root().createGroup('x'), (e: Error & { code?: string }) => e.code === 'EROFS');
    await assert.rejects(ro.root().setAttrValues('x', simpleType('u8'), [1]), (e: Error & { code?: string }) => e.code === 'EROFS');

    // export the snapshot: h5dump reads it, values as written before the snapshot
    const out = path.join(dir, 'app.h5');
    const x = await exportH5(engine, 'p', 'app', out, { snap: String(snap.epoch) });
    assert.equal(x.epoch, snap.epoch);
    const dump = spawnSync('h5dump', ['-d', '/sim/field', '-s', '0,0', '-c', '1,1', out], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    assert.match(dump.stdout, /\(0,0\): -1/);
    const f = H5File.open(out);
    try {
      const ds = f.openDataset('/sim/field');
      const m = ds.meta();
      assert.deepEqual(m.space, { kind: 'simple', dims: [6, 8], maxdims: [-1, 8] });
      assert.deepEqual(m.chunk, [4, 3]);
      assert.equal(m.fill.status, 'user');
      ds.close();
      const w = f.openDataset('/words');
      assert.deepEqual(w.readStrings([0], [3]), ['x', 'changed', 'zzz ✓']);
      w.close();
      assert.deepEqual(f.linkList().map((l) => `${l.name}:${l.type}`), ['alias:hard', 'latest:soft', 'ragged:hard', 'records:hard', 'sim:hard', 'words:hard']);
    } finally {
      f.close();
    }
    // a POSIX container is not an HDF5 one
    await createContainer(engine, 'p', 'posix');
    await assert.rejects(openH5Container(engine, 'p', 'posix'), /POSIX container, not HDF5/);
  } finally {
    await engine.close();
  }
});
