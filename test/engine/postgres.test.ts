// The engine contract on PostgreSQL, with bulk bytes in the database (default)
// and in extent files (?data=dir). Starts a throwaway server (test/pg-server.ts)
// unless STRATA_TEST_PG names one; without one it fails in CI and skips elsewhere.
import { describe, it } from 'node:test';
import { engineContract } from './contract.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';
import { tempDir } from '../helpers.js';
import { openEngine } from '../../src/engine/open.js';

const why = pgUnavailableReason();
if (why && process.env['CI']) {
  describe('engine contract: postgres', () => {
    it('needs a PostgreSQL server', () => { throw new Error(`cannot run the PostgreSQL engine tests: ${why}`); });
  });
} else if (why) {
  describe('engine contract: postgres', () => {
    it('skipped', { skip: `no PostgreSQL server: ${why}` }, () => undefined);
  });
} else {
  const make = (query: string) => async () => {
    const url = await freshPgDatabase(query);
    return { engine: await openEngine(url), url };
  };
  engineContract('postgres (bulk bytes in PostgreSQL)', { create: make(''), returnsSpace: false });
  engineContract('postgres (bulk bytes in extent files, ?data=)', { create: () => make(`data=${encodeURIComponent(tempDir('strata-pgdata-'))}`)() });
}
