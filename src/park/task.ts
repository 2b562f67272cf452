// One rank of a parallel serialize/deserialize as a self-contained task: run
// in a child process (`-j N`, worker.ts) or by a `strata worker` of the
// distributed queue (`--queue`). Results are plain JSON (bigints as strings).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Engine } from '../engine/types.js';
import { fromSystemError } from '../errors.js';
import { serializeRank, type RankJob, type SerializeStats } from './serialize.js';
import { loadRankFile, type LoadJob } from './deserialize.js';
import { probeH5 } from '../hdf5/probe.js';

export type ParkTask = { kind: 'serialize'; engineUrl: string; job: RankJob } | { kind: 'deserialize'; engineUrl: string; job: LoadJob };

/**
 * queued: a rank of the work queue (a serialize rank is then written as an
 * attempt of its own, see serializeAttempt; a file to load is probed again
 * first: a shared worker must not hang or die on a file that was replaced
 * since the command probed it).
 */
export async function runParkTask(engine: Engine, t: ParkTask, o: { queued?: boolean } = {}): Promise<unknown> {
  if (t.kind === 'deserialize' && o.queued) await probeH5(t.job.file, { stallMs: t.job.h5StallMs });
  const result = t.kind === 'deserialize' ? await loadRankFile(engine, t.job) : o.queued ? await serializeAttempt(engine, t.job) : await serializeRank(engine, t.job);
  return JSON.parse(JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

const attemptPrefix = (rankTmp: string): string => `${path.basename(rankTmp)}.`;

/** Removes what attempts at a rank left (killed workers', or a late one's): files named `<the rank's temporary name>.<random>`. */
export function removeAttempts(rankTmp: string): void {
  const dir = path.dirname(rankTmp);
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  for (const n of names) if (n.startsWith(attemptPrefix(rankTmp))) fs.rmSync(path.join(dir, n), { force: true });
}

/**
 * Writes a rank under a name of this attempt's own (`<the rank's temporary
 * name>.<random>`, made exclusively) and renames it onto the rank's temporary
 * name only once it is whole (sealed). A queued rank can run twice at once: a
 * worker that lost its lease (stopped, cut off from the database) goes on
 * while the worker that took the rank over writes it again. Neither touches
 * the other's file, and the temporary name, which the command renames into
 * place when the queue says the rank is done, only ever holds a whole file.
 */
async function serializeAttempt(engine: Engine, job: RankJob): Promise<SerializeStats> {
  const mine = path.join(path.dirname(job.file), `${attemptPrefix(job.file)}${randomBytes(6).toString('hex')}`);
  try {
    const stats = await serializeRank(engine, { ...job, file: mine });
    try { fs.renameSync(mine, job.file); } catch (e) { throw fromSystemError(e, `cannot put ${job.file} in place`); }
    return stats;
  } catch (e) {
    fs.rmSync(mine, { force: true });
    throw e;
  }
}
