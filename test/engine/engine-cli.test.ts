// `strata engine init/info` end to end, on LMDB and (when a server can be
// started) PostgreSQL, including the refusal of a newer schema.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { runCli, tempDir } from '../helpers.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';

describe('strata engine', () => {
  it('init and info on lmdb', async () => {
    const url = `lmdb:${tempDir()}`;
    const init = await runCli(['--engine', url, 'engine', 'init']);
    assert.equal(init.code, 0, init.stderr);
    const info = await runCli(['--engine', url, 'engine', 'info', '--json']);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).kind, 'lmdb');
  });

  const why = pgUnavailableReason();
  it('init, info and schema version checks on postgres', { skip: why && !process.env['CI'] ? `no PostgreSQL server: ${why}` : false }, async () => {
    if (why) throw new Error(`cannot run the PostgreSQL engine tests: ${why}`);
    const url = await freshPgDatabase(); // initialized once already
    const again = await runCli(['--engine', url, 'engine', 'init']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /schema already at version 1/);
    const info = await runCli(['engine', 'info', '--json'], { env: { STRATA_ENGINE: url } });
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).kind, 'postgres');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('UPDATE schema_version SET version = 99');
    await c.end();
    const newer = await runCli(['--engine', url, 'pool', 'list']);
    assert.notEqual(newer.code, 0);
    assert.match(newer.stderr, /version 99, newer than this strata understands/);
    const init = await runCli(['--engine', url, 'engine', 'init']);
    assert.notEqual(init.code, 0);
    assert.match(init.stderr, /newer than this strata understands/);
    const u = new URL(url);
    u.pathname = '/postgres';
    const missing = await runCli(['--engine', u.toString(), 'engine', 'info']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no strata schema .*strata engine init/);
  });
});
