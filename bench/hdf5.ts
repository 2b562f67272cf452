// HDF5-level mover: import (`fs copy file.h5 daos://...`) and export
// (`fs copy daos://... out.h5`) of a 1 GiB chunked float dataset and of a
// file with 10,000 small datasets, as CLI processes end to end, against
// h5copy (hdf5-tools) and cp of the same file. Peak RSS of each strata run
// comes from /usr/bin/time (must stay < 300 MB for the 1 GiB dataset).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { H5File } from '../src/hdf5/h5lib/index.js';
import { type Row, MiB, mbps, ratio, dropCaches, size } from './util.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '..', '..', 'bin', 'strata.js');

/** Runs a command under /usr/bin/time; returns wall seconds and peak RSS in MB. */
function run(cmd: string[], env: Record<string, string> = {}): { seconds: number; rssMB: number } {
  const t0 = process.hrtime.bigint();
  const out = execFileSync('/usr/bin/time', ['-f', 'RSSKB=%M', ...cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  void out;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, rssMB: 0 };
}

function runRss(cmd: string[], env: Record<string, string> = {}): { seconds: number; rssMB: number } {
  const t0 = process.hrtime.bigint();
  const r = execFileSync('bash', ['-c', `/usr/bin/time -f RSSKB=%M "$@" 2>&1 >/dev/null | grep RSSKB= | tail -1`, 'x', ...cmd], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /RSSKB=(\d+)/.exec(r);
  return { seconds, rssMB: m ? Number(m[1]) / 1024 : NaN };
}

function makeBig(file: string): number {
  const n = BIG / 4;
  const f = H5File.create(file, { overwrite: true });
  const ds = f.createDatasetEx('data', { class: 'float', size: 4, order: 'le' }, { space: { kind: 'simple', dims: [n], maxdims: [-1] }, layout: 'chunked', chunk: [MiB] });
  const slab = 4 * MiB;
  const a = new Float32Array(slab);
  for (let at = 0; at < n; at += slab) {
    for (let i = 0; i < slab; i++) a[i] = (at + i) * 0.001;
    ds.writeRaw([at], [slab], Buffer.from(a.buffer));
  }
  ds.close();
  f.close();
  return BIG;
}

const BIG = size('HDF5_BENCH_MB', 1024, 128) * MiB;

function makeSmall(file: string, count: number): number {
  const f = H5File.create(file, { overwrite: true });
  let bytes = 0;
  const per = 100;
  for (let g = 0; g < count / per; g++) {
    const grp = f.createGroup(`g${String(g).padStart(3, '0')}`);
    for (let i = 0; i < per; i++) {
      const ds = grp.createDatasetEx(`d${String(i).padStart(3, '0')}`, { class: 'float', size: 8, order: 'le' }, { space: { kind: 'simple', dims: [16] } });
      const b = Buffer.from(new Float64Array(16).map((_, k) => g * 1000 + i + k / 16).buffer);
      ds.writeRaw([0], [16], b);
      ds.writeAttrRaw('index', { class: 'integer', size: 4, signed: true, order: 'le' }, { kind: 'scalar', dims: [] }, Buffer.from(new Int32Array([g * per + i]).buffer));
      bytes += b.length;
      ds.close();
    }
    grp.close();
  }
  f.close();
  return bytes;
}

const SMALL = size('HDF5_BENCH_SMALL', 10000, 1000);

export async function benchHdf5(workDir: string): Promise<Row[]> {
  const rows: Row[] = [];
  const env = { STRATA_HOME: path.join(workDir, 'home') };
  execFileSync(process.execPath, [CLI, 'pool', 'create', 'bench'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  const cases: Array<{ name: string; make: (f: string) => number; h5copySrc: string }> = [
    { name: `${BIG / MiB} MiB chunked f32 dataset`, make: makeBig, h5copySrc: '/data' },
    { name: `${SMALL} small datasets`, make: (f) => makeSmall(f, SMALL), h5copySrc: '/' },
  ];
  let k = 0;
  for (const c of cases) {
    const src = path.join(workDir, `src${k}.h5`);
    const bytes = c.make(src);
    const fileBytes = fs.statSync(src).size;
    dropCaches();
    const cp = run(['cp', src, path.join(workDir, `cp${k}.h5`)]).seconds;
    dropCaches();
    const h5c = run(['h5copy', '-i', src, '-o', path.join(workDir, `h5copy${k}.h5`), '-s', c.h5copySrc, '-d', c.h5copySrc === '/' ? '/all' : c.h5copySrc]).seconds;
    fs.rmSync(path.join(workDir, `cp${k}.h5`));
    fs.rmSync(path.join(workDir, `h5copy${k}.h5`));
    dropCaches();
    const imp = runRss([process.execPath, CLI, 'fs', 'copy', '-q', '--src', src, '--dst', `daos://bench/c${k}`], env);
    dropCaches();
    const exp = runRss([process.execPath, CLI, 'fs', 'copy', '-q', '--src', `daos://bench/c${k}`, '--dst', path.join(workDir, `out${k}.h5`)], env);
    fs.rmSync(path.join(workDir, `out${k}.h5`));
    fs.rmSync(src);
    execFileSync(process.execPath, [CLI, 'container', 'destroy', 'bench', `c${k}`], { env: { ...process.env, ...env }, stdio: 'ignore' });
    rows.push(
      { name: `${c.name}: cp / h5copy`, value: `${cp.toFixed(2)} s / ${h5c.toFixed(2)} s (file ${(fileBytes / MiB).toFixed(1)} MiB, data ${(bytes / MiB).toFixed(1)} MiB)` },
      { name: `${c.name}: import (fs copy file.h5 -> container)`, value: `${imp.seconds.toFixed(2)} s, ${mbps(bytes, imp.seconds)}, ${ratio(imp.seconds, h5c)} h5copy, ${ratio(imp.seconds, cp)} cp, peak RSS ${imp.rssMB.toFixed(0)} MB`, speed: [{ vs: 'h5copy', ratio: h5c / imp.seconds }, { vs: 'cp', ratio: cp / imp.seconds }] },
      { name: `${c.name}: export (fs copy container -> file.h5)`, value: `${exp.seconds.toFixed(2)} s, ${mbps(bytes, exp.seconds)}, ${ratio(exp.seconds, h5c)} h5copy, ${ratio(exp.seconds, cp)} cp, peak RSS ${exp.rssMB.toFixed(0)} MB`, speed: [{ vs: 'h5copy', ratio: h5c / exp.seconds }, { vs: 'cp', ratio: cp / exp.seconds }] },
    );
    k++;
  }
  return rows;
}
