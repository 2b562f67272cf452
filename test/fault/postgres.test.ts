// PostgreSQL restarted (fast shutdown: every connection cut) in the middle of
// `fs copy` into a PostgreSQL engine: the copy either goes on or stops with a
// clear error (never hangs), pool check passes, and `--resume` completes an
// identical copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers.js';
import { freshPgDatabase, pgUnavailableReason, restartPgServer } from '../pg-server.js';
import { spawnCli } from '../crash/util.js';
import { inject, makeSource, reportFaults } from './util.js';

const why = pgUnavailableReason();

test('PostgreSQL restarted during fs copy: clear outcome, --resume completes', { skip: why ?? (process.env['STRATA_TEST_PG'] ? 'the server is not ours to restart (STRATA_TEST_PG)' : false), timeout: 300000 }, async () => {
  const home = tempDir('strata-fault-pg-');
  const url = await freshPgDatabase(`data=${encodeURIComponent(path.join(home, 'data'))}`);
  const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: url };
  const src = path.join(home, 'src');
  makeSource(src, { dirs: 6, files: 60, big: 200000 });
  const run = async (args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  await run(['pool', 'create', 'tank']);
  for (let round = 0; round < 2; round++) {
    const dst = `daos://tank/c${round}`;
    const p = spawnCli(['fs', 'copy', '--src', src, '--dst', dst, '-q'], env);
    // Restart once some files are done.
    const jdir = path.join(env.STRATA_HOME, 'mover');
    let restarted = false;
    for (let i = 0; i < 6000 && !restarted && p.child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const j = fs.existsSync(jdir) ? fs.readdirSync(jdir).find((n) => n.endsWith('.journal')) : undefined;
      if (j && fs.readFileSync(path.join(jdir, j), 'utf8').split('\n').length > 20 * (round + 1)) { restartPgServer(); restarted = true; inject(); }
    }
    assert.ok(restarted, `the copy was still running at the restart: ${p.out()}`);
    const hang = setTimeout(() => p.child.kill('SIGKILL'), 120000);
    const code = await p.exited;
    clearTimeout(hang);
    assert.notEqual(code, null, `the copy hung after the restart: ${p.out()}`);
    if (code !== 0) assert.match(p.out(), /^strata: .*(connection|terminat|ECONN|shut)/im, p.out());
    const chk = await runCli(['pool', 'check'], { env });
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    const r = await run(['fs', 'copy', '--src', src, '--dst', dst, '--resume', '--json']);
    assert.equal(JSON.parse(r.stdout).errors, 0);
    const cmp = await runCli(['fs', 'compare', src, dst], { env });
    assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
    process.stderr.write(`# fault postgres restart ${round}: copy exit ${code}${code ? `: ${p.out().split('\n').find((l) => l.startsWith('strata:'))}` : ''}\n`);
  }
  reportFaults('postgres');
});
