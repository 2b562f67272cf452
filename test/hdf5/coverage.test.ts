// HDF5 coverage: files written by h5py with the datatypes and storage
// features real files use (custom floats, variable-length data inside
// compounds and arrays, named datatypes, data filtered by plugins this
// machine may lack, object references) round-trip through HDF5 containers:
// h5diff and `h5dump -H` find the exported file identical, also after
// serialize → deserialize.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers.js';
import { py, h5Env, roundTrip } from './h5py.js';
import { h5dumpNormalized } from './fixtures.js';

test('float16 and custom float layouts keep their exact bit layout', async () => {
  const e = await h5Env();
  const file = path.join(e.dir, 'floats.h5');
  py(e.dir, `
with h5py.File('floats.h5', 'w') as f:
    f['f16'] = (np.arange(12, dtype=np.float16) / 3).reshape(3, 4)
    f['f16be'] = np.array([0, -1.5, 65504, np.inf, -np.inf, 6e-8], dtype='>f2')
    f.create_dataset('f16chunked', data=np.linspace(-2, 2, 100, dtype=np.float16), chunks=(16,), compression='gzip')
    f['f128'] = np.arange(4, dtype=np.longdouble) / 3
    t = h5py.h5t.IEEE_F32LE.copy(); t.set_fields(23, 16, 7, 0, 16); t.set_ebias(63)
    ds = h5py.h5d.create(f.id, b'bf_like', t, h5py.h5s.create_simple((3,)))
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([1.5, -2.25, 1e10], dtype=np.float32))
    f['f16'].attrs['half'] = np.array([0.5, 2.0], dtype=np.float16)
    f['f16'].attrs['cplx'] = np.array([(1.5, 2)], dtype=[('h', np.float16), ('i', np.int8)])
`);
  await roundTrip(e, file, 'floats');
  const ls = await runCli(['h5', 'ls', 'daos://p/floats'], { env: e.env });
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /\/f16\tdataset f16le \{3, 4\}/);
  assert.match(ls.stdout, /\/bf_like\tdataset f32le\{s23 e16:7 m0:16 bias63\}/);
  const d = await runCli(['h5', 'dump', 'daos://p/floats/f16be', '--json'], { env: e.env });
  assert.equal(d.code, 0, d.stderr);
  const j = JSON.parse(d.stdout) as { values: Array<number | null>; attributes: Record<string, unknown> };
  assert.deepEqual(j.values.slice(0, 3), [0, -1.5, 65504]);
  const t = await runCli(['h5', 'dump', 'daos://p/floats/f16'], { env: e.env });
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /ATTRIBUTE half = 0\.5, 2/);
  assert.match(t.stdout, /\(0,0\): 0, 0\.333251953125, 0\.66650390625, 1/);
});

