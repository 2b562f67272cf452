// Builds the HDF5 addon (native/h5) with node-gyp unless the built module is
// newer than its sources, so `npm run build` stays fast once built.
// Needs libhdf5-dev (scripts/install-deps.sh installs it).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gypRebuild, upToDate } from '../gyp.mjs';

const dir = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(dir, 'build', 'Release', 'strata_h5.node');
const sources = ['h5.c', 'binding.gyp', 'build.mjs', '../gyp.mjs'].map((f) => path.join(dir, f));
if (upToDate(out, sources)) process.exit(0);
const status = gypRebuild(dir);
if (status === 127) {
  process.stderr.write('native/h5: node-gyp not found\n');
  process.exit(1);
}
if (status !== 0) {
  process.stderr.write('native/h5: building the HDF5 addon failed (is libhdf5-dev installed? run scripts/install-deps.sh)\n');
  process.exit(1);
}
