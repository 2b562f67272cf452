// Helpers for the mover tests: a tree with every kind of file, and running the CLI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir, type CliResult } from '../helpers.js';

export const BAD_NAME = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]); // "bad\xff\xfe.txt"

export function moverEnv(): { home: string; env: Record<string, string> } {
  const home = tempDir('strata-mover-');
  fs.chmodSync(home, 0o755);
  return { home, env: { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' } };
}

export async function ok(env: Record<string, string>, args: string[], opts: { uid?: number; gid?: number } = {}): Promise<CliResult> {
  const r = await runCli(args, { env, ...opts });
  assert.equal(r.code, 0, `strata ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
}

export function sh(cmd: string): string {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8' });
}

export function hasSetfattr(): boolean {
  try { sh('command -v setfattr'); return true; } catch { return false; }
}

/**
 * A tree with every kind: nested dirs (one read-only, one empty), 0-byte and
 * small files, a multi-chunk file, a 1 GiB sparse file, a hard-link pair,
 * symlinks (relative, absolute, broken), xattrs, a name that is not UTF-8,
 * odd modes and old times.
 */
export function makeTree(root: string, o: { sparse?: number } = {}): void {
  fs.mkdirSync(path.join(root, 'dir/sub/deeper'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty'));
  fs.writeFileSync(path.join(root, 'zero'), '');
  fs.writeFileSync(path.join(root, 'hello.txt'), 'hello\n');
  fs.writeFileSync(path.join(root, 'dir/sub/deeper/leaf'), 'leaf\n');
  const big = Buffer.alloc(3 * 1024 * 1024 + 12345);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i * 2654435761 >>> 0, i);
  big.fill(0, 1024 * 1024, 2 * 1024 * 1024); // a zero MiB in the middle -> hole
  fs.writeFileSync(path.join(root, 'dir/big.bin'), big);
  const sp = path.join(root, 'sparse.img');
  const fd = fs.openSync(sp, 'w');
  fs.writeSync(fd, Buffer.from('head'), 0, 4, 0);
  fs.writeSync(fd, Buffer.from('middle'), 0, 6, 300 * 1024 * 1024);
  fs.ftruncateSync(fd, o.sparse ?? 1024 * 1024 * 1024);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(root, 'dir/linked'), 'two names\n');
  fs.linkSync(path.join(root, 'dir/linked'), path.join(root, 'dir/sub/linked-too'));
  fs.symlinkSync('hello.txt', path.join(root, 'rel-link'));
  fs.symlinkSync('/etc/hostname', path.join(root, 'abs-link'));
  fs.symlinkSync('does/not/exist', path.join(root, 'broken-link'));
  fs.symlinkSync('../..', path.join(root, 'dir/up-link'));
  fs.writeFileSync(Buffer.concat([Buffer.from(root + '/'), BAD_NAME]), 'not utf-8\n');
  fs.chmodSync(path.join(root, 'hello.txt'), 0o640);
  fs.writeFileSync(path.join(root, 'script.sh'), '#!/bin/sh\n');
  fs.chmodSync(path.join(root, 'script.sh'), 0o4755);
  fs.chmodSync(path.join(root, 'dir/sub'), 0o555);
  if (hasSetfattr()) {
    sh(`setfattr -n user.color -v blue '${root}/hello.txt'`);
    sh(`setfattr -n user.bin -v 0x00ff00 '${root}/dir/big.bin'`);
    sh(`setfattr -n user.dirattr -v yes '${root}/dir'`);
  }
  fs.chownSync(path.join(root, 'dir/linked'), 1234, 5678);
  const old = new Date('2001-02-03T04:05:06.789Z');
  fs.utimesSync(path.join(root, 'hello.txt'), old, old);
  fs.utimesSync(path.join(root, 'dir/sub/deeper'), old, old);
  fs.utimesSync(path.join(root, 'dir/sub'), old, old);
  fs.utimesSync(path.join(root, 'dir'), old, old);
  fs.utimesSync(root, old, old);
}

/** stat lines (name, type, mode, owner, size, mtime) of a tree, for equality checks. */
export function statList(root: string): string {
  return sh(`cd '${root}' && find . -printf '%p %y %m %U:%G %s %T@ %n\\n' | sed 's/ \\(d [0-9]* [0-9:]*\\) [0-9]* / \\1 - /' | LC_ALL=C sort`)
    .replace(/(\d+\.\d{6})\d*/g, '$1');
}
