// Copies the LMDB engine's index between LMDB builds, entry by entry, through
// a pipe between two processes: one reads the index with one build of
// lmdb-js's addon, the other writes a new index with the other build. Used by
// `strata engine init` to rewrite an index that lmdb-js's prebuilt addon
// (LMDB 0.9.90, data format 2) wrote in LMDB 0.9's format 1, the format the
// engine runs on (docs/engine.md, "Which LMDB"); the tests use it the other
// way to make such an index. A process loads the prebuilt addon with
// PREBUILDS_ONLY=1 (node-gyp-build then skips build/Release).
//
// Frames on the pipe: table number (u8), key length (u32), value length
// (u32), key, value; table 255 ends the stream, its value the JSON counts.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../../errors.js';

/** The engine's named databases and how their keys are stored (uint32: LMDB integer keys). */
export const INDEX_TABLES: ReadonlyArray<readonly [string, 'bytes' | 'uint32']> = [
  ['records', 'bytes'], ['objpunch', 'bytes'], ['snapshots', 'bytes'], ['catalog', 'bytes'],
  ['meta', 'bytes'], ['files', 'uint32'], ['byfile', 'bytes'],
];
const END = 255;
const BATCH_BYTES = 8 << 20;

export type Counts = Record<string, number>;

/**
 * Copies the index file `from` into a new index file `to` (which must not
 * exist). `prebuilt` says which side runs on lmdb-js's prebuilt addon.
 * Returns the entries copied per table, checked on both sides.
 */
export async function copyIndex(from: string, to: string, prebuilt: 'reader' | 'writer'): Promise<Counts> {
  const script = fileURLToPath(import.meta.url);
  const env = (pre: boolean) => ({ ...process.env, PREBUILDS_ONLY: pre ? '1' : '' });
  const reader = spawn(process.execPath, [script, 'read', from], { stdio: ['ignore', 'pipe', 'pipe'], env: env(prebuilt === 'reader') });
  const writer = spawn(process.execPath, [script, 'write', to], { stdio: ['pipe', 'pipe', 'pipe'], env: env(prebuilt === 'writer') });
  reader.stdout!.pipe(writer.stdin!);
  writer.stdin!.on('error', () => undefined);
  const done = (p: ReturnType<typeof spawn>) => new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) => {
    let out = '';
    let err = '';
    if (p === writer) p.stdout!.on('data', (d: Buffer) => { out += d; });
    p.stderr!.on('data', (d: Buffer) => { err += d; });
    p.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
  const [r, w] = await Promise.all([done(reader), done(writer)]);
  // LMDB may crash on a damaged file rather than report it.
  const why = (x: { signal: string | null; err: string }) => x.err.trim().split('\n').filter(Boolean).pop()
    ?? (x.signal ? `the process died of ${x.signal} (is the file damaged?)` : 'no message');
  if (r.code !== 0) throw new StrataError('EIO', `reading engine index ${from} failed: ${why(r)}`);
  if (w.code !== 0) throw new StrataError('EIO', `writing engine index ${to} failed: ${why(w)}`);
  return JSON.parse(w.out) as Counts;
}

/** True when the index file was written in data format 2 (lmdb-js's prebuilt LMDB 0.9.90). */
export function isFormat2(file: string): boolean {
  const head = Buffer.alloc(32);
  let fd: number;
  try { fd = fs.openSync(file, 'r'); } catch { return false; }
  try { fs.readSync(fd, head, 0, 32, 0); } finally { fs.closeSync(fd); }
  return head.readUInt32LE(24) === 0xbeefc0de && head.readUInt32LE(28) === 2;
}

/**
 * Rewrites `<home>/index.mdb` from data format 2 into format 1; the old file
 * stays as index.mdb.format2. Nothing else may use the home meanwhile (no
 * strata process can: they refuse a format-2 index). Safe to kill at any
 * point and run again: the new index is complete before it is renamed to
 * index.mdb.format1, and the engine refuses to open a home where that file
 * waits. Returns the entries per table, or undefined when there was nothing
 * to upgrade.
 */
