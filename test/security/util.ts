// Helpers of the security suite: a real unprivileged Linux user made for the
// test (and removed again), an engine home shared with that user through its
// group, running the CLI as root or as the user, asserting "one clear error
// line", fingerprints of directory trees and container digests to prove that
// nothing changed, code injected into a CLI child to tamper at an exact
// point, and set-up through the library (what is under test is the CLI).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, tempDir, type CliResult } from '../helpers.js';
import { openEngine } from '../../src/engine/open.js';
import { applyAccess } from '../../src/engine/home-access.js';
import type { Engine } from '../../src/engine/types.js';
import { createContainer, createPool, listContainers, openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import { checkContainer } from '../../src/park/index.js';

export type { CliResult };

export const isRoot = process.getuid?.() === 0;

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** The user's primary group (made with it, same name). */
  group: string;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs a shadow-utils command, retrying while another process (a parallel
 * test file's useradd) holds the lock of /etc/passwd or /etc/group.
 */
function shadow(cmd: string, args: string[]): void {
  let last = '';
  for (let i = 0; i < 100; i++) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status === 0) return;
    last = `${r.stderr}${r.error ? String(r.error) : ''}`;
    if (!/lock|try again|currently used by process/i.test(last)) break;
    sleepSync(50);
  }
  throw new Error(`${cmd} ${args.join(' ')}: ${last}`);
}

const made = new Set<string>();
process.on('exit', () => { for (const n of made) spawnSync('userdel', [n], { stdio: 'ignore' }); });

/** Makes an unprivileged user (no home, no shell) with a group of its own. Needs root. */
export function createUser(tag: string): TestUser {
  const name = `strsec-${tag}-${process.pid}`.slice(0, 32);
  shadow('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name]);
  made.add(name);
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { name, uid: id('-u'), gid: id('-g'), group: name };
}

/** CLI children still running (a failed assertion can leave some of a Promise.all behind). */
const live = new Set<ChildProcess>();

/** Waits for the CLI children this process started; after 30 s kills those still running (by their pid). */
export async function settleChildren(): Promise<void> {
  const deadline = Date.now() + 30000;
  while (live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const c of live) c.kill('SIGKILL');
  while (live.size > 0) await new Promise((r) => setTimeout(r, 20));
}

/** Removes a user made by createUser, and its group, once no child of ours runs as it. */
export async function removeUser(u: TestUser): Promise<void> {
  await settleChildren();
  shadow('userdel', [u.name]);
  made.delete(u.name);
  if (spawnSync('getent', ['group', u.group]).status === 0) shadow('groupdel', [u.group]);
  assert.notEqual(spawnSync('id', [u.name], { stdio: 'ignore' }).status, 0, `user ${u.name} is gone`);
}

/**
 * A temporary directory others may traverse (mkdtemp makes it 0700), and an
 * engine home inside it shared with `group` as `strata engine init --mode
 * 0770 --group` makes it (recorded in the home: setgid 2770, engine files
 * 0660). This is how several Linux users share one embedded engine.
 */
export function sharedHome(prefix: string, group?: number): { dir: string; env: Record<string, string> } {
  const dir = tempDir(prefix);
  fs.chmodSync(dir, 0o755);
  const engine = path.join(dir, 'engine');
  if (group === undefined) fs.mkdirSync(engine);
  else {
    applyAccess(engine, { shared: true, gid: group, group: String(group) });
    process.umask(0o002); // what other layers create there (journals) stays group-writable too
  }
  return { dir, env: { STRATA_HOME: engine, STRATA_ENGINE: '' } };
}

/** A directory the user owns (for its sources and destinations). */
export function userDir(parent: string, name: string, u: TestUser): string {
  const d = path.join(parent, name);
  fs.mkdirSync(d, { recursive: true });
  fs.chownSync(d, u.uid, u.gid);
  return d;
}

export interface RunOptions {
  env: Record<string, string>;
  /** Run as this user (default: the test process, root in CI). */
  as?: TestUser | { uid: number; gid: number };
  input?: string | Buffer;
  cwd?: string;
}

/**
 * Runs `strata <args>` with umask 002 (so a shared engine home stays
 * group-writable), as root or as `as` (libuv drops supplementary groups).
 */
export function cli(args: string[], o: RunOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'umask 002 && exec "$0" "$@"', process.execPath, CLI, ...args], {
      env: { ...process.env, ...o.env },
      cwd: o.cwd,
      uid: o.as?.uid,
      gid: o.as?.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => { live.delete(child); reject(e); });
    child.on('close', (code, signal) => {
      live.delete(child);
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (signal ? `[killed by ${signal}]` : ''),
      });
    });
    child.stdin.end(o.input ?? '');
  });
}

export function describe(args: string[], r: CliResult): string {
  return `strata ${args.join(' ')} -> exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

/** Runs and requires exit 0. */
export async function ok(args: string[], o: RunOptions): Promise<CliResult> {
  const r = await cli(args, o);
  assert.equal(r.code, 0, describe(args, r));
  return r;
}

/** Refusals checked by this test file (hostile inputs, forbidden operations), printed at exit so CI logs show them. */
let refusals = 0;
process.on('exit', () => {
  if (refusals > 0) process.stderr.write(`# security ${path.basename(process.argv[1] ?? 'suite')}: ${refusals} hostile inputs or forbidden operations refused with one clear line\n`);
});

