// Who may read the bytes of an engine home (or of a PostgreSQL engine's
// extent directory). Container ACLs are enforced by strata, not by the
// filesystem: whoever can read the index and the extent files reads every
// container directly. So a home is private to its owner (directories 0700,
// files 0600) unless it was created shared with one group (`strata engine
// init --mode 0770 --group NAME`): directories 2770 (setgid, so what any
// member creates belongs to the group), files 0660. The choice is recorded
// in the home (access.json), so files any process creates later follow it.
// Modes are set explicitly after creation: the creating process's umask
// does not decide them. Nothing here re-modes what exists, except an
// explicit `engine init --mode` (applyAccess).
import fs from 'node:fs';
import path from 'node:path';
import { StrataError, fromSystemError } from '../errors.js';
import { fsyncDirectory } from '../durable.js';

/** Private to the owner, or shared with one group (its members read every container's bytes). */
export type HomeAccess = { shared: false } | { shared: true; gid: number; group: string };

export const PRIVATE: HomeAccess = { shared: false };
const RECORD = 'access.json';

export function dirMode(a: HomeAccess): number { return a.shared ? 0o2770 : 0o700; }
export function fileMode(a: HomeAccess): number { return a.shared ? 0o660 : 0o600; }

/** The access recorded in a home; private when none is recorded (or the home does not exist yet). */
export function readAccess(home: string): HomeAccess {
  let text: string;
  try {
    text = fs.readFileSync(path.join(home, RECORD), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return PRIVATE;
    throw e; // the caller says which home is not usable
  }
  const r = JSON.parse(text) as { mode?: string; gid?: number; group?: string };
  if (r.mode === '0770' && Number.isInteger(r.gid)) return { shared: true, gid: r.gid!, group: r.group ?? String(r.gid) };
  if (r.mode === '0700') return PRIVATE;
  throw new StrataError('EINVAL', `${path.join(home, RECORD)}: unknown access ${text.trim()} (written by a newer strata?)`);
}

/** Creates a directory (parents as usual) with the access's mode and group; an existing one is left as it is. */
export function makeDir(dir: string, a: HomeAccess): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.mkdirSync(dir, dirMode(a));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  if (a.shared) fs.chownSync(dir, -1, a.gid);
  fs.chmodSync(dir, dirMode(a)); // after chown, which clears setgid for non-root
  fsyncDirectory(path.dirname(dir)); // its name on disk before anything in it is indexed
}

/**
 * Creates a file that must not exist yet (O_EXCL) with the access's mode,
 * whatever the umask; returns its descriptor. Its group comes from the setgid
 * directory of a shared home.
 */
export function createFile(file: string, a: HomeAccess, flags = 'wx'): number {
  const fd = fs.openSync(file, flags, fileMode(a));
  try {
    fs.fchmodSync(fd, fileMode(a));
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

/** Creates a file with the access's mode if it is missing (another process may create it at the same time). */
export function ensureFile(file: string, a: HomeAccess): void {
  let fd: number;
  try {
    fd = createFile(file, a);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  fs.closeSync(fd);
}

/**
 * Records the access of a home and gives it to what the home holds already
 * (every directory and file under it, symlinks not followed): the explicit
 * way to make an existing home private, or to share it. Creates the home if
 * missing. Returns how many entries it changed.
 */
export function applyAccess(home: string, a: HomeAccess): number {
  makeDir(home, a);
  const record = path.join(home, RECORD);
  const tmp = `${record}.tmp`;
  fs.rmSync(tmp, { force: true });
  const fd = createFile(tmp, a);
  try {
    fs.writeSync(fd, `${JSON.stringify(a.shared ? { mode: '0770', gid: a.gid, group: a.group } : { mode: '0700' })}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, record);
  fsyncDirectory(home);
  let changed = 0;
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    const mode = st.isDirectory() ? dirMode(a) : fileMode(a);
    if (a.shared && st.gid !== a.gid) { fs.lchownSync(p, -1, a.gid); changed++; }
    if ((st.mode & 0o7777) !== mode) { fs.chmodSync(p, mode); changed++; }
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
  };
  try {
    walk(home);
  } catch (e) {
    // Recorded already: run again as the owner of what remains (or root) to finish.
    throw fromSystemError(e, `cannot give ${home} its access (run engine init --mode again as the owner of its files, or as root)`);
  }
  return changed;
}

/** Parses `--mode` / `--group` of `engine init` (gid resolved by the caller). */
export function accessOf(mode: string | undefined, group: { gid: number; name: string } | undefined): HomeAccess | undefined {
  if (mode === undefined && group === undefined) return undefined;
  const m = mode === undefined ? '0770' : mode.replace(/^0?(?=[0-7]{3}$)/, '0');
  if (m === '0700') {
    if (group) throw new StrataError('EINVAL', '--group shares a home with a group: use it with --mode 0770 (or leave --mode out)');
    return PRIVATE;
  }
  if (m === '0770') {
    if (!group) throw new StrataError('EINVAL', '--mode 0770 shares the home with one group: name it with --group NAME');
    return { shared: true, gid: group.gid, group: group.name };
  }
  throw new StrataError('EINVAL', `--mode ${mode}: an engine home is private (0700) or shared with one group (0770 with --group NAME); any other user able to read it reads every container's bytes`);
}
