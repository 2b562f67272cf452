// UNS resolution: find the link at or above a path. The path is walked from
// the root one component at a time, following ordinary symlinks as the kernel
// would (at most 40), so each component is checked on its real path; the first
// (outermost) link found wins and the rest of the path is the path inside the
// container. Components after the link need not exist locally (they live in
// the container), nor need the last component of a path outside any link.
import fs from 'node:fs';
import path from 'node:path';
import { StrataError } from '../errors.js';
import { readLinkAt, type LinkInfo } from './link.js';
import { isOnLustre, errnoCode } from './fsx.js';

export const MAX_SYMLINK_FOLLOWS = 40;

export interface UnsResolution {
  link: LinkInfo;
  /** Absolute path inside the container ('/' for the link itself). */
  rest: string;
}

/** The link at or above `input`, or undefined when there is none. ELOOP for symlink loops. */
export function findLink(input: string): UnsResolution | undefined {
  // Not path.resolve: '..' must apply after symlinks are followed, as in the kernel.
  const abs = input.startsWith('/') ? input : `${process.cwd()}/${input}`;
  let todo = abs.split('/').filter(Boolean);
  let cur = '/';
  let curDev = fs.statSync('/').dev;
  let follows = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      cur = path.dirname(cur);
      curDev = fs.statSync(cur).dev;
      continue;
    }
    const next = cur === '/' ? `/${c}` : `${cur}/${c}`;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(next);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'ENAMETOOLONG') return undefined;
      throw new StrataError(code ?? 'EIO', `resolve ${input}: lstat ${next}: ${(e as Error).message}`, { cause: e });
    }
    const link = readLinkAt(next, st, isOnLustre(cur, curDev), curDev);
    if (link) {
      let rest = path.posix.normalize('/' + todo.join('/')).replace(/(.)\/$/, '$1');
      if (input.endsWith('/') && rest !== '/') rest += '/'; // "dir/" keeps meaning "into dir"
      return { link, rest };
    }
    if (st.isSymbolicLink()) {
      if (++follows > MAX_SYMLINK_FOLLOWS) throw new StrataError('ELOOP', `resolve ${input}: too many levels of symbolic links (at ${next})`);
      const target = fs.readlinkSync(next);
      todo = [...target.split('/').filter(Boolean), ...todo];
      if (target.startsWith('/')) {
        cur = '/';
        curDev = fs.statSync('/').dev;
      }
      continue;
    }
    if (!st.isDirectory()) return undefined;
    cur = next;
    curDev = st.dev;
  }
  return undefined;
}
