// Containers taken out of the tier (the tier layer parks them as HDF5 files
// and destroys them): a record under the old uuid says where the data went
// and how to bring it back, so that every caller that still names the
// container — a link, a script, the library — gets that instead of "no
// container".
import type { Engine, WriteOp } from '../engine/types.js';
import { keys } from './catalog.js';

export interface AwayRecord {
  /** Pool uuid the container was in. */
  pool: string;
  /** Where the data is and how to bring it back, e.g. "parked in /cold; run strata tier unpark /proj". */
  note: string;
}

/** Ops that record the container as away (commit them with the caller's own ops). */
export function awayOps(cont: string, r: AwayRecord): WriteOp[] {
  return [{ op: 'cat-put', key: keys.contAway(cont), value: r }];
}

/** Ops that forget the away record (the container is back, or its data is gone for good). */
export function clearAwayOps(cont: string): WriteOp[] {
  return [{ op: 'cat-del', key: keys.contAway(cont) }];
}

export async function containerAway(engine: Engine, cont: string): Promise<AwayRecord | undefined> {
  return (await engine.catGet(keys.contAway(cont.toLowerCase()))) as AwayRecord | undefined;
}
