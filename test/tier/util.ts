// Helpers for the tier tests: an environment per test file, a tree with most
// file kinds, running the CLI, and running it until it pauses at a step.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, runCli, tempDir, type CliResult } from '../helpers.js';

export function tierEnv(name: string): { home: string; env: Record<string, string> } {
  const home = tempDir(`strata-tier-${name}-`);
  fs.chmodSync(home, 0o755);
  return { home, env: { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '', STRATA_CONFIG: path.join(home, 'strata.conf'), STRATA_UNS_PREFIX: '', STRATA_TIER_PAUSE_AT: '' } };
}

export function sh(cmd: string, cwd?: string): string {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8', cwd });
}

export async function ok(env: Record<string, string>, ...args: string[]): Promise<string> {
  const r = await runCli(args, { env });
  assert.equal(r.code, 0, `strata ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export async function fails(env: Record<string, string>, re: RegExp, ...args: string[]): Promise<CliResult> {
  const r = await runCli(args, { env });
  assert.notEqual(r.code, 0, `strata ${args.join(' ')} should fail; stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.match(r.stderr, /^strata: /m, r.stderr);
  assert.match(r.stderr, re);
  return r;
}

/**
 * A tree with nested and empty directories, small, empty and multi-chunk
 * files, a sparse file, a hard-link pair, relative symlinks (one broken),
 * xattrs, odd modes and old times.
 */
export function makeTree(root: string, o: { files?: number } = {}): void {
  fs.mkdirSync(path.join(root, 'dir/sub/deeper'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty'));
  fs.writeFileSync(path.join(root, 'zero'), '');
  fs.writeFileSync(path.join(root, 'hello.txt'), 'hello\n');
  fs.writeFileSync(path.join(root, 'dir/sub/deeper/leaf'), 'leaf\n');
  const big = Buffer.alloc(2 * 1024 * 1024 + 4321);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  fs.writeFileSync(path.join(root, 'dir/big.bin'), big);
  const fd = fs.openSync(path.join(root, 'sparse.img'), 'w');
  fs.writeSync(fd, Buffer.from('head'), 0, 4, 0);
  fs.writeSync(fd, Buffer.from('tail'), 0, 4, 6 * 1024 * 1024);
  fs.ftruncateSync(fd, 8 * 1024 * 1024);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(root, 'dir/linked'), 'two names\n');
  fs.linkSync(path.join(root, 'dir/linked'), path.join(root, 'dir/sub/linked-too'));
  fs.symlinkSync('hello.txt', path.join(root, 'rel-link'));
  fs.symlinkSync('does/not/exist', path.join(root, 'broken-link'));
  for (let i = 0; i < (o.files ?? 20); i++) fs.writeFileSync(path.join(root, 'dir', `f${String(i).padStart(3, '0')}.dat`), `file ${i}\n`.repeat(i + 1));
  fs.chmodSync(path.join(root, 'hello.txt'), 0o640);
  fs.writeFileSync(path.join(root, 'script.sh'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(path.join(root, 'script.sh'), 0o755);
  sh(`setfattr -n user.color -v blue '${root}/hello.txt' && setfattr -n user.dirattr -v yes '${root}/dir'`);
  fs.chownSync(path.join(root, 'dir/linked'), 1234, 5678);
  const old = new Date('2001-02-03T04:05:06.789Z');
  fs.utimesSync(path.join(root, 'hello.txt'), old, old);
  fs.utimesSync(path.join(root, 'dir/sub/deeper'), old, old);
  fs.utimesSync(path.join(root, 'dir/sub'), old, old);
}

/** stat lines (name, type, mode, owner, size, mtime of non-directories, links) of a tree. */
export function statList(root: string): string {
  return sh(`cd '${root}' && find . -mindepth 1 -printf '%p %y %m %U:%G %s %T@ %n\\n' | awk '$2=="d"{$5="-";$6="-"} {print}' | LC_ALL=C sort`)
    .replace(/(\d+\.\d{6})\d*/g, '$1');
}

export function xattrsOf(root: string): string {
  return sh(`cd '${root}' && getfattr -R -d -m '^user\\.' . 2>/dev/null | grep -v '^#' | sort || true`);
}

/** `diff -r` exit status and output (no symlink loops in our trees). */
export function diffR(a: string, b: string): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync('diff', ['-r', '--no-dereference', a, b], { encoding: 'utf8' }) };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, out: `${err.stdout}${err.stderr}` };
  }
}

/** Starts `strata args` with STRATA_TIER_PAUSE_AT=step, resolves once it has paused there; returns the child. */
export function runUntilPaused(env: Record<string, string>, step: string, args: string[], extra: Record<string, string> = {}): Promise<{ pid: number; kill: () => Promise<void>; done: Promise<CliResult> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, STRATA_TIER_PAUSE_AT: step, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let paused = false;
    const done = new Promise<CliResult>((res) => child.on('close', (code, sig) => res({ code: code ?? (sig ? 128 : -1), stdout: out, stderr: err })));
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (!paused && err.includes(`paused at ${step} `)) {
        paused = true;
        resolve({ pid: child.pid!, done, kill: async () => { child.kill('SIGKILL'); await done; } });
      }
    });
    void done.then((r) => { if (!paused) reject(new Error(`strata ${args.join(' ')} ended (${r.code}) without pausing at ${step}: ${r.stderr}`)); });
  });
}

export function exists(p: string): boolean {
  try { fs.lstatSync(p); return true; } catch { return false; }
}

/** Entries beside p whose names mark them as tier leftovers (.NAME.strata-*). */
export function hiddenSiblings(p: string): string[] {
  return fs.readdirSync(path.dirname(p)).filter((n) => n.startsWith(`.${path.basename(p)}.strata-`));
}
