// Engine benchmark: 1 GiB written and read as 1 MiB array chunks against dd on
// the same disk, and 100k small single-value puts/gets; the same on PostgreSQL
// (bulk bytes in the database and in extent files) when a server can be started.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { openEngine } from '../src/engine/open.js';
import type { Engine } from '../src/engine/types.js';
import { freshPgDatabase, pgUnavailableReason } from '../test/pg-server.js';
import { MiB, dropCaches, mbps, ratio, size, timeCommand, timed, type Row } from './util.js';

async function inFlight<T>(count: number, width: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await fn(next++);
  }));
}

export async function benchEngine(workDir: string, sizeBytes = size('ENGINE_BENCH_MB', 1024, 128) * MiB): Promise<Row[]> {
  const rows: Row[] = [];
  const chunks = sizeBytes / MiB;
  const ddFile = path.join(workDir, 'dd.bin');
  // Source bytes come from a cached file so dd measures only the writing side.
  timeCommand(`dd if=/dev/urandom of=${ddFile}.src bs=1M count=${chunks} status=none && sync && cat ${ddFile}.src > /dev/null`);
  // Durable writes against the disk's durable rate: alternating pairs (dd
  // conv=fdatasync, then the engine into a fresh home), because this shared
  // disk's rate swings several-fold within minutes; the median pair ratio.
  const pairs: Array<{ dd: number; engine: number }> = [];
  for (let i = 0; i < 3; i++) {
    const dd = timeCommand(`dd if=${ddFile}.src of=${ddFile} bs=1M count=${chunks} conv=fdatasync status=none`);
    fs.rmSync(ddFile, { force: true });
    timeCommand('sync');
    const home = path.join(workDir, `write-pair-${i}`);
    const e = await openEngine(`lmdb:${home}`);
    const w = await timed(() => writeChunks(e, randomUUID(), chunks, randomBytes(MiB)));
    await e.close();
    fs.rmSync(home, { recursive: true, force: true });
    timeCommand('sync');
    pairs.push({ dd, engine: w.seconds });
  }
  const mid = [...pairs].sort((a, b) => a.dd / a.engine - b.dd / b.engine)[1]!;
  const ddWnosync = timeCommand(`dd if=${ddFile}.src of=${ddFile} bs=1M count=${chunks} status=none`);
  timeCommand('sync');
  dropCaches();
  const ddR = timeCommand(`dd if=${ddFile} of=/dev/null bs=1M status=none`);
  fs.rmSync(ddFile, { force: true });
  fs.rmSync(`${ddFile}.src`, { force: true });

  const home = path.join(workDir, 'engine');
  const engine = await openEngine(`lmdb:${home}`);
  const cont = randomUUID();
  const lm = await measure(engine, cont, sizeBytes);
  rows.push({ name: `engine write ${sizeBytes / MiB} MiB in 1 MiB chunks (durable), 3 pairs alternating with dd conv=fdatasync`, value: `median pair: engine ${mbps(sizeBytes, mid.engine)}, dd ${mbps(sizeBytes, mid.dd)} (ratio ${ratio(mid.dd, mid.engine)}); pair ratios ${pairs.map((p) => ratio(p.dd, p.engine)).join(', ')}`, speed: [{ vs: 'dd conv=fdatasync', ratio: mid.dd / mid.engine }] });
  rows.push({ name: `engine write ${sizeBytes / MiB} MiB in 1 MiB chunks (durable), then reads and small values in the same home`, value: `${mbps(sizeBytes, lm.write)}; dd without sync (page cache only) ${mbps(sizeBytes, ddWnosync)} (ratio ${ratio(ddWnosync, lm.write)})`, speed: [{ vs: 'dd (page cache)', ratio: ddWnosync / lm.write }] });
  rows.push({ name: `engine read ${sizeBytes / MiB} MiB in 1 MiB chunks (cold cache)`, value: `${mbps(sizeBytes, lm.read)}; dd ${mbps(sizeBytes, ddR)}; ratio ${ratio(ddR, lm.read)} of dd`, speed: [{ vs: 'dd', ratio: ddR / lm.read }] });
  rows.push({ name: `${N / 1000}k small puts (64 B, each its own durable commit, 256 in flight)`, value: `${(N / lm.puts).toFixed(0)} ops/s` });
  rows.push({ name: `${N / 1000}k small gets`, value: `${(N / lm.gets).toFixed(0)} ops/s` });
  const oid = Buffer.alloc(16, 1);
  const chunk = randomBytes(MiB);

  // Reclaiming: overwrite everything under a snapshot, destroy the snapshot, see the engine shrink.
  const snap = await engine.createSnapshot(cont);
  await inFlight(chunks, 8, (i) => engine.commit({ ops: [{ op: 'write', cont, oid, dkey: key(i), akey: Buffer.from('0'), offset: 0, data: chunk }] }));
  const before = (await engine.usage()).totalBytes;
  const d = await timed(() => engine.destroySnapshot(cont, snap));
  const after = (await engine.usage()).totalBytes;
  rows.push({ name: 'destroy snapshot after full overwrite', value: `engine size ${(before / MiB).toFixed(0)} MiB -> ${(after / MiB).toFixed(0)} MiB in ${d.seconds.toFixed(2)} s` });
  await engine.close();
  fs.rmSync(home, { recursive: true, force: true });
  rows.push(...(await benchPostgres(workDir, sizeBytes, lm)));
  return rows;
}

