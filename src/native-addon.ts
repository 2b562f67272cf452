// Where the project's native addon lives: native/h5, the libhdf5 binding that
// also carries the few system calls Node lacks (flock for the engine's writer
// locks, mknod and byte-path xattrs for the mover). Below the layers, as the
// engine loads it too. Each user loads it on first need (STRATA_H5_ADDON
// overrides the place) and says what needed it when it cannot.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the built addon lives (native/h5/build/Release/strata_h5.node in the repository). */
export function addonPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/src -> repository root
  return path.resolve(here, '..', '..', 'native', 'h5', 'build', 'Release', 'strata_h5.node');
}
