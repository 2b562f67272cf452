// The tier journal: one small JSON file per operation in progress
// ($STRATA_HOME/tier/<id>.json, or $STRATA_TIER_DIR), rewritten atomically
// (temp file, fsync, rename, fsync of the directory) at every step, so that
// after a crash `strata tier recover` — or re-running the same command — knows
// the plan (container, hidden sibling, link kind) and how far it got.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StrataError, fromSystemError } from '../errors.js';
import type { LinkKind } from '../uns/index.js';
import { fsyncDirectory } from '../durable.js';

export type TierOp = 'archive' | 'restore' | 'park' | 'unpark';

/**
 * Steps, in order, per operation. Everything before the "point of no return"
 * (archive: renamed, restore: unlinked, park: recorded, unpark: registered) is
 * rolled back by recover; everything after it is finished.
 */
export type ArchiveStep = 'prepared' | 'copying' | 'verifying' | 'renaming' | 'renamed' | 'linked';
export type RestoreStep = 'prepared' | 'copying' | 'verifying' | 'unlinking' | 'unlinked' | 'renamed';
export type ParkStep = 'prepared' | 'serializing' | 'recorded';
export type UnparkStep = 'prepared' | 'deserializing' | 'registered' | 'relinked';

export interface JournalBase {
  version: 1;
  id: string;
  op: TierOp;
  /** The entry's absolute path (the directory, later the link). */
  path: string;
  /** Process running it (pid and its start time, to tell a live run from a dead one). */
  pid: number;
  pidStart: string;
  host: string;
  startedAt: string;
  updatedAt: string;
}

export interface ArchiveJournal extends JournalBase {
  op: 'archive';
  step: ArchiveStep;
  pool: string;
  poolUuid: string;
  contUuid: string;
  contLabel: string;
  link: LinkKind;
  prefix?: string;
  keepSource: boolean;
  /** .NAME.strata-archive-<id> beside the path. */
  hidden: string;
  bytes?: number;
  files?: number;
}

export interface RestoreJournal extends JournalBase {
  op: 'restore';
  step: RestoreStep;
  poolUuid: string;
  contUuid: string;
  link: LinkKind;
  prefix?: string;
  keepContainer: boolean;
  /** .NAME.strata-restore-<id> beside the path. */
  hidden: string;
}

export interface ParkJournal extends JournalBase {
  op: 'park';
  step: ParkStep;
  poolUuid: string;
  contUuid: string;
  coldDir: string;
  snapName: string;
  files?: string[];
  /** Label of the container the files are read back into before the source is destroyed (removed on rollback). */
  verifyLabel?: string;
}

export interface UnparkJournal extends JournalBase {
  op: 'unpark';
  step: UnparkStep;
  poolUuid: string;
  /** The parked (old) container UUID, which the link still names. */
  oldUuid: string;
  /** Temporary label the container is rebuilt under, then renamed to `label`. */
  tmpLabel: string;
  label: string;
  newUuid?: string;
  link: LinkKind;
  prefix?: string;
  keepFiles: boolean;
}

export type TierJournal = ArchiveJournal | RestoreJournal | ParkJournal | UnparkJournal;

export function tierDir(): string {
  return process.env['STRATA_TIER_DIR'] || path.join(process.env['STRATA_HOME'] || path.join(os.homedir(), '.local', 'share', 'strata'), 'tier');
}

export function newId(): string {
  return crypto.randomBytes(6).toString('hex');
}

function procStart(pid: number): string {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** Whether the process that wrote the journal is still running (same host only; other hosts count as alive). */
export function journalOwnerAlive(j: TierJournal): boolean {
  if (j.host !== os.hostname()) return true;
  if (j.pid === process.pid) return false;
  const start = procStart(j.pid);
  return start !== '' && start === j.pidStart;
}

function fsyncDir(dir: string): void {
  try { fsyncDirectory(dir); } catch { /* best effort */ }
}

export function journalFile(id: string): string {
  return path.join(tierDir(), `${id}.json`);
}

/** Writes (creates or replaces) a journal atomically and durably. */
export function writeJournal<J extends TierJournal>(j: J): J {
  const dir = tierDir();
  try {
    fs.mkdirSync(dir, { recursive: true });
    j.updatedAt = new Date().toISOString();
    j.pid = process.pid;
    j.pidStart = procStart(process.pid);
    j.host = os.hostname();
    const tmp = path.join(dir, `.${j.id}.json.tmp`);
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(j, null, 1) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, journalFile(j.id));
    fsyncDir(dir);
  } catch (e) {
    throw fromSystemError(e, `tier journal in ${dir}`);
  }
  return j;
}

export function setStep<J extends TierJournal>(j: J, step: J['step']): J {
  j.step = step;
  return writeJournal(j);
}

export function removeJournal(j: TierJournal): void {
  fs.rmSync(journalFile(j.id), { force: true });
  fsyncDir(tierDir());
}

export function newJournalBase(op: TierOp, p: string): JournalBase & { id: string } {
  const now = new Date().toISOString();
  return { version: 1, id: newId(), op, path: p, pid: process.pid, pidStart: procStart(process.pid), host: os.hostname(), startedAt: now, updatedAt: now };
}

/** Every journal in the tier directory (unreadable ones are skipped with a warning). */
export function listJournals(onWarn?: (m: string) => void): TierJournal[] {
  let names: string[];
  try {
    names = fs.readdirSync(tierDir());
  } catch {
    return [];
  }
  const out: TierJournal[] = [];
  for (const n of names.sort()) {
    if (!n.endsWith('.json') || n.startsWith('.')) continue;
    try {
      const j = JSON.parse(fs.readFileSync(path.join(tierDir(), n), 'utf8')) as TierJournal;
      if (j.version === 1 && j.id && j.op && j.path) out.push(j);
    } catch (e) {
      onWarn?.(`unreadable tier journal ${path.join(tierDir(), n)}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** The journal of an operation on exactly this path, if any. */
export function journalFor(p: string): TierJournal | undefined {
  return listJournals().find((j) => j.path === p);
}

/** Refuses when a live process is working on the path. */
export function assertNotBusy(j: TierJournal): void {
  if (journalOwnerAlive(j)) {
    throw new StrataError('EBUSY', `${j.path}: a tier ${j.op} is in progress (pid ${j.pid} on ${j.host}, step ${j.step}); wait for it, or if that process is gone run 'strata tier recover'`);
  }
}
