// Progress for long moves: a bar on a TTY (files, bytes, rate, ETA), fed by
// the transfer's counters; totals come from a light scan of the source that
// runs alongside the copy (streaming too), so the bar moves during the scan.
import type CliProgress from 'cli-progress';
import type { Transfer, TransferSummary } from './transfer.js';
import { march } from './walk.js';

// cli-progress is loaded on use (a bar is shown: a TTY, no --quiet/--json):
// it costs ~25 ms at startup of every command.
let cliProgress: typeof CliProgress | undefined;

/** Loads cli-progress; await it before starting a ProgressBar or making a bar. */
export async function loadCliProgress(): Promise<typeof CliProgress> {
  return (cliProgress ??= (await import('cli-progress')).default);
}

export class ProgressBar {
  private bar: CliProgress.SingleBar | undefined;
  private timer: NodeJS.Timeout | undefined;
  private totalFiles = 0;
  private totalBytes = 0;
  private scanned = false;
  private stopScan = false;

  /** Needs loadCliProgress() done. */
  start(t: Transfer, srcSt: Parameters<Transfer['run']>[0] | undefined): void {
    if (!cliProgress) throw new Error('ProgressBar.start: call loadCliProgress() first');
    this.bar = new cliProgress.SingleBar({
      stream: process.stderr,
      format: '{bar} {percentage}% | {files}/{tfiles} files | {mb}/{tmb} MB | {rate} MB/s | ETA {eta_formatted}',
      hideCursor: true, etaBuffer: 20, fps: 5,
    }, cliProgress.Presets.shades_classic);
    this.bar.start(1, 0, { files: 0, tfiles: '?', mb: '0', tmb: '?', rate: '0' });
    if (srcSt) void this.scan(t, srcSt);
    this.timer = setInterval(() => this.update(t), 200);
  }

  private async scan(t: Transfer, st: Parameters<Transfer['run']>[0]): Promise<void> {
    try {
      for await (const ev of march(t.src, undefined, '', st, undefined)) {
        if (this.stopScan) return;
        if (ev.kind === 'entry' && ev.src) { this.totalFiles++; if (ev.src.type === 'file') this.totalBytes += ev.src.size; }
      }
      this.scanned = true;
    } catch { /* the copy reports errors */ }
  }

  private update(t: Transfer): void {
    const c = t.c;
    const done = c.files + c.symlinks + c.hardlinks + c.skipped + c.unchanged;
    const secs = Math.max(0.001, t.seconds);
    this.bar?.setTotal(Math.max(1, this.totalBytes));
    this.bar?.update(Math.min(c.bytes, Math.max(1, this.totalBytes)), {
      files: done, tfiles: this.scanned ? this.totalFiles : `${this.totalFiles}+`,
      mb: (c.bytes / 1e6).toFixed(1), tmb: (this.totalBytes / 1e6).toFixed(1) + (this.scanned ? '' : '+'), rate: (c.bytes / 1e6 / secs).toFixed(1),
    });
  }

  stop(): void {
    this.stopScan = true;
    if (this.timer) clearInterval(this.timer);
    this.bar?.stop();
  }
}

export function summaryLine(what: string, s: TransferSummary): string {
  const mbs = s.seconds > 0 ? s.bytes / 1e6 / s.seconds : 0;
  const parts = [
    `${s.files} files`, `${s.dirs} directories`, `${s.symlinks + s.hardlinks} links`, `${s.bytes} bytes`,
    `${s.seconds.toFixed(2)} s`, `${mbs.toFixed(1)} MB/s`, `${s.errors} errors`,
  ];
  if (s.skipped) parts.push(`${s.skipped} already done`);
  if (s.unchanged) parts.push(`${s.unchanged} unchanged`);
  if (s.deleted) parts.push(`${s.deleted} deleted`);
  return `${what}: ${parts.join(', ')}`;
}
