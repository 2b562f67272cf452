// Streaming: a 256 MiB chunked dataset goes in and out of a container with
// bounded memory (peak RSS of the CLI process well under 300 MB), and its
// content survives (h5dump of a few slices equals; a checksum of all data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tempDir, CLI } from '../helpers.js';
import { H5File } from '../../src/hdf5/h5lib/index.js';

function cli(args: string[], env: Record<string, string>): { code: number; rssMB: number; stderr: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'RSSKB=%M', process.execPath, CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const m = /RSSKB=(\d+)/.exec(r.stderr);
  return { code: r.status ?? -1, rssMB: m ? Number(m[1]) / 1024 : NaN, stderr: r.stderr };
}

function digest(file: string): string {
  const f = H5File.open(file);
  try {
    const ds = f.openDataset('/big');
    const n = ds.meta().space.dims[0]!;
    const h = crypto.createHash('sha256');
    for (let at = 0; at < n; at += 1 << 22) h.update(ds.readRaw([at], [Math.min(1 << 22, n - at)]));
    ds.close();
    return h.digest('hex');
  } finally {
    f.close();
  }
}

test('a 256 MiB dataset streams through import and export with bounded memory', async () => {
  const dir = tempDir();
  const env = { STRATA_HOME: tempDir('strata-home-') };
  const src = path.join(dir, 'big.h5');
  const n = (256 << 20) / 8;
  const f = H5File.create(src, { overwrite: true });
  const ds = f.createDatasetEx('big', { class: 'float', size: 8, order: 'le' }, { space: { kind: 'simple', dims: [n], maxdims: [-1] }, layout: 'chunked', chunk: [1 << 17] });
  const slab = 1 << 21;
  for (let at = 0; at < n; at += slab) ds.writeRaw([at], [slab], Buffer.from(new Float64Array(slab).map((_, i) => Math.sqrt(at + i)).buffer));
  ds.close();
  f.close();
  assert.equal(cli(['pool', 'create', 'p'], env).code, 0);
  const imp = cli(['fs', 'copy', '-q', '--src', src, '--dst', 'daos://p/big'], env);
  assert.equal(imp.code, 0, imp.stderr);
  assert.ok(imp.rssMB < 300, `import peak RSS ${imp.rssMB} MB`);
  const out = path.join(dir, 'out.h5');
  const exp = cli(['fs', 'copy', '-q', '--src', 'daos://p/big', '--dst', out], env);
  assert.equal(exp.code, 0, exp.stderr);
  assert.ok(exp.rssMB < 300, `export peak RSS ${exp.rssMB} MB`);
  assert.equal(digest(out), digest(src));
});
