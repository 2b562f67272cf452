// Engine benchmark: 1 GiB written and read as 1 MiB array chunks against dd on
// the same disk, and 100k small single-value puts/gets.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { openEngine } from '../src/engine/open.js';
import { GiB, MiB, dropCaches, mbps, ratio, timeCommand, timed, type Row } from './util.js';

async function inFlight<T>(count: number, width: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await fn(next++);
  }));
}

export async function benchEngine(workDir: string, sizeBytes = GiB): Promise<Row[]> {
  const rows: Row[] = [];
  const chunks = sizeBytes / MiB;
  const ddFile = path.join(workDir, 'dd.bin');
  // Source bytes come from a cached file so dd measures only the writing side.
  timeCommand(`dd if=/dev/urandom of=${ddFile}.src bs=1M count=${chunks} status=none && sync && cat ${ddFile}.src > /dev/null`);
  const ddW = timeCommand(`dd if=${ddFile}.src of=${ddFile} bs=1M count=${chunks} conv=fdatasync status=none`);
  fs.rmSync(ddFile, { force: true });
  timeCommand('sync');
  const ddWnosync = timeCommand(`dd if=${ddFile}.src of=${ddFile} bs=1M count=${chunks} status=none`);
  timeCommand('sync');
  dropCaches();
  const ddR = timeCommand(`dd if=${ddFile} of=/dev/null bs=1M status=none`);
  fs.rmSync(ddFile, { force: true });
  fs.rmSync(`${ddFile}.src`, { force: true });

  const home = path.join(workDir, 'engine');
  const engine = await openEngine(`lmdb:${home}`);
  const cont = randomUUID();
  const oid = Buffer.alloc(16, 1);
  const chunk = randomBytes(MiB);
  const key = (i: number) => { const d = Buffer.alloc(8); d.writeBigUInt64BE(BigInt(i)); return d; };
  const w = await timed(() => inFlight(chunks, 8, (i) => engine.commit({ ops: [{ op: 'write', cont, oid, dkey: key(i), akey: Buffer.from('0'), offset: 0, data: chunk }] })));
  dropCaches();
  const r = await timed(() => inFlight(chunks, 8, async (i) => {
    const got = await engine.read({ cont, oid, dkey: key(i), akey: Buffer.from('0') }, 0, MiB);
    if (got[0] !== chunk[0]) throw new Error('read back wrong data');
  }));
  rows.push({ name: `engine write ${sizeBytes / MiB} MiB in 1 MiB chunks (durable)`, value: `${mbps(sizeBytes, w.seconds)}; dd conv=fdatasync ${mbps(sizeBytes, ddW)} (ratio ${ratio(ddW, w.seconds)}); dd without sync ${mbps(sizeBytes, ddWnosync)} (ratio ${ratio(ddWnosync, w.seconds)})` });
  rows.push({ name: `engine read ${sizeBytes / MiB} MiB in 1 MiB chunks (cold cache)`, value: `${mbps(sizeBytes, r.seconds)}; dd ${mbps(sizeBytes, ddR)}; ratio ${ratio(ddR, r.seconds)} of dd` });

  const N = 100_000;
  const small = Buffer.alloc(64, 7);
  const p = await timed(() => inFlight(N, 256, (i) => engine.commit({ ops: [{ op: 'put', cont, oid: Buffer.alloc(16, 2), dkey: Buffer.from(`key-${i}`), akey: Buffer.from('v'), value: small }] })));
  const g = await timed(() => inFlight(N, 1, async (i) => {
    const v = await engine.get({ cont, oid: Buffer.alloc(16, 2), dkey: Buffer.from(`key-${i}`), akey: Buffer.from('v') });
    if (!v) throw new Error('missing value');
  }));
  rows.push({ name: `${N / 1000}k small puts (64 B, each its own durable commit, 256 in flight)`, value: `${(N / p.seconds).toFixed(0)} ops/s` });
  rows.push({ name: `${N / 1000}k small gets`, value: `${(N / g.seconds).toFixed(0)} ops/s` });

  // Reclaiming: overwrite everything under a snapshot, destroy the snapshot, see the engine shrink.
  const snap = await engine.createSnapshot(cont);
  await inFlight(chunks, 8, (i) => engine.commit({ ops: [{ op: 'write', cont, oid, dkey: key(i), akey: Buffer.from('0'), offset: 0, data: chunk }] }));
  const before = (await engine.usage()).totalBytes;
  const d = await timed(() => engine.destroySnapshot(cont, snap));
  const after = (await engine.usage()).totalBytes;
  rows.push({ name: 'destroy snapshot after full overwrite', value: `engine size ${(before / MiB).toFixed(0)} MiB -> ${(after / MiB).toFixed(0)} MiB in ${d.seconds.toFixed(2)} s` });
  await engine.close();
  fs.rmSync(home, { recursive: true, force: true });
  return rows;
}
