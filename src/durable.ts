// Making writes durable where a later step removes the only other copy:
// fsync of a directory (a rename in it is on disk) and syncfs of a whole
// filesystem (a tree the mover wrote, which like cp -a leaves its files to
// the kernel's writeback).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { StrataError, fromSystemError } from './errors.js';

/**
 * Makes everything written to the filesystem holding `dir` durable (syncfs(2),
 * through coreutils' `sync -f`: Node has no syncfs).
 */
export function syncFilesystem(dir: string): void {
  const r = spawnSync('sync', ['-f', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? reasonOfSpawn(r.error) : (r.stderr.trim().replace(/^sync: /, '') || `exit status ${r.status}`);
    throw new StrataError('EIO', `cannot flush ${dir} to disk (sync -f): ${why}`);
  }
}

function reasonOfSpawn(e: Error): string {
  return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the sync command (coreutils) was not found' : e.message;
}

/** fsync of a directory: a rename in it is on disk. */
export function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    throw fromSystemError(e, `cannot flush directory ${dir}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
