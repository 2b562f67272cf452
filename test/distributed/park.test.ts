// Parking on the queue: `container serialize --queue -j N` and `container
// deserialize --queue` hand their rank files to `strata worker` processes
// (PostgreSQL engine); the result is the same as a local run: the same rank
// files, and a deserialized container whose digest equals the original's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, type CliResult } from '../helpers.js';
import { pgUnavailableReason } from '../pg-server.js';
import { killStarted, queueEnv, started } from '../park/queued.js';

const skip = pgUnavailableReason();

const worker = (env: Record<string, string>): Promise<CliResult> => started(['worker', '--lease', '2s'], env).result;

test('serialize --queue and deserialize --queue: ranks done by workers, the container comes back identical', { skip, timeout: 240_000 }, async () => {
  const { home, env, ok } = await queueEnv('strata-dist-park-');
  const src = path.join(home, 'src');
  for (let d = 0; d < 6; d++) {
    fs.mkdirSync(path.join(src, `d${d}`), { recursive: true });
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(src, `d${d}`, `f${i}`), `file ${d}/${i}\n`.repeat(1 + i * 7));
  }
  fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(3 * 1024 * 1024 + 5, 7));
  await ok(['pool', 'create', 'tank']);
  await ok(['fs', 'copy', '--src', src, '--dst', 'daos://tank/orig', '-q']);
  await ok(['container', 'set-attr', 'tank', 'orig', 'project', 'parked-by-workers']);
  const digestOf = async (c: string) => (await ok(['container', 'check', 'tank', c])).split(/\s+/)[0];
  const digest = await digestOf('orig');
  const out = path.join(home, 'parked');
  try {
    const ser = runCli(['container', 'serialize', 'tank', 'orig', '-o', out, '-j', '3', '--queue', '--json'], { env });
    const ws = [worker(env), worker(env)];
    const s = await ser;
    assert.equal(s.code, 0, s.stderr);
    const files = (JSON.parse(s.stdout) as { files: string[] }).files;
    assert.equal(files.length, 3);
    assert.deepEqual(fs.readdirSync(out).sort(), files.map((f) => path.basename(f)).sort(), 'the rank files and nothing else');
    const items = (rs: CliResult[]) => rs.reduce((n, w) => n + Number(/^worker: (\d+) items/m.exec(w.stderr)?.[1] ?? 0), 0);
    const wr = await Promise.all(ws);
    for (const w of wr) assert.equal(w.code, 0, w.stderr);
    assert.equal(items(wr), 3, 'the three ranks were written by the workers');

    const des = runCli(['container', 'deserialize', 'tank', out, '--label', 'back', '--queue'], { env });
    const ws2 = [worker(env), worker(env)];
    const d = await des;
    assert.equal(d.code, 0, d.stderr);
    const wr2 = await Promise.all(ws2);
    for (const w of wr2) assert.equal(w.code, 0, w.stderr);
    assert.equal(items(wr2), 3, 'the three rank files were loaded by the workers');
    assert.equal(await digestOf('back'), digest, 'same digest as the original');
    const cmp = await runCli(['fs', 'compare', src, 'daos://tank/back'], { env });
    assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
  } finally {
    killStarted();
  }
});
