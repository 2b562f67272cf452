// Engine URLs for PostgreSQL: postgres://user[:password]@host[:port]/db[?options]
// Options strata reads (the rest go to the pg driver):
//   data=/shared/dir   keep large array extents in extent files under this directory
//                      (every node must mount it at the same path)
//   data=postgres      keep them in PostgreSQL (the blobs table)
//                      without data=: where `strata engine init` recorded in the database
//   pool=N             connections per engine instance (default 8)
import path from 'node:path';
import type pg from 'pg';

export interface PgEngineConfig {
  client: pg.ClientConfig;
  /** Where large extents go, if the URL says: an absolute directory or 'postgres'. */
  data?: string;
  poolSize: number;
}

export function pgConfig(url: string): PgEngineConfig {
  const u = new URL(url);
  const data = u.searchParams.get('data') || undefined;
  const pool = Number(u.searchParams.get('pool') ?? 8);
  u.searchParams.delete('data');
  u.searchParams.delete('pool');
  return {
    client: { connectionString: u.toString() },
    data: data === undefined || data === 'postgres' ? data : path.resolve(data),
    poolSize: Number.isInteger(pool) && pool > 0 ? pool : 8,
  };
}

/** The URL without its password, for messages and Engine.location. */
export function redact(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}
