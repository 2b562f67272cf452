// The resume journal's trust rules: which finished items a resumed copy may
// skip after the process was killed (all) or the machine restarted (only
// those flushed to disk before, for a POSIX destination).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal, readJournal, type JournalHeader } from '../../src/mover/journal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-journal-'));
let n = 0;

function journal(kind: 'posix' | 'container', lines: string[], boots = true): string {
  const header: JournalHeader = {
    version: 1, src: '/src', dst: '/dst', startedAt: new Date(0).toISOString(),
    dstRoot: kind === 'posix' ? { kind, path: '/dst' } : { kind, pool: 'p', cont: 'c', path: '/' },
  };
  const file = path.join(dir, `j${n++}.journal`);
  const body = lines.filter((l) => boots || !l.startsWith('B '));
  fs.writeFileSync(file, [JSON.stringify(header), ...body].join('\n') + '\n');
  return file;
}

const D = (p: string) => `D ${JSON.stringify(p)}`;
const C = (p: string) => `C ${JSON.stringify(p)}`;
const F = (p: string) => `F ${JSON.stringify(p)}`;
const B = (id: string) => `B ${JSON.stringify(id)}`;

async function state(file: string, boot: string): Promise<{ done: string[]; failed: string[]; mark?: string; distrusted: number }> {
  const r = (await readJournal(file, boot))!;
  return { done: [...r.done].sort(), failed: [...r.failed].sort(), mark: r.mark, distrusted: r.distrusted };
}

test('same boot: every finished item is trusted (a killed process loses nothing the kernel holds)', async () => {
  const f = journal('posix', [B('A'), D('a/1'), 'P', D('a/2'), 'S', D('a/3'), F('a/4')]);
  assert.deepEqual(await state(f, 'A'), { done: ['a/1', 'a/2', 'a/3'], failed: ['a/4'], mark: undefined, distrusted: 0 });
});

test('after a restart only what was written before the last completed flush is trusted', async () => {
  // a/2 came after the flush started: not covered by it.
  const f = journal('posix', [B('A'), D('a/1'), 'P', D('a/2'), 'S', D('a/3'), F('a/4')]);
  assert.deepEqual(await state(f, 'C'), { done: ['a/1'], failed: [], mark: undefined, distrusted: 3 });
  // A flush that never completed covers nothing.
  const g = journal('posix', [B('A'), C('a/1'), 'P', D('a/3')]);
  assert.deepEqual(await state(g, 'C'), { done: [], failed: [], mark: undefined, distrusted: 2 });
});

test('a restart between two runs voids the first run\'s unflushed tail, also for later readers of the same boot', async () => {
  const lines = [B('A'), C('a/1'), 'P', 'S', D('a/3'), B('C'), C('a/2'), D('a/5')];
  const f = journal('posix', lines);
  // Read in boot C: a/3 (boot A, after the flush) is gone; the run in boot C is trusted.
  assert.deepEqual(await state(f, 'C'), { done: ['a/5'], failed: [], mark: 'a/2', distrusted: 1 });
  // Read after yet another restart: only the flushed part of boot A.
  assert.deepEqual(await state(f, 'D'), { done: [], failed: [], mark: 'a/1', distrusted: 3 });
});

test('into a container every event follows a durable commit: trusted after a restart too', async () => {
  const f = journal('container', [B('A'), C('a/1'), D('a/3'), B('C'), D('a/5')]);
  assert.deepEqual(await state(f, 'D'), { done: ['a/3', 'a/5'], failed: [], mark: 'a/1', distrusted: 0 });
});

test('a journal without boot lines (an older strata) is trusted whole', async () => {
  const f = journal('posix', [B('A'), C('a/1'), D('a/3')], false);
  assert.deepEqual(await state(f, 'D'), { done: ['a/3'], failed: [], mark: 'a/1', distrusted: 0 });
});

test('events written in batches: the file holds every event in order once the run ends, interrupted or failed', async () => {
  const header: JournalHeader = { version: 1, src: '/src', dst: '/dst', startedAt: new Date(0).toISOString(), dstRoot: { kind: 'container', pool: 'p', cont: 'c', path: '/' } };
  const file = path.join(dir, `j${n++}.journal`);
  const j = new Journal(file, header, undefined);
  // 3000 items: several batches by size; the last ones still waiting when the run stops.
  for (let i = 0; i < 3000; i++) j.begin(`d/f${String(i).padStart(5, '0')}`, i);
  for (let i = 0; i < 3000; i++) if (i !== 7) j.finish(i, i !== 42);
  j.begin('d/late', 3000);
  j.finish(3000, true);
  await j.close(false);
  const r = (await readJournal(file, 'x'))!;
  // Item 7 never finished: the mark stops before it; items after it are done ahead, 42 failed.
  assert.equal(r.mark, 'd/f00006');
  assert.ok(r.failed.has('d/f00042'));
  assert.equal(r.done.size, 3000 - 7 - 1 - 1 + 1);
  assert.ok(r.done.has('d/late') && r.done.has('d/f02999') && !r.done.has('d/f00042'));
});
