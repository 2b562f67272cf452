// UNS links on a filesystem: make, read and remove one link at a given path.
// Kinds: xattr (DAOS user.daos on a dir or empty file), symlink (to
// <prefix>/<pool-uuid>/<cont-uuid>) and lustre (a foreign dir/file made with lfs).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { StrataError, fromSystemError } from '../errors.js';
import type { ContainerType } from '../container/index.js';
import { DUNS_XATTR_NAME, decodeDunsAttr, encodeDunsAttr, isUuidText } from './duns.js';
import {
  LMV_MAGIC_FOREIGN, LOV_USER_MAGIC_FOREIGN, LMV_XATTR, LOV_XATTR, LU_FOREIGN_TYPE_SYMLINK, daosForeignValue, decodeDaosForeign,
} from './foreign.js';
import { layoutNumber } from './layout.js';
import { getXattr, setXattr, isOnLustre, errnoCode, strataMountSource } from './fsx.js';
import { normPrefix, readConfig } from './config.js';
import { parseUpcallFormat, type UpcallItem } from './upcall.js';

export type LinkKind = 'xattr' | 'symlink' | 'lustre';
export const LINK_KINDS: readonly LinkKind[] = ['xattr', 'symlink', 'lustre'];

export interface LinkInfo {
  /** Where the link is (its parent resolved to a real path). */
  path: string;
  kind: LinkKind;
  /** Pool UUID (lower case). */
  pool: string;
  /** Container UUID (lower case). */
  cont: string;
  /** Container type as the link records it (xattr, lustre); symlink links do not record it. */
  type?: ContainerType;
  /** symlink links: the prefix their target starts with. */
  prefix?: string;
  /** symlink links: the target. */
  target?: string;
  /** What the link is on disk. */
  object: 'dir' | 'file' | 'symlink';
  /** The container is mounted on the link itself (`strata mount --path`), which hides the link until unmounted. */
  mounted?: boolean;
}

/** The source a `strata mount --path` names its mount with: the link's user.daos value after this prefix. */
export const MOUNTED_LINK_SOURCE = 'strata:';

export function parseLinkKind(s: string): LinkKind {
  const k = s.trim().toLowerCase();
  if (!(LINK_KINDS as readonly string[]).includes(k)) throw new StrataError('EINVAL', `unknown link kind '${s}' (xattr, symlink or lustre)`);
  return k as LinkKind;
}

/** Splits a symlink target "<prefix>/<pool-uuid>/<cont-uuid>" (absolute); undefined when it is not one. */
export function parseSymlinkTarget(target: string): { prefix: string; pool: string; cont: string } | undefined {
  if (!target.startsWith('/')) return undefined;
  const parts = target.split('/').filter(Boolean);
  if (parts.length < 2) return undefined;
  const cont = parts[parts.length - 1]!;
  const pool = parts[parts.length - 2]!;
  if (!isUuidText(pool) || !isUuidText(cont)) return undefined;
  return { prefix: normPrefix('/' + parts.slice(0, -2).join('/')), pool: pool.toLowerCase(), cont: cont.toLowerCase() };
}

export function symlinkTarget(prefix: string, pool: string, cont: string): string {
  const p = normPrefix(prefix);
  return `${p === '/' ? '' : p}/${pool.toLowerCase()}/${cont.toLowerCase()}`;
}

/** Reads the raw Lustre foreign EA of an entry, if it has one of foreign magic; undefined otherwise. */
function lustreForeignEa(p: string, object: 'dir' | 'file'): Buffer | undefined {
  const ea = getXattr(p, object === 'dir' ? LMV_XATTR : LOV_XATTR);
  if (!ea || ea.length < 16) return undefined;
  const magic = ea.readUInt32LE(0);
  if (magic !== LMV_MAGIC_FOREIGN && magic !== LOV_USER_MAGIC_FOREIGN) return undefined;
  if (ea.readUInt32LE(8) !== LU_FOREIGN_TYPE_SYMLINK) return undefined;
  return ea;
}