/** Exit 1 and exactly one stderr line, `strata: ...` matching re; nothing on stdout. */
export function assertOneError(r: CliResult, re: RegExp, what: string): void {
  refusals++;
  assert.equal(r.code, 1, `${what}: expected exit 1\n${r.stdout}${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${what}: expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^strata: \S/, `${what}: ${lines[0]}`);
  assert.match(lines[0]!, re, `${what}: ${lines[0]}`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
}

/** Runs and requires a one-line refusal. */
export async function refused(args: string[], o: RunOptions, re: RegExp): Promise<CliResult> {
  const r = await cli(args, o);
  assertOneError(r, re, `strata ${args.join(' ')}`);
  return r;
}

/**
 * Every entry under dir (dir itself included) with type, mode, owner, size,
 * content digest or link target: equal fingerprints mean nothing was created,
 * removed, written, chmod-ed or chown-ed there. Symlinks are not followed.
 */
export function fingerprint(dir: string): string {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    const st = fs.lstatSync(p);
    const head = `${rel || '.'} ${(st.mode & 0o177777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) out.push(`${head} -> ${fs.readlinkSync(p)}`);
    else if (st.isFile()) out.push(`${head} ${st.size} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16)}`);
    else if (st.isDirectory()) {
      out.push(`${head} mtime=${st.mtimeMs}`);
      for (const n of fs.readdirSync(p).sort()) walk(path.join(p, n), rel ? `${rel}/${n}` : n);
    } else out.push(`${head} other`);
  };
  walk(dir, '');
  return out.join('\n');
}

/** Names in a directory, recursively (relative, sorted); symlinks are not followed. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    for (const n of fs.readdirSync(p).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      out.push(r);
      if (fs.lstatSync(path.join(p, n)).isDirectory()) walk(path.join(p, n), r);
    }
  };
  walk(dir, '');
  return out;
}

/** Whether the kernel offers FUSE here and we may mount (root). */
export function fuseUsable(): string | false {
  if (!isRoot) return 'needs root to mount and to act as an unprivileged user';
  if (!fs.existsSync('/dev/fuse')) return '/dev/fuse is missing';
  if (!/\bfuse\b/.test(fs.readFileSync('/proc/filesystems', 'utf8'))) return 'the kernel has no fuse filesystem';
  return false;
}

/** Mountpoints of /proc/mounts. */
export function isMounted(mp: string): boolean {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mp);
}

/** Detaches a mount, lazily if need be (always safe to call). */
export function umountQuiet(mp: string): void {
  spawnSync('umount', [mp], { stdio: 'ignore' });
  if (isMounted(mp)) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
}

/** Runs an ordinary command as a user; returns its status and output. */
export function runAs(u: { uid: number; gid: number }, cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { uid: u.uid, gid: u.gid, encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Environment that makes the CLI child run `code` (an ES module) before its
 * main module: a deterministic stand-in for another process acting at an exact
 * point of a command (as test/uns/cli.test.ts does for a racing mkdir).
 */
export function injected(code: string): Record<string, string> {
  return { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(code)}` };
}

// ---- the engine, in this process (set-up and bookkeeping; what is under test runs through the CLI) ----

let engineTurn: Promise<unknown> = Promise.resolve();

/**
 * Opens the engine of env afresh (so every read sees what the CLI children
 * committed), runs fn, closes it; one at a time in this process.
 */
export function inEngine<T>(env: Record<string, string>, fn: (e: Engine) => Promise<T>): Promise<T> {
  const run = async () => {
    const e = await openEngine(`lmdb:${env.STRATA_HOME}`);
    try { return await fn(e); } finally { await e.close(); }
  };
  const p = engineTurn.then(run, run);
  engineTurn = p.catch(() => undefined);
  return p;
}

/**
 * The content digest of a container as `container check` computes it
 * (objects, keys, values, extents, properties, ACL, attributes) plus its label.
 */
export async function digest(env: Record<string, string>, pool: string, cont: string): Promise<string> {
  const r = await inEngine(env, (e) => checkContainer(e, pool, cont));
  return `${r.label} ${r.digest} ${r.objects}/${r.dkeys}/${r.akeys}`;
}

/** Labels of a pool's containers, sorted. */
export async function labelsOf(env: Record<string, string>, pool: string): Promise<string[]> {
  return (await inEngine(env, (e) => listContainers(e, pool))).map((c) => c.label).sort();
}

/** Makes a pool; returns its UUID. */
export async function makePool(env: Record<string, string>, label: string): Promise<string> {
  return inEngine(env, async (e) => (await createPool(e, label)).uuid);
}

/**
 * Makes a pool (if missing) and a POSIX container with the given ACL entries,
 * attributes, directories, files and symlinks (path -> target); returns its UUID.
 */
export async function makeContainer(env: Record<string, string>, pool: string, label: string, o: {
  acl?: string[]; attrs?: Record<string, string>; dirs?: string[]; files?: Record<string, string>; symlinks?: Record<string, string>;
} = {}): Promise<string> {
  return inEngine(env, async (e) => {
    await createPool(e, pool).catch((err: unknown) => { if ((err as { code?: string }).code !== 'EEXIST') throw err; });
    const rec = await createContainer(e, pool, label, { type: 'POSIX', ...(o.acl ? { acl: o.acl } : {}), ...(o.attrs ? { attrs: o.attrs } : {}) });
    const dfs = await mountDfs(await openContainer(e, pool, label, { write: true }));
    for (const d of o.dirs ?? []) await dfs.mkdir(d, { recursive: true });
    for (const [p, data] of Object.entries(o.files ?? {})) await dfs.writeFile(p, data);
    for (const [p, target] of Object.entries(o.symlinks ?? {})) await dfs.symlink(target, p);
    return rec.uuid;
  });
}
