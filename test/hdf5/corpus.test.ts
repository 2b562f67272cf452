// A corpus of files written by other tools (h5py's and netCDF4's own feature
// matrix: type classes × layouts × old/new file format, plus links, references,
// named types, dimension scales and netCDF-4 files) goes through import and
// export in-process: each round-trips identical (h5diff, h5dump -H and -H -p)
// or is refused cleanly naming the feature. The table is printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir, tempEngine } from '../helpers.js';
import { createPool } from '../../src/container/index.js';
import { importH5, exportH5 } from '../../src/hdf5/index.js';
import { isStrataError } from '../../src/errors.js';
import { py, h5diffSame, sameHeaders } from './h5py.js';

const MATRIX = `
import os, netCDF4
S = h5py.string_dtype()
os.makedirs('corpus', exist_ok=True)
n = 24
data = {
    'i1': np.arange(n, dtype='i1'), 'u2be': np.arange(n, dtype='>u2'), 'i8': np.arange(n, dtype='<i8') - 5,
    'u8be': np.arange(n, dtype='>u8'), 'f4': np.linspace(0, 1, n, dtype='<f4'), 'f8be': np.linspace(0, 1, n).astype('>f8'),
    'f2': np.linspace(-1, 1, n).astype('<f2'), 'c8': (np.arange(n) + 1j * np.arange(n)).astype('<c8'),
    'bool': np.arange(n) % 2 == 0, 'S7': np.array([b'abc%d' % i for i in range(n)], dtype='S7'),
    'vstr': np.array(['s%d' % i * (i % 4) for i in range(n)], dtype=object),
    'enum': np.arange(n, dtype='u1') % 3, 'opaque': np.frombuffer(bytes(range(n * 4)), dtype='V4'),
    'arraymember': np.array([(np.arange(6).reshape(2, 3) + i, i) for i in range(n)], dtype=[('m', '<i4', (2, 3)), ('k', 'u1')]), 'longdouble': np.arange(n, dtype=np.longdouble) / 3,
    'compound': np.array([(i, i / 2, b'n%d' % i) for i in range(n)], dtype=[('a', '<i4'), ('b', '<f8'), ('c', 'S4')]),
}
dtypes = {'vstr': S, 'enum': h5py.enum_dtype({'RED': 0, 'GREEN': 1, 'BLUE': 2}, basetype='u1')}
for name, arr in data.items():
    for libver, layout in (('earliest', 'contiguous'), ('latest', 'chunked')):
        with h5py.File('corpus/%s-%s-%s.h5' % (name, layout, libver), 'w', libver=libver) as f:
            kw = {'chunks': True, 'compression': 'gzip', 'shuffle': True, 'maxshape': (None,) + arr.shape[1:]} if layout == 'chunked' else {}
            d = f.create_dataset('d', data=arr, dtype=dtypes.get(name, arr.dtype), **kw)
            d.attrs.create('a', data=arr[:3], dtype=dtypes.get(name, arr.dtype))
with h5py.File('corpus/vlen-compact-earliest.h5', 'w', libver='earliest') as f:
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE); dcpl.set_layout(h5py.h5d.COMPACT)
    h5py.h5d.create(f.id, b'compact', h5py.h5t.STD_I32LE, h5py.h5s.create_simple((4,)), dcpl=dcpl).write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(4, dtype='<i4'))
    v = f.create_dataset('v', (3,), dtype=h5py.vlen_dtype(np.float32)); v[0] = [1, 2]; v[2] = [3]
with h5py.File('corpus/links-latest.h5', 'w', libver='latest') as f:
    f['g/h/data'] = np.arange(5); f['soft'] = h5py.SoftLink('/g/h/data'); f['dangling'] = h5py.SoftLink('/nowhere')
    f['ext'] = h5py.ExternalLink('other.h5', '/x'); f['hard'] = f['g/h/data']
with h5py.File('corpus/fill-alloc-earliest.h5', 'w', libver='earliest') as f:
    f.create_dataset('f', (10, 10), dtype='<i4', chunks=(5, 5), fillvalue=-9)[2, 2] = 1
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE); dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY); dcpl.set_fill_value(np.array([3], dtype='<u2'))
    h5py.h5d.create(f.id, b'early', h5py.h5t.STD_U16LE, h5py.h5s.create_simple((6,)), dcpl=dcpl)
    f.create_dataset('scalar', data=3.5); f.create_dataset('empty', data=h5py.Empty('f4'))
with h5py.File('corpus/refs-latest.h5', 'w', libver='latest') as f:
    f['x'] = np.arange(10); r = f.create_dataset('r', (2,), dtype=h5py.ref_dtype); r[0] = f['x'].ref
    f.create_dataset('rr', (1,), dtype=h5py.regionref_dtype)[0] = f['x'].regionref[2:5]
with h5py.File('corpus/named-earliest.h5', 'w', libver='earliest') as f:
    f['t'] = np.dtype([('p', '<f4'), ('q', S)]); f.create_dataset('d', (2,), dtype=f['t'])[0] = (1.5, 'x')
with h5py.File('corpus/scales-latest.h5', 'w', libver='latest') as f:
    f['t'] = np.arange(3.0); f['t'].make_scale('t'); f['d'] = np.zeros(3); f['d'].dims[0].attach_scale(f['t'])
with h5py.File('corpus/lzf-latest.h5', 'w', libver='latest') as f:
    f.create_dataset('z', data=np.arange(1000), chunks=(100,), compression='lzf')
    f.create_dataset('so', data=np.arange(1000, dtype='<i4'), chunks=(100,), scaleoffset=0)
    f.create_dataset('fl', data=np.arange(100.0), chunks=(10,), fletcher32=True)
with h5py.File('corpus/order-latest.h5', 'w', libver='latest', track_order=True) as f:
    f['b'] = 1; f['a'] = 2; f.attrs['z'] = 1; f.attrs['y'] = 2
for fmt in ('NETCDF4', 'NETCDF4_CLASSIC'):
    with netCDF4.Dataset('corpus/netcdf-%s.nc' % fmt.lower(), 'w', format=fmt) as nc:
        nc.title = 'CF test'; nc.Conventions = 'CF-1.8'
        nc.createDimension('time', None); nc.createDimension('lat', 4); nc.createDimension('lon', 5)
        t = nc.createVariable('time', 'f8', ('time',)); t.units = 'days since 2000-01-01'; t[:] = np.arange(3)
        v = nc.createVariable('temp', 'f4', ('time', 'lat', 'lon'), zlib=True, fill_value=-999.0); v.units = 'K'
        v[:] = np.arange(60, dtype='f4').reshape(3, 4, 5)
        lat = nc.createVariable('lat', 'f4', ('lat',)); lat[:] = np.linspace(-60, 60, 4)
        if fmt == 'NETCDF4':
            g = nc.createGroup('forecast'); g.createDimension('step', 2)
            s = g.createVariable('step', 'i4', ('step',)); s[:] = [6, 12]
            w = g.createVariable('wind', 'f4', ('time', 'step')); w[:] = np.ones((3, 2))
            nc.createVariable('names', str, ('lat',))[:] = np.array(['a', 'bb', 'ccc', ''], dtype=object)
print('\\n'.join(sorted(os.listdir('corpus'))))
`;

