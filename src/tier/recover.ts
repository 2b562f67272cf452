// `strata tier recover [PATH]`: finishes or rolls back every tier operation
// whose process is gone, from its journal. Operations before their point of no
// return are rolled back (archive: the directory was never moved; restore:
// the link still stands; park: the container is intact; unpark: the link still
// names the parked container); the others are finished.
import { StrataError } from '../errors.js';
import { reasonOf } from '../mover/transfer.js';
import { journalOwnerAlive, listJournals, removeJournal, type TierJournal } from './journal.js';
import { recoverArchive } from './archive.js';
import { recoverRestore } from './restore.js';
import { recoverPark, recoverUnpark } from './park.js';
import { entryPath } from './util.js';
import { withTierEngine, type TierCommon } from './common.js';

export interface RecoverOptions extends TierCommon {
  /** Only drop the journal(s), doing nothing else (after fixing things by hand). */
  forget?: boolean;
}

export interface RecoverOutcome {
  path: string;
  op: string;
  step: string;
  outcome: 'rolled back' | 'finished' | 'running' | 'forgotten' | 'failed';
  error?: string;
}

export async function recover(input: string | undefined, opts: RecoverOptions = {}): Promise<RecoverOutcome[]> {
  const p = input === undefined ? undefined : entryPath(input);
  const js = listJournals(opts.onWarn).filter((j) => p === undefined || j.path === p);
  if (p !== undefined && js.length === 0) throw new StrataError('ENOENT', `no interrupted tier operation on ${p}`);
  const out: RecoverOutcome[] = [];
  if (js.length === 0) return out;
  await withTierEngine(opts.engine, async (engine) => {
    for (const j of js) {
      const o: RecoverOutcome = { path: j.path, op: j.op, step: j.step, outcome: 'failed' };
      out.push(o);
      if (journalOwnerAlive(j)) { o.outcome = 'running'; continue; }
      if (opts.forget) { removeJournal(j); o.outcome = 'forgotten'; continue; }
      try {
        o.outcome = await recoverOne(engine, j, opts);
      } catch (e) {
        o.error = e instanceof StrataError ? e.message : reasonOf(e);
      }
    }
  });
  return out;
}

async function recoverOne(engine: Parameters<typeof recoverArchive>[0], j: TierJournal, opts: TierCommon): Promise<'rolled back' | 'finished'> {
  switch (j.op) {
    case 'archive': return recoverArchive(engine, j, opts);
    case 'restore': return recoverRestore(engine, j, opts);
    case 'park': return recoverPark(engine, j);
    case 'unpark': return recoverUnpark(engine, j);
  }
}
