// One rank of a parallel serialize/deserialize as a self-contained task: run
// in a child process (`-j N`, worker.ts) or by a `strata worker` of the
// distributed queue (`--queue`). Results are plain JSON (bigints as strings).
import type { Engine } from '../engine/types.js';
import { serializeRank, type RankJob } from './serialize.js';
import { loadRankFile, type LoadJob } from './deserialize.js';

export type ParkTask = { kind: 'serialize'; engineUrl: string; job: RankJob } | { kind: 'deserialize'; engineUrl: string; job: LoadJob };

export async function runParkTask(engine: Engine, t: ParkTask): Promise<unknown> {
  const result = t.kind === 'serialize' ? await serializeRank(engine, t.job) : await loadRankFile(engine, t.job);
  return JSON.parse(JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}
