// Crash-suite driver, killed by the tests at random points. Prints "ready"
// once open, then "ack N" after operation N returned (is acknowledged).
//   driver.js engine <engine-url> <cont-uuid> <first>   raw engine batches, forever
//   driver.js dfs <engine-url> <pool> <cont> <ops.json> <first>   DFS operations
import fs from 'node:fs';
import { openEngine } from '../../src/engine/open.js';
import { openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import { runOp, type Op } from './dfs-model.js';
import { engineBatch } from './engine-model.js';

const say = (s: string) => fs.writeSync(1, s + '\n');
const [mode, url, ...rest] = process.argv.slice(2);
// Run without arguments (e.g. picked up by `node --test dist/test/`): nothing to do.
if ((mode !== 'engine' && mode !== 'dfs') || !url) process.exit(0);
const engine = await openEngine(url);
if (mode === 'engine') {
  const [cont, first] = rest;
  say('ready');
  for (let i = Number(first); ; i++) {
    await engine.commit(engineBatch(cont!, i));
    say(`ack ${i}`);
  }
} else {
  const [pool, cont, opsFile, first] = rest;
  const dfs = await mountDfs(await openContainer(engine, pool!, cont!, { write: true }));
  const ops = JSON.parse(fs.readFileSync(opsFile!, 'utf8')) as Op[];
  say('ready');
  for (let i = Number(first); i < ops.length; i++) {
    await runOp(dfs, ops[i]!);
    say(`ack ${i}`);
  }
  await engine.close();
}