export async function upgradeIndex(home: string): Promise<Counts | undefined> {
  const file = `${home}/index.mdb`;
  const ready = `${file}.format1`;
  const old = `${file}.format2`;
  let counts: Counts | undefined;
  if (!fs.existsSync(ready)) {
    if (!isFormat2(file)) return undefined;
    const tmp = `${file}.upgrading`;
    const dropTmp = () => { fs.rmSync(tmp, { force: true }); fs.rmSync(`${tmp}-lock`, { force: true }); };
    dropTmp();
    try {
      counts = await copyIndex(file, tmp, 'reader');
    } catch (e) {
      dropTmp(); // the old index is untouched; nothing half-written stays
      throw e;
    }
    fs.rmSync(`${tmp}-lock`, { force: true });
    fs.chmodSync(tmp, fs.statSync(file).mode & 0o7777); // who may read the index does not change
    fs.renameSync(tmp, ready);
    fsyncDir(home);
  }
  if (fs.existsSync(file)) {
    if (fs.existsSync(old)) throw new StrataError('EEXIST', `${old} exists already: move it away, then run strata engine init again`);
    fs.renameSync(file, old);
  }
  fs.rmSync(`${file}-lock`, { force: true });
  fs.renameSync(ready, file);
  fsyncDir(home);
  return counts ?? {};
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

async function openIndex(file: string, readOnly: boolean) {
  const { open } = await import('lmdb');
  const env = open({ path: file, maxDbs: 16, mapSize: 2 ** 36, overlappingSync: false, readOnly });
  const dbs = INDEX_TABLES.map(([name, key]) => env.openDB(name, { keyEncoding: key === 'uint32' ? 'uint32' : 'binary', encoding: 'binary' }));
  return { env, dbs };
}

async function readSide(file: string): Promise<void> {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
  const { env, dbs } = await openIndex(file, true);
  const counts: Counts = {};
  const out = process.stdout;
  const send = async (table: number, key: Buffer, value: Buffer) => {
    const head = Buffer.alloc(9);
    head.writeUInt8(table, 0);
    head.writeUInt32BE(key.length, 1);
    head.writeUInt32BE(value.length, 5);
    if (!out.write(Buffer.concat([head, key, value]))) await new Promise((r) => out.once('drain', r));
  };
  for (let t = 0; t < INDEX_TABLES.length; t++) {
    const [name, kind] = INDEX_TABLES[t]!;
    let n = 0;
    for (const { key, value } of dbs[t]!.getRange({})) {
      const k = kind === 'uint32' ? Buffer.alloc(4) : Buffer.from(key as Buffer);
      if (kind === 'uint32') k.writeUInt32BE(key as number, 0);
      await send(t, k, Buffer.from(value as Buffer));
      n++;
    }
    counts[name] = n;
  }
  await send(END, Buffer.alloc(0), Buffer.from(JSON.stringify(counts)));
  await new Promise<void>((r) => out.end(r));
  await env.close();
}

async function writeSide(file: string): Promise<void> {
  if (fs.existsSync(file)) throw new Error(`${file} exists already`);
  const { env, dbs } = await openIndex(file, false);
  const counts: Counts = Object.fromEntries(INDEX_TABLES.map(([n]) => [n, 0]));
  let pending: Array<[number, Buffer, Buffer]> = [];
  let pendingBytes = 0;
  const flush = async () => {
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    if (!batch.length) return;
    await env.transaction(() => {
      for (const [t, k, v] of batch) dbs[t]!.putSync(INDEX_TABLES[t]![1] === 'uint32' ? k.readUInt32BE(0) : k, v);
    });
  };
  let buf: Buffer = Buffer.alloc(0);
  let expected: Counts | undefined;
  for await (const chunk of process.stdin) {
    buf = buf.length ? Buffer.concat([buf, chunk as Buffer]) : (chunk as Buffer);
    let at = 0;
    while (buf.length - at >= 9) {
      const t = buf.readUInt8(at);
      const kl = buf.readUInt32BE(at + 1);
      const vl = buf.readUInt32BE(at + 5);
      if (buf.length - at < 9 + kl + vl) break;
      const k = Buffer.from(buf.subarray(at + 9, at + 9 + kl));
      const v = Buffer.from(buf.subarray(at + 9 + kl, at + 9 + kl + vl));
      at += 9 + kl + vl;
      if (t === END) { expected = JSON.parse(v.toString()) as Counts; continue; }
      if (!INDEX_TABLES[t]) throw new Error(`bad frame: table ${t}`);
      pending.push([t, k, v]);
      pendingBytes += kl + vl + 64;
      counts[INDEX_TABLES[t]![0]]!++;
      if (pendingBytes > BATCH_BYTES) await flush();
    }
    buf = buf.subarray(at);
  }
  await flush();
  if (!expected) throw new Error('the reader stopped before the end of the index');
  for (const [name] of INDEX_TABLES) {
    if (counts[name] !== expected[name]) throw new Error(`table ${name}: ${counts[name]} entries written, ${expected[name]} read`);
  }
  await new Promise<void>((resolve, reject) => (env as unknown as { sync(cb: (e?: unknown) => void): void }).sync((e) => (e ? reject(e) : resolve())));
  await env.close();
  process.stdout.write(JSON.stringify(counts));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [role, file] = process.argv.slice(2);
  (role === 'read' ? readSide(file!) : role === 'write' ? writeSide(file!) : Promise.reject(new Error(`unknown role ${role}`)))
    .catch((e: unknown) => {
      process.stderr.write(`${(e as Error)?.message ?? String(e)}\n`);
      process.exit(1);
    });
}
