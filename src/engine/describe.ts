// How engines describe themselves in `engine init` and `engine info`, shared by
// the drivers: the default home, who may read a home's bytes, where large
// extents go.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAccess } from './home-access.js';

export function defaultHome(): string {
  return process.env['STRATA_HOME'] || path.join(os.homedir(), '.local', 'share', 'strata');
}

/**
 * How a home's access reads in `engine init` and `engine info`: the recorded
 * choice, or, with none, what its modes show (a home made by an older strata
 * is readable by every local user until engine init --mode is run on it).
 */
export function describeAccess(dir: string): string {
  const a = readAccess(dir);
  if (a.shared) return `shared with group ${a.group} (directories 2770, files 0660): every member reads all container bytes directly; container ACLs do not bind them`;
  const open = [dir, path.join(dir, 'index.mdb'), path.join(dir, 'extents')].filter((p) => {
    try { return (fs.statSync(p).mode & 0o077) !== 0; } catch { return false; }
  });
  if (open.length) return `readable by other users (${open.map((p) => `${path.basename(p)} ${(fs.statSync(p).mode & 0o777).toString(8)}`).join(', ')}; made by an older strata?): run strata engine init --mode 0700 to make it private, or --mode 0770 --group NAME to share it`;
  return 'private to its owner (directories 0700, files 0600)';
}

export function describeData(data: string): string {
  return data === 'postgres' ? 'PostgreSQL (blobs table)' : `extent files in ${data}`;
}
