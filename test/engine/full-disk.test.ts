// A full disk under the engine home: commits fail with ENOSPC (one clear
// error, the process survives), nothing half-written is visible, and once
// there is room again the same engine works on.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { openEngine } from '../../src/engine/open.js';
import { isStrataError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';

const root = process.getuid?.() === 0;

it('full disk: ENOSPC, nothing torn, works again after space is freed', { skip: root ? false : 'needs root to mount a small tmpfs' }, async () => {
  const dir = tempDir('strata-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir]);
  try {
    const engine = await openEngine(`lmdb:${dir}/home`);
    const cont = randomUUID();
    const oid = Buffer.alloc(16, 1);
    const k = (i: number) => ({ cont, oid, dkey: Buffer.from(`k${i}`), akey: Buffer.from('a') });
    let written = 0;
    let failure: unknown;
    for (let i = 0; i < 100000; i++) {
      try {
        await engine.commit({ ops: [{ op: 'put', ...k(i), value: Buffer.alloc(3000, i & 0xff) }, { op: 'write', ...k(i), akey: Buffer.from('b'), offset: 0, data: Buffer.alloc(20000, 7) }] });
        written = i + 1;
      } catch (e) { failure = e; break; }
    }
    assert.ok(isStrataError(failure, 'ENOSPC'), `expected ENOSPC, got ${String(failure)}`);
    assert.ok(written > 10);
    // Every acknowledged batch is whole; the failed one left nothing.
    for (const i of [0, Math.floor(written / 2), written - 1]) {
      assert.equal(Buffer.from((await engine.get(k(i)))!).length, 3000);
      assert.equal((await engine.read({ ...k(i), akey: Buffer.from('b') }, 0, 20000))[19999], 7);
    }
    assert.equal(await engine.get(k(written)), undefined);
    execFileSync('mount', ['-o', 'remount,size=64m', dir]);
    await engine.commit({ ops: [{ op: 'put', ...k(written), value: Buffer.from('after') }] });
    assert.equal(String(await engine.get(k(written))), 'after');
    assert.equal((await engine.check()).problems.length, 0);
    await engine.close();
  } finally {
    execFileSync('umount', ['-l', dir]);
  }
});
