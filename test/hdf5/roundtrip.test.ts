// Round trips of real .h5 files through HDF5 containers: import, export, and
// h5dump (with and without -p) of the original and the exported file equal,
// less file addresses and storage sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir, tempEngine, runCli } from '../helpers.js';
import { createPool } from '../../src/container/index.js';
import { importH5, exportH5, openH5Container } from '../../src/hdf5/index.js';
import { makeRichFile, h5dumpNormalized } from './fixtures.js';

function sameDump(a: string, b: string): void {
  for (const args of [[], ['-p']]) assert.equal(h5dumpNormalized(b, args), h5dumpNormalized(a, args), `h5dump ${args.join(' ')} differs`);
}

function run(cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test('a file with every supported feature round-trips (library)', async () => {
  const dir = tempDir();
  const { engine } = await tempEngine();
  try {
    await createPool(engine, 'p');
    makeRichFile(path.join(dir, 'rich.h5'));
    const r = await importH5(engine, 'p', 'rich', path.join(dir, 'rich.h5'));
    assert.equal(r.datasets, 16);
    assert.equal(r.groups, 3);
    assert.equal(r.links, 6);
    const x = await exportH5(engine, 'p', 'rich', path.join(dir, 'out.h5'));
    assert.equal(x.datasets, 16);
    sameDump(path.join(dir, 'rich.h5'), path.join(dir, 'out.h5'));
    // the export's own h5ls works and sees the hard link as one object
    const ls = spawnSync('h5ls', ['-r', path.join(dir, 'out.h5')], { encoding: 'utf8' });
    assert.equal(ls.status, 0);
    assert.match(ls.stdout, /\/group1\/sub_alias\s+Group, same as \/group1\/sub/);
    // the container holds the model: soft links resolve, hard links share the object
    const s = await openH5Container(engine, 'p', 'rich');
    const t = await s.openDataset('/group1/soft_to_temps');
    assert.equal(t.path, '/group1/sub/deeper/temps');
    assert.deepEqual(t.dims, [37, 20]);
    assert.equal((await s.open('/ints_again')).oid.toString(), (await s.open('/group1/ints')).oid.toString());
    await assert.rejects(s.open('/dangling'), /no such group or dataset/);
  } finally {
    await engine.close();
  }
});

test('files made by the HDF5 tools (h5import, h5repack, h5copy) round-trip through fs copy', async () => {
  const dir = tempDir();
  const home = tempDir('strata-home-');
  const env = { STRATA_HOME: home };
  // h5import: a 3-D float dataset and a 2-D integer dataset from text
  const vals = Array.from({ length: 4 * 6 * 5 }, (_, i) => (i * 0.37 - 9).toFixed(3)).join(' ');
  fs.writeFileSync(path.join(dir, 'f.txt'), vals);
  fs.writeFileSync(path.join(dir, 'f.cfg'), 'PATH /grid/temperature\nINPUT-CLASS TEXTFP\nOUTPUT-CLASS FP\nOUTPUT-SIZE 64\nRANK 3\nDIMENSION-SIZES 4 6 5\nCHUNKED-DIMENSION-SIZES 2 3 5\nCOMPRESSION-TYPE GZIP\nCOMPRESSION-PARAM 4\nMAXIMUM-DIMENSIONS -1 6 5\n');
  fs.writeFileSync(path.join(dir, 'i.txt'), Array.from({ length: 50 }, (_, i) => String(i * i - 300)).join(' '));
  fs.writeFileSync(path.join(dir, 'i.cfg'), 'PATH counts\nINPUT-CLASS TEXTIN\nOUTPUT-CLASS IN\nOUTPUT-SIZE 16\nRANK 2\nDIMENSION-SIZES 5 10\nOUTPUT-BYTE-ORDER BE\n');
  run('h5import', ['f.txt', '-c', 'f.cfg', 'i.txt', '-c', 'i.cfg', '-o', 'tools.h5'], dir);
  // h5repack: rechunk + shuffle/deflate the integer dataset; h5copy: a copy under another group
  run('h5repack', ['-l', 'counts:CHUNK=2x5', '-f', 'counts:SHUF', '-f', 'counts:GZIP=7', 'tools.h5', 'repacked.h5'], dir);
  run('h5copy', ['-i', 'repacked.h5', '-o', 'repacked.h5', '-s', '/grid', '-d', '/copies/grid', '-p'], dir);
  assert.equal((await runCli(['pool', 'create', 'p'], { env })).code, 0);
  const imp = await runCli(['fs', 'copy', '--src', path.join(dir, 'repacked.h5'), '--dst', 'daos://p/tools'], { env });
  assert.equal(imp.code, 0, imp.stderr);
  const ls = await runCli(['h5', 'ls', '-r', 'daos://p/tools', '--json'], { env });
  assert.equal(ls.code, 0, ls.stderr);
  const entries = JSON.parse(ls.stdout) as Array<{ path: string; kind: string; type?: string; chunk?: number[]; filters?: string[] }>;
  const counts = entries.find((e) => e.path === '/counts')!;
  assert.equal(counts.type, 'i16be');
  assert.deepEqual(counts.chunk, [2, 5]);
  assert.deepEqual(counts.filters, ['shuffle', 'deflate']);
  assert.ok(entries.some((e) => e.path === '/copies/grid/temperature' && e.kind === 'dataset'));
  const exp = await runCli(['fs', 'copy', '--src', 'daos://p/tools', '--dst', path.join(dir, 'back.h5')], { env });
  assert.equal(exp.code, 0, exp.stderr);
  sameDump(path.join(dir, 'repacked.h5'), path.join(dir, 'back.h5'));
  // into a directory: <label>.h5
  const exp2 = await runCli(['fs', 'copy', '--src', 'daos://p/tools', '--dst', dir], { env });
  assert.equal(exp2.code, 0, exp2.stderr);
  sameDump(path.join(dir, 'repacked.h5'), path.join(dir, 'tools.h5'));
  // h5 dump of a slice (text and JSON)
  const d = await runCli(['h5', 'dump', 'daos://p/tools/counts', '--slice', '1:2,3:2', '--json'], { env });
  assert.equal(d.code, 0, d.stderr);
  const dj = JSON.parse(d.stdout) as { values: number[] };
  assert.deepEqual(dj.values, [13, 14, 23, 24].map((i) => i * i - 300));
  const t = await runCli(['h5', 'dump', 'daos://p/tools/grid/temperature', '--slice', '0:1,0:1,0:2'], { env });
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /\(0,0,0\): -9, -8\.63/);
});

