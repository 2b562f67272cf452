// Small helpers for benchmarks: timing, running reference tools, formatting.
import { execFileSync } from 'node:child_process';

export interface Row { name: string; value: string }

export async function timed<T>(fn: () => Promise<T> | T): Promise<{ seconds: number; result: T }> {
  const t0 = process.hrtime.bigint();
  const result = await fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, result };
}

/** Runs a shell command and returns its wall time in seconds. */
export function timeCommand(cmd: string): number {
  const t0 = process.hrtime.bigint();
  execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function mbps(bytes: number, seconds: number): string {
  return `${(bytes / MiB / seconds).toFixed(0)} MiB/s`;
}

export function ratio(ours: number, theirs: number): string {
  return `${(ours / theirs).toFixed(2)}x`;
}

/** Drops the page cache when allowed (root), so reads come from the disk. */
export function dropCaches(): void {
  try { execFileSync('bash', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' }); } catch { /* not root */ }
}
