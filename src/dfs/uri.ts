// daos://<pool>/<cont>[/path] URIs (pool and container by label or UUID).
// Also accepted: /<pool-uuid>/<cont-uuid>[/path].
import { StrataError } from '../errors.js';

export interface DaosUri {
  pool: string;
  cont: string;
  /** Absolute path inside the container ('/' when absent). */
  path: string;
}

const LABEL = /^[a-zA-Z0-9._:-]{1,127}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function parseDaosUri(s: string): DaosUri {
  let rest: string;
  if (s.startsWith('daos://')) rest = s.slice('daos://'.length);
  else if (s.startsWith('/')) {
    const [, p, c] = s.split('/');
    if (!p || !c || !UUID.test(p) || !UUID.test(c)) throw new StrataError('EINVAL', `bad location '${s}' (expected daos://<pool>/<cont>[/path] or /<pool-uuid>/<cont-uuid>[/path])`);
    rest = s.slice(1);
  } else throw new StrataError('EINVAL', `bad location '${s}' (expected daos://<pool>/<cont>[/path])`);
  const i = rest.indexOf('/');
  const pool = i < 0 ? rest : rest.slice(0, i);
  const after = i < 0 ? '' : rest.slice(i + 1);
  const j = after.indexOf('/');
  const cont = j < 0 ? after : after.slice(0, j);
  const path = j < 0 ? '/' : after.slice(j) || '/';
  if (!LABEL.test(pool)) throw new StrataError('EINVAL', `bad pool '${pool}' in '${s}' (a label [a-zA-Z0-9._:-]{1,127} or a UUID)`);
  if (!LABEL.test(cont)) throw new StrataError('EINVAL', `bad container '${cont}' in '${s}' (a label [a-zA-Z0-9._:-]{1,127} or a UUID)`);
  return { pool, cont, path: path.replace(/\/+/g, '/') };
}

export function formatDaosUri(u: DaosUri): string {
  return `daos://${u.pool}/${u.cont}${u.path === '/' ? '' : u.path}`;
}
