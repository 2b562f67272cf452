// Progress for long moves: a line on a TTY (files, bytes, rate; percent and
// ETA once the total is known), fed by the transfer's counters. The total
// comes from a count of the source that runs alongside the copy (as rclone
// counts while "checking"): a streaming walk that keeps two numbers, never a
// list. Until the count is complete the line shows what is done and the rate
// only: a percentage of an unknown total would be a guess.
import type CliProgress from 'cli-progress';
import type { MStat } from './tree.js';
import type { Transfer, TransferSummary } from './transfer.js';
import { march } from './walk.js';
import { count } from '../plural.js';

// cli-progress is loaded on use (a bar is shown: a TTY, no --quiet/--json):
// it costs ~25 ms at startup of every command.
let cliProgress: typeof CliProgress | undefined;

/** Loads cli-progress; await it before starting a ProgressBar or making a bar. */
export async function loadCliProgress(): Promise<typeof CliProgress> {
  return (cliProgress ??= (await import('cli-progress')).default);
}

/** What the progress line shows. */
export interface ProgressState {
  /** Entries done (files, links, already done, unchanged). */
  files: number;
  bytes: number;
  seconds: number;
  /** The source's totals, once its count is complete (undefined before, or when it could not be counted). */
  totalFiles?: number;
  totalBytes?: number;
  /** While counting: entries counted so far. */
  counted?: number;
}

const BAR = 20;
const mb = (n: number) => (n / 1e6).toFixed(1);

/** A duration for the ETA: 7s, 3m05s, 2h07m. */
export function formatDuration(secs: number): string {
  const s = Math.ceil(secs);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The progress line. With a known total: a bar, the percentage (the larger of
 * the files' and the bytes' fractions: bytes for a few large files, files
 * where sync finds most unchanged), done/total and the ETA from the fraction
 * done so far ("--" until something is done). Without: done and rate only.
 */
export function formatProgress(p: ProgressState, columns?: number): string {
  const rate = `${mb(p.seconds > 0 ? p.bytes / p.seconds : 0)} MB/s`;
  if (p.totalFiles === undefined || p.totalBytes === undefined) {
    return fit(columns, [
      [0, `${count(p.files, 'file')}`], [2, `${mb(p.bytes)} MB`], [3, rate],
      ...(p.counted !== undefined ? [[4, `counting the source: ${p.counted} so far`] as Field] : []),
    ]);
  }
  const parts: number[] = [];
  if (p.totalFiles > 0) parts.push(p.files / p.totalFiles);
  if (p.totalBytes > 0) parts.push(p.bytes / p.totalBytes);
  // An empty source is done; a source that grew since it was counted stops at 100%.
  const f = parts.length === 0 ? 1 : Math.min(1, Math.max(0, ...parts));
  const filled = Math.round(f * BAR);
  const eta = f >= 1 ? '0s' : f > 0 && p.seconds > 0 ? formatDuration((p.seconds * (1 - f)) / f) : '--';
  const pct = `${Math.floor(f * 100)}%`;
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR - filled)} `;
  return fit(columns, [
    [5, bar, ''], [0, pct], [1, `${p.files}/${count(p.totalFiles, 'file')}`], [3, `${mb(p.bytes)}/${mb(p.totalBytes)} MB`], [4, rate], [2, `ETA ${eta}`],
  ]);
}

/** A field of the line: how soon it goes when the line is too wide (highest first), its text, what follows it. */
type Field = [drop: number, text: string, sep?: string];

/**
 * Joins the fields, dropping the most dispensable ones (the bar first, then
 * the rate, ...) until the line fits in `columns` - 1 (a line as wide as the
 * terminal wraps on some); cut as a last resort.
 */
function fit(columns: number | undefined, fields: Field[]): string {
  const join = (fs: Field[]) => fs.map(([, t, sep], i) => t + (i < fs.length - 1 ? (sep ?? ' | ') : '')).join('');
  let kept = fields;
  const width = columns !== undefined && columns > 0 ? columns - 1 : Infinity;
  while ([...join(kept)].length > width && kept.length > 1) {
    const worst = Math.max(...kept.map(([d]) => d));
    kept = kept.filter(([d]) => d !== worst);
  }
  const line = join(kept);
  return [...line].length > width ? [...line].slice(0, width).join('') : line;
}


export class ProgressBar {
  private bar: CliProgress.SingleBar | undefined;
  private timer: NodeJS.Timeout | undefined;
  private t: Transfer | undefined;
  private countFiles = 0;
  private countBytes = 0;
  private count: 'running' | 'done' | 'failed' = 'running';
  private stopCount = false;

  /** Needs loadCliProgress() done. srcSt: the source root's stat (read from the source when not given). */
  start(t: Transfer, srcSt?: MStat): void {
    if (!cliProgress) throw new Error('ProgressBar.start: call loadCliProgress() first');
    this.t = t;
    this.bar = new cliProgress.SingleBar({
      stream: process.stderr,
      // Fitted to the terminal's width at each frame (it may be resized); cli-progress would cut it.
      format: (_o: unknown, _p: unknown, payload: { state: ProgressState }) => formatProgress(payload.state, process.stderr.columns),
      hideCursor: true, fps: 5,
    });
    this.bar.start(1, 0, { state: this.state() });
    void this.countSource(t, srcSt);
    this.timer = setInterval(() => this.bar?.update(0, { state: this.state() }), 200);
  }

  private state(): ProgressState {
    const c = this.t!.c;
    const s: ProgressState = { files: c.files + c.symlinks + c.hardlinks + c.specials + c.skipped + c.unchanged, bytes: c.bytes, seconds: this.t!.seconds };
    if (this.count === 'done') { s.totalFiles = this.countFiles; s.totalBytes = this.countBytes; }
    if (this.count === 'running') s.counted = this.countFiles;
    return s;
  }

  /**
   * Counts the source's entries and file bytes. A directory it cannot list
   * leaves the total unknown (the copy itself reports that error).
   */
  private async countSource(t: Transfer, st: MStat | undefined): Promise<void> {
    try {
      const root = st ?? (await t.src.lstat(''));
      if (!root) { this.count = 'failed'; return; }
      for await (const ev of march(t.src, undefined, '', root, undefined)) {
        if (this.stopCount) return;
        if (ev.kind === 'error') { this.count = 'failed'; return; }
        if (ev.kind === 'entry' && ev.src) {
          this.countFiles++;
          if (ev.src.type === 'file') this.countBytes += ev.src.size;
        }
      }
      this.count = 'done';
    } catch {
      this.count = 'failed'; // the same failure reaches the copy, which reports it
    }
  }

  stop(): void {
    this.stopCount = true;
    if (this.timer) clearInterval(this.timer);
    if (this.t) this.bar?.update(0, { state: this.state() }); // the last line shows the final counts
    this.bar?.stop();
  }
}

export function summaryLine(what: string, s: TransferSummary): string {
  const mbs = s.seconds > 0 ? s.bytes / 1e6 / s.seconds : 0;
  const parts = [
    count(s.files, 'file'), count(s.dirs, 'directory', 'directories'), count(s.symlinks + s.hardlinks, 'link'),
    ...(s.specials ? [count(s.specials, 'special file')] : []), count(s.bytes, 'byte'),
    `${s.seconds.toFixed(2)} s`, `${mbs.toFixed(1)} MB/s`, count(s.errors, 'error'),
  ];
  if (s.skipped) parts.push(`${s.skipped} already done`);
  if (s.unchanged) parts.push(`${s.unchanged} unchanged`);
  if (s.deleted) parts.push(`${s.deleted} deleted`);
  return `${what}: ${parts.join(', ')}`;
}
