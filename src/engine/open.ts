// One place that turns an engine URL into an Engine:
//   lmdb:/dir | /dir        embedded LMDB engine in that directory
//   postgres://...          shared PostgreSQL engine (?data=/shared/dir for extent files)
// Default: STRATA_ENGINE, else lmdb at STRATA_HOME, else ~/.local/share/strata.
import os from 'node:os';
import path from 'node:path';
import type { Engine } from './types.js';
import { StrataError } from '../errors.js';

// The LMDB engine is loaded on first use too: the lmdb package costs ~30 ms at
// startup of every command, `--help` and `--version` included.
const loadLmdb = () => import('./lmdb/engine.js');

// The PostgreSQL engine is loaded on use: pg costs ~60 ms at startup.
const loadPg = () => Promise.all([import('./postgres/engine.js'), import('./postgres/schema.js'), import('./postgres/url.js')]);

export function defaultEngineUrl(): string {
  const env = process.env['STRATA_ENGINE'];
  if (env) return env;
  const home = process.env['STRATA_HOME'] || path.join(os.homedir(), '.local', 'share', 'strata');
  return `lmdb:${home}`;
}

export async function openEngine(url?: string): Promise<Engine> {
  const u = url || defaultEngineUrl();
  if (u.startsWith('lmdb:')) {
    const { LmdbEngine } = await loadLmdb();
    return LmdbEngine.open(path.resolve(u.slice('lmdb:'.length)));
  }
  if (u.startsWith('postgres://') || u.startsWith('postgresql://')) {
    const [{ PgEngine }] = await loadPg();
    return PgEngine.open(u);
  }
  if (u.startsWith('/') || u.startsWith('.')) {
    const { LmdbEngine } = await loadLmdb();
    return LmdbEngine.open(path.resolve(u));
  }
  throw new StrataError('EINVAL', `bad engine URL '${u}' (expected lmdb:/dir or postgres://user@host/db)`);
}

/** Creates (or migrates) an engine's storage: the LMDB home, or the PostgreSQL schema. */
export async function initEngine(url?: string): Promise<{ kind: string; location: string; schemaFrom?: number; schemaTo?: number }> {
  const u = url || defaultEngineUrl();
  if (u.startsWith('postgres://') || u.startsWith('postgresql://')) {
    const [, { initSchema }, { redact }] = await loadPg();
    const { from, to } = await initSchema(u);
    const engine = await openEngine(u); // checks the result and creates the ?data= directory
    await engine.close();
    return { kind: 'postgres', location: redact(u), schemaFrom: from, schemaTo: to };
  }
  const engine = await openEngine(u);
  await engine.close();
  return { kind: engine.kind, location: engine.location };
}

export interface EngineInfo {
  kind: string;
  location: string;
  epoch: number;
  totalBytes: number;
  liveDataBytes: number;
  schemaVersion?: number;
  bulkData?: string;
}

export async function engineInfo(url?: string): Promise<EngineInfo> {
  const u = url || defaultEngineUrl();
  const engine = await openEngine(u);
  try {
    const usage = await engine.usage();
    const info: EngineInfo = { kind: engine.kind, location: engine.location, epoch: await engine.currentEpoch(), ...usage };
    if (engine.kind === 'postgres') {
      const [, { SCHEMA_VERSION }, { pgConfig }] = await loadPg();
      info.schemaVersion = SCHEMA_VERSION;
      const dir = pgConfig(u).dataDir;
      info.bulkData = dir ? `extent files in ${dir}` : 'PostgreSQL (blobs table)';
    } else info.bulkData = `extent files in ${path.join(engine.location, 'extents')}`;
    return info;
  } finally {
    await engine.close();
  }
}
