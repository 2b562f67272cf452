// The PostgreSQL engine's schema: versioned migrations applied by
// `strata engine init` (initSchema). An engine refuses to open a database
// whose schema is missing, older (run `strata engine init`) or newer (this
// strata is too old for it) than the one it was built for.
import fs from 'node:fs';
import pg from 'pg';
import { StrataError, fromSystemError } from '../../errors.js';
import { pgConfig, redact } from './url.js';
import { makeDir, PRIVATE } from '../home-access.js';

/** Each entry migrates from version i to i+1. */
const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE meta (k text PRIMARY KEY, v bigint NOT NULL)`,
    `INSERT INTO meta VALUES ('epoch', 0)`,
    // Versioned records: key layout of src/engine/keys.ts; bytea compares like memcmp.
    `CREATE TABLE records (k bytea PRIMARY KEY, v bytea NOT NULL)`,
    `CREATE TABLE objpunch (k bytea PRIMARY KEY)`,
    `CREATE TABLE snapshots (cont bytea NOT NULL, epoch bigint NOT NULL, name text, created_at text NOT NULL, PRIMARY KEY (cont, epoch))`,
    `CREATE TABLE catalog (k text COLLATE "C" PRIMARY KEY, v text NOT NULL)`,
    `CREATE TABLE alloc (cont bytea PRIMARY KEY, next bigint NOT NULL)`,
    // Bulk array bytes kept in the database (no ?data= directory).
    `CREATE TABLE blobs (id bigserial PRIMARY KEY, data bytea NOT NULL)`,
    `ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL`,
    // Extent files under ?data=/shared/dir: which exist, who writes them, live bytes; reverse index for compaction.
    `CREATE SEQUENCE file_no`,
    `CREATE TABLE files (no bigint PRIMARY KEY, host text NOT NULL, pid int NOT NULL, sealed boolean NOT NULL, live bigint NOT NULL)`,
    `CREATE TABLE byfile (k bytea PRIMARY KEY, v bytea NOT NULL)`,
  ],
  [
    // Where large array extents go ('data': a directory of extent files, or
    // 'postgres' for the blobs table), recorded by engine init so that
    // clients need no ?data=. Version-1 databases kept them in PostgreSQL
    // unless a URL said otherwise.
    `CREATE TABLE settings (k text PRIMARY KEY, v text NOT NULL)`,
    `INSERT INTO settings VALUES ('data', 'postgres')`,
  ],
  [
    // Per-container epochs: writers of different containers no longer
    // serialize on meta.epoch. A container's row holds the last epoch its
    // writers took (its row lock orders them); epochs come from one sequence,
    // continuing the counter; meta.epoch stays the last epoch of writers of
    // everything (catalog changes).
    `CREATE TABLE cont_epoch (cont bytea PRIMARY KEY, v bigint NOT NULL)`,
    `CREATE SEQUENCE epoch_seq`,
    `SELECT setval('epoch_seq', (SELECT v FROM meta WHERE k = 'epoch') + 1, false)`,
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export async function readSchemaVersion(client: pg.ClientBase): Promise<number | undefined> {
  const t = await client.query<{ exists: boolean }>(`SELECT to_regclass('schema_version') IS NOT NULL AS exists`);
  if (!t.rows[0]?.exists) return undefined;
  const r = await client.query<{ version: number }>('SELECT version FROM schema_version');
  return r.rows[0]?.version ?? 0;
}

export function checkSchemaVersion(version: number | undefined, url: string): void {
  if (version === undefined || version === 0) {
    throw new StrataError('ENOENT', `no strata schema in ${redact(url)}: run 'strata engine init --engine ${redact(url)}' first`);
  }
  if (version > SCHEMA_VERSION) {
    throw new StrataError('EPROTO', `the strata schema in ${redact(url)} is version ${version}, newer than this strata understands (${SCHEMA_VERSION}): upgrade strata`);
  }
  if (version < SCHEMA_VERSION) {
    throw new StrataError('EPROTO', `the strata schema in ${redact(url)} is version ${version}, older than this strata needs (${SCHEMA_VERSION}): run 'strata engine init' to migrate it`);
  }
}

/** Where the database keeps large extents (settings 'data'): a directory or 'postgres'. */
export async function readDataSetting(client: pg.ClientBase): Promise<string> {
  const r = await client.query<{ v: string }>(`SELECT v FROM settings WHERE k = 'data'`);
  return r.rows[0]?.v ?? 'postgres';
}

/**
 * Creates or migrates the schema and records where large extents go: the
 * URL's data= (a directory, or 'postgres'), else on a new database
 * `defaultData`. Moving extents already kept somewhere is refused (only
 * PostgreSQL -> extent files, which leaves existing blobs readable). Returns
 * the versions before and after and the place recorded. Safe to run concurrently.
 */
export async function initSchema(url: string, defaultData: string): Promise<{ from: number; to: number; data: string }> {
  const client = new pg.Client(pgConfig(url).client);
  try {
    await client.connect();
  } catch (e) {
    throw new StrataError('EIO', `cannot connect to ${redact(url)}: ${(e as Error).message}`, { cause: e });
  }
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(7340121)'); // one initializer at a time
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version int NOT NULL)');
    let from = (await readSchemaVersion(client)) ?? 0;
    const rows = await client.query('SELECT 1 FROM schema_version');
    if (rows.rowCount === 0) await client.query('INSERT INTO schema_version VALUES (0)');
    if (from > SCHEMA_VERSION) {
      await client.query('ROLLBACK');
      checkSchemaVersion(from, url);
    }
    for (let v = from; v < SCHEMA_VERSION; v++) {
      for (const sql of MIGRATIONS[v]!) await client.query(sql);
    }
    await client.query('UPDATE schema_version SET version = $1', [SCHEMA_VERSION]);
    const had = await readDataSetting(client);
    const data = pgConfig(url).data ?? (from === 0 ? defaultData : had);
    if (data !== had || from === 0) {
      if (from > 0 && had !== 'postgres') {
        throw new StrataError('EINVAL', `${redact(url)} keeps large extents in extent files under ${had}; engine init does not move them (leave data= out of the URL to keep that place)`);
      }
      await client.query(`UPDATE settings SET v = $1 WHERE k = 'data'`, [data]);
      // Created only when recorded: a later init on a node that does not
      // mount the directory must not make a local one in its place.
      if (data !== 'postgres') {
        try {
          makeDir(data, PRIVATE); // shared with a group only by engine init --mode 0770 --group
        } catch (e) {
          throw fromSystemError(e, `cannot create the extent directory ${data}`);
        }
      }
    }
    await client.query('COMMIT');
    return { from, to: SCHEMA_VERSION, data };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (e instanceof StrataError) throw e;
    throw new StrataError('EIO', `engine init on ${redact(url)} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    await client.end().catch(() => undefined);
  }
}
