// `strata tier archive DIR`: copy a directory into a new POSIX container,
// verify it, and replace the directory by a UNS link to the container, in
// steps recorded in a journal (journal.ts) so that a crash at any point is
// finished or rolled back by `tier recover` or by running the command again.
//
//   prepared   journal written, container created (empty)
//   copying    sync passes DIR -> container until one pass finds nothing new
//   verifying  compare with checksums
//   renaming   DIR -> .DIR.strata-archive-<id> (one rename(2))
//   renamed    after a last check of the renamed tree: link made at DIR
//   linked     hidden copy removed (kept with --keep-source), journal removed
//
// At every moment the data is complete in at least one place: DIR (until the
// rename), the hidden sibling (until the link exists and it is deleted), the
// container (from the end of verification on).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StrataError, isStrataError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import { createContainer, destroyContainer } from '../container/index.js';
import { linkContainer, type LinkInfo, type LinkKind } from '../uns/index.js';
import { strataMounts } from '../fuse/channel.js';
import { compare, sync, type Difference } from '../mover/index.js';
import { reasonOf } from '../mover/transfer.js';
import type { Transfer } from '../mover/index.js';
import {
  assertNotBusy, journalFor, newJournalBase, removeJournal, setStep, writeJournal, type ArchiveJournal,
} from './journal.js';
import {
  checkArchivable, entryPath, formatBytes, hiddenSibling, lstatOrUndefined, pauseAt, refuseMountsBelow, refuseWriters, removeTree, treeSize, writersBelow,
} from './util.js';
import {
  choosePool, containerUri, findContainer, freeBytes, labelFor, linkAtPath, linkChoice, withTierEngine, type TierCommon,
} from './common.js';
import { putArchived } from './records.js';
import { setXattr } from '../uns/fsx.js';
import { pidAlive } from '../pid.js';

export interface ArchiveOptions extends TierCommon {
  pool?: string;
  link?: LinkKind;
  prefix?: string;
  /** Keep the original tree as the hidden sibling instead of deleting it. */
  keepSource?: boolean;
  /** Mover workers (default 4). */
  jobs?: number;
  /** Sync passes before a tree that keeps changing is refused (default 4). */
  maxPasses?: number;
  /** Phase changes, for a progress display. */
  onPhase?: (phase: string) => void;
  /** The mover's transfer of each pass (live counters). */
  onTransfer?: (t: Transfer) => void;
  signal?: AbortSignal;
}

export interface ArchiveResult {
  path: string;
  poolUuid: string;
  contUuid: string;
  contLabel: string;
  link: LinkKind;
  bytes: number;
  files: number;
  passes: number;
  /** The original tree, when kept (--keep-source). */
  keptSource?: string;
  /** Continued an interrupted archive. */
  resumed: boolean;
  seconds: number;
}