const N = size('ENGINE_BENCH_SMALL', 100_000, 10_000);
const key = (i: number) => { const d = Buffer.alloc(8); d.writeBigUInt64BE(BigInt(i)); return d; };

interface Times { write: number; read: number; puts: number; gets: number }

/** `chunks` array chunks of 1 MiB, each its own durable commit, 8 in flight. */
function writeChunks(engine: Engine, cont: string, chunks: number, chunk: Buffer): Promise<void> {
  const oid = Buffer.alloc(16, 1);
  return inFlight(chunks, 8, (i) => engine.commit({ ops: [{ op: 'write', cont, oid, dkey: key(i), akey: Buffer.from('0'), offset: 0, data: chunk }] }));
}

/** The four measurements on one engine: 1 MiB chunk writes and cold reads, small puts and gets. */
async function measure(engine: Engine, cont: string, sizeBytes: number): Promise<Times> {
  const chunks = sizeBytes / MiB;
  const oid = Buffer.alloc(16, 1);
  const chunk = randomBytes(MiB);
  const w = await timed(() => writeChunks(engine, cont, chunks, chunk));
  dropCaches();
  const r = await timed(() => inFlight(chunks, 8, async (i) => {
    const got = await engine.read({ cont, oid, dkey: key(i), akey: Buffer.from('0') }, 0, MiB);
    if (got[0] !== chunk[0] || got[MiB - 1] !== chunk[MiB - 1]) throw new Error('read back wrong data');
  }));
  const small = Buffer.alloc(64, 7);
  const p = await timed(() => inFlight(N, 256, (i) => engine.commit({ ops: [{ op: 'put', cont, oid: Buffer.alloc(16, 2), dkey: Buffer.from(`key-${i}`), akey: Buffer.from('v'), value: small }] })));
  const g = await timed(() => inFlight(N, 1, async (i) => {
    const v = await engine.get({ cont, oid: Buffer.alloc(16, 2), dkey: Buffer.from(`key-${i}`), akey: Buffer.from('v') });
    if (!v) throw new Error('missing value');
  }));
  return { write: w.seconds, read: r.seconds, puts: p.seconds, gets: g.seconds };
}

/** PostgreSQL rows (bulk bytes in the database and in extent files), when a server can be started. */
async function benchPostgres(workDir: string, sizeBytes: number, lm: Times): Promise<Row[]> {
  const why = pgUnavailableReason();
  if (why) return [{ name: 'postgres', value: `not measured: ${why}` }];
  const rows: Row[] = [];
  for (const mode of ['blobs', 'files'] as const) {
    const dataDir = path.join(workDir, 'pgdata');
    const url = await freshPgDatabase(mode === 'files' ? `data=${encodeURIComponent(dataDir)}` : '');
    const engine = await openEngine(url);
    const t = await measure(engine, randomUUID(), sizeBytes);
    await engine.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    const label = mode === 'blobs' ? 'postgres, bulk bytes in PostgreSQL' : 'postgres ?data=dir, bulk bytes in extent files';
    const vs = (ours: number, lmdb: number) => `${ratio(lmdb, ours)} of lmdb`;
    rows.push({ name: `${label}: write ${sizeBytes / MiB} MiB in 1 MiB chunks`, value: `${mbps(sizeBytes, t.write)} (${vs(t.write, lm.write)})` });
    rows.push({ name: `${label}: read ${sizeBytes / MiB} MiB in 1 MiB chunks`, value: `${mbps(sizeBytes, t.read)} (${vs(t.read, lm.read)})` });
    rows.push({ name: `${label}: ${N / 1000}k small puts, 256 in flight`, value: `${(N / t.puts).toFixed(0)} ops/s (${vs(t.puts, lm.puts)})` });
    rows.push({ name: `${label}: ${N / 1000}k small gets, 1 in flight`, value: `${(N / t.gets).toFixed(0)} ops/s (${vs(t.gets, lm.gets)})` });
  }
  return rows;
}
