// HDF5 coverage: files written by h5py with the datatypes and storage
// features real files use (custom floats, variable-length data inside
// compounds and arrays, named datatypes, data filtered by plugins this
// machine may lack, object references) round-trip through HDF5 containers:
// h5diff and `h5dump -H` find the exported file identical, also after
// serialize → deserialize.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../helpers.js';
import { py, h5Env, roundTrip } from './h5py.js';

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
