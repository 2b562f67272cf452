// Test fixtures: real .h5 files made with the h5lib binding (every datatype
// the HDF5 layer supports, nested groups, hard/soft/external links,
// attributes, chunked/contiguous/compact datasets, fill values, filters),
// and h5dump output with file addresses removed.
import { spawnSync } from 'node:child_process';
import { H5File, type H5RichType } from '../../src/hdf5/h5lib/index.js';

const le = 'le' as const;
export const I32: H5RichType = { class: 'integer', size: 4, signed: true, order: le };
export const U8: H5RichType = { class: 'integer', size: 1, signed: false, order: le };
export const I64BE: H5RichType = { class: 'integer', size: 8, signed: true, order: 'be' };
export const U16: H5RichType = { class: 'integer', size: 2, signed: false, order: le };
export const F32: H5RichType = { class: 'float', size: 4, order: le };
export const F64: H5RichType = { class: 'float', size: 8, order: le };
export const F64BE: H5RichType = { class: 'float', size: 8, order: 'be' };
export const STR12: H5RichType = { class: 'string', size: 12, variable: false, cset: 'ascii', pad: 'nullterm' };
export const STRSP: H5RichType = { class: 'string', size: 6, variable: false, cset: 'ascii', pad: 'spacepad' };
export const VSTR: H5RichType = { class: 'string', size: 16, variable: true, cset: 'utf8', pad: 'nullterm' };
export const OPAQUE: H5RichType = { class: 'opaque', size: 5, tag: 'raw bytes' };
export const ENUM: H5RichType = { class: 'enum', size: 1, base: { class: 'integer', size: 1, signed: true, order: le }, members: [{ name: 'RED', value: 0 }, { name: 'GREEN', value: 1 }, { name: 'BLUE', value: 42 }] };
export const COMPOUND: H5RichType = {
  class: 'compound', size: 32, members: [
    { name: 'id', offset: 0, type: I32 },
    { name: 'x', offset: 4, type: F64 },
    { name: 'label', offset: 12, type: { class: 'string', size: 8, variable: false, cset: 'ascii', pad: 'nullterm' } },
    { name: 'color', offset: 20, type: ENUM },
    { name: 'pair', offset: 21, type: { class: 'array', size: 4, dims: [2], base: { class: 'integer', size: 2, signed: false, order: le } } },
    { name: 'tail', offset: 25, type: { class: 'opaque', size: 7, tag: 't' } },
  ],
};

function f32s(n: number, f: (i: number) => number): Buffer {
  const b = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) b.writeFloatLE(f(i), i * 4);
  return b;
}
function i32s(n: number, f: (i: number) => number): Buffer {
  const b = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) b.writeInt32LE(f(i), i * 4);
  return b;
}

