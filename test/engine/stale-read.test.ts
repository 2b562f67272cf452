// A read whose extent file another process collected meanwhile. An LMDB
// handle reads from a snapshot it keeps until the next turn of its event
// loop; when the file that snapshot points into is gone (ENOENT), read()
// must retry on a fresh snapshot, not on the same stale one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../../src/engine/open.js';
import { tempDir } from '../helpers.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stale-read-worker.js');

test('a read whose extent file another process collected retries on a fresh view and returns the new bytes', async () => {
  const home = tempDir('strata-stale-');
  const url = `lmdb:${home}`;
  const cont = randomUUID();
  const k = { cont, oid: Buffer.alloc(16, 1), dkey: Buffer.from('d'), akey: Buffer.from('arr') };
  const writer = (fill: number) => {
    const r = spawnSync(process.execPath, [WORKER, url, cont, String(fill)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  writer(1); // the bytes in a file of the first writer, sealed when it closed
  const files = () => fs.readdirSync(path.join(home, 'extents')).filter((n) => n.endsWith('.ext'));
  const first = files();
  assert.equal(first.length, 1);
  const engine = await openEngine(url);
  try {
    // A read starts this handle's read snapshot: the index points at the first file.
    assert.equal(await engine.get({ ...k, akey: Buffer.from('none') }), undefined);
    // Within the same turn of the event loop (spawnSync blocks it), another
    // process overwrites the bytes and collects the first file.
    writer(2);
    assert.ok(!files().includes(first[0]!), 'the first extent file was collected');
    const got = Buffer.from(await engine.read(k, 0, 40000));
    assert.deepEqual(got, Buffer.alloc(40000, 2));
  } finally {
    await engine.close();
  }
});
