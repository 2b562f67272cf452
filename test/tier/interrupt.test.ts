// Ctrl-C during `tier archive`: a real SIGINT mid-copy exits 130 with one
// line saying it was interrupted and how to go on; then `tier recover` rolls
// it back (the directory as it was, no container) or the same command
// finishes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers.js';
import { ok, tierEnv, statList, sh, hiddenSiblings } from './util.js';

const { home, env } = tierEnv('intr');
const ws = path.join(home, 'ws');
fs.mkdirSync(ws);
const conts = async () => (JSON.parse(await ok(env, 'cont', 'list', 'tank', '--json')) as unknown[]).length;

function tree(name: string): { dir: string; kept: string } {
  const dir = path.join(ws, name);
  fs.mkdirSync(dir);
  for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(256 * 1024, i % 251 + 1));
  const kept = path.join(home, `kept-${name}`);
  sh(`cp -a '${dir}' '${kept}'`);
  return { dir, kept };
}

/** `tier archive dir`, sent SIGINT once its journal exists and the engine has grown (the copy is under way). */
function archiveInterrupted(dir: string): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'tier', 'archive', dir], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const tierDir = path.join(env['STRATA_HOME']!, 'tier');
    const timer = setInterval(() => {
      let journals: string[] = [];
      try { journals = fs.readdirSync(tierDir).filter((n) => n.endsWith('.json')); } catch { return; }
      const grown = Number(sh(`du -sb '${env['STRATA_HOME']}' | cut -f1`)) > 20 << 20;
      if (journals.length && grown) { clearInterval(timer); child.kill('SIGINT'); }
    }, 20);
    child.on('close', (code, signal) => { clearInterval(timer); resolve({ code, signal, stderr }); });
    child.on('error', reject);
  });
}

test('SIGINT during tier archive: one line naming recover, exit 130; recover rolls back, the same command finishes', async () => {
  await ok(env, 'pool', 'create', 'tank');
  const { dir, kept } = tree('big');
  const r = await archiveInterrupted(dir);
  assert.equal(r.code, 130, `exit ${r.code} ${r.signal}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^strata: tier archive of ${dir} interrupted: run the same command again to continue it, or 'strata tier recover ${dir}'`));
  await ok(env, 'tier', 'recover', dir);
  assert.equal(statList(dir), statList(kept));
  assert.deepEqual(hiddenSiblings(dir), []);
  assert.equal(await conts(), 0);
  // interrupted again, then the same command continues it
  const r2 = await archiveInterrupted(dir);
  assert.equal(r2.code, 130, r2.stderr);
  await ok(env, 'tier', 'archive', dir);
  assert.equal(sh(`getfattr --only-values -n user.daos '${dir}' | head -c 13`), 'DAOS.POSIX://');
  assert.equal(await conts(), 1);
});
