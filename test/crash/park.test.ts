// SIGKILL during `container serialize` and `container deserialize` at seeded
// random delays. After every kill: pool check passes; a killed deserialize
// leaves no visible container (or, if it got that far, a complete one). The
// next parking command removes the leftovers (pending data, run snapshots);
// re-running completes and `container check` digests are identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openEngine } from '../../src/engine/open.js';
import { Tally, cliPoolCheck, crashEnv, killAfter, ok, poolCheck, suiteRng } from './util.js';

const r = suiteRng('park');
const { home, env } = crashEnv('park');

async function digest(label: string): Promise<string> {
  return (await ok(env, ['container', 'check', 'tank', label])).stdout.split(/\s+/)[0]!;
}

async function labels(): Promise<string[]> {
  return (JSON.parse((await ok(env, ['container', 'list', 'tank', '--json'])).stdout) as Array<{ label: string }>).map((c) => c.label);
}

test('serialize and deserialize: SIGKILL at random points, then re-run; digests identical', async () => {
  const ser = new Tally('serialize', 16, 100, 800);
  const des = new Tally('deserialize', 16, 100, 800);
  const src = path.join(home, 'src');
  for (let d = 0; d < 4; d++) {
    fs.mkdirSync(path.join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < 30; f++) fs.writeFileSync(path.join(src, `d${d}/f${f}`), Buffer.alloc(f * 2000 + 1, d * 31 + f));
    fs.writeFileSync(path.join(src, `d${d}/big`), Buffer.alloc(400000 + d, d + 1));
  }
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c', '-q']);
  const want = await digest('c');

  for (let round = 0; ser.more(); round++) {
    const k = await killAfter(['container', 'serialize', 'tank', 'c', '--output-path', path.join(home, `ser${round}`)], env, ser.delay(r));
    await poolCheck(env, `serialize kill ${round}`);
    ser.count(k.killed, k.ms);
    if (!k.killed) assert.equal(k.code, 0, k.out);
  }
  const out = path.join(home, 'ser');
  await ok(env, ['container', 'serialize', 'tank', 'c', '--output-path', out]);
  // The run snapshots of the killed runs are gone (removed by the next parking command).
  assert.doesNotMatch((await ok(env, ['container', 'list-snaps', 'tank', 'c'])).stdout, /\d/);

  const made: string[] = [];
  for (let round = 0; des.more(); round++) {
    const label = `d${round}`;
    const k = await killAfter(['container', 'deserialize', 'tank', out, '--label', label], env, des.delay(r));
    await poolCheck(env, `deserialize kill ${round}`);
    des.count(k.killed, k.ms);
    if (!k.killed) assert.equal(k.code, 0, k.out);
    // All or nothing: a visible container is complete.
    if ((await labels()).includes(label)) { assert.equal(await digest(label), want, `${label} after kill`); made.push(label); }
    else assert.ok(k.killed, k.out);
  }
  await ok(env, ['container', 'deserialize', 'tank', out, '--label', 'back']);
  assert.equal(await digest('back'), want);
  // No pending data of killed runs left once a parking command ran.
  const e = await openEngine(`lmdb:${env.STRATA_HOME}`);
  try { assert.deepEqual(await e.catList('pending/'), []); assert.deepEqual(await e.catList('run-snap/'), []); } finally { await e.close(); }
  assert.deepEqual((await labels()).sort(), ['back', 'c', ...made].sort());
  await cliPoolCheck(env);
  ser.report();
  des.report();
});
