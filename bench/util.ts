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
 * A memory cgroup of `mb` MiB for one command (cgroup v2, else v1), charged
 * for the page cache the command brings in as well as its own memory, as a
 * batch scheduler's memory limit is. Undefined where none can be made (not
 * root, no memory controller).
 */
function memoryCgroup(mb: number, fs: typeof import('node:fs')): { procs: string; peakMB: () => number; remove: () => void } | undefined {
  const name = `strata-bench-${process.pid}`;
  const v2 = '/sys/fs/cgroup';
  const tries: Array<() => { procs: string; peakMB: () => number; remove: () => void }> = [
    () => {
      if (!fs.readFileSync(`${v2}/cgroup.controllers`, 'utf8').split(/\s+/).includes('memory')) throw new Error('no memory controller');
      fs.writeFileSync(`${v2}/cgroup.subtree_control`, '+memory');
      const dir = `${v2}/${name}`;
      fs.mkdirSync(dir);
      fs.writeFileSync(`${dir}/memory.max`, String(mb * 1048576));
      return { procs: `${dir}/cgroup.procs`, peakMB: () => Number(fs.readFileSync(`${dir}/memory.peak`, 'utf8')) / 1048576, remove: () => fs.rmdirSync(dir) };
    },
    () => {
      const dir = `${v2}/memory/${name}`;
      fs.mkdirSync(dir);
      fs.writeFileSync(`${dir}/memory.limit_in_bytes`, String(mb * 1048576));
      return { procs: `${dir}/cgroup.procs`, peakMB: () => Number(fs.readFileSync(`${dir}/memory.max_usage_in_bytes`, 'utf8')) / 1048576, remove: () => fs.rmdirSync(dir) };
    },
  ];
  for (const t of tries) {
    try { return t(); } catch { /* try the next kind */ }
  }
  return undefined;
}

/**
 * Runs a command and samples its memory from /proc: peak resident set (what
 * `time -f %M` reports, including file pages it maps, such as the LMDB index)
 * and peak anonymous memory (heap and buffers: what the process itself holds).
 * With `memoryLimitMB` the command runs inside a memory cgroup of that size
 * (cgroupPeakMB is then the cgroup's peak charge), or the result says
 * `limited: false` when no cgroup could be made.
 */
export async function runMeasured(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { memoryLimitMB?: number } = {}): Promise<{ seconds: number; peakRssMB: number; peakAnonMB: number; code: number; limited: boolean; cgroupPeakMB?: number }> {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const cg = opts.memoryLimitMB ? memoryCgroup(opts.memoryLimitMB, fs) : undefined;
  const t0 = process.hrtime.bigint();
  // In a cgroup: a shell joins it, then becomes the command (exec keeps the pid).
  const child = cg
    ? spawn('sh', ['-c', `echo $$ > '${cg.procs}' && exec "$0" "$@"`, cmd, ...args], { env, stdio: ['ignore', 'ignore', 'ignore'] })
    : spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
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
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let cgroupPeakMB: number | undefined;
  if (cg) {
    try { cgroupPeakMB = cg.peakMB(); } catch { /* no peak file */ }
    try { cg.remove(); } catch { /* still draining */ }
  }
  return { seconds, peakRssMB: peakRss / 1024, peakAnonMB: peakAnon / 1024, code, limited: !!cg, cgroupPeakMB };
}

/** Middle value (mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Timed runs of several contenders in `n` rounds, each contender once per
 * round, the order rotated from one round to the next (so no tool always
 * runs first on a fresh disk or last on a tired one). Every run prepares its
 * own fresh output and is preceded by `before` (dropping caches: the source
 * cold for every tool alike); `afterRound` may clear the round's outputs.
 * Returns each contender's times by round.
 */
export async function rounds<K extends string>(n: number, contenders: Record<K, () => Promise<number> | number>, opts: { before?: () => void; afterRound?: () => Promise<void> | void } = {}): Promise<Record<K, number[]>> {
  const before = opts.before ?? dropCaches;
  const keys = Object.keys(contenders) as K[];
  const times = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[(i + r) % keys.length]!;
      before();
      times[k].push(await contenders[k]());
    }
    await opts.afterRound?.();
  }
  return times;
}

/**
 * The speed of `ours` against a reference measured in the same rounds: the
 * median of the per-round ratios (reference time / our time), with the
 * spread, so one noisy round does not decide the figure.
 */
export function pairedRatio(ours: number[], theirs: number[]): { median: number; min: number; max: number } {
  const r = ours.map((t, i) => theirs[i]! / t);
  return { median: median(r), min: Math.min(...r), max: Math.max(...r) };
}
