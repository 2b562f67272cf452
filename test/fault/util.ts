// Fault-suite helpers: a counter of injected faults (printed at the end of each
// file), a source tree, and a tmpfs that is always unmounted.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const root = process.getuid?.() === 0;

let injected = 0;
export function inject(n = 1): void { injected += n; }
export function reportFaults(name: string): void {
  process.stderr.write(`# fault ${name}: ${injected} faults injected\n`);
}

export function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE((seed * 2654435761 + i * 40503) >>> 0, i);
  return b;
}

/** dirs × files small files plus one `big` file per directory. */
export function makeSource(dir: string, o: { dirs?: number; files?: number; big?: number } = {}): void {
  for (let d = 0; d < (o.dirs ?? 4); d++) {
    fs.mkdirSync(path.join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < (o.files ?? 20); f++) fs.writeFileSync(path.join(dir, `d${d}/f${f}`), bytes(f * 700 + 1, d * 100 + f));
    if (o.big) fs.writeFileSync(path.join(dir, `d${d}/big`), bytes(o.big, d));
  }
}

/** Mounts a tmpfs of `size` on dir, runs fn, and always detaches it. */
export async function withTmpfs<T>(dir: string, size: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  try {
    return await fn();
  } finally {
    spawnSync('umount', [dir], { stdio: 'ignore' });
    spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
}

export function remount(dir: string, size: string): void {
  execFileSync('mount', ['-o', `remount,size=${size}`, dir]);
}