test('a UNS path of an HDF5 container: import into it, export from it', async () => {
  const dir = tempDir();
  const home = tempDir('strata-home-');
  const env = { STRATA_HOME: home };
  makeRichFile(path.join(dir, 'rich.h5'));
  assert.equal((await runCli(['pool', 'create', 'p'], { env })).code, 0);
  const link = path.join(dir, 'linked.h5');
  const c = await runCli(['container', 'create', 'p', '--type', 'HDF5', '--path', link], { env });
  assert.equal(c.code, 0, c.stderr);
  const imp = await runCli(['fs', 'copy', '--src', path.join(dir, 'rich.h5'), '--dst', link], { env });
  assert.equal(imp.code, 0, imp.stderr);
  // a second import into the now non-empty container is refused
  const again = await runCli(['fs', 'copy', '--src', path.join(dir, 'rich.h5'), '--dst', link], { env });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^strata: .*is not empty/);
  const ls = await runCli(['h5', 'ls', `${link}/group1`], { env });
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /\/group1\/ints\tdataset i32le \{4, 5, 3\} contiguous/);
  const exp = await runCli(['fs', 'copy', '--src', link, '--dst', path.join(dir, 'out.h5')], { env });
  assert.equal(exp.code, 0, exp.stderr);
  sameDump(path.join(dir, 'rich.h5'), path.join(dir, 'out.h5'));
  // a .h5 file copied into a POSIX container stays a file
  assert.equal((await runCli(['container', 'create', 'p', 'posix'], { env })).code, 0);
  const cp = await runCli(['fs', 'copy', '--src', path.join(dir, 'rich.h5'), '--dst', 'daos://p/posix/rich.h5'], { env });
  assert.equal(cp.code, 0, cp.stderr);
  const st = await runCli(['fs', 'stat', 'daos://p/posix/rich.h5', '--json'], { env });
  assert.equal(JSON.parse(st.stdout).size, fs.statSync(path.join(dir, 'rich.h5')).size);
});
