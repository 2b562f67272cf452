// `strata pool check`, engine part: verifies the invariants the engine relies
// on, with bounded memory (records are scanned a page at a time):
//   - every record key parses and every value decodes;
//   - every extent-file record points inside an extent file that exists and has
//     a row in the file table, and the reverse index points back at it;
//   - each file row's live byte count equals the bytes records reference;
//   - no extent file on disk lacks a row (an orphan left by a crash between
//     dropping a row and unlinking its file);
//   - no reverse-index entry points at a record that no longer refers to it.
// With repair, the counts, the reverse index and orphan files are fixed; a
// record pointing at missing bytes is reported, never silently dropped.
import fs from 'node:fs';
import path from 'node:path';
import type { Gen, KV, Req } from './core.js';
import { fileKey } from './core.js';
import { parseKey } from './keys.js';
import { decodeRecord } from './records.js';

export interface EngineCheckReport {
  records: number;
  fileExtents: number;
  extentFiles: number;
  /** Invariant violations found (each one line, naming what is wrong). */
  problems: string[];
  /** What repair changed. */
  repaired: string[];
}

export interface CheckAccess {
  runRead<T>(g: Gen<T>): Promise<T>;
  runWrite<T>(g: Gen<T>): Promise<T>;
  listFiles(): Promise<Array<{ no: number; live: number }>>;
  /** Directory of extent files and the files this process still appends to, if the engine keeps any. */
  extentDir?: string;
  filePath?: (no: number) => string;
  activeFiles?: () => number[];
}

const PAGE = 5000;
const END = Buffer.alloc(64, 0xff);

function* page(tbl: 'records' | 'byfile', start: Buffer): Gen<KV[]> {
  const res = (yield { t: 'ranges', ranges: [{ tbl, start, end: END, limit: PAGE }] } as Req) as KV[][];
  return res[0]!;
}

function after(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

export async function checkEngine(a: CheckAccess, opts: { repair?: boolean } = {}): Promise<EngineCheckReport> {
  const problems: string[] = [];
  const repaired: string[] = [];
  const rows = new Map((await a.listFiles()).map((f) => [f.no, f]));
  const sizes = new Map<number, number>();
  for (const no of rows.keys()) {
    if (!a.filePath) break;
    try { sizes.set(no, fs.statSync(a.filePath(no)).size); } catch { /* missing: reported when referenced */ }
  }
  const referenced = new Map<number, number>();
  const missingReverse: Buffer[] = [];
  let records = 0;
  let fileExtents = 0;
  let from: Buffer = Buffer.alloc(0);
  for (;;) {
    const kvs = await a.runRead(page('records', from));
    for (const { key, value } of kvs) {
      records++;
      const where = `record ${key.toString('hex').slice(0, 80)}`;
      try { parseKey(key); } catch { problems.push(`${where}: key does not parse`); continue; }
      let v;
      try { v = decodeRecord(value); } catch { problems.push(`${where}: value does not decode`); continue; }
      if (v.t !== 'file') continue;
      fileExtents++;
      referenced.set(v.file, (referenced.get(v.file) ?? 0) + v.len);
      if (!rows.has(v.file)) problems.push(`${where}: points at extent file ${v.file}, which has no entry in the file table`);
      const size = sizes.get(v.file);
      if (a.filePath && size === undefined) problems.push(`${where}: extent file ${a.filePath(v.file)} is missing`);
      else if (size !== undefined && v.pos + v.len > size) problems.push(`${where}: extent [${v.pos}, ${v.pos + v.len}) lies past the end of extent file ${v.file} (${size} bytes)`);
      const back = await a.runRead((function* () {
        return (yield { t: 'ranges', ranges: [{ tbl: 'byfile', start: fileKey(v.file, v.pos), end: fileKey(v.file, v.pos + 1) }] } as Req) as KV[][];
      })());
      const rev = back[0]![0];
      if (!rev || !Buffer.from(rev.value).equals(key)) { problems.push(`${where}: reverse index entry for file ${v.file} at ${v.pos} is missing`); missingReverse.push(Buffer.concat([fileKey(v.file, v.pos), key])); }
    }
    if (kvs.length < PAGE) break;
    from = after(kvs[kvs.length - 1]!.key);
  }
  // Reverse index entries whose record is gone or points elsewhere.
  const staleReverse: Buffer[] = [];
  from = Buffer.alloc(0);
  for (;;) {
    const kvs = await a.runRead(page('byfile', from));
    for (const { key, value } of kvs) {
      const raw = await a.runRead((function* () { return (yield { t: 'get', key: Buffer.from(value) } as Req) as Buffer | undefined; })());
      const v = raw && (() => { try { return decodeRecord(raw); } catch { return undefined; } })();
      const k = Buffer.from(key);
      if (!v || v.t !== 'file' || v.file !== k.readUInt32BE(0) || v.pos !== Number(k.readBigUInt64BE(4))) {
        problems.push(`reverse index entry file ${k.readUInt32BE(0)} at ${Number(k.readBigUInt64BE(4))} points at a record that no longer refers to it`);
        staleReverse.push(k);
      }
    }
    if (kvs.length < PAGE) break;
    from = after(kvs[kvs.length - 1]!.key);
  }
  const liveFixes: Array<{ file: number; delta: number }> = [];
  for (const [no, row] of rows) {
    const want = referenced.get(no) ?? 0;
    if (row.live !== want) {
      problems.push(`extent file ${no}: file table counts ${row.live} live bytes, records reference ${want}`);
      liveFixes.push({ file: no, delta: want - row.live });
    }
  }
  const orphans: string[] = [];
  if (a.extentDir) {
    const active = new Set(a.activeFiles?.() ?? []);
    for (const name of fs.readdirSync(a.extentDir)) {
      const m = /^(\d+)\.ext$/.exec(name);
      if (!m) continue;
      const no = Number(m[1]);
      if (!rows.has(no) && !active.has(no)) { problems.push(`extent file ${name} has no entry in the file table (orphan)`); orphans.push(path.join(a.extentDir, name)); }
    }
  }
  if (opts.repair && (liveFixes.length || staleReverse.length || missingReverse.length)) {
    await a.runWrite((function* () {
      yield { t: 'lock' } as Req;
      for (const f of liveFixes) yield { t: 'live', file: f.file, delta: f.delta } as Req;
      for (const k of staleReverse) yield { t: 'del', tbl: 'byfile', key: k } as Req;
      for (const m of missingReverse) yield { t: 'put', tbl: 'byfile', key: m.subarray(0, 12), value: m.subarray(12) } as Req;
    })());
    if (liveFixes.length) repaired.push(`fixed live byte counts of ${liveFixes.length} extent file(s)`);
    if (staleReverse.length) repaired.push(`removed ${staleReverse.length} stale reverse index entries`);
    if (missingReverse.length) repaired.push(`restored ${missingReverse.length} reverse index entries`);
  }
  if (opts.repair) for (const f of orphans) { fs.rmSync(f, { force: true }); repaired.push(`removed orphan extent file ${f}`); }
  return { records, fileExtents, extentFiles: rows.size, problems, repaired };
}
