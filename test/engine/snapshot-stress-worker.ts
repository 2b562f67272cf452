// A process of the snapshot stress (snapshot-stress.test.ts). Writers
// overwrite objects of their own and print each commit (object, epoch, value);
// snappers create snapshots, read every object at each one twice (right
// after creating it and a moment later, while other processes' destroys
// reclaim), print what they read, and destroy most of them. The parent checks
// every read against the model built from the writers' commits.
import { openEngine } from '../../src/engine/open.js';
import type { KeyPath } from '../../src/engine/types.js';

const [role, url, cont, idStr, writersStr, objsStr, msStr] = process.argv.slice(2);
const id = Number(idStr);
const writers = Number(writersStr);
const objs = Number(objsStr);
const deadline = Date.now() + Number(msStr);
/** Larger than the inline limit: the bytes go to extent files (or blobs). */
const BIG = 20000;

const oidOf = (w: number, o: number) => { const b = Buffer.alloc(16); b.writeUInt32BE(w * 1000 + o, 12); return b; };
const single = (w: number, o: number): KeyPath => ({ cont: cont!, oid: oidOf(w, o), dkey: Buffer.from('d'), akey: Buffer.from('v') });
const array = (w: number, o: number): KeyPath => ({ cont: cont!, oid: oidOf(w, o), dkey: Buffer.from('d'), akey: Buffer.from('arr') });
const out = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const engine = await openEngine(url);
if (role === 'writer') {
  for (let n = 1; Date.now() < deadline; n++) {
    const o = Math.floor(Math.random() * objs);
    const v = `w${id}o${o}n${n}`;
    const fill = (id * 97 + n) % 251 + 1;
    const e = await engine.commit({ ops: [
      { op: 'put', ...single(id, o), value: Buffer.from(v) },
      { op: 'write', ...array(id, o), offset: 0, data: Buffer.alloc(BIG, fill) },
    ] });
    out({ w: id, o, e, v, f: fill });
  }
} else {
  /** What every object reads as at epoch: [writer, object, single value, array fill (0 absent, -1 mixed)]. */
  const readAll = async (epoch: number) => {
    const got: Array<[number, number, string | null, number]> = [];
    for (let w = 0; w < writers; w++) {
      for (let o = 0; o < objs; o++) {
        const v = await engine.get(single(w, o), epoch);
        const a = Buffer.from(await engine.read(array(w, o), 0, BIG, epoch));
        got.push([w, o, v === undefined ? null : Buffer.from(v).toString(), a.every((b) => b === a[0]) ? a[0]! : -1]);
      }
    }
    return got;
  };
  const kept: number[] = [];
  while (Date.now() < deadline) {
    const s = await engine.createSnapshot(cont!, `s${id}`);
    engine.refresh();
    out({ s, reads: await readAll(s) });
    await pause(Math.random() * 20);
    engine.refresh();
    out({ s, reads: await readAll(s) });
    if (Math.random() < 0.85) await engine.destroySnapshot(cont!, s);
    else kept.push(s);
  }
  out({ kept });
}
await engine.close();