test('variable-length sequences of any base type and strings inside compounds and arrays (datasets and attributes)', async () => {
  const e = await h5Env();
  const file = path.join(e.dir, 'vlen.h5');
  py(e.dir, `
S = h5py.string_dtype()
with h5py.File('vlen.h5', 'w') as f:
    v = f.create_dataset('ints', (5,), dtype=h5py.vlen_dtype(np.int16))
    v[0] = [1, 2, 3]; v[2] = [5]; v[3] = np.arange(1000, dtype=np.int16)
    d = f.create_dataset('doubles2d', (3, 4), dtype=h5py.vlen_dtype(np.float64), chunks=(2, 2), maxshape=(None, 4))
    for i in range(3):
        for j in range(4):
            d[i, j] = np.linspace(0, 1, i * 4 + j)
    f.create_dataset('bytes_be', (2,), dtype=h5py.vlen_dtype(np.dtype('>u4')))[1] = [1, 0xdeadbeef]
    ct = np.dtype([('id', np.int32), ('name', S), ('vals', h5py.vlen_dtype(np.float32)), ('tags', S, (2,))])
    c = f.create_dataset('records', (4,), dtype=ct, chunks=(3,), maxshape=(None,), compression='gzip')
    c[0] = (1, 'first ✓', np.array([1.5, 2.5], dtype=np.float32), ('a', 'b'))
    c[1] = (2, '', np.array([], dtype=np.float32), ('', 'long tag ' * 20))
    c[3] = (4, 'x' * 5000, np.arange(300, dtype=np.float32), ('y', 'z'))
    a = f.create_dataset('strarr', (3,), dtype=np.dtype((S, (2, 2))))
    a[0] = [['p', 'q'], ['r', 's']]; a[2] = [['', 'é'], ['t', 'uu']]
    nested = h5py.h5t.vlen_create(h5py.h5t.vlen_create(h5py.h5t.STD_I8LE))
    ds = h5py.h5d.create(f.id, b'nested', nested, h5py.h5s.create_simple((2,)))
    f['scalar_comp'] = np.array((7, 'one'), dtype=[('n', np.int64), ('s', S)])
    f['fixed_and_vstr'] = np.array(['plain', 'strings'], dtype=object).astype(S)
    va = np.empty(2, dtype=object); va[0] = np.array([1, 2, 3], dtype=np.int32); va[1] = np.array([], dtype=np.int32)
    f.attrs.create('vlen_attr', va, dtype=h5py.vlen_dtype(np.int32))
    f.attrs.create('comp_attr', np.array([(1, 'one'), (2, 'two')], dtype=[('n', np.int8), ('s', S)]))
    f['ints'].attrs.create('str_array_attr', np.array([['a', 'bb']], dtype=object), dtype=np.dtype((S, (2,))))
`);
  await roundTrip(e, file, 'vlen');
  const ls = await runCli(['h5', 'ls', 'daos://p/vlen'], { env: e.env });
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /\/ints\tdataset vlen<i16le> \{5\}/);
  assert.match(ls.stdout, /\/records\tdataset compound\{id:i32le,name:vstr,vals:vlen<f32le>,tags:array\[2\]<vstr>\} \{4\/Inf\} chunk \{3\}, deflate/);
  const d = await runCli(['h5', 'dump', 'daos://p/vlen/records', '--slice', '0:2', '--json'], { env: e.env });
  assert.equal(d.code, 0, d.stderr);
  const j = JSON.parse(d.stdout) as { values: unknown[] };
  assert.deepEqual(j.values, [{ id: 1, name: 'first ✓', vals: [1.5, 2.5], tags: ['a', 'b'] }, { id: 2, name: '', vals: [], tags: ['', 'long tag '.repeat(20)] }]);
  const t = await runCli(['h5', 'dump', 'daos://p/vlen/doubles2d', '--slice', '0:1,2:2'], { env: e.env });
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /\(0,2\): \[ 0, 1 \], \[ 0, 0\.5, 1 \]/);
  const r = await runCli(['h5', 'dump', 'daos://p/vlen/ints', '--json'], { env: e.env });
  const rj = JSON.parse(r.stdout) as { values: number[][]; attributes: Record<string, unknown> };
  assert.deepEqual(rj.values.slice(0, 3), [[1, 2, 3], [], [5]]);
  assert.equal(rj.values[3]!.length, 1000);
  assert.deepEqual(rj.attributes['str_array_attr'], [['a', 'bb']]);
});

test('named (committed) datatypes stay named and shared by the datasets and attributes that use them', async () => {
  const e = await h5Env();
  const file = path.join(e.dir, 'named.h5');
  py(e.dir, `
S = h5py.string_dtype()
with h5py.File('named.h5', 'w') as f:
    f['types/point'] = np.dtype([('x', '<f8'), ('y', '<f8'), ('label', S)])
    f['types/small'] = np.dtype('>i2')
    f['types/half'] = np.dtype(np.float16)
    f['types/point'].attrs['doc'] = 'a 2-D point'
    f.create_dataset('a_points', (3,), dtype=f['types/point'])[1] = (1.0, 2.0, 'one')
    f.create_dataset('z/smalls', data=np.arange(5), dtype=f['types/small'], chunks=(2,))
    f.create_dataset('halves', data=np.arange(4) / 4, dtype=f['types/half'])
    f['z'].attrs.create('small_attr', data=[1, 2], dtype=f['types/small'])
    f['types/alias'] = f['types/small']
`);
  await roundTrip(e, file, 'named');
  const ls = await runCli(['h5', 'ls', '-r', 'daos://p/named'], { env: e.env });
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /\/types\/point\tdatatype compound\{x:f64le,y:f64le,label:vstr\}/);
  assert.match(ls.stdout, /\/z\/smalls\tdataset named:i16be \{5\}/);
  const d = await runCli(['h5', 'dump', 'daos://p/named/types/small'], { env: e.env });
  assert.equal(d.code, 1);
  assert.match(d.stderr, /^strata: named:\/types\/small: is a named datatype \(use h5 ls\)/);
});

