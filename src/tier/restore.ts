// `strata tier restore PATH`: the reverse of archive. The container behind the
// link is copied (from a snapshot) into a hidden sibling, verified, and the
// link is swapped for the directory; then the container is destroyed (unless
// --keep-container).
//
//   prepared/copying  sync container -> .NAME.strata-restore-<id>
//   verifying         compare with checksums (live container vs the copy), then
//                     the copy flushed to disk (syncfs) before anything is removed
//   unlinking         link removed (point of no return: the data is in the copy)
//   unlinked          copy renamed to PATH
//   renamed           container destroyed, journal removed
import fs from 'node:fs';
import path from 'node:path';
import { StrataError, isStrataError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import { destroyContainer } from '../container/index.js';
import { linkAt, removeLink, type LinkInfo } from '../uns/index.js';
import { compare, sync, type Difference } from '../mover/index.js';
import type { Transfer } from '../mover/index.js';
import { reasonOf } from '../mover/transfer.js';
import {
  assertNotBusy, journalFor, newJournalBase, removeJournal, setStep, writeJournal, type RestoreJournal,
} from './journal.js';
import { entryPath, hiddenSibling, lstatOrUndefined, pauseAt, removeTree } from './util.js';
import { fsyncDirectory, syncFilesystem } from '../durable.js';
import { containerUri, findContainer, linkAtPath, refuseMounted, refuseParked, withTierEngine, type TierCommon } from './common.js';
import { delArchived } from './records.js';

export interface RestoreOptions extends TierCommon {
  keepContainer?: boolean;
  jobs?: number;
  onPhase?: (phase: string) => void;
  onTransfer?: (t: Transfer) => void;
  signal?: AbortSignal;
}

export interface RestoreResult {
  path: string;
  poolUuid: string;
  contUuid: string;
  files: number;
  bytes: number;
  containerKept: boolean;
  resumed: boolean;
  seconds: number;
}

export async function restore(input: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const t0 = Date.now();
  const p = entryPath(input);
  const old = journalFor(p);
  if (old) {
    assertNotBusy(old);
    if (old.op !== 'restore') throw new StrataError('EBUSY', `${p}: an interrupted tier ${old.op} is pending: run 'strata tier recover ${p}' first`);
    opts.onWarn?.(`continuing the interrupted restore of ${p} (step ${old.step})`);
    return withTierEngine(opts.engine, (e) => runRestore(e, old, opts, true, t0));
  }
  let link: LinkInfo;
  try {
    link = linkAt(p);
  } catch (e) {
    if (isStrataError(e, 'EINVAL') && lstatOrUndefined(p)?.isDirectory()) throw new StrataError('EINVAL', `${p} is not a UNS link: it is a local directory already (nothing to restore)`);
    throw e;
  }
  refuseMounted(p, link);
  return withTierEngine(opts.engine, async (engine) => {
    await refuseParked(engine, p, link);
    const rec = await findContainer(engine, link.pool, link.cont);
    if (!rec) throw new StrataError('ENOENT', `${p} names container ${link.cont} in pool ${link.pool}, which does not exist (a dangling link): nothing to restore`);
    if (rec.type !== 'POSIX') throw new StrataError('EINVAL', `${p} links a ${rec.type} container: only POSIX containers are restored into directories (use strata fs copy / container serialize)`);
    const base = newJournalBase('restore', p);
    const j: RestoreJournal = {
      ...base, op: 'restore', step: 'prepared', poolUuid: rec.poolUuid, contUuid: rec.uuid, link: link.kind,
      ...(link.prefix ? { prefix: link.prefix } : {}), keepContainer: !!opts.keepContainer, hidden: hiddenSibling(p, 'restore', base.id),
    };
    writeJournal(j);
    return runRestore(engine, j, opts, false, t0);
  });
}

async function copyBack(j: RestoreJournal, opts: RestoreOptions, pass: number): Promise<{ files: number; bytes: number }> {
  opts.onPhase?.(pass === 1 ? 'copy' : 'copy (again: the container changed)');
  const s = await sync(containerUri(j.poolUuid, j.contUuid), j.hidden, {
    engine: opts.engine, jobs: opts.jobs ?? 4, delete: true, xattrs: 'non-lustre', signal: opts.signal,
    onStart: (t) => {
      opts.onTransfer?.(t);
      if (pass === 1) {
        const timer = setInterval(() => { if (t.c.files >= 1) { clearInterval(timer); pauseAt('restore-copy'); } }, 2);
        timer.unref();
      }
    },
  });
  if (s.stopped) throw new StrataError(/space|ENOSPC/i.test(s.stopped) ? 'ENOSPC' : 'EIO', `copy back of ${j.path} stopped: ${s.stopped}`);
  if (s.errors) throw new StrataError('EIO', `${j.path} could not be copied back completely: ${s.failures.slice(0, 3).map((f) => `${f.path}: ${f.reason}`).join('; ')}`);
  return { files: s.files, bytes: s.bytes };
}

async function verify(j: RestoreJournal, opts: RestoreOptions): Promise<Difference[]> {
  const diffs: Difference[] = [];
  await compare(containerUri(j.poolUuid, j.contUuid), j.hidden, { engine: opts.engine, xattrs: 'non-lustre', onDifference: (d) => { if (diffs.length < 100) diffs.push(d); } });
  return diffs;
}

function ourLink(j: RestoreJournal): boolean {
  const l = linkAtPath(j.path);
  return !!l && l.cont === j.contUuid;
}

async function runRestore(engine: Engine, j: RestoreJournal, opts: RestoreOptions, resumed: boolean, t0: number): Promise<RestoreResult> {
  const p = j.path;
  let files = 0;
  let bytes = 0;
  if (ourLink(j)) {
    // Before the swap (also when resuming one): copy, verify, unlink.
    try {
      if (!(await findContainer(engine, j.poolUuid, j.contUuid))) throw new StrataError('ENOENT', `the container of ${p} (${j.contUuid}) is gone: nothing to restore`);
      setStep(j, 'copying');
      ({ files, bytes } = await copyBack(j, opts, 1));
      setStep(j, 'verifying');
      pauseAt('restore-verify');
      opts.onPhase?.('verify');
      let diffs = await verify(j, opts);
      if (diffs.length) {
        await copyBack(j, opts, 2);
        diffs = await verify(j, opts);
        if (diffs.length) throw new StrataError('EBUSY', `the container of ${p} changed while it was being restored (${diffs.slice(0, 3).map((d) => `${d.what} ${d.path}`).join('; ')}): restore refused`);
      }
      // The copy is on disk before the link (and later the container) goes.
      opts.onPhase?.('flush to disk');
      syncFilesystem(j.hidden);
      pauseAt('restore-swap');
      if (!ourLink(j)) {
        throw new StrataError('ECONFLICT', `${p} changed during the restore: it is no longer the link to container ${j.contUuid} (someone replaced it); nothing was removed`);
      }
      setStep(j, 'unlinking');
      removeLink(linkAt(p));
    } catch (e) {
      rollbackRestore(j);
      throw isStrataError(e) && !e.message.includes('nothing was') ? new StrataError(e.code, `${e.message}; ${p} was not changed`, { cause: e }) : e;
    }
    setStep(j, 'unlinked');
  }
  return finishRestore(engine, j, opts, { files, bytes }, resumed, t0);
}

async function finishRestore(engine: Engine, j: RestoreJournal, opts: RestoreOptions, n: { files: number; bytes: number }, resumed: boolean, t0: number): Promise<RestoreResult> {
  const p = j.path;
  const hidden = lstatOrUndefined(j.hidden);
  if (hidden) {
    pauseAt('restore-rename');
    if (lstatOrUndefined(p)) {
      throw new StrataError('ECONFLICT', `cannot restore ${p}: someone created ${p} meanwhile; nothing was lost: the restored tree is in ${j.hidden} and the data still in container ${j.contUuid}; move ${p} away and run 'strata tier recover'`);
    }
    try {
      fs.renameSync(j.hidden, p);
      fsyncDirectory(path.dirname(p)); // the rename is on disk before the container is destroyed
    } catch (e) {
      throw new StrataError('EIO', `cannot move the restored tree ${j.hidden} to ${p}: ${reasonOf(e)}; run 'strata tier recover' once fixed`);
    }
  } else if (!lstatOrUndefined(p)) {
    throw new StrataError('ENOENT', `the restore of ${p} cannot be finished: neither ${p} nor ${j.hidden} exists; the data is still in container ${j.contUuid}; relink it with 'strata container link ${j.poolUuid} ${j.contUuid} --path ${p}'`);
  }
  setStep(j, 'renamed');
  let kept = j.keepContainer;
  if (!j.keepContainer && (await findContainer(engine, j.poolUuid, j.contUuid))) {
    try {
      await destroyContainer(engine, j.poolUuid, j.contUuid);
    } catch (e) {
      kept = true;
      opts.onWarn?.(`restored ${p}, but could not destroy its container ${j.contUuid}: ${reasonOf(e)}`);
    }
  }
  if (!kept) await delArchived(engine, j.contUuid);
  removeJournal(j);
  return { path: p, poolUuid: j.poolUuid, contUuid: j.contUuid, files: n.files, bytes: n.bytes, containerKept: kept, resumed, seconds: (Date.now() - t0) / 1000 };
}

/** Before the link was removed: drop the partial copy; the link and container are untouched. */
export function rollbackRestore(j: RestoreJournal): void {
  if (lstatOrUndefined(j.hidden)) removeTree(j.hidden);
  removeJournal(j);
}

export async function recoverRestore(engine: Engine, j: RestoreJournal, opts: TierCommon = {}): Promise<'rolled back' | 'finished'> {
  if (ourLink(j)) {
    rollbackRestore(j);
    return 'rolled back';
  }
  await finishRestore(engine, j, opts, { files: 0, bytes: 0 }, true, Date.now());
  return 'finished';
}
