// The resume journal of a copy: a small append-only file in the engine home
// ($STRATA_HOME/mover/<hash of src+dst>.journal), one per SRC -> DST pair.
//
// Line 1 is a JSON header: the resolved plan of the first run (the final
// destination root, the snapshot being copied), so a resumed run copies the
// same SRC -> DST mapping even though DST exists by then. Then one line per
// event, in completion order:
//   C <path>   every item up to <path> in walk order is finished (low-water mark)
//   D <path>   <path> finished ahead of the mark (parallel copies finish out of order)
//   F <path>   <path> failed (a resumed run tries it again)
//   B <id>     a run (first or resumed) starts, on the machine boot <id>
//   P / S      a flush to disk of a POSIX destination started / ended: the
//              events before the P are on disk
// Into a container every event follows a durable commit. Into a POSIX
// directory the files are left to the kernel's writeback (as cp -a does), so
// after a power loss or crash of the machine (a new boot id) only the events
// before the last completed flush are trusted; the rest is copied again. A
// killed process loses nothing the kernel holds, so the same boot trusts all
// that was written: events are written in batches of up to 32 lines, so a
// kill loses at most the last batch, and those items are copied again.
// Items are files, symlinks and hard links; directories are re-made (idempotent)
// and their metadata re-applied on resume. Memory on resume is the D and F sets
// past the last mark, bounded by the number of copies in flight (plus failures).
// A copy that finishes without errors replaces its journal by `<hash>.done`
// (the header and the finish time; written before the journal goes, so one of
// the two always exists): `--resume` of a copy that completed — even one killed
// after its last file, before it exited — has nothing left to do. A fresh run
// of the pair removes it; `.done` files older than 30 days are pruned.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import { comparePaths } from './names.js';
import { fsyncDirectory, syncFilesystem } from '../durable.js';
import { StrataError } from '../errors.js';

/** This boot of the machine (STRATA_TEST_BOOT_ID stands in for a restart in tests). */
export function bootId(): string {
  const t = process.env['STRATA_TEST_BOOT_ID'];
  if (t) return t;
  try { return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { return 'unknown'; }
}

/** How often a copy into a POSIX directory flushes it to disk and says so in its journal. */
function checkpointMs(): number {
  const v = Number(process.env['STRATA_MOVER_CHECKPOINT_MS']);
  return Number.isFinite(v) && v > 0 ? v : 5000;
}

/** syncfs of the filesystem holding dir, without blocking the event loop. */
function syncfsAsync(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('sync', ['-f', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(err.trim().replace(/^sync: /, '') || `sync -f: exit status ${code}`))));
  });
}

/**
 * Journal lines are written once this many wait (a killed run copies at most
 * these again: their files were finished, their lines not yet written), or
 * this many bytes, and at least this often (when the event loop gets there).
 */
const WRITE_BATCH_LINES = 32;
const WRITE_BATCH_BYTES = 64 << 10;
const WRITE_BATCH_MS = 50;

export interface JournalHeader {
  version: 1;
  src: string;
  dst: string;
  /** Where the copy goes: a POSIX path or a container (uuid) + path. */
  dstRoot: { kind: 'posix'; path: string } | {
    kind: 'container'; pool: string; cont: string; path: string;
    /** The copy creates this container (with this label and the uuid `cont`): written before it exists, so a resumed run makes the same one. */
    createLabel?: string;
  };
  /** Container sources: the snapshot epoch copied, and whether the copy took it (then it destroys it at the end). */
  srcEpoch?: number;
  snapOwned?: boolean;
  startedAt: string;
}

export function journalDir(): string {
  return process.env['STRATA_MOVER_JOURNAL_DIR'] || path.join(process.env['STRATA_HOME'] || path.join(os.homedir(), '.local', 'share', 'strata'), 'mover');
}

export function journalPath(src: string, dst: string): string {
  const h = crypto.createHash('sha256').update(`${src}\0${dst}`).digest('hex').slice(0, 32);
  return path.join(journalDir(), `${h}.journal`);
}

const DONE_KEEP_MS = 30 * 24 * 3600 * 1000;

export function donePath(journal: string): string {
  return journal.replace(/\.journal$/, '.done');
}

/** When the copy of this journal path last completed, if it did (and was not restarted since). */
export function completedAt(journal: string): string | undefined {
  try {
    const d = JSON.parse(fs.readFileSync(donePath(journal), 'utf8')) as { finishedAt?: string };
    return d.finishedAt ?? 'an earlier run';
  } catch {
    return undefined;
  }
}

/** Removes completion records older than DONE_KEEP_MS. */
function pruneDone(dir: string): void {
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  const old = Date.now() - DONE_KEEP_MS;
  for (const n of names) {
    if (!n.endsWith('.done')) continue;
    const p = path.join(dir, n);
    try { if (fs.statSync(p).mtimeMs < old) fs.rmSync(p, { force: true }); } catch { /* raced */ }
  }
}

export interface ResumeState {
  header: JournalHeader;
  mark: string | undefined;
  done: Set<string>;
  failed: Set<string>;
  /** Finished items not trusted (written before a machine restart, after the last flush): copied again. */
  distrusted: number;
}

