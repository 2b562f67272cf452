// Builds lmdb-js's native addon on LMDB 0.9 (lmdb-js's "data format 1"
// build, documented as `--use_data_v1`) in place of the prebuilt addon, which
// runs lmdb-js's own LMDB branch (0.9.90). That branch keeps the free-page list
// in each process between transactions; with several processes writing one
// index, writers that opened, committed and closed beside long-lived ones
// damaged it (entries lost or stale, pages reused while still in use). On
// LMDB 0.9 the same stress leaves it intact (docs/engine.md). The engine
// refuses to open an index with any other build (src/engine/lmdb/version.ts).
// Skipped when the addon is already built and newer than the installed lmdb.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gypRebuild, upToDate } from '../gyp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const lmdbDir = path.join(root, 'node_modules', 'lmdb');
if (!fs.existsSync(path.join(lmdbDir, 'package.json'))) {
  process.stderr.write('native/lmdb: the lmdb package is not installed (run npm ci)\n');
  process.exit(1);
}
const out = path.join(lmdbDir, 'build', 'Release', 'lmdb.node');
const sources = [path.join(lmdbDir, 'package.json'), path.join(here, 'build.mjs'), path.join(here, '..', 'gyp.mjs')];

/** The LMDB version the addon lmdb loads reports, asked of a fresh node. */
function loadedVersion() {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', "import('lmdb').then((m) => process.stdout.write(m.version.versionString))"], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : `(lmdb does not load: ${r.stderr.trim().split('\n').pop()})`;
}

if (!upToDate(out, sources) || !/^LMDB 0\.9\.([0-8]?\d)\b/.test(loadedVersion())) {
  if (!fs.existsSync(path.join(lmdbDir, 'dependencies', 'lmdb-data-v1', 'libraries', 'liblmdb', 'mdb.c'))) {
    process.stderr.write(`native/lmdb: ${lmdbDir} has no LMDB 0.9 sources (dependencies/lmdb-data-v1)\n`);
    process.exit(1);
  }
  const status = gypRebuild(lmdbDir, { LMDB_DATA_V1: 'true' });
  if (status !== 0) {
    process.stderr.write(`native/lmdb: building lmdb-js on LMDB 0.9 failed${status === 127 ? ' (node-gyp not found)' : ' (is a C/C++ compiler installed? run scripts/install-deps.sh)'}\n`);
    process.exit(1);
  }
  const v = loadedVersion();
  if (!/^LMDB 0\.9\.([0-8]?\d)\b/.test(v)) {
    process.stderr.write(`native/lmdb: after the build lmdb still reports ${v}, not LMDB 0.9\n`);
    process.exit(1);
  }
}
