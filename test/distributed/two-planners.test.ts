// Two coordinators (planners of fs copy --queue) for the same destination:
// while the first lives, the second is refused in one line, however the
// destination is spelled (through a symlink to the same directory; a
// container by label or by UUID). No workers run: the first planner plans and
// waits, alive; every process is killed at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, type CliResult } from '../helpers.js';
import { pgUnavailableReason } from '../pg-server.js';
import { killStarted, queueEnv, started } from '../park/queued.js';
import { openWorkQueue } from '../../src/engine/open.js';

const skip = pgUnavailableReason();

/** Resolves p, or rejects after ms (the caller's finally kills what is left). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no result after ${ms / 1000} s`)), ms); })]).finally(() => clearTimeout(t));
}

/** Waits (bounded) until a job is planned and waiting for workers. */
async function planned(url: string): Promise<void> {
  const q = await openWorkQueue(url);
  try {
    const t0 = Date.now();
    while (!(await q.openJobs(3600)).some((j) => j.status === 'planned')) {
      if (Date.now() - t0 > 60_000) throw new Error('the first planner never planned');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await q.close();
  }
}

function refused(r: CliResult): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^strata: another planner is running on the same destination/m);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
}

async function setup() {
  const e = await queueEnv('strata-two-planners-');
  const src = path.join(e.home, 'src');
  fs.mkdirSync(path.join(src, 'd'), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, 'd', `f${i}`), `file ${i}\n`);
  await e.ok(['pool', 'create', 'tank']);
  return { ...e, src };
}

test('a second planner on the same POSIX destination reached through a symlink is refused', { skip, timeout: 120_000 }, async () => {
  const { url, home, env, src } = await setup();
  const out = path.join(home, 'out');
  fs.mkdirSync(out);
  fs.symlinkSync(out, path.join(home, 'out-link'));
  try {
    const first = started(['fs', 'copy', '--queue', '--src', src, '--dst', out, '-q'], env);
    await planned(url);
    refused(await within(started(['fs', 'copy', '--queue', '--src', src, '--dst', path.join(home, 'out-link')], env).result, 60_000, 'second planner'));
    // And spelled with dots.
    refused(await within(started(['fs', 'copy', '--queue', '--src', src, '--dst', `${home}/./out/../out/`], env).result, 60_000, 'third planner'));
    assert.equal(first.exited(), false, 'the first planner is still waiting for workers');
  } finally {
    killStarted();
  }
});

test('a second planner on the same container destination, by label and by UUID, is refused', { skip, timeout: 120_000 }, async () => {
  const { url, env, src, ok } = await setup();
  await ok(['container', 'create', 'tank', 'dist', '--type', 'POSIX']);
  const info = JSON.parse(await ok(['container', 'query', 'tank', 'dist', '--json'])) as { uuid: string; poolUuid?: string; pool?: string };
  const pool = JSON.parse(await ok(['pool', 'query', 'tank', '--json'])) as { uuid: string };
  try {
    started(['fs', 'copy', '--queue', '--src', src, '--dst', 'daos://tank/dist', '-q'], env);
    await planned(url);
    const r: CliResult = await within(runCli(['fs', 'copy', '--queue', '--src', src, '--dst', `/${pool.uuid}/${info.uuid}`], { env }), 60_000, 'second planner');
    refused(r);
  } finally {
    killStarted();
  }
});

test('a second planner on a destination inside the first one\'s, or around it, is refused', { skip, timeout: 180_000 }, async () => {
  // Two copies into trees that overlap would write the same files from two jobs.
  const { url, home, env, src } = await setup();
  const out = path.join(home, 'out');
  fs.mkdirSync(path.join(out, 'src', 'deeper'), { recursive: true });
  try {
    // The first copies src into out: its root is out/src.
    const first = started(['fs', 'copy', '--queue', '--src', src, '--dst', out, '-q'], env);
    await planned(url);
    const overlapping = (r: CliResult) => {
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^strata: another planner is running on an overlapping destination/m);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    };
    // Inside: a copy into out/src/deeper (its root out/src/deeper/src is inside out/src).
    overlapping(await within(started(['fs', 'copy', '--queue', '--src', src, '--dst', path.join(out, 'src', 'deeper')], env).result, 60_000, 'inside'));
    // Around: a copy of a directory named like the first's parent, onto home (its root home/out contains out/src).
    const around = path.join(home, 'around', 'out');
    fs.mkdirSync(around, { recursive: true });
    overlapping(await within(started(['fs', 'copy', '--queue', '--src', around, '--dst', home], env).result, 60_000, 'around'));
    // A sibling is no overlap: out/other is planned beside the first.
    const sib = path.join(home, 'sib', 'other');
    fs.mkdirSync(sib, { recursive: true });
    fs.writeFileSync(path.join(sib, 'f'), 'x');
    const third = started(['fs', 'copy', '--queue', '--src', sib, '--dst', out, '-q'], env);
    const q = await openWorkQueue(url);
    try {
      const t0 = Date.now();
      while ((await q.openJobs(3600)).filter((j) => j.status === 'planned').length < 2) {
        if (third.exited()) throw new Error('the sibling planner ended: ' + String(await third.result.then((r) => r.stderr)));
        if (Date.now() - t0 > 60_000) throw new Error('the sibling planner never planned');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await q.close();
    }
    assert.equal(first.exited(), false, 'the first planner is still waiting for workers');
  } finally {
    killStarted();
  }
});
