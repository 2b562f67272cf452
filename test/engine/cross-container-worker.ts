// A process of the cross-container contract test (contract.ts). Two
// containers, A and B, written at once by several processes:
// - writer: puts values into objects of its own, mostly in one container,
//   every fourth batch in both at once, every third batch also increments a
//   counter in the *other* container under a version condition; prints each
//   commit (container, object, epoch, value) and how many increments landed;
//   every fifth batch writes only its own container, a copy of the other
//   container's counter, under a condition on that counter's version (a
//   condition on a container the batch does not write);
// - reader (of one container): creates a snapshot and reads every writer
//   object at it; asks currentEpoch(cont), then reads every object's latest
//   value; prints what it read (the parent checks each read against the
//   writers' commits: at a snapshot, exactly; after currentEpoch E, no value
//   older than the container's newest commit <= E);
// - cat: races the other cat process for catalog keys (cat-absent condition)
//   in batches that also write a container, eight keys at a time in time
//   slots both processes share (from t0), so the races overlap; prints which
//   keys it won.
import { openEngine } from '../../src/engine/open.js';
import type { KeyPath, WriteOp } from '../../src/engine/types.js';
import { isStrataError } from '../../src/errors.js';

const [role, url, contA, contB, idStr, writersStr, objsStr, msStr, t0Str] = process.argv.slice(2);
const id = Number(idStr);
const writers = Number(writersStr);
const objs = Number(objsStr);
const deadline = Date.now() + Number(msStr);
const conts = { A: contA!, B: contB! };
type Side = keyof typeof conts;

const oidOf = (n: number) => { const b = Buffer.alloc(16); b.writeUInt32BE(n, 12); return b; };
const single = (side: Side, w: number, o: number): KeyPath => ({ cont: conts[side], oid: oidOf(w * 1000 + o), dkey: Buffer.from('d'), akey: Buffer.from('v') });
const counter = (side: Side): KeyPath => ({ cont: conts[side], oid: oidOf(999999), dkey: Buffer.from('c'), akey: Buffer.from('n') });
const out = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const u64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(n); return b; };

const engine = await openEngine(url);
if (role === 'writer') {
  const home: Side = id % 2 ? 'B' : 'A';
  const other: Side = home === 'A' ? 'B' : 'A';
  let incs = 0;
  for (let n = 1; Date.now() < deadline; n++) {
    const o = Math.floor(Math.random() * objs);
    const sides: Side[] = n % 4 === 0 ? ['A', 'B'] : [home];
    const v = `w${id}o${o}n${n}`;
    const ops: WriteOp[] = sides.map((s) => ({ op: 'put', ...single(s, id, o), value: Buffer.from(v) }));
    if (n % 3 === 0) {
      // A conditional increment of the other container's counter, in a batch that writes this one.
      for (;;) {
        const ck = counter(other);
        const version = await engine.version(ck);
        const cur = await engine.get(ck);
        const next = (cur ? Buffer.from(cur).readBigUInt64LE(0) : 0n) + 1n;
        try {
          const e = await engine.commit({ ops: [...ops, { op: 'put', ...ck, value: u64(next) }], conditions: [{ kind: 'akey', ...ck, version }] });
          for (const s of sides) out({ c: s, w: id, o, e, v });
          out({ ctr: other, e, n: Number(next) });
          incs++;
          break;
        } catch (err) {
          if (!isStrataError(err, 'ECONFLICT')) throw err;
        }
      }
    } else {
      const e = await engine.commit({ ops });
      for (const s of sides) out({ c: s, w: id, o, e, v });
    }
    if (n % 5 === 0) {
      const ck = counter(other);
      const version = await engine.version(ck);
      const cur = await engine.get(ck);
      const seen = cur ? Buffer.from(cur).readBigUInt64LE(0) : 0n;
      try {
        const e = await engine.commit({ ops: [{ op: 'put', ...single(home, 700 + id, 0), value: u64(seen) }], conditions: [{ kind: 'akey', ...ck, version }] });
        out({ copy: other, e, n: Number(seen) });
      } catch (err) {
        if (!isStrataError(err, 'ECONFLICT')) throw err;
      }
    }
  }
  out({ incs, into: other });
} else if (role === 'reader') {
  const side: Side = id % 2 ? 'B' : 'A';
  const readAll = async (epoch?: number) => {
    const got: Array<[number, number, string | null]> = [];
    for (let w = 0; w < writers; w++) {
      for (let o = 0; o < objs; o++) {
        const v = await engine.get(single(side, w, o), epoch);
        got.push([w, o, v === undefined ? null : Buffer.from(v).toString()]);
      }
    }
    return got;
  };
  do {
    const s = await engine.createSnapshot(conts[side]);
    engine.refresh();
    out({ c: side, at: s, reads: await readAll(s) });
    await engine.destroySnapshot(conts[side], s);
    engine.refresh();
    const e = await engine.currentEpoch(conts[side]);
    engine.refresh();
    out({ c: side, now: e, reads: await readAll() });
    await pause(Math.random() * 10);
  } while (Date.now() < deadline);
} else {
  const side: Side = id % 2 ? 'B' : 'A';
  const t0 = Number(t0Str);
  for (let i = 0; Date.now() < deadline; i++) {
    await pause(t0 + i * 50 - Date.now());
    await Promise.all(Array.from({ length: 8 }, async (_, j) => {
      const key = `race/${conts.A}/${i}.${j}`;
      try {
        await engine.commit({
          ops: [{ op: 'cat-put', key, value: id }, { op: 'put', ...single(side, 500 + id, j), value: Buffer.from(`cat${i}`) }],
          conditions: [{ kind: 'cat-absent', key }],
        });
        out({ won: `${i}.${j}` });
      } catch (err) {
        if (!isStrataError(err, 'ECONFLICT')) throw err;
      }
    }));
  }
}
await engine.close();
