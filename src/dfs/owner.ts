// POSIX ownership rules, as Linux applies them (chown(2), chmod(2),
// utimensat(2), and the clearing of set-user-ID / set-group-ID on write,
// truncate and chown). The container ACL says who may change a container at
// all; these rules say what a caller who may write it can do to an inode it
// does not own. Without them any writer could make a file owned by root with
// mode 04755, which a mount with suid allowed, or a copy out by root, turns
// into a root shell. Root (uid 0) is exempt, as with CAP_CHOWN/CAP_FOWNER.
import { StrataError } from '../errors.js';
import type { Caller } from '../container/identity.js';
import { S_IFMT, S_IFREG, isDevice, type FileType } from './layout.js';

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;

/** The current owner and mode (with its type bits) of an inode. */
export interface Owned {
  mode: number;
  uid: number;
  gid: number;
}

/** Attribute changes for setattr; undefined fields are left alone, 'now' means now (times in ns). */
export interface SetAttr {
  mode?: number;
  uid?: number;
  gid?: number;
  /** Files: new size (shrinking punches the data beyond it). */
  size?: number;
  atimeNs?: bigint | 'now';
  mtimeNs?: bigint | 'now';
}

export function isSuperuser(c: Caller): boolean { return c.uid === 0; }

function inGroup(c: Caller, gid: number): boolean { return c.gids.includes(gid); }

/** `mode` with its type bits. */
function isRegular(mode: number): boolean { return (mode & S_IFMT) === S_IFREG; }

/** Mode bits without set-user-ID, and without set-group-ID when group-executable (what Linux clears on write, truncate, chown). */
export function killPriv(mode: number): number {
  let m = mode & ~S_ISUID;
  if ((m & (S_ISGID | 0o010)) === (S_ISGID | 0o010)) m &= ~S_ISGID;
  return m;
}

/** True when a write by `caller` to a file of this mode clears bits (see killPriv). */
export function writeKillsPriv(caller: Caller, mode: number): boolean {
  return !isSuperuser(caller) && isRegular(mode) && killPriv(mode) !== mode;
}

function eperm(what: string, why: string): StrataError {
  return new StrataError('EPERM', `${what}: operation not permitted (${why})`);
}

/**
 * Checks a change of mode, owner, size or times of an inode by `caller`;
 * returns the permission bits to store (undefined: unchanged), which may
 * differ from the ones asked for: set-group-ID dropped by a chmod of a caller
 * outside the file's group, set-user-ID/set-group-ID cleared by a non-root
 * chown or truncate. Throws EPERM:
 * - only root changes the owner (the owner may "change" it to itself);
 * - only the owner (or root) changes the group, and only to a group it is in;
 * - only the owner (or root) changes the mode or sets explicit times
 *   (anyone who may write the container may set them to now).
 */
export function checkOwnerChange(caller: Caller, cur: Owned, a: SetAttr, what: string): number | undefined {
  const root = isSuperuser(caller);
  const owner = caller.uid === cur.uid;
  if (!root) {
    if (a.uid !== undefined && (a.uid !== cur.uid || !owner)) throw eperm(what, `only root may change the owner of a file (to ${a.uid}; owner ${cur.uid}, caller ${caller.uid})`);
    if (a.gid !== undefined && !owner) throw eperm(what, `only the owner (${cur.uid}) or root may change the group`);
    if (a.gid !== undefined && a.gid !== cur.gid && !inGroup(caller, a.gid)) throw eperm(what, `caller ${caller.uid} is not in group ${a.gid}`);
    if (a.mode !== undefined && !owner) throw eperm(what, `only the owner (${cur.uid}) or root may change the mode`);
    if (!owner && (typeof a.atimeNs === 'bigint' || typeof a.mtimeNs === 'bigint')) throw eperm(what, `only the owner (${cur.uid}) or root may set times other than now`);
  }
  const gid = a.gid ?? cur.gid;
  let perm: number | undefined;
  if (a.mode !== undefined) {
    perm = a.mode & 0o7777;
    if (!root && !inGroup(caller, gid)) perm &= ~S_ISGID;
  } else if (!root && isRegular(cur.mode) && (a.uid !== undefined || a.gid !== undefined || a.size !== undefined)) {
    perm = killPriv(cur.mode & 0o7777);
  }
  return perm === (cur.mode & 0o7777) && a.mode === undefined ? undefined : perm;
}

/**
 * Checks the owner a caller gives a new inode: a non-root caller creates
 * only inodes it owns, in one of its groups (creating a file owned by
 * someone else would be a chown).
 */
export function checkNewOwner(caller: Caller, uid: number, gid: number, what: string): void {
  if (isSuperuser(caller)) return;
  if (uid !== caller.uid) throw eperm(what, `only root may create a file owned by another user (${uid}, caller ${caller.uid})`);
  if (!inGroup(caller, gid)) throw eperm(what, `caller ${caller.uid} is not in group ${gid}`);
}

/**
 * The group and permission bits of a new inode made by `caller` in a
 * directory (`parent`), as Linux gives them: in a set-group-ID directory the
 * inode takes the directory's group instead of the caller's, and a new
 * directory the set-group-ID bit as well (so the whole subtree keeps the
 * group); a file made there with set-group-ID and group-execute by a
 * non-root caller outside that group loses set-group-ID.
 */
export function inheritedOwner(caller: Caller, parent: Owned, type: FileType, gid: number, perm: number): { gid: number; perm: number } {
  if (!(parent.mode & S_ISGID)) return { gid, perm };
  if (type === 'dir') return { gid: parent.gid, perm: perm | S_ISGID };
  if ((perm & (S_ISGID | 0o010)) === (S_ISGID | 0o010) && !isSuperuser(caller) && !inGroup(caller, parent.gid)) perm &= ~S_ISGID;
  return { gid: parent.gid, perm };
}

/**
 * Checks that `caller` may create an inode of this type: character and block
 * devices only root (CAP_MKNOD, as mknod(2) on Linux); FIFOs, sockets and
 * everything else anyone who may write the directory.
 */
export function checkCreateType(caller: Caller, type: FileType, what: string): void {
  if (isDevice(type) && !isSuperuser(caller)) throw eperm(what, `only root may create a device (caller ${caller.uid})`);
}
