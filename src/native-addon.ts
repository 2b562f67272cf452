// Where the project's native addon lives: native/h5, the libhdf5 binding that
// also carries the few system calls Node lacks (flock for the engine's writer
// locks, mknod and byte-path xattrs for the mover). Below the layers, as the
// engine loads it too. Each user loads it on first need (STRATA_H5_ADDON
// overrides the place) and says what needed it when it cannot.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError } from './errors.js';

/** Where the built addon lives (native/h5/build/Release/strata_h5.node in the repository). */
export function addonPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/src -> repository root
  return path.resolve(here, '..', '..', 'native', 'h5', 'build', 'Release', 'strata_h5.node');
}

let loaded: unknown;

/**
 * The addon's exports (one module per process, whoever loads it first);
 * `need` names what needed it in the error when it cannot be loaded.
 */
export function nativeAddon<T>(need: string): T {
  if (loaded) return loaded as T;
  const p = process.env['STRATA_H5_ADDON'] || addonPath();
  try {
    loaded = createRequire(import.meta.url)(p);
  } catch (e) {
    throw new StrataError('ENOTSUP', `${need} the native addon (${p}; npm run build makes it): ${(e as Error).message}`, { cause: e });
  }
  return loaded as T;
}
