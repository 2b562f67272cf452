// An extent file whose writer is alive is never collected, whatever its row
// says; once the writer is dead it is. The writer runs in another PID
// namespace (its pid there means another process here, or none), or writes a
// pid that is not alive here in its row. Collecting a live writer's file
// would lose what it appends next; never collecting a dead one's leaks it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../../src/engine/open.js';
import { tempDir } from '../helpers.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dead-writer-worker.js');
const noUnshare = spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true']).status === 0 ? false : 'unshare -p (a new PID namespace) is not available here (needs root)';
/** A pid no process has here (above the default pid_max of 4194304 is impossible; this one is unused in a test machine). */
const DEAD_PID = 4194000;

async function check(url: string, extents: string, how: 'fake-pid' | 'pid-namespace'): Promise<void> {
  const cont = randomUUID();
  const args = how === 'fake-pid'
    ? [process.execPath, [WORKER, url, cont, String(DEAD_PID)]] as const
    : ['unshare', ['-p', '-f', '--mount-proc', '--kill-child', process.execPath, WORKER, url, cont]] as const;
  const child = spawn(args[0], [...args[1]], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d; });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; if (out.includes('ready\n')) resolve(); });
    void exited.then(() => reject(new Error(`the writer exited early: ${err}`)));
  });
  const files = () => fs.readdirSync(extents).filter((n) => /^\d+\.ext$/.test(n));
  const [file] = files();
  assert.ok(file, 'the writer made an extent file');
  const engine = await openEngine(url);
  try {
    const row = (await (engine as unknown as { listFiles(): Promise<Array<{ no: number; pid: number; sealed: boolean; live: number }>> }).listFiles())
      .find((f) => f.no === Number(file.slice(0, 8)));
    assert.deepEqual({ sealed: row?.sealed, live: row?.live }, { sealed: false, live: 0 }, 'an unsealed file without live bytes');
    if (how === 'fake-pid') assert.equal(row!.pid, DEAD_PID);
    // A reclaim ends by collecting the extent files nothing points into.
    await engine.reclaim(randomUUID());
    assert.ok(files().includes(file), 'the file of a live writer stays');
    child.stdin.write('exit\n');
    await exited;
    await groupGone(child.pid!);
    await engine.reclaim(randomUUID());
    assert.ok(!files().includes(file), "the dead writer's file is collected");
    assert.equal((await (engine as unknown as { listFiles(): Promise<Array<{ no: number }>> }).listFiles()).some((f) => f.no === Number(file.slice(0, 8))), false, 'and its row');
  } finally {
    child.kill('SIGKILL');
    await engine.close();
  }
}

/**
 * Waits until no process of the writer's process group is left: the writer
 * and what runs it (unshare, for another PID namespace).
 */
async function groupGone(pgid: number): Promise<void> {
  for (;;) {
    try { process.kill(-pgid, 0); } catch { return; }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A writer dies leaving its file unsealed with half its bytes dead: compaction may take it only then. */
async function checkCompaction(url: string, extents: string): Promise<void> {
  const cont = randomUUID();
  const child = spawn(process.execPath, [WORKER, url, cont, '', 'half'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d; });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; if (out.includes('ready\n')) resolve(); });
    void exited.then(() => reject(new Error(`the writer exited early: ${err}`)));
  });
  const files = () => fs.readdirSync(extents).filter((n) => /^\d+\.ext$/.test(n));
  const [file] = files();
  assert.ok(file, 'the writer made an extent file');
  const k = { cont, oid: Buffer.alloc(16, 3), dkey: Buffer.from('d'), akey: Buffer.from('arr') };
  const engine = await openEngine(url);
  try {
    await engine.reclaim(randomUUID());
    assert.deepEqual(files(), [file], 'the file of a live writer is neither compacted nor collected');
    child.stdin.write('exit\n');
    await exited;
    await groupGone(child.pid!);
    await engine.reclaim(randomUUID());
    assert.ok(!files().includes(file), "the dead writer's file was sealed for it, compacted and deleted");
    assert.deepEqual(Buffer.from(await engine.read(k, 0, 200000)), Buffer.concat([Buffer.alloc(100000, 9), Buffer.alloc(100000)]), 'its live bytes moved');
    assert.deepEqual((await engine.check()).problems, []);
  } finally {
    child.kill('SIGKILL');
    await engine.close();
  }
}

function suite(name: string, make: () => Promise<{ url: string; extents: string }>): void {
  describe(`dead writers: ${name}`, () => {
    it('a writer whose row names a pid not alive here keeps its file while it lives; dead, its file is collected', async () => {
      const { url, extents } = await make();
      await check(url, extents, 'fake-pid');
    });
    it('a writer in another PID namespace keeps its file while it lives; dead, its file is collected', { skip: noUnshare }, async () => {
      const { url, extents } = await make();
      await check(url, extents, 'pid-namespace');
    });
    it("a dead writer's unsealed file with dead bytes is sealed for it and compacted; a live writer's is left alone", async () => {
      const { url, extents } = await make();
      await checkCompaction(url, extents);
    });
  });
}

suite('lmdb', async () => { const home = tempDir('strata-dead-'); return { url: `lmdb:${home}`, extents: path.join(home, 'extents') }; });
const why = pgUnavailableReason();
if (!why) {
  suite('postgres (extent files)', async () => {
    const dir = tempDir('strata-pgdata-');
    return { url: await freshPgDatabase(`data=${encodeURIComponent(dir)}`), extents: dir };
  });
} else if (process.env['CI']) {
  describe('dead writers: postgres', () => { it('needs a PostgreSQL server', () => { throw new Error(`cannot run the PostgreSQL engine tests: ${why}`); }); });
}
