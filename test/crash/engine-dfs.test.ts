// SIGKILL during engine writes and during DFS operations, at random points
// (seeded: the seed is printed; STRATA_CRASH_SEED replays it). A driver
// process acknowledges each finished operation; after every kill the engine
// and DFS invariants hold (pool check), every acknowledged operation is there,
// and the in-flight one is there whole or not at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../../src/engine/open.js';
import { openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import { Tally, cliPoolCheck, crashEnv, ok, poolCheck, suiteRng } from './util.js';
import { appliedBatches } from './engine-model.js';
import { applyOp, describeDfs, describeModel, emptyModel, genOp, type Model, type Op } from './dfs-model.js';

const DRIVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'driver.js');

/** Runs the driver, kills it killMs after it is ready; returns the acknowledged operation numbers. */
async function runDriver(args: string[], killMs: number): Promise<{ acks: number[]; killed: boolean }> {
  const child = spawn(process.execPath, [DRIVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let timer: NodeJS.Timeout | undefined;
  let killed = false;
  child.stdout.on('data', (d: Buffer) => {
    const was = out;
    out += d.toString();
    if (!was.includes('ready\n') && out.includes('ready\n')) timer = setTimeout(() => { killed = child.kill('SIGKILL'); }, killMs);
  });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  if (timer) clearTimeout(timer);
  assert.ok(code === 0 || (killed && code === null), `driver failed (${code}): ${err}`);
  const acks = [...out.matchAll(/^ack (\d+)$/gm)].map((m) => Number(m[1]));
  return { acks, killed: killed && code === null };
}

test('engine writes: SIGKILL at random points; acknowledged batches all there, none torn', async () => {
  const r = suiteRng('engine');
  const { env } = crashEnv('engine');
  const url = `lmdb:${env.STRATA_HOME}`;
  const cont = '0c0c0c0c-0000-4000-8000-000000000001';
  const tally = new Tally('engine writes', 55, 0, 120);
  let n = 0;
  for (let round = 0; tally.more(); round++) {
    const { acks, killed } = await runDriver(['engine', url, cont, String(n)], tally.delay(r));
    tally.count(killed);
    const acked = acks.length ? acks[acks.length - 1]! + 1 : n;
    const e = await openEngine(url);
    let now: number;
    try { now = await appliedBatches(e, cont); } finally { await e.close(); }
    assert.ok(now >= acked && now <= acked + 1, `round ${round}: ${now} batches applied, ${acked} acknowledged`);
    await poolCheck(env, `engine kill ${round}`);
    n = now;
  }
  process.stderr.write(`# crash engine writes: ${n} batches committed\n`);
  await cliPoolCheck(env);
  tally.report();
});

test('DFS operations (mkdir, put, mv, rm, rmdir, ln, truncate): SIGKILL at random points; the namespace is the model after the acknowledged ops (+ the in-flight one)', async () => {
  const r = suiteRng('dfs');
  const { home, env } = crashEnv('dfs');
  const url = `lmdb:${env.STRATA_HOME}`;
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['container', 'create', 'tank', 'fs', '--type', 'POSIX', '--chunk-size', '64K']);
  const tally = new Tally('DFS operations', 55, 0, 100);
  let m: Model = emptyModel();
  let applied = 0;
  const describe = async () => {
    const e = await openEngine(url);
    try { return await describeDfs(await mountDfs(await openContainer(e, 'tank', 'fs'), { readOnly: true })); } finally { await e.close(); }
  };
  for (let round = 0; ; round++) {
    const last = !tally.more(); // the last round runs to completion
    const states: Model[] = [m];
    const ops: Op[] = [];
    for (let i = 0; i < (last ? 30 : 200); i++) { ops.push(genOp(states[i]!, r)); states.push(applyOp(states[i]!, ops[i]!)); }
    const file = path.join(home, 'ops.json');
    fs.writeFileSync(file, JSON.stringify(ops));
    const { acks, killed } = await runDriver(['dfs', url, 'tank', 'fs', file, '0'], last ? 1e9 : tally.delay(r));
    if (!last) tally.count(killed);
    const a = acks.length;
    applied += a;
    const got = await describe();
    if (got === describeModel(states[a]!)) m = states[a]!;
    else if (a < ops.length && got === describeModel(states[a + 1]!)) { m = states[a + 1]!; applied++; }
    else assert.equal(got, describeModel(states[a]!), `round ${round}: after ${a} acknowledged ops (next: ${JSON.stringify(ops[a])})`);
    await poolCheck(env, `DFS kill ${round}`);
    if (last) { assert.equal(a, ops.length); break; }
  }
  process.stderr.write(`# crash DFS operations: ${applied} operations applied\n`);
  await cliPoolCheck(env);
  tally.report();
});