test('a corpus of files from h5py and netCDF4 (type classes × layouts × old/new format): ≥ 95% identical, the rest refused naming the feature', async (t) => {
  const dir = tempDir();
  const files = py(dir, MATRIX).trim().split('\n');
  assert.ok(files.length >= 40, `${files.length} files`);
  const { engine } = await tempEngine();
  const rows: Array<{ file: string; result: string }> = [];
  const ncOut: Array<[string, string]> = [];
  try {
    await createPool(engine, 'p');
    for (const [i, name] of files.entries()) {
      const src = path.join(dir, 'corpus', name);
      const out = path.join(dir, `${i}.out.h5`);
      try {
        await importH5(engine, 'p', `c${i}`, src);
      } catch (e) {
        assert.ok(isStrataError(e, 'ENOTSUP') && /unsupported/.test(e.message), `${name}: ${(e as Error).message}`);
        rows.push({ file: name, result: `refused: ${(e as Error).message.replace(/^.*?unsupported objects?: /, '')}` });
        continue;
      }
      await exportH5(engine, 'p', `c${i}`, out);
      if (name.endsWith('.nc')) ncOut.push([src, out]);
      try {
        h5diffSame(src, out);
        sameHeaders(src, out);
        rows.push({ file: name, result: 'identical' });
      } catch (e) {
        rows.push({ file: name, result: `DIFFERS: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}` });
      }
    }
  } finally {
    await engine.close();
  }
  // netCDF4 itself reads the exported netCDF-4 files: same dimensions, variables (creation order is not kept: compared as sets), values, groups
  py(dir, `
import netCDF4
for a, b in ${JSON.stringify(ncOut)}:
    x, y = netCDF4.Dataset(a), netCDF4.Dataset(b)
    assert dict((k, len(v)) for k, v in x.dimensions.items()) == dict((k, len(v)) for k, v in y.dimensions.items()), b
    assert sorted(x.variables) == sorted(y.variables) and sorted(x.groups) == sorted(y.groups), b
    for v in x.variables:
        assert x[v].dimensions == y[v].dimensions and (x[v][:] == y[v][:]).all(), (b, v)
    assert x.ncattrs() and sorted(x.ncattrs()) == sorted(y.ncattrs()), b
`);
  assert.equal(ncOut.length, 2);
  t.diagnostic(`\n${rows.map((r) => `| ${r.file} | ${r.result} |`).join('\n')}`);
  const same = rows.filter((r) => r.result === 'identical').length;
  assert.deepEqual(rows.filter((r) => r.result.startsWith('DIFFERS')), []);
  assert.ok(same / rows.length >= 0.95, `${same} of ${rows.length} identical`);
  fs.rmSync(dir, { recursive: true, force: true });
});
