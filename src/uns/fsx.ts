// Filesystem helpers for UNS: xattrs (through @napi-rs/xattr, which uses the
// l*xattr calls: never follows a final symlink), statfs magic, errno mapping.
import fs from 'node:fs';
import { getAttributeSync, removeAttributeSync, setAttributeSync } from '@napi-rs/xattr';
import { StrataError, type ErrorCode } from '../errors.js';
import { LL_SUPER_MAGIC } from './foreign.js';
import { mountTable } from '../mountinfo.js';

const ERRNO: Record<number, ErrorCode> = {
  1: 'EPERM', 2: 'ENOENT', 5: 'EIO', 7: 'EINVAL', 13: 'EACCES', 17: 'EEXIST', 20: 'ENOTDIR', 21: 'EISDIR', 22: 'EINVAL',
  16: 'EBUSY', 18: 'EXDEV', 27: 'EFBIG', 28: 'ENOSPC', 30: 'EROFS', 36: 'ENAMETOOLONG', 39: 'ENOTEMPTY', 40: 'ELOOP', 61: 'ENODATA', 95: 'ENOTSUP', 122: 'ENOSPC',
};

/** The errno code of a Node fs error or an @napi-rs/xattr error ("... (os error N)"). */
export function errnoCode(e: unknown): ErrorCode | undefined {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code)) return (Object.values(ERRNO).includes(err.code as ErrorCode) ? err.code : 'EIO') as ErrorCode;
  const m = /\(os error (\d+)\)/.exec(String(err?.message ?? ''));
  return m ? (ERRNO[Number(m[1])] ?? 'EIO') : undefined;
}

/** Reads an xattr of the entry itself (not following a final symlink); undefined when absent or unsupported. */
export function getXattr(p: string, name: string): Buffer | undefined {
  try {
    return getAttributeSync(p, name) ?? undefined;
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENODATA' || code === 'ENOTSUP' || code === 'ENOENT') return undefined;
    throw new StrataError(code ?? 'EIO', `read xattr ${name} of ${p}: ${(e as Error).message}`, { cause: e });
  }
}

export function setXattr(p: string, name: string, value: Buffer): void {
  try {
    setAttributeSync(p, name, value);
  } catch (e) {
    const code = errnoCode(e) ?? 'EIO';
    if (code === 'ENOTSUP') throw new StrataError('ENOTSUP', `cannot set xattr ${name} on ${p}: the filesystem does not support user xattrs (use --link symlink)`, { cause: e });
    if (code === 'EACCES' || code === 'EPERM') throw new StrataError(code, `cannot set xattr ${name} on ${p}: permission denied`, { cause: e });
    throw new StrataError(code, `cannot set xattr ${name} on ${p}: ${(e as Error).message.replace(/^\w+: /, '')}`, { cause: e });
  }
}

/** Removes an xattr of the entry itself; nothing to do when it is absent. */
export function removeXattr(p: string, name: string): void {
  try {
    removeAttributeSync(p, name);
  } catch (e) {
    const code = errnoCode(e) ?? 'EIO';
    if (code === 'ENODATA' || code === 'ENOTSUP') return;
    throw new StrataError(code, `cannot remove xattr ${name} of ${p}: ${(e as Error).message.replace(/^\w+: /, '')}`, { cause: e });
  }
}

const lustreByDev = new Map<number, boolean>();

/** Whether directory `dir` (device `dev`) is on Lustre (statfs magic 0x0BD00BD0); cached per device. */
export function isOnLustre(dir: string, dev?: number): boolean {
  if (dev !== undefined && lustreByDev.has(dev)) return lustreByDev.get(dev)!;
  let r = false;
  try {
    r = Number(fs.statfsSync(dir).type) === LL_SUPER_MAGIC;
  } catch {
    r = false;
  }
  if (dev !== undefined) lustreByDev.set(dev, r);
  return r;
}

/**
 * The source of the strata FUSE mount at exactly `mountpoint`, if there is
 * one (/proc/self/mountinfo). A mount made on a UNS link (`strata mount
 * --path`) names the link's value there, since the mount hides the link's
 * own xattr.
 */
export function strataMountSource(mountpoint: string): string | undefined {
  // The last one is on top.
  return mountTable().filter((m) => m.fstype.startsWith('fuse.strata') && m.mountpoint === mountpoint).pop()?.source;
}
