// One place that turns an engine URL into an Engine:
//   lmdb:/dir | /dir        embedded LMDB engine in that directory
//   postgres://...          shared PostgreSQL engine (large extents where engine init
//                           recorded, or ?data=/shared/dir | ?data=postgres)
// Default: STRATA_ENGINE, else lmdb at STRATA_HOME, else ~/.local/share/strata.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Engine } from './types.js';
import { StrataError } from '../errors.js';
import { applyAccess, readAccess, type HomeAccess } from './home-access.js';

// The LMDB engine is loaded on first use too: the lmdb package costs ~30 ms at
// startup of every command, `--help` and `--version` included.
const loadLmdb = () => import('./lmdb/engine.js');

// The PostgreSQL engine is loaded on use: pg costs ~60 ms at startup.
const loadPg = () => Promise.all([import('./postgres/engine.js'), import('./postgres/schema.js'), import('./postgres/url.js')]);

function defaultHome(): string {
  return process.env['STRATA_HOME'] || path.join(os.homedir(), '.local', 'share', 'strata');
}

export function defaultEngineUrl(): string {
  return process.env['STRATA_ENGINE'] || `lmdb:${defaultHome()}`;
}

/** The directory of an LMDB engine URL (lmdb:/dir, /dir or ./dir), else undefined. */
function lmdbHome(u: string): string | undefined {
  if (u.startsWith('lmdb:')) return path.resolve(u.slice('lmdb:'.length));
  if (u.startsWith('/') || u.startsWith('.')) return path.resolve(u);
  return undefined;
}

/** Only ENOENT: a home the caller may not look into is for the open to report. */
function missing(p: string): boolean {
  try {
    fs.statSync(p);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * Opens an engine. An LMDB home is created when missing unless `create` is
 * false: then a missing home directory is an error, so a typo in --engine or
 * STRATA_HOME is not answered by an empty, new home.
 */
export async function openEngine(url?: string, opts: { create?: boolean } = {}): Promise<Engine> {
  const u = url || defaultEngineUrl();
  const home = lmdbHome(u);
  if (home !== undefined) {
    if (opts.create === false && missing(home)) {
      throw new StrataError('ENOENT', `engine home ${home} does not exist: 'strata pool create' makes one; --engine, STRATA_ENGINE or STRATA_HOME name another`);
    }
    const { LmdbEngine } = await loadLmdb();
    return LmdbEngine.open(home);
  }
  if (u.startsWith('postgres://') || u.startsWith('postgresql://')) {
    const [{ PgEngine }] = await loadPg();
    return PgEngine.open(u);
  }
  throw new StrataError('EINVAL', `bad engine URL '${u}' (expected lmdb:/dir or postgres://user@host/db)`);
}

/**
 * Creates (or migrates) an engine's storage: the LMDB home, or the PostgreSQL
 * schema. A new PostgreSQL database keeps large extents in extent files (the
 * faster place, docs/engine.md) under the URL's data= directory, by default
 * `<strata home>/pg-extents/<host>_<port>_<db>` (one machine; nodes sharing
 * the database need a directory they all mount at the same path).
 */
export async function initEngine(url?: string, opts: { access?: HomeAccess } = {}): Promise<{ kind: string; location: string; schemaFrom?: number; schemaTo?: number; bulkData?: string; upgraded?: Record<string, number>; access?: string; changed?: number }> {
  const u = url || defaultEngineUrl();
  const { access } = opts;
  if (u.startsWith('postgres://') || u.startsWith('postgresql://')) {
    const [, { initSchema }, { redact }] = await loadPg();
    const p = new URL(u);
    const name = `${p.hostname || 'local'}_${p.port || '5432'}_${decodeURIComponent(p.pathname.slice(1)) || 'postgres'}`.replace(/[^A-Za-z0-9._-]/g, '_');
    const { from, to, data } = await initSchema(u, path.join(defaultHome(), 'pg-extents', name));
    if (access && data === 'postgres') throw new StrataError('EINVAL', `${redact(u)} keeps large extents in PostgreSQL, whose own roles decide who reads them: --mode/--group apply to an extent directory (data=)`);
    const changed = access && data !== 'postgres' ? applyAccess(data, access) : undefined;
    const engine = await openEngine(u); // checks the result
    await engine.close();
    return {
      kind: 'postgres', location: redact(u), schemaFrom: from, schemaTo: to, bulkData: describeData(data),
      ...(data !== 'postgres' ? { access: describeAccess(data) } : {}), ...(changed !== undefined ? { changed } : {}),
    };
  }
  // LMDB: an index in lmdb-js's prebuilt data format 2 is rewritten in LMDB 0.9's format 1.
  const home = lmdbHome(u);
  const upgraded = home === undefined ? undefined : await (await import('./lmdb/index-copy.js')).upgradeIndex(home);
  // Who may read the home: recorded (and given to what it holds) before the index is created.
  const changed = access && home !== undefined ? applyAccess(home, access) : undefined;
  const engine = await openEngine(u);
  await engine.close();
  return {
    kind: engine.kind, location: engine.location, ...(upgraded ? { upgraded } : {}),
    access: describeAccess(engine.location), ...(changed !== undefined ? { changed } : {}),
  };
}

/**
 * How a home's access reads in `engine init` and `engine info`: the recorded
 * choice, or, with none, what its modes show (a home made by an older strata
 * is readable by every local user until engine init --mode is run on it).
 */
export function describeAccess(dir: string): string {
  const a = readAccess(dir);
  if (a.shared) return `shared with group ${a.group} (directories 2770, files 0660): every member reads all container bytes directly; container ACLs do not bind them`;
  const open = [dir, path.join(dir, 'index.mdb'), path.join(dir, 'extents')].filter((p) => {
    try { return (fs.statSync(p).mode & 0o077) !== 0; } catch { return false; }
  });
  if (open.length) return `readable by other users (${open.map((p) => `${path.basename(p)} ${(fs.statSync(p).mode & 0o777).toString(8)}`).join(', ')}; made by an older strata?): run strata engine init --mode 0700 to make it private, or --mode 0770 --group NAME to share it`;
  return 'private to its owner (directories 0700, files 0600)';
}

export interface EngineInfo {
  kind: string;
  location: string;
  epoch: number;
  totalBytes: number;
  liveDataBytes: number;
  schemaVersion?: number;
  bulkData?: string;
  /** Who may read the engine's bytes directly (LMDB home, extent directory). */
  access?: string;
}

export async function engineInfo(url?: string): Promise<EngineInfo> {
  const u = url || defaultEngineUrl();
  const engine = await openEngine(u, { create: false }); // a report, not a reason to make a home
  try {
    const usage = await engine.usage();
    const info: EngineInfo = { kind: engine.kind, location: engine.location, epoch: await engine.currentEpoch(), ...usage };
    if (engine.kind === 'postgres') {
      const [, { SCHEMA_VERSION }] = await loadPg();
      info.schemaVersion = SCHEMA_VERSION;
      info.bulkData = describeData((engine as import('./postgres/engine.js').PgEngine).data);
    } else info.bulkData = describeData(path.join(engine.location, 'extents'));
    const dir = engine.kind === 'lmdb' ? engine.location : info.bulkData.startsWith('extent files in ') ? (engine as import('./postgres/engine.js').PgEngine).data : undefined;
    if (dir !== undefined) info.access = describeAccess(dir);
    return info;
  } finally {
    await engine.close();
  }
}

function describeData(data: string): string {
  return data === 'postgres' ? 'PostgreSQL (blobs table)' : `extent files in ${data}`;
}
