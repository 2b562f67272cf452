// Snapshots created, read and destroyed by several processes while others
// overwrite: every read at a snapshot must give what the model (the writers'
// commits, by epoch) says that snapshot holds, whichever process's destroy
// reclaims meanwhile. On LMDB and PostgreSQL, about 8 s each.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../../src/engine/open.js';
import { tempDir } from '../helpers.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'snapshot-stress-worker.js');
const WRITERS = 2;
const SNAPPERS = 3;
const OBJS = 6;
const MS = Number(process.env['STRATA_SNAPSHOT_STRESS_MS'] ?? 8000) || 8000;
const BIG = 20000;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type Read = [number, number, string | null, number];

async function stress(url: string): Promise<void> {
  const cont = randomUUID();
  const common = (role: string, id: number) => [role, url, cont, String(id), String(WRITERS), String(OBJS), String(MS)];
  const results = await Promise.all([
    ...Array.from({ length: WRITERS }, (_, i) => run(common('writer', i))),
    ...Array.from({ length: SNAPPERS }, (_, i) => run(common('snapper', i))),
  ]);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  // The model: per object, its versions by epoch.
  const versions = new Map<string, Array<{ e: number; v: string; f: number }>>();
  for (const r of results.slice(0, WRITERS)) {
    for (const line of r.stdout.trim().split('\n').filter(Boolean)) {
      const c = JSON.parse(line) as { w: number; o: number; e: number; v: string; f: number };
      const key = `${c.w}/${c.o}`;
      if (!versions.has(key)) versions.set(key, []);
      versions.get(key)!.push(c);
    }
  }
  const expect = (w: number, o: number, epoch: number): { v: string | null; f: number } => {
    let best: { e: number; v: string; f: number } | undefined;
    for (const c of versions.get(`${w}/${o}`) ?? []) if (c.e <= epoch && (!best || c.e > best.e)) best = c;
    return best ? { v: best.v, f: best.f } : { v: null, f: 0 };
  };
  const wrong: string[] = [];
  const check = (epoch: number, reads: Read[], who: string) => {
    for (const [w, o, v, f] of reads) {
      const want = expect(w, o, epoch);
      if (v !== want.v || f !== want.f) wrong.push(`${who} at snapshot ${epoch}: object ${w}/${o} read ${v}/${f}, the model says ${want.v}/${want.f}`);
    }
  };
  let snapshots = 0;
  const kept: number[] = [];
  for (const r of results.slice(WRITERS)) {
    for (const line of r.stdout.trim().split('\n').filter(Boolean)) {
      const x = JSON.parse(line) as { s?: number; reads?: Read[]; kept?: number[] };
      if (x.kept) kept.push(...x.kept);
      else { snapshots++; check(x.s!, x.reads!, 'a snapper'); }
    }
  }
  // The snapshots left, and the latest state, read afresh.
  const engine = await openEngine(url);
  try {
    let latest = 0;
    for (const list of versions.values()) for (const c of list) latest = Math.max(latest, c.e);
    for (const s of [...kept, latest]) {
      const reads: Read[] = [];
      for (let w = 0; w < WRITERS; w++) {
        for (let o = 0; o < OBJS; o++) {
          const oid = Buffer.alloc(16); oid.writeUInt32BE(w * 1000 + o, 12);
          const v = await engine.get({ cont, oid, dkey: Buffer.from('d'), akey: Buffer.from('v') }, s);
          const a = Buffer.from(await engine.read({ cont, oid, dkey: Buffer.from('d'), akey: Buffer.from('arr') }, 0, BIG, s));
          reads.push([w, o, v === undefined ? null : Buffer.from(v).toString(), a.every((b) => b === a[0]) ? a[0]! : -1]);
        }
      }
      check(s, reads, 'the final check');
    }
  } finally {
    await engine.close();
  }
  assert.ok(snapshots > 10 && versions.size > 0, `the stress ran (${snapshots} snapshot reads)`);
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} wrong reads of ${snapshots} snapshot reads`);
}

describe('snapshot stress: snapshots created, read and destroyed by several processes while others overwrite', () => {
  it('lmdb', async () => { await stress(`lmdb:${tempDir('strata-stress-')}`); });
  const why = pgUnavailableReason();
  if (why && process.env['CI']) it('postgres', () => { throw new Error(`cannot run the PostgreSQL engine tests: ${why}`); });
  else if (!why) it('postgres (bulk bytes in extent files)', async () => { await stress(await freshPgDatabase(`data=${encodeURIComponent(tempDir('strata-pgdata-'))}`)); });
});
