// A child process of stale-read.test.ts: overwrites one array akey with
// large bytes (the old extent file's bytes become unreferenced) and closes
// the engine, which seals its file and collects the files nothing points at.
import { openEngine } from '../../src/engine/open.js';

const [url, cont, fillStr] = process.argv.slice(2);
const engine = await openEngine(url);
const oid = Buffer.alloc(16, 1);
await engine.commit({ ops: [{ op: 'write', cont: cont!, oid, dkey: Buffer.from('d'), akey: Buffer.from('arr'), offset: 0, data: Buffer.alloc(40000, Number(fillStr)) }] });
await engine.close();