const PLUGINS = '/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins';

test('datasets compressed with a filter that is not available round-trip bit for bit (chunks copied raw with their filter masks)', async () => {
  const e = await h5Env();
  const file = path.join(e.dir, 'filtered.h5');
  const hidden = { HDF5_PLUGIN_PATH: tempDir('no-plugins-') };
  // written with the Debian plugins (LZ4, Bitshuffle+LZ4, LZF, BZip2), next to a built-in filter
  py(e.dir, `
x = np.arange(20000, dtype='<i4').reshape(200, 100) % 977
with h5py.File('filtered.h5', 'w') as f:
    f.create_dataset('lz4', data=x, chunks=(50, 40), compression=32004)
    f.create_dataset('bitshuffle', data=x.astype('<f8') / 7, chunks=(64, 100), compression=32008, compression_opts=(0, 2), maxshape=(None, 100))
    f.create_dataset('lzf', data=x[:, :10], chunks=(30, 10), compression='lzf')
    f.create_dataset('bzip2_shuffle', data=x[:50], chunks=(25, 25), compression=307, shuffle=True, fillvalue=-1)
    f.create_dataset('gzip', data=x[:20], chunks=(10, 10), compression='gzip')
    d = f.create_dataset('sparse', (100, 100), dtype='<i2', chunks=(10, 10), compression=32004)
    d[5, 5] = 7; d[95, 95] = 9
    # a chunk stored unfiltered (its mask skips the filter), as writers may do for incompressible data
    f['lz4'].id.write_direct_chunk((0, 0), x[:50, :40].tobytes(), filter_mask=1)
`, { HDF5_PLUGIN_PATH: PLUGINS });
  await roundTrip(e, file, 'filtered', { env: hidden, checkEnv: { HDF5_PLUGIN_PATH: PLUGINS } });
  // every chunk kept filtered, bytes and mask, is the same in the exported file (gzip was available: decoded, re-encoded)
  py(e.dir, `
with h5py.File('filtered.h5', 'r') as a, h5py.File('filtered.out.h5', 'r') as b:
    for name in [n for n in a if n != 'gzip']:
        da, db = a[name].id, b[name].id
        assert da.get_num_chunks() == db.get_num_chunks(), name
        for i in range(da.get_num_chunks()):
            off = da.get_chunk_info(i).chunk_offset
            assert da.read_direct_chunk(off) == db.read_direct_chunk(off), (name, off)
`);
  const ls = await runCli(['h5', 'ls', 'daos://p/filtered'], { env: { ...e.env, ...hidden } });
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /\/lz4\tdataset i32le \{200, 100\} chunk \{50, 40\}, HDF5 lz4 filter.*, chunks kept filtered/);
  assert.match(ls.stdout, /\/gzip\tdataset i32le \{20, 100\} chunk \{10, 10\}, deflate\n/);
  const d = await runCli(['h5', 'dump', 'daos://p/filtered/lz4', '--slice', '0:1,0:2'], { env: { ...e.env, ...hidden } });
  assert.equal(d.code, 1);
  assert.match(d.stderr, /^strata: filtered:\/lz4: cannot read: its chunks are kept compressed \(HDF5 lz4 filter.* was not available when it was imported\)/);
  assert.equal(d.stderr.trim().split('\n').length, 1);
  // with the filter available at import, values are stored decoded and dump reads them
  const imp = await runCli(['fs', 'copy', '--src', file, '--dst', 'daos://p/decoded'], { env: { ...e.env, HDF5_PLUGIN_PATH: PLUGINS } });
  assert.equal(imp.code, 0, imp.stderr);
  const v = await runCli(['h5', 'dump', 'daos://p/decoded/bitshuffle', '--slice', '1:1,0:3', '--json'], { env: e.env });
  assert.equal(v.code, 0, v.stderr);
  assert.deepEqual((JSON.parse(v.stdout) as { values: number[] }).values, [100, 101, 102].map((i) => (i % 977) / 7));
});

