// Engines in a registry: one parser of engine URLs, the work queue as an
// engine capability, and pg imported only by the PostgreSQL engine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseEngineUrl } from '../../src/engine/registry.js';
import { engineUrlOf, openEngine, openWorkQueue } from '../../src/engine/open.js';
import { REPO, runCli, tempDir } from '../helpers.js';

describe('engine registry', () => {
  it('names the engine of every URL form, and refuses the rest in one line', () => {
    for (const [u, kind] of [['lmdb:/x', 'lmdb'], ['LMDB:/x', 'lmdb'], ['/x/y', 'lmdb'], ['./x', 'lmdb'], ['postgres://u@h/db', 'postgres'], ['postgresql://u@h:5433/db?data=/d', 'postgres']] as const) {
      assert.equal(parseEngineUrl(u).driver.kind, kind, u);
    }
    for (const u of ['', 'dir', 'foo:bar', 'http://h/db', 'lmdb']) {
      assert.throws(() => parseEngineUrl(u), (e: Error & { code?: string }) => e.code === 'EINVAL' && /bad engine URL .*lmdb:\/dir or postgres:\/\/user@host\/db/.test(e.message), u);
    }
  });

  it('gives the URL that reopens an open engine', async () => {
    const dir = tempDir();
    const e = await openEngine(dir);
    try {
      assert.equal(engineUrlOf(e), `lmdb:${dir}`);
      assert.equal(parseEngineUrl(engineUrlOf(e)).driver.kind, 'lmdb');
    } finally {
      await e.close();
    }
  });

  it('keeps work queues only in engines shared by nodes', async () => {
    await assert.rejects(openWorkQueue(`lmdb:${tempDir()}`), (e: Error & { code?: string }) => e.code === 'EINVAL' && /needs an engine shared by its nodes: --engine postgres:\/\//.test(e.message));
    const home = tempDir();
    const r = await runCli(['worker', '--engine', `lmdb:${home}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^strata: distributed work .* needs an engine shared by its nodes/m);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('leaves pg to the PostgreSQL engine', () => {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, d.name);
        if (d.isDirectory()) walk(p);
        else if (p.endsWith('.ts') && /from 'pg'|import\('pg'\)/.test(fs.readFileSync(p, 'utf8'))) found.push(path.relative(REPO, p));
      }
    };
    walk(path.join(REPO, 'src'));
    assert.ok(found.length > 0);
    assert.deepEqual(found.filter((p) => !p.startsWith('src/engine/postgres/')), []);
  });
});
