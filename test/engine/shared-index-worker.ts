// A worker of shared-index.test.ts. Two roles on one LMDB engine home:
//   writer <home> <id> <seconds>: writes, renames, unlinks and reads back its
//     own small files in the shared directories /s0../s2 of tank/fs through
//     DFS, committing 'visible' (as a FUSE mount does); prints one JSON line
//     {ops, bad: [...]} where bad lists every own file that read back wrong,
//     went missing or every operation on own names that failed.
//   opener <home> <container uuid> <seconds>: for that long, over and over,
//     a short-lived process's life: open the engine, commit a few values (up
//     to 60 KiB) to another container, close it. Prints {opens, failures}.
import crypto from 'node:crypto';
import { openEngine } from '../../src/engine/open.js';
import { openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';

const [role, home, a, b] = process.argv.slice(2);

if (role === 'writer') {
  const id = a!;
  const end = Date.now() + Number(b) * 1000;
  const engine = await openEngine(`lmdb:${home}`);
  engine.setDurability('visible');
  const dfs = await mountDfs(await openContainer(engine, 'tank', 'fs', { write: true }));
  const mine = new Map<string, Buffer>();
  const dirs: string[] = [];
  const bad: string[] = [];
  const pick = () => [...mine.keys()][crypto.randomInt(0, mine.size)]!;
  let k = 0;
  let ops = 0;
  while (Date.now() < end) {
    const r = crypto.randomInt(0, 10);
    const sd = `/s${crypto.randomInt(0, 3)}`;
    try {
      if (r < 3 || mine.size < 5) {
        const p = `${sd}/w${id}-f${k++}`;
        const c = crypto.randomBytes(crypto.randomInt(0, 5000));
        await dfs.writeFile(p, c);
        mine.set(p, c);
      } else if (r < 5) {
        const from = pick();
        const to = `${sd}/w${id}-f${k++}`;
        await dfs.rename(from, to);
        mine.set(to, mine.get(from)!);
        mine.delete(from);
      } else if (r < 6) {
        const p = pick();
        await dfs.unlink(p);
        mine.delete(p);
      } else if (r < 7) {
        const p = `${sd}/w${id}-d${k++}`;
        await dfs.mkdir(p);
        dirs.push(p);
      } else if (r < 8 && dirs.length) {
        await dfs.rmdir(dirs.splice(crypto.randomInt(0, dirs.length), 1)[0]!);
      } else {
        const p = pick();
        const got = await dfs.readFile(p);
        if (!got.equals(mine.get(p)!)) bad.push(`${p}: read ${got.length} bytes, wrote ${mine.get(p)!.length}`);
      }
      ops++;
    } catch (e) {
      bad.push(`operation ${r}: ${(e as Error).message}`);
    }
  }
  // Every own file, read back once more.
  for (const [p, c] of mine) {
    try {
      if (!(await dfs.readFile(p)).equals(c)) bad.push(`${p}: wrong content at the end`);
    } catch (e) {
      bad.push(`${p}: ${(e as Error).message}`);
    }
  }
  await engine.sync();
  await engine.close();
  process.stdout.write(JSON.stringify({ ops, bad }) + '\n');
} else if (role === 'opener') {
  const { spawnSync } = await import('node:child_process');
  const end = Date.now() + Number(b) * 1000;
  let opens = 0;
  const failures: string[] = [];
  while (Date.now() < end) {
    const r = spawnSync(process.execPath, [process.argv[1]!, 'commit-once', home!, a!], { encoding: 'utf8' });
    opens++;
    if (r.status !== 0) failures.push(r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
  }
  process.stdout.write(JSON.stringify({ opens, failures }) + '\n');
} else if (role === 'commit-once') {
  const engine = await openEngine(`lmdb:${home}`);
  const cont = a!;
  for (let i = 0; i < 5; i++) {
    const oid = Buffer.alloc(16);
    oid.writeUInt32BE(crypto.randomInt(0, 50), 12);
    await engine.commit({ ops: [{ op: 'write', cont, oid, dkey: Buffer.from('x'), akey: Buffer.from('arr'), offset: 0, data: crypto.randomBytes(crypto.randomInt(1, 60000)) }] });
  }
  await engine.close();
} else {
  process.stderr.write(`shared-index-worker: unknown role ${role}\n`);
  process.exit(2);
}
