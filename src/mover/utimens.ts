// Times of POSIX entries to the nanosecond: Node's utimes calls take a double
// of seconds, which keeps microseconds at best, while cp -a and rsync -a keep
// nanoseconds. utimensat(2)/futimens(2) come from the project's native addon
// (native/h5, loaded on first need, as mknod and the byte-path xattr calls are).
import { nativeAddon } from '../native-addon.js';

interface UtimensCall { utimens(target: number | Buffer, atimeNs: bigint, mtimeNs: bigint, nofollow: boolean): void }

function lib(): UtimensCall {
  return nativeAddon<UtimensCall>('setting times to the nanosecond needs');
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
