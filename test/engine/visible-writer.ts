// A child process for the durability contract test: opens the engine given by
// URL with 'visible' commits and commits one put after another, printing the
// number of each commit once it has returned, until it is killed.
import { openEngine } from '../../src/engine/open.js';

const [url, cont] = process.argv.slice(2);
const engine = await openEngine(url);
engine.setDurability('visible');
const oid = Buffer.alloc(16);
oid.writeUInt32BE(7, 12);
for (let i = 0; ; i++) {
  await engine.commit({ ops: [{ op: 'put', cont: cont!, oid, dkey: Buffer.from(`k${i}`), akey: Buffer.from('v'), value: Buffer.from(String(i)) }] });
  process.stdout.write(`${i}\n`);
}
