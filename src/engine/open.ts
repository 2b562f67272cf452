// One place that turns an engine URL into an Engine:
//   lmdb:/dir | /dir        embedded LMDB engine in that directory
//   postgres://...          shared PostgreSQL engine (?data=/shared/dir for extent files)
// Default: STRATA_ENGINE, else lmdb at STRATA_HOME, else ~/.local/share/strata.
import os from 'node:os';
import path from 'node:path';
import type { Engine } from './types.js';
import { StrataError } from '../errors.js';
import { LmdbEngine } from './lmdb/engine.js';
import { PgEngine } from './postgres/engine.js';

export function defaultEngineUrl(): string {
  const env = process.env['STRATA_ENGINE'];
  if (env) return env;
  const home = process.env['STRATA_HOME'] || path.join(os.homedir(), '.local', 'share', 'strata');
  return `lmdb:${home}`;
}

export async function openEngine(url?: string): Promise<Engine> {
  const u = url || defaultEngineUrl();
  if (u.startsWith('lmdb:')) return LmdbEngine.open(path.resolve(u.slice('lmdb:'.length)));
  if (u.startsWith('postgres://') || u.startsWith('postgresql://')) {
    return PgEngine.open(u);
  }
  if (u.startsWith('/') || u.startsWith('.')) return LmdbEngine.open(path.resolve(u));
  throw new StrataError('EINVAL', `bad engine URL '${u}' (expected lmdb:/dir or postgres://user@host/db)`);
}
