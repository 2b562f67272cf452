// Times of POSIX entries to the nanosecond: Node's utimes calls take a double
// of seconds, which keeps microseconds at best, while cp -a and rsync -a keep
// nanoseconds. utimensat(2)/futimens(2) come from the project's native addon
// (native/h5, loaded on first need, as mknod and the byte-path xattr calls are).
import { createRequire } from 'node:module';
import { StrataError } from '../errors.js';
import { addonPath } from '../hdf5/h5lib/index.js';

interface UtimensCall { utimens(target: number | Buffer, atimeNs: bigint, mtimeNs: bigint, nofollow: boolean): void }
let addon: UtimensCall | undefined;

function lib(): UtimensCall {
  if (addon) return addon;
  const p = process.env['STRATA_H5_ADDON'] || addonPath();
  try {
    addon = createRequire(import.meta.url)(p) as UtimensCall;
  } catch (e) {
    throw new StrataError('ENOTSUP', `setting times to the nanosecond needs the native addon (${p}): ${(e as Error).message}`, { cause: e });
  }
  return addon;
}

/** Sets atime and mtime (ns) of an open descriptor. Throws errors with the errno's code. */
export function futimensNs(fd: number, atimeNs: bigint, mtimeNs: bigint): void {
  lib().utimens(fd, atimeNs, mtimeNs, false);
}

/** Sets atime and mtime (ns) of a path, following a final symlink (as utimes does). */
export function utimensNs(p: Buffer, atimeNs: bigint, mtimeNs: bigint): void {
  lib().utimens(p, atimeNs, mtimeNs, false);
}

/** Sets atime and mtime (ns) of a path, a final symlink itself (as lutimes does). */
export function lutimensNs(p: Buffer, atimeNs: bigint, mtimeNs: bigint): void {
  lib().utimens(p, atimeNs, mtimeNs, true);
}
