// `strata tier park PATH --to COLD_DIR` and `strata tier unpark PATH`.
//
// park: the container behind the link is serialized (src/park, HDF5 files
// <cont-uuid>_rank<N>.h5) into COLD_DIR from a named snapshot, the files are
// checked, the live container is checked against the snapshot's digest (a
// container written to meanwhile is refused), the parked state is recorded
// (catalog tier/parked/<cont-uuid>, a manifest beside the files, and
// user.strata.parked on xattr links), and then the container is destroyed.
// The link stays where it is and still names the old UUID.
//
// unpark: the files are deserialized under a temporary label, the rebuilt
// container is checked against the recorded digest, gets its label back, and
// the link is re-made to name it; then the record and (unless --keep-files)
// the cold files are removed.
import fs from 'node:fs';
import path from 'node:path';
import { StrataError, isStrataError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import { createSnap, destroyContainer, destroySnap, resolveContainer, resolvePool, setProp } from '../container/index.js';
import { linkAt, linkContainer, relinkContainer, type LinkInfo } from '../uns/index.js';
import { checkContainer, deserializeContainer, digestOfFiles, serializeContainer, serializedBytesBound, verifyFile, rankFileName } from '../park/index.js';
import { reasonOf } from '../mover/transfer.js';
import {
  assertNotBusy, journalFor, newJournalBase, removeJournal, setStep, writeJournal, type ParkJournal, type UnparkJournal,
} from './journal.js';
import { entryPath, formatBytes, lstatOrUndefined, pauseAt } from './util.js';
import { containerUsage, findContainer, freeBytes, linkAtPath, refuseMounted, withTierEngine, type TierCommon } from './common.js';
import {
  clearParkedMark, delArchived, delParked, getArchived, getParked, manifestPath, markLinkParked, putArchived, putParked, writeManifest, type ParkedRecord,
} from './records.js';

export interface ParkOptions extends TierCommon {
  /** Worker processes for serialize/deserialize (default 1). */
  jobs?: number;
  onPhase?: (phase: string) => void;
}

export interface ParkResult {
  path: string;
  contUuid: string;
  label: string;
  coldDir: string;
  files: string[];
  fileBytes: number;
  seconds: number;
}

function checkPending(p: string, op: 'park' | 'unpark'): ParkJournal | UnparkJournal | undefined {
  const old = journalFor(p);
  if (!old) return undefined;
  assertNotBusy(old);
  if (old.op !== op) throw new StrataError('EBUSY', `${p}: an interrupted tier ${old.op} is pending: run 'strata tier recover ${p}' first`);
  return old as ParkJournal | UnparkJournal;
}

export async function park(input: string, coldDir: string, opts: ParkOptions = {}): Promise<ParkResult> {
  const t0 = Date.now();
  const p = entryPath(input);
  const old = checkPending(p, 'park') as ParkJournal | undefined;
  return withTierEngine(opts.engine, async (engine) => {
    if (old) {
      opts.onWarn?.(`finishing the interrupted park of ${p} (step ${old.step})`);
      if (old.step !== 'recorded') {
        await rollbackPark(engine, old);
        // and start again below
      } else {
        return finishPark(engine, old, t0);
      }
    }
    const link = linkAt(p);
    refuseMounted(p, link);
    const parked = await getParked(engine, link.cont);
    if (parked) throw new StrataError('EINVAL', `${p} is parked already (in ${parked.coldDir})`);
    const rec = await findContainer(engine, link.pool, link.cont);
    if (!rec) throw new StrataError('ENOENT', `${p} names container ${link.cont}, which does not exist (a dangling link): nothing to park`);
    const cold = path.resolve(coldDir);
    try {
      fs.mkdirSync(cold, { recursive: true });
    } catch (e) {
      throw new StrataError('EACCES', `cannot use ${coldDir} for parked data: ${reasonOf(e)}`);
    }
    for (const f of fs.readdirSync(cold)) {
      if (f.startsWith(`${rec.uuid}_`) || f === path.basename(manifestPath(cold, rec.uuid))) throw new StrataError('EEXIST', `${cold} already holds parked files of container ${rec.uuid} (${f}): remove them or choose another directory`);
    }
    // An upper bound of the files' size (a walk of the keys and extents): a
    // check on the stored bytes passed and the files then filled the disk.
    const need = await serializedBytesBound(engine, rec.uuid, undefined, { ranks: opts.jobs ?? 1 });
    const usage = await containerUsage(engine, rec.poolUuid, rec.uuid);
    const free = freeBytes(cold);
    if (free < need) {
      throw new StrataError('ENOSPC', `${cold} has ${formatBytes(free)} free; parking ${p} needs about ${formatBytes(need)}; nothing was changed`);
    }
    const base = newJournalBase('park', p);
    const j: ParkJournal = { ...base, op: 'park', step: 'prepared', poolUuid: rec.poolUuid, contUuid: rec.uuid, coldDir: cold, snapName: `tier-park-${base.id}` };
    writeJournal(j);
    let files: string[] = [];
    let digest: string;
    try {
      setStep(j, 'serializing');
      opts.onPhase?.('snapshot');
      await createSnap(engine, rec.poolUuid, rec.uuid, { name: j.snapName });
      digest = (await checkContainer(engine, rec.poolUuid, rec.uuid, { snap: j.snapName })).digest;
      opts.onPhase?.('serialize');
      pauseAt('park-serialize');
      const s = await serializeContainer(engine, rec.poolUuid, rec.uuid, { outputDir: cold, snap: j.snapName, jobs: opts.jobs ?? 1 });
      files = s.files;
      j.files = files;
      writeJournal(j);
      pauseAt('park-verify');
      opts.onPhase?.('verify');
      for (const f of files) await verifyFile(f);
      // The files' seals only say each file is whole as written: read them back and compare what they hold
      // with the snapshot, before the only other copy is destroyed.
      j.verifyLabel = `tier-park-verify-${j.id}`;
      writeJournal(j);
      const back = await digestOfFiles(engine, rec.poolUuid, files, { label: j.verifyLabel, jobs: opts.jobs ?? 1, onRebuilt: () => pauseAt('park-readback') });
      if (back !== digest) throw new StrataError('EIO', `the files written to ${cold} do not hold what the container holds (digest ${back.slice(0, 16)}… ≠ ${digest.slice(0, 16)}…)`);
      const live = (await checkContainer(engine, rec.poolUuid, rec.uuid)).digest;
      if (live !== digest) throw new StrataError('EBUSY', `${p} was written to while it was being parked: park refused`);
    } catch (e) {
      await rollbackPark(engine, j);
      const msg = isStrataError(e) ? e.message : reasonOf(e);
      const code = isStrataError(e) ? e.code : 'EIO';
      throw new StrataError(/ENOSPC|No space/i.test(msg) ? 'ENOSPC' : code, `cannot park ${p}: ${msg}; nothing was changed (the container is still there)`, { cause: e });
    }
    const record: ParkedRecord = {
      path: p, poolUuid: rec.poolUuid, contUuid: rec.uuid, label: rec.label, type: rec.type, coldDir: cold, files,
      fileBytes: files.reduce((a, f) => a + fs.statSync(f).size, 0), ...(usage ? { dataBytes: usage.bytes } : {}),
      digest, parkedAt: new Date().toISOString(),
    };
    pauseAt('park-record');
    writeManifest(record);
    await putParked(engine, record);
    try { markLinkParked(link, record); } catch (e) { opts.onWarn?.(`could not mark ${p} as parked: ${reasonOf(e)}`); }
    setStep(j, 'recorded');
    return finishPark(engine, j, t0);
  });
}

async function finishPark(engine: Engine, j: ParkJournal, t0: number): Promise<ParkResult> {
  const record = await getParked(engine, j.contUuid);
  if (!record) throw new StrataError('EIO', `the parked record of ${j.path} is missing; the container is untouched`);
  pauseAt('park-destroy');
  // The link stays and now names a parked container (its record says how to unpark).
  if (await findContainer(engine, j.poolUuid, j.contUuid)) await destroyContainer(engine, j.poolUuid, j.contUuid, { force: true });
  await delArchived(engine, j.contUuid);
  removeJournal(j);
  return { path: j.path, contUuid: j.contUuid, label: record.label, coldDir: record.coldDir, files: record.files, fileBytes: record.fileBytes, seconds: (Date.now() - t0) / 1000 };
}

/** Before the record: remove the files written and the snapshot; the container is as it was. */
async function rollbackPark(engine: Engine, j: ParkJournal): Promise<void> {
  let names: string[] = [];
  try { names = fs.readdirSync(j.coldDir); } catch { /* gone */ }
  const prefix = rankFileName(j.contUuid, 0).replace(/0\.h5$/, '');
  for (const n of names) if (n.startsWith(prefix)) fs.rmSync(path.join(j.coldDir, n), { force: true });
  for (const f of j.files ?? []) fs.rmSync(f, { force: true });
  fs.rmSync(manifestPath(j.coldDir, j.contUuid), { force: true });
  fs.rmSync(`${manifestPath(j.coldDir, j.contUuid)}.tmp`, { force: true });
  if (await findContainer(engine, j.poolUuid, j.contUuid)) {
    await destroySnap(engine, j.poolUuid, j.contUuid, { snap: j.snapName }).catch(() => undefined);
  }
  // A read-back container left by a killed run.
  const verifying = j.verifyLabel ? await byLabel(engine, j.poolUuid, j.verifyLabel) : undefined;
  if (verifying) await destroyContainer(engine, j.poolUuid, verifying);
  const rec = await getParked(engine, j.contUuid);
  if (rec) await delParked(engine, j.contUuid);
  removeJournal(j);
}

export async function recoverPark(engine: Engine, j: ParkJournal): Promise<'rolled back' | 'finished'> {
  if (j.step === 'recorded') {
    await finishPark(engine, j, Date.now());
    return 'finished';
  }
  await rollbackPark(engine, j);
  return 'rolled back';
}

// ---------- unpark ----------

export interface UnparkOptions extends ParkOptions {
  /** Keep the .h5 files after the container is back. */
  keepFiles?: boolean;
}

export interface UnparkResult {
  path: string;
  contUuid: string;
  label: string;
  /** The UUID the container had when parked (the link named it). */
  oldUuid: string;
  filesRemoved: boolean;
  seconds: number;
}

export async function unpark(input: string, opts: UnparkOptions = {}): Promise<UnparkResult> {
  const t0 = Date.now();
  const p = entryPath(input);
  const old = checkPending(p, 'unpark') as UnparkJournal | undefined;
  return withTierEngine(opts.engine, async (engine) => {
    if (old) {
      opts.onWarn?.(`continuing the interrupted unpark of ${p} (step ${old.step})`);
      return runUnpark(engine, old, opts, t0);
    }
    const link = linkAt(p);
    const rec = await getParked(engine, link.cont);
    if (!rec) {
      if (await findContainer(engine, link.pool, link.cont)) throw new StrataError('EINVAL', `${p} is not parked (its container ${link.cont} is in the tier)`);
      throw new StrataError('ENOENT', `${p} names container ${link.cont}, which does not exist and has no parked record (a dangling link)`);
    }
    for (const f of rec.files) {
      if (!fs.existsSync(f)) throw new StrataError('ENOENT', `cannot unpark ${p}: its parked file ${f} is missing`);
    }
    const base = newJournalBase('unpark', p);
    const j: UnparkJournal = {
      ...base, op: 'unpark', step: 'prepared', poolUuid: rec.poolUuid, oldUuid: rec.contUuid, tmpLabel: `tier-unpark-${base.id}`,
      label: rec.label, link: link.kind, ...(link.prefix ? { prefix: link.prefix } : {}), keepFiles: !!opts.keepFiles,
    };
    writeJournal(j);
    return runUnpark(engine, j, opts, t0);
  });
}

async function byLabel(engine: Engine, pool: string, label: string): Promise<string | undefined> {
  try {
    return (await resolveContainer(engine, await resolvePool(engine, pool), label)).uuid;
  } catch (e) {
    if (isStrataError(e, 'ENOENT')) return undefined;
    throw e;
  }
}

async function runUnpark(engine: Engine, j: UnparkJournal, opts: UnparkOptions, t0: number): Promise<UnparkResult> {
  const rec = await getParked(engine, j.oldUuid);
  if (j.step === 'prepared' || j.step === 'deserializing') {
    if (!rec) throw new StrataError('ENOENT', `${j.path}: the parked record of container ${j.oldUuid} is gone`);
    // A container rebuilt by a killed run is registered under the temporary label: start over.
    const stale = await byLabel(engine, j.poolUuid, j.tmpLabel);
    if (stale) await destroyContainer(engine, j.poolUuid, stale);
    setStep(j, 'deserializing');
    opts.onPhase?.('deserialize');
    let uuid: string;
    try {
      uuid = (await deserializeContainer(engine, j.poolUuid, rec.files, { label: j.tmpLabel, jobs: opts.jobs ?? 1 })).uuid;
      opts.onPhase?.('verify');
      const d = (await checkContainer(engine, j.poolUuid, uuid)).digest;
      if (d !== rec.digest) {
        await destroyContainer(engine, j.poolUuid, uuid);
        throw new StrataError('EIO', `the container rebuilt from ${rec.coldDir} does not match what was parked (digest ${d.slice(0, 16)}… ≠ ${rec.digest.slice(0, 16)}…)`);
      }
    } catch (e) {
      removeJournal(j);
      const msg = isStrataError(e) ? e.message : reasonOf(e);
      throw new StrataError(isStrataError(e) ? e.code : 'EIO', `cannot unpark ${j.path}: ${msg}; it stays parked`, { cause: e });
    }
    j.newUuid = uuid;
    setStep(j, 'registered');
  }
  if (!j.newUuid) j.newUuid = await byLabel(engine, j.poolUuid, j.tmpLabel);
  if (!j.newUuid) throw new StrataError('EIO', `${j.path}: the unparked container (label ${j.tmpLabel}) is missing`);
  const newUuid = j.newUuid;
  if (j.step === 'registered') {
    const cur = await resolveContainer(engine, await resolvePool(engine, j.poolUuid), newUuid);
    if (cur.label === j.tmpLabel) {
      const taken = await byLabel(engine, j.poolUuid, j.label);
      if (taken && taken !== newUuid) opts.onWarn?.(`label ${j.label} is taken in the pool now: the container keeps the label ${j.tmpLabel}`);
      else await setProp(engine, j.poolUuid, newUuid, 'label', j.label);
    }
    pauseAt('unpark-relink');
    const l = linkAtPath(j.path);
    if (l && l.cont !== newUuid && l.cont !== j.oldUuid) throw new StrataError('ECONFLICT', `${j.path} now links another container (${l.cont}); the unparked container is ${newUuid}`);
    if (!l && lstatOrUndefined(j.path)) {
      throw new StrataError('ECONFLICT', `${j.path} is no longer a link (someone replaced it); the unparked container is ${newUuid}: link it with 'strata container link ${j.poolUuid} ${newUuid} --path PATH'`);
    }
    if (!l) await linkContainer(engine, j.poolUuid, newUuid, j.path, { link: j.link, prefix: j.prefix });
    else {
      // In place: programs using the path never find it missing (a Lustre foreign object is made again).
      const link = l.cont === newUuid ? l : (await relinkContainer(engine, j.poolUuid, newUuid, l, { ...(j.prefix !== undefined ? { prefix: j.prefix } : {}) })).link;
      clearParkedMark(link);
    }
    setStep(j, 'relinked');
  }
  // relinked: records and files.
  const label = (await resolveContainer(engine, await resolvePool(engine, j.poolUuid), newUuid)).label;
  let removed = false;
  if (rec) {
    const prev = await getArchived(engine, j.oldUuid);
    await putArchived(engine, { path: j.path, poolUuid: j.poolUuid, contUuid: newUuid, bytes: rec.dataBytes ?? prev?.bytes ?? 0, files: prev?.files ?? 0, archivedAt: prev?.archivedAt ?? rec.parkedAt });
    await delArchived(engine, j.oldUuid);
    if (!j.keepFiles) {
      for (const f of rec.files) fs.rmSync(f, { force: true });
      fs.rmSync(manifestPath(rec.coldDir, rec.contUuid), { force: true });
      removed = true;
    }
    await delParked(engine, j.oldUuid);
  }
  removeJournal(j);
  return { path: j.path, contUuid: newUuid, label, oldUuid: j.oldUuid, filesRemoved: removed, seconds: (Date.now() - t0) / 1000 };
}

export async function recoverUnpark(engine: Engine, j: UnparkJournal): Promise<'rolled back' | 'finished'> {
  if (j.step === 'prepared' || j.step === 'deserializing') {
    const stale = await byLabel(engine, j.poolUuid, j.tmpLabel);
    if (stale) await destroyContainer(engine, j.poolUuid, stale);
    removeJournal(j);
    return 'rolled back';
  }
  await runUnpark(engine, j, {}, Date.now());
  return 'finished';
}

export type { LinkInfo };
