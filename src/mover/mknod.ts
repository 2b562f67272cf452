// mknod(2) for the POSIX end of a move: Node offers no call that makes a
// FIFO, device or socket, so it comes from the project's native addon
// (native/h5, loaded on first need, as the byte-path xattr calls are).
import { StrataError } from '../errors.js';
import { nativeAddon } from '../native-addon.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK, rdevMajor, rdevMinor } from '../dfs/layout.js';
import type { EntryType } from './tree.js';

interface MknodCall { mknod(p: Buffer, mode: number, major: number, minor: number): void }

function lib(): MknodCall {
  return nativeAddon<MknodCall>('making FIFOs, devices and sockets needs');
}

const BITS: Partial<Record<EntryType, number>> = { fifo: S_IFIFO, chr: S_IFCHR, blk: S_IFBLK, sock: S_IFSOCK };

/** Makes a FIFO, device or socket at p (mode: permission bits; rdev: major << 32 | minor, devices only). Throws errors with the errno's code. */
export function mknodAt(p: Buffer, type: EntryType, perm: number, rdev: bigint): void {
  const bits = BITS[type];
  if (bits === undefined) throw new StrataError('EINVAL', `mknod: cannot make a ${type}`);
  const dev = type === 'chr' || type === 'blk' ? rdev : 0n;
  lib().mknod(p, bits | (perm & 0o7777), rdevMajor(dev), rdevMinor(dev));
}
