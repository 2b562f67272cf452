// Fixtures written by a real writer (h5py, Debian's python3-h5py) and the
// round-trip check of the HDF5 layer: import with the CLI, export, then
// h5diff finds no difference and `h5dump -H` shows the same types, links and
// properties; the same container also goes through serialize → deserialize →
// export unchanged.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli, tempDir } from '../helpers.js';
import { h5dumpNormalized } from './fixtures.js';

/** Runs a Python script (h5py and numpy imported as h5py, np) in `dir`; returns its stdout. */
export function py(dir: string, script: string, env: Record<string, string> = {}): string {
  const r = spawnSync('/usr/bin/python3', ['-c', `import h5py, numpy as np\n${script}`], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `python: ${r.stderr}`);
  return r.stdout;
}

/** h5diff of two files: no difference (exit 0). */
export function h5diffSame(a: string, b: string, env: Record<string, string> = {}): void {
  const r = spawnSync('h5diff', ['-v', a, b], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `h5diff ${a} ${b} (${r.status}):\n${r.stdout.slice(0, 4000)}\n${r.stderr}`);
  // exit 0 also when objects could not be compared: only empty datasets (nothing to compare) may be
  const uncompared = r.stdout.split('\n').filter((l) => /^Not comparable/.test(l) && !/is an empty dataset$/.test(l));
  assert.deepEqual(uncompared, [], `h5diff ${a} ${b}:\n${r.stdout.slice(0, 4000)}`);
}

/** The two files' headers (types, dataspaces, links, properties with -p) are the same. */
export function sameHeaders(a: string, b: string, env: Record<string, string> = {}): void {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    for (const args of [['-H'], ['-H', '-p']]) assert.equal(h5dumpNormalized(b, args), h5dumpNormalized(a, args), `h5dump ${args.join(' ')} differs`);
  } finally {
    for (const k of Object.keys(env)) { if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k]; }
  }
}

export interface H5Env { env: Record<string, string>; dir: string }

/** A fresh strata home with pool `p`. */
export async function h5Env(): Promise<H5Env> {
  const env = { STRATA_HOME: tempDir('strata-home-') };
  const r = await runCli(['pool', 'create', 'p'], { env });
  assert.equal(r.code, 0, r.stderr);
  return { env, dir: tempDir() };
}

/**
 * Imports `file` into container `label`, exports it, checks it identical;
 * then serializes the container, deserializes it as `<label>-back` and checks
 * its export identical too. `env` applies to strata (e.g. a hidden plugin
 * path), `checkEnv` to h5diff/h5dump. Returns the first export's path.
 */
export async function roundTrip(e: H5Env, file: string, label: string, opts: { env?: Record<string, string>; checkEnv?: Record<string, string>; park?: boolean } = {}): Promise<string> {
  const env = { ...e.env, ...(opts.env ?? {}) };
  const imp = await runCli(['fs', 'copy', '--src', file, '--dst', `daos://p/${label}`], { env });
  assert.equal(imp.code, 0, imp.stderr);
  const out = path.join(e.dir, `${label}.out.h5`);
  const exp = await runCli(['fs', 'copy', '--src', `daos://p/${label}`, '--dst', out], { env });
  assert.equal(exp.code, 0, exp.stderr);
  h5diffSame(file, out, opts.checkEnv);
  sameHeaders(file, out, opts.checkEnv);
  if (opts.park !== false) {
    const pdir = path.join(e.dir, `${label}.park`);
    fs.mkdirSync(pdir);
    const s = await runCli(['container', 'serialize', 'p', label, '-o', pdir], { env });
    assert.equal(s.code, 0, s.stderr);
    const d = await runCli(['container', 'deserialize', 'p', pdir, '--label', `${label}-back`], { env });
    assert.equal(d.code, 0, d.stderr);
    const back = path.join(e.dir, `${label}.back.h5`);
    const x = await runCli(['fs', 'copy', '--src', `daos://p/${label}-back`, '--dst', back], { env });
    assert.equal(x.code, 0, x.stderr);
    h5diffSame(file, back, opts.checkEnv);
    sameHeaders(file, back, opts.checkEnv);
  }
  return out;
}
