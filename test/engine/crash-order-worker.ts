// The child process of crash-order.test.ts, run under strace: writes large
// bytes (a new extent file), seals that file by closing the engine, then
// overwrites the bytes with 'visible' commits (not synced when they return,
// as a FUSE mount commits) and reclaims, which collects the first file.
import { openEngine } from '../../src/engine/open.js';

const [url, cont] = process.argv.slice(2);
const k = { cont: cont!, oid: Buffer.alloc(16, 1), dkey: Buffer.from('d'), akey: Buffer.from('arr') };
const first = await openEngine(url);
await first.commit({ ops: [{ op: 'write', ...k, offset: 0, data: Buffer.alloc(100000, 1) }] });
await first.close();
const second = await openEngine(url);
second.setDurability('visible');
await second.commit({ ops: [{ op: 'write', ...k, offset: 0, data: Buffer.alloc(100000, 2) }] });
await second.reclaim(cont!); // ends by collecting the files nothing points into
await second.close();