type JournalEvent = { k: 'C' | 'D' | 'F'; p: string };

/**
 * Reads a journal; undefined if there is none (or it is unreadable). Events a
 * restart of the machine may have undone are dropped (see the header comment).
 */
export async function readJournal(file: string, currentBoot = bootId()): Promise<ResumeState | undefined> {
  if (!fs.existsSync(file)) return undefined;
  const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let header: JournalHeader | undefined;
  const events: JournalEvent[] = [];
  let flushed = 0; // events known to be on disk
  let pending: number | undefined; // events before the P of a flush not yet completed
  let boot: string | undefined;
  let distrusted = 0;
  let durable = false;
  // A restart between two runs (or since the last one) undid what was not flushed.
  const restarted = () => { distrusted += events.length - flushed; events.length = flushed; pending = undefined; };
  for await (const line of rl) {
    if (!header) {
      try { header = JSON.parse(line) as JournalHeader; } catch { return undefined; }
      durable = header.dstRoot.kind === 'container';
      continue;
    }
    if (line === 'P') { pending = events.length; continue; }
    if (line === 'S') { if (pending !== undefined) flushed = pending; pending = undefined; continue; }
    if (line.length < 3) continue;
    let p: string;
    try { p = JSON.parse(line.slice(2)) as string; } catch { continue; } // a torn last line
    const k = line[0];
    if (k === 'B') {
      if (!durable && boot !== undefined && p !== boot) restarted();
      boot = p;
    } else if (k === 'C' || k === 'D' || k === 'F') {
      events.push({ k, p });
      if (durable) flushed = events.length;
    }
  }
  if (!header) return undefined;
  // Journals without B lines (older runs) are trusted whole, as they were written.
  if (!durable && boot !== undefined && boot !== currentBoot) restarted();
  let mark: string | undefined;
  const done = new Set<string>();
  const failed = new Set<string>();
  for (const { k, p } of events) {
    if (k === 'C') {
      mark = p;
      for (const d of done) if (comparePaths(d, p) <= 0) done.delete(d);
    } else if (k === 'D') {
      done.add(p);
      failed.delete(p);
    } else failed.add(p);
  }
  return { header, mark, done, failed, distrusted };
}

/** Tracks finished items in walk order and appends to the journal. */
export class Journal {
  private fd: number;
  private bytes = 0;
  private next = 0; // lowest sequence number not yet finished
  private readonly items = new Map<number, { rel: string; finished: boolean; failed: boolean }>();
  private mark: string | undefined;
  private readonly ahead = new Set<string>();
  private readonly failedSet = new Set<string>();
  /** POSIX destination: the directory flushed to disk at checkpoints (undefined: events follow durable commits). */
  private readonly flushRoot: string | undefined;
  private unflushed = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /**
   * Lines not yet written: events are written in batches (one write for many
   * files, not one each). A killed process loses at most the last batch, a
   * suffix: those items are copied again on resume, never skipped wrongly.
   */
  private buffered: string[] = [];
  private bufferedBytes = 0;
  private writeTimer: NodeJS.Timeout | undefined;

