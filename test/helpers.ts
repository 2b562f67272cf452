// Test helpers: temporary directories, a temporary engine, and running the
// real `strata` CLI as a child process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../src/engine/open.js';
import type { Engine } from '../src/engine/types.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(REPO, 'bin', 'strata.js');

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = 'strata-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Opens a fresh, empty engine: LMDB in a temporary directory, or with
 * STRATA_TEST_ENGINE=postgres a new database on the test PostgreSQL server
 * (bulk bytes in a temporary extent directory), so library suites run on both.
 */
export async function tempEngine(): Promise<{ engine: Engine; url: string }> {
  if (process.env['STRATA_TEST_ENGINE'] === 'postgres') {
    const { freshPgDatabase } = await import('./pg-server.js');
    const url = await freshPgDatabase(`data=${encodeURIComponent(tempDir('strata-pgdata-'))}`);
    return { engine: await openEngine(url), url };
  }
  const url = `lmdb:${tempDir('strata-engine-')}`;
  return { engine: await openEngine(url), url };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `strata <args>`; env is merged over process.env. */
export function runCli(args: string[], opts: { env?: Record<string, string>; input?: string | Buffer; uid?: number; gid?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      uid: opts.uid,
      gid: opts.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(opts.input ?? '');
  });
}
