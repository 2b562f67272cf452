// Shared setup of the queued parking tests (`--queue`, `strata worker`): a
// fresh PostgreSQL database as the engine, and real CLI processes started in
// the background, every one of them killed when the test file ends.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, runCli, tempDir, type CliResult } from '../helpers.js';
import { freshPgDatabase } from '../pg-server.js';

const procs = new Set<ChildProcess>();
/** SIGKILLs every process started() that is still running. */
export const killStarted = (): void => { for (const c of procs) { try { c.kill('SIGKILL'); } catch { /* gone */ } } };
after(killStarted);
process.on('exit', killStarted);

export interface Started { child: ChildProcess; result: Promise<CliResult>; exited: () => boolean }

/** `strata ARGS` in the background; result: its exit (code 128 when killed by a signal) and output. */
export function started(args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  let ended = false;
  const result = new Promise<CliResult>((resolve) => child.on('close', (code, sig) => {
    ended = true;
    procs.delete(child);
    resolve({ code: code ?? (sig ? 128 : -1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
  }));
  return { child, result, exited: () => ended };
}

/** A fresh database on the test PostgreSQL server as the engine, a temporary home, and `ok` (runs strata, asserts exit 0, returns stdout). */
export async function queueEnv(prefix: string): Promise<{ url: string; home: string; env: Record<string, string>; ok: (args: string[]) => Promise<string> }> {
  const url = await freshPgDatabase();
  const home = tempDir(prefix);
  const env = { STRATA_ENGINE: url, STRATA_HOME: path.join(home, 'unused') };
  const ok = async (args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  return { url, home, env, ok };
}
