// Proof that the process appending to an extent file is gone. A file that
// is not sealed and holds no live bytes may be deleted only once its writer
// will never append to it again; the hostname and pid in its row cannot say
// that (another PID namespace, another node with the same hostname on a shared
// extent directory, a reused pid). So the writer holds an exclusive flock(2)
// on the file for as long as it appends to it, and others may delete (or
// seal) the file only when they can take that lock.
//
// Node has no flock: util-linux's `flock` command takes the lock and holds it
// while its command reads our end of a pipe. It ends when we release the lock
// or when this process dies in any way (the kernel closes the pipe), so a
// lock that can be taken proves the writer is gone. flock works across nodes
// on NFS (the client maps it to a byte-range lock).
import { spawn, spawnSync } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { StrataError } from '../errors.js';

export interface HeldLock { release(): void }

/** Takes the exclusive lock of a file nobody else can know yet (a new file under a temporary name). */
export async function holdLock(file: string): Promise<HeldLock> {
  const child = spawn('flock', ['--exclusive', '--nonblock', file, 'sh', '-c', 'echo locked && exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stdin = child.stdin as Writable & { unref?: () => void };
  const stdout = child.stdout as Readable & { unref?: () => void };
  await new Promise<void>((resolve, reject) => {
    let err = '';
    let out = '';
    const fail = (why: string) => reject(new StrataError('EIO', `cannot lock extent file ${file} (flock): ${why}`));
    child.on('error', (e) => fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the flock command (util-linux) was not found' : e.message));
    child.stderr.on('data', (d: Buffer) => { err += d; });
    child.on('exit', (code, signal) => fail(err.trim() || `exit ${code ?? signal}`));
    stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('locked\n')) resolve();
    });
  });
  child.removeAllListeners('exit');
  child.on('error', () => undefined); // a helper killed later: the lock is gone, nothing to report here
  stdin.on('error', () => undefined);
  stdout.destroy();
  child.stderr.destroy();
  // The helper must not keep this process alive.
  child.unref();
  stdin.unref?.();
  return { release: () => { stdin.end(); } };
}

/**
 * Whether the lock of an existing file can be taken now (then released at
 * once): true proves its writer is gone; false, it holds the lock; undefined,
 * the file is not there or the lock could not be tried.
 */
export function lockFree(file: string): boolean | undefined {
  // Opened without O_CREAT (flock FILE would create a missing file).
  const r = spawnSync('sh', ['-c', 'exec 9<"$1" && exec flock --nonblock --conflict-exit-code 75 9', 'sh', file], { stdio: 'ignore' });
  if (r.status === 0) return true;
  if (r.status === 75) return false;
  return undefined;
}
