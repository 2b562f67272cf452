// Who is calling: the process's uid and gids, mapped to user and group names
// through /etc/passwd and /etc/group (a small reader, no native modules).
// ACL principals are DAOS-style names: `alice@` for a user, `staff@` for a
// group. A uid or gid with no entry is named by its number (`1234@`).
// The files are the system's, always: ACLs match by name, so whoever could
// choose the name table (an environment variable, a flag) could name their
// own uid `root` and become the owner of root's containers.
import fs from 'node:fs';

export interface Caller {
  uid: number;
  /** Effective gid first, then the supplementary groups (deduplicated). */
  gids: number[];
  /** User name (no trailing '@'). */
  user: string;
  /** Group names of `gids`, same order (no trailing '@'). */
  groups: string[];
}

interface Db { byId: Map<number, string>; byName: Map<string, number> }

function readDb(file: string): Db {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  let text = '';
  try { text = fs.readFileSync(file, 'utf8'); } catch { /* no file: numbers only */ }
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    const name = f[0];
    const id = Number(f[2]);
    if (!name || f.length < 3 || !Number.isInteger(id)) continue;
    if (!byId.has(id)) byId.set(id, name);
    if (!byName.has(name)) byName.set(name, id);
  }
  return { byId, byName };
}

let passwd: Db | undefined;
let group: Db | undefined;
function users(): Db { return (passwd ??= readDb('/etc/passwd')); }
function groupsDb(): Db { return (group ??= readDb('/etc/group')); }

export function userName(uid: number): string { return users().byId.get(uid) ?? String(uid); }
export function groupName(gid: number): string { return groupsDb().byId.get(gid) ?? String(gid); }
export function uidOf(name: string): number | undefined {
  const n = users().byName.get(name);
  if (n !== undefined) return n;
  return /^\d+$/.test(name) ? Number(name) : undefined;
}
export function gidOf(name: string): number | undefined {
  const n = groupsDb().byName.get(name);
  if (n !== undefined) return n;
  return /^\d+$/.test(name) ? Number(name) : undefined;
}

/** Builds a caller from ids (names looked up). */
export function callerFromIds(uid: number, gids: number[]): Caller {
  const uniq = [...new Set(gids)];
  return { uid, gids: uniq, user: userName(uid), groups: uniq.map(groupName) };
}

/** The calling process: effective uid, effective gid and supplementary groups. */
export function currentCaller(): Caller {
  const uid = process.geteuid ? process.geteuid() : 0;
  const gid = process.getegid ? process.getegid() : 0;
  const extra = process.getgroups ? process.getgroups() : [];
  return callerFromIds(uid, [gid, ...extra]);
}

/** A DAOS principal name for a user/group name: appends '@'. */
export function principal(name: string): string { return `${name}@`; }
