// The PostgreSQL engine in the engine registry: postgres:// and postgresql://
// URLs (url.ts), schema set up by `strata engine init`, and the work queue of
// distributed jobs in the same database. Modules load on first use: pg costs
// ~60 ms at startup.
import path from 'node:path';
import type { EngineDriver } from '../registry.js';
import type { Engine } from '../types.js';
import { StrataError } from '../../errors.js';
import { applyAccess } from '../home-access.js';
import { defaultHome, describeAccess, describeData } from '../describe.js';

const load = () => Promise.all([import('./engine.js'), import('./schema.js'), import('./url.js')]);

export const postgresDriver: EngineDriver = {
  kind: 'postgres',
  schemes: ['postgres', 'postgresql'],
  example: 'postgres://user@host/db',

  async open(url) {
    const [{ PgEngine }] = await load();
    return PgEngine.open(url);
  },

  /**
   * Creates or migrates the schema. A new database keeps large extents in
   * extent files (the faster place, docs/engine.md) under the URL's data=
   * directory, by default `<strata home>/pg-extents/<host>_<port>_<db>` (one
   * machine; nodes sharing the database need a directory they all mount at
   * the same path).
   */
  async init(url, { access }) {
    const [{ PgEngine }, { initSchema }, { redact }] = await load();
    const p = new URL(url);
    const name = `${p.hostname || 'local'}_${p.port || '5432'}_${decodeURIComponent(p.pathname.slice(1)) || 'postgres'}`.replace(/[^A-Za-z0-9._-]/g, '_');
    const { from, to, data } = await initSchema(url, path.join(defaultHome(), 'pg-extents', name));
    if (access && data === 'postgres') throw new StrataError('EINVAL', `${redact(url)} keeps large extents in PostgreSQL, whose own roles decide who reads them: --mode/--group apply to an extent directory (data=)`);
    const changed = access && data !== 'postgres' ? applyAccess(data, access) : undefined;
    await (await PgEngine.open(url)).close(); // checks the result
    return {
      kind: 'postgres', location: redact(url), schemaFrom: from, schemaTo: to, bulkData: describeData(data),
      ...(data !== 'postgres' ? { access: describeAccess(data) } : {}), ...(changed !== undefined ? { changed } : {}),
    };
  },

  async details(engine: Engine) {
    const [{ PgEngine }, { SCHEMA_VERSION }] = await load();
    if (!(engine instanceof PgEngine)) throw new StrataError('EINVAL', `not a PostgreSQL engine: ${engine.location}`);
    return { schemaVersion: SCHEMA_VERSION, bulkData: describeData(engine.data), ...(engine.data !== 'postgres' ? { accessDir: engine.data } : {}) };
  },

  urlOf: (engine) => engine.location,

  async openWorkQueue(url, o) {
    const { PgWorkQueue } = await import('./work-queue.js');
    return PgWorkQueue.open(url, o);
  },
};