  constructor(readonly file: string, readonly header: JournalHeader, readonly resume: ResumeState | undefined) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.mark = resume?.mark;
    this.flushRoot = header.dstRoot.kind === 'posix' ? header.dstRoot.path : undefined;
    this.fd = fs.openSync(file, resume ? 'a' : 'w');
    if (!resume) {
      this.append(JSON.stringify(header));
      fs.rmSync(donePath(file), { force: true }); // a fresh run: the earlier completion no longer says anything
      pruneDone(path.dirname(file));
    }
    this.append(`B ${JSON.stringify(bootId())}`);
    // The plan is on disk before anything happens at the destination.
    this.writeOut();
    fs.fdatasyncSync(this.fd);
    if (!resume) fsyncDirectory(path.dirname(file));
    if (this.flushRoot !== undefined) {
      this.timer = setInterval(() => { void this.checkpoint(); }, checkpointMs());
      this.timer.unref();
    }
  }

  /** POSIX destination: flushes it to disk and notes that the events before are safe from a machine restart. */
  private checkpoint(): Promise<void> {
    if (this.flushing || this.unflushed === 0 || this.flushRoot === undefined) return this.flushing ?? Promise.resolve();
    this.append('P');
    this.writeOut(); // the events the flush covers are in the file before it starts
    this.unflushed = 0;
    this.flushing = syncfsAsync(this.flushRoot)
      // A failed flush only leaves the events uncovered: the next one (or the one at the end, which reports) covers them.
      .then(() => { this.append('S'); }, () => undefined)
      .finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  /** True when a resumed run already finished rel. */
  isDone(rel: string): boolean {
    const r = this.resume;
    if (!r) return false;
    if (r.failed.has(rel)) return false;
    // Inside a directory that failed (not listed): never walked, so not done.
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) if (r.failed.has(rel.slice(0, i))) return false;
    if (r.mark !== undefined && comparePaths(rel, r.mark) <= 0) return true;
    return r.done.has(rel);
  }

  /** Registers an item in walk order; returns its sequence number. */
  begin(rel: string, seq: number): void {
    this.items.set(seq, { rel, finished: false, failed: false });
  }

  finish(seq: number, ok: boolean): void {
    const it = this.items.get(seq);
    if (!it) return;
    it.finished = true;
    it.failed = !ok;
    if (!ok) { this.failedSet.add(it.rel); this.event('F', it.rel); }
    // A retried failure that now succeeded: clear it explicitly (a mark never clears failures).
    if (ok && this.resume?.failed.has(it.rel)) this.event('D', it.rel);
    let advanced: string | undefined;
    while (this.items.get(this.next)?.finished) {
      const x = this.items.get(this.next)!;
      this.items.delete(this.next);
      this.ahead.delete(x.rel);
      advanced = x.rel;
      this.next++;
    }
    if (advanced !== undefined) {
      this.mark = advanced;
      this.event('C', advanced);
    } else if (ok) {
      this.ahead.add(it.rel);
      this.event('D', it.rel);
    }
    if (this.bytes + this.bufferedBytes > 8 << 20) this.compact();
  }

  private append(line: string): void {
    this.buffered.push(line);
    this.bufferedBytes += line.length + 1;
    if (this.buffered.length >= WRITE_BATCH_LINES || this.bufferedBytes >= WRITE_BATCH_BYTES) this.writeOut();
    else if (!this.writeTimer) {
      this.writeTimer = setTimeout(() => { this.writeTimer = undefined; this.writeOut(); }, WRITE_BATCH_MS);
      this.writeTimer.unref();
    }
  }

  /** Writes the buffered lines, in order, in one call. */
  private writeOut(): void {
    if (this.writeTimer) { clearTimeout(this.writeTimer); this.writeTimer = undefined; }
    if (this.buffered.length === 0) return;
    const b = Buffer.from(this.buffered.join('\n') + '\n', 'utf8');
    this.buffered = [];
    this.bufferedBytes = 0;
    for (let done = 0; done < b.length;) done += fs.writeSync(this.fd, b, done, b.length - done);
    this.bytes += b.length;
  }

  /** Drops lines not yet written (the journal is being rewritten, or removed). */
  private dropBuffered(): void {
    if (this.writeTimer) { clearTimeout(this.writeTimer); this.writeTimer = undefined; }
    this.buffered = [];
    this.bufferedBytes = 0;
  }

  /** A C, D or F line: an event the next flush of a POSIX destination covers. */
  private event(k: 'C' | 'D' | 'F', rel: string): void {
    this.append(`${k} ${JSON.stringify(rel)}`);
    this.unflushed++;
  }

  /** Rewrites the journal with only what a resume needs. */
  private compact(): void {
    const tmp = `${this.file}.tmp`;
    const lines = [JSON.stringify(this.header)];
    for (const f of this.failedSet) lines.push(`F ${JSON.stringify(f)}`);
    if (this.mark !== undefined) lines.push(`C ${JSON.stringify(this.mark)}`);
    for (const d of this.ahead) lines.push(`D ${JSON.stringify(d)}`);
    lines.push(`B ${JSON.stringify(bootId())}`);
    if (this.flushRoot !== undefined) {
      // What the rewritten journal says done must be on disk (rare: every 8 MiB of journal).
      syncFilesystem(this.flushRoot);
      lines.push('P', 'S');
    }
    this.dropBuffered(); // the rewrite holds all of it
    fs.writeFileSync(tmp, lines.join('\n') + '\n');
    fs.renameSync(tmp, this.file);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, 'a');
    this.bytes = 0;
  }

  /**
   * Ends the journal; a completed copy leaves its `.done` record instead, once
   * a POSIX destination is flushed to disk (a completion the next boot could
   * not find on disk would make --resume skip it).
   */
  async close(completed: boolean): Promise<void> {
    this.stopTimer();
    if (this.flushing) await this.flushing;
    try {
      this.writeOut();
    } catch (e) {
      try { fs.closeSync(this.fd); } catch { /* closed */ }
      throw e;
    }
    if (completed && this.flushRoot !== undefined) {
      try {
        await syncfsAsync(this.flushRoot);
      } catch (e) {
        try { fs.closeSync(this.fd); } catch { /* closed */ }
        throw new StrataError('EIO', `the copy finished but ${this.flushRoot} could not be flushed to disk: ${(e as Error).message}; run the same command with --resume once fixed`);
      }
    }
    try { fs.closeSync(this.fd); } catch { /* closed */ }
    if (!completed) return;
    const done = donePath(this.file);
    const fd = fs.openSync(`${done}.tmp`, 'w');
    try {
      fs.writeSync(fd, JSON.stringify({ ...this.header, finishedAt: new Date().toISOString() }) + '\n');
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(`${done}.tmp`, done);
    fsyncDirectory(path.dirname(done));
    fs.rmSync(this.file, { force: true });
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Drops the journal without a completion record (the copy never started). */
  discard(): void {
    this.stopTimer();
    this.dropBuffered();
    try { fs.closeSync(this.fd); } catch { /* closed */ }
    fs.rmSync(this.file, { force: true });
  }
}
