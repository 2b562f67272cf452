// Catalog key layout (engine catalog: JSON values under string keys) and a
// compare-and-swap helper so that concurrent processes never lose an update.
//
//   pool/<pool-uuid>                     PoolRecord
//   pool-label/<label>                   pool uuid          (label uniqueness)
//   pool-rev/<pool-uuid>/<rev>           true               (CAS token of the pool record)
//   cont/<pool-uuid>/<cont-uuid>         ContainerRecord
//   cont-label/<pool-uuid>/<label>       container uuid     (label uniqueness within the pool)
//   cont-uuid/<cont-uuid>                pool uuid          (container UUIDs are unique engine-wide)
//   cont-rev/<cont-uuid>/<rev>           true               (CAS token of the container record)
//   snap-name/<cont-uuid>/<name>         {reservedAt, epoch?} (snapshot name uniqueness)
//   cont-away/<cont-uuid>                {pool, note}       (a container taken out of the tier, e.g. parked: where it went)
//   cont-link/<cont-uuid>/<path hash>    LinkRecord         (a UNS link strata made or found: destroy refuses while it stands)
//
// A record carries `rev`; an update deletes the token of its rev and writes the
// token of rev+1 under the condition that the old token is present. Two
// concurrent updates cannot both succeed; the loser re-reads and retries.
import type { Condition, Engine, WriteOp } from '../engine/types.js';
import { StrataError, isStrataError } from '../errors.js';

export const keys = {
  pool: (p: string) => `pool/${p}`,
  pools: 'pool/',
  poolLabel: (label: string) => `pool-label/${label}`,
  poolRev: (p: string, rev: number) => `pool-rev/${p}/${rev}`,
  cont: (p: string, c: string) => `cont/${p}/${c}`,
  conts: (p: string) => `cont/${p}/`,
  contLabel: (p: string, label: string) => `cont-label/${p}/${label}`,
  contUuid: (c: string) => `cont-uuid/${c}`,
  contRev: (c: string, rev: number) => `cont-rev/${c}/${rev}`,
  snapName: (c: string, name: string) => `snap-name/${c}/${name}`,
  snapNames: (c: string) => `snap-name/${c}/`,
  contAway: (c: string) => `cont-away/${c}`,
};

/** A condition, and the error to report if it still fails after a conflict (none: retry). */
export interface Guard {
  cond: Condition;
  error?: StrataError;
}

export interface Plan {
  ops: WriteOp[];
  guards: Guard[];
}

async function holds(engine: Engine, c: Condition): Promise<boolean> {
  if (c.kind === 'cat-absent') return (await engine.catGet(c.key)) === undefined;
  if (c.kind === 'cat-present') return (await engine.catGet(c.key)) !== undefined;
  return (await engine.version(c)) === c.version;
}

/**
 * Builds a plan from fresh reads and commits it; on ECONFLICT, reports the
 * guard's error if one of the guarded conditions fails, else re-plans.
 */
export async function commitPlan(engine: Engine, makePlan: () => Promise<Plan>): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const plan = await makePlan();
    try {
      return await engine.commit({ ops: plan.ops, conditions: plan.guards.map((g) => g.cond) });
    } catch (e) {
      if (!isStrataError(e, 'ECONFLICT')) throw e;
      for (const g of plan.guards) {
        if (g.error && !(await holds(engine, g.cond))) throw g.error;
      }
      if (attempt >= 50) throw new StrataError('EBUSY', 'catalog update kept conflicting with other updates; try again', { cause: e });
      await new Promise((r) => setTimeout(r, Math.min(100, 2 ** Math.min(attempt, 6)) * Math.random()));
    }
  }
}

/** Ops and guard that move a record from rev to rev+1. */
export function revBump(recKey: string, revKey: (rev: number) => string, rec: { rev?: number }, next: object): Plan {
  const rev = rec.rev ?? 0;
  return {
    ops: [
      { op: 'cat-put', key: recKey, value: { ...next, rev: rev + 1 } },
      { op: 'cat-del', key: revKey(rev) },
      { op: 'cat-put', key: revKey(rev + 1), value: true },
    ],
    guards: [{ cond: { kind: 'cat-present', key: revKey(rev) } }],
  };
}

export function mergePlans(...plans: Plan[]): Plan {
  return { ops: plans.flatMap((p) => p.ops), guards: plans.flatMap((p) => p.guards) };
}
