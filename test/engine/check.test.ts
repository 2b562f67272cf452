// `strata pool check` finds broken engine invariants and repairs what is safe.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { openEngine } from '../../src/engine/open.js';
import { runCli, tempDir } from '../helpers.js';

it('pool check passes on a healthy engine and names what is broken after damage', async () => {
  const home = tempDir('strata-check-');
  const engine = await openEngine(`lmdb:${home}`);
  const cont = randomUUID();
  const oid = Buffer.alloc(16, 3);
  for (let i = 0; i < 4; i++) {
    await engine.commit({ ops: [{ op: 'write', cont, oid, dkey: Buffer.from([i]), akey: Buffer.from('d'), offset: 0, data: Buffer.alloc(100_000, i + 1) }] });
  }
  await engine.commit({ ops: [{ op: 'put', cont, oid, dkey: Buffer.from('x'), akey: Buffer.from('y'), value: Buffer.from('v') }] });
  await engine.close();
  const env = { STRATA_HOME: home };

  const ok = await runCli(['pool', 'check', '--json'], { env });
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.equal(report.problems.length, 0);
  assert.equal(report.fileExtents, 4);

  // An orphan extent file (as a crash between dropping a row and unlinking leaves).
  const orphan = path.join(home, 'extents', '99999999.ext');
  fs.writeFileSync(orphan, 'x');
  // Truncate a referenced extent file: data the index points at is gone.
  const [victim] = fs.readdirSync(path.join(home, 'extents')).filter((n) => n !== '99999999.ext');
  fs.truncateSync(path.join(home, 'extents', victim!), 10);

  const bad = await runCli(['pool', 'check'], { env });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /orphan/);
  assert.match(bad.stdout, /past the end of extent file/);

  const rep = await runCli(['pool', 'check', '--repair'], { env });
  assert.match(rep.stdout, /removed orphan extent file/);
  assert.equal(fs.existsSync(orphan), false);
  const after = await runCli(['pool', 'check', '--json'], { env });
  const left = JSON.parse(after.stdout).problems as string[];
  assert.ok(left.length > 0 && left.every((p) => /past the end/.test(p)), 'lost bytes stay reported, never silently dropped');
});