/** A file with every supported feature. */
export function makeRichFile(file: string): void {
  const f = H5File.create(file, { overwrite: true });
  try {
    f.writeAttrRaw('title', VSTR, { kind: 'scalar', dims: [] }, ['rich test file ✓']);
    f.writeAttrRaw('version', I32, { kind: 'simple', dims: [3] }, i32s(3, (i) => i + 1));
    const g = f.createGroup('group1');
    g.writeAttrRaw('units', STR12, { kind: 'scalar', dims: [] }, Buffer.from('meters\0\0\0\0\0\0'));
    const sub = g.createGroup('sub');
    const deep = sub.createGroup('deeper');
    // chunked 2-D float dataset, unlimited first dim, deflate + shuffle, user fill value, partially written
    const fill = Buffer.alloc(4); fill.writeFloatLE(-1.5);
    const ds = deep.createDatasetEx('temps', F32, {
      space: { kind: 'simple', dims: [37, 20], maxdims: [-1, 20] }, layout: 'chunked', chunk: [8, 6],
      filters: [{ id: 2, name: '', flags: 1, cd: [] }, { id: 1, name: '', flags: 1, cd: [6] }],
      fill: { status: 'user', value: fill, allocTime: 'incr', fillTime: 'ifset' },
    });
    ds.writeRaw([0, 0], [30, 20], f32s(600, (i) => Math.sin(i) * 100));
    ds.writeAttrRaw('scale', F64, { kind: 'scalar', dims: [] }, Buffer.from(new Float64Array([0.25]).buffer));
    ds.close();
    deep.close(); sub.close();
    // contiguous integers of several kinds
    const a = g.createDatasetEx('ints', I32, { space: { kind: 'simple', dims: [4, 5, 3] } });
    a.writeRaw([0, 0, 0], [4, 5, 3], i32s(60, (i) => i * 7 - 100));
    a.close();
    const b = g.createDatasetEx('big_endian', I64BE, { space: { kind: 'simple', dims: [6] } });
    const be = Buffer.alloc(48); for (let i = 0; i < 6; i++) be.writeBigInt64BE(BigInt(i) * 1000000000000n - 3n, i * 8);
    b.writeRaw([0], [6], be); b.close();
    const u = g.createDatasetEx('bytes', U8, { space: { kind: 'simple', dims: [10] }, layout: 'compact' });
    u.writeRaw([0], [10], Buffer.from([0, 1, 2, 3, 250, 251, 252, 253, 254, 255])); u.close();
    const d = f.createDatasetEx('doubles_be', F64BE, { space: { kind: 'simple', dims: [3, 3] }, layout: 'chunked', chunk: [2, 2] });
    const db = Buffer.alloc(72); for (let i = 0; i < 9; i++) db.writeDoubleBE(i / 3, i * 8);
    d.writeRaw([0, 0], [3, 3], db); d.close();
    // strings: fixed, space-padded, variable
    const s = f.createDatasetEx('names', STR12, { space: { kind: 'simple', dims: [3] } });
    s.writeRaw([0], [3], Buffer.concat(['alpha', 'beta', 'gamma-delta'].map((x) => { const z = Buffer.alloc(12); z.write(x); return z; }))); s.close();
    const sp = f.createDatasetEx('padded', STRSP, { space: { kind: 'simple', dims: [2] } });
    sp.writeRaw([0], [2], Buffer.from('ab    xyz   ')); sp.close();
    const vs = f.createDatasetEx('vstrings', VSTR, { space: { kind: 'simple', dims: [2, 2] }, layout: 'chunked', chunk: [1, 2] });
    vs.writeStrings([0, 0], [2, 2], ['one', 'two ✓', '', 'a longer string with spaces']); vs.close();
    const sc = f.createDatasetEx('scalar_str', VSTR, { space: { kind: 'scalar', dims: [] } });
    sc.writeStrings([], [], ['just one']); sc.close();
    const sn = f.createDatasetEx('scalar_f64', F64, { space: { kind: 'scalar', dims: [] } });
    sn.writeRaw([], [], Buffer.from(new Float64Array([Math.PI]).buffer)); sn.close();
    // enum, opaque, compound
    const e = f.createDatasetEx('colors', ENUM, { space: { kind: 'simple', dims: [5] } });
    e.writeRaw([0], [5], Buffer.from([0, 1, 42, 42, 0])); e.close();
    const o = f.createDatasetEx('blobs', OPAQUE, { space: { kind: 'simple', dims: [2] } });
    o.writeRaw([0], [2], Buffer.from('0123456789')); o.close();
    const c = f.createDatasetEx('records', COMPOUND, { space: { kind: 'simple', dims: [3], maxdims: [-1] }, layout: 'chunked', chunk: [2] });
    const cb = Buffer.alloc(96);
    for (let i = 0; i < 3; i++) {
      const p = i * 32;
      cb.writeInt32LE(i - 1, p); cb.writeDoubleLE(i * 1.5, p + 4); cb.write(`rec${i}`, p + 12); cb.writeInt8([0, 1, 42][i]!, p + 20);
      cb.writeUInt16LE(i * 10, p + 21); cb.writeUInt16LE(i * 10 + 1, p + 23); cb.write(`tail${i}xx`, p + 25);
    }
    c.writeRaw([0], [3], cb);
    c.writeAttrRaw('desc', VSTR, { kind: 'simple', dims: [2] }, ['first', 'second']);
    c.close();
    // fill value only (never written), undefined-size dims, empty dataset
    const fv = Buffer.alloc(4); fv.writeInt32LE(-7);
    const fo = f.createDatasetEx('only_fill', I32, { space: { kind: 'simple', dims: [4, 4] }, layout: 'chunked', chunk: [2, 2], fill: { status: 'user', value: fv, allocTime: 'incr', fillTime: 'ifset' } });
    fo.writeRaw([1, 1], [1, 2], i32s(2, (i) => 100 + i)); fo.close();
    const em = f.createDatasetEx('empty', F32, { space: { kind: 'simple', dims: [0], maxdims: [-1] }, layout: 'chunked', chunk: [16] });
    em.close();
    const nul = f.createDatasetEx('nothing', I32, { space: { kind: 'null', dims: [] } });
    nul.close();
    // attribute kinds on the root
    f.writeAttrRaw('enum_attr', ENUM, { kind: 'simple', dims: [2] }, Buffer.from([42, 1]));
    f.writeAttrRaw('compound_attr', COMPOUND, { kind: 'scalar', dims: [] }, cb.subarray(0, 32));
    f.writeAttrRaw('opaque_attr', OPAQUE, { kind: 'scalar', dims: [] }, Buffer.from('hello'));
    f.writeAttrRaw('matrix', U16, { kind: 'simple', dims: [2, 3] }, Buffer.from(new Uint16Array([1, 2, 3, 4, 5, 6]).buffer));
    // links
    g.createLink('soft_to_temps', { type: 'soft', target: '/group1/sub/deeper/temps' });
    f.createLink('dangling', { type: 'soft', target: '/no/such/thing' });
    f.createLink('relative', { type: 'soft', target: 'group1/ints' });
    f.createLink('ints_again', { type: 'hard', target: '/group1/ints' });
    g.createLink('sub_alias', { type: 'hard', target: '/group1/sub' });
    f.createLink('ext', { type: 'external', target: '/x', file: 'other.h5' });
    g.close();
  } finally {
    f.close();
  }
}

/** h5dump output with what differs between equal files removed (file name, addresses, offsets, storage sizes). */
export function h5dumpNormalized(file: string, args: string[] = []): string {
  const r = spawnSync('h5dump', [...args, file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`h5dump ${file} failed (${r.status}): ${r.stderr}`);
  return r.stdout
    .replace(/^HDF5 ".*" \{$/m, 'HDF5 "FILE" {')
    .split('\n')
    .filter((l) => !/^\s*(OFFSET|SIZE)\s/.test(l))
    .join('\n');
}