test('object and region references point at the same objects in the new file', async () => {
  const e = await h5Env();
  const file = path.join(e.dir, 'refs.h5');
  py(e.dir, `
R = h5py.ref_dtype
RR = h5py.regionref_dtype
with h5py.File('refs.h5', 'w') as f:
    f['data/grid'] = np.arange(100, dtype='<i4').reshape(10, 10)
    f['data/grid_alias'] = f['data/grid']
    f.create_group('z_last')
    f['types/t'] = np.dtype('<u2')
    # references to objects before and after them in name order, and null references
    r = f.create_dataset('a_refs', (5,), dtype=R)
    r[0] = f['data/grid'].ref; r[1] = f['z_last'].ref; r[4] = f['data'].ref
    f['scalar_ref'] = f['z_last'].ref
    c = f.create_dataset('regions', (3,), dtype=RR)
    g = f['data/grid']
    c[0] = g.regionref[2:5, 3:7]; c[1] = g.regionref[0, :]; c[2] = g.regionref[[1, 4, 9], 2]
    f['z_last'].attrs.create('points_to', [g.ref, f['a_refs'].ref], dtype=R)
    f['z_last'].attrs.create('region', g.regionref[1:3, 1:3], dtype=RR)
`);
  await roundTrip(e, file, 'refs');
  // the references of the export point at the same objects as the original's
  py(e.dir, `
for name in ['refs.h5', 'refs.out.h5', 'refs.back.h5']:
    with h5py.File(name, 'r') as f:
        r = f['a_refs']
        assert f[r[0]].name in ('/data/grid', '/data/grid_alias') and f[r[1]].name == '/z_last', name
        assert not r[2] and not r[3] and f[r[4]].name == '/data', name
        g = f['data/grid']
        assert list(np.ravel(g[f['regions'][0]])) == list(np.arange(100).reshape(10, 10)[2:5, 3:7].ravel()), name
        assert list(np.ravel(g[f['regions'][2]])) == [12, 42, 92], name
        assert list(np.ravel(g[f['z_last'].attrs['region']])) == [11, 12, 21, 22], name
        assert f[f['z_last'].attrs['points_to'][1]].name == '/a_refs', name
`);
  const d = await runCli(['h5', 'dump', 'daos://p/refs/a_refs', '--json'], { env: e.env });
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual((JSON.parse(d.stdout) as { values: string[] }).values, ['/data/grid', '/z_last', '', '', '/data']);
  const ls = await runCli(['h5', 'ls', 'daos://p/refs/regions'], { env: e.env });
  assert.match(ls.stdout, /\/regions\tdataset ref<region> \{3\}/);
  // a reference to a named datatype (h5diff 1.10 crashes comparing those, even between a file and its copy: checked with h5py)
  py(e.dir, `
with h5py.File('typeref.h5', 'w') as f:
    f['types/t'] = np.dtype('<u2')
    f.create_dataset('r', (1,), dtype=h5py.ref_dtype)[0] = f['types/t'].ref
`);
  const imp = await runCli(['fs', 'copy', '--src', path.join(e.dir, 'typeref.h5'), '--dst', 'daos://p/typeref'], { env: e.env });
  assert.equal(imp.code, 0, imp.stderr);
  const exp = await runCli(['fs', 'copy', '--src', 'daos://p/typeref', '--dst', path.join(e.dir, 'typeref.out.h5')], { env: e.env });
  assert.equal(exp.code, 0, exp.stderr);
  py(e.dir, `
with h5py.File('typeref.out.h5', 'r') as f:
    assert f[f['r'][0]].name == '/types/t' and isinstance(f[f['r'][0]], h5py.Datatype)
`);
});