export async function archive(dirInput: string, opts: ArchiveOptions = {}): Promise<ArchiveResult> {
  const t0 = Date.now();
  const p = entryPath(dirInput);
  const old = journalFor(p);
  if (old) {
    assertNotBusy(old);
    if (old.op !== 'archive') throw new StrataError('EBUSY', `${p}: an interrupted tier ${old.op} is pending: run 'strata tier recover ${p}' first`);
    opts.onWarn?.(`continuing the interrupted archive of ${p} (step ${old.step})`);
    return withTierEngine(opts.engine, (e) => runArchive(e, old, opts, true, t0));
  }
  checkArchivable(p);
  refuseInsideStrataMount(p);
  refuseWriters(p, p);
  const lk = linkChoice(p, opts.link, opts.prefix);
  if (lk.kind === 'xattr') probeXattrs(p);
  return withTierEngine(opts.engine, async (engine) => {
    const pool = await choosePool(engine, opts.pool);
    if (lk.kind === 'symlink') refuseUnservedPrefix(p, lk.prefix!, pool.uuid);
    const base = newJournalBase('archive', p);
    const uuid = crypto.randomUUID();
    const j: ArchiveJournal = {
      ...base, op: 'archive', step: 'prepared', pool: pool.label, poolUuid: pool.uuid, contUuid: uuid,
      contLabel: await labelFor(engine, pool, path.basename(p), base.id, uuid), link: lk.kind, ...(lk.prefix ? { prefix: lk.prefix } : {}),
      keepSource: !!opts.keepSource, hidden: hiddenSibling(p, 'archive', base.id),
    };
    // Space: the engine has no quota; its disk is what fills (LMDB engines only).
    const size = await treeSize(p, undefined, { links: true });
    refuseLinksBelow(p, size.links);
    refuseMountsBelow(p, size.otherDevices); // also those of another device that the mount table did not show
    j.bytes = size.bytes;
    j.files = size.files;
    if (engine.kind === 'lmdb') {
      const free = freeBytes(engine.location);
      if (free < size.bytes && !process.env['STRATA_TIER_NO_SPACE_CHECK']) {
        throw new StrataError('ENOSPC', `pool ${pool.label} cannot hold ${p}: it needs ${formatBytes(size.bytes)}, the engine's disk (${engine.location}) has ${formatBytes(free)} free; nothing was changed`);
      }
    }
    writeJournal(j);
    try {
      await createContainer(engine, pool.uuid, j.contLabel, { uuid, type: 'POSIX' });
    } catch (e) {
      removeJournal(j);
      throw e;
    }
    setStep(j, 'copying');
    return runArchive(engine, j, opts, false, t0);
  });
}

/**
 * A directory inside strata's own FUSE mount is container data already:
 * archiving it would copy the tier into itself and replace a container's
 * directory by a link to another container.
 */
function refuseInsideStrataMount(p: string): void {
  let real = p;
  try { real = fs.realpathSync(p); } catch { /* checkArchivable reported a missing p */ }
  for (const mp of strataMounts().keys()) {
    if (real === mp || real.startsWith(mp === '/' ? '/' : `${mp}/`)) {
      throw new StrataError('EINVAL', `${p} is inside the strata mount at ${mp}: its data is in the tier already; ${p} was not changed`);
    }
  }
}

/**
 * Links below p are refused: the copy would turn each into a plain empty
 * directory (a container's data is not copied through its link), leaving its
 * data reachable by no path and unlisted by tier status.
 */
function refuseLinksBelow(p: string, links: readonly LinkInfo[]): void {
  const l = links[0];
  if (l) {
    throw new StrataError('EINVAL', `${l.path} is a UNS link (to container ${l.cont}) inside ${p}: archiving would turn it into an empty directory; restore it ('strata tier restore ${l.path}') or move it out of ${p} first; ${p} was not changed`);
  }
}

/**
 * A symlink link points at <prefix>/<pool>/<cont>: the tier's root must be
 * mounted at the prefix, else the link would not resolve (checked before
 * anything is copied; the link itself is checked again before the source goes).
 */
function refuseUnservedPrefix(p: string, prefix: string, poolUuid: string): void {
  const poolDir = path.join(prefix, poolUuid);
  let isDir = false;
  try { isDir = fs.statSync(poolDir).isDirectory(); } catch { /* not served */ }
  if (!isDir) {
    throw new StrataError('ENOENT', `${p}: a symlink link to ${prefix} would not resolve: ${poolDir} does not exist (is the tier mounted there? 'strata mount ${prefix}'); ${p} was not changed`);
  }
}

/**
 * The link must give users the copied data through the path they use: for a
 * symlink link, read through it into the tier mount and compare the root
 * listing and one file with the source. The mount may take a moment to show
 * a new container, hence the few tries. Returns why not, or undefined.
 */
