// A child process for the multi-process contract test: opens the engine given
// by URL and writes, with conditional read-modify-write on a shared counter.
import { openEngine } from '../../src/engine/open.js';
import { isStrataError } from '../../src/errors.js';

const [url, cont, idStr, countStr] = process.argv.slice(2);
const id = Number(idStr);
const count = Number(countStr);
const engine = await openEngine(url);
const oid = Buffer.alloc(16);
oid.writeUInt32BE(id, 12);
const counterOid = Buffer.alloc(16);
counterOid.writeUInt32BE(99, 12);
const ck = { cont: cont!, oid: counterOid, dkey: Buffer.from('shared'), akey: Buffer.from('count') };
for (let i = 0; i < count; i++) {
  await engine.commit({ ops: [
    { op: 'put', cont: cont!, oid, dkey: Buffer.from(`k${i}`), akey: Buffer.from('v'), value: Buffer.from(String(i)) },
    { op: 'write', cont: cont!, oid, dkey: Buffer.from('blob'), akey: Buffer.from('data'), offset: i * 40000, data: Buffer.alloc(40000, (id * 31 + i) & 0xff) },
  ] });
  for (;;) {
    const version = await engine.version(ck);
    const cur = await engine.get(ck);
    const n = cur ? Buffer.from(cur).readBigUInt64LE(0) : 0n;
    const next = Buffer.alloc(8);
    next.writeBigUInt64LE(n + 1n);
    try {
      await engine.commit({ ops: [{ op: 'put', ...ck, value: next }], conditions: [{ kind: 'akey', ...ck, version }] });
      break;
    } catch (e) {
      if (!isStrataError(e, 'ECONFLICT')) throw e;
    }
  }
}
await engine.close();
