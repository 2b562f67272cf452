// `strata engine init/info` end to end, on LMDB and (when a server can be
// started) PostgreSQL, including the refusal of a newer schema.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { runCli, tempDir } from '../helpers.js';
import { emptyPgDatabase, freshPgDatabase, pgUnavailableReason } from '../pg-server.js';
import { openEngine } from '../../src/engine/open.js';

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
    assert.match(again.stdout, /schema already at version 3; large extents: PostgreSQL \(blobs table\)/);
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

  it('postgres: large extents go to extent files by default, recorded by engine init for every client', { skip: why && !process.env['CI'] ? `no PostgreSQL server: ${why}` : false }, async () => {
    if (why) throw new Error(`cannot run the PostgreSQL engine tests: ${why}`);
    const home = tempDir('strata-home-');
    const url = await emptyPgDatabase();
    const env = { STRATA_HOME: home, STRATA_ENGINE: url };
    const init = await runCli(['engine', 'init'], { env });
    assert.equal(init.code, 0, init.stderr);
    const m = /large extents: extent files in (\S+)\n/.exec(init.stdout);
    assert.ok(m, init.stdout);
    const dir = m[1]!;
    assert.ok(dir.startsWith(path.join(home, 'pg-extents') + '/'), dir);
    // A client with the plain URL (no ?data=) writes a large file into that directory.
    const big = path.join(home, 'big.bin');
    fs.writeFileSync(big, crypto.randomBytes(3 * 1024 * 1024));
    for (const args of [['pool', 'create', 'p'], ['container', 'create', 'p', 'c'], ['fs', 'put', big, 'daos://p/c/big']]) {
      const r = await runCli(args, { env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.ok(fs.readdirSync(dir).length > 0, 'extent files written');
    const info = await runCli(['engine', 'info', '--json'], { env });
    assert.equal(JSON.parse(info.stdout).bulkData, `extent files in ${dir}`);
    const back = await runCli(['fs', 'get', 'daos://p/c/big', path.join(home, 'back.bin')], { env });
    assert.equal(back.code, 0, back.stderr);
    assert.ok(fs.readFileSync(path.join(home, 'back.bin')).equals(fs.readFileSync(big)));
    // A node that does not mount the recorded directory is told so, and writes nothing elsewhere.
    fs.renameSync(dir, `${dir}.away`);
    const off = await runCli(['pool', 'list'], { env });
    assert.notEqual(off.code, 0);
    assert.match(off.stderr, /^strata: extent directory .* \(recorded by strata engine init\) is not usable on this node/);
    assert.ok(!fs.existsSync(dir));
    fs.renameSync(`${dir}.away`, dir);
    // engine init does not move extents already kept in a directory.
    const move = await runCli(['--engine', `${url}?data=postgres`, 'engine', 'init'], { env });
    assert.notEqual(move.code, 0);
    assert.match(move.stderr, /keeps large extents in extent files under .*engine init does not move them/);
  });

  it('postgres: data=postgres at init keeps large extents in the database; a v1 database keeps them there after migration', { skip: why && !process.env['CI'] ? `no PostgreSQL server: ${why}` : false }, async () => {
    if (why) throw new Error(`cannot run the PostgreSQL engine tests: ${why}`);
    const home = tempDir('strata-home-');
    const url = await emptyPgDatabase();
    const init = await runCli(['--engine', `${url}?data=postgres`, 'engine', 'init'], { env: { STRATA_HOME: home } });
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /large extents: PostgreSQL \(blobs table\)/);
    const info = await runCli(['--engine', url, 'engine', 'info', '--json'], { env: { STRATA_HOME: home } });
    assert.equal(JSON.parse(info.stdout).bulkData, 'PostgreSQL (blobs table)');
    // Back to a version-1 schema (no settings table, one epoch counter at 1000), then migrate:
    // large extents stay in PostgreSQL, epochs continue the counter.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('DROP TABLE settings');
    await c.query('DROP TABLE cont_epoch');
    await c.query('DROP SEQUENCE epoch_seq');
    await c.query(`UPDATE meta SET v = 1000 WHERE k = 'epoch'`);
    await c.query('UPDATE schema_version SET version = 1');
    await c.end();
    const old = await runCli(['--engine', url, 'pool', 'list'], { env: { STRATA_HOME: home } });
    assert.match(old.stderr, /version 1, older than this strata needs \(3\): run 'strata engine init'/);
    const mig = await runCli(['--engine', url, 'engine', 'init'], { env: { STRATA_HOME: home } });
    assert.equal(mig.code, 0, mig.stderr);
    assert.match(mig.stdout, /schema migrated from version 1 to 3; large extents: PostgreSQL \(blobs table\)/);
    const engine = await openEngine(url);
    try {
      const cont = crypto.randomUUID();
      const e = await engine.commit({ ops: [{ op: 'put', cont, oid: Buffer.alloc(16, 1), dkey: Buffer.from('d'), akey: Buffer.from('a'), value: Buffer.from('x') }] });
      assert.equal(e, 1001, 'the first epoch after the migration follows the old counter');
      assert.equal(await engine.currentEpoch(cont), 1001);
    } finally {
      await engine.close();
    }
    assert.ok(!fs.existsSync(path.join(home, 'pg-extents')));
  });
});
