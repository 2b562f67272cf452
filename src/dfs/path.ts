// Path parsing and name validation for DFS paths (always absolute inside the
// container; a relative path is taken relative to the root).
import { StrataError } from '../errors.js';
import { NAME_MAX, PATH_MAX } from './layout.js';

export interface ParsedPath {
  /** Components, '.' removed, '..' kept (resolved physically during lookup). */
  parts: string[];
  /** The path ended with '/': the final component must be a directory. */
  trailingSlash: boolean;
}

export function checkName(name: string, what = 'name'): void {
  if (name.length === 0) throw new StrataError('EINVAL', `empty ${what}`);
  if (name === '.' || name === '..') throw new StrataError('EINVAL', `'${name}' is not a valid ${what}`);
  if (name.includes('\0')) throw new StrataError('EINVAL', `${what} contains a NUL byte`);
  if (name.includes('/')) throw new StrataError('EINVAL', `${what} '${name}' contains '/'`);
  if (Buffer.byteLength(name, 'utf8') > NAME_MAX) {
    throw new StrataError('ENAMETOOLONG', `${what} '${name.slice(0, 40)}...' is longer than ${NAME_MAX} bytes`);
  }
}

export function parsePath(path: string): ParsedPath {
  if (typeof path !== 'string') throw new StrataError('EINVAL', 'path must be a string');
  if (path.includes('\0')) throw new StrataError('EINVAL', 'path contains a NUL byte');
  if (Buffer.byteLength(path, 'utf8') > PATH_MAX) throw new StrataError('ENAMETOOLONG', `path is longer than ${PATH_MAX} bytes`);
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p !== '..') checkName(p);
    parts.push(p);
  }
  return { parts, trailingSlash: path.length > 1 && path.endsWith('/') };
}

/** Lexically normalized absolute form, for messages ("/a/b"); refuses '..' above the root. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const p of parsePath(path).parts) {
    if (p === '..') {
      if (out.length === 0) throw new StrataError('EINVAL', `path '${path}' escapes the container root`);
      out.pop();
    } else out.push(p);
  }
  return '/' + out.join('/');
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export function basename(path: string): string {
  const parts = parsePath(path).parts;
  return parts[parts.length - 1] ?? '';
}

/**
 * True for a name a directory entry may carry. Entries stored under any other
 * dkey (only a damaged or hostile container has them: DFS never writes one)
 * are invisible to readdir and lookup, and reported by the DFS check, so no
 * reader is ever handed a name that leads out of its directory.
 */
export function isValidName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0')
    && Buffer.byteLength(name, 'utf8') <= NAME_MAX;
}

/**
 * Names of temporary entries that files are written under before one rename
 * puts them in place (`fs put`, the mover): a process killed meanwhile
 * leaves such a name, never a half file under the final one.
 */
export const TEMP_RE = /^\.strata-tmp\.[0-9a-f]{12}$/;
export function tempName(): string {
  let h = '';
  for (let i = 0; i < 12; i++) h += Math.floor(Math.random() * 16).toString(16);
  return `.strata-tmp.${h}`;
}