async function linkDoesNotServe(p: string, source: string): Promise<string | undefined> {
  const want = fs.readdirSync(source).sort();
  const sample = want.find((n) => fs.lstatSync(path.join(source, n)).isFile());
  let why = '';
  for (let i = 0; i < 30; i++) {
    try {
      const got = fs.readdirSync(p).sort();
      if (got.join('\0') !== want.join('\0')) why = `its listing differs from the copied tree (${got.length} entries instead of ${want.length})`;
      else if (sample && !sameHead(path.join(p, sample), path.join(source, sample))) why = `${sample} read through it differs from the copied file`;
      else return undefined;
    } catch (e) {
      why = reasonOf(e);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return why;
}

/** The first MiB of two files is equal. */
function sameHead(a: string, b: string): boolean {
  const read = (f: string): Buffer => {
    const fd = fs.openSync(f, 'r');
    try {
      const buf = Buffer.alloc(1 << 20);
      return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  };
  return read(a).equals(read(b));
}

/**
 * The filesystem must take user xattrs for an xattr link: try on a scratch
 * file beside p. A run killed in the middle leaves its probe: the next one
 * removes probes of processes that are gone.
 */
function probeXattrs(p: string): void {
  const dir = path.dirname(p);
  const stem = `.${path.basename(p)}.strata-probe-`;
  try {
    for (const n of fs.readdirSync(dir)) {
      const pid = n.startsWith(stem) ? Number(n.slice(stem.length)) : NaN;
      if (Number.isInteger(pid) && pid !== process.pid && !pidAlive(pid)) fs.rmSync(path.join(dir, n), { force: true });
    }
  } catch { /* unreadable: the probe below reports it */ }
  const probe = path.join(dir, `${stem}${process.pid}`);
  try {
    fs.writeFileSync(probe, '');
    fs.chmodSync(probe, 0o600);
    setXattr(probe, 'user.strata.probe', Buffer.from('1'));
  } catch (e) {
    if (isStrataError(e)) throw new StrataError(e.code, `${p}: cannot make an xattr link there: ${e.message}`);
    throw new StrataError('EACCES', `${p}: cannot write in ${path.dirname(p)}: ${reasonOf(e)}`);
  } finally {
    fs.rmSync(probe, { force: true });
  }
}


/** Continues an archive from its journal's step (fresh runs start at 'copying'). */
async function runArchive(engine: Engine, j: ArchiveJournal, opts: ArchiveOptions, resumed: boolean, t0: number): Promise<ArchiveResult> {
  const p = j.path;
  const uri = containerUri(j.poolUuid, j.contUuid);
  let passes = 0;
  const pState = lstatOrUndefined(p);
  const link = linkAtPath(p);
  const beforeSwap = !!pState && !link && pState.isDirectory() && !lstatOrUndefined(j.hidden);
  if (beforeSwap) {
    if (!(await findContainer(engine, j.poolUuid, j.contUuid))) {
      // Killed between journal and container creation.
      await createContainer(engine, j.poolUuid, j.contLabel, { uuid: j.contUuid, type: 'POSIX' });
    }
    if (j.step !== 'copying') setStep(j, 'copying');
    try {
      refuseMountsBelow(p); // one mounted since the checks (or before a resumed run)
      passes = await copyUntilStable(p, uri, j, opts);
      setStep(j, 'verifying');
      opts.onPhase?.('verify');
      pauseAt('verify');
      let diffs = await verify(p, uri, opts);
      if (diffs.length) {
        // Changed after the last pass: one more pass, then it must hold still.
        passes += await copyUntilStable(p, uri, j, opts, 2);
        diffs = await verify(p, uri, opts);
        if (diffs.length) throw changedError(p, diffs);
      }
      refuseWriters(p, p);
      refuseMountsBelow(p);
    } catch (e) {
      await rollbackArchive(engine, j, opts);
      throw withNote(e, `${p} was not changed`);
    }
    setStep(j, 'renaming');
    pauseAt('rename');
    opts.onPhase?.('swap');
    try {
      fs.renameSync(p, j.hidden);
    } catch (e) {
      await rollbackArchive(engine, j, opts);
      throw new StrataError('EIO', `cannot move ${p} aside to ${j.hidden}: ${reasonOf(e)}; ${p} was not changed`);
    }
    setStep(j, 'renamed');
    // Programs that had files open before the rename can still write to them.
    const late = writersBelow(j.hidden);
    const diffs = late.length ? [] : await verify(j.hidden, uri, { ...opts }, false);
    if (late.length || diffs.length) {
      if (!lstatOrUndefined(p)) fs.renameSync(j.hidden, p);
      await rollbackArchive(engine, j, opts);
      throw late.length
        ? new StrataError('EBUSY', `${p} has files open for writing (${late.slice(0, 3).join('; ')}): archive refused, ${p} was not changed`)
        : withNote(changedError(p, diffs), `${p} was not changed`);
    }
  }
  return finishArchive(engine, j, opts, passes, resumed, t0);
}

/** From 'renamed' on: make the link, record, drop the hidden copy. */
async function finishArchive(engine: Engine, j: ArchiveJournal, opts: ArchiveOptions, passes: number, resumed: boolean, t0: number): Promise<ArchiveResult> {
  const p = j.path;
  const rec = await findContainer(engine, j.poolUuid, j.contUuid);
  let link = linkAtPath(p);
  const hidden = lstatOrUndefined(j.hidden);
  if (!rec) {
    if (hidden && !lstatOrUndefined(p)) fs.renameSync(j.hidden, p);
    removeJournal(j);
    throw new StrataError('ENOENT', `the archive of ${p} cannot be finished: its container ${j.contUuid} is gone; ${hidden ? `the original tree is back at ${p}` : 'nothing else to do'}`);
  }
  if (link && link.cont !== j.contUuid) {
    throw new StrataError('ECONFLICT', `${p} is now a link to another container (${link.cont}); the archived data is in container ${j.contLabel} (${j.contUuid})${hidden ? ` and in ${j.hidden}` : ''}; resolve by hand, then remove the journal with 'strata tier recover --forget ${p}'`);
  }
  if (!link) {
    if (lstatOrUndefined(p)) {
      throw new StrataError('ECONFLICT', `${p} was re-created while it was being archived; nothing was removed: the original tree is in ${j.hidden} and the copy in container ${j.contLabel} (${j.contUuid}); move ${p} away and run 'strata tier recover' to finish`);
    }
    pauseAt('renamed');
    link = (await linkContainer(engine, j.poolUuid, j.contUuid, p, { link: j.link, prefix: j.prefix })).link;
  }
  if (link.kind === 'symlink' && hidden) {
    const why = await linkDoesNotServe(p, j.hidden);
    if (why) {
      // Undo the swap: the original tree goes back, the container goes.
      fs.unlinkSync(p);
      fs.renameSync(j.hidden, p);
      await rollbackArchive(engine, j, opts);
      throw new StrataError('EIO', `${p}: the symlink link to ${link.target} does not give the archived data (${why}; is the tier mounted at ${link.prefix}?): archive refused, ${p} was not changed`);
    }
  }
  setStep(j, 'linked');
  await putArchived(engine, { path: p, poolUuid: j.poolUuid, contUuid: j.contUuid, bytes: j.bytes ?? 0, files: j.files ?? 0, archivedAt: new Date().toISOString() });
  pauseAt('linked');
  if (!j.keepSource && hidden) removeTree(j.hidden);
  removeJournal(j);
  return {
    path: p, poolUuid: j.poolUuid, contUuid: j.contUuid, contLabel: j.contLabel, link: j.link, bytes: j.bytes ?? 0, files: j.files ?? 0,
    passes, ...(j.keepSource && hidden ? { keptSource: j.hidden } : {}), resumed, seconds: (Date.now() - t0) / 1000,
  };
}

/**
 * Sync passes until one copies nothing (files, links, deletions): a tree that
 * is being written keeps producing work and is refused after maxPasses.
 */
async function copyUntilStable(p: string, uri: string, j: ArchiveJournal, opts: ArchiveOptions, max = opts.maxPasses ?? 4): Promise<number> {
  let last = 0;
  let lastFailures: Array<{ path: string; reason: string }> = [];
  for (let pass = 1; pass <= max; pass++) {
    opts.onPhase?.(pass === 1 ? 'copy' : `copy (pass ${pass}: changes)`);
    const half = Math.max(1, Math.floor((j.files ?? 2) / 2));
    const s = await sync(p, uri, {
      engine: opts.engine, jobs: opts.jobs ?? 4, delete: true, xattrs: 'non-lustre', signal: opts.signal,
      onStart: (t) => {
        opts.onTransfer?.(t);
        if (pass === 1) {
          const timer = setInterval(() => { if (t.c.files >= half) { clearInterval(timer); pauseAt('copy'); } }, 2);
          timer.unref();
        }
      },
    });
    if (s.stopped) {
      throw new StrataError(s.stopped.includes('ENOSPC') || /full|space/i.test(s.stopped) ? 'ENOSPC' : 'EIO', `copy of ${p} into the tier stopped: ${s.stopped}`);
    }
    last = s.files + s.symlinks + s.hardlinks + s.deleted + s.errors;
    lastFailures = s.failures;
    if (pass > 1 && last === 0) return pass;
    if (pass === 1 && s.errors === 0 && s.unchanged === 0 && s.deleted === 0 && max === 1) return pass;
  }
  if (lastFailures.length) {
    throw new StrataError('EIO', `${p} could not be copied completely: ${lastFailures.slice(0, 3).map((f) => `${f.path}: ${f.reason}`).join('; ')}${lastFailures.length > 3 ? `; and ${lastFailures.length - 3} more` : ''}`);
  }
  throw new StrataError('EBUSY', `${p} kept changing while it was being archived (${last} entries changed in the last of ${max} passes): files are being written; archive refused`);
}

async function verify(a: string, b: string, opts: ArchiveOptions, content = true): Promise<Difference[]> {
  const diffs: Difference[] = [];
  await compare(a, b, { engine: opts.engine, xattrs: 'non-lustre', content, onDifference: (d) => { if (diffs.length < 100) diffs.push(d); } });
  return diffs;
}

function changedError(p: string, diffs: Difference[]): StrataError {
  const shown = diffs.slice(0, 3).map((d) => `${d.what} ${d.path}`).join('; ');
  return new StrataError('EBUSY', `${p} changed while it was being archived (${shown}${diffs.length > 3 ? '; ...' : ''}): archive refused`);
}

function withNote(e: unknown, note: string): unknown {
  if (isStrataError(e) && !e.message.includes(note)) return new StrataError(e.code, `${e.message}; ${note}`, { cause: e });
  return e;
}

/** Before the swap: destroy the container, forget the journal; the directory was never touched. */
export async function rollbackArchive(engine: Engine, j: ArchiveJournal, opts: TierCommon = {}): Promise<void> {
  try {
    if (await findContainer(engine, j.poolUuid, j.contUuid)) await destroyContainer(engine, j.poolUuid, j.contUuid);
  } catch (e) {
    opts.onWarn?.(`could not destroy the partial container ${j.contLabel} (${j.contUuid}): ${reasonOf(e)}; remove it with 'strata container destroy ${j.poolUuid} ${j.contUuid}'`);
  }
  removeJournal(j);
}

/**
 * recover: before the rename the archive is rolled back (the directory is
 * intact); from the rename on it is finished (the data is verified in the
 * container).
 */
export async function recoverArchive(engine: Engine, j: ArchiveJournal, opts: TierCommon = {}): Promise<'rolled back' | 'finished'> {
  const pState = lstatOrUndefined(j.path);
  const link = linkAtPath(j.path);
  const hidden = lstatOrUndefined(j.hidden);
  if (pState && !link && pState.isDirectory() && !hidden) {
    await rollbackArchive(engine, j, opts);
    return 'rolled back';
  }
  if (!link && !pState && hidden) {
    // Renamed but the post-rename check never ran: check now (metadata), else put it back.
    const diffs = await verify(j.hidden, containerUri(j.poolUuid, j.contUuid), { engine: opts.engine }, true).catch(() => [{ what: 'error', path: '.' }] as Difference[]);
    if (diffs.length) {
      fs.renameSync(j.hidden, j.path);
      await rollbackArchive(engine, j, opts);
      return 'rolled back';
    }
  }
  await finishArchive(engine, j, { ...opts, keepSource: j.keepSource }, 0, true, Date.now());
  return 'finished';
}