/**
 * The link at exactly `p` (no walking), or undefined. `st` is p's lstat;
 * `onLustre` whether p's parent directory is on Lustre; `parentDev` the
 * parent's device, when known: a directory on another device may be a
 * container mounted on its own link. A malformed user.daos value or foreign
 * symlink EA is an EINVAL naming p.
 */
export function readLinkAt(p: string, st: fs.Stats, onLustre: boolean, parentDev?: number): LinkInfo | undefined {
  if (parentDev !== undefined && st.dev !== parentDev && st.isDirectory()) {
    const source = strataMountSource(p);
    if (source?.startsWith(MOUNTED_LINK_SOURCE)) {
      return { path: p, kind: 'xattr', object: 'dir', mounted: true, ...decodeDunsAttr(Buffer.from(source.slice(MOUNTED_LINK_SOURCE.length)), p) };
    }
  }
  if (st.isSymbolicLink()) {
    if (onLustre) {
      // A Lustre client with foreign symlinks enabled shows foreign dirs/files as symlinks.
      for (const o of ['dir', 'file'] as const) {
        const ea = lustreForeignEa(p, o);
        if (ea) return { path: p, kind: 'lustre', object: 'symlink', ...strip(decodeDaosForeign(ea, p, undefined, siteUpcallFormat()?.items)) };
      }
    }
    let target: string;
    try {
      target = fs.readlinkSync(p);
    } catch (e) {
      throw fromSystemError(e, `readlink ${p}`);
    }
    const t = parseSymlinkTarget(target);
    return t ? { path: p, kind: 'symlink', object: 'symlink', pool: t.pool, cont: t.cont, prefix: t.prefix, target } : undefined;
  }
  if (!st.isDirectory() && !st.isFile()) return undefined;
  const object = st.isDirectory() ? 'dir' : 'file';
  if (onLustre) {
    const ea = lustreForeignEa(p, object);
    if (ea) return { path: p, kind: 'lustre', object, ...strip(decodeDaosForeign(ea, p, object, siteUpcallFormat()?.items)) };
  }
  const v = getXattr(p, DUNS_XATTR_NAME);
  if (!v) return undefined;
  return { path: p, kind: 'xattr', object, ...decodeDunsAttr(v, p) };
}

/** The site's upcall format (config uns.upcall_format), if any. */
export function siteUpcallFormat(): { text: string; items: UpcallItem[] } | undefined {
  const text = process.env['STRATA_UNS_UPCALL_FORMAT'] || readConfig()['uns.upcall_format'];
  return text ? { text, items: parseUpcallFormat(text) } : undefined;
}

const strip = (d: { type: ContainerType; pool: string; cont: string }) => ({ type: d.type, pool: d.pool, cont: d.cont });

/** The link at exactly `p`; EINVAL "not a UNS link" otherwise. */
export function linkAt(p: string): LinkInfo {
  const abs = path.resolve(p);
  const parent = realParent(abs);
  const at = path.join(parent, path.basename(abs));
  let st: fs.Stats;
  try {
    st = fs.lstatSync(at);
  } catch (e) {
    throw fromSystemError(e, `${p}`);
  }
  const l = readLinkAt(at, st, isOnLustre(parent), fs.statSync(parent).dev);
  if (!l) throw new StrataError('EINVAL', `${p} is not a UNS link`);
  return l;
}

function realParent(abs: string): string {
  const parent = path.dirname(abs);
  try {
    return fs.realpathSync(parent);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') throw new StrataError('ENOENT', `cannot link at ${abs}: parent directory ${parent} does not exist`);
    if (code === 'ENOTDIR') throw new StrataError('ENOTDIR', `cannot link at ${abs}: ${parent} is not a directory`);
    throw fromSystemError(e, `cannot link at ${abs}`);
  }
}

/** The kind used when none is given: lustre when the parent directory is on Lustre, else xattr. */
export function defaultLinkKind(linkPath: string): LinkKind {
  const parent = path.dirname(path.resolve(linkPath));
  return isOnLustre(parent) ? 'lustre' : 'xattr';
}

