// Small helpers for benchmarks: timing, running reference tools, formatting.
import { execFileSync } from 'node:child_process';

/**
 * One measured line. `speed` compares with the tools users would use instead,
 * measured in the same run: ratio = their time / our time (above 1: strata is faster).
 */
export interface Row { name: string; value: string; speed?: Array<{ vs: string; ratio: number }> }

/** Size knobs: BENCH_QUICK=1 (npm run bench -- --quick) picks the small value. */
export function size(envName: string, full: number, quick: number): number {
  const v = process.env[envName];
  if (v !== undefined && v !== '') return Number(v);
  return process.env['BENCH_QUICK'] === '1' ? quick : full;
}

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

/**
 * Before a timed run: writes back dirty pages, empties the page cache and reads
 * `warm` back in (sources hot for every tool, as they would be for cp -a
 * run twice). A page cache left full by earlier runs made each new page cost
 * a reclaim (system time 2-3x higher) and swung ratios from one run to the
 * next. Without root it only syncs.
 */
export function settle(...warm: string[]): void {
  dropCaches();
  execFileSync('sync');
  for (const w of warm) execFileSync('bash', ['-c', `find '${w}' -type f -print0 | xargs -0 -r cat > /dev/null`], { stdio: 'ignore' });
}

/**
 * Runs a command and samples its memory from /proc: peak resident set (what
 * `time -f %M` reports, including file pages it maps, such as the LMDB index)
 * and peak anonymous memory (heap and buffers: what the process itself holds).
 */
export async function runMeasured(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; peakRssMB: number; peakAnonMB: number; code: number }> {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
  let peakRss = 0;
  let peakAnon = 0;
  const sample = () => {
    try {
      const st = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const rss = Number(/VmHWM:\s+(\d+)/.exec(st)?.[1] ?? 0);
      const anon = Number(/RssAnon:\s+(\d+)/.exec(st)?.[1] ?? 0);
      peakRss = Math.max(peakRss, rss);
      peakAnon = Math.max(peakAnon, anon);
    } catch { /* exited */ }
  };
  const timer = setInterval(sample, 20);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  clearInterval(timer);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, peakRssMB: peakRss / 1024, peakAnonMB: peakAnon / 1024, code };
}
