// Crash-suite helpers: a seeded random stream (STRATA_CRASH_SEED replays a
// run, STRATA_CRASH_ROUNDS multiplies the kill points), killing a CLI child
// with SIGKILL after a random delay, and `strata pool check` (engine + DFS) run
// in-process after every kill.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, runCli, tempDir, type CliResult } from '../helpers.js';
import { openEngine } from '../../src/engine/open.js';
import { catalogKeys } from '../../src/container/index.js';
import { checkDfs } from '../../src/dfs/index.js';
import { rng } from '../rng.js';

export const SEED = process.env['STRATA_CRASH_SEED'] ? Number(process.env['STRATA_CRASH_SEED']) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
export const ROUNDS = Math.max(1, Number(process.env['STRATA_CRASH_ROUNDS'] ?? 1) || 1);


/** The random stream of one suite file: SEED mixed with its name, announced on stderr. */
export function suiteRng(name: string): ReturnType<typeof rng> {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  process.stderr.write(`# crash ${name}: STRATA_CRASH_SEED=${SEED} (rounds ${ROUNDS})\n`);
  return rng((SEED ^ h) >>> 0);
}

export function crashEnv(name: string): { home: string; env: Record<string, string> } {
  const home = tempDir(`strata-crash-${name}-`);
  fs.chmodSync(home, 0o755);
  return { home, env: { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' } };
}

export async function ok(env: Record<string, string>, args: string[]): Promise<CliResult> {
  const r = await runCli(args, { env });
  assert.equal(r.code, 0, `strata ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

export function spawnCli(args: string[], env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; out: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => out.push(d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, out: () => Buffer.concat(out).toString() };
}

/**
 * Runs `strata args` and SIGKILLs it after delayMs. Returns killed=false when
 * it finished first (then code is its exit status and ms the time it took).
 */
export async function killAfter(args: string[], env: Record<string, string>, delayMs: number): Promise<{ killed: boolean; code: number | null; out: string; ms: number }> {
  const t0 = Date.now();
  const p = spawnCli(args, env);
  let done = false;
  let ms = 0;
  void p.exited.then(() => { done = true; ms = Date.now() - t0; });
  await new Promise((r) => setTimeout(r, delayMs));
  const killed = !done && p.child.kill('SIGKILL');
  const code = await p.exited;
  return { killed: killed && code === null, code, out: p.out(), ms };
}

/** `strata pool check` in this process: engine invariants and every POSIX container's namespace. */
export async function poolCheck(env: Record<string, string>, what: string): Promise<void> {
  const engine = await openEngine(`lmdb:${env['STRATA_HOME']}`);
  try {
    const rep = await engine.check();
    assert.deepEqual(rep.problems, [], `engine check after ${what}`);
    for (const [, p] of await engine.catList(catalogKeys.pools)) {
      for (const [, c] of await engine.catList(catalogKeys.conts((p as { uuid: string }).uuid))) {
        const rec = c as { uuid: string; type: string; label: string };
        if (rec.type !== 'POSIX') continue;
        const d = await checkDfs(engine, rec.uuid);
        assert.deepEqual(d.problems, [], `DFS check of ${rec.label} after ${what}`);
      }
    }
  } finally {
    await engine.close();
  }
}

/** The CLI `strata pool check` (run once per scenario, at the end). */
export async function cliPoolCheck(env: Record<string, string>): Promise<void> {
  const r = await runCli(['pool', 'check'], { env });
  assert.equal(r.code, 0, `pool check: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, / 0 problem\(s\)\n.* 0 problem\(s\)/s);
}

/**
 * Kill points of one suite file: the suite runs until it has made `target`
 * kills (times STRATA_CRASH_ROUNDS), at most three attempts per kill wanted.
 * Kill delays adapt to the machine: a run that finished before its kill
 * narrows the window to 90% of the time it took, so later kills land inside
 * the work however fast the machine (or the CLI's start-up) is. `report`
 * prints the line CI shows and fails a suite that fell short.
 */
export class Tally {
  kills = 0;
  finished = 0;
  attempts = 0;
  /** FUSE: connections that had to be aborted because the killed daemon could not finish exiting. */
  aborted = 0;
  private readonly want: number;
  constructor(readonly name: string, target: number, private lo = 0, private hi = 0) { this.want = target * ROUNDS; }
  /** True while kill points are missing and attempts remain. */
  more(): boolean { return this.kills < this.want && this.attempts < 3 * this.want; }
  /** The next kill delay in ms, in the current window. */
  delay(r: ReturnType<typeof rng>): number { this.attempts++; return r.int(this.lo, this.hi); }
  /** Counts one attempt's outcome; a finished run of `ms` narrows the window. */
  count(killed: boolean, ms = 0): void {
    if (killed) { this.kills++; return; }
    this.finished++;
    if (ms > 0) {
      this.hi = Math.max(1, Math.min(this.hi, Math.floor(ms * 0.9)));
      this.lo = Math.min(this.lo, Math.floor(this.hi / 2));
    }
  }
  report(): string {
    const s = `# crash ${this.name}: ${this.kills} kill points (target ${this.want}; ${this.finished} runs finished before their kill${this.aborted ? `, ${this.aborted} stuck FUSE connections aborted` : ''}), STRATA_CRASH_SEED=${SEED}`;
    process.stderr.write(s + '\n');
    assert.ok(this.kills >= this.want, `${this.name}: only ${this.kills} of ${this.want} kill points landed in ${this.attempts} attempts`);
    // A killed daemon must finish exiting on its own (docs/fuse.md, waker.ts).
    assert.equal(this.aborted, 0, `${this.name}: ${this.aborted} killed mount daemons did not finish exiting`);
    return s;
  }
}

export function diffR(a: string, b: string): void {
  const r = spawnSyncDiff(a, b);
  assert.equal(r, '', `diff -r ${a} ${b}`);
}

import { spawnSync } from 'node:child_process';
import { abortConnection } from '../../src/fuse/channel.js';
function spawnSyncDiff(a: string, b: string): string {
  const r = spawnSync('diff', ['-r', '--no-dereference', a, b], { encoding: 'utf8' });
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`;
}

/**
 * Aborts the kernel FUSE connection of a mount whose daemon was killed but
 * did not finish exiting (fusectl `abort`, as `strata umount --force`), so
 * nothing stays hung on it. A daemon must never need it: the suites count
 * every use and fail on one. Returns true when a connection was aborted.
 */
export function abortFuse(mp: string): boolean {
  return abortConnection(mp);
}