export interface MakeLinkSpec {
  kind: LinkKind;
  pool: string;
  cont: string;
  type: ContainerType;
  /** symlink kind: where the tier's root is mounted. */
  prefix?: string;
}

/** The lfs command (STRATA_LFS overrides, for sites with it elsewhere). */
function lfsCommand(): string {
  return process.env['STRATA_LFS'] || 'lfs';
}

function runLfs(args: string[], what: string): void {
  const lfs = lfsCommand();
  const r = spawnSync(lfs, args, { encoding: 'utf8' });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StrataError('ENOTSUP', `${what}: the lustre link kind needs the Lustre 'lfs' command, which is not installed ('${lfs}' not found); use --link xattr or --link symlink`);
    }
    throw fromSystemError(r.error, `${what}: running ${lfs}`);
  }
  if (r.status !== 0) {
    const msg = (r.stderr || r.stdout || '').trim().split('\n').pop() || `exit ${r.status}`;
    throw new StrataError('EIO', `${what}: ${lfs} ${args[0]} failed: ${msg}`);
  }
}

/** Checks that a link could be made at p (parent exists and is writable, p is free, kind is usable) without making it. */
export function checkLinkPossible(p: string, spec: Pick<MakeLinkSpec, 'kind' | 'prefix'>): void {
  const abs = path.resolve(p);
  const parent = realParent(abs);
  const st = fs.statSync(parent);
  if (!st.isDirectory()) throw new StrataError('ENOTDIR', `cannot link at ${abs}: ${path.dirname(abs)} is not a directory`);
  if (exists(abs)) throw new StrataError('EEXIST', `cannot link at ${abs}: it already exists`);
  try {
    fs.accessSync(parent, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new StrataError('EACCES', `cannot link at ${abs}: no write permission on ${path.dirname(abs)}`);
  }
  if (spec.kind === 'symlink' && !spec.prefix) {
    throw new StrataError('EINVAL', `cannot link at ${abs}: a symlink link needs the tier's mount prefix (--prefix, STRATA_UNS_PREFIX or uns.prefix in the config)`);
  }
  if (spec.kind === 'lustre') {
    const lfs = lfsCommand();
    const r = spawnSync(lfs, ['--version'], { encoding: 'utf8' });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StrataError('ENOTSUP', `cannot link at ${abs}: the lustre link kind needs the Lustre 'lfs' command, which is not installed ('${lfs}' not found); use --link xattr or --link symlink`);
    }
    if (!isOnLustre(parent)) throw new StrataError('EINVAL', `cannot link at ${abs}: ${path.dirname(abs)} is not on Lustre (use --link xattr or --link symlink)`);
  }
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes a link at p. POSIX containers get a directory, other types an empty
 * file (xattr, lustre); symlink links are symlinks. On failure nothing is left
 * at p.
 */
export function makeLink(p: string, spec: MakeLinkSpec): LinkInfo {
  checkLinkPossible(p, spec);
  const abs = path.join(realParent(path.resolve(p)), path.basename(path.resolve(p)));
  const isDir = spec.type === 'POSIX';
  const what = `cannot link at ${abs}`;
  const sysErr = (e: unknown): StrataError => {
    const code = errnoCode(e);
    if (code === 'EEXIST') return new StrataError('EEXIST', `${what}: it already exists`, { cause: e });
    if (code === 'EACCES' || code === 'EPERM') return new StrataError(code, `${what}: permission denied`, { cause: e });
    return fromSystemError(e, what);
  };
  if (spec.kind === 'symlink') {
    const target = symlinkTarget(spec.prefix!, spec.pool, spec.cont);
    try {
      fs.symlinkSync(target, abs);
    } catch (e) {
      throw sysErr(e);
    }
    return { path: abs, kind: 'symlink', object: 'symlink', pool: spec.pool.toLowerCase(), cont: spec.cont.toLowerCase(), prefix: normPrefix(spec.prefix!), target };
  }
  if (spec.kind === 'lustre') {
    const value = daosForeignValue(spec.pool, spec.cont);
    const flags = layoutNumber(spec.type).toString(16);
    if (isDir) runLfs(['setdirstripe', '--foreign=symlink', '--xattr', value, '--flags', flags, '--mode', '0775', abs], what);
    else runLfs(['setstripe', '--foreign=symlink', '--flags', flags, '--xattr', value, '--mode', '0664', abs], what);
    return { path: abs, kind: 'lustre', object: isDir ? 'dir' : 'file', pool: spec.pool.toLowerCase(), cont: spec.cont.toLowerCase(), type: spec.type };
  }
  const value = encodeDunsAttr({ type: spec.type, pool: spec.pool, cont: spec.cont });
  try {
    if (isDir) fs.mkdirSync(abs, 0o775);
    else fs.closeSync(fs.openSync(abs, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o664));
  } catch (e) {
    throw sysErr(e);
  }
  try {
    setXattr(abs, DUNS_XATTR_NAME, value);
  } catch (e) {
    try {
      if (isDir) fs.rmdirSync(abs); else fs.unlinkSync(abs);
    } catch { /* best effort */ }
    throw e instanceof StrataError ? new StrataError(e.code, `${what}: ${e.message}`, { cause: e }) : sysErr(e);
  }
  return { path: abs, kind: 'xattr', object: isDir ? 'dir' : 'file', pool: spec.pool.toLowerCase(), cont: spec.cont.toLowerCase(), type: spec.type };
}

/**
 * Re-points an existing link at another container of the same type, so the
 * path never stops being a link: an xattr link gets its new `user.daos`
 * value in one setxattr (same inode, local files and other xattrs kept); a
 * symlink link is replaced by a new symlink renamed over it. A Lustre
 * foreign object cannot be rewritten in place: it is removed and made again.
 */
export function replaceLink(l: LinkInfo, spec: MakeLinkSpec): LinkInfo {
  const what = `cannot re-point link ${l.path}`;
  if (l.kind === 'xattr' && spec.kind === 'xattr') {
    try {
      setXattr(l.path, DUNS_XATTR_NAME, encodeDunsAttr({ type: spec.type, pool: spec.pool, cont: spec.cont }));
    } catch (e) {
      throw e instanceof StrataError ? new StrataError(e.code, `${what}: ${e.message}`, { cause: e }) : fromSystemError(e, what);
    }
    return { ...l, pool: spec.pool.toLowerCase(), cont: spec.cont.toLowerCase(), type: spec.type };
  }
  if (l.kind === 'symlink' && spec.kind === 'symlink') {
    const target = symlinkTarget(spec.prefix!, spec.pool, spec.cont);
    // A fixed name: a relink killed half-way leaves it, and the next one replaces it.
    const tmp = path.join(path.dirname(l.path), `.${path.basename(l.path)}.strata-relink`);
    try {
      fs.rmSync(tmp, { force: true });
      fs.symlinkSync(target, tmp);
      fs.renameSync(tmp, l.path);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw fromSystemError(e, what);
    }
    return { path: l.path, kind: 'symlink', object: 'symlink', pool: spec.pool.toLowerCase(), cont: spec.cont.toLowerCase(), prefix: normPrefix(spec.prefix!), target };
  }
  removeLink(l);
  return makeLink(l.path, spec);
}

/** Removes a link (lustre: `lfs unlink_foreign`; a dir link must be empty locally). */
export function removeLink(l: LinkInfo): void {
  const what = `cannot remove link ${l.path}`;
  if (l.mounted) throw new StrataError('EBUSY', `${what}: its container is mounted on it; run 'strata umount ${l.path}' first`);
  if (l.kind === 'lustre') {
    runLfs(['unlink_foreign', l.path], what);
    return;
  }
  try {
    if (l.object === 'dir') fs.rmdirSync(l.path);
    else fs.unlinkSync(l.path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOTEMPTY' || (e as NodeJS.ErrnoException).code === 'ENOTEMPTY') throw new StrataError('ENOTEMPTY', `${what}: the link directory holds local files`, { cause: e });
    if (code === 'EACCES' || code === 'EPERM') throw new StrataError(code, `${what}: permission denied`, { cause: e });
    throw fromSystemError(e, what);
  }
}