test('object references inside compounds and sequences: dimension scales (DIMENSION_LIST, REFERENCE_LIST)', async () => {
  const e = await h5Env();
  const file = path.join(e.dir, 'scales.h5');
  py(e.dir, `
with h5py.File('scales.h5', 'w') as f:
    f['time'] = np.arange(4.0); f['x'] = np.arange(3.0)
    d = f.create_dataset('temp', data=np.arange(12.0).reshape(4, 3))
    f['time'].make_scale('time'); f['x'].make_scale('x')
    d.dims[0].attach_scale(f['time']); d.dims[1].attach_scale(f['x'])
    f.create_dataset('other', data=np.arange(4)).dims[0].attach_scale(f['time'])
    ct = np.dtype([('obj', h5py.ref_dtype), ('n', '<i4')])
    c = f.create_dataset('pairs', (2,), dtype=ct)
    c[0] = (f['x'].ref, 7)
    v = f.create_dataset('lists', (2,), dtype=h5py.vlen_dtype(h5py.ref_dtype))
    v[0] = np.array([f['temp'].ref, f['x'].ref], dtype=h5py.ref_dtype)
`);
  await roundTrip(e, file, 'scales');
  py(e.dir, `
for name in ['scales.h5', 'scales.out.h5', 'scales.back.h5']:
    with h5py.File(name, 'r') as f:
        d = f['temp']
        assert d.dims[0][0].name == '/time' and d.dims[1][0].name == '/x', name
        assert f[f['pairs'][0]['obj']].name == '/x' and f['pairs'][0]['n'] == 7, name
        assert [f[r].name for r in f['lists'][0]] == ['/temp', '/x'], name
        assert len(f['time'].attrs['REFERENCE_LIST']) == 2, name
`);
  const d = await runCli(['h5', 'dump', 'daos://p/scales/lists', '--json'], { env: e.env });
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual((JSON.parse(d.stdout) as { values: string[][] }).values, [['/temp', '/x'], []]);
});

test('a user block (bytes an application keeps before the HDF5 data) is carried', async () => {
  const e = await h5Env();
  const file = path.join(e.dir, 'ub.h5');
  py(e.dir, `
with h5py.File('ub.h5', 'w', userblock_size=1024) as f:
    f['x'] = np.arange(10)
with open('ub.h5', 'r+b') as raw:
    raw.write(b'#!strata user block test\\n' + bytes(range(256)) * 3)
`);
  const out = await roundTrip(e, file, 'ub');
  assert.deepEqual(fs.readFileSync(out).subarray(0, 1024), fs.readFileSync(file).subarray(0, 1024));
  assert.deepEqual(fs.readFileSync(path.join(e.dir, 'ub.back.h5')).subarray(0, 1024), fs.readFileSync(file).subarray(0, 1024));
});

test('link and attribute creation order is kept where the file tracks it (netCDF-4 variable order)', async () => {
  const e = await h5Env();
  const file = path.join(e.dir, 'order.h5');
  py(e.dir, `
import netCDF4
with h5py.File('order.h5', 'w', track_order=True) as f:
    for n in ['zeta', 'alpha', 'mid']:
        f[n] = np.arange(3)
    g = f.create_group('g', track_order=True)
    g['b'] = 1; g['a'] = 2; g['soft'] = h5py.SoftLink('/zeta')
    for n in ['y', 'x', 'w']:
        f.attrs[n] = n; f['zeta'].attrs[n] = 1; g.attrs[n] = 2.5
    f.create_group('plain')['z'] = 1
with netCDF4.Dataset('order.nc', 'w') as nc:
    nc.createDimension('t', 2)
    for v in ['zz', 'aa', 'mm']:
        nc.createVariable(v, 'f4', ('t',))[:] = [1, 2]
    nc.setncattr('second', 1); nc.setncattr('first', 2)
`);
  const out = await roundTrip(e, file, 'order');
  for (const args of [['-H', '--sort_by=creation_order'], ['-A', '--sort_by=creation_order']]) {
    assert.equal(h5dumpNormalized(out, args), h5dumpNormalized(file, args), `h5dump ${args.join(' ')} differs`);
  }
  const nc = await roundTrip(e, path.join(e.dir, 'order.nc'), 'ordernc', { park: false });
  py(e.dir, `
import netCDF4
a, b = netCDF4.Dataset('order.nc'), netCDF4.Dataset(${JSON.stringify(path.basename(nc))})
assert list(a.variables) == list(b.variables) == ['zz', 'aa', 'mm'], list(b.variables)
assert a.ncattrs() == b.ncattrs(), b.ncattrs()
`);
});
